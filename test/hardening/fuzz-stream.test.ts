// Fuzzes the tcp and unix listeners with raw sockets: random bytes, lying length prefixes, hostile
// handshakes, hostile frames after a valid handshake, in any order and any chunking. Throughout,
// an honest client keeps getting correct answers; afterwards no connection is left open.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { invoke, type Listener } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { waitFor } from '../support/streams.js';
import { testBed } from '../support/test-bed.js';
import { FUZZ_SECRET, chunked, streamScripts, type StreamScript } from './hostile-input.js';
import { pause, rawPeer } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

/** Runs per category per transport; 5 categories x 2 transports. */
const RUNS = 100;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
process.on('uncaughtException', onUncaught);
afterAll(() => void process.off('uncaughtException', onUncaught));

const transports: Record<string, () => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: () => `unix://${bed.socketPath()}`,
};

/** Plays one script against the listener and waits until the listener has closed the connection. */
async function play(listener: Listener, { bytes, cuts, ending }: StreamScript): Promise<void> {
  const peer = await rawPeer(listener.url);
  for (const chunk of chunked(bytes, cuts)) {
    if (peer.socket.destroyed) break;
    peer.socket.write(chunk);
    // A separate read per chunk, most of the time.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (ending === 'end') peer.socket.end();
  else peer.socket.destroy();
  const outcome = await Promise.race([peer.closed.then(() => 'closed'), pause(10_000).then(() => 'still open')]);
  if (outcome !== 'closed') throw new Error('the listener kept a connection open after its peer ended it');
}

describe.each(Object.keys(transports))('fuzzing the %s listener', (transport) => {
  it('survives every category, keeps serving an honest client, and leaves no connection open', async () => {
    const listener = await bed.kernel.listen(transports[transport]!(), {
      secret: FUZZ_SECRET, handlers: { echo: (input) => input }, authTimeoutMs: 2_000, frameTimeoutMs: 2_000, maxFrameSize: 64 * 1024,
    });
    bed.defer(() => listener.close());
    const honest = await bed.kernel.connect(listener.url, { token: FUZZ_SECRET, codec: 'cbor' });
    bed.defer(() => honest.close());
    const codecs = bed.kernel.codecs().map((name) => bed.kernel.codec(name));
    let cases = 0;
    for (const [category, arbitrary] of Object.entries(streamScripts(codecs))) {
      await fc.assert(
        fc.asyncProperty(arbitrary, fc.uint8Array({ maxLength: 32 }), async (script, input) => {
          cases++;
          const [answer] = await Promise.all([invoke(honest, 'echo', input, { timeoutMs: 10_000 }), play(listener, script)]);
          expect(answer, `honest client during "${category}"`).toEqual(input);
        }),
        { numRuns: RUNS },
      );
    }
    expect(cases).toBe(RUNS * 5);
    await waitFor(() => listener.connectionCount === 1, 'every hostile connection closed (only the honest one left)');
    expect(listener.channels()).toHaveLength(1);
    expect(honest.isConnected()).toBe(true);
    expect(await invoke(honest, 'echo', Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
    expect(uncaught).toEqual([]);
  });
});
