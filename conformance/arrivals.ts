import { within } from './assert.js';

/**
 * A FIFO that a case can wait on with a bound: accepted connections, server-side channels,
 * frames a test client received. `next()` fails with a message naming what did not arrive.
 */
export class Arrivals<T> {
  private readonly items: T[] = [];
  private readonly waiting: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(ms = 10_000, what = 'the next item'): Promise<T> {
    // By length, not by value: `undefined` is an item too (an orderly close, for instance).
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    let take!: (item: T) => void;
    const arrived = new Promise<T>((resolve) => (take = resolve));
    this.waiting.push(take);
    return within(arrived, ms, what).catch((err: unknown) => {
      const i = this.waiting.indexOf(take);
      if (i >= 0) this.waiting.splice(i, 1);
      throw err;
    });
  }
}
