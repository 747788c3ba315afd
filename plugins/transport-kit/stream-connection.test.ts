import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from 'spear-comm';
import { LengthPrefixDecoder, StreamFrameConnection } from 'spear-comm/transport-kit';
import { collect, patterned, sameBytes, socketPair, waitFor, wireFrame } from '../../test/support/streams.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const options = { maxFrameSize: 1024 * 1024, localAddress: 'here', remoteAddress: 'there' };

/** A writable that records each write / writev call; `gated` holds every write until `open()`. */
class RecordingWritable extends Writable {
  readonly calls: Uint8Array[][] = [];
  private held: Array<() => void> = [];
  constructor(
    private gated = false,
    highWaterMark = 16 * 1024,
  ) {
    super({ highWaterMark });
  }
  override _write(chunk: Uint8Array, _encoding: string, callback: () => void): void {
    this.record([chunk], callback);
  }
  override _writev(chunks: Array<{ chunk: Uint8Array }>, callback: () => void): void {
    this.record(
      chunks.map((c) => c.chunk),
      callback,
    );
  }
  open(): void {
    this.gated = false;
    for (const callback of this.held.splice(0)) callback();
  }
  /** The frames in everything written so far. */
  frames(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const decoder = new LengthPrefixDecoder({ maxFrameSize: 1 << 30, onFrame: (f) => out.push(f) });
    for (const call of this.calls) for (const chunk of call) decoder.push(chunk);
    return out;
  }
  private record(chunks: Uint8Array[], callback: () => void): void {
    this.calls.push(chunks);
    if (this.gated) this.held.push(callback);
    else callback();
  }
}

