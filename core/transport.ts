import type { CommunicationError } from './errors.js';

/**
 * What a transport can and cannot do; the conformance kit selects its tests from this. Every
 * sentence of the doc comments in this file is a promise the kit checks (`docs/conformance.md`
 * maps each one to its case and to the deliberately broken transport that case catches).
 */
export interface TransportCapabilities {
  /** The largest frame this transport can carry at all (a listener may set a lower limit). Frames up to it arrive intact. */
  maxFrameSize: number;
  /** Frames arrive in the order they were sent. */
  ordered: boolean;
  /** Frames are never lost or duplicated while the connection is up. */
  reliable: boolean;
  /** Only reachable inside this process or machine (memory, unix). Descriptive: factories choose by it. */
  localOnly: boolean;
  /** TLS variants of its schemes are available when certificates are configured. */
  tls?: boolean;
}

export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

/** Where a connection delivers what it receives. */
export interface FrameSink {
  /**
   * One whole frame, exactly as the peer sent it: never merged with or split from another, never
   * duplicated. The connection will not reuse the buffer afterwards. Never called after `onClose`.
   */
  onFrame(frame: Uint8Array): void;
  /**
   * The connection has ended, with the reason when it was not an orderly close (an orderly
   * `close()` by either side gives no error). Called once, after the last frame.
   */
  onClose(error?: Error): void;
}

/** An ordered, framed, bidirectional byte connection: what a transport plugin produces. */
export interface FrameConnection {
  /** Human-readable peer address, for logs and stats: a non-empty string, the same for the connection's life. */
  readonly remoteAddress: string;
  /** Human-readable local address, for logs and stats: a non-empty string, the same for the connection's life. */
  readonly localAddress: string;
  /**
   * Starts delivery of received frames to `sink`. Called exactly once, at any time after the
   * connection exists (a listener's `onConnection` may hand it on and start it later): frames that
   * arrive earlier are held, none dropped, and delivered in order once it is called. If `pause()`
   * was called before, delivery waits for `resume()`.
   */
  start(sink: FrameSink): void;
  /**
   * Sends one frame. Resolves once the frame is accepted by the OS or peer; while the peer
   * is not reading, it stays pending, which keeps the sender's memory bounded. The frame is copied
   * or written before it resolves: changing the buffer afterwards changes nothing the peer gets.
   * Rejects with `ChannelClosed` after close and `FrameTooLarge` for a frame over the peer's limit
   * (a stream transport that cannot know the peer's limit lets the receiver refuse it: the
   * receiver closes the connection with `FrameTooLarge` and delivers nothing of that frame).
   */
  send(frame: Uint8Array): Promise<void>;
  /**
   * Optional: sends one frame made of `parts` in order, exactly as `send()` of their concatenation
   * would (one whole frame; the same resolve, reject and copy promises), without joining them first.
   * The channel uses it for codecs with `encodeParts`, so a large stream chunk is not copied on its
   * way out. A wrapper around a connection that has it forwards it or leaves it out.
   */
  sendParts?(parts: readonly Uint8Array[]): Promise<void>;
  /**
   * Optional: changes the largest frame accepted from the peer from now on, with `reason` for the
   * error (a larger frame closes the connection with `FrameTooLarge`, whose message includes
   * `reason`). The server session uses it to accept only a small handshake frame (64 KiB) from a
   * peer that has not authenticated yet, whatever the listener's own limit. Transports that cannot
   * change it on a live connection omit it — and then do not get that protection; a wrapper around
   * a connection that has it must forward it.
   */
  setMaxFrameSize?(maxFrameSize: number, reason?: string): void;
  /**
   * Set by a listener's transport that accepted the connection only to refuse its session (e.g. a
   * client certificate the listener does not trust): the session answers the peer's AuthRequest
   * with `success: false` and this error's message, and closes the connection with it.
   */
  refusal?: CommunicationError;
  /** Stop delivering frames (the peer's sends will eventually wait) until `resume()`. */
  /**
   * Stops delivering frames until `resume()`, for as long and for as much data as the peer sends:
   * received frames are held (and the peer's sends will eventually wait), not delivered and not
   * dropped. Pausing and resuming any number of times loses, repeats or reorders nothing. May be
   * called before `start()`.
   */
  pause(): void;
  /** Delivers the held frames, in order, and continues delivering. */
  resume(): void;
  /**
   * Closes both directions; the peer's sink then gets `onClose()` (without an error unless
   * `reason` is given). Idempotent. Frames whose `send()` was called before `close()` are either
   * delivered (their `send()` resolves) or their `send()` rejects with `ChannelClosed`; no `send()`
   * is left pending. No frame is delivered to this side's sink once `close()` has been called.
   * Resolves when the underlying resources (sockets, timers, streams) are released.
   * `reason`: the connection ends because of this failure (a refused or timed-out session, a
   * frame that does not decode, a full listener); a transport that can tell its peer why does so
   * on its wire (a WebSocket close code and reason, a gRPC status), otherwise it closes as usual.
   */
  close(reason?: CommunicationError): Promise<void>;
}

