import { connect as natsConnect } from '@nats-io/transport-node';
import { expect, it } from 'vitest';
import { CommunicationError, ErrorCode, invoke, type CommunicationChannel, type FrameSink, type Kernel } from 'spear-comm';
import type { NatsServerProcess } from 'spear-comm/plugins/nats';
import { trackCleanups } from '../support/cleanups.js';
import { describeNats, natsServers } from './support.js';

const SECRET = 'nats-cluster-secret';
const { defer, kernel } = trackCleanups();
const servers = natsServers();

/** Connects, retrying while the cluster is still forming (the listener's subject not yet known on that server). */
async function connectWhenRouted(k: Kernel, url: string, extra: Record<string, unknown> = {}): Promise<CommunicationChannel> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await k.connect(url, { token: SECRET, timeoutMs: 3000, extra });
    } catch (err) {
      if (!CommunicationError.is(err, ErrorCode.ConnectionRefused) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function closedWith(channel: CommunicationChannel): Promise<Error | undefined> {
  return new Promise((resolve) => channel.on('close', (error) => resolve(error)));
}

describeNats('nats on a cluster of servers joined by routes', () => {
  it('carries a session whose listener and client use different servers: small and 4 MiB frames, a wrong token refused', async () => {
    const [a, b] = await servers.cluster(2);
    const k = await kernel();
    const listener = await k.listen(`${a!.url}/spear.two-servers`, {
      secret: SECRET,
      maxFrameSize: 8 * 1024 * 1024,
      handlers: { echo: (input) => input },
    });
    const viaB = `nats://127.0.0.1:${b!.port}/spear.two-servers`;
    const channel = await connectWhenRouted(k, viaB, { heartbeatMs: 500 });
    expect(channel.transport).toBe('nats');
    expect([...(await invoke(channel, 'echo', new Uint8Array([1, 2, 3])))]).toEqual([1, 2, 3]);
    const big = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4093) big[i] = i % 251;
    const back = await invoke(channel, 'echo', big, { timeoutMs: 15_000 });
    expect(back.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(back, big)).toBe(0);
    await expect(k.connect(viaB, { token: 'wrong-token', timeoutMs: 5000 })).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    expect(listener.url).toBe(`${a!.url}/spear.two-servers`);
  });

  it("failover: when the client's server dies its channel closes with ChannelClosed at once; no answered request is lost or run twice", async () => {
    const [a, b, c] = await servers.cluster(3);
    const hosts = (s: NatsServerProcess[]) => s.map((x) => x.url);
    const runs = new Map<number, number>();
    const k = await kernel();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    await k.listen(`${a!.url}/spear.failover`, {
      secret: SECRET,
      extra: { servers: hosts([b!, c!]), heartbeatMs: 200 },
      handlers: {
        work: async (input) => {
          const id = new DataView(input.buffer, input.byteOffset).getUint32(0);
          runs.set(id, (runs.get(id) ?? 0) + 1);
          // Requests after the 40th wait until the client's server is gone, so some are in flight then.
          if (id >= 40) await gate;
          return input;
        },
      },
    });
    const client = await kernel();
    const channel = await connectWhenRouted(client, `nats://127.0.0.1:${b!.port}/spear.failover`, { heartbeatMs: 200 });
    const closed = closedWith(channel);
    const outcomes = new Map<number, 'answered' | string>();
    const calls = Array.from({ length: 60 }, (_, id) => {
      const input = new Uint8Array(8);
      new DataView(input.buffer).setUint32(0, id);
      return invoke(channel, 'work', input, { timeoutMs: 30_000 }).then(
        (out) => {
          expect(new DataView(out.buffer, out.byteOffset).getUint32(0)).toBe(id);
          outcomes.set(id, 'answered');
        },
        (err: unknown) => outcomes.set(id, (err as CommunicationError).code),
      );
    });
    // Once 40 are answered and the other 20 are running, kill the client's server.
    while (runs.size < 60 || outcomes.size < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    const killedAt = Date.now();
    await b!.kill();
    const reason = await closed;
    expect(CommunicationError.is(reason, ErrorCode.ChannelClosed), String(reason)).toBe(true);
    await Promise.all(calls);
    const settledIn = Date.now() - killedAt;
    release();
    // Pending requests fail with ChannelClosed right away, not at their 30 s timeout.
    expect(settledIn).toBeLessThan(10_000);
    const answered = [...outcomes].filter(([, o]) => o === 'answered').map(([id]) => id);
    const failed = [...outcomes].filter(([, o]) => o !== 'answered');
    expect(answered.length).toBe(40);
    expect(failed.every(([, code]) => code === ErrorCode.ChannelClosed)).toBe(true);
    // Every request ran exactly once: none lost among the answered, none repeated.
    for (let id = 0; id < 60; id++) expect(runs.get(id), `request ${id}`).toBe(1);

    // A new connection through the servers left reaches the same listener.
    const again = await connectWhenRouted(client, `nats://127.0.0.1:${b!.port}/spear.failover`, { servers: hosts([c!]) });
    const input = new Uint8Array(8);
    new DataView(input.buffer).setUint32(0, 7);
    await invoke(again, 'work', input);
    expect(runs.get(7)).toBe(2);
  });

  it("failover: when the listener's server dies, its clients close with ChannelClosed and the listener serves again from another server", async () => {
    const [a, b] = await servers.cluster(2);
    const k = await kernel();
    const listener = await k.listen(`${a!.url}/spear.listener-failover`, {
      secret: SECRET,
      extra: { servers: [b!.url], heartbeatMs: 200 },
      handlers: { echo: (input) => input, hang: () => new Promise<Uint8Array>(() => {}) },
    });
    const client = await kernel();
    const url = `nats://127.0.0.1:${b!.port}/spear.listener-failover`;
    const channel = await connectWhenRouted(client, url, { heartbeatMs: 200 });
    const closed = closedWith(channel);
    const pending = invoke(channel, 'hang', new Uint8Array(1), { timeoutMs: 30_000 }).catch((err: unknown) => err);
    const reported = new Promise<Error>((resolve) => listener.on('error', (error) => resolve(error)));
    await a!.kill();
    const started = Date.now();
    expect(CommunicationError.is(await closed, ErrorCode.ChannelClosed)).toBe(true);
    expect(await pending).toMatchObject({ code: ErrorCode.ChannelClosed });
    expect(Date.now() - started).toBeLessThan(10_000);
    // The host hears that its listener lost its server (it reconnects by itself).
    expect(await reported).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringMatching(/was lost/) });
    const again = await connectWhenRouted(client, url);
    expect([...(await invoke(again, 'echo', new Uint8Array([9])))]).toEqual([9]);
  });
});

