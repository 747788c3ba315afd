// One kernel, one temporary directory and a cleanup list per test file, closed and removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createKernel, type Kernel } from 'spear-comm';

export interface TestBed {
  readonly kernel: Kernel;
  /** A short temporary directory (unix socket paths have a length limit). */
  readonly dir: string;
  /** A fresh socket path in `dir`. */
  socketPath(): string;
  /** Runs `cleanup` after the current test, latest first. */
  defer(cleanup: () => unknown): void;
}

export function testBed(): TestBed {
  let kernel: Kernel | undefined;
  let dir = '';
  let counter = 0;
  const cleanups: Array<() => unknown> = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sc-'));
    kernel = await createKernel();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await kernel?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get kernel() {
      if (!kernel) throw new Error('testBed(): the kernel exists only inside tests');
      return kernel;
    },
    get dir() {
      return dir;
    },
    socketPath: () => join(dir, `${++counter}.sock`),
    defer: (cleanup) => void cleanups.push(cleanup),
  };
}
