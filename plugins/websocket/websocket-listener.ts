import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { CommunicationError, ErrorCode, type FrameListener, type TlsOptions, type TransportListenOptions } from 'spear-comm';
import { WebSocketServer, type PerMessageDeflateOptions } from './ws-library.js';
import { clientCertificateRefusal, invalidOptionError, listenError } from 'spear-comm/transport-kit';
import { WebSocketConnection } from './websocket-connection.js';

export interface WebSocketListenSettings {
  url: URL;
  options: TransportListenOptions;
  perMessageDeflate: boolean | PerMessageDeflateOptions;
  pingIntervalMs: number;
}

/**
 * What both server modes share: answering upgrades on one path with WebSocketConnections, and
 * closing those connections. The path, the listener-closing state and (for a shared server) the
 * connection limit are checked before ws reads the upgrade.
 */
class UpgradeAcceptor {
  readonly path: string;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<WebSocketConnection>();
  /** Upgrades accepted and not yet closed, including those ws is still completing. */
  private live = 0;
  private closed = false;

  constructor(private readonly settings: WebSocketListenSettings) {
    this.path = settings.url.pathname || '/';
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: settings.options.maxFrameSize,
      perMessageDeflate: settings.perMessageDeflate,
    });
  }

  /** Whether this upgrade request is for our path. */
  owns(req: IncomingMessage): boolean {
    return pathOf(req) === this.path;
  }

  /**
   * Answers an upgrade for our path. `countUpgrades`: refuse with 503 beyond `maxConnections`
   * upgraded sockets (a shared server, whose other sockets are not ours to count).
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: string, countUpgrades: boolean): void {
    if (this.closed) return refuseUpgrade(socket, 503, 'spear-comm listener is closing');
    const max = this.settings.options.maxConnections;
    if (countUpgrades && max !== undefined && this.live >= max) {
      return refuseUpgrade(socket, 503, `ConnectionRefused: connection limit of ${max} reached`);
    }
    this.live++;
    socket.once('close', () => this.live--);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const s = req.socket;
      const connection = new WebSocketConnection(
        ws,
        describeAddress(scheme, s.localAddress, s.localPort),
        describeAddress(scheme, s.remoteAddress, s.remotePort),
        this.settings.pingIntervalMs,
      );
      if (this.settings.options.tls?.requestCert && s instanceof TLSSocket) {
        const refusal = clientCertificateRefusal(s, this.settings.url.href);
        if (refusal) connection.refusal = refusal;
      }
      const frameTimeoutMs = this.settings.options.frameTimeoutMs;
      if (frameTimeoutMs) connection.watchFrames(socket, frameTimeoutMs);
      this.connections.add(connection);
      void connection.ended.then(() => this.connections.delete(connection));
      this.settings.options.onConnection(connection);
    });
  }

  /** Stops accepting and closes every connection accepted. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections].map((c) => c.close()));
    this.wss.close();
  }
}

/**
 * A listener on its own HTTP(S) server. Every TCP connection counts against `maxConnections` from
 * its first moment (before TLS, before the upgrade): one over the limit gets an HTTP 503 (ws://)
 * or is closed at once (wss://). A socket that has not upgraded within the auth timeout is closed;
 * plain HTTP requests get 426, upgrades for another path 404.
 */
export async function listenOwnServer(settings: WebSocketListenSettings): Promise<FrameListener> {
  const { url, options } = settings;
  const secure = url.protocol === 'wss:';
  if (options.tls && !secure) {
    throw invalidOptionError(`TLS options were given for ${url.href}; listen on wss:// to use them`);
  }
  const deadlineMs = options.authTimeoutMs;
  const server = secure
    ? createHttpsServer({ ...serverTls(options, url), ...(deadlineMs ? { handshakeTimeout: deadlineMs } : {}) })
    : createHttpServer();
  const acceptor = new UpgradeAcceptor(settings);
  const scheme = secure ? 'wss:' : 'ws:';

  const sockets = new Set<Socket>();
  const onTcpConnection = (socket: Socket) => {
    const max = options.maxConnections;
    if (max !== undefined && sockets.size >= max) {
      // Over the limit: no TLS handshake, no HTTP parsing, no timer; a plain peer learns why.
      if (secure) socket.destroy();
      else refuseUpgrade(socket, 503, `ConnectionRefused: connection limit of ${max} reached`);
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  // node:net's 'connection' listeners run in order: this one must see the socket before node:http does.
  server.prependListener('connection', onTcpConnection);

  // A socket that has not upgraded within the auth timeout (silent, a plain HTTP client on
  // keep-alive, a trickled request) is closed; node's own HTTP timeouts are minutes.
  const upgradeTimers = new Map<Socket, NodeJS.Timeout>();
  const armUpgradeDeadline = (socket: Socket) => {
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), deadlineMs);
    timer.unref();
    upgradeTimers.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      upgradeTimers.delete(socket);
    });
  };
  if (deadlineMs) server.on(secure ? 'secureConnection' : 'connection', armUpgradeDeadline);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!acceptor.owns(req)) return refuseUpgrade(socket, 404, `No spear-comm listener on this path; try ${acceptor.path}`);
    clearTimeout(upgradeTimers.get(req.socket));
    upgradeTimers.delete(req.socket);
    acceptor.accept(req, socket, head, scheme, false);
  });
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'Upgrade' });
    res.end('This is a spear-comm WebSocket endpoint; connect with a WebSocket client.\n');
  });
  server.on('error', (err: Error) => options.onError?.(err));

  try {
    server.listen({ host: hostOf(url), port: portOf(url, secure) });
    await once(server, 'listening');
  } catch (err) {
    throw listenError(url.href, (err as Error).message, err);
  }
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `${describeAddress(scheme, address.address, address.port)}${acceptor.path}`,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await acceptor.close();
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      })()),
  };
}

