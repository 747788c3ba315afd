import type { Codec } from './codec.js';
import Denque from 'denque';
import { CommunicationError, ErrorCode, abortedError, toCommunicationError } from './errors.js';
import { Emitter } from './events.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { isResponse, isStreamMessage, type ExecutionRequest, type RuntimeInstanceId, type RuntimeMessage } from './messages.js';
import type { FrameConnection, FrameSink } from './transport.js';

export interface WaitOptions {
  /** Reject with `Timeout` after this many milliseconds. */
  timeoutMs?: number;
  /** Reject when aborted (with the signal's reason, or a `Timeout` for `AbortSignal.timeout`). */
  signal?: AbortSignal;
}

export interface ChannelStats {
  instanceId: RuntimeInstanceId;
  transport: string;
  codec: string;
  connected: boolean;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
  timeouts: number;
  /** Requests answered (the latency figures are over these). */
  requests: number;
  pendingRequests: number;
  /** Responses that arrived after their request had timed out or been cancelled; dropped. */
  lateResponses: number;
  /** Epoch ms of the last frame received (heartbeat layers watch this). */
  lastActivityAt: number;
  latencyMs: LatencySummary;
}

export interface ChannelEvents {
  message: [message: RuntimeMessage];
  /** The channel closed; `error` says why when it was not a local `close()`. */
  close: [error?: CommunicationError];
  error: [error: CommunicationError];
  /** Only from a channel that outlives its sessions (the runtime's `DurableChannel`): a session ended; the channel reconnects. */
  disconnected: [reason: CommunicationError];
}

/**
 * Takes an incoming request. A handler that returns a promise owes an answer until it settles
 * (`serve()` settles it once the answer is written): see `RequestHandlerOptions.maxConcurrent`.
 */
export type RequestHandler = (request: ExecutionRequest) => void | Promise<unknown>;

export interface RequestHandlerOptions {
  /**
   * Requests owed at once (handler running or its answer not yet written) before the channel
   * stops reading from the peer, whose sends then wait (default 128, `DEFAULT_MAX_CONCURRENT_REQUESTS`).
   */
  maxConcurrent?: number;
}

/** Requests a served channel owes at once before it stops reading from its peer. */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 128;

/** What users hold: a session with one runtime instance over some transport and codec. */
export interface CommunicationChannel extends AsyncIterable<RuntimeMessage> {
  readonly instanceId: RuntimeInstanceId;
  readonly sessionId: string;
  readonly transport: string;
  readonly codec: string;
  readonly remoteAddress: string;
  /** The largest frame the peer accepts, learnt in the handshake (undefined or Infinity when unknown); sizes stream chunks. */
  readonly peerMaxFrameSize?: number | undefined;
  send(message: RuntimeMessage): Promise<void>;
  /** The next message that is not a response to a `request()`. */
  receive(options?: WaitOptions): Promise<RuntimeMessage>;
  /** Sends and waits for the answer with the same `requestId` (assigned when empty). */
  request(message: RuntimeMessage, options?: WaitOptions): Promise<RuntimeMessage>;
  isConnected(): boolean;
  /** Idempotent; rejects everything pending with `ChannelClosed`. */
  close(): Promise<void>;
  stats(): ChannelStats;
  on<K extends keyof ChannelEvents>(event: K, listener: (...args: ChannelEvents[K]) => void): () => void;
  /**
   * Routes incoming `ExecutionRequest`s to `handler` instead of `receive()` (what `serve()` uses);
   * requests already waiting for `receive()` go to it too. `null` undoes it. While
   * `options.maxConcurrent` answers are owed, the channel reads nothing more from the peer.
   */
  setRequestHandler(handler: RequestHandler | null, options?: RequestHandlerOptions): void;
}

export interface SessionChannelOptions {
  instanceId: RuntimeInstanceId;
  sessionId: string;
  transport: string;
  codec: Codec;
  connection: FrameConnection;
  /** The peer's frame size limit, learnt in the handshake: larger sends fail locally with `FrameTooLarge`. */
  peerMaxFrameSize?: number;
  /** Unsolicited messages held for `receive()` before the connection is paused (default 1024). */
  receiveQueueLimit?: number;
  /** Timeout for `request()` when none is given (default 30 s). */
  defaultTimeoutMs?: number;
}

