import { invoke, Messages, type CommunicationChannel, type HandlerContext } from 'spear-comm';
import { check, checkEqual, fail, show, within } from '../assert.js';
import { tagged, tagOf } from '../bytes.js';
import type { RawEnd } from '../collector.js';
import type { ConformanceCase } from '../case.js';
import { closed } from './channels.js';
import { expectFrames, sendAll } from './frames.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const whoami = (_input: Uint8Array, hctx: HandlerContext) => bytes(hctx.instanceId.instanceId);

/** Tags are `client * 100_000 + n`, so a frame says which client it belongs to. */
const CLIENT_TAG = 100_000;

/** Explains a wrong frame that belongs to the other connection. */
const crossed =
  (own: number) =>
  (frame: Uint8Array): string | undefined => {
    const owner = Math.floor(tagOf(frame) / CLIENT_TAG);
    return owner !== own && (owner === 0 || owner === 1)
      ? `it is a frame of client ${'AB'[owner]}'s connection: traffic crossed between connections`
      : undefined;
  };

export const isolationCases: ConformanceCase[] = [
  {
    category: 'isolation',
    name: 'two connections to one listener: frames never cross, in either direction',
    async run(ctx) {
      const listener = await ctx.rawListen();
      const clients = [
        await ctx.rawConnect(listener.url, { label: 'client A' }),
        await ctx.rawConnect(listener.url, { label: 'client B' }),
      ];
      const accepted = [await listener.accepted(), await listener.accepted()];
      // Each client says who it is first, so the server side can be matched up whatever the accept order.
      await Promise.all(clients.map((c, i) => sendAll(c, [tagged(i * CLIENT_TAG, 8)])));
      await Promise.all(accepted.map((s) => s.sink.waitFrames(1, ctx.waitMs)));
      const serverOf = (i: number): RawEnd => {
        const found = accepted.find((s) => Math.floor(tagOf(s.sink.frames[0]!) / CLIENT_TAG) === i);
        if (!found)
          fail(
            `no server-side connection received client ${'AB'[i]}'s first frame; got tags ${accepted.map((s) => tagOf(s.sink.frames[0]!)).join(', ')}`,
          );
        return found;
      };
      const servers = [serverOf(0), serverOf(1)];
      check(servers[0] !== servers[1], "both clients' first frames arrived on the same server-side connection");
      const up = (i: number) => Array.from({ length: 200 }, (_, n) => tagged(i * CLIENT_TAG + 1 + n, 16 + (n % 50)));
      const down = (i: number) => Array.from({ length: 200 }, (_, n) => tagged(i * CLIENT_TAG + 50_000 + n, 16 + (n % 70)));
      await Promise.all(
        [0, 1].flatMap((i) => [
          sendAll(clients[i]!, up(i)),
          sendAll(servers[i]!, down(i)),
          expectFrames(ctx, servers[i]!, up(i), {
            from: 1,
            what: `frames client ${'AB'[i]} sent, at its server-side connection`,
            explain: crossed(i),
          }),
          expectFrames(ctx, clients[i]!, down(i), { what: `frames sent to client ${'AB'[i]}`, explain: crossed(i) }),
        ]),
      );
    },
  },
  {
    category: 'isolation',
    name: 'two channels on one listener: messages, stats and close never cross',
    async run(ctx) {
      const {
        listener,
        client: a,
        server: firstServer,
        nextServer,
      } = await ctx.channelPair({ handlers: { whoami } }, { instanceId: 'instance-a' });
      const b = await ctx.connect(listener.url, { instanceId: 'instance-b' });
      const secondServer = await nextServer();
      const serverFor = (id: string): CommunicationChannel => {
        const found = [firstServer, secondServer].find((s) => s.instanceId.instanceId === id);
        if (!found) fail(`no server-side channel has instanceId "${id}"`);
        return found;
      };
      const [sa, sb] = [serverFor('instance-a'), serverFor('instance-b')];
      // Interleaved calls: each must be answered on its own channel.
      const calls = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          invoke(i % 3 === 0 ? a : b, 'whoami', new Uint8Array(0), { timeoutMs: ctx.waitMs }).then(text),
        ),
      );
      calls.forEach((id, i) => checkEqual(id, i % 3 === 0 ? 'instance-a' : 'instance-b', `answer to call #${i}`));
      // Pushed messages go to the right client only.
      await sa.send(Messages.executionRequest({ functionName: 'for-a', input: new Uint8Array(0), timeoutMs: 0 }));
      await sb.send(Messages.executionRequest({ functionName: 'for-b', input: new Uint8Array(0), timeoutMs: 0 }));
      const gotA = await a.receive({ timeoutMs: ctx.waitMs });
      const gotB = await b.receive({ timeoutMs: ctx.waitMs });
      check(
        gotA.type === 'ExecutionRequest' && gotA.functionName === 'for-a',
        `client A received ${gotA.type === 'ExecutionRequest' ? `"${gotA.functionName}"` : gotA.type}; expected "for-a"`,
      );
      check(
        gotB.type === 'ExecutionRequest' && gotB.functionName === 'for-b',
        `client B received ${gotB.type === 'ExecutionRequest' ? `"${gotB.functionName}"` : gotB.type}; expected "for-b"`,
      );
      // Stats: each server-side channel counts exactly its own client's traffic.
      for (const [name, client, server] of [
        ['A', a, sa],
        ['B', b, sb],
      ] as const) {
        const c = client.stats();
        const s = server.stats();
        checkEqual(s.messagesIn, c.messagesOut, `server-side messagesIn vs client ${name}'s messagesOut`);
        checkEqual(s.bytesIn, c.bytesOut, `server-side bytesIn vs client ${name}'s bytesOut`);
        checkEqual(c.messagesIn, s.messagesOut, `client ${name}'s messagesIn vs its server-side messagesOut`);
      }
      checkEqual(a.stats().requests, 20, 'client A stats().requests');
      checkEqual(b.stats().requests, 40, 'client B stats().requests');
      // Closing A touches nothing of B's.
      await a.close();
      await closed(sa, ctx.waitMs, 'the server-side channel of client A to close after A closed');
      check(b.isConnected() && sb.isConnected(), "closing client A also closed client B's channel");
      checkEqual(
        text(await invoke(b, 'whoami', new Uint8Array(0), { timeoutMs: ctx.waitMs })),
        'instance-b',
        "client B's call after A closed",
      );
      // And closing B from the server side leaves the listener serving a new client.
      await sb.close();
      await closed(b, ctx.waitMs, 'client B to see its server-side channel close');
      const c = await ctx.connect(listener.url, { instanceId: 'instance-c' });
      checkEqual(
        text(await invoke(c, 'whoami', new Uint8Array(0), { timeoutMs: ctx.waitMs })),
        'instance-c',
        "a new client's call after A and B closed",
      );
    },
  },
  {
    category: 'isolation',
    name: 'the same requestId in flight on two channels at once does not collide',
    async run(ctx) {
      let arrived = 0;
      let release!: () => void;
      const both = new Promise<void>((resolve) => (release = resolve));
      const listener = await ctx.listen({
        handlers: {
          whoami: async (input, hctx) => {
            if (++arrived === 2) release();
            await within(both, ctx.waitMs, 'both requests with the same requestId to reach the server');
            return whoami(input, hctx);
          },
        },
      });
      const a = await ctx.connect(listener.url, { instanceId: 'same-id-a' });
      const b = await ctx.connect(listener.url, { instanceId: 'same-id-b' });
      const ask = (channel: CommunicationChannel) =>
        channel.request(
          Messages.executionRequest({ requestId: 'the-same-id', functionName: 'whoami', input: new Uint8Array(0), timeoutMs: ctx.waitMs }),
          { timeoutMs: ctx.waitMs },
        );
      const [ra, rb] = await Promise.all([ask(a), ask(b)]);
      for (const [name, r, id] of [
        ['A', ra, 'same-id-a'],
        ['B', rb, 'same-id-b'],
      ] as const) {
        check(
          r.type === 'ExecutionResponse' && r.success,
          `client ${name}'s answer is ${r.type}${r.type === 'ExecutionResponse' ? ` (success ${r.success})` : ''}`,
        );
        if (r.type === 'ExecutionResponse') checkEqual(text(r.output), id, `client ${name}'s answer to requestId "the-same-id"`);
      }
    },
  },
  {
    category: 'isolation',
    name: 'each listener gets its own address, and a client reaches the listener it dialed',
    async run(ctx) {
      const first = await ctx.listen({ handlers: { name: () => bytes('first') } });
      const second = await ctx.listen({ handlers: { name: () => bytes('second') } });
      check(first.url !== second.url, `two listeners on fresh addresses report the same URL ${first.url}`);
      const [c1, c2] = [await ctx.connect(first.url), await ctx.connect(second.url)];
      checkEqual(text(await invoke(c1, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs })), 'first', `answer from ${first.url}`);
      checkEqual(text(await invoke(c2, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs })), 'second', `answer from ${second.url}`);
      // Closing one listener leaves the other, and its channel, working.
      await first.close();
      await closed(c1, ctx.waitMs, "the first listener's client to close when that listener closed");
      checkEqual(
        text(await invoke(c2, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs })),
        'second',
        'answer from the second listener after the first closed',
      );
      await within(
        ctx.connect(second.url).then((c) => invoke(c, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs })),
        ctx.waitMs,
        'a new client of the second listener to be served',
      );
    },
  },
  {
    category: 'isolation',
    name: 'two kernels with this transport share nothing: closing one leaves the other serving',
    async run(ctx) {
      const other = await ctx.anotherKernel();
      const mine = await ctx.listen({ handlers: { name: () => bytes('first kernel') } });
      const theirs = await ctx.listen({ via: other, handlers: { name: () => bytes('second kernel') } });
      const mineClient = await ctx.connect(mine.url);
      const theirClient = await ctx.connect(theirs.url, { via: other });
      checkEqual(
        text(await invoke(theirClient, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs })),
        'second kernel',
        'answer within the second kernel',
      );
      await within(ctx.kernel.close(), ctx.closeMs, 'kernel.close() of the first kernel');
      await closed(mineClient, ctx.waitMs, "the first kernel's channel to close with its kernel");
      const shared = (err: unknown): never =>
        fail(
          `the second kernel's channel failed after the first kernel closed (${show(err)}): the two kernels share state they should not`,
        );
      check(theirClient.isConnected(), 'closing the first kernel closed a channel of the second kernel');
      const answer = await invoke(theirClient, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs }).catch(shared);
      checkEqual(text(answer), 'second kernel', 'answer within the second kernel after the first closed');
      const fresh = await within(
        ctx.connect(theirs.url, { via: other }),
        ctx.waitMs,
        "a new client of the second kernel's listener after the first kernel closed",
      );
      checkEqual(
        text(await invoke(fresh, 'name', new Uint8Array(0), { timeoutMs: ctx.waitMs })),
        'second kernel',
        'answer to a new client of the second kernel',
      );
    },
  },
];
