import type { Socket } from 'node:net';
import { CommunicationError, ErrorCode } from 'spear-comm';

export interface SocketConnectOptions {
  /** What is being connected to, as the user wrote it (e.g. `tcp://127.0.0.1:7000`); every error names it. */
  address: string;
  /** Give up after this long with `Timeout` (the socket is destroyed). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** The event that means "ready": `connect` for node:net, `secureConnect` for node:tls (default `connect`). */
  readyEvent?: 'connect' | 'secureConnect';
  /** Turns a transport-specific failure into a CommunicationError; return undefined for the default wording. */
  describeError?: (error: NodeJS.ErrnoException) => CommunicationError | undefined;
}

/**
 * Waits until a socket that is connecting is ready, with a timeout and an abort signal.
 * Failures become CommunicationErrors that name the address: `ConnectionRefused` when nothing
 * listens there, `Timeout`, or `ChannelCreationFailed`. On failure the socket is destroyed.
 */
export function whenSocketConnected(socket: Socket, options: SocketConnectOptions): Promise<void> {
  const readyEvent = options.readyEvent ?? 'connect';
  const { address, signal } = options;
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const failWith = (error: CommunicationError) => {
      cleanup();
      socket.on('error', () => {}); // a late second error from a socket given up on must not crash the process
      socket.destroy();
      reject(error);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: NodeJS.ErrnoException) => failWith(options.describeError?.(error) ?? describeConnectError(error, address));
    const onAbort = () =>
      failWith(new CommunicationError(ErrorCode.ChannelClosed, `Connecting to ${address} was aborted`, { cause: signal?.reason }));
    const timer = setTimeout(
      () =>
        failWith(
          new CommunicationError(
            ErrorCode.Timeout,
            `Could not connect to ${address} within ${options.timeoutMs} ms; check that the address is reachable and a spear-comm listener runs there, or raise timeoutMs`,
          ),
        ),
      options.timeoutMs,
    );
    socket.once(readyEvent, onReady);
    socket.on('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describeConnectError(error: NodeJS.ErrnoException, address: string): CommunicationError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new CommunicationError(
        ErrorCode.ConnectionRefused,
        `Connection refused by ${address}: nothing is listening there. Start the listener first, or check the address`,
        { cause: error },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CommunicationError(
        ErrorCode.ChannelCreationFailed,
        `Could not resolve the host of ${address} (${error.code}); check the host name`,
        { cause: error },
      );
    default:
      return new CommunicationError(ErrorCode.ChannelCreationFailed, `Could not connect to ${address}: ${error.message}`, { cause: error });
  }
}
