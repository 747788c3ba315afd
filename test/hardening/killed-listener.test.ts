// The other direction of test/stream-two-process.test.ts: there the serving child is killed; here
// the child is the listener, and a client's pending requests must reject with ChannelClosed as
// soon as that process dies, not at their timeout.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, invoke } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { testBed } from '../support/test-bed.js';
import { killChildrenAfterEach, listeningChild } from './listening-child.js';

const bed = testBed();
failOnUnhandledRejections();
const children = killChildrenAfterEach();

const urls: Record<string, () => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: () => `unix://${join(bed.dir, 'killed.sock')}`,
};

describe.each(Object.keys(urls))('%s: the listener process is killed with SIGKILL mid-request', (transport) => {
  it('rejects every pending request with ChannelClosed long before its timeout', async () => {
    const { child, url } = await listeningChild(children, urls[transport]!());
    const channel = await bed.kernel.connect(url);
    const closed = new Promise((resolve) => channel.on('close', resolve));
    const pending = Array.from({ length: 5 }, () =>
      invoke(channel, 'hang', new Uint8Array(0), { timeoutMs: 60_000 }).then(
        () => 'answered',
        (e: unknown) => e,
      ),
    );
    // In order on the wire: once this is answered, the child holds all five requests.
    expect(await invoke(channel, 'echo', Uint8Array.of(3))).toEqual(Uint8Array.of(3));
    child.kill('SIGKILL');
    // A 60 s request timeout against a 20 s test timeout: only a prompt rejection can pass.
    for (const outcome of await Promise.all(pending)) {
      expect(outcome).toMatchObject({ code: ErrorCode.ChannelClosed });
    }
    await closed;
    expect(channel.isConnected()).toBe(false);
    await expect(invoke(channel, 'echo', Uint8Array.of(1))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
  });
});
