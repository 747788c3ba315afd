import { ConformanceFailure, show } from '../assert.js';
import { describeDifference, tagOf } from '../bytes.js';
import type { RawEnd } from '../collector.js';
import type { CaseContext } from '../context.js';

/** Sends every frame without waiting between them (so they may be coalesced), then waits for all sends. */
export async function sendAll(end: RawEnd, frames: readonly Uint8Array[], what = end.sink.label): Promise<void> {
  const sends = frames.map((frame, i) =>
    end.connection.send(frame).catch((err: unknown) => {
      throw new ConformanceFailure(`${what}: send() of frame #${i} (${frame.byteLength} bytes) rejected: ${show(err)}`);
    }),
  );
  await Promise.all(sends);
}

/**
 * Waits until `receiver` has received `expected` (after the `from` frames it already had), checking
 * each frame as it arrives, so a wrong frame fails at once with a diagnosis (dropped, reordered,
 * merged, duplicated or corrupted) instead of a timeout.
 */
export function expectFrames(
  ctx: CaseContext,
  receiver: RawEnd,
  expected: readonly Uint8Array[],
  options: { from?: number; what: string; explain?: (frame: Uint8Array) => string | undefined },
): Promise<void> {
  const from = options.from ?? 0;
  const ms = ctx.waitMs;
  const { frames } = receiver.sink;
  if (!ctx.caps.ordered) return expectUnordered(receiver, expected, from, options.what, ms);
  let checked = from;
  return receiver.sink.until(
    () => {
      for (; checked < frames.length && checked - from < expected.length; checked++) {
        const index = checked - from;
        const frame = frames[checked]!;
        const problem = diagnose(frame, expected, index);
        if (problem && options.explain?.(frame))
          throw new ConformanceFailure(`${options.what}: frame #${index} of ${expected.length}: ${options.explain(frame)}`);
        if (problem) throw new ConformanceFailure(`${options.what}: frame #${index} of ${expected.length}: ${problem}`);
      }
      if (frames.length - from > expected.length) {
        throw new ConformanceFailure(
          `${options.what}: ${frames.length - from} frames arrived but only ${expected.length} were sent (extra: ${show(frames[from + expected.length])})`,
        );
      }
      return checked - from === expected.length;
    },
    ms,
    () =>
      `${options.what}: ${checked - from} of ${expected.length} frames arrived within ${ms} ms${checked - from < expected.length ? ` (next expected: frame #${checked - from}, ${expected[checked - from]!.byteLength} bytes)` : ''}`,
  );
}

/** What is wrong with `actual` arriving where `expected[index]` should, or undefined if it is right. */
export function diagnose(actual: Uint8Array, expected: readonly Uint8Array[], index: number): string | undefined {
  const want = expected[index]!;
  const difference = describeDifference(actual, want);
  if (difference === undefined) return undefined;
  const equalsAt = (j: number) => j >= 0 && j < expected.length && describeDifference(actual, expected[j]!) === undefined;
  for (let j = index + 1; j < Math.min(expected.length, index + 64); j++) {
    if (equalsAt(j)) {
      const missing = j - 1 === index ? `frame #${index} was` : `frames #${index}..#${j - 1} were`;
      return `expected the ${want.byteLength}-byte frame #${index}, got frame #${j} (${actual.byteLength} bytes): ${missing} dropped or overtaken`;
    }
  }
  for (let j = Math.max(0, index - 64); j < index; j++) {
    if (equalsAt(j))
      return `got frame #${j} again (${actual.byteLength} bytes) where frame #${index} belongs: a duplicate, or frames arrive out of order`;
  }
  let total = 0;
  for (let j = index; j < expected.length && total < actual.byteLength; j++) {
    total += expected[j]!.byteLength;
    if (total === actual.byteLength && j > index && describeDifference(actual, concat(expected.slice(index, j + 1))) === undefined) {
      return `frames #${index}..#${j} (${expected
        .slice(index, j + 1)
        .map((f) => f.byteLength)
        .join(' + ')} bytes) arrived merged into one ${actual.byteLength}-byte frame: frame boundaries were lost`;
    }
  }
  if (actual.byteLength < want.byteLength && describeDifference(actual, want.subarray(0, actual.byteLength)) === undefined) {
    return `got only the first ${actual.byteLength} of its ${want.byteLength} bytes: the frame was split or truncated`;
  }
  const tag = tagOf(actual);
  const tagHint =
    want.byteLength >= 4 && tag !== tagOf(want) && tag >= 0 && tag < expected.length ? ` (its first 4 bytes name frame #${tag})` : '';
  return `content is wrong: ${difference}${tagHint}`;
}

function expectUnordered(receiver: RawEnd, expected: readonly Uint8Array[], from: number, what: string, ms: number): Promise<void> {
  const frames = receiver.sink.frames;
  return receiver.sink
    .until(
      () => frames.length - from >= expected.length,
      ms,
      () => `${what}: ${frames.length - from} of ${expected.length} frames arrived within ${ms} ms`,
    )
    .then(() => {
      const want = new Map<string, number>();
      for (const f of expected) want.set(key(f), (want.get(key(f)) ?? 0) + 1);
      for (const [i, f] of frames.slice(from).entries()) {
        const n = want.get(key(f));
        if (!n)
          throw new ConformanceFailure(
            `${what}: received frame #${i} (${f.byteLength} bytes) matches none of the frames sent (corrupted, merged or duplicated)`,
          );
        want.set(key(f), n - 1);
      }
    });
}

function key(frame: Uint8Array): string {
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
}

export function concat(frames: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
}
