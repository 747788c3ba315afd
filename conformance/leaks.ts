import { createHook } from 'node:async_hooks';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The resources that keep a process alive, as async_hooks names them: timers, sockets, servers,
 * pipes, child processes, signal and file watchers. (Promises, ticks and requests end by themselves.)
 */
const TRACKED = new Set([
  'Timeout',
  'TCPWRAP',
  'TCPSERVERWRAP',
  'PIPEWRAP',
  'PIPESERVERWRAP',
  'PROCESSWRAP',
  'UDPWRAP',
  'TTYWRAP',
  'SIGNALWRAP',
  'FSEVENTWRAP',
  'STATWATCHER',
]);

interface Tracked {
  type: string;
  resource: { hasRef?: () => boolean };
  /** The stack where it was created; formatted only if it leaks (formatting is the costly part). */
  origin: { stack?: string };
}

const live = new Map<number, Tracked>();
const thisFile = fileURLToPath(import.meta.url);

function captureOrigin(): { stack?: string } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureOrigin);
  Error.stackTraceLimit = limit;
  return holder;
}

/** The first stack frame outside node itself, with paths relative to the working directory. */
function creationSite(origin: { stack?: string }): string {
  const frames = (origin.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''));
  const own = frames.find((f) => !f.includes('node:') && !f.includes(thisFile) && !/\(?internal\//.test(f));
  if (!own) return 'unknown place (no frame outside node)';
  return own
    .replace(/file:\/\/(\/[^:)]+)/, (_, path: string) => relative(process.cwd(), path))
    .replace(/\((\/[^:)]+)/, (_, path: string) => `(${relative(process.cwd(), path)}`);
}

// Two hooks: resources are recorded only while a case runs and tears down, but their end is
// watched until the check is over (the checker's own polling timers must not count).
const creations = createHook({
  init(asyncId, type, _trigger, resource) {
    if (TRACKED.has(type)) live.set(asyncId, { type, resource: resource, origin: captureOrigin() });
  },
});
const endings = createHook({
  destroy(asyncId) {
    live.delete(asyncId);
  },
});

/**
 * Records every timer, socket, server, pipe and child process created from now until
 * `stopRecording()`, and forgets each one when it is closed, cleared or has fired. Cases run one
 * at a time, so one tracker serves them all.
 */
export function startTracking(): void {
  live.clear();
  endings.enable();
  creations.enable();
}

export function stopRecording(): void {
  creations.disable();
}

export function stopTracking(): void {
  creations.disable();
  endings.disable();
  live.clear();
}

/** What was created while recording and is still alive and keeping the process running (unref'd ones do not). */
export function stillActive(): Tracked[] {
  return [...live.values()].filter((t) => t.resource.hasRef?.() !== false);
}

/** "2 × Timeout created at X; 1 × TCPWRAP created at Y". */
export function describeResources(resources: readonly Tracked[]): string {
  const groups = new Map<string, number>();
  for (const r of resources) {
    const key = `${r.type} created at ${creationSite(r.origin)}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `${n} × ${key}`).join('; ');
}

/**
 * Waits (bounded) until nothing recorded is still active. Closing sockets and reaping child
 * processes finish a few loop turns after `close()` resolves, so one look is not enough; a leak
 * is what is still there at the deadline. Returns what remained, or undefined.
 */
export async function waitForRelease(deadlineMs: number): Promise<Tracked[] | undefined> {
  stopRecording();
  const deadline = performance.now() + deadlineMs;
  for (let turn = 0; ; turn++) {
    const active = stillActive();
    if (active.length === 0) return undefined;
    if (performance.now() >= deadline) return active;
    // First let pending I/O callbacks run; after that, poll at a gentle pace instead of spinning.
    await new Promise<void>((resolve) => (turn < 20 ? setImmediate(resolve) : setTimeout(resolve, 10)));
  }
}
