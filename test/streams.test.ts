// Streams (DESIGN §9): invokeStream() / streaming() over real transports, flow control, ending, errors.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CommunicationError,
  ErrorCode,
  invoke,
  invokeStream,
  serve,
  streaming,
  type CommunicationChannel,
  type Handlers,
  type ListenOptions,
} from 'spear-comm';
import { failOnUnhandledRejections, until } from './support.js';
import { testBed } from './support/test-bed.js';
import { echoHandler, sha256Handler } from './support/stream-handlers.js';

failOnUnhandledRejections();
const bed = testBed();

async function pair(url: string, handlers: Handlers, options: Partial<ListenOptions> = {}) {
  let resolveServer!: (c: CommunicationChannel) => void;
  const serverSide = new Promise<CommunicationChannel>((r) => (resolveServer = r));
  const listener = await bed.kernel.listen(url, { ...options, onChannel: resolveServer });
  bed.defer(() => listener.close());
  const client = await bed.kernel.connect(listener.url);
  bed.defer(() => client.close());
  const server = await serverSide;
  serve(server, handlers);
  return { client, server };
}

/** `total` bytes of a position-dependent pattern, in pieces of `piece` bytes (the last one shorter). */
function* pattern(total: number, piece: number): Generator<Uint8Array> {
  for (let offset = 0; offset < total; offset += piece) {
    const chunk = new Uint8Array(Math.min(piece, total - offset));
    for (let i = 0; i < chunk.length; i += 4096) chunk[i] = ((offset + i) / 4096) & 0xff;
    yield chunk;
  }
}

function sha256(pieces: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('hex');
}

const handlers: Handlers = {
  sha256: sha256Handler,
  echo: echoHandler,
  boom: streaming(async function* (chunks) {
    let seen = 0;
    for await (const chunk of chunks) {
      seen += chunk.byteLength;
      yield chunk;
      if (seen >= 256 * 1024) throw Object.assign(new Error('disk full'), { code: 'DiskFull' });
    }
  }),
  plain: (input) => input,
};

async function collectAll(stream: AsyncIterable<Uint8Array>): Promise<{ bytes: number; hash: string; chunks: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let chunks = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    chunks++;
  }
  return { bytes, hash: hash.digest('hex'), chunks };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof CommunicationError ? e.code : String(e)),
  );

const TRANSPORTS = [
  { name: 'memory', url: () => 'memory://' },
  { name: 'tcp', url: () => 'tcp://127.0.0.1:0' },
  { name: 'unix', url: () => `unix://${bed.socketPath()}` },
  { name: 'websocket', url: () => 'ws://127.0.0.1:0/streams' },
  { name: 'grpc', url: () => 'grpc://127.0.0.1:0' },
];

describe.each(TRANSPORTS)('streams over $name', ({ url }) => {
  it('hashes 16 MiB sent in 1 MiB pieces and echoes 4 MiB back, bytes intact, while a small invoke is answered', async () => {
    const { client } = await pair(url(), handlers);
    const total = 16 * 1024 * 1024;
    const digest = new TextDecoder().decode(await first(invokeStream(client, 'sha256', pattern(total, 1024 * 1024))));
    expect(digest).toBe(sha256(pattern(total, 1024 * 1024)));
    const echoed = await collectAll(invokeStream(client, 'echo', pattern(4 * 1024 * 1024, 300_000)));
    expect(echoed.bytes).toBe(4 * 1024 * 1024);
    expect(echoed.hash).toBe(sha256(pattern(4 * 1024 * 1024, 300_000)));
    expect(new TextDecoder().decode(await invoke(client, 'plain', new TextEncoder().encode('still here')))).toBe('still here');
  });
});

async function first(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  for await (const chunk of stream) return chunk;
  throw new Error('the stream was empty');
}

/** A source that never ends by itself; `stopped` turns true when the stream returns it. */
function endless(piece = 64 * 1024) {
  const state = { pulled: 0, stopped: false };
  const source = (async function* () {
    try {
      for (;;) {
        state.pulled += piece;
        yield new Uint8Array(piece);
      }
    } finally {
      state.stopped = true;
    }
  })();
  return { state, source };
}

