// The listener compares tokens with crypto.timingSafeEqual over equal-length digests, so neither
// the token's contents nor its length shows in how long a refusal takes. Timing itself cannot be
// measured reliably on a shared machine; this checks that the constant-time primitive is what decides.
import { describe, expect, it, vi } from 'vitest';

const calls: Array<[number, number]> = [];
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return actual.timingSafeEqual(a, b);
    },
  };
});

const { ErrorCode, invoke, secretsEqual } = await import('spear-comm');
const { testBed } = await import('../support/test-bed.js');
const bed = testBed();

describe('token comparison', () => {
  it('goes through timingSafeEqual on 32-byte digests, whatever the lengths given', async () => {
    const listener = await bed.kernel.listen('tcp://127.0.0.1:0', { secret: 'the-right-secret', handlers: { echo: (input) => input } });
    bed.defer(() => listener.close());
    calls.length = 0;
    for (const token of ['', 'x', 'the-right-secre', 'the-right-secret-and-more'.repeat(100)]) {
      await expect(bed.kernel.connect(listener.url, { token })).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    }
    const channel = await bed.kernel.connect(listener.url, { token: 'the-right-secret' });
    expect(await invoke(channel, 'echo', Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    await channel.close();
    expect(calls).toEqual(Array.from({ length: 5 }, () => [32, 32]));
  });

  it('secretsEqual answers correctly for equal, different and differently long secrets', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
    expect(secretsEqual('', 'a')).toBe(false);
  });
});
