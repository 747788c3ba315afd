// Slow, silent, half-open and flooding peers: none of them may hold memory or a connection slot forever.
import { describe, expect, it } from 'vitest';
import {
  CommunicationError,
  ErrorCode,
  HANDSHAKE_MAX_FRAME_SIZE,
  invoke,
  type CommunicationChannel,
  type Listener,
  type ListenOptions,
} from 'spear-comm';
import { LengthPrefixDecoder, StreamFrameConnection, encodeFrameHeader } from 'spear-comm/transport-kit';
import { failOnUnhandledRejections, until } from '../support.js';
import { collect, socketPair, waitFor, wireFrame } from '../support/streams.js';
import { testBed } from '../support/test-bed.js';
import { authenticatedRawPeer, pause, rawPeer, wire } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

const MiB = 1024 * 1024;
const echo = { echo: (input: Uint8Array) => input };

async function listen(url: string, options: ListenOptions = {}): Promise<Listener> {
  const listener = await bed.kernel.listen(url, { handlers: echo, ...options });
  bed.defer(() => listener.close());
  return listener;
}

/** The next channel the listener accepts, and the error it closes with. */
function nextChannel(listener: Listener): Promise<{ channel: CommunicationChannel; closed: Promise<CommunicationError | undefined> }> {
  return new Promise((resolve) => {
    const off = listener.on('channel', (channel) => {
      off();
      resolve({ channel, closed: new Promise((done) => channel.on('close', (error) => done(error))) });
    });
  });
}

const transports: Record<string, () => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: () => `unix://${bed.socketPath()}`,
};

describe('a split frame costs the bytes received, not the length announced', () => {
  it('LengthPrefixDecoder allocates nothing for an announced 16 MiB body', () => {
    const decoders: LengthPrefixDecoder[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 32; i++) {
      const d = new LengthPrefixDecoder({ maxFrameSize: 16 * MiB, onFrame: () => {} });
      d.push(Buffer.concat([encodeFrameHeader(16 * MiB), Buffer.alloc(10, i)]));
      expect([d.midFrame, d.partialBytes, d.partialFrameSize]).toEqual([true, 14, 16 * MiB]);
      decoders.push(d);
    }
    // Allocating the announced size up front would be 512 MiB here.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * MiB);
  });

  it('assembles a frame trickled byte by byte exactly, into a buffer of its size', () => {
    const frames: Uint8Array[] = [];
    const d = new LengthPrefixDecoder({ maxFrameSize: MiB, onFrame: (f) => frames.push(f) });
    const payload = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff);
    for (const byte of wireFrame(payload)) d.push(Uint8Array.of(byte));
    expect(frames).toHaveLength(1);
    expect(Buffer.compare(frames[0]!, payload)).toBe(0);
    expect(frames[0]!.buffer.byteLength).toBe(payload.byteLength);
  });

  it('over tcp: 40 authenticated peers announcing 16 MiB and sending 1 byte cost the listener almost nothing', async () => {
    const listener = await listen('tcp://127.0.0.1:0');
    const peers = await Promise.all(Array.from({ length: 40 }, () => authenticatedRawPeer(listener.url)));
    const before = process.memoryUsage().arrayBuffers;
    const written = peers.map(
      (peer) =>
        new Promise<void>((resolve) => peer.socket.write(Buffer.concat([encodeFrameHeader(16 * MiB), Buffer.of(1)]), () => resolve())),
    );
    await Promise.all(written);
    // On loopback the bytes are in the listener's receive queues once written; a round trip on
    // another connection takes the listener through event-loop turns that read them all.
    const probe = await bed.kernel.connect(listener.url);
    await invoke(probe, 'echo', Uint8Array.of(1));
    expect(listener.connectionCount).toBe(41);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * MiB); // 640 MiB if allocated up front
    for (const peer of peers) peer.socket.destroy();
    await probe.close();
  });
});

