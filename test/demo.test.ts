// Runs the built CLI as a user would (`npm start` runs the same command). Needs `npm run build`.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/bin/spear-comm.js', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Processes (ours) whose environment carries `marker`: whatever the demo left running. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) found.push(Number(entry));
    } catch {
      // Gone, or not ours.
    }
  }
  return found;
}

function runDemo(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  const tmp = mkdtempSync(join(tmpdir(), 'spear-demo-test-'));
  dirs.push(tmp);
  const marker = `SPEAR_DEMO_TEST_MARKER=${randomUUID()}`;
  const [name, value] = marker.split('=') as [string, string];
  const child = spawn(process.execPath, [CLI, 'demo', ...args], {
    env: { ...process.env, TMPDIR: tmp, [name]: value },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    onStderr?.(stderr, child);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, tmp, marker };
}

it('spawns instances over unix, tcp, grpc and memory, prints a table, and leaves nothing behind', async () => {
  const { done, tmp, marker } = runDemo(['--requests', '30']);
  const { code, stdout, stderr } = await done;
  // Without the grpc plugin the kubernetes-style instance falls back to tcp, and says why.
  const grpc = /transports installed: [^)]*\bgrpc\b/.test(stderr);
  if (!grpc) expect(stderr).toMatch(/k8s-grpc .* \(grpc unavailable: transport "grpc" is not installed/);
  expect(stderr).toMatch(/guessed secret was refused \(AuthFailed\)/);
  // A distributed-style instance joins over nats where nats-server is installed, and the demo says so either way.
  const nats = /nats: started nats-server/.test(stderr);
  if (!nats)
    expect(stderr).toMatch(/nats: no distributed instance, nats-server is not on PATH \(install it: apt-get install -y nats-server\)/);
  const total = nats ? 180 : 150;
  expect(stderr).toMatch(new RegExp(`30/${total} requests|${total}/${total} requests`));
  expect(code, stderr).toBe(0);
  const rows = stdout
    .split('\n')
    .filter((line) => /^(proc|k8s|wasm|dist)-/.test(line))
    .map((line) => line.split(/\s+/));
  expect(rows.map((r) => [r[0], r[1], r[2], r[4], r[5]])).toEqual([
    ['proc-unix-1', 'process', 'unix', '30', '0'],
    ['proc-unix-2', 'process', 'unix', '30', '0'],
    ['proc-tcp', 'process', 'tcp', '30', '0'],
    ['k8s-grpc', 'kubernetes', grpc ? 'grpc' : 'tcp', '30', '0'],
    ['wasm-mem', 'wasm', 'memory', '30', '0'],
    ...(nats ? [['dist-nats', 'distributed', 'nats', '30', '0']] : []),
  ]);
  expect(stdout).toMatch(/^instance +runtime +transport +codec +requests +errors +p50 ms +p99 ms$/m);
  expect(stdout).toMatch(
    nats ? /6 authenticated, 1 refused or failed, 6 disconnected/ : /5 authenticated, 1 refused or failed, 5 disconnected/,
  );
  // The pool part: one member SIGKILLed mid-run, no idempotent call failed, the dead one shown as left.
  expect(stdout).toMatch(
    /^pool of 3 \(least-pending\): 90 idempotent calls, 0 failed, \d+ retried on another member; pool-\d \(pid \d+\) SIGKILLed after 30 calls/m,
  );
  expect(stdout).toMatch(/^pool-\d +\d+ +left \(dead\) /m);
  expect(readdirSync(tmp)).toEqual([]);
  expect(processesWith(marker)).toEqual([]);
});

it('stops its instances and removes its sockets on SIGINT, even while instances are starting', async () => {
  let sent = false;
  const { done, tmp, marker } = runDemo(['--requests', '1000000', '--concurrency', '1'], (stderr, child) => {
    // As soon as one child is up, while the others may still be starting: the hardest moment to clean up.
    if (!sent && /\[demo\] proc-\S+ .*authenticated in/.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const { code, stdout, stderr } = await done;
  expect(sent, stderr).toBe(true);
  expect(stderr).toMatch(/SIGINT: stopping the instances/);
  expect(code, stderr).toBe(130);
  expect(stdout).toBe('');
  expect(readdirSync(tmp)).toEqual([]);
  expect(processesWith(marker)).toEqual([]);
});
