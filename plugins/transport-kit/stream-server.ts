import type { Server, Socket } from 'node:net';
import { CommunicationError, ErrorCode, type FrameListener, type TransportListenOptions } from 'spear-comm';
import { StreamFrameConnection } from './stream-connection.js';

export interface StreamServerOptions extends Pick<TransportListenOptions, 'maxFrameSize' | 'frameTimeoutMs' | 'onConnection' | 'onError'> {
  /** Starts listening, e.g. `(server) => server.listen({ host, port })`. Runs synchronously once. */
  bind(server: Server): void;
  /** The URL of the bound server (port 0 -> the real port). */
  url(server: Server): string;
  /** Turns a failure to bind (address in use, permission) into an actionable CommunicationError. */
  describeBindError(error: NodeJS.ErrnoException): CommunicationError;
  /** Addresses of an accepted socket, for logs and stats. */
  addresses(socket: Socket): { localAddress: string; remoteAddress: string };
  /** The event that delivers a ready socket: `connection` (node:net, default) or `secureConnection` (node:tls). */
  connectionEvent?: 'connection' | 'secureConnection';
  /** Runs once the server has closed (e.g. removes a unix socket file). */
  afterClose?: () => void | Promise<void>;
}

/**
 * Serves length-prefixed frames on a node:net (or node:tls) server: binds it, wraps every accepted
 * socket in a StreamFrameConnection, and closes the server and all its connections on `close()`.
 */
export async function listenStreamServer(server: Server, options: StreamServerOptions): Promise<FrameListener> {
  const connections = new Set<StreamFrameConnection>();
  /** Every accepted socket, including TLS sockets still in their handshake. */
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on(options.connectionEvent ?? 'connection', (socket: Socket) => {
    const connection = new StreamFrameConnection(socket, {
      maxFrameSize: options.maxFrameSize,
      ...(options.frameTimeoutMs !== undefined ? { frameTimeoutMs: options.frameTimeoutMs } : {}),
      ...options.addresses(socket),
    });
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
    options.onConnection(connection);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(options.describeBindError(error));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    try {
      options.bind(server);
    } catch (err) {
      server.off('error', onError);
      server.off('listening', onListening);
      reject(CommunicationError.is(err) ? err : options.describeBindError(err as NodeJS.ErrnoException));
    }
  });

  const url = options.url(server);
  server.on('error', (error: Error) =>
    options.onError?.(
      new CommunicationError(ErrorCode.ChannelCreationFailed, `Listener ${url} failed: ${error.message}`, { cause: error }),
    ),
  );
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((connection) => connection.close()));
        for (const socket of sockets) socket.destroy();
        await closed;
        await options.afterClose?.();
      })()),
  };
}

/** The listeners a transport plugin has open, so that its `dispose()` can close them. */
export class OpenListeners {
  private readonly open = new Set<FrameListener>();

  /** Returns `listener` wrapped so that closing it also forgets it. */
  track(listener: FrameListener): FrameListener {
    const tracked: FrameListener = {
      url: listener.url,
      close: () => {
        this.open.delete(tracked);
        return listener.close();
      },
    };
    this.open.add(tracked);
    return tracked;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((listener) => listener.close()));
  }
}
