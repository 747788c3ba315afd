// Cases for the promises of core/transport.ts that the older cases did not pin down: connecting
// (codes of refused and aborted connects), start() and pause() timing, close() with sends in
// flight, listeners on taken addresses, addresses, dispose(), setMaxFrameSize and the pre-auth limit.
import { CommunicationError, ErrorCode, type FrameConnection, type FrameListener } from 'spear-comm';
import { check, checkEqual, expectRejection, fail, listSome, outcomeWithin, show, within } from '../assert.js';
import { pattern, tagged } from '../bytes.js';
import { FrameCollector, type RawEnd } from '../collector.js';
import type { ConformanceCase } from '../case.js';
import { expectFrames, sendAll } from './frames.js';

/**
 * Time given to frames in flight to reach a connection that is not started or paused. A correct
 * transport passes whatever this is (it holds them however long); only a transport that drops or
 * delivers them needs them to have arrived to be caught.
 */
const SETTLE_MS = 150;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A few turns of the event loop: enough for a frame already received to be delivered. */
const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** Checks that nothing more than `count` frames has reached `end` (a paused or unstarted connection). */
function checkHeld(end: RawEnd, count: number, what: string): void {
  const extra = end.sink.frames.length - count;
  check(
    extra <= 0,
    () =>
      `${what}: ${extra} frame(s) were delivered (${listSome(end.sink.frames.slice(count), (f) => `${f.byteLength} B`)}); they must be held until ${what.includes('start') ? 'start()' : 'resume()'}`,
  );
}

export const contractFramingCases: ConformanceCase[] = [
  {
    category: 'framing',
    name: 'setMaxFrameSize() lowers the limit of a live connection; a frame over it closes the connection with FrameTooLarge naming the reason',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const set = server.connection.setMaxFrameSize?.bind(server.connection);
      if (!set) return ctx.notApplicable("the transport's connections do not implement the optional setMaxFrameSize()");
      set(1_000, 'set by the conformance kit');
      await sendAll(client, [pattern(1_000, 1)]);
      await expectFrames(ctx, server, [pattern(1_000, 1)], { what: 'a frame of exactly the lowered limit' });
      void client.connection.send(pattern(1_001, 2)).catch(() => {});
      const error = await server.sink.waitClose(ctx.waitMs, 'the connection to close after a frame over the lowered limit');
      checkEqual(server.sink.frames.length, 1, 'frames delivered (the 1,001-byte frame over the lowered 1,000-byte limit must not be)');
      check(CommunicationError.is(error, ErrorCode.FrameTooLarge), `the connection closed with ${show(error)}; expected FrameTooLarge`);
      check(
        error.message.includes('set by the conformance kit'),
        `the FrameTooLarge message does not include the reason given to setMaxFrameSize(): ${show(error)}`,
      );
    },
  },
  {
    category: 'framing',
    name: 'sendParts() sends one frame, the concatenation of its parts; changing them after it resolves changes nothing',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const sendParts = client.connection.sendParts?.bind(client.connection);
      if (!sendParts) return ctx.notApplicable("the transport's connections do not implement the optional sendParts()");
      // A small head, a large body (written by reference where a transport does that), an empty part, a tail.
      const large = Math.min(200_000, ctx.caps.maxFrameSize - 16);
      const parts = [pattern(9, 1), pattern(large, 2), new Uint8Array(0), pattern(7, 3)];
      const joined = new Uint8Array(Buffer.concat(parts));
      await sendParts(parts);
      for (const part of parts) part.fill(0xee);
      await sendAll(client, [pattern(64, 4)]);
      await expectFrames(ctx, server, [joined, pattern(64, 4)], {
        what: 'a frame sent with sendParts() (one frame, equal to its parts joined), whose parts the sender changed after it resolved',
      });
    },
  },
];