describeNats('nats credentials, queue groups and dead peers', () => {
  it('passes a NATS token or user/password from extra or the URL; wrong ones fail with AuthFailed', async () => {
    const withToken = await servers.start({ token: 'nats-token-1' });
    const withUser = await servers.start({ user: { name: 'spear', pass: 'p@ss word' } });
    const k = await kernel();
    const l1 = await k.listen(`nats://127.0.0.1:${withToken.port}/spear.creds`, {
      secret: SECRET,
      extra: { token: 'nats-token-1' },
      handlers: { echo: (i) => i },
    });
    const c1 = await k.connect(`nats://nats-token-1@127.0.0.1:${withToken.port}/spear.creds`, { token: SECRET });
    expect([...(await invoke(c1, 'echo', new Uint8Array([1])))]).toEqual([1]);
    await expect(k.connect(l1.url, { token: SECRET, extra: { token: 'nope' } })).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    await expect(k.connect(l1.url, { token: SECRET })).rejects.toMatchObject({ code: ErrorCode.AuthFailed });

    await k.listen(`nats://127.0.0.1:${withUser.port}/spear.creds`, {
      secret: SECRET,
      extra: { user: 'spear', pass: 'p@ss word' },
      handlers: { echo: (i) => i },
    });
    const c2 = await k.connect(`nats://spear:${encodeURIComponent('p@ss word')}@127.0.0.1:${withUser.port}/spear.creds`, {
      token: SECRET,
    });
    expect([...(await invoke(c2, 'echo', new Uint8Array([2])))]).toEqual([2]);
    await expect(
      k.connect(`nats://127.0.0.1:${withUser.port}/spear.creds`, { token: SECRET, extra: { user: 'spear', pass: 'wrong' } }),
    ).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
  });

  it('listeners that join a queue group share a subject: new sessions spread over them; a subject nobody serves is ConnectionRefused', async () => {
    const server = await servers.start();
    const counts = [0, 0];
    for (const i of [0, 1]) {
      const k = await kernel();
      const listener = await k.listen(`${server.url}/spear.shared`, {
        secret: SECRET,
        extra: { queue: 'workers' },
        handlers: { who: () => new Uint8Array([i]) },
      });
      listener.on('connection', () => counts[i]!++);
    }
    const k = await kernel();
    const answers = new Set<number>();
    for (let n = 0; n < 24; n++) {
      const channel = await k.connect(`${server.url}/spear.shared`, { token: SECRET });
      answers.add((await invoke(channel, 'who', new Uint8Array(0)))[0]!);
      await channel.close();
    }
    expect(counts[0]! + counts[1]!).toBe(24);
    expect([...answers].sort()).toEqual([0, 1]);
    await expect(k.connect(`${server.url}/spear.nobody`, { token: SECRET })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
    });
  });

  it('a peer that goes silent (no heartbeats) is closed with ChannelClosed after four of its intervals', async () => {
    const server = await servers.start();
    const k = await kernel();
    const accepted: Array<{ error?: Error; at: number }> = [];
    let onClose: () => void = () => {};
    const closed = new Promise<void>((resolve) => (onClose = resolve));
    const transport = k.transport('nats');
    const listener = await transport.listen(new URL(`${server.url}/spear.silent`), {
      maxFrameSize: 65536,
      extra: { heartbeatMs: 50 },
      onConnection: (connection) => {
        const sink: FrameSink = {
          onFrame: () => {},
          onClose: (error) => {
            accepted.push({ ...(error ? { error } : {}), at: Date.now() });
            onClose();
          },
        };
        connection.start(sink);
      },
    });
    defer(() => listener.close());
    // A raw NATS client opens a connection the spear-comm way, promises heartbeats every 100 ms, and sends none.
    const raw = await natsConnect({ servers: server.url });
    defer(() => raw.close());
    const inbox = `_INBOX.silent${Date.now()}`;
    raw.subscribe(inbox);
    const openedAt = Date.now();
    const reply = await raw.request('spear.silent', JSON.stringify({ v: 1, inbox, window: 65536, heartbeatMs: 100 }));
    expect(JSON.parse(reply.string())).toMatchObject({ ok: true });
    await closed;
    expect(accepted[0]!.error).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringMatching(/sent nothing for/) });
    expect(accepted[0]!.at - openedAt).toBeGreaterThanOrEqual(400);
  });
});
