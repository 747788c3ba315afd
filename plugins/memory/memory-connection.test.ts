import { describe, expect, it } from 'vitest';
import type { FrameSink } from 'spear-comm';
import { MemoryConnection } from './memory-connection.js';

function receiver(): FrameSink & { frames: Uint8Array[]; next(): Promise<Uint8Array> } {
  const frames: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  return {
    frames,
    onFrame(frame) {
      frames.push(frame);
      wake?.();
    },
    onClose() {},
    next() {
      return frames.length > 0 ? Promise.resolve(frames.shift()!) : new Promise((resolve) => (wake = () => resolve(frames.shift()!)));
    },
  };
}

describe('MemoryConnection', () => {
  it.each([
    ['a Uint8Array', (bytes: number[]) => new Uint8Array(bytes)],
    // Buffer#slice is a view, not a copy: the copy must not depend on the frame's class.
    ['a Buffer', (bytes: number[]) => Buffer.from(bytes)],
  ])('copies %s it sends, so changing it afterwards does not change what the peer receives', async (_, make) => {
    const [left, right] = MemoryConnection.pair('memory://a', 'memory://b', 1024, 1024);
    const sink = receiver();
    right.start(sink);
    left.start(receiver());
    const frame = make([1, 2, 3, 4]);
    await left.send(frame);
    frame.fill(9);
    const received = await sink.next();
    expect([...received]).toEqual([1, 2, 3, 4]);
    received.fill(7);
    expect([...frame]).toEqual([9, 9, 9, 9]);
    await left.close();
    await right.close();
  });

  it('lets timers and I/O run while two ends answer each other without end', async () => {
    // Deliveries are microtasks up to a budget per event-loop turn: without the budget this
    // ping-pong would never give the loop a turn and the timer below would never fire.
    const [left, right] = MemoryConnection.pair('memory://a', 'memory://b', 1024, 1024);
    let exchanged = 0;
    let timerFired = false;
    const frame = new Uint8Array([1]);
    const stopped = new Promise<void>((resolve) => {
      const bounce = (from: MemoryConnection): FrameSink => ({
        onFrame() {
          exchanged++;
          if (timerFired || exchanged >= 1_000_000) resolve();
          else void from.send(frame);
        },
        onClose() {},
      });
      left.start(bounce(left));
      right.start(bounce(right));
    });
    setTimeout(() => (timerFired = true), 0);
    void left.send(frame);
    await stopped;
    expect(timerFired).toBe(true);
    expect(exchanged).toBeLessThan(1_000_000);
    await left.close();
    await right.close();
  });
});
