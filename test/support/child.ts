import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Child {
  process: ChildProcess;
  /** The first line the child printed, parsed as JSON. */
  hello: Record<string, unknown>;
  /** Resolves with the exit code or signal once the child has exited. */
  exited: Promise<number | string | null>;
}

/** Runs `test/fixtures/<name>` with node and waits for its first line of JSON on stdout. */
export async function startFixture(name: string, args: string[]): Promise<Child> {
  const script = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const lines = createInterface({ input: child.stdout });
  const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    void exited.then((code) => reject(new Error(`fixture ${name} exited (${code}) before printing its first line:\n${stderr}`)));
  });
  return { process: child, hello, exited };
}

/** Ends a fixture: closes its stdin (an orderly exit) or kills it, and waits until it is gone. */
export async function stopFixture(child: Child, how: 'stdin' | 'kill' = 'stdin'): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) {
    if (how === 'kill') child.process.kill('SIGKILL');
    else child.process.stdin!.end();
  }
  await child.exited;
}