export const contractTimeoutCases: ConformanceCase[] = [
  {
    category: 'timeout',
    name: 'connect() with an aborted signal fails with Aborted, at frame and at channel level',
    async run(ctx) {
      const raw = await ctx.rawListen();
      const reason = new Error('the conformance kit aborted this connect');
      const error = await expectRejection(
        ctx.transport.connect(new URL(raw.url), {
          maxFrameSize: ctx.defaultMaxFrameSize,
          timeoutMs: 10_000,
          signal: AbortSignal.abort(reason),
          ...(ctx.target.tls ? { tls: ctx.target.tls.connect } : {}),
          ...(ctx.target.extra.connect ? { extra: ctx.target.extra.connect } : {}),
        }),
        ErrorCode.Aborted,
        'Transport.connect() with an already aborted signal',
      );
      check(error.cause === reason, `the Aborted error does not keep the signal's reason as its cause (cause: ${show(error.cause)})`);
      const listener = await ctx.listen();
      await expectRejection(
        ctx.connect(listener.url, { signal: AbortSignal.abort() }),
        ErrorCode.Aborted,
        'kernel.connect() with an already aborted signal',
      );
      // Abort while waiting for a handshake answer that never comes.
      const controller = new AbortController();
      const pending = ctx.connect(raw.url, { signal: controller.signal, timeoutMs: 60_000 });
      pending.catch(() => {});
      await raw.accepted();
      controller.abort();
      await expectRejection(pending, ErrorCode.Aborted, 'kernel.connect() aborted while waiting for the handshake', ctx.waitMs);
    },
  },
];

