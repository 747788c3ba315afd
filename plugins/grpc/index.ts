import {
  Client,
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  Status,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ServerDuplexStream,
  type ServerOptions,
  type StatusObject,
} from './grpc-library.js';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions as NodeTlsOptions } from 'node:tls';
import {
  CommunicationError,
  ErrorCode,
  Transport,
  type FrameConnection,
  type FrameListener,
  type TlsOptions,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';
import { OpenListeners, clientCertificateRefusal, connectAbortedError, invalidOptionError, listenError } from 'spear-comm/transport-kit';
import { CONNECT_PATH, SPEAR_TRANSPORT_SERVICE, deserializeFrame, frameMessageSize, serializeFrame } from './frame-message.js';
import { frameLimitInterceptor } from './frame-limit-interceptor.js';
import { GrpcConnection } from './grpc-connection.js';
import { statusToError } from './status-codes.js';

/**
 * What `extra` may carry for this transport (all optional):
 * - `keepaliveTimeMs` / `keepaliveTimeoutMs`: HTTP/2 pings on idle connections, both sides
 *   (default 30 s / 10 s); a peer that misses one is dropped.
 * - `channelOptions`: further grpc-js channel or server options, passed through as they are.
 */
export interface GrpcExtra {
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  channelOptions?: ChannelOptions;
}

interface PeerEntry {
  socket: Socket;
  calls: number;
  timer: NodeJS.Timeout | undefined;
  refusal?: CommunicationError;
}

/**
 * The TCP connections of one gRPC listener: counted against its limit from accept, and closed
 * when they carry no call for `idleMs` (from accept, and again whenever their last call ends).
 * Calls are matched to connections by the peer address grpc-js reports (`host:port`).
 */
class PeerConnections {
  private readonly sockets = new Map<string, PeerEntry>();
  private count = 0;

  constructor(
    private readonly max: number | undefined,
    private readonly idleMs: number | undefined,
  ) {}

  /** Whether to serve this new connection; one over the limit is destroyed at once. */
  admit(socket: Socket): boolean {
    if (this.max !== undefined && this.count >= this.max) {
      socket.destroy();
      return false;
    }
    this.count++;
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    const entry: PeerEntry = { socket, calls: 0, timer: undefined };
    this.sockets.set(key, entry);
    socket.once('close', () => {
      this.count--;
      clearTimeout(entry.timer);
      if (this.sockets.get(key) === entry) this.sockets.delete(key);
    });
    this.armIdle(entry);
    return true;
  }

  callStarted(peer: string): void {
    const entry = this.sockets.get(peer);
    if (!entry) return;
    entry.calls++;
    clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  callEnded(peer: string): void {
    const entry = this.sockets.get(peer);
    if (!entry) return;
    entry.calls = Math.max(0, entry.calls - 1);
    if (entry.calls === 0) this.armIdle(entry);
  }

  /** Notes why the sessions of this connection are refused (an untrusted client certificate). */
  refuse(socket: Socket, refusal: CommunicationError): void {
    const entry = this.sockets.get(`${socket.remoteAddress}:${socket.remotePort}`);
    if (entry) entry.refusal = refusal;
  }

  refusalOf(peer: string): CommunicationError | undefined {
    return this.sockets.get(peer)?.refusal;
  }

  destroyAll(): void {
    for (const { socket } of this.sockets.values()) socket.destroy();
  }

  private armIdle(entry: PeerEntry): void {
    if (!this.idleMs || entry.socket.destroyed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => entry.socket.destroy(), this.idleMs);
    entry.timer.unref();
  }
}

/** How long `listener.close()` lets calls end in order before cutting them off. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * `grpc://host:port` and `grpcs://` (with `tls` options): service `spear.v1.SpearTransport`
 * (proto/spear/v1/transport.proto), one `Connect` bidi stream per connection, one `Frame` per frame.
 */
@Transport({ name: 'grpc', schemes: ['grpc', 'grpcs'] })
export class GrpcTransport implements Transport {
  // gRPC message size limits are 32-bit signed integers; a frame's message adds a few bytes.
  readonly capabilities: TransportCapabilities = { maxFrameSize: 2 ** 30, ordered: true, reliable: true, localOnly: false, tls: true };
  /** Listeners and client connections opened through this plugin and not yet closed, for `dispose()`. */
  private readonly listeners = new OpenListeners();
  private readonly connections = new Set<FrameConnection>();

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const target = `${url.protocol}//${url.host}`;
    const address = requirePort(url);
    const extra = readExtra(options.extra);
    const tls = options.tls;
    if (options.signal?.aborted) throw aborted(target, options.signal);
    const client = new Client(address, channelCredentials(url, tls), {
      ...commonOptions(extra, options.maxFrameSize, this.capabilities.maxFrameSize),
      // Each connection owns its HTTP/2 connection, so closing one never disturbs another.
      'grpc.use_local_subchannel_pool': 1,
      // Frames must never be replayed behind the channel's back.
      'grpc.enable_retries': 0,
      ...(tls?.servername ? { 'grpc.ssl_target_name_override': tls.servername, 'grpc.default_authority': tls.servername } : {}),
      ...extra.channelOptions,
    });
    const call: ClientDuplexStream<Uint8Array, Uint8Array> = client.makeBidiStreamRequest(
      CONNECT_PATH,
      serializeFrame,
      deserializeFrame,
      new Metadata(),
      {},
    );
    // The server answers a Connect with its response headers at once; until then nothing is established.
    return new Promise<FrameConnection>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        call.off('metadata', onHeaders);
        call.off('status', onStatus);
      };
      const fail = (error: CommunicationError) => {
        cleanup();
        call.on('error', () => {});
        call.cancel();
        client.close();
        reject(error);
      };
      const onHeaders = () => {
        cleanup();
        const connection = GrpcConnection.client(call, client, target, this.capabilities.maxFrameSize);
        this.connections.add(connection);
        void connection.ended.then(() => this.connections.delete(connection));
        resolve(connection);
      };
      const onStatus = (status: StatusObject) => fail(statusToError(status, `Connect to ${target}`, false));
      const onAbort = () => fail(aborted(target, options.signal!));
      const timer = setTimeout(
        () =>
          fail(new CommunicationError(ErrorCode.Timeout, `${target} did not answer the gRPC Connect call within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      call.on('error', () => {}); // reported through 'status'
      call.once('metadata', onHeaders);
      call.once('status', onStatus);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * grpc-js serves HTTP/2 connections this listener accepts itself (grpc-js's connection injector):
   * every TCP connection counts against `maxConnections` from its first moment (one over the limit
   * is closed at once), and one that carries no call for the auth timeout (silent, never sending
   * the HTTP/2 preface, or idle after its calls ended) is closed.
   */
  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    // Like tcp://, a listener without a port takes a free one.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    const extra = readExtra(options.extra);
    const server = new Server({
      ...commonOptions(extra, options.maxFrameSize, this.capabilities.maxFrameSize),
      ...extra.channelOptions,
      // First, so that it sees grpc-js refuse an over-limit frame (see frame-limit-interceptor.ts).
      interceptors: [frameLimitInterceptor, ...((extra.channelOptions as ServerOptions | undefined)?.interceptors ?? [])],
    });
    const connections = new Set<GrpcConnection>();
    let local = `${url.protocol}//${url.host}`;
    let closed = false;
    const peers = new PeerConnections(options.maxConnections, options.authTimeoutMs);
    server.addService(SPEAR_TRANSPORT_SERVICE, {
      Connect: (call: ServerDuplexStream<Uint8Array, Uint8Array>) => {
        if (closed) {
          call.emit('error', { code: Status.UNAVAILABLE, details: 'spear-comm listener is closing' });
          return;
        }
        call.sendMetadata(new Metadata());
        const connection = GrpcConnection.server(call, local, this.capabilities.maxFrameSize, options.maxFrameSize);
        if (options.frameTimeoutMs) connection.watchFrames(options.frameTimeoutMs);
        connections.add(connection);
        const peer = call.getPeer();
        const refusal = peers.refusalOf(peer);
        if (refusal) connection.refusal = refusal;
        peers.callStarted(peer);
        void connection.ended.then(() => {
          connections.delete(connection);
          peers.callEnded(peer);
        });
        options.onConnection(connection);
      },
    });
    // Mutual TLS is terminated here rather than by grpc-js, whose credentials drop a client with an
    // untrusted certificate without telling it why: here its session is refused with AuthFailed instead.
    const mutual = mutualTlsContext(url, options.tls);
    const injector = server.createConnectionInjector(mutual ? ServerCredentials.createInsecure() : serverCredentials(url, options.tls));
    // A tls.Server that never listens does the TLS of the sockets handed to it (as grpc-js's own
    // secure server would), then HTTP/2 starts on the secured socket.
    const tlsTerminator = mutual
      ? createTlsServer({ ...mutual, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, (secured: TLSSocket) => {
          const refusal = clientCertificateRefusal(secured, local);
          if (refusal) peers.refuse(secured, refusal);
          injector.injectConnection(secured);
        })
      : undefined;
    tlsTerminator?.on('tlsClientError', (_err, secured: TLSSocket) => secured.destroy());
    const tcp = createNetServer({ noDelay: true }, (socket) => {
      if (!peers.admit(socket)) return;
      if (tlsTerminator) tlsTerminator.emit('connection', socket);
      else injector.injectConnection(socket);
    });
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', (err) => {
        injector.destroy();
        reject(listenError(url.href, err.message, err));
      });
      tcp.listen({ host, port: url.port === '' ? 0 : Number(url.port) }, () => resolve((tcp.address() as AddressInfo).port));
    });
    tcp.on('error', (err) => options.onError?.(err));
    local = `${url.protocol}//${url.hostname}:${port}`;
    let closing: Promise<void> | undefined;
    return this.listeners.track({
      url: local,
      close: () =>
        (closing ??= (async () => {
          closed = true;
          const tcpClosed = new Promise<void>((resolve) => tcp.close(() => resolve()));
          await Promise.all([...connections].map((c) => c.close()));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              server.forceShutdown();
              resolve();
            }, SHUTDOWN_GRACE_MS);
            server.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          });
          injector.destroy();
          peers.destroyAll();
          await tcpClosed;
        })()),
    });
  }

  /** Closes what was opened through this plugin directly and is still open (the kernel closes its own first). */
  async dispose(): Promise<void> {
    await Promise.all([this.listeners.closeAll(), ...[...this.connections].map((c) => c.close())]);
  }
}

