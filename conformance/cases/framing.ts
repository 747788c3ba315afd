import { CommunicationError, ErrorCode, invoke, Messages, type CommunicationChannel } from 'spear-comm';
import { check, expectRejection, fail, show } from '../assert.js';
import { allByteValues, describeDifference, pattern, tagged } from '../bytes.js';
import type { CaseContext } from '../context.js';
import { closed } from './channels.js';
import type { Capabilities } from '../types.js';
import type { ConformanceCase } from '../case.js';
import { expectFrames, sendAll } from './frames.js';

const ORDERED = (caps: Capabilities) =>
  caps.ordered ? undefined : 'the transport does not promise ordered delivery (capabilities.ordered is false)';
const RELIABLE_AND_ORDERED = (caps: Capabilities) =>
  ORDERED(caps) ?? (caps.reliable ? undefined : 'the transport does not promise delivery of every frame (capabilities.reliable is false)');
const atLeast = (bytes: number) => (caps: Capabilities) =>
  caps.maxFrameSize >= bytes ? undefined : `needs frames of ${bytes} bytes; capabilities.maxFrameSize is ${caps.maxFrameSize}`;

/** Frame sizes at the edges where encoders switch representations (7/16/64-bit lengths, HTTP/2 and TLS records). */
const EDGE_SIZES = [2, 125, 126, 127, 255, 256, 257, 1023, 1024, 1025, 16383, 16384, 16385, 65535, 65536, 65537, 131072, 1_048_583];

/** Sends `frames` from `from` to `to` and checks they arrive as sent. */
async function oneWay(
  ctx: CaseContext,
  from: Parameters<typeof sendAll>[0],
  to: Parameters<typeof sendAll>[0],
  frames: Uint8Array[],
  what: string,
): Promise<void> {
  const start = to.sink.frames.length;
  await Promise.all([sendAll(from, frames, what), expectFrames(ctx, to, frames, { from: start, what })]);
}

/**
 * The frame limit, at frame level: a frame of exactly `limit` bytes arrives intact; one byte more
 * closes the receiving connection with FrameTooLarge, and that frame is never delivered.
 */
async function checkLimit(ctx: CaseContext, limit: number, direction: 'client to server' | 'server to client'): Promise<void> {
  const toServer = direction === 'client to server';
  const { client, server } = await ctx.rawPair(toServer ? { serverMaxFrameSize: limit } : { clientMaxFrameSize: limit });
  const [sender, receiver] = toServer ? [client, server] : [server, client];
  const what = `${direction}, limit ${limit}`;
  // A 1-byte frame after each test frame: if the test frame is lost, this one shows it at once.
  await oneWay(ctx, sender, receiver, [pattern(limit, limit), new Uint8Array([1])], `${what}: a frame of exactly ${limit} bytes`);
  const before = receiver.sink.frames.length;
  // The sender may learn of the refusal (a rejected send) or not (a stream that was already written): both are fine.
  const send = sender.connection.send(pattern(limit + 1, 7)).catch((err: unknown) => err);
  void sender.connection.send(new Uint8Array([2])).catch(() => {});
  await receiver.sink.until(
    () => {
      if (receiver.sink.frames.length > before) {
        const got = receiver.sink.frames[before]!;
        fail(
          `${what}: ${got.byteLength === limit + 1 ? `the ${limit + 1}-byte frame over the limit was delivered` : `a frame sent after the ${limit + 1}-byte one was delivered, so the oversized frame was dropped silently`}; it must be refused by closing the connection with FrameTooLarge`,
        );
      }
      return receiver.sink.closed !== undefined;
    },
    ctx.waitMs,
    () => `${what}: the receiving side did not close the connection within ${ctx.waitMs} ms after a ${limit + 1}-byte frame`,
    false,
  );
  const error = receiver.sink.closed?.error;
  check(
    receiver.sink.frames.length === before,
    `${what}: the ${limit + 1}-byte frame over the limit was delivered to the sink; it must be refused`,
  );
  check(
    CommunicationError.is(error, ErrorCode.FrameTooLarge),
    `${what}: the receiving side closed with ${show(error)}; expected a CommunicationError with code FrameTooLarge`,
  );
  const sent = await send;
  if (sent instanceof Error)
    check(
      CommunicationError.is(sent),
      `${what}: send() of the oversized frame rejected with ${show(sent)}, which is not a CommunicationError`,
    );
  // The sender must find out too: its sink reports the end of the connection.
  await sender.sink.waitClose(ctx.waitMs, `${what}: the sending side to report the close after the receiver refused the frame`);
}

