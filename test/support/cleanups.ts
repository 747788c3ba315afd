import { afterEach } from 'vitest';
import { createKernel, type Kernel } from 'spear-comm';

export interface Cleanups {
  /** Runs `cleanup` after the current test, after everything deferred later (last in, first out). */
  defer(cleanup: () => Promise<unknown> | unknown): void;
  /** A kernel closed after the current test. */
  kernel(): Promise<Kernel>;
}

/** Registers an afterEach that undoes what each test set up, in reverse order. */
export function trackCleanups(): Cleanups {
  const pending: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of pending.splice(0).reverse()) await cleanup();
  });
  return {
    defer: (cleanup) => void pending.push(cleanup),
    kernel: async () => {
      const kernel = await createKernel();
      pending.push(() => kernel.close());
      return kernel;
    },
  };
}
