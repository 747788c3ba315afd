import { CommunicationError, Emitter, ErrorCode, type CommunicationChannel } from 'spear-comm';

export interface HeartbeatOptions {
  /** How often to check the peer (default 5 s). A probe is sent only when nothing arrived for this long. */
  intervalMs?: number;
  /** How long a probe may go unanswered before the peer counts as dead (default 2 × intervalMs). */
  timeoutMs?: number;
  /** Close the channel when the peer is found dead (default true). */
  closeOnTimeout?: boolean;
}

export interface HeartbeatEvents {
  /** A probe was answered after `rttMs`. */
  beat: [rttMs: number, sequence: number];
  /** The peer did not answer within `timeoutMs`; the monitor has stopped. */
  timeout: [error: CommunicationError];
}

/**
 * Detects a peer that is connected but silent (frozen, deadlocked, a half-open connection).
 * Any frame received counts as a sign of life; after `intervalMs` without one it sends a
 * `HealthCheck`, which every spear-comm channel answers by itself, so the peer needs no code for it.
 */
export class HeartbeatMonitor extends Emitter<HeartbeatEvents> {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private sequence = 0;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly channel: CommunicationChannel,
    private readonly options: HeartbeatOptions = {},
  ) {
    super();
    this.intervalMs = options.intervalMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? this.intervalMs * 2;
    if (!(this.intervalMs > 0) || !(this.timeoutMs > 0)) throw new TypeError('Heartbeat intervalMs and timeoutMs must be > 0');
    this.unsubscribe = channel.on('close', () => this.stop());
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe();
  }

  private tick(): void {
    if (this.probing || this.stopped) return;
    if (!this.channel.isConnected()) return this.stop();
    const idleMs = Date.now() - this.channel.stats().lastActivityAt;
    if (idleMs < this.intervalMs) return;
    this.probing = true;
    const sequence = ++this.sequence;
    const started = performance.now();
    this.channel
      .request(
        { type: 'HealthCheck', requestId: '', timestamp: Date.now(), metadata: { heartbeat: String(sequence) } },
        { timeoutMs: this.timeoutMs },
      )
      .then(
        () => {
          this.probing = false;
          if (!this.stopped) this.emit('beat', performance.now() - started, sequence);
        },
        (err: unknown) => {
          this.probing = false;
          if (this.stopped || !CommunicationError.is(err, ErrorCode.Timeout)) return;
          const error = new CommunicationError(
            ErrorCode.Timeout,
            `The peer at ${this.channel.transport} ${this.channel.remoteAddress} (channel of instance "${this.channel.instanceId.instanceId}") sent nothing for ${Date.now() - this.channel.stats().lastActivityAt} ms and did not answer a heartbeat within ${this.timeoutMs} ms; treating the connection as dead`,
            { cause: err },
          );
          this.stop();
          this.emit('timeout', error);
          if (this.options.closeOnTimeout !== false) void this.channel.close();
        },
      );
  }
}

/** Starts a heartbeat on `channel`; `stop()` the returned monitor (or close the channel) to end it. */
export function startHeartbeat(channel: CommunicationChannel, options?: HeartbeatOptions): HeartbeatMonitor {
  return new HeartbeatMonitor(channel, options);
}
