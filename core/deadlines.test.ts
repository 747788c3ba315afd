import { describe, expect, it } from 'vitest';
import { Deadlines, type DeadlineEntry } from './deadlines.js';

interface Entry extends DeadlineEntry {
  name: string;
}

const entry = (name: string): Entry => ({
  name,
  deadlineAt: 0,
  deadlineMs: 0,
  deadlinePrev: undefined,
  deadlineNext: undefined,
  deadlineLinked: false,
});

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('Deadlines: one timer for many waits', () => {
  it('expires entries of mixed timeouts in deadline order, skips removed ones, and holds one timer at most', async () => {
    const before = timers();
    const expired: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const deadlines = new Deadlines<Entry>((e) => {
      expired.push(e.name);
      if (deadlines.size === 0) done();
    });
    const slow = entry('slow 60');
    const fast = entry('fast 20');
    const removed = entry('removed 20');
    const fast2 = entry('fast 20 later');
    deadlines.add(slow, 60);
    deadlines.add(fast, 20);
    deadlines.add(removed, 20);
    deadlines.add(fast2, 20);
    deadlines.remove(removed);
    deadlines.remove(removed); // a second remove is a no-op
    expect(deadlines.size).toBe(3);
    expect(timers() - before).toBe(1);
    const started = performance.now();
    await finished;
    expect(expired).toEqual(['fast 20', 'fast 20 later', 'slow 60']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(timers() - before).toBe(0);
  });

  it('drops its timer when the last entry is removed or cleared, so nothing keeps the process alive', () => {
    const before = timers();
    const deadlines = new Deadlines<Entry>(() => {
      throw new Error('nothing should expire');
    });
    const a = entry('a');
    const b = entry('b');
    deadlines.add(a, 10_000);
    deadlines.add(b, 5_000);
    expect(timers() - before).toBe(1);
    deadlines.remove(a);
    deadlines.remove(b);
    expect(timers() - before).toBe(0);
    deadlines.add(a, 10_000);
    deadlines.clear();
    expect(deadlines.size).toBe(0);
    expect(a.deadlineLinked).toBe(false);
    expect(timers() - before).toBe(0);
  });
});