describe('streams: ending, errors, flow control (over tcp)', () => {
  const url = () => 'tcp://127.0.0.1:0';

  it('carries an empty stream: the handler sees no chunks and the answer is empty', async () => {
    const { client } = await pair(url(), handlers);
    expect(await collectAll(invokeStream(client, 'echo', []))).toMatchObject({ bytes: 0, chunks: 0 });
    expect(new TextDecoder().decode(await first(invokeStream(client, 'sha256', new Uint8Array(0))))).toBe(sha256([]));
  });

  it('a consumer that breaks off stops the handler (its generator is returned) and the source; the channel stays usable', async () => {
    let handlerReturned = false;
    const { client } = await pair(url(), {
      ...handlers,
      forever: streaming(async function* (chunks, ctx) {
        try {
          for await (const chunk of chunks) yield chunk;
        } finally {
          handlerReturned = ctx.signal.aborted;
        }
      }),
    });
    const { state, source } = endless();
    let got = 0;
    for await (const chunk of invokeStream(client, 'forever', source)) {
      got += chunk.byteLength;
      if (got >= 1024 * 1024) break;
    }
    await until(() => handlerReturned && state.stopped, 'handler and source stopped');
    expect(new TextDecoder().decode(await invoke(client, 'plain', new TextEncoder().encode('ok')))).toBe('ok');
    expect(await collectAll(invokeStream(client, 'echo', new Uint8Array(100_000)))).toMatchObject({ bytes: 100_000 });
  });

  it("a handler that returns before reading everything ends the stream normally and stops the caller's source", async () => {
    const { client } = await pair(url(), {
      head: streaming(async function* (chunks) {
        for await (const chunk of chunks) {
          yield chunk.subarray(0, 10);
          return;
        }
      }),
    });
    const { state, source } = endless();
    expect(await collectAll(invokeStream(client, 'head', source))).toMatchObject({ bytes: 10 });
    await until(() => state.stopped, 'source returned');
  });

  it('a handler that stops reading its input (break) but keeps answering makes the caller stop sending', async () => {
    const { client } = await pair(url(), {
      firstThenCount: streaming(async function* (chunks) {
        for await (const chunk of chunks) {
          yield chunk.subarray(0, 1);
          break;
        }
        for (let i = 0; i < 3; i++) yield new Uint8Array([i]);
      }),
    });
    const { state, source } = endless();
    expect(await collectAll(invokeStream(client, 'firstThenCount', source))).toMatchObject({ bytes: 4 });
    await until(() => state.stopped, 'source returned');
  });

  it('a handler that throws mid-stream reaches the consumer as RemoteError after the chunks it yielded', async () => {
    const { client } = await pair(url(), handlers);
    let got = 0;
    const error = await (async () => {
      try {
        for await (const chunk of invokeStream(client, 'boom', pattern(4 * 1024 * 1024, 64 * 1024))) got += chunk.byteLength;
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).toMatchObject({ code: ErrorCode.RemoteError, remoteCode: 'DiskFull' });
    expect(got).toBe(256 * 1024);
    expect(new TextDecoder().decode(await invoke(client, 'plain', new TextEncoder().encode('ok')))).toBe('ok');
  });

  it('unknown and non-streaming functions fail as RemoteError both ways', async () => {
    const { client } = await pair(url(), handlers);
    await expect(codeOf(collectAll(invokeStream(client, 'nope', new Uint8Array(1))))).resolves.toBe(ErrorCode.RemoteError);
    await expect(collectAll(invokeStream(client, 'plain', new Uint8Array(1)))).rejects.toMatchObject({ remoteCode: 'UnknownFunction' });
    await expect(invoke(client, 'echo', new Uint8Array(1))).rejects.toMatchObject({ remoteCode: 'UnknownFunction' });
    expect(() => invokeStream(client, 'echo', 42 as never)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => invokeStream(client, 'echo', [], { windowBytes: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument }),
    );
  });

  it('a peer that serves nothing answers a stream with RemoteError instead of silence', async () => {
    const listener = await bed.kernel.listen('memory://', {});
    bed.defer(() => listener.close());
    const client = await bed.kernel.connect(listener.url);
    bed.defer(() => client.close());
    await expect(collectAll(invokeStream(client, 'echo', new Uint8Array(1)))).rejects.toMatchObject({ remoteCode: 'UnknownFunction' });
  });

  it('the channel closing rejects an open stream with ChannelClosed and aborts the handler', async () => {
    let aborted = false;
    const { client, server } = await pair(url(), {
      hang: streaming(async function* (_chunks, ctx) {
        yield new Uint8Array(1);
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        aborted = true;
      }),
    });
    const iterator = invokeStream(client, 'hang', [])[Symbol.asyncIterator]();
    await iterator.next();
    const pending = codeOf(iterator.next());
    await server.close();
    await expect(pending).resolves.toBe(ErrorCode.ChannelClosed);
    await until(() => aborted, 'handler aborted');
  });

  it('an aborted signal ends the stream with Aborted on this side and aborts the handler on the other', async () => {
    let aborted = false;
    const { client } = await pair(url(), {
      ...handlers,
      hang: streaming(async function* (_chunks, ctx) {
        yield new Uint8Array(1);
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        aborted = true;
      }),
    });
    const controller = new AbortController();
    const iterator = invokeStream(client, 'hang', [], { signal: controller.signal })[Symbol.asyncIterator]();
    await iterator.next();
    const pending = codeOf(iterator.next());
    controller.abort();
    await expect(pending).resolves.toBe(ErrorCode.Aborted);
    await until(() => aborted, 'handler aborted');
    expect(new TextDecoder().decode(await invoke(client, 'plain', new TextEncoder().encode('ok')))).toBe('ok');
  });

  it('times out on inactivity, not on total duration', async () => {
    const { client } = await pair(url(), {
      silent: streaming(async function* (_chunks, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        yield new Uint8Array(0);
      }),
      slow: streaming(async function* () {
        for (let i = 0; i < 6; i++) {
          await new Promise((resolve) => setTimeout(resolve, 60));
          yield new Uint8Array([i]);
        }
      }),
    });
    await expect(codeOf(collectAll(invokeStream(client, 'silent', [], { timeoutMs: 150 })))).resolves.toBe(ErrorCode.Timeout);
    // 6 × 60 ms in total is over the 200 ms timeout, but no gap is.
    expect(await collectAll(invokeStream(client, 'slow', [], { timeoutMs: 200 }))).toMatchObject({ bytes: 6 });
  });

  it('a consumer that stops reading bounds what the handler can produce to the window', async () => {
    let produced = 0;
    const { client } = await pair(url(), {
      firehose: streaming(async function* () {
        for (;;) {
          produced += 16 * 1024;
          yield new Uint8Array(16 * 1024);
        }
      }),
    });
    const windowBytes = 256 * 1024;
    const iterator = invokeStream(client, 'firehose', [], { windowBytes })[Symbol.asyncIterator]();
    await iterator.next();
    // Wait until production stalls: it has to, since nobody reads.
    let last = -1;
    while (last !== produced) {
      last = produced;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(produced).toBeLessThanOrEqual(windowBytes + 2 * 16 * 1024);
    await iterator.return!();
  });

  it("a handler that stops reading bounds what the caller's source is asked for to the handler's window", async () => {
    const { client } = await pair(url(), {
      stall: streaming(async function* (chunks, ctx) {
        const it = chunks[Symbol.asyncIterator]();
        await it.next();
        yield new Uint8Array(1);
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      }),
    });
    const { state, source } = endless(16 * 1024);
    const iterator = invokeStream(client, 'stall', source)[Symbol.asyncIterator]();
    await iterator.next();
    let last = -1;
    while (last !== state.pulled) {
      last = state.pulled;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(state.pulled).toBeLessThanOrEqual(4 * 1024 * 1024 + 2 * 16 * 1024);
    await iterator.return!();
    await until(() => state.stopped, 'source returned');
  });

  it('a small invoke during a large stream is answered within a few chunks, not after the stream', async () => {
    let received = 0;
    let atInvoke = -1;
    const { client } = await pair(url(), {
      count: streaming(async function* (chunks) {
        for await (const chunk of chunks) received += chunk.byteLength;
        yield new Uint8Array(1);
      }),
      plain: (input) => {
        atInvoke = received;
        return input;
      },
    });
    const total = 32 * 1024 * 1024;
    const done = collectAll(invokeStream(client, 'count', pattern(total, 1024 * 1024)));
    await until(() => received > 0, 'stream started');
    const before = received;
    await invoke(client, 'plain', new Uint8Array(8));
    // The request waited behind at most the stream's window (4 MiB) plus what the transport had queued.
    expect(atInvoke - before).toBeLessThan(12 * 1024 * 1024);
    await done;
    expect(received).toBe(total);
  });

  it('a peer that sends beyond its credit gets the stream ended with DecodeFailed, and the channel stays up', async () => {
    const { client } = await pair(url(), handlers);
    const ends: unknown[] = [];
    client.on('message', (m) => {
      if (m.type === 'StreamEnd' && m.requestId === 'rude') ends.push(m.error);
    });
    const envelope = { requestId: 'rude', timestamp: Date.now(), metadata: {} };
    await client.send({ type: 'StreamOpen', ...envelope, functionName: 'echo', timeoutMs: 0, credit: 1024 });
    // The server grants its window (4 MiB); this sends 4 MiB and 1 byte without waiting for the grant.
    await client.send({ type: 'StreamChunk', ...envelope, data: new Uint8Array(4 * 1024 * 1024) });
    await client.send({ type: 'StreamChunk', ...envelope, data: new Uint8Array(1) });
    await until(() => ends.length === 1, 'StreamEnd');
    expect(ends[0]).toMatchObject({ code: ErrorCode.DecodeFailed });
    expect(new TextDecoder().decode(await invoke(client, 'plain', new TextEncoder().encode('ok')))).toBe('ok');
  });

  it('either side may invoke: the server streams from a function the client serves', async () => {
    const { client, server } = await pair(url(), {});
    serve(client, handlers);
    expect(await collectAll(invokeStream(server, 'echo', pattern(3_000_000, 777_777)))).toMatchObject({
      bytes: 3_000_000,
      hash: sha256(pattern(3_000_000, 777_777)),
    });
  });
});
