// The memory budget of a connection: a peer that sends requests and never reads the answers, or
// floods a listener with connections, stalls in its own sends instead of growing the listener.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  type CommunicationError,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  DEFAULT_MAX_CONNECTIONS,
  ErrorCode,
  invoke,
  type CommunicationChannel,
  type Handlers,
  type Listener,
  type ListenOptions,
} from 'spear-comm';
import { failOnUnhandledRejections, until } from '../support.js';
import { testBed } from '../support/test-bed.js';
import { framePeer } from './frame-peer.js';
import { rawPeer } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

async function listen(url: string, options: ListenOptions): Promise<Listener> {
  const listener = await bed.kernel.listen(url, options);
  bed.defer(() => listener.close());
  return listener;
}

/** Handlers that hold every call until the test releases it, and record the most running at once. */
function gatedHandlers() {
  const gates: Array<() => void> = [];
  const state = { running: 0, peak: 0, started: 0 };
  const handlers: Handlers = {
    echo: async (input) => {
      state.started++;
      state.peak = Math.max(state.peak, ++state.running);
      await new Promise<void>((resolve) => gates.push(resolve));
      state.running--;
      return input;
    },
  };
  return { handlers, state, releaseOne: () => gates.shift()?.() };
}

describe('maxConcurrentRequests', () => {
  it('defaults to 128 and refuses a value that is not a positive integer with InvalidArgument', async () => {
    expect(DEFAULT_MAX_CONCURRENT_REQUESTS).toBe(128);
    const listener = await listen('memory://budget-invalid', { handlers: { echo: (i) => i } });
    const channel = await bed.kernel.connect(listener.url);
    bed.defer(() => channel.close());
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => channel.setRequestHandler(() => {}, { maxConcurrent: bad })).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidArgument }),
      );
    }
  });

  // The limit holds at any speed: the test releases one handler each time the limit is reached.
  // Without it every request that arrived runs at once (50 here).
  it.each(['listener', 'client'] as const)('runs at most that many handlers at once on the %s side, and answers all', async (side) => {
    const limit = 4;
    const total = 50;
    const gated = gatedHandlers();
    let serverSide: CommunicationChannel | undefined;
    const listener = await listen('tcp://127.0.0.1:0', {
      ...(side === 'listener' ? { handlers: gated.handlers, maxConcurrentRequests: limit } : {}),
      onChannel: (channel) => (serverSide = channel),
    });
    const client = await bed.kernel.connect(listener.url, {
      codec: 'cbor',
      ...(side === 'client' ? { handlers: gated.handlers, maxConcurrentRequests: limit } : {}),
    });
    bed.defer(() => client.close());
    await until(() => serverSide !== undefined, 'the session accepted');
    const caller = side === 'listener' ? client : serverSide!;
    const calls = Array.from({ length: total }, (_, i) => invoke(caller, 'echo', Uint8Array.of(i), { timeoutMs: 60_000 }));
    let released = 0;
    while (released < total) {
      await until(() => gated.state.running >= Math.min(limit, total - released), 'the next handlers started', 100_000);
      gated.releaseOne();
      released++;
    }
    const outputs = await Promise.all(calls);
    expect(outputs.map((o) => o[0])).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(gated.state.started).toBe(total);
    expect(gated.state.peak).toBeLessThanOrEqual(limit);
  });

  // Over the memory transport a send waits once 1 MiB is unread, so the bound is exact: the listener
  // runs handlers only while its answers can be written, plus `limit` owed ones.
  it('stops reading from a peer that does not read its answers, and answers everything once it reads', async () => {
    const limit = 8;
    const total = 400;
    const size = 16 * 1024;
    let handled = 0;
    const listener = await listen('memory://budget-unread', {
      maxConcurrentRequests: limit,
      handlers: {
        echo: (input) => {
          handled++;
          return input;
        },
      },
    });
    const peer = await framePeer(bed.kernel, listener.url);
    bed.defer(() => peer.close());
    peer.connection.pause();
    let sent = 0;
    const sends = Array.from({ length: total }, (_, i) =>
      peer.request(`r${i}`, 'echo', new Uint8Array(size).fill(i & 0xff)).then(() => sent++),
    );
    // Without the budget every send completes at once and all 400 handlers run. With it the peer's
    // sends wait; a slow machine can only make this wait pass a broken listener, never fail a good one.
    const allSent = Promise.all(sends);
    const outcome = await Promise.race([allSent.then(() => 'all sent'), sleep(1_500).then(() => 'stalled')]);
    expect(outcome).toBe('stalled');
    // 1 MiB of unread answers in the peer's inbox, the owed ones, and one frame being handled.
    const bound = Math.ceil((1024 * 1024) / size) + limit + 2;
    expect(handled).toBeLessThanOrEqual(bound);
    expect(sent).toBeLessThan(total);
    peer.connection.resume();
    await allSent;
    await until(() => peer.answers.size === total, `all ${total} answers (have ${peer.answers.size})`, 1_000_000);
    for (let i = 0; i < total; i++) {
      const answer = peer.answers.get(`r${i}`);
      expect(answer?.type === 'ExecutionResponse' && answer.success && answer.output[0] === (i & 0xff)).toBe(true);
    }
    expect(handled).toBe(total);
  });

  // Both sides serve and call each other with answers larger than the socket buffers: pausing for
  // owed answers must not make each side wait for the other to read (a deadlock until timeouts).
  it('does not deadlock two channels that call each other with large answers', async () => {
    const big = (input: Uint8Array) => new Uint8Array(256 * 1024).fill(input[0]!);
    let serverSide: CommunicationChannel | undefined;
    const listener = await listen(`unix://${bed.socketPath()}`, {
      handlers: { big },
      maxConcurrentRequests: 2,
      onChannel: (channel) => (serverSide = channel),
    });
    const client = await bed.kernel.connect(listener.url, { codec: 'cbor', handlers: { big }, maxConcurrentRequests: 2 });
    bed.defer(() => client.close());
    await until(() => serverSide !== undefined, 'the session accepted');
    const calls = (from: CommunicationChannel) =>
      Array.from({ length: 60 }, (_, i) => invoke(from, 'big', Uint8Array.of(i), { timeoutMs: 120_000 }).then((out) => out[100] === i));
    const results = await Promise.all([...calls(client), ...calls(serverSide!)]);
    expect(results.every(Boolean)).toBe(true);
  });
});

