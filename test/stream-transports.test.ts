// What tcp and unix share: framing on a real socket, limits, peers that misbehave, order, size.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCode, invoke, type CommunicationChannel, type FrameConnection, type RuntimeMessage } from 'spear-comm';
import { encodeFrameHeader } from 'spear-comm/transport-kit';
import { collect, patterned, sameBytes, waitFor, wireFrame, type Collected } from './support/streams.js';
import { testBed } from './support/test-bed.js';

const bed = testBed();

const transports = [
  { name: 'tcp', url: () => 'tcp://127.0.0.1:0' },
  { name: 'unix', url: () => `unix://${bed.socketPath()}` },
];

/** A plain node:net socket to a listener URL: a peer that is not spear-comm. */
function rawConnect(url: string): Promise<Socket> {
  const parsed = new URL(url);
  const socket = parsed.protocol === 'unix:' ? connect(parsed.pathname) : connect(Number(parsed.port), parsed.hostname);
  bed.defer(() => socket.destroy());
  return once(socket, 'connect').then(() => socket);
}

function write(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
}

describe.each(transports)('$name transport', ({ name, url }) => {
  /** A frame-level listener whose accepted connections are collected. */
  async function frameListener(maxFrameSize = 16 * 1024 * 1024) {
    const accepted: Collected[] = [];
    const connections: FrameConnection[] = [];
    const listener = await bed.kernel.transport(name).listen(new URL(url()), {
      maxFrameSize,
      onConnection: (connection) => {
        connections.push(connection);
        accepted.push(collect(connection));
      },
    });
    bed.defer(() => listener.close());
    const next = async (i: number) => {
      await waitFor(() => accepted.length > i, `connection ${i + 1}`);
      return accepted[i]!;
    };
    return { listener, accepted, connections, next };
  }

  it('reassembles frames split across writes and separates frames coalesced into one write', async () => {
    const { listener, next } = await frameListener();
    const socket = await rawConnect(listener.url);
    const split = wireFrame(patterned(3000));
    for (const piece of [split.subarray(0, 2), split.subarray(2, 5), split.subarray(5, 2000), split.subarray(2000)])
      await write(socket, piece);
    await write(socket, Buffer.concat([wireFrame(Uint8Array.of(1)), wireFrame(new Uint8Array(0)), wireFrame(Uint8Array.of(2, 3))]));
    const server = await next(0);
    await waitFor(() => server.frames.length === 4, 'four frames');
    expect(server.frames).toEqual([patterned(3000), Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]);
  });

  it('accepts a frame of exactly maxFrameSize and closes on maxFrameSize + 1 with FrameTooLarge, before the body arrives', async () => {
    const max = 64 * 1024;
    const { listener, next } = await frameListener(max);
    const fits = await rawConnect(listener.url);
    await write(fits, wireFrame(patterned(max)));
    const first = await next(0);
    await waitFor(() => first.frames.length === 1, 'the max-size frame');
    expect(sameBytes(first.frames[0], patterned(max))).toBe(true);

    const tooBig = await rawConnect(listener.url);
    const peerClosed = once(tooBig, 'close');
    await write(tooBig, encodeFrameHeader(max + 1)); // the header alone: the body never comes
    const second = await next(1);
    expect(await second.closed).toMatchObject({
      code: ErrorCode.FrameTooLarge,
      message: expect.stringContaining(`${max + 1} bytes, over the limit of ${max}`),
    });
    await peerClosed;
    expect(second.frames).toHaveLength(0);
  });

  it('reports a peer that closes mid-frame as ChannelClosed', async () => {
    const { listener, next } = await frameListener();
    const socket = await rawConnect(listener.url);
    socket.end(wireFrame(patterned(100)).subarray(0, 14));
    const server = await next(0);
    expect(await server.closed).toMatchObject({
      code: ErrorCode.ChannelClosed,
      message: expect.stringContaining('middle of a frame (14 bytes received of 104)'),
    });
  });

  it('carries a 16 MiB frame intact between small ones', async () => {
    const { listener, next } = await frameListener();
    const client = await bed.kernel.transport(name).connect(new URL(listener.url), { maxFrameSize: 1024, timeoutMs: 5_000 });
    bed.defer(() => client.close());
    collect(client);
    const big = patterned(16 * 1024 * 1024, 7);
    await Promise.all([client.send(Uint8Array.of(1)), client.send(big), client.send(Uint8Array.of(2))]);
    const server = await next(0);
    await waitFor(() => server.frames.length === 3, 'three frames');
    expect(server.frames[0]).toEqual(Uint8Array.of(1));
    expect(sameBytes(server.frames[1], big)).toBe(true);
    expect(server.frames[2]).toEqual(Uint8Array.of(2));
  });

  it('delivers 10,000 messages in order over a channel', async () => {
    let accepted!: (channel: CommunicationChannel) => void;
    const serverChannel = new Promise<CommunicationChannel>((resolve) => (accepted = resolve));
    const listener = await bed.kernel.listen(url(), { onChannel: accepted });
    bed.defer(() => listener.close());
    const client = await bed.kernel.connect(listener.url);
    const server = await serverChannel;
    // Sent all at once: the receiver's queue fills, pauses the connection and resumes it as it drains.
    const sends = Array.from({ length: 10_000 }, (_, i) =>
      client.send({
        type: 'ExecutionRequest',
        requestId: String(i),
        timestamp: 0,
        metadata: {},
        functionName: 'f',
        input: new Uint8Array(0),
        timeoutMs: 0,
      }),
    );
    const received: RuntimeMessage[] = [];
    for (let i = 0; i < 10_000; i++) received.push(await server.receive({ timeoutMs: 10_000 }));
    await Promise.all(sends);
    expect(received.map((m) => m.requestId)).toEqual(Array.from({ length: 10_000 }, (_, i) => String(i)));
  });

  it('answers a request sent the moment the listener accepts the channel (it arrives with the AuthResponse)', async () => {
    let invoked!: Promise<Uint8Array>;
    let accepted!: () => void;
    const acceptedOnce = new Promise<void>((resolve) => (accepted = resolve));
    const listener = await bed.kernel.listen(url(), {
      onChannel: (channel) => {
        invoked = invoke(channel, 'echo', Uint8Array.of(42), { timeoutMs: 5_000 }); // synchronously: same batch as the AuthResponse
        accepted();
      },
    });
    bed.defer(() => listener.close());
    const client = await bed.kernel.connect(listener.url, { handlers: { echo: (input) => input } });
    bed.defer(() => client.close());
    await acceptedOnce;
    expect(await invoked).toEqual(Uint8Array.of(42));
  });

  it('closes its connections when the listener closes, then refuses new ones with the address in the message', async () => {
    const { listener } = await frameListener();
    const client = await bed.kernel.transport(name).connect(new URL(listener.url), { maxFrameSize: 1024, timeoutMs: 5_000 });
    const seen = collect(client);
    await listener.close();
    expect(await seen.closed).toBeUndefined();
    const where = listener.url.replace(/^unix:\/\//, '');
    await expect(bed.kernel.connect(listener.url, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringContaining(where),
    });
  });
});