describe.each(Object.keys(transports))('%s: a peer that starts a frame and never finishes it', (transport) => {
  it('is closed with Timeout after frameTimeoutMs, and its slot is released', async () => {
    const listener = await listen(transports[transport]!(), { frameTimeoutMs: 300 });
    const accepted = nextChannel(listener);
    const peer = await authenticatedRawPeer(listener.url);
    const { closed } = await accepted;
    expect(listener.connectionCount).toBe(1);
    // 16 MiB announced, then one byte every 40 ms: at that rate it would take 7 days.
    peer.socket.write(encodeFrameHeader(16 * MiB));
    let trickling = true;
    void (async () => {
      while (trickling && !peer.socket.destroyed) {
        peer.socket.write(Buffer.of(0x55));
        await pause(40);
      }
    })();
    const error = await closed;
    trickling = false;
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringContaining('began a frame and sent only') });
    expect(error!.message).toContain(`of its ${16 * MiB + 4} bytes within 300 ms`);
    await peer.closed;
    await until(() => listener.connectionCount === 0, 'the slot released');
    // The listener still serves.
    const channel = await bed.kernel.connect(listener.url);
    expect(await invoke(channel, 'echo', Uint8Array.of(9))).toEqual(Uint8Array.of(9));
    await channel.close();
  });

  it('closes a peer that stops inside a frame header, too', async () => {
    const listener = await listen(transports[transport]!(), { frameTimeoutMs: 300 });
    const accepted = nextChannel(listener);
    const peer = await authenticatedRawPeer(listener.url);
    const { closed } = await accepted;
    peer.socket.write(Buffer.of(0, 0));
    expect(await closed).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringContaining('sent only 2 of its 4-byte header') });
    await peer.closed;
  });
});

describe.each(Object.keys(transports))('%s: frames before authentication', (transport) => {
  it('a first frame over 64 KiB closes the connection at once; after the handshake the full limit applies', async () => {
    // Auth and frame timeouts far beyond the test's: only the pre-authentication limit can close this peer in time.
    const listener = await listen(transports[transport]!(), { authTimeoutMs: 60_000, frameTimeoutMs: 60_000 });
    const rejected = new Promise<CommunicationError>((resolve) => listener.on('rejected', (error) => resolve(error)));
    const peer = await rawPeer(listener.url);
    peer.socket.write(Buffer.concat([encodeFrameHeader(HANDSHAKE_MAX_FRAME_SIZE + 1), Buffer.from('{"type":"AuthRequest"')]));
    expect(await rejected).toMatchObject({
      code: ErrorCode.FrameTooLarge,
      message: expect.stringContaining(`over the limit of ${HANDSHAKE_MAX_FRAME_SIZE} bytes for a peer that has not authenticated`),
    });
    await peer.closed;
    await until(() => listener.connectionCount === 0, 'the slot released');
    const channel = await bed.kernel.connect(listener.url);
    const large = new Uint8Array(MiB).fill(7);
    expect(Buffer.compare(await invoke(channel, 'echo', large), large)).toBe(0);
    await channel.close();
  });
});

/** A StreamFrameConnection with `frameTimeoutMs` on one end of a loopback socket pair (`pair.a` is the peer). */
async function timedConnection(frameTimeoutMs: number) {
  const pair = await socketPair();
  bed.defer(() => pair.close());
  const connection = new StreamFrameConnection(pair.b, { maxFrameSize: 1024, frameTimeoutMs, localAddress: 'b', remoteAddress: 'a' });
  bed.defer(() => connection.close());
  return { pair, connection, got: collect(connection) };
}

describe('the frame clock', () => {
  it('restarts with every completed frame: a busy peer whose reads always end mid-frame is not cut off', async () => {
    const { pair, got } = await timedConnection(1_000);
    const frames = Array.from({ length: 24 }, (_, i) => wireFrame(Uint8Array.of(i, i, i, i)));
    // Every write ends in the middle of a frame, so the connection is never between frames for 24 x 60 ms.
    pair.a.write(frames[0]!.subarray(0, 5));
    for (let i = 0; i < frames.length; i++) {
      await pause(60);
      pair.a.write(Buffer.concat([frames[i]!.subarray(5), ...(i + 1 < frames.length ? [frames[i + 1]!.subarray(0, 5)] : [])]));
    }
    await waitFor(() => got.frames.length === frames.length, 'all frames');
    expect(got.closeCalls()).toBe(0);
  });

  it('stops while this side is paused: our own backpressure is not the peer stalling', async () => {
    const { pair, connection, got } = await timedConnection(150);
    pair.a.write(wireFrame(Uint8Array.of(1, 2, 3)).subarray(0, 5));
    await waitFor(() => (pair.b.bytesRead ?? 0) >= 5, 'the partial frame read');
    connection.pause();
    await pause(450);
    expect(got.closeCalls()).toBe(0);
    connection.resume();
    // Resumed: the clock runs again and the stalled frame is cut off.
    expect(await got.closed).toMatchObject({ code: ErrorCode.Timeout });
  });
});

