// A listener process killed with SIGKILL and restarted on the same address, three times, while
// clients with a reconnect policy keep invoking. No acknowledged message may be lost: every
// invoke that resolved ran exactly once on the server side, none ran twice, and every invoke
// that failed was rejected with ChannelClosed (a clear code, never a hang).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, invoke } from 'spear-comm';
import { connectWithReconnect, type ReconnectingChannel } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { waitFor } from '../support/streams.js';
import { testBed } from '../support/test-bed.js';
import { killChildrenAfterEach, listeningChild } from './listening-child.js';

const bed = testBed();
failOnUnhandledRejections();
const children = killChildrenAfterEach();

const SECRET = 'restart-secret';
const CLIENTS = 6;
const LANES = 4;
const RESTARTS = 3;

const urls: Record<string, () => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: () => `unix://${join(bed.dir, 'restart.sock')}`,
};

describe.each(Object.keys(urls))('%s: the listener is killed and restarted under load', (transport) => {
  it('clients reconnect, and no acknowledged request is lost or run twice', async () => {
    const ran = new Map<string, number>();
    let server = await listeningChild(children, urls[transport]!(), SECRET, ran);
    const url = server.url; // the real port / path: restarts reuse it
    const acked: string[] = [];
    const failures: unknown[] = [];
    const ackedBy = new Map<ReconnectingChannel, number>();
    const clients: ReconnectingChannel[] = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        connectWithReconnect(bed.kernel, url, { token: SECRET, reconnect: { kind: 'fixed', intervalMs: 20, maxAttempts: 1_000 } }),
      ),
    );
    bed.defer(() => Promise.all(clients.map((c) => c.close())));

    let running = true;
    const lane = async (client: ReconnectingChannel, name: string) => {
      for (let n = 0; running; n++) {
        const id = `${name}-${n}`;
        try {
          const output = await invoke(client, 'work', Buffer.from(id), { timeoutMs: 15_000 });
          expect(Buffer.from(output).toString()).toBe(id);
          acked.push(id);
          ackedBy.set(client, (ackedBy.get(client) ?? 0) + 1);
        } catch (err) {
          failures.push(err);
          // Not connected: wait for the next session rather than spin.
          if (!client.isConnected() && running) {
            await new Promise<void>((resolve) => {
              const off = client.on('session', () => {
                off();
                resolve();
              });
            });
          }
        }
      }
    };
    const lanes = clients.flatMap((client, c) => Array.from({ length: LANES }, (_, l) => lane(client, `c${c}l${l}`)));

    for (let restart = 0; restart < RESTARTS; restart++) {
      const before = acked.length;
      await waitFor(() => acked.length >= before + 100, 'requests answered before the restart');
      await server.kill();
      server = await listeningChild(children, url, SECRET, ran);
      expect(server.url).toBe(url);
    }
    const afterLast = acked.length;
    const clientAcksBefore = new Map(ackedBy);
    await waitFor(() => acked.length >= afterLast + 100, 'requests answered after the last restart');
    // Every client came back: each has been answered by the last listener (however slowly it re-dialled).
    await waitFor(
      () => clients.every((client) => (ackedBy.get(client) ?? 0) > (clientAcksBefore.get(client) ?? 0)),
      'every client answered after the last restart',
      60_000,
    );
    running = false;
    await Promise.all(lanes);

    // Not exactly RESTARTS: a client still re-dialling when the next kill comes reconnects once for
    // both. Sessions end only when the listener dies, so never more than RESTARTS.
    for (const client of clients) {
      expect(client.reconnectCount).toBeGreaterThanOrEqual(1);
      expect(client.reconnectCount).toBeLessThanOrEqual(RESTARTS);
    }
    for (const id of acked) expect(ran.get(id), `acknowledged ${id}`).toBe(1);
    expect([...ran.values()].every((count) => count === 1)).toBe(true);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(CommunicationError);
      expect((failure as CommunicationError).code).toBe(ErrorCode.ChannelClosed);
    }
    // Requests in flight when the process died: failed, and at most run once, never answered twice.
    expect(failures.length).toBeGreaterThan(0);
    expect(acked.length).toBeGreaterThanOrEqual(400);
  });
});
