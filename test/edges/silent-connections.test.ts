// maxConnections bounds what a listener holds on every network transport, counting connections the
// transport holds before they become sessions: websocket sockets that never upgrade, gRPC HTTP/2
// connections that never open a call. The listener runs in its own process; its sockets are
// counted from /proc/<pid>/fd. (The 500-connection figure: `node test/edges/silent-flood.mjs`.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentFlood, startListener, type StartedListener } from './silent-flood.mjs';

const dir = mkdtempSync(`${tmpdir()}/spear-silent-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: StartedListener[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop()));
});

const COUNT = 40;
const MAX = 8;

describe.skipIf(process.platform !== 'linux')('silent connections against maxConnections', () => {
  it.each([['tcp://127.0.0.1:0'], [`unix://${dir}/silent.sock`], ['ws://127.0.0.1:0/spear'], ['grpc://127.0.0.1:0']])(
    '%s: 40 silent connections against a limit of 8 leave the listener holding about 8',
    async (url) => {
      // A long auth timeout: the connections within the limit are still held while we count.
      const listener = await startListener(url, MAX, 20_000);
      running.push(listener);
      const result = await silentFlood(listener, COUNT, MAX, 10_000);
      // Every connection over the limit was closed by the listener, not left waiting for a timeout.
      expect(result.closedByListener).toBe(COUNT - MAX);
      // Once the refused sockets have closed on its side, the listener holds only the MAX it admitted.
      const held = result.settled;
      expect(held - result.before).toBeLessThanOrEqual(MAX);
    },
  );
});
