/** Counts of active resources by type (`TCPWRAP`, `Timeout`, …), as `process.getActiveResourcesInfo()` reports them. */
export type ResourceCounts = Map<string, number>;

export function snapshotResources(): ResourceCounts {
  const counts: ResourceCounts = new Map();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Resource types that are more numerous now than in `before`, with how many more. */
export function excessOver(before: ResourceCounts, now: ResourceCounts): ResourceCounts {
  const excess: ResourceCounts = new Map();
  for (const [type, count] of now) {
    const extra = count - (before.get(type) ?? 0);
    if (extra > 0) excess.set(type, extra);
  }
  return excess;
}

export function describeResources(counts: ResourceCounts): string {
  return [...counts].map(([type, n]) => `${n} × ${type}`).join(', ');
}

/**
 * Waits (bounded) until no more resources are active than before the case. Closing sockets and
 * reaping child processes finish a few loop turns after `close()` resolves, and a test runner may
 * hold a transient timer of its own, so one look is not enough; a leak is what is still there at
 * the deadline. Returns the excess that remained, or undefined.
 */
export async function waitForNoExcess(before: ResourceCounts, deadlineMs: number): Promise<ResourceCounts | undefined> {
  const deadline = performance.now() + deadlineMs;
  for (let turn = 0; ; turn++) {
    const excess = excessOver(before, snapshotResources());
    if (excess.size === 0) return undefined;
    if (performance.now() >= deadline) return excess;
    // First let pending I/O callbacks run; after that, poll at a gentle pace instead of spinning.
    await new Promise<void>((resolve) => (turn < 20 ? setImmediate(resolve) : setTimeout(resolve, 10)));
  }
}