export const contractLifecycleCases: ConformanceCase[] = [
  {
    category: 'lifecycle',
    name: 'listening on an address another listener holds fails with ChannelCreationFailed; the first keeps serving',
    async run(ctx) {
      const first = await ctx.rawListen();
      const second = ctx.rawListen({ address: first.url });
      const outcome = await outcomeWithin(second, ctx.waitMs);
      if (outcome.state === 'resolved') {
        fail(
          `listen(${first.url}) succeeded (${outcome.value.url}) while another listener holds that address; it must fail with ChannelCreationFailed`,
        );
      }
      if (outcome.state === 'pending') fail(`listen(${first.url}) on a taken address neither failed nor succeeded within ${ctx.waitMs} ms`);
      check(
        CommunicationError.is(outcome.error, ErrorCode.ChannelCreationFailed),
        `listen() on a taken address failed with ${show(outcome.error)}; expected ChannelCreationFailed`,
      );
      const client = await ctx.rawConnect(first.url);
      await sendAll(client, [tagged(1, 16)]);
      // A transport may have probed the address while refusing (unix does): skip connections that closed unused.
      for (let attempt = 0; ; attempt++) {
        const server = await first.accepted();
        const got = await outcomeWithin(server.sink.waitFrames(1, ctx.waitMs, 'a frame to the first listener'), ctx.waitMs + 100);
        if (got.state === 'resolved') {
          await expectFrames(ctx, server, [tagged(1, 16)], { what: 'a frame to the first listener after the second listen() failed' });
          break;
        }
        if (attempt >= 2)
          fail(
            `the first listener no longer serves after the second listen() failed: ${show(got.state === 'rejected' ? got.error : 'no frame')}`,
          );
      }
    },
  },
  {
    category: 'lifecycle',
    name: 'connections report non-empty local and remote addresses that stay the same',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const read = (end: RawEnd) => ({ local: end.connection.localAddress, remote: end.connection.remoteAddress });
      const before = { client: read(client), server: read(server) };
      for (const [side, addresses] of Object.entries(before)) {
        for (const [which, value] of Object.entries(addresses)) {
          check(
            typeof value === 'string' && value.trim().length > 0,
            `the ${side} connection's ${which}Address is ${show(value)}; it must be a non-empty string`,
          );
        }
      }
      await within(client.connection.close(), ctx.closeMs, 'FrameConnection.close()');
      await server.sink.waitClose(ctx.waitMs, 'the server side to see the close');
      const after = { client: read(client), server: read(server) };
      check(JSON.stringify(after) === JSON.stringify(before), `addresses changed after close: ${show(before)} became ${show(after)}`);
    },
  },
  {
    category: 'lifecycle',
    name: 'no frame is delivered once close() has been called on the receiving side',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const frames = Array.from({ length: 2_000 }, (_, i) => tagged(i, 64));
      const sends = frames.map((f) => client.connection.send(f).catch(() => {}));
      await server.sink.waitFrames(1, ctx.waitMs, 'the first frame of a stream of 2,000');
      void server.connection.close();
      const atClose = server.sink.frames.length;
      await Promise.race([Promise.all(sends), sleep(SETTLE_MS)]);
      await turns(5);
      check(
        server.sink.frames.length === atClose,
        `${server.sink.frames.length - atClose} frame(s) were delivered after close() was called on the receiving connection (${atClose} before); close() ends delivery at once`,
      );
    },
  },
  {
    category: 'lifecycle',
    name: 'close() settles every send() issued before it: none is left pending',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      // A paused reader keeps many sends waiting; close() must still settle each one.
      server.connection.pause();
      const size = Math.min(64 * 1024, ctx.defaultMaxFrameSize);
      const sends = Array.from({ length: 128 }, (_, i) =>
        client.connection.send(tagged(i, size)).then(
          () => 'resolved' as const,
          (err: unknown) => err,
        ),
      );
      await turns();
      await within(client.connection.close(), ctx.closeMs, 'FrameConnection.close() with sends waiting');
      const settled = await outcomeWithin(Promise.all(sends), ctx.waitMs);
      if (settled.state !== 'resolved') {
        const states = await Promise.all(sends.map((s) => outcomeWithin(s, 0)));
        const pending = states.filter((s) => s.state === 'pending').length;
        fail(
          `${pending} of 128 send() calls issued before close() were still pending ${ctx.waitMs} ms after close(); each must resolve or reject`,
        );
      }
      const rejected = settled.value.filter((r) => r !== 'resolved');
      const wrong = rejected.filter((r) => !CommunicationError.is(r, ErrorCode.ChannelClosed));
      check(wrong.length === 0, () => `send() calls cut off by close() rejected with ${show(wrong[0])}; expected ChannelClosed`);
      ctx.note(`${128 - rejected.length} of 128 sends resolved, ${rejected.length} rejected with ChannelClosed`);
    },
  },
  {
    category: 'lifecycle',
    name: 'dispose() closes the listeners and connections opened through the plugin',
    async run(ctx) {
      const kernel = await ctx.anotherKernel();
      const transport = kernel.transport(ctx.target.transport);
      if (!transport.dispose)
        return ctx.notApplicable('the transport has no dispose(): it holds nothing beyond what its listeners and connections close');
      const accepted: FrameConnection[] = [];
      const listener: FrameListener = await transport.listen(new URL(ctx.address()), {
        maxFrameSize: ctx.defaultMaxFrameSize,
        onConnection: (c) => {
          accepted.push(c);
          c.start(new FrameCollector('server connection of the disposed plugin'));
        },
        ...(ctx.target.tls ? { tls: ctx.target.tls.listen } : {}),
        ...(ctx.target.extra.listen ? { extra: ctx.target.extra.listen } : {}),
      });
      ctx.defer('FrameListener.close() after dispose()', () => listener.close());
      const connectOptions = {
        maxFrameSize: ctx.defaultMaxFrameSize,
        timeoutMs: 5_000,
        ...(ctx.target.tls ? { tls: ctx.target.tls.connect } : {}),
        ...(ctx.target.extra.connect ? { extra: ctx.target.extra.connect } : {}),
      };
      const client = ctx.startRaw(await transport.connect(new URL(listener.url), connectOptions), 'client of the disposed plugin');
      await within(transport.dispose(), ctx.closeMs, 'Transport.dispose()');
      await client.sink.waitClose(ctx.waitMs, 'a connection opened through the plugin to close when the plugin was disposed');
      await expectRejection(
        transport.connect(new URL(listener.url), connectOptions),
        ErrorCode.ConnectionRefused,
        `connecting to ${listener.url} after dispose() closed its listener`,
        8_000,
      );
    },
  },
];

