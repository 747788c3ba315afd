import type { Socket } from 'node:net';
import type { CommunicationError } from 'spear-comm';
import { connectAbortedError, connectTimeoutError, socketConnectError } from './errors.js';

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
 * listens there, `Timeout`, `Aborted` when `signal` fires, `AuthFailed` for an untrusted certificate,
 * or `ChannelCreationFailed` (see `socketConnectError`). On failure the socket is destroyed.
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
    const onError = (error: NodeJS.ErrnoException) => failWith(options.describeError?.(error) ?? socketConnectError(error, address));
    const onAbort = () => failWith(connectAbortedError(address, signal!));
    const timer = setTimeout(() => failWith(connectTimeoutError(address, options.timeoutMs)), options.timeoutMs);
    socket.once(readyEvent, onReady);
    socket.on('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
