import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CommunicationError, ErrorCode } from 'spear-comm';
import { connectAbortedError } from 'spear-comm/transport-kit';

/** How long a child may take to exit once its stdin has ended, before it is killed. */
const EXIT_GRACE_MS = 2_000;

/** A running child process with piped stdin and stdout, and a promise for its end. */
export interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves once the process has exited and its pipes are closed. */
  closed: Promise<void>;
  isClosed(): boolean;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  /** What the process is, for error messages. */
  what: string;
  /** Where its stderr goes (default: this process's stderr). */
  stderr?: 'inherit' | 'ignore';
}

/** Starts `command` and resolves once it runs; a command that cannot start is `ConnectionRefused`. */
export function startChild(command: string, args: readonly string[], options: StartOptions): Promise<Child> {
  return new Promise<Child>((resolve, reject) => {
    if (options.signal?.aborted) return reject(connectAbortedError(options.what, options.signal));
    // stdout carries frames; a program's diagnostics belong on stderr, which is inherited by default.
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'],
      env: options.env ?? process.env,
    }) as unknown as ChildProcessWithoutNullStreams;
    let done = false;
    const closed = new Promise<void>((resolveClosed) =>
      child.once('close', () => {
        done = true;
        resolveClosed();
      }),
    );
    const settle = (error?: Error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        child.kill('SIGKILL');
        reject(error);
      } else {
        resolve({ process: child, closed, isClosed: () => done });
      }
    };
    const onAbort = () => settle(connectAbortedError(options.what, options.signal!));
    const timer = setTimeout(
      () => settle(new CommunicationError(ErrorCode.Timeout, `${options.what} did not start within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('spawn', () => settle());
    child.on('error', (err) => {
      // After a successful start, errors show up on the pipes and in the exit status instead.
      if (!child.pid)
        settle(new CommunicationError(ErrorCode.ConnectionRefused, `Could not start ${options.what}: ${err.message}`, { cause: err }));
    });
    // A child that exits while we still write to it must not crash this process with EPIPE.
    child.stdin.on('error', () => {});
  });
}

/** Waits for the child to exit after its stdin was ended; kills it if it does not within the grace period. */
export async function reap(child: Child): Promise<void> {
  if (child.isClosed()) return;
  const timer = setTimeout(() => child.process.kill('SIGKILL'), EXIT_GRACE_MS);
  await child.closed;
  clearTimeout(timer);
}