export const contractBadInputCases: ConformanceCase[] = [
  {
    category: 'bad-input',
    name: "a peer that has not authenticated may send at most 64 KiB per frame, whatever the listener's limit",
    requires: (caps) =>
      caps.maxFrameSize > 70_000 ? undefined : `needs frames over 64 KiB; capabilities.maxFrameSize is ${caps.maxFrameSize}`,
    async run(ctx) {
      const rejected: CommunicationError[] = [];
      // The listener's own limit (16 MiB by default) is far above 64 KiB: only setMaxFrameSize() gives the lower one.
      const listener = await ctx.listen({ handlers: { ping: (input) => input } });
      listener.on('rejected', (error) => rejected.push(error));
      const bad = await ctx.rawConnect(listener.url, { label: 'client sending 70,000 bytes before authenticating' });
      await bad.connection.send(pattern(70_000, 1)).catch(() => {});
      await bad.sink.waitClose(ctx.waitMs, 'the listener to close a connection whose first frame is 70,000 bytes');
      await within(
        (async () => {
          while (rejected.length === 0) await sleep(10);
        })(),
        ctx.waitMs,
        "the listener's 'rejected' event",
      );
      check(
        rejected.some((e) => e.code === ErrorCode.FrameTooLarge),
        `the listener reported ${rejected.map((e) => `${e.code}: ${e.message}`).join('; ')}; a 70,000-byte frame from a peer that has not authenticated must be refused as FrameTooLarge (the session lowers the limit with FrameConnection.setMaxFrameSize(); a transport or wrapper without it lets the frame through)`,
      );
      const good = await ctx.connect(listener.url);
      check(good.isConnected(), 'a good client could not connect after the oversized frame');
    },
  },
];

export const contractBackpressureCases: ConformanceCase[] = [
  {
    category: 'backpressure',
    name: 'frames that arrive before start() are held, and delivered in order once start() is called late',
    async run(ctx) {
      const listener = await ctx.rawListen({ hold: true });
      const client = await ctx.rawConnect(listener.url, { hold: true });
      const server = await listener.accepted();
      const up = Array.from({ length: 200 }, (_, i) => tagged(i, 100 + i));
      const down = Array.from({ length: 200 }, (_, i) => tagged(i, 300 - i));
      await Promise.all([
        sendAll(client, up, 'client, before the server starts'),
        sendAll(server, down, 'server, before the client starts'),
      ]);
      await sleep(SETTLE_MS);
      server.connection.start(server.sink);
      client.connection.start(client.sink);
      await Promise.all([
        expectFrames(ctx, server, up, { what: 'frames sent to the server before it called start()' }),
        expectFrames(ctx, client, down, { what: 'frames sent to the client before it called start()' }),
      ]);
    },
  },
  {
    category: 'backpressure',
    name: 'pause() before start() holds frames until resume()',
    async run(ctx) {
      const listener = await ctx.rawListen({ hold: true });
      const client = await ctx.rawConnect(listener.url);
      const server = await listener.accepted();
      server.connection.pause();
      server.connection.start(server.sink);
      const frames = Array.from({ length: 50 }, (_, i) => tagged(i, 256));
      await sendAll(client, frames);
      await sleep(SETTLE_MS);
      await turns();
      checkHeld(server, 0, 'a connection paused before start()');
      server.connection.resume();
      await expectFrames(ctx, server, frames, { what: 'frames held by pause() before start(), after resume()' });
    },
  },
  {
    category: 'backpressure',
    name: 'pause() still holds after a long run of traffic and after many pause/resume cycles; nothing is lost or repeated',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      // A long run first: 5,000 frames.
      const run = Array.from({ length: 5_000 }, (_, i) => tagged(i, 32));
      await Promise.all([sendAll(client, run), expectFrames(ctx, server, run, { what: 'a run of 5,000 frames' })]);
      // Then 60 pause/resume cycles, each with frames sent while paused.
      for (let cycle = 0; cycle < 60; cycle++) {
        const before = server.sink.frames.length;
        server.connection.pause();
        const batch = Array.from({ length: 10 }, (_, i) => tagged(cycle * 10 + i, 48));
        await sendAll(client, batch);
        await turns(cycle % 10 === 0 ? 20 : 3);
        checkHeld(server, before, `pause/resume cycle #${cycle + 1} after 5,000 frames (while paused)`);
        server.connection.resume();
        await expectFrames(ctx, server, batch, { from: before, what: `frames held in pause/resume cycle #${cycle + 1}` });
      }
    },
  },
];
