// Runs test/hardening/fixtures/listening-peer.mjs: a listener in its own process that tests kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/listening-peer.mjs', import.meta.url));

export interface ListeningChild {
  child: ChildProcess;
  /** The bound URL the child reported. */
  url: string;
  /** How many times the child executed `work` for each input. */
  ran: Map<string, number>;
  /** Kills the child with SIGKILL and resolves once it is gone. */
  kill(): Promise<void>;
}

/** Kills every child still running after each test. */
export function killChildrenAfterEach(): Set<ChildProcess> {
  const children = new Set<ChildProcess>();
  afterEach(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
  });
  return children;
}

/** Starts a listening child on `url` (with `secret`, if given) and waits for its bound URL. */
export async function listeningChild(
  children: Set<ChildProcess>,
  url: string,
  secret?: string,
  ran = new Map<string, number>(),
): Promise<ListeningChild> {
  const child = spawn(process.execPath, [fixture, url, ...(secret ? [secret] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const bound = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      if (line.startsWith('ran ')) {
        const input = line.slice(4);
        ran.set(input, (ran.get(input) ?? 0) + 1);
      } else {
        resolve(line);
      }
    });
  });
  const boundUrl = await Promise.race([
    bound,
    exited.then(([code]) => {
      throw new Error(`the listening child exited (code ${code}); is dist/ built (npm run build)?`);
    }),
  ]);
  return {
    child,
    url: boundUrl,
    ran,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      // Every line it wrote before dying has been read once its stdout has closed.
      if (!child.stdout.closed) await once(child.stdout, 'close');
    },
  };
}
