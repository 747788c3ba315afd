import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CpuLine, FailedLine, ReadyLine, ServerEndpoints, ServerSpec } from './server-protocol.js';

export interface ServerProcess {
  endpoints: ServerEndpoints;
  /** The server process's CPU time so far (user + system, µs). */
  cpuMicros(): Promise<number>;
  /** Rejects if the server exits before `stop()`; a run races its cases against this. */
  died: Promise<never>;
  stop(): Promise<void>;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./server.js', import.meta.url));

/**
 * Starts `dist/bench/server.js` in its own process, optionally pinned to one CPU with `taskset`.
 * Extra node flags for it (e.g. `--cpu-prof`) come from SPEAR_BENCH_SERVER_NODE_ARGS.
 */
export async function startServer(spec: ServerSpec, pinCpu: number | undefined): Promise<ServerProcess> {
  const nodeArgs = (process.env['SPEAR_BENCH_SERVER_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
  const command = [process.execPath, ...nodeArgs, SERVER_SCRIPT, JSON.stringify(spec)];
  const pinned = pinCpu === undefined ? command : ['taskset', '-c', String(pinCpu), ...command];
  const child = spawn(pinned[0]!, pinned.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  let stopping = false;
  const died = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      if (!stopping)
        reject(new Error(`the bench server process exited unexpectedly (${signal ?? `code ${code}`}); its errors are printed above`));
    });
    child.once('error', (err) => reject(new Error(`could not start the bench server process: ${err.message}`)));
  });
  died.catch(() => {});
  const stop = () => stopChild(child, () => (stopping = true));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => waiting.push(resolve));
  let parsed: ReadyLine | FailedLine;
  try {
    const line = await Promise.race([nextLine(), died, timeout(30_000, 'the bench server did not report ready within 30 s')]);
    parsed = JSON.parse(line) as ReadyLine | FailedLine;
  } catch (err) {
    await stop();
    throw err;
  }
  if (!parsed.ready) {
    await stop();
    throw new Error(`the bench server could not start: ${parsed.error}`);
  }
  const cpuMicros = async () => {
    const answer = nextLine();
    child.stdin.write('cpu\n');
    return (JSON.parse(await Promise.race([answer, died])) as CpuLine).cpuMicros;
  };
  return { endpoints: parsed.endpoints, cpuMicros, died, stop };
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

function stopChild(child: ChildProcess, markStopping: () => void): Promise<void> {
  markStopping();
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}
