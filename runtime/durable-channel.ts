import {
  CommunicationError,
  Emitter,
  ErrorCode,
  LatencyRecorder,
  receiveUntilClosed,
  type ChannelEvents,
  type ChannelStats,
  type CommunicationChannel,
  type RequestHandler,
  type RequestHandlerOptions,
  type RuntimeInstanceId,
  type RuntimeMessage,
  type WaitOptions,
} from 'spear-comm';
import { HeartbeatMonitor, type HeartbeatOptions } from './resilience/heartbeat.js';

export interface DurableChannelEvents extends ChannelEvents {
  /** An authenticated session was attached (the first one, or a new one after a disconnect). */
  session: [session: CommunicationChannel];
  /** The current session ended; the channel itself stays open and may get a new session. */
  disconnected: [reason: CommunicationError];
  /** A reconnect attempt is scheduled in `delayMs` (client side only). */
  reconnecting: [attempt: number, delayMs: number, lastError: CommunicationError];
}

export interface DurableChannelStats extends ChannelStats {
  /** Sessions attached over the channel's life (1 + reconnects). */
  sessions: number;
  /** Why the last session ended, if one did. */
  lastDisconnect?: string;
}

export interface DurableChannelOptions {
  instanceId: RuntimeInstanceId;
  transport: string;
  codec: string;
  /** Probe every session and end it when the peer goes silent. */
  heartbeat?: HeartbeatOptions | false;
}

interface Attached {
  session: CommunicationChannel;
  /** Set when we end the session ourselves, so its pending requests and the event say why. */
  endReason?: CommunicationError;
  detach: Array<() => void>;
}