function limitCase(whose: string, direction: Parameters<typeof checkLimit>[2]): ConformanceCase {
  return {
    category: 'framing',
    name: `maxFrameSize passes and maxFrameSize + 1 closes the connection with FrameTooLarge (${whose})`,
    requires: atLeast(70_001),
    async run(ctx) {
      // 4096 needs a 2-byte length, 70,000 more than 16 bits: limits on both sides of that edge.
      await checkLimit(ctx, 4096, direction);
      await checkLimit(ctx, 70_000, direction);
    },
  };
}

async function echoPair(
  ctx: CaseContext,
  listenMax?: number,
  connectMax?: number,
): Promise<{ client: CommunicationChannel; server: CommunicationChannel }> {
  return ctx.channelPair(
    { ...(listenMax !== undefined ? { maxFrameSize: listenMax } : {}), handlers: { echo: (input) => input } },
    connectMax !== undefined ? { maxFrameSize: connectMax } : {},
  );
}

export const framingCases: ConformanceCase[] = [
  {
    category: 'framing',
    name: 'empty and 1-byte frames arrive as sent, both ways',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const frames = [
        new Uint8Array(0),
        new Uint8Array([0]),
        new Uint8Array(0),
        new Uint8Array(0),
        new Uint8Array([0xff]),
        new Uint8Array(0),
      ];
      await oneWay(ctx, client, server, frames, 'client to server');
      await oneWay(ctx, server, client, frames, 'server to client');
    },
  },
  {
    category: 'framing',
    name: 'frames of 2 B to 1 MiB, around every length-encoding edge (64 KiB among them), arrive intact both ways',
    requires: atLeast(1_048_583),
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      // A small frame last: when a large one is lost, it arrives in its place and the diagnosis says so.
      const frames = [...EDGE_SIZES.map((size) => pattern(size, size)), new Uint8Array([42])];
      await oneWay(ctx, client, server, frames, 'client to server');
      await oneWay(ctx, server, client, frames, 'server to client');
    },
  },
  limitCase('listener limit', 'client to server'),
  limitCase('client limit', 'server to client'),
  {
    category: 'framing',
    name: "channel: a message over the peer's maxFrameSize is refused with FrameTooLarge",
    requires: atLeast(8192),
    async run(ctx) {
      // Client to server: the handshake tells the client the listener's limit, so send() refuses locally.
      const toServer = await echoPair(ctx, 4096);
      await expectRejection(
        toServer.client.send(Messages.executionRequest({ functionName: 'echo', input: pattern(8192, 1), timeoutMs: 1000 })),
        ErrorCode.FrameTooLarge,
        "send() of a message larger than the listener's maxFrameSize",
      );
      check(toServer.client.isConnected(), 'the channel closed after refusing an oversized send; only that message should fail');
      // Server to client: the server does not know the client's limit; the client's transport must refuse and close.
      const toClient = await echoPair(ctx, undefined, 4096);
      const closedWith = closed(
        toClient.client,
        ctx.waitMs,
        "the client channel to close after the server sent a frame over the client's maxFrameSize",
      );
      await toClient.server
        .send(Messages.executionRequest({ functionName: 'too-big', input: pattern(8192, 2), timeoutMs: 1000 }))
        .catch(() => {});
      await toClient.server
        .send(Messages.executionRequest({ functionName: 'after-too-big', input: new Uint8Array(1), timeoutMs: 1000 }))
        .catch(() => {});
      const delivered = toClient.client.receive().then(
        (m) => m,
        () => undefined,
      );
      const first = await Promise.race([closedWith.then((reason) => ({ reason })), delivered.then((message) => ({ message }))]);
      if ('message' in first && first.message) {
        fail(
          `the client received ${first.message.type === 'ExecutionRequest' ? `"${first.message.functionName}"` : first.message.type} although the server's message was over the client's 4096-byte maxFrameSize; the transport must close the connection with FrameTooLarge instead`,
        );
      }
      const reason = 'reason' in first ? first.reason : await closedWith;
      check(
        CommunicationError.is(reason, ErrorCode.FrameTooLarge),
        `the client channel closed with ${show(reason)}; expected code FrameTooLarge`,
      );
    },
  },
  {
    category: 'framing',
    name: 'all 256 byte values pass unchanged, in one frame and as 256 one-byte frames',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const singles = Array.from({ length: 256 }, (_, i) => new Uint8Array([i]));
      const frames = [allByteValues(64), ...singles, allByteValues(1).reverse()];
      await oneWay(ctx, client, server, frames, 'client to server');
      await oneWay(ctx, server, client, frames, 'server to client');
    },
  },
  {
    category: 'framing',
    name: '10,000 small frames sent at once arrive complete and in order, both ways at the same time',
    requires: RELIABLE_AND_ORDERED,
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const frames = Array.from({ length: 10_000 }, (_, i) => tagged(i, 4 + (i % 29)));
      await Promise.all([oneWay(ctx, client, server, frames, 'client to server'), oneWay(ctx, server, client, frames, 'server to client')]);
    },
  },
  {
    category: 'framing',
    name: 'large frames flow both ways at once without deadlock or corruption',
    requires: atLeast(1_048_576),
    async run(ctx) {
      const size = Math.min(4 * 1024 * 1024, ctx.defaultMaxFrameSize);
      const { client, server } = await ctx.rawPair();
      const up = [pattern(size, 11), pattern(size - 1, 12), pattern(size, 13), new Uint8Array([1])];
      const down = [pattern(size, 21), pattern(size, 22), pattern(size - 3, 23), new Uint8Array([2])];
      await Promise.all([oneWay(ctx, client, server, up, 'client to server'), oneWay(ctx, server, client, down, 'server to client')]);
      ctx.note(`3 frames of ~${(size / 1048576).toFixed(1)} MiB each way`);
    },
  },
  {
    category: 'framing',
    name: "a frame of the default listener limit (16 MiB or the transport's maximum) arrives intact",
    async run(ctx) {
      const size = ctx.defaultMaxFrameSize;
      const { client, server } = await ctx.rawPair();
      await oneWay(ctx, client, server, [pattern(size, 99), new Uint8Array([1])], `client to server, ${size} bytes`);
    },
  },
  {
    category: 'framing',
    name: 'frames are copied: changing a buffer after send() resolves, or after delivery, affects nothing else',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const original = pattern(100_000 > ctx.caps.maxFrameSize ? ctx.caps.maxFrameSize : 100_000, 5);
      const buffer = original.slice();
      await client.connection.send(buffer);
      buffer.fill(0xee);
      await sendAll(client, [pattern(64, 6)]);
      await expectFrames(ctx, server, [original, pattern(64, 6)], {
        what: 'a frame whose buffer the sender changed after send() resolved',
      });
      // The receiver owns what it was given: later frames must not be written into it.
      // Copies (Buffer#slice would be a view, changing with the buffer it is meant to check).
      const kept = server.sink.frames.map((f) => new Uint8Array(f));
      await oneWay(
        ctx,
        client,
        server,
        // Frames of the sizes already delivered too: a receiver that reuses a buffer per size is caught.
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? tagged(i, 2048) : tagged(i, 64))),
        'more frames',
      );
      kept.forEach((copy, i) => {
        const now = describeDifference(server.sink.frames[i]!, copy);
        if (now) fail(`frame #${i} changed after it was delivered (the transport reused its buffer): ${now}`);
      });
    },
  },
  {
    category: 'framing',
    name: 'channel: payloads with every byte value, empty payloads and 1 MiB payloads round-trip',
    requires: atLeast(2 * 1024 * 1024),
    async run(ctx) {
      const { client } = await echoPair(ctx);
      for (const input of [new Uint8Array(0), allByteValues(16), pattern(1024 * 1024, 3)]) {
        const answer = await invoke(client, 'echo', input, { timeoutMs: ctx.waitMs });
        const difference = describeDifference(answer, input);
        if (difference) fail(`echo of ${input.byteLength} bytes came back different: ${difference}`);
      }
    },
  },
];