describe('auth timeout over tcp', () => {
  it('closes a connection that says nothing', async () => {
    const listener = await listen('tcp://127.0.0.1:0', { authTimeoutMs: 300 });
    const rejected = new Promise<CommunicationError>((resolve) => listener.on('rejected', (error) => resolve(error)));
    const peer = await rawPeer(listener.url);
    expect(await rejected).toMatchObject({
      code: ErrorCode.AuthFailed,
      message: expect.stringContaining('did not complete the handshake within 300 ms'),
    });
    await peer.closed;
    await until(() => listener.connectionCount === 0, 'the slot released');
  });

  it('closes a connection that sends half a handshake frame', async () => {
    const listener = await listen('tcp://127.0.0.1:0', { authTimeoutMs: 300 });
    const rejected = new Promise<CommunicationError>((resolve) => listener.on('rejected', (error) => resolve(error)));
    const peer = await rawPeer(listener.url);
    const handshake = wire(JSON.stringify({ type: 'AuthRequest', requestId: 'x', timestamp: 0, metadata: {}, instanceId: 'half' }));
    peer.socket.write(handshake.subarray(0, Math.floor(handshake.byteLength / 2)));
    expect(await rejected).toMatchObject({
      code: ErrorCode.AuthFailed,
      message: expect.stringContaining('did not complete the handshake'),
    });
    await peer.closed;
    await until(() => listener.connectionCount === 0, 'the slot released');
  });
});

describe('connection flood over tcp', () => {
  it('holds maxConnections under 500 connections at once, keeps serving, and releases the slots afterwards', async () => {
    const limit = 20;
    const listener = await listen('tcp://127.0.0.1:0', { maxConnections: limit, authTimeoutMs: 1_500 });
    let peak = 0;
    const refusedByLimit: CommunicationError[] = [];
    listener.on('rejected', (error) => {
      if (error.code === ErrorCode.ConnectionRefused) refusedByLimit.push(error);
    });
    const established = await bed.kernel.connect(listener.url);
    const flood = await Promise.all(Array.from({ length: 500 }, () => rawPeer(listener.url).catch(() => undefined)));
    const peers = flood.filter((p) => p !== undefined);
    const sampler = setInterval(() => (peak = Math.max(peak, listener.connectionCount)), 1);
    bed.defer(() => clearInterval(sampler));
    // The established client is served throughout the flood.
    for (let i = 0; i < 20; i++) expect(await invoke(established, 'echo', Uint8Array.of(i))).toEqual(Uint8Array.of(i));
    await until(() => listener.connectionCount === limit, 'the slots filled by the flood');
    // A newcomer while every slot is taken is turned away with a clear error, not left hanging.
    const newcomer = await bed.kernel.connect(listener.url, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(newcomer).toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringContaining('closed the connection during the handshake'),
    });
    // Every flood socket is closed by the listener: beyond the limit at once, the rest at the auth timeout.
    await Promise.all(peers.map((p) => p.closed));
    clearInterval(sampler);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(refusedByLimit.length).toBeGreaterThanOrEqual(peers.length - (limit - 1));
    expect(refusedByLimit[0]!.message).toContain(`Connection limit of ${limit} reached`);
    await until(() => listener.connectionCount === 1, 'the flood slots released');
    const later = await bed.kernel.connect(listener.url);
    expect(await invoke(later, 'echo', Uint8Array.of(7))).toEqual(Uint8Array.of(7));
    await Promise.all([later.close(), established.close()]);
  });
});