function aborted(target: string, signal: AbortSignal): CommunicationError {
  return connectAbortedError(target, signal);
}

function commonOptions(extra: GrpcExtra, maxFrameSize: number, transportMax: number): ChannelOptions {
  return {
    'grpc.max_receive_message_length': frameMessageSize(maxFrameSize),
    // What the peer accepts is learnt in the session handshake; gRPC only enforces the transport's own ceiling.
    'grpc.max_send_message_length': frameMessageSize(transportMax),
    'grpc.keepalive_time_ms': extra.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': extra.keepaliveTimeoutMs ?? 10_000,
  };
}

function readExtra(extra: Record<string, unknown> | undefined): GrpcExtra {
  const e = (extra ?? {}) as GrpcExtra;
  for (const key of ['keepaliveTimeMs', 'keepaliveTimeoutMs'] as const) {
    const value = e[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw invalidOptionError(`extra.${key} must be a positive whole number of milliseconds, got ${String(value)}`);
    }
  }
  return e;
}

function requirePort(url: URL): string {
  if (url.port === '') {
    throw invalidOptionError(`${url.href} names no port; connect to e.g. grpc://127.0.0.1:50051`);
  }
  return url.host;
}

function secure(url: URL, tls: TlsOptions | undefined): boolean {
  if (url.protocol === 'grpcs:') return true;
  if (tls) throw invalidOptionError(`TLS options were given for ${url.href}; use grpcs:// to use them`);
  return false;
}

