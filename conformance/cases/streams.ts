import { createHash } from 'node:crypto';
import { CommunicationError, ErrorCode, invoke, invokeStream, serve, streaming, type Handlers } from 'spear-comm';
import { check, checkEqual, fail, show } from '../assert.js';
import { pattern } from '../bytes.js';
import type { ConformanceCase } from '../case.js';
import type { CaseContext } from '../context.js';

// Streams (docs/streams.md) at channel level: what a transport must get right for invokeStream() to work on it.
const MiB = 1024 * 1024;
const PIECES = [0, 1, 2, 3].map((seed) => pattern(MiB / 4 + 1001 * seed, seed)); // odd sizes: re-cut across chunk boundaries

function* source(pieces: number): Generator<Uint8Array> {
  for (let i = 0; i < pieces; i++) yield PIECES[i % PIECES.length]!;
}

function sha(chunks: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<{ bytes: number; sha: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, sha: hash.digest('hex') };
}

const HANDLERS: Handlers = {
  sha256: streaming(async function* (chunks) {
    const hash = createHash('sha256');
    for await (const chunk of chunks) hash.update(chunk);
    yield new TextEncoder().encode(hash.digest('hex'));
  }),
  echo: streaming(async function* (chunks) {
    yield* chunks;
  }),
  ping: (input) => input,
};

/** Waits (up to ctx.waitMs) for a state that raises no event. */
async function eventually(ctx: CaseContext, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + ctx.waitMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function served(ctx: CaseContext, handlers: Handlers = HANDLERS) {
  const pair = await ctx.channelPair();
  serve(pair.server, handlers);
  return pair;
}

export const streamCases: ConformanceCase[] = [
  {
    category: 'streams',
    name: 'a large stream (8 MiB in, 4 MiB echoed) and an empty one arrive intact and in order',
    async run(ctx) {
      const { client } = await served(ctx);
      const options = { timeoutMs: ctx.waitMs };
      let digest = '';
      for await (const chunk of invokeStream(client, 'sha256', source(32), options)) digest += new TextDecoder().decode(chunk);
      checkEqual(digest, sha(source(32)), 'sha256 of the 8 MiB the handler received');
      const echoed = await drain(invokeStream(client, 'echo', source(16), options));
      checkEqual(echoed.bytes, 16 * PIECES[0]!.byteLength + 1001 * 24, 'bytes echoed back');
      checkEqual(echoed.sha, sha(source(16)), 'sha256 of the echoed bytes');
      checkEqual((await drain(invokeStream(client, 'echo', [], options))).bytes, 0, 'bytes of an empty stream');
    },
  },
  {
    category: 'streams',
    name: 'a small invoke during a large stream is answered within a few chunks, not after the stream',
    async run(ctx) {
      let received = 0;
      let atPing = -1;
      const { client } = await served(ctx, {
        count: streaming(async function* (chunks) {
          for await (const chunk of chunks) received += chunk.byteLength;
          yield new Uint8Array(1);
        }),
        ping: (input) => {
          atPing = received;
          return input;
        },
      });
      const total = 128 * (MiB / 4);
      const done = drain(invokeStream(client, 'count', source(128), { timeoutMs: ctx.waitMs * 3 }));
      while (received === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      const before = received;
      await invoke(client, 'ping', new Uint8Array(8), { timeoutMs: ctx.waitMs * 3 });
      await done;
      ctx.note(`the ping waited behind ${((atPing - before) / MiB).toFixed(1)} MiB of the ${total / MiB} MiB stream`);
      check(
        atPing - before < total / 2,
        `the ping was handled after ${((atPing - before) / MiB).toFixed(1)} MiB of a ${total / MiB} MiB stream had arrived: small frames must not queue behind a stream`,
      );
    },
  },
  {
    category: 'streams',
    name: 'either side stopping early ends the other side, and the channel stays usable',
    async run(ctx) {
      let handlerStopped = false;
      let sourceStopped = false;
      const { client } = await served(ctx, {
        ...HANDLERS,
        forever: streaming(async function* (chunks, c) {
          try {
            yield* chunks;
          } finally {
            handlerStopped = c.signal.aborted;
          }
        }),
        head: streaming(async function* (chunks) {
          for await (const chunk of chunks) {
            yield chunk.subarray(0, 1);
            return;
          }
        }),
      });
      const endless = function* () {
        try {
          for (;;) yield PIECES[0]!;
        } finally {
          sourceStopped = true;
        }
      };
      let got = 0;
      for await (const chunk of invokeStream(client, 'forever', endless(), { timeoutMs: ctx.waitMs }))
        if ((got += chunk.byteLength) >= MiB) break;
      await eventually(ctx, () => handlerStopped && sourceStopped);
      check(handlerStopped, 'the handler was not stopped (signal aborted, generator returned) after the caller broke off');
      check(sourceStopped, 'the caller’s source was not returned after it broke off');
      sourceStopped = false;
      checkEqual(
        (await drain(invokeStream(client, 'head', endless(), { timeoutMs: ctx.waitMs }))).bytes,
        1,
        'bytes from a handler that returned early',
      );
      await eventually(ctx, () => sourceStopped);
      check(sourceStopped, 'the caller’s source was not returned after the handler returned early');
      checkEqual((await invoke(client, 'ping', new Uint8Array([9]), { timeoutMs: ctx.waitMs }))[0], 9, 'a ping after the early stops');
    },
  },
  {
    category: 'streams',
    name: 'a consumer that pauses bounds the handler to its window, then gets every byte in order; a mid-stream failure is RemoteError',
    async run(ctx) {
      let produced = 0;
      const { client } = await served(ctx, {
        numbered: streaming(async function* () {
          for (let i = 0; i < 64; i++) {
            produced += 64 * 1024;
            yield pattern(64 * 1024, i);
          }
          throw Object.assign(new Error('out of numbers'), { code: 'Exhausted' });
        }),
      });
      const iterator = invokeStream(client, 'numbered', [], { windowBytes: 256 * 1024, timeoutMs: ctx.waitMs * 2 })[Symbol.asyncIterator]();
      const chunks: Uint8Array[] = [(await iterator.next()).value as Uint8Array];
      let last = -1;
      while (last !== produced) {
        last = produced;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      check(produced <= 256 * 1024 + 2 * 64 * 1024, `the handler produced ${produced} bytes for a paused 256 KiB window`);
      let error: unknown;
      try {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value);
      } catch (err) {
        error = err;
      }
      const expected = sha(Array.from({ length: 64 }, (_, i) => pattern(64 * 1024, i)));
      checkEqual(sha(chunks), expected, 'sha256 of the 4 MiB read after the pause');
      if (!(error instanceof CommunicationError) || error.code !== ErrorCode.RemoteError || error.remoteCode !== 'Exhausted')
        fail(`the handler's failure should end the stream with RemoteError (remoteCode Exhausted), got ${show(error)}`);
    },
  },
];