function pairConnection(writable = new RecordingWritable()) {
  const readable = new PassThrough();
  const connection = new StreamFrameConnection({ readable, writable }, options);
  cleanups.push(() => connection.close());
  return { readable, writable, connection };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('StreamFrameConnection: sending', () => {
  it('coalesces the small frames sent in one tick into one write', async () => {
    const { writable, connection } = pairConnection();
    const payloads = Array.from({ length: 10 }, (_, i) => patterned(64, i));
    await Promise.all(payloads.map((p) => connection.send(p)));
    expect(writable.calls).toHaveLength(1);
    expect(writable.calls[0]).toHaveLength(1);
    expect(writable.frames()).toEqual(payloads);
  });

  it('writes a long tick in 16-frame writes as it goes, so the peer can start on them, in order', async () => {
    const { writable, connection } = pairConnection();
    const payloads = Array.from({ length: 100 }, (_, i) => patterned(64, i));
    const sends = payloads.map((p) => connection.send(p));
    // 6 full batches left synchronously, before the tick ended; the last 4 frames wait for it.
    expect(writable.calls).toHaveLength(6);
    await Promise.all(sends);
    expect(writable.calls).toHaveLength(7);
    expect(writable.calls.every((call) => call.length === 1)).toBe(true);
    expect(writable.frames()).toEqual(payloads);
  });

  it('passes a large payload to one writev by reference instead of copying it', async () => {
    const { writable, connection } = pairConnection();
    const big = Buffer.from(patterned(1024 * 1024));
    const frames = [patterned(10, 1), big, patterned(10, 2)];
    await Promise.all(frames.map((f) => connection.send(f)));
    expect(writable.calls).toHaveLength(1);
    expect(writable.calls[0]!.some((chunk) => chunk.buffer === big.buffer && chunk.byteOffset === big.byteOffset)).toBe(true);
    const written = writable.frames();
    expect(written).toHaveLength(3);
    expect(frames.every((f, i) => sameBytes(written[i], f))).toBe(true);
  });

  it('sends a frame given as parts as one frame, its small parts copied next to the header and its large part by reference', async () => {
    const { writable, connection } = pairConnection();
    const head = patterned(30, 3);
    const big = Buffer.from(patterned(256 * 1024, 4));
    await Promise.all([connection.send(patterned(10, 1)), connection.sendParts([head, big]), connection.sendParts([patterned(5, 5)])]);
    expect(writable.calls).toHaveLength(1);
    expect(writable.calls[0]!.some((chunk) => chunk.buffer === big.buffer && chunk.byteOffset === big.byteOffset)).toBe(true);
    const written = writable.frames();
    expect(written).toHaveLength(3);
    expect(sameBytes(written[1], Buffer.concat([head, big]))).toBe(true);
    expect(sameBytes(written[2], patterned(5, 5))).toBe(true);
  });

  it("resolves a sendParts only once the stream has written the caller's large part, even under a high-water mark", async () => {
    // Such a part is the caller's own buffer (a stream chunk's data), which it may refill once the send resolves.
    const { writable, connection } = pairConnection(new RecordingWritable(true, 1024 * 1024));
    let resolved = false;
    const sent = connection.sendParts([patterned(20, 1), patterned(100 * 1024, 2)]).then(() => (resolved = true));
    for (let i = 0; i < 5; i++) await turn();
    expect(writable.calls).toHaveLength(1);
    expect(resolved).toBe(false);
    writable.open();
    await sent;
    expect(resolved).toBe(true);
  });

  it('keeps senders waiting while the stream is over its high-water mark, and sends their frames as one batch after drain', async () => {
    const { writable, connection } = pairConnection(new RecordingWritable(true));
    let resolved = 0;
    const first = connection.send(patterned(64 * 1024)).then(() => resolved++);
    await turn();
    const later = Array.from({ length: 10 }, (_, i) => connection.send(patterned(100, i)).then(() => resolved++));
    for (let i = 0; i < 5; i++) await turn();
    // Nothing resolved and nothing more handed to the stream: the ten frames wait in the connection.
    expect(resolved).toBe(0);
    expect(writable.calls).toHaveLength(1);
    writable.open();
    await Promise.all([first, ...later]);
    expect(resolved).toBe(11);
    expect(writable.calls).toHaveLength(2);
    expect(writable.frames()).toHaveLength(11);
  });

  it('rejects sends after close with ChannelClosed, and close is idempotent', async () => {
    const { connection } = pairConnection();
    const closing = connection.close();
    expect(connection.close()).toBe(closing);
    await closing;
    await expect(connection.send(new Uint8Array(1))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
  });

  it('still writes frames sent just before close()', async () => {
    const { writable, connection } = pairConnection();
    const sent = connection.send(Uint8Array.of(1, 2, 3));
    await connection.close();
    await sent;
    expect(writable.frames()).toEqual([Uint8Array.of(1, 2, 3)]);
  });
});

describe('StreamFrameConnection: receiving', () => {
  it('holds frames that arrive before start(), and delivers them in order afterwards', async () => {
    const { readable, connection } = pairConnection();
    readable.write(Buffer.concat([wireFrame(Uint8Array.of(1)), wireFrame(Uint8Array.of(2))]));
    await turn();
    const got = collect(connection);
    await waitFor(() => got.frames.length === 2, 'two frames');
    expect(got.frames).toEqual([Uint8Array.of(1), Uint8Array.of(2)]);
  });

  it('delivers nothing while paused, including the rest of a chunk that held several frames', async () => {
    const { readable, connection } = pairConnection();
    const frames: Uint8Array[] = [];
    connection.start({
      onFrame: (frame) => {
        frames.push(frame);
        connection.pause(); // e.g. a full receive queue
      },
      onClose: () => {},
    });
    readable.write(Buffer.concat([1, 2, 3].map((n) => wireFrame(Uint8Array.of(n)))));
    await waitFor(() => frames.length === 1, 'the first frame');
    for (let i = 0; i < 5; i++) await turn();
    expect(frames).toHaveLength(1);
    connection.resume(); // delivers one more, which pauses again
    expect(frames).toHaveLength(2);
    connection.resume();
    expect(frames.map((f) => f[0])).toEqual([1, 2, 3]);
  });

  it('reports an orderly end of the peer once, without an error, after the frames before it', async () => {
    const { readable, connection } = pairConnection();
    const got = collect(connection);
    readable.end(wireFrame(Uint8Array.of(9)));
    expect(await got.closed).toBeUndefined();
    expect(got.frames).toEqual([Uint8Array.of(9)]);
    expect(got.closeCalls()).toBe(1);
  });

  it('reports a peer that ends in the middle of a frame as an error', async () => {
    const { readable, connection } = pairConnection();
    const got = collect(connection);
    readable.end(wireFrame(patterned(100)).subarray(0, 50));
    const error = await got.closed;
    expect(error).toMatchObject({
      code: ErrorCode.ChannelClosed,
      message: expect.stringContaining('middle of a frame (50 bytes received of 104)'),
    });
  });

  it('closes with FrameTooLarge as soon as an oversized header arrives', async () => {
    const { readable, writable, connection } = pairConnection();
    const got = collect(connection);
    readable.write(wireFrame(new Uint8Array(options.maxFrameSize + 1)).subarray(0, 4));
    expect(await got.closed).toMatchObject({ code: ErrorCode.FrameTooLarge });
    expect(readable.destroyed && writable.destroyed).toBe(true);
  });
});

describe('StreamFrameConnection over real sockets', () => {
  async function connectedPair() {
    const sockets = await socketPair();
    cleanups.push(() => sockets.close());
    const a = new StreamFrameConnection(sockets.a, options);
    const b = new StreamFrameConnection(sockets.b, options);
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    return { sockets, a, b };
  }

  it('makes a sender wait while the receiver is paused, and completes once it resumes', async () => {
    const { sockets, a, b } = await connectedPair();
    const got = collect(b);
    b.pause();
    const frame = patterned(1024 * 1024);
    const total = 64; // 64 MiB: far more than the kernel and stream buffers of one loopback socket hold
    let resolved = 0;
    const sends = Array.from({ length: total }, () => a.send(frame).then(() => resolved++));
    await waitFor(() => sockets.b.readableLength >= sockets.b.readableHighWaterMark && sockets.a.writableNeedDrain, 'both buffers to fill');
    expect(resolved).toBeLessThan(total);
    expect(got.frames).toHaveLength(0);
    b.resume();
    await Promise.all(sends);
    await waitFor(() => got.frames.length === total, `${total} frames`);
    expect(got.frames.every((f) => f.byteLength === frame.byteLength)).toBe(true);
  });

  it('reports a connection reset by the peer once, as ChannelClosed, and rejects waiting sends', async () => {
    const { sockets, a } = await connectedPair();
    const got = collect(a);
    sockets.b.resetAndDestroy();
    const error = await got.closed;
    expect(error).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringContaining('reset the connection') });
    await expect(a.send(new Uint8Array(1))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
    expect(got.closeCalls()).toBe(1);
  });

  it('closes both sides cleanly: close() resolves once the socket is closed and the peer sees an orderly end', async () => {
    const { sockets, a, b } = await connectedPair();
    collect(a);
    const peer = collect(b);
    await a.send(Uint8Array.of(5));
    await a.close();
    expect(sockets.a.destroyed).toBe(true);
    expect(await peer.closed).toBeUndefined();
    expect(peer.frames).toEqual([Uint8Array.of(5)]);
  });
});

describe('StreamFrameConnection over a child process stdin/stdout pair', () => {
  it('round-trips frames through `cat` and closes the child by ending its stdin', async () => {
    const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    const connection = new StreamFrameConnection({ readable: child.stdout, writable: child.stdin }, { ...options, remoteAddress: 'cat' });
    cleanups.push(() => child.kill());
    const got = collect(connection);
    const frames = [new Uint8Array(0), patterned(10), patterned(200_000)];
    await Promise.all(frames.map((f) => connection.send(f)));
    await waitFor(() => got.frames.length === 3, 'three echoed frames');
    expect(frames.every((f, i) => sameBytes(got.frames[i], f))).toBe(true);
    await connection.close();
    expect(await exited).toEqual([0, null]);
  });
});
