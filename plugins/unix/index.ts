import { constants as bufferConstants } from 'node:buffer';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
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
import {
  MAX_WIRE_FRAME_SIZE,
  OpenListeners,
  StreamFrameConnection,
  listenStreamServer,
  whenSocketConnected,
} from 'spear-comm/transport-kit';
import { bindPrivately, removeSocketFile, removeStaleSocket, restrictSocket, socketPathOf, unixUrlOf } from './socket-file.js';

/**
 * Length-prefixed frames over a unix domain socket: `unix:///abs/path.sock`. The socket file is
 * created with mode 0600, a stale one left by a dead process is replaced, and it is removed on close.
 */
@Transport({ name: 'unix', schemes: ['unix'] })
export class UnixTransport implements Transport {
  readonly capabilities: TransportCapabilities = {
    maxFrameSize: Math.min(MAX_WIRE_FRAME_SIZE, bufferConstants.MAX_LENGTH),
    ordered: true,
    reliable: true,
    localOnly: true,
  };
  private readonly listeners = new OpenListeners();

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const path = socketPathOf(url);
    const address = unixUrlOf(path);
    const socket = connect({ path });
    await whenSocketConnected(socket, {
      address,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      describeError: (error) => describeConnectError(error, path),
    });
    return new StreamFrameConnection(socket, {
      maxFrameSize: options.maxFrameSize,
      localAddress: `${address} (client)`,
      remoteAddress: address,
    });
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const path = socketPathOf(url);
    const address = unixUrlOf(path);
    await removeStaleSocket(path);
    let inode = -1;
    let peers = 0;
    const frames = await listenStreamServer(createServer(), {
      maxFrameSize: options.maxFrameSize,
      ...(options.frameTimeoutMs !== undefined ? { frameTimeoutMs: options.frameTimeoutMs } : {}),
      onConnection: options.onConnection,
      ...(options.onError ? { onError: options.onError } : {}),
      bind: (server) => bindPrivately(() => server.listen({ path })),
      url: () => address,
      describeBindError: (error) => describeBindError(error, path),
      addresses: () => ({ localAddress: address, remoteAddress: `${address} (peer ${++peers})` }),
      afterClose: () => removeSocketFile(path, inode),
    });
    try {
      inode = await restrictSocket(path);
    } catch (err) {
      await frames.close();
      throw new CommunicationError(ErrorCode.ChannelCreationFailed, `Could not restrict ${path} to mode 0600: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return this.listeners.track(frames);
  }

  dispose(): Promise<void> {
    return this.listeners.closeAll();
  }
}

function describeConnectError(error: NodeJS.ErrnoException, path: string): CommunicationError | undefined {
  const address = `unix://${path}`;
  switch (error.code) {
    case 'ENOENT':
      return new CommunicationError(
        ErrorCode.ConnectionRefused,
        `Nothing listens on ${address}: there is no socket file. Start the listener first, or check the path`,
        { cause: error },
      );
    case 'ECONNREFUSED':
      return new CommunicationError(
        ErrorCode.ConnectionRefused,
        `Connection refused by ${address}: the socket file exists but nobody accepts on it (left by a process that died?). Start the listener; it replaces a stale file`,
        { cause: error },
      );
    case 'EACCES':
      return new CommunicationError(
        ErrorCode.ConnectionRefused,
        `Permission denied connecting to ${address}: the socket is mode 0600, so connect as the user that runs the listener`,
        { cause: error },
      );
    default:
      return undefined;
  }
}

function describeBindError(error: NodeJS.ErrnoException, path: string): CommunicationError {
  // Node reports a bind into a missing directory as EACCES; say what is really wrong.
  const code = error.code === 'EACCES' && !existsSync(dirname(path)) ? 'ENOENT' : error.code;
  const hint = {
    EADDRINUSE: 'another listener took the path meanwhile; choose another path',
    ENOENT: 'its directory does not exist; create it first',
    EACCES: 'permission denied in its directory; choose a directory this user may write to',
    EROFS: 'its directory is on a read-only file system; choose a writable directory, e.g. in /tmp or $XDG_RUNTIME_DIR',
    ENOSPC: 'the file system is full (no space or no free inodes for the socket file); free some space or choose another directory',
    ENOTDIR: 'a component of the path is a file, not a directory',
  }[code ?? ''];
  return new CommunicationError(ErrorCode.ChannelCreationFailed, `Could not listen on unix://${path}: ${hint ?? error.message}`, {
    cause: error,
  });
}
