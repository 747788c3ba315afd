import { CommunicationError, Emitter, ErrorCode, isRetryable } from 'spear-comm';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before letting trial calls through (default 10 s). */
  resetTimeoutMs?: number;
  /** Trial calls allowed at once while half-open (default 1). */
  halfOpenMaxCalls?: number;
  /**
   * Which errors count against the peer. Default (`isPeerFailure`): retryable errors — timeouts and
   * lost or refused connections; a `RemoteError` (the function ran and failed) shows the peer is
   * alive, and a caller's own mistake (InvalidArgument, Aborted, EncodeFailed) is no fault of the peer.
   */
  isFailure?: (error: unknown) => boolean;
  /** Names the protected peer in `CircuitOpen` messages. */
  name?: string;
}

export interface CircuitBreakerEvents {
  state: [state: CircuitState, previous: CircuitState];
}

/**
 * A failure of the peer: a retryable error (refused, timed out, connection lost), other than the
 * `CircuitOpen` of another breaker. A caller's own mistake (InvalidArgument, Aborted, EncodeFailed)
 * or a definite answer (AuthFailed, RemoteError…) never counts.
 */
export function isPeerFailure(error: unknown): boolean {
  return isRetryable(error) && !CommunicationError.is(error, ErrorCode.CircuitOpen);
}

/**
 * Fails fast while a peer is known to be failing: after `failureThreshold` consecutive failures
 * the circuit opens and calls throw `CircuitOpen` without touching the peer; after
 * `resetTimeoutMs` it goes half-open and lets a trial call through, which closes it on success
 * and opens it again on failure.
 */
export class CircuitBreaker extends Emitter<CircuitBreakerEvents> {
  private current: CircuitState = 'closed';
  private failures = 0;
  private trials = 0;
  private openedAt = 0;
  private lastError: unknown;
  private timer: NodeJS.Timeout | undefined;
  private readonly failureThreshold: number;
  private readonly resetTimeoutMs: number;
  private readonly halfOpenMaxCalls: number;
  private readonly isFailure: (error: unknown) => boolean;

  constructor(private readonly options: CircuitBreakerOptions = {}) {
    super();
    this.failureThreshold = options.failureThreshold ?? 5;
    this.resetTimeoutMs = options.resetTimeoutMs ?? 10_000;
    this.halfOpenMaxCalls = options.halfOpenMaxCalls ?? 1;
    this.isFailure = options.isFailure ?? isPeerFailure;
    if (!(this.failureThreshold >= 1) || !(this.resetTimeoutMs >= 0) || !(this.halfOpenMaxCalls >= 1)) {
      throw new TypeError('CircuitBreaker: failureThreshold and halfOpenMaxCalls must be >= 1, resetTimeoutMs >= 0');
    }
  }

  get state(): CircuitState {
    return this.current;
  }

  /** Consecutive failures counted so far (reset by a success). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Runs `call` unless the circuit is open; records how it went. */
  async execute<T>(call: () => Promise<T>): Promise<T> {
    this.admit();
    const trial = this.current === 'half-open';
    if (trial) this.trials++;
    try {
      const result = await call();
      this.onSuccess();
      return result;
    } catch (err) {
      this.onFailure(err);
      throw err;
    } finally {
      if (trial) this.trials--;
    }
  }

  /** Back to closed, counters cleared. */
  reset(): void {
    this.failures = 0;
    this.transition('closed');
  }

  /** Clears the half-open timer; call when the protected channel is closed for good. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private admit(): void {
    if (this.current === 'open') {
      const retryInMs = Math.max(0, this.openedAt + this.resetTimeoutMs - Date.now());
      if (retryInMs > 0) throw this.openError(`retrying in ${retryInMs} ms`);
      this.transition('half-open');
    }
    if (this.current === 'half-open' && this.trials >= this.halfOpenMaxCalls) {
      throw this.openError('a trial call is already testing whether it recovered');
    }
  }

  private onSuccess(): void {
    this.failures = 0;
    if (this.current !== 'closed') this.transition('closed');
  }

  private onFailure(error: unknown): void {
    if (!this.isFailure(error)) {
      // The peer answered, so it is reachable: as good as a success for the circuit.
      this.onSuccess();
      return;
    }
    this.lastError = error;
    this.failures++;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.failureThreshold)) this.open();
  }

  private open(): void {
    this.openedAt = Date.now();
    this.transition('open');
    clearTimeout(this.timer);
    // Going half-open on a timer (not only on the next call) lets a watcher see the recovery window.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current === 'open') this.transition('half-open');
    }, this.resetTimeoutMs);
    this.timer.unref();
  }

  private transition(next: CircuitState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    if (next !== 'open') this.dispose();
    this.emit('state', next, previous);
  }

  private openError(detail: string): CommunicationError {
    const what = this.options.name ? ` for ${this.options.name}` : '';
    const last = this.lastError instanceof Error ? `; last failure: ${this.lastError.message}` : '';
    return new CommunicationError(
      ErrorCode.CircuitOpen,
      `Circuit${what} is open after ${this.failures} consecutive failures (${detail})${last}`,
      { cause: this.lastError },
    );
  }
}