type Counter = 'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut' | 'errors' | 'timeouts' | 'lateResponses';
const COUNTERS: readonly Counter[] = ['messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'errors', 'timeouts', 'lateResponses'];

/**
 * A channel that outlives its sessions: it holds the current authenticated session (if any),
 * keeps its request handler, stats and subscribers across sessions, and lets subclasses decide
 * where new sessions come from (a listener accepting the instance again, or a reconnect loop).
 * While no session is attached, `send()`/`request()` fail fast with `ChannelClosed` and
 * `receive()` waits for the next session.
 */
export abstract class DurableChannel extends Emitter<DurableChannelEvents> implements CommunicationChannel {
  readonly instanceId: RuntimeInstanceId;
  private attached: Attached | undefined;
  private lastTransport: string;
  private lastCodec: string;
  private lastSessionId = '';
  private lastRemote = '';
  private lastActivityAt = Date.now();
  private readonly retired: Record<Counter, number> = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: 0,
    timeouts: 0,
    lateResponses: 0,
  };
  private readonly latency = new LatencyRecorder();
  private answered = 0;
  private refused = 0;
  private sessionCount = 0;
  private handler: RequestHandler | null = null;
  private handlerOptions: RequestHandlerOptions | undefined;
  private readonly heartbeat: HeartbeatOptions | false;
  private finalReason: CommunicationError | undefined;
  private closing: Promise<void> | undefined;
  private lastDisconnect: CommunicationError | undefined;
  private readonly sessionWaiters = new Set<() => void>();

  protected constructor(options: DurableChannelOptions) {
    super();
    this.instanceId = options.instanceId;
    this.lastTransport = options.transport;
    this.lastCodec = options.codec;
    this.heartbeat = options.heartbeat ?? false;
  }

  get sessionId(): string {
    return this.attached?.session.sessionId ?? this.lastSessionId;
  }
  get transport(): string {
    return this.attached?.session.transport ?? this.lastTransport;
  }
  get codec(): string {
    return this.attached?.session.codec ?? this.lastCodec;
  }
  get remoteAddress(): string {
    return this.attached?.session.remoteAddress ?? this.lastRemote;
  }
  /** The current session's peer frame limit, if it knows it: streams size their chunks by it. */
  get peerMaxFrameSize(): number | undefined {
    return this.attached?.session.peerMaxFrameSize;
  }

  /** The session in use now, if any. */
  get session(): CommunicationChannel | undefined {
    return this.attached?.session;
  }

  isConnected(): boolean {
    return this.attached !== undefined;
  }

  isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Resolves when a session is attached (at once if one is); rejects on timeout, abort or final close. */
  whenConnected(options: WaitOptions = {}): Promise<void> {
    if (this.closing) return Promise.reject(this.closedError());
    if (this.attached) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const { signal } = options;
      const cleanup = () => {
        this.sessionWaiters.delete(wake);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const wake = () => {
        cleanup();
        if (this.closing) reject(this.closedError());
        else resolve();
      };
      const onAbort = () => {
        cleanup();
        const reason: unknown = signal?.reason;
        if (CommunicationError.is(reason)) return reject(reason);
        const code = reason instanceof Error && reason.name === 'TimeoutError' ? ErrorCode.Timeout : ErrorCode.Aborted;
        reject(
          new CommunicationError(code, `Waiting for instance "${this.instanceId.instanceId}" to connect was aborted`, { cause: reason }),
        );
      };
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(
            new CommunicationError(
              ErrorCode.Timeout,
              `Instance "${this.instanceId.instanceId}" did not connect within ${options.timeoutMs} ms${this.lastDisconnect ? ` (last disconnect: ${this.lastDisconnect.message})` : ''}`,
            ),
          );
        }, options.timeoutMs);
      }
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.sessionWaiters.add(wake);
    });
  }

  async send(message: RuntimeMessage): Promise<void> {
    const attached = this.attached;
    if (!attached) throw this.notConnectedError();
    try {
      await attached.session.send(message);
    } catch (err) {
      throw this.explain(attached, err);
    }
  }

  async request(message: RuntimeMessage, options?: WaitOptions): Promise<RuntimeMessage> {
    const attached = this.attached;
    if (!attached) throw this.notConnectedError();
    const started = performance.now();
    try {
      const response = await attached.session.request(message, options);
      this.latency.recordMs(performance.now() - started);
      this.answered++;
      return response;
    } catch (err) {
      const explained = this.explain(attached, err);
      // Cut off by the peer: the channel may learn why in a moment (an instance's exit), and then
      // this request reports what later calls will.
      if (explained !== err || !CommunicationError.is(err, ErrorCode.ChannelClosed) || attached.endReason) throw explained;
      throw (await this.finalReasonSoon()) ?? err;
    }
  }

  async receive(options: WaitOptions = {}): Promise<RuntimeMessage> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    for (;;) {
      if (this.closing) throw this.closedError();
      const remaining = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      const wait: WaitOptions = {
        ...(remaining !== undefined ? { timeoutMs: remaining } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      const attached = this.attached;
      if (!attached) {
        await this.whenConnected(wait).catch((err: unknown) => {
          if (CommunicationError.is(err, ErrorCode.Timeout) && options.timeoutMs !== undefined) {
            throw new CommunicationError(
              ErrorCode.Timeout,
              `receive() on the channel of instance "${this.instanceId.instanceId}" got no message within ${options.timeoutMs} ms`,
              { cause: err },
            );
          }
          throw err;
        });
        continue;
      }
      try {
        return await attached.session.receive(wait);
      } catch (err) {
        // The session ended under us: wait for the next one unless the channel is closed for good.
        if (CommunicationError.is(err, ErrorCode.ChannelClosed) && this.attached !== attached) continue;
        throw err;
      }
    }
  }

  setRequestHandler(handler: RequestHandler | null, options?: RequestHandlerOptions): void {
    this.handler = handler;
    this.handlerOptions = options;
    this.attached?.session.setRequestHandler(handler, options);
  }

  stats(): DurableChannelStats {
    const current = this.attached?.session.stats();
    const sum = (key: Counter) => this.retired[key] + (current?.[key] ?? 0);
    return {
      instanceId: this.instanceId,
      transport: this.transport,
      codec: this.codec,
      connected: this.attached !== undefined,
      messagesIn: sum('messagesIn'),
      messagesOut: sum('messagesOut'),
      bytesIn: sum('bytesIn'),
      bytesOut: sum('bytesOut'),
      errors: sum('errors') + this.refused,
      timeouts: sum('timeouts'),
      requests: this.answered,
      pendingRequests: current?.pendingRequests ?? 0,
      lateResponses: sum('lateResponses'),
      lastActivityAt: current?.lastActivityAt ?? this.lastActivityAt,
      latencyMs: this.latency.summary(),
      sessions: this.sessionCount,
      ...(this.lastDisconnect ? { lastDisconnect: this.lastDisconnect.message } : {}),
    };
  }

  /** Closes for good: ends the session, rejects everything pending with `ChannelClosed`. Idempotent. */
  close(): Promise<void> {
    return this.shutdown(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<RuntimeMessage> {
    return receiveUntilClosed(this);
  }

  // ---- For subclasses ----

  /** Makes `session` the current one, ending the previous session if it is still open. */
  protected attach(session: CommunicationChannel): void {
    if (this.closing) {
      void session.close();
      return;
    }
    if (this.attached) {
      this.endSession(
        this.attached,
        new CommunicationError(
          ErrorCode.ChannelClosed,
          `Session ${this.attached.session.sessionId} of instance "${this.instanceId.instanceId}" was replaced by a newer session`,
        ),
      );
    }
    if (!session.isConnected()) return;
    const attached: Attached = { session, detach: [] };
    this.attached = attached;
    this.sessionCount++;
    this.lastTransport = session.transport;
    this.lastCodec = session.codec;
    this.lastSessionId = session.sessionId;
    this.lastRemote = session.remoteAddress;
    if (this.handler) session.setRequestHandler(this.handler, this.handlerOptions);
    attached.detach.push(
      session.on('message', (message) => this.emit('message', message)),
      session.on('error', (error) => this.emit('error', error)),
      session.on('close', (error) => this.sessionClosed(attached, error)),
    );
    if (this.heartbeat) {
      const monitor = new HeartbeatMonitor(session, { ...this.heartbeat, closeOnTimeout: false });
      monitor.on('timeout', (error) => this.endSession(attached, error));
      attached.detach.push(() => monitor.stop());
    }
    for (const wake of [...this.sessionWaiters]) wake();
    this.emit('session', session);
  }

  /** Ends the current session (if any) with `reason`, which its pending requests and `disconnected` report. */
  protected dropSession(reason: CommunicationError): void {
    if (this.attached) this.endSession(this.attached, reason);
  }

  /** Closes for good with `reason` (e.g. the instance exited, or reconnecting gave up). */
  protected closeWith(reason: CommunicationError): Promise<void> {
    return this.shutdown(reason);
  }

  /** A session ended while the channel is open: wait for the peer, re-dial, or close. */
  protected abstract sessionLost(reason: CommunicationError): void;

  /**
   * Called when a session ends under a request: resolves with the error of the channel's final
   * close if that is about to happen (e.g. the instance's process exited), else undefined.
   */
  protected finalReasonSoon(): Promise<CommunicationError | undefined> {
    return Promise.resolve(this.closing ? this.closedError() : undefined);
  }

  /** Releases what the subclass holds (listener, timers) on final close. */
  protected async releaseResources(): Promise<void> {}

  protected closedError(): CommunicationError {
    const reason = this.finalReason;
    return new CommunicationError(
      ErrorCode.ChannelClosed,
      reason ? reason.message : `The channel of instance "${this.instanceId.instanceId}" was closed locally`,
      { cause: reason },
    );
  }

  // ---- Internals ----

  private endSession(attached: Attached, reason: CommunicationError): void {
    if (attached.endReason) return;
    attached.endReason = reason;
    void attached.session.close();
  }

  private sessionClosed(attached: Attached, error: CommunicationError | undefined): void {
    for (const detach of attached.detach.splice(0)) detach();
    const last = attached.session.stats();
    for (const key of COUNTERS) this.retired[key] += last[key];
    this.lastActivityAt = last.lastActivityAt;
    if (this.attached === attached) this.attached = undefined;
    const reason =
      attached.endReason ??
      error ??
      new CommunicationError(ErrorCode.ChannelClosed, `The session of instance "${this.instanceId.instanceId}" was closed`);
    this.lastDisconnect = reason;
    if (this.closing) return;
    this.emit('disconnected', reason);
    this.sessionLost(reason);
  }

  private shutdown(reason: CommunicationError | undefined): Promise<void> {
    if (this.closing) return this.closing;
    this.finalReason = reason;
    const attached = this.attached;
    let done!: () => void;
    this.closing = new Promise<void>((resolve) => (done = resolve));
    for (const wake of [...this.sessionWaiters]) wake();
    if (attached) this.endSession(attached, reason ?? this.closedError());
    this.emit('close', reason);
    void (async () => {
      try {
        await attached?.session.close();
        await this.releaseResources();
      } catch (err) {
        this.emit(
          'error',
          new CommunicationError(
            ErrorCode.ChannelClosed,
            `Releasing the channel of instance "${this.instanceId.instanceId}" failed: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          ),
        );
      } finally {
        done();
      }
    })();
    return this.closing;
  }

  private notConnectedError(): CommunicationError {
    if (this.closing) return this.closedError();
    this.refused++;
    const last = this.lastDisconnect ? `; it disconnected: ${this.lastDisconnect.message}` : ' yet';
    return new CommunicationError(
      ErrorCode.ChannelClosed,
      `Instance "${this.instanceId.instanceId}" is not connected${last}. Wait with whenConnected() or retry later`,
    );
  }

  /** A request that failed because we ended its session says why the session ended. */
  private explain(attached: Attached, err: unknown): unknown {
    const reason = attached.endReason;
    if (reason && CommunicationError.is(err, ErrorCode.ChannelClosed) && err !== reason) {
      return new CommunicationError(ErrorCode.ChannelClosed, reason.message, { cause: reason });
    }
    return err;
  }
}