/** A caller waiting for a message: a `request()` for its answer, or a `receive()`. */
type Waiter = { resolve(message: RuntimeMessage): void; reject(error: CommunicationError): void; cleanup(): void };
type Pending = Omit<Waiter, 'cleanup'> & { timer: NodeJS.Timeout; startedAt: number; detach?: () => void };

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const EXPIRED_IDS_KEPT = 4096;

/**
 * The one channel implementation: codec, correlation, timeouts, flow control and stats over any
 * FrameConnection, after the handshake has picked the codec.
 */
export class SessionChannel extends Emitter<ChannelEvents> implements CommunicationChannel, FrameSink {
  readonly instanceId: RuntimeInstanceId;
  readonly sessionId: string;
  readonly transport: string;
  readonly codec: string;
  readonly remoteAddress: string;

  private readonly codecImpl: Codec;
  private readonly connection: FrameConnection;
  readonly peerMaxFrameSize: number;
  private readonly queueLimit: number;
  private readonly defaultTimeoutMs: number;
  private readonly pending = new Map<string, Pending>();
  private readonly queue = new Denque<RuntimeMessage>();
  /** receive() calls waiting, oldest first. */
  private readonly waiters = new Set<Waiter>();
  private readonly latency = new LatencyRecorder();
  /** Ids of requests given up on (timeout, abort), so their late answers are dropped, not queued. */
  private readonly expired = new Set<string>();
  private requestHandler: RequestHandler | null = null;
  private maxOwed = DEFAULT_MAX_CONCURRENT_REQUESTS;
  /** Requests handed to the handler, or HealthChecks, whose answer is not written yet. */
  private owed = 0;
  private readonly release = (): void => {
    this.owed--;
    this.flow();
  };
  private closed = false;
  private closing: Promise<void> | undefined;
  private paused = false;
  private nextId = 0;
  /** Short on purpose: every request id is encoded, decoded and hashed on both sides. */
  private readonly idPrefix = `${Math.random().toString(36).slice(2, 6)}-`;
  private counters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, errors: 0, timeouts: 0, requests: 0, lateResponses: 0 };
  private lastActivityAt = Date.now();

  constructor(options: SessionChannelOptions) {
    super();
    this.instanceId = options.instanceId;
    this.sessionId = options.sessionId;
    this.transport = options.transport;
    this.codecImpl = options.codec;
    this.codec = options.codec.name;
    this.connection = options.connection;
    this.remoteAddress = options.connection.remoteAddress;
    this.peerMaxFrameSize = options.peerMaxFrameSize ?? Infinity;
    this.queueLimit = Math.max(1, options.receiveQueueLimit ?? 1024);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  // ---- FrameSink: what the connection delivers ----

  onFrame(frame: Uint8Array): void {
    if (this.closed) return;
    this.counters.bytesIn += frame.byteLength;
    this.lastActivityAt = Date.now();
    let message: RuntimeMessage;
    try {
      message = this.codecImpl.decode(frame);
    } catch (err) {
      return this.fail(
        toCommunicationError(err, ErrorCode.DecodeFailed, `Could not decode a ${frame.byteLength}-byte frame with codec "${this.codec}"`),
      );
    }
    this.counters.messagesIn++;
    if (this.hasListeners('message')) this.emit('message', message);
    this.dispatch(message);
  }

  onClose(error?: Error): void {
    const reason = error
      ? toCommunicationError(error, ErrorCode.ChannelClosed, `Connection to ${this.describePeer()} failed`)
      : new CommunicationError(ErrorCode.ChannelClosed, `Connection to ${this.describePeer()} was closed by the peer`);
    if (error) this.counters.errors++;
    this.shutdown(reason, true);
  }

  private dispatch(message: RuntimeMessage): void {
    if (isResponse(message)) {
      const pending = this.pending.get(message.requestId);
      if (pending) {
        this.pending.delete(message.requestId);
        this.settle(pending);
        this.counters.requests++;
        this.latency.recordMs(performance.now() - pending.startedAt);
        pending.resolve(message);
        return;
      }
      if (this.expired.delete(message.requestId)) {
        this.counters.lateResponses++;
        return;
      }
      // A response to nothing this channel asked for is the user's business: it goes to receive().
    } else if (message.type === 'ExecutionRequest' && this.requestHandler) {
      this.owe(this.requestHandler(message));
      return;
    } else if (message.type === 'HealthCheck') {
      const answer = { type: 'HealthCheck', requestId: message.requestId, timestamp: Date.now(), metadata: {}, status: 'SERVING' } as const;
      return this.owe(this.send(answer).catch(() => {}));
    } else if (message.type === 'Heartbeat') {
      return; // lastActivityAt, updated for every frame, is all a heartbeat is for
    } else if (isStreamMessage(message)) {
      // Streams (core/stream-mux.ts) take their messages from the 'message' event; none go to receive().
      if (message.type === 'StreamOpen' && !this.hasListeners('message')) {
        const error = { code: 'UnknownFunction', message: 'No streaming functions are served on this channel' };
        this.send({ type: 'StreamEnd', requestId: message.requestId, timestamp: Date.now(), metadata: {}, error }).catch(() => {});
      }
      return;
    }
    this.enqueue(message);
  }

  private enqueue(message: RuntimeMessage): void {
    const waiter = this.waiters.values().next().value;
    if (waiter) {
      this.waiters.delete(waiter);
      waiter.cleanup();
      waiter.resolve(message);
      return;
    }
    this.queue.push(message);
    if (this.queue.length >= this.queueLimit) this.flow();
  }

  /** Counts an answer owed until `done` settles; reading stops while too many are owed. */
  private owe(done: void | Promise<unknown>): void {
    if (!done) return;
    this.owed++;
    if (this.owed >= this.maxOwed) this.flow();
    done.then(this.release, this.release);
  }

  /**
   * Pauses the connection while the receive queue is full or too many answers are owed, and
   * resumes it once the queue is half empty and an answer has been written: the peer's sends wait
   * instead of growing this side. A side that waits for answers of its own keeps reading (it could
   * not get them otherwise), so two channels that call each other never wait on each other; the
   * peer's requests then cost what it sends until those answers come or time out.
   */
  private flow(): void {
    if (this.closed) return;
    const full =
      (this.owed >= this.maxOwed && this.pending.size === 0) ||
      this.queue.length >= (this.paused ? (this.queueLimit >> 1) + 1 : this.queueLimit);
    if (full === this.paused) return;
    this.paused = full;
    if (full) this.connection.pause();
    else this.connection.resume();
  }

  // ---- What users call ----

  send(message: RuntimeMessage): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    let bytes: Uint8Array | Uint8Array[];
    try {
      bytes = (this.connection.sendParts && this.codecImpl.encodeParts?.(message)) || this.codecImpl.encode(message);
    } catch (err) {
      const detail = `Codec "${this.codec}" could not encode a ${message?.type} message: ${err instanceof Error ? err.message : String(err)}`;
      return Promise.reject(new CommunicationError(ErrorCode.EncodeFailed, detail, { cause: err }));
    }
    const size = bytes instanceof Uint8Array ? bytes.byteLength : bytes.reduce((n, part) => n + part.byteLength, 0);
    if (size > this.peerMaxFrameSize) {
      const detail = `A ${message.type} of ${size} bytes exceeds the peer's frame limit of ${this.peerMaxFrameSize} bytes; send less per message or raise maxFrameSize on the listener`;
      return Promise.reject(new CommunicationError(ErrorCode.FrameTooLarge, detail));
    }
    this.counters.bytesOut += size;
    this.counters.messagesOut++;
    try {
      const sent = bytes instanceof Uint8Array ? this.connection.send(bytes) : this.connection.sendParts!(bytes);
      return sent.then(undefined, this.sendFailed);
    } catch (err) {
      return Promise.reject(err).catch(this.sendFailed);
    }
  }

  private readonly sendFailed = (err: unknown): never => {
    throw this.closed ? this.closedError() : toCommunicationError(err, ErrorCode.ChannelClosed, `Sending to ${this.describePeer()} failed`);
  };

  receive(options: WaitOptions = {}): Promise<RuntimeMessage> {
    const queued = this.queue.shift();
    if (queued) {
      if (this.paused) this.flow();
      return Promise.resolve(queued);
    }
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise<RuntimeMessage>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cleanup: () => {} };
      waiter.cleanup = this.watch(options, 'receive()', (error) => {
        this.waiters.delete(waiter);
        waiter.cleanup();
        reject(error);
      });
      this.waiters.add(waiter);
    });
  }

  request(message: RuntimeMessage, options: WaitOptions = {}): Promise<RuntimeMessage> {
    if (this.closed) return Promise.reject(this.closedError());
    const requestId = message.requestId || this.idPrefix + (this.nextId++).toString(36);
    if (this.pending.has(requestId)) {
      const detail = `A request with requestId "${requestId}" is already in flight on this channel; request ids must be unique per channel`;
      return Promise.reject(new CommunicationError(ErrorCode.InvalidArgument, detail));
    }
    const outgoing = requestId === message.requestId ? message : { ...message, requestId };
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<RuntimeMessage>((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        startedAt: performance.now(),
        timer: setTimeout(() => {
          this.counters.timeouts++;
          const detail = `No answer to ${describeRequest(outgoing)} from ${this.describePeer()} within ${timeoutMs} ms`;
          this.giveUp(requestId, pending, new CommunicationError(ErrorCode.Timeout, `${detail}; raise timeoutMs if the work takes longer`));
        }, timeoutMs),
      };
      const signal = options.signal;
      if (signal) {
        const onAbort = () => this.giveUp(requestId, pending, abortError(signal, `${describeRequest(outgoing)} was aborted`));
        if (signal.aborted) {
          clearTimeout(pending.timer);
          reject(abortError(signal, `${describeRequest(outgoing)} was aborted before it was sent`));
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        pending.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(requestId, pending);
      if (this.paused) this.flow();
      this.send(outgoing).catch((err: unknown) => {
        if (this.pending.get(requestId) !== pending) return;
        this.pending.delete(requestId);
        this.settle(pending);
        reject(toCommunicationError(err, ErrorCode.ChannelClosed, `Sending ${describeRequest(outgoing)} failed`));
      });
    });
  }

  isConnected(): boolean {
    return !this.closed;
  }

  close(): Promise<void> {
    this.shutdown(new CommunicationError(ErrorCode.ChannelClosed, `Channel to ${this.describePeer()} was closed locally`), false);
    return this.closing ?? Promise.resolve();
  }

  stats(): ChannelStats {
    return {
      instanceId: this.instanceId,
      transport: this.transport,
      codec: this.codec,
      connected: !this.closed,
      ...this.counters,
      pendingRequests: this.pending.size,
      lastActivityAt: this.lastActivityAt,
      latencyMs: this.latency.summary(),
    };
  }

  setRequestHandler(handler: RequestHandler | null, options: RequestHandlerOptions = {}): void {
    const max = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_REQUESTS;
    if (!(Number.isSafeInteger(max) && max > 0))
      throw new CommunicationError(ErrorCode.InvalidArgument, `maxConcurrentRequests must be a positive integer, got ${String(max)}`);
    this.requestHandler = handler;
    this.maxOwed = max;
    if (handler && this.queue.length > 0) {
      // Requests can arrive before serve() runs, e.g. in the same read as the AuthResponse: they are the handler's too.
      const queued = this.queue.toArray();
      this.queue.clear();
      for (const message of queued) {
        if (message.type === 'ExecutionRequest') this.owe(handler(message));
        else this.queue.push(message);
      }
    }
    this.flow();
  }

  [Symbol.asyncIterator](): AsyncIterator<RuntimeMessage> {
    return receiveUntilClosed(this);
  }

  // ---- Internals ----

  /** Closes the channel because of a protocol error (bad frame, codec failure). */
  private fail(error: CommunicationError): void {
    this.counters.errors++;
    this.emit('error', error);
    this.shutdown(error, true, true);
  }

  /** `tellPeer`: the connection closes because of `reason`, which a transport may show the peer. */
  private shutdown(reason: CommunicationError, remote: boolean, tellPeer = false): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    const pendingError =
      reason.code === ErrorCode.ChannelClosed
        ? reason
        : new CommunicationError(ErrorCode.ChannelClosed, `Channel to ${this.describePeer()} closed: ${reason.message}`, { cause: reason });
    for (const pending of this.pending.values()) {
      this.settle(pending);
      pending.reject(pendingError);
    }
    this.pending.clear();
    for (const waiter of this.waiters) {
      waiter.cleanup();
      waiter.reject(pendingError);
    }
    this.waiters.clear();
    this.closing = this.connection.close(tellPeer ? reason : undefined).catch(() => {});
    this.emit('close', remote ? reason : undefined);
  }

  private closeReason: CommunicationError | undefined;

  private closedError(): CommunicationError {
    const reason = this.closeReason;
    const closed = `Channel to ${this.describePeer()} is closed${reason ? ` (${reason.message})` : ''}`;
    return new CommunicationError(ErrorCode.ChannelClosed, reason?.code === ErrorCode.ChannelClosed ? reason.message : closed, {
      cause: reason,
    });
  }

  /** Stops waiting for the answer to `requestId` (timeout, abort): a late one is dropped. */
  private giveUp(requestId: string, pending: Pending, error: CommunicationError): void {
    this.pending.delete(requestId);
    this.settle(pending);
    this.forget(requestId);
    pending.reject(error);
  }

  private forget(requestId: string): void {
    this.expired.add(requestId);
    if (this.expired.size > EXPIRED_IDS_KEPT) this.expired.delete(this.expired.values().next().value!);
  }

  private settle(pending: Pending): void {
    clearTimeout(pending.timer);
    pending.detach?.();
    if (this.pending.size === 0 && this.owed >= this.maxOwed) this.flow();
  }

  /** Arms the timeout and abort signal of a wait; returns the function that disarms them. */
  private watch(options: WaitOptions, what: string, cancel: (error: CommunicationError) => void): () => void {
    const { timeoutMs, signal } = options;
    const onTimeout = () => {
      this.counters.timeouts++;
      cancel(
        new CommunicationError(ErrorCode.Timeout, `${what} on the channel to ${this.describePeer()} got no message within ${timeoutMs} ms`),
      );
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(onTimeout, timeoutMs);
    const onAbort = () => cancel(abortError(signal!, `${what} was aborted`));
    if (signal) {
      if (signal.aborted) queueMicrotask(onAbort);
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  private describePeer(): string {
    return `instance "${this.instanceId.instanceId}" (${this.transport} ${this.remoteAddress})`;
  }
}

/** What async iteration over a channel does: `receive()` until the channel closes. */
export async function* receiveUntilClosed(channel: Pick<CommunicationChannel, 'receive'>): AsyncGenerator<RuntimeMessage> {
  for (;;) {
    try {
      yield await channel.receive();
    } catch (err) {
      if (CommunicationError.is(err, ErrorCode.ChannelClosed)) return;
      throw err;
    }
  }
}

function describeRequest(m: RuntimeMessage): string {
  return m.type === 'ExecutionRequest' ? `request ${m.requestId} (function "${m.functionName}")` : `${m.type} request ${m.requestId}`;
}

function abortError(signal: AbortSignal, what: string): CommunicationError {
  const reason: unknown = signal.reason;
  if (CommunicationError.is(reason)) return reason;
  // Aborted (or Timeout for AbortSignal.timeout()), with the caller's wording.
  const { code } = abortedError(signal, what);
  return new CommunicationError(code, `${what}${reason instanceof Error ? `: ${reason.message}` : ''}`, { cause: reason });
}
