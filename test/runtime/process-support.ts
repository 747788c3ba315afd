// Shared by the process tests: a host per test, the fixture instance, and cleanup. Needs `npm run build`
// first (the fixture imports 'spear-comm', which resolves to dist/).
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { createKernel, type Kernel } from 'spear-comm';
import { CommunicationFactory, ProcessRuntime, type ProcessInstance, type SpawnOptions } from 'spear-comm/runtime';
import { factoryFor } from '../support/factory.js';

export const FIXTURE = fileURLToPath(new URL('../fixtures/instance.mjs', import.meta.url));
export const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

export const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export async function host(
  options: { socketDir?: string } = {},
): Promise<{ kernel: Kernel; factory: CommunicationFactory; runtime: ProcessRuntime }> {
  const kernel = await createKernel();
  const factory = options.socketDir ? new CommunicationFactory(kernel, { socketDir: options.socketDir }) : factoryFor(kernel);
  const runtime = new ProcessRuntime(factory);
  cleanups.push(() => kernel.close());
  return { kernel, factory, runtime };
}

export function start(runtime: ProcessRuntime, options: SpawnOptions = {}): Promise<ProcessInstance> {
  return runtime.spawn({ args: [FIXTURE], startTimeoutMs: 15_000, ...options });
}

export function privateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spear-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Running (a zombie waiting to be reaped by whoever inherited it counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export const socketPath = (url: string) => decodeURIComponent(new URL(url).pathname);
