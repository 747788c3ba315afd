// A listener's connection count and channel list must follow every connection to its end, even
// one whose channel closes in the same turn as it is created.
import { describe, expect, it } from 'vitest';
import { invoke, type CommunicationChannel } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { waitFor } from '../support/streams.js';
import { testBed } from '../support/test-bed.js';
import { authRequest, rawPeer, wire } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

describe('listener accounting', () => {
  it('releases the slot of a peer whose first frame after the handshake is garbage, sent in the same write', async () => {
    const handed: CommunicationChannel[] = [];
    const listener = await bed.kernel.listen('tcp://127.0.0.1:0', {
      maxConnections: 3,
      handlers: { echo: (input) => input },
      onChannel: (c) => handed.push(c),
    });
    bed.defer(() => listener.close());
    for (let i = 0; i < 5; i++) {
      const peer = await rawPeer(listener.url);
      // The undecodable frame is held during the handshake and delivered when the channel attaches: it closes at once.
      peer.socket.write(Buffer.concat([wire(JSON.stringify(authRequest())), wire(Uint8Array.of(0xff, 0x00, 0x13))]));
      await peer.closed;
    }
    await waitFor(() => listener.connectionCount === 0, `the slots released (count ${listener.connectionCount})`);
    expect(listener.channels()).toEqual([]);
    expect(handed.filter((c) => c.isConnected())).toEqual([]);
    // With a limit of 3, five leaked slots would turn this client away.
    const channel = await bed.kernel.connect(listener.url);
    expect(await invoke(channel, 'echo', Uint8Array.of(5))).toEqual(Uint8Array.of(5));
    await channel.close();
  });
});
