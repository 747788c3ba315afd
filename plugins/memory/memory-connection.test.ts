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
});
