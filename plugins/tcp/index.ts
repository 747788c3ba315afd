import { constants as bufferConstants } from 'node:buffer';
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer, type TLSSocket } from 'node:tls';
import {
  Transport,
  type CommunicationError,
  type FrameConnection,
  type FrameListener,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';
import {
  MAX_WIRE_FRAME_SIZE,
  OpenListeners,
  invalidOptionError,
  isUntrustedCertificate,
  listenError,
  tlsHandshakeError,
  untrustedCertificateError,
  StreamFrameConnection,
  listenStreamServer,
  whenSocketConnected,
  clientCertificateRefusal,
} from 'spear-comm/transport-kit';
import { describeClientCertRefused, describeTlsError, tlsClientOptions, tlsServerOptions } from './tls-options.js';

const LOOPBACK = '127.0.0.1';

/**
 * Length-prefixed frames over TCP: `tcp://host:port`, and over TLS: `tls://host:port` (with
 * `tls: { cert, key }` to listen, `tls: { ca }` to trust a private CA when connecting).
 * Listeners bind to 127.0.0.1 unless the URL names another host; port 0 picks a free port.
 */
@Transport({ name: 'tcp', schemes: ['tcp', 'tls'] })
export class TcpTransport implements Transport {
  readonly capabilities: TransportCapabilities = {
    maxFrameSize: Math.min(MAX_WIRE_FRAME_SIZE, bufferConstants.MAX_LENGTH),
    ordered: true,
    reliable: true,
    localOnly: false,
    tls: true,
  };
  private readonly listeners = new OpenListeners();

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const secure = url.protocol === 'tls:';
    const { host, port } = endpointOf(url, false);
    const address = `${url.protocol}//${formatHost(host)}:${port}`;
    const socket = secure ? tlsConnect({ host, port, ...tlsClientOptions(options.tls, host) }) : netConnect({ host, port, noDelay: true });
    await whenSocketConnected(socket, {
      address,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(secure
        ? { readyEvent: 'secureConnect' as const, describeError: (error: NodeJS.ErrnoException) => describeTlsError(error, address) }
        : {}),
    });
    return new StreamFrameConnection(socket, {
      maxFrameSize: options.maxFrameSize,
      localAddress: `${url.protocol}//${formatHost(socket.localAddress ?? '')}:${socket.localPort ?? 0}`,
      remoteAddress: address,
      ...(secure ? { describeError: (error: Error) => describeClientCertRefused(error, address) } : {}),
    });
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const secure = url.protocol === 'tls:';
    const scheme = url.protocol.slice(0, -1);
    const { host, port } = endpointOf(url, true);
    const requested = `${scheme}://${formatHost(host)}:${port}`;
    const server: Server = secure
      ? tlsCreateServer({ ...tlsServerOptions(options.tls, requested), noDelay: true })
      : netCreateServer({ noDelay: true });
    // listenStreamServer asks for a socket's addresses right before it wraps the socket and hands
    // the connection over, in one synchronous step: that is where a refused client certificate is noted.
    let refusal: CommunicationError | undefined;
    const mutual = secure && options.tls?.requestCert === true;
    const frames = await listenStreamServer(server, {
      maxFrameSize: options.maxFrameSize,
      ...(options.frameTimeoutMs !== undefined ? { frameTimeoutMs: options.frameTimeoutMs } : {}),
      onConnection: (connection) => {
        if (refusal) connection.refusal = refusal;
        refusal = undefined;
        options.onConnection(connection);
      },
      ...(options.onError ? { onError: options.onError } : {}),
      connectionEvent: secure ? 'secureConnection' : 'connection',
      bind: (s) => s.listen({ host, port }),
      url: (s) => {
        const bound = s.address() as AddressInfo;
        return `${scheme}://${formatHost(bound.address)}:${bound.port}`;
      },
      describeBindError: (error) => describeBindError(error, requested),
      addresses: (socket) => {
        if (mutual) refusal = clientCertificateRefusal(socket as TLSSocket, requested);
        return {
          localAddress: `${scheme}://${formatHost(socket.localAddress ?? '')}:${socket.localPort ?? 0}`,
          remoteAddress: `${scheme}://${formatHost(socket.remoteAddress ?? '')}:${socket.remotePort ?? 0}`,
        };
      },
    });
    if (secure) {
      server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        const peer = socket.remoteAddress ? ` from ${formatHost(socket.remoteAddress)}:${socket.remotePort}` : '';
        const code = (error as NodeJS.ErrnoException).code;
        options.onError?.(
          isUntrustedCertificate(code)
            ? untrustedCertificateError(`a client of ${frames.url}${peer}`, error, `${code}: ${error.message}`)
            : tlsHandshakeError(`a client of ${frames.url}${peer}`, error.message, error),
        );
      });
    }
    return this.listeners.track(frames);
  }

  dispose(): Promise<void> {
    return this.listeners.closeAll();
  }
}

function endpointOf(url: URL, listening: boolean): { host: string; port: number } {
  const scheme = url.protocol.slice(0, -1);
  // URL keeps the brackets of an IPv6 literal; node:net wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || (listening ? LOOPBACK : '');
  if (!host) {
    throw invalidOptionError(`${url.href} names no host; connect to e.g. ${scheme}://127.0.0.1:7000`);
  }
  if (url.port === '' && !listening) {
    throw invalidOptionError(`${url.href} names no port; connect to e.g. ${scheme}://${formatHost(host)}:7000`);
  }
  return { host, port: url.port === '' ? 0 : Number(url.port) };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function describeBindError(error: NodeJS.ErrnoException, address: string): CommunicationError {
  const hint = {
    EADDRINUSE: 'the port is already in use; stop the other listener or use port 0 for a free one',
    EACCES: 'permission denied; ports below 1024 need privileges, use a higher port',
    EADDRNOTAVAIL: 'this machine has no such address; use 127.0.0.1 (the default) or one of its own addresses',
  }[error.code ?? ''];
  return listenError(address, hint ?? error.message, error);
}
