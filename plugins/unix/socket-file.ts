import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { isAbsolute } from 'node:path';
import { CommunicationError, ErrorCode } from 'spear-comm';
import { whenSocketConnected } from 'spear-comm/transport-kit';

/**
 * The longest socket path the OS takes, in bytes: `sun_path` is 108 bytes on Linux and 104 on
 * macOS and the BSDs, including the terminating NUL. Longer paths would be truncated silently.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/**
 * The `unix://` URL of an absolute path, each segment percent-encoded as a URI component, so that
 * `decodeURIComponent(new URL(url).pathname)` gives back exactly `path` (`%`, spaces, non-ASCII).
 */
export function unixUrlOf(path: string): string {
  return `unix://${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The socket path of a `unix:///abs/path.sock` URL, validated. */
export function socketPathOf(url: URL): string {
  if (url.host !== '') {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `${url.href} has a host ("${url.host}"); a unix URL takes an absolute path after three slashes, e.g. unix:///run/spear/a.sock`,
    );
  }
  const path = decodeURIComponent(url.pathname);
  if (!isAbsolute(path) || path === '/' || path.includes('\0')) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `${url.href} does not name an absolute socket file path; use e.g. unix:///run/spear/a.sock`,
    );
  }
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Unix socket path "${path}" is ${bytes} bytes; ${process.platform === 'linux' ? 'Linux' : process.platform} allows at most ${MAX_SOCKET_PATH_BYTES} (it would be truncated). Use a shorter path, e.g. in /tmp or $XDG_RUNTIME_DIR`,
    );
  }
  return path;
}

/**
 * Clears the way for a listener at `path`: a socket file nobody accepts on (left by a process
 * that died) is removed; a live socket, or a file that is not a socket, is an error.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Cannot inspect ${path} before listening on it: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!isSocket) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `${path} exists and is not a socket; refusing to replace it. Remove it or choose another path`,
    );
  }
  if (await isLive(path)) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `unix://${path} is in use by a running listener; close that listener or choose another path (a live socket is never replaced)`,
    );
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT')
      throw new CommunicationError(ErrorCode.ChannelCreationFailed, `Cannot remove the stale socket file ${path}: ${err.message}`, {
        cause: err,
      });
  });
}

async function isLive(path: string): Promise<boolean> {
  const probe = connect({ path });
  try {
    await whenSocketConnected(probe, { address: `unix://${path}`, timeoutMs: 1_000 });
    probe.destroy();
    return true;
  } catch (err) {
    // Refused or vanished: nobody is accepting. Anything else (a full backlog, no permission) may be a live owner.
    return !(
      CommunicationError.is(err, ErrorCode.ConnectionRefused) || (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT'
    );
  }
}

/** Runs `bind` with umask 0177 so the socket file is created 0600, never briefly wider. */
export function bindPrivately(bind: () => void): void {
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch {
    // Worker threads cannot change the umask; restrictSocket() below still narrows the mode.
  }
  try {
    bind();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/**
 * Sets mode 0600 (a belt to bindPrivately's braces, and the only guard where the umask is fixed)
 * and returns the file's inode, so that closing removes this file and never a successor's.
 */
export async function restrictSocket(path: string): Promise<number> {
  await chmod(path, 0o600);
  return (await lstat(path)).ino;
}

/** Removes the socket file if it is still the one we created (node usually removes it on close already). */
export async function removeSocketFile(path: string, inode: number): Promise<void> {
  try {
    if ((await lstat(path)).ino === inode) await unlink(path);
  } catch {
    // Already gone.
  }
}
