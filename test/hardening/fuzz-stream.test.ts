// Fuzzes the tcp and unix listeners with raw sockets: random bytes, lying length prefixes, hostile
// handshakes, hostile frames after a valid handshake, in any order and any chunking. Throughout,
// an honest client keeps getting correct answers; afterwards no connection is left open.
import { describe, it } from 'vitest';
import type { Listener } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { testBed } from '../support/test-bed.js';
import { collectUncaughtExceptions, fuzzListener } from './fuzz-checks.js';
import { FUZZ_SECRET, chunked, streamScripts, type StreamScript } from './hostile-input.js';
import { pause, rawPeer } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

/** Runs per category per transport; 5 categories x 2 transports. */
const RUNS = 100;
const uncaught = collectUncaughtExceptions();

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
      secret: FUZZ_SECRET,
      handlers: { echo: (input) => input },
      authTimeoutMs: 2_000,
      frameTimeoutMs: 2_000,
      maxFrameSize: 64 * 1024,
    });
    bed.defer(() => listener.close());
    await fuzzListener(
      bed.kernel,
      listener,
      FUZZ_SECRET,
      streamScripts(bed.kernel.codecs().map((name) => bed.kernel.codec(name))),
      RUNS,
      (script) => play(listener, script),
      uncaught,
    );
  });
});
