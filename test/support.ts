import { afterEach, expect } from 'vitest';

/** Resources (timers, sockets, immediates…) alive now, by type, so a test can compare before and after. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Lets pending immediates and I/O callbacks run, without waiting on the clock. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Asserts nothing was left alive that was not alive at `before` (a few event-loop turns are allowed to finish closing). */
export async function expectNoLeaks(before: Map<string, number>): Promise<void> {
  let leaked: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    await settle(2);
    const now = activeResources();
    leaked = [...now].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type, n]) => `${type} x${n - (before.get(type) ?? 0)}`);
    if (leaked.length === 0) return;
  }
  expect(leaked, 'resources left alive after close').toEqual([]);
}

/** Fails the current test file if any promise rejection goes unhandled. */
export function failOnUnhandledRejections(): void {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onRejection);
  afterEach(async () => {
    await settle(2);
    const found = seen.splice(0);
    expect(found.map(String), 'unhandled rejections').toEqual([]);
  });
}

/** Resolves when `predicate()` turns true, checking after each event-loop turn; rejects after `turns`. */
export async function until(predicate: () => boolean, what: string, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for: ${what}`);
}
