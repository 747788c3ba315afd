import { describe, expect, it } from 'vitest';
import { Arrivals } from './arrivals.js';

describe('Arrivals', () => {
  it('hands items out in order, to waiters first, and keeps undefined as an item', async () => {
    const arrivals = new Arrivals<number | undefined>();
    const first = arrivals.next(1000, 'first');
    arrivals.push(1);
    arrivals.push(undefined);
    arrivals.push(3);
    expect(await first).toBe(1);
    expect(await arrivals.next(1000, 'second')).toBeUndefined();
    expect(await arrivals.next(1000, 'third')).toBe(3);
  });

  it('fails naming what did not arrive, and an item pushed afterwards goes to the next caller', async () => {
    const arrivals = new Arrivals<string>();
    await expect(arrivals.next(20, 'the AuthResponse')).rejects.toThrow('the AuthResponse did not happen within 20 ms');
    arrivals.push('late');
    expect(await arrivals.next(1000, 'the late item')).toBe('late');
  });
});
