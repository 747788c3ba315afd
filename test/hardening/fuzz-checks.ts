// What every fuzz test checks around its cases: no uncaught exception, and afterwards only the
// honest client's connection left, still answering.
import fc from 'fast-check';
import { afterAll, expect } from 'vitest';
import { invoke, type CommunicationChannel, type Kernel, type Listener } from 'spear-comm';
import { waitFor } from '../support/streams.js';

/** Collects uncaught exceptions for the rest of the test file. */
export function collectUncaughtExceptions(): unknown[] {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  afterAll(() => void process.off('uncaughtException', onUncaught));
  return uncaught;
}

/** The listener holds only `honest`, which still answers, and nothing was thrown uncaught. */
export async function expectOnlyHonestLeft(listener: Listener, honest: CommunicationChannel, uncaught: unknown[]): Promise<void> {
  await waitFor(() => listener.connectionCount === 1, `every hostile connection closed (count ${listener.connectionCount})`);
  expect(listener.channels()).toHaveLength(1);
  expect(honest.isConnected()).toBe(true);
  expect(await invoke(honest, 'echo', Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
  expect(uncaught).toEqual([]);
}

/**
 * Connects an honest client, then runs `runs` cases of every category against `listener`, each
 * played by `play` while the honest client invokes `echo` and must get its input back. Finishes
 * with expectOnlyHonestLeft. Returns how many cases ran.
 */
export async function fuzzListener<S>(
  kernel: Kernel,
  listener: Listener,
  token: string,
  categories: Record<string, fc.Arbitrary<S>>,
  runs: number,
  play: (script: S) => Promise<void>,
  uncaught: unknown[],
): Promise<number> {
  const honest = await kernel.connect(listener.url, { token, codec: 'cbor' });
  let cases = 0;
  try {
    for (const [category, arbitrary] of Object.entries(categories)) {
      await fc.assert(
        fc.asyncProperty(arbitrary, fc.uint8Array({ maxLength: 32 }), async (script, input) => {
          cases++;
          const [answer] = await Promise.all([invoke(honest, 'echo', input, { timeoutMs: 10_000 }), play(script)]);
          expect(answer, `honest client during "${category}"`).toEqual(input);
        }),
        { numRuns: runs },
      );
    }
    expect(cases).toBe(runs * Object.keys(categories).length);
    await expectOnlyHonestLeft(listener, honest, uncaught);
  } finally {
    await honest.close();
  }
  return cases;
}