function pem(value: string | Buffer | Array<string | Buffer> | undefined): Buffer | null {
  if (value === undefined) return null;
  if (Array.isArray(value)) return Buffer.concat(value.map((v) => Buffer.from(v)));
  return Buffer.from(value);
}

function channelCredentials(url: URL, tls: TlsOptions | undefined): ChannelCredentials {
  if (!secure(url, tls)) return credentials.createInsecure();
  return credentials.createSsl(
    pem(tls?.ca),
    pem(tls?.key),
    pem(tls?.cert),
    tls?.rejectUnauthorized === false ? { rejectUnauthorized: false } : {},
  );
}

/** The TLS options of a `grpcs://` listener with `tls.requestCert`, or undefined for any other. */
function mutualTlsContext(url: URL, tls: TlsOptions | undefined): Pick<NodeTlsOptions, 'cert' | 'key' | 'ca'> | undefined {
  if (!tls?.requestCert) return undefined;
  serverCredentials(url, tls); // the same checks: grpcs://, cert, key and ca given
  return { cert: tls.cert, key: tls.key, ca: tls.ca };
}

function serverCredentials(url: URL, tls: TlsOptions | undefined): ServerCredentials {
  if (!secure(url, tls)) return ServerCredentials.createInsecure();
  if (!tls?.cert || !tls.key) {
    throw invalidOptionError(`Listening on ${url.href} needs tls.cert and tls.key (PEM); pass them in the listen options or use grpc://`);
  }
  if (tls.requestCert && tls.ca === undefined) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Listening on ${url.href} with requestCert needs tls.ca: the CA that signs the client certificates to accept`,
    );
  }
  return ServerCredentials.createSsl(
    pem(tls.ca),
    [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }],
    tls.requestCert === true,
  );
}

export { transportProtoPath } from './proto-path.js';
export { SPEAR_TRANSPORT_SERVICE, deserializeFrame, serializeFrame };