describe('maxConnections', () => {
  it(`defaults to ${DEFAULT_MAX_CONNECTIONS}: the next connection is refused with ConnectionRefused`, async () => {
    expect(DEFAULT_MAX_CONNECTIONS).toBe(512);
    const listener = await listen('tcp://127.0.0.1:0', { authTimeoutMs: 60_000 });
    expect(listener.maxConnections).toBe(DEFAULT_MAX_CONNECTIONS);
    const rejected: CommunicationError[] = [];
    listener.on('rejected', (error) => rejected.push(error));
    const peers = [];
    for (let i = 0; i < DEFAULT_MAX_CONNECTIONS; i++) peers.push(rawPeer(listener.url));
    const open = await Promise.all(peers);
    bed.defer(() => open.forEach((p) => p.socket.destroy()));
    await until(() => listener.connectionCount === DEFAULT_MAX_CONNECTIONS, 'every slot taken', 1_000_000);
    const extra = await rawPeer(listener.url);
    bed.defer(() => extra.socket.destroy());
    await extra.closed;
    await until(() => rejected.length === 1, 'the refusal reported');
    expect(rejected[0]).toMatchObject({ code: ErrorCode.ConnectionRefused });
    expect(listener.connectionCount).toBe(DEFAULT_MAX_CONNECTIONS);
  });

  it('refuses a limit below 1 with InvalidArgument before listening', async () => {
    await expect(bed.kernel.listen('tcp://127.0.0.1:0', { maxConnections: 0 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });
});