/**
 * A listener on the caller's HTTP(S) server: it answers upgrades for its path only, leaves every
 * other request and upgrade to the caller's handlers, starts the server if it is not listening,
 * and never closes it. The server's own sockets are the caller's to limit (`server.maxConnections`,
 * `server.headersTimeout`); `maxConnections` here counts upgraded WebSockets and refuses more with 503.
 */
export async function listenSharedServer(server: HttpServer | HttpsServer, settings: WebSocketListenSettings): Promise<FrameListener> {
  const { url, options } = settings;
  const acceptor = new UpgradeAcceptor(settings);
  const secure = server instanceof HttpsServer;
  const scheme = secure ? 'wss:' : 'ws:';
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (acceptor.owns(req)) acceptor.accept(req, socket, head, scheme, true);
  };
  const onServerError = (err: Error) => options.onError?.(err);
  server.on('upgrade', onUpgrade);
  server.on('error', onServerError);
  const detach = () => {
    server.off('upgrade', onUpgrade);
    server.off('error', onServerError);
  };
  if (!server.listening) {
    try {
      server.listen({ host: hostOf(url), port: portOf(url, secure) });
      await once(server, 'listening');
    } catch (err) {
      detach();
      throw listenError(url.href, (err as Error).message, err);
    }
  }
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `${describeAddress(scheme, address.address, address.port)}${acceptor.path}`,
    close: () =>
      (closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        await acceptor.close();
        detach();
      })()),
  };
}

/**
 * Why a mutual-TLS listener refuses the session of a client whose certificate did not verify, or
 * undefined for a verified one; the client reads it in its AuthResponse and the close frame.
 */
function serverTls(
  options: TransportListenOptions,
  url: URL,
): Pick<TlsOptions, 'cert' | 'key' | 'ca'> & { requestCert?: boolean; rejectUnauthorized?: boolean } {
  const tls = options.tls;
  if (!tls?.cert || !tls.key) {
    throw invalidOptionError(`Listening on ${url.href} needs tls.cert and tls.key (PEM); pass them in the listen options or use ws://`);
  }
  if (tls.requestCert && tls.ca === undefined) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Listening on ${url.href} with requestCert needs tls.ca: the CA that signs the client certificates to accept`,
    );
  }
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca ? { ca: tls.ca } : {}),
    // Mutual TLS: every client is asked for a certificate; one without a certificate `ca` signed
    // completes TLS and the upgrade, and its session is refused with AuthFailed (clientCertificateRefusal).
    ...(tls.requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/** Answers an HTTP request on a socket that is not (or not yet) a WebSocket, then closes it once written. */
function refuseUpgrade(socket: Duplex, status: 404 | 503, message: string): void {
  const text = status === 404 ? 'Not Found' : 'Service Unavailable';
  socket.write(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
  // Not end(): a peer that never closes its side would hold the socket half-open.
  const s = socket as Partial<Socket> & Duplex;
  if (s.destroySoon) s.destroySoon();
  else socket.destroy();
}

function pathOf(req: IncomingMessage): string {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** The URL's host, unbracketed; listeners bind loopback when the URL names none. */
function hostOf(url: URL): string {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return host === '' ? '127.0.0.1' : host;
}

function portOf(url: URL, secure: boolean): number {
  return url.port === '' ? (secure ? 443 : 80) : Number(url.port);
}

export function describeAddress(scheme: string, host: string | undefined, port: number | undefined): string {
  const h = host ?? 'unknown';
  return `${scheme}//${h.includes(':') ? `[${h}]` : h}:${port ?? 0}`;
}
