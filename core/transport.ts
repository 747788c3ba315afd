import type { CommunicationError } from './errors.js';

/** What a transport can and cannot do; the conformance kit selects its tests from this. */
export interface TransportCapabilities {
  /** The largest frame this transport can carry at all (a listener may set a lower limit). */
  maxFrameSize: number;
  /** Frames arrive in the order they were sent. */
  ordered: boolean;
  /** Frames are never lost or duplicated while the connection is up. */
  reliable: boolean;
  /** Only reachable inside this process or machine (memory, unix). */
  localOnly: boolean;
  /** TLS variants of its schemes are available when certificates are configured. */
  tls?: boolean;
}

export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

/** Where a connection delivers what it receives. */
export interface FrameSink {
  /** One whole frame. The connection will not reuse the buffer afterwards. */
  onFrame(frame: Uint8Array): void;
  /** The connection has ended, with the reason when it was not an orderly close. Called once. */
  onClose(error?: Error): void;
}

/** An ordered, framed, bidirectional byte connection: what a transport plugin produces. */
export interface FrameConnection {
  /** Human-readable peer and local addresses, for logs and stats. */
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Starts delivery of received frames to `sink`. Called exactly once; frames that arrive earlier are held. */
  start(sink: FrameSink): void;
  /**
   * Sends one frame. Resolves once the frame is accepted by the OS or peer; while the peer
   * is not reading, it stays pending, which keeps the sender's memory bounded. Rejects with
   * `ChannelClosed` after close and `FrameTooLarge` for a frame over the peer's limit.
   */
  send(frame: Uint8Array): Promise<void>;
  /**
   * Optional: changes the largest frame accepted from the peer from now on, with `reason` for the
   * error. The server session uses it to accept only a small handshake frame from a peer that has
   * not authenticated yet. Transports that cannot change it on a live connection omit it.
   */
  setMaxFrameSize?(maxFrameSize: number, reason?: string): void;
  /**
   * Set by a listener's transport that accepted the connection only to refuse its session (e.g. a
   * client certificate the listener does not trust): the session answers the peer's AuthRequest
   * with `success: false` and this error's message, and closes the connection with it.
   */
  refusal?: CommunicationError;
  /** Stop delivering frames (the peer's sends will eventually wait) until `resume()`. */
  pause(): void;
  resume(): void;
  /**
   * Closes both directions. Idempotent; resolves when the underlying resources are released.
   * `reason`: the connection ends because of this failure (a refused or timed-out session, a
   * frame that does not decode, a full listener); a transport that can tell its peer why does so
   * on its wire (a WebSocket close code and reason, a gRPC status), otherwise it closes as usual.
   */
  close(reason?: CommunicationError): Promise<void>;
}

export interface FrameListener {
  /** The real bound address, e.g. `tcp://127.0.0.1:40123` after listening on port 0. */
  readonly url: string;
  /** Stops accepting and closes the connections it accepted. Idempotent. */
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
  /** Largest frame accepted from the peer. */
  maxFrameSize: number;
  /** Give up connecting after this long with `Timeout`. */
  timeoutMs: number;
  signal?: AbortSignal;
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
  /** Called for each accepted connection. The listener owns it until the listener closes. */
  onConnection(connection: FrameConnection): void;
  /** Reports errors that do not belong to one connection (e.g. an accept failure). */
  onError?(error: Error): void;
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
  connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection>;
  listen(url: URL, options: TransportListenOptions): Promise<FrameListener>;
  /** Releases anything the plugin holds for its kernel (called by `kernel.close()`). */
  dispose?(): Promise<void>;
}
