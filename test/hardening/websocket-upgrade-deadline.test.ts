// A websocket listener's peers must upgrade before anything else can time them out: node's HTTP
// server would keep a silent or trickling socket for a minute or more, outside maxConnections.
// With its own server, the listener closes a socket that has not upgraded within authTimeoutMs.
import { describe, expect, it } from 'vitest';
import { invoke } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { testBed } from '../support/test-bed.js';
import { rawPeer } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

describe('websocket: a connection that never upgrades', () => {
  it.each([
    ['says nothing', ''],
    ['trickles half an upgrade request', 'GET /spear HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'],
  ])('is closed at the auth timeout when it %s', async (_what, written) => {
    // Auth timeout 300 ms; node's own HTTP timeouts would take a minute or more (the test would time out).
    const listener = await bed.kernel.listen('ws://127.0.0.1:0/spear', { authTimeoutMs: 300, handlers: { echo: (input) => input } });
    bed.defer(() => listener.close());
    const peer = await rawPeer(listener.url.replace('ws:', 'tcp:'));
    if (written) peer.socket.write(written);
    await peer.closed;
    // Upgraded clients are not affected.
    const channel = await bed.kernel.connect(listener.url);
    expect(await invoke(channel, 'echo', Uint8Array.of(4))).toEqual(Uint8Array.of(4));
    await channel.close();
  });

  it('an upgraded session outlives the deadline', async () => {
    const listener = await bed.kernel.listen('ws://127.0.0.1:0/spear', { authTimeoutMs: 200, handlers: { echo: (input) => input } });
    bed.defer(() => listener.close());
    const channel = await bed.kernel.connect(listener.url);
    bed.defer(() => channel.close());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(channel.isConnected()).toBe(true);
    expect(await invoke(channel, 'echo', Uint8Array.of(5))).toEqual(Uint8Array.of(5));
  });
});