export interface FrameListener {
  /**
   * The real bound address, e.g. `tcp://127.0.0.1:40123` after listening on port 0: a URL of the
   * transport's own scheme that `connect()` reaches as given.
   */
  readonly url: string;
  /**
   * Stops accepting, closes the connections it accepted and releases the address (a new listener
   * may take it; connecting to it is refused with `ConnectionRefused`). Idempotent.
   */
  close(): Promise<void>;
}

/** TLS material, passed through to `node:tls` (PEM strings or buffers). */
export interface TlsOptions {
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Listener side: ask every client for a certificate and refuse one without a certificate that
   * `ca` signed (mutual TLS); such a client's connect fails with `AuthFailed`.
   */
  requestCert?: boolean;
  /** Client side: whether to reject a certificate it cannot verify (default true). */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface TransportConnectOptions {
  /** Largest frame accepted from the peer; a larger one closes the connection with `FrameTooLarge`. */
  maxFrameSize: number;
  /** Give up connecting after this long with `Timeout` (a peer that never accepts or never answers). */
  timeoutMs: number;
  /**
   * Aborts connecting: `connect()` rejects with `Aborted` (the signal's reason as `cause`) if the
   * signal has fired before or while it connects, and releases what it opened. Once `connect()`
   * has resolved, the signal no longer affects the connection.
   */
  signal?: AbortSignal;
  /**
   * TLS for the TLS schemes (`tls://`, `wss://`, `grpcs://`). A server certificate the client does
   * not trust fails `connect()` with `AuthFailed`; TLS options on a plain scheme are `InvalidArgument`.
   */
  tls?: TlsOptions;
  /** Transport-specific extras (e.g. gRPC keepalive settings). */
  extra?: Record<string, unknown>;
}

export interface TransportListenOptions {
  /** Largest frame accepted from any peer; a larger one closes that connection with `FrameTooLarge`. */
  maxFrameSize: number;
  /**
   * Close a connection whose peer has begun a frame and not completed it within this many ms
   * (a stalled or trickling peer). Stream transports enforce it; message transports whose
   * library buffers partial messages itself may ignore it.
   */
  frameTimeoutMs?: number;
  /**
   * The listener's auth timeout. Transports whose peers go through a handshake of their own before
   * a FrameConnection exists (an HTTP upgrade, TLS) close a raw connection that has not become a
   * FrameConnection within this time; the session's own auth timeout runs after that.
   */
  authTimeoutMs?: number;
  /**
   * The listener's connection limit. A transport that holds connections before they become
   * FrameConnections (an HTTP upgrade, an HTTP/2 connection without a call yet) counts those too,
   * and refuses connections over the limit as early as it can.
   */
  maxConnections?: number;
  /**
   * Called for each accepted connection, not yet started (the callee calls `start()`, at once or
   * later). The listener owns it until the listener closes.
   */
  onConnection(connection: FrameConnection): void;
  /** Reports errors that do not belong to one connection (e.g. an accept failure, a failed TLS handshake). */
  onError?(error: Error): void;
  /** TLS material for the TLS schemes; listening on one without `cert` and `key` is `InvalidArgument`. */
  tls?: TlsOptions;
  /** Transport-specific extras (e.g. an existing `http.Server` for websocket). */
  extra?: Record<string, unknown>;
}

/**
 * The contract a transport plugin implements. A transport moves opaque frames and knows nothing
 * of messages, codecs or auth. Register an implementation with `@Transport({ name, schemes })`.
 */
export interface Transport {
  readonly capabilities: TransportCapabilities;
  /**
   * Opens a connection to a listener. Fails with `ConnectionRefused` promptly (not after
   * `timeoutMs`) when nothing listens at the address, `Timeout` after `timeoutMs`, `Aborted` when
   * `signal` fires, `AuthFailed` for an untrusted certificate, `InvalidArgument` for a URL or
   * options that cannot work, `ChannelCreationFailed` for other local reasons. Build these with
   * the helpers of `spear-comm/transport-kit` so the codes match every other transport.
   */
  connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection>;
  /**
   * Listens at `url` (port 0, or a URL without a name, picks a free address). An address another
   * listener holds fails with `ChannelCreationFailed`; that listener keeps serving.
   */
  listen(url: URL, options: TransportListenOptions): Promise<FrameListener>;
  /**
   * Releases anything the plugin holds for its kernel (called by `kernel.close()`): listeners and
   * connections opened through it and not yet closed are closed, timers stopped.
   */
  dispose?(): Promise<void>;
}
