import { Server as HttpServer, type IncomingMessage } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import {
  CommunicationError,
  ErrorCode,
  Transport,
  type FrameConnection,
  type FrameListener,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';
import { OpenListeners } from 'spear-comm/transport-kit';
import { CloseCode, WebSocketConnection } from './websocket-connection.js';
import { describeAddress, listenOwnServer, listenSharedServer, type WebSocketListenSettings } from './websocket-listener.js';
import { WebSocket, type PerMessageDeflateOptions } from './ws-library.js';

/**
 * What `extra` may carry for this transport (all optional):
 * - `server` (listen): an existing `http.Server` or `https.Server` to share. spear-comm answers
 *   WebSocket upgrades for the URL's path only and leaves every other request to you; it starts the
 *   server on the URL's host and port if it is not listening yet, and never closes it.
 * - `perMessageDeflate`: ws's compression setting; off by default (frames are usually small or
 *   already compact, and compression costs CPU and memory per connection).
 * - `pingIntervalMs`: ping the peer this often and drop it when a ping goes unanswered (default 30 s; 0 turns it off).
 * - `headers` (connect): extra HTTP headers for the upgrade request.
 */
export interface WebSocketExtra {
  server?: HttpServer | HttpsServer;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  pingIntervalMs?: number;
  headers?: Record<string, string>;
}

const DEFAULT_PING_INTERVAL_MS = 30_000;

/** `ws://host:port/path` and `wss://` (with `tls` options): one binary WebSocket message per frame. */
@Transport({ name: 'websocket', schemes: ['ws', 'wss'] })
export class WebSocketTransport implements Transport {
  // ws reads its payload limit as a 32-bit integer.
  readonly capabilities: TransportCapabilities = { maxFrameSize: 2 ** 30, ordered: true, reliable: true, localOnly: false, tls: true };
  /** Listeners and client connections opened through this plugin and not yet closed, for `dispose()`. */
  private readonly listeners = new OpenListeners();
  private readonly connections = new Set<FrameConnection>();

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const extra = readExtra(options.extra);
    const target = `${url.protocol}//${url.host}${url.pathname}`;
    if (options.signal?.aborted) throw aborted(target, options.signal);
    if (options.tls && url.protocol !== 'wss:') {
      throw new CommunicationError(ErrorCode.ChannelCreationFailed, `TLS options were given for ${target}; connect to wss:// to use them`);
    }
    const tls = options.tls ?? {};
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        maxPayload: options.maxFrameSize,
        perMessageDeflate: extra.perMessageDeflate ?? false,
        handshakeTimeout: options.timeoutMs,
        ...(extra.headers ? { headers: extra.headers } : {}),
        ...pick(tls, ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']),
      });
    } catch (err) {
      throw new CommunicationError(ErrorCode.ChannelCreationFailed, `Cannot open a WebSocket to ${target}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new Promise<FrameConnection>((resolve, reject) => {
      let socket: Socket | undefined;
      const detach = () => {
        options.signal?.removeEventListener('abort', onAbort);
        ws.off('upgrade', onUpgrade).off('unexpected-response', onRefused).off('error', onError).off('open', onOpen);
      };
      const fail = (error: CommunicationError) => {
        detach();
        ws.on('error', () => {});
        ws.terminate();
        reject(error);
      };
      const onAbort = () => fail(aborted(target, options.signal!));
      const onUpgrade = (res: IncomingMessage) => (socket = res.socket);
      const onRefused = (_req: unknown, res: IncomingMessage) =>
        fail(
          new CommunicationError(
            ErrorCode.ConnectionRefused,
            `${target} answered the WebSocket upgrade with HTTP ${res.statusCode}; check the path (spear-comm listens on exactly one path per listener)`,
          ),
        );
      const onError = (err: Error) => fail(describeConnectError(err, target));
      const onOpen = () => {
        detach();
        const local = describeAddress(url.protocol, socket?.localAddress, socket?.localPort);
        const connection = new WebSocketConnection(ws, local, target, extra.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
        this.connections.add(connection);
        void connection.ended.then(() => this.connections.delete(connection));
        resolve(connection);
      };
      ws.on('upgrade', onUpgrade).on('unexpected-response', onRefused).on('error', onError).on('open', onOpen);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const extra = readExtra(options.extra);
    const settings: WebSocketListenSettings = {
      url,
      options,
      perMessageDeflate: extra.perMessageDeflate ?? false,
      pingIntervalMs: extra.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    };
    return this.listeners.track(extra.server ? await listenSharedServer(extra.server, settings) : await listenOwnServer(settings));
  }

  /** Closes what was opened through this plugin directly and is still open (the kernel closes its own first). */
  async dispose(): Promise<void> {
    await Promise.all([this.listeners.closeAll(), ...[...this.connections].map((c) => c.close())]);
  }
}

function readExtra(extra: Record<string, unknown> | undefined): WebSocketExtra {
  const e = (extra ?? {}) as WebSocketExtra;
  const server: unknown = e.server;
  if (server !== undefined && !(server instanceof HttpServer || server instanceof HttpsServer)) {
    throw new CommunicationError(ErrorCode.ChannelCreationFailed, 'extra.server must be an http.Server or https.Server');
  }
  if (e.pingIntervalMs !== undefined && !(Number.isFinite(e.pingIntervalMs) && e.pingIntervalMs >= 0)) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `extra.pingIntervalMs must be a number of milliseconds >= 0 (0 turns pings off), got ${String(e.pingIntervalMs)}`,
    );
  }
  return e;
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}

function aborted(target: string, signal: AbortSignal): CommunicationError {
  return new CommunicationError(ErrorCode.ChannelCreationFailed, `Connecting to ${target} was aborted`, { cause: signal.reason });
}

/** TLS alerts a listener sends when it refuses this client's certificate (mutual TLS). */
const CLIENT_CERT_REFUSED =
  /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|HANDSHAKE_FAILURE)/;

function describeConnectError(err: Error & { code?: string }, target: string): CommunicationError {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED')
    return new CommunicationError(ErrorCode.ConnectionRefused, `Nothing is listening at ${target} (connection refused)`, { cause: err });
  if (err.message.includes('Opening handshake has timed out'))
    return new CommunicationError(ErrorCode.Timeout, `${target} did not complete the WebSocket handshake in time`, { cause: err });
  if (CLIENT_CERT_REFUSED.test(code)) {
    return new CommunicationError(
      ErrorCode.AuthFailed,
      `${target} refused this client's TLS certificate (${code}): the listener asks for one (mutual TLS); pass tls.cert and tls.key signed by a CA it trusts`,
      { cause: err },
    );
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return new CommunicationError(
      ErrorCode.AuthFailed,
      `${target} presented a TLS certificate this client does not trust: ${err.message} (${code}); pass the server's CA as tls.ca`,
      { cause: err },
    );
  }
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) {
    return new CommunicationError(ErrorCode.ChannelCreationFailed, `TLS to ${target} failed: ${err.message} (${code})`, { cause: err });
  }
  return new CommunicationError(ErrorCode.ChannelCreationFailed, `Cannot open a WebSocket to ${target}: ${err.message}`, { cause: err });
}

export { CloseCode };
