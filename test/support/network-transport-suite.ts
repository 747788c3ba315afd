import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommunicationError,
  ErrorCode,
  Messages,
  createKernel,
  invoke,
  type CommunicationChannel,
  type FrameConnection,
  type FrameListener,
  type RuntimeMessage,
} from 'spear-comm';
import { startFixture, stopFixture, type Child } from './child.js';
import { trackCleanups } from './cleanups.js';

/**
 * Behaviour every network transport must show, checked over real sockets and real processes:
 * request/response between two processes with each installed codec, a server that goes away,
 * a client that goes away with requests pending, order over 10,000 messages, backpressure,
 * pause/resume, frame limits, orderly close.
 */
export function describeNetworkTransport(transport: string, listenUrl: string): void {
  const SECRET = 'test-secret-1234';
  const { defer, kernel } = trackCleanups();
  const fixture = async (name: string, args: string[]): Promise<Child> => {
    const child = await startFixture(name, args);
    defer(() => stopFixture(child, 'kill'));
    return child;
  };

  describe(`${transport}: a server in another process`, () => {
    let server: Child;
    beforeAll(async () => {
      server = await startFixture('rr-server.mjs', [listenUrl, SECRET]);
    });
    afterAll(async () => {
      if (server) await stopFixture(server);
    });

    it('answers request/response with every installed codec', async () => {
      const k = await kernel();
      const url = server.hello['url'] as string;
      expect(url).toMatch(new RegExp(`^${new URL(listenUrl).protocol}//127\\.0\\.0\\.1:[1-9]\\d*`));
      // Both processes install the same codecs (a stale dist/ would show up here, not as skipped codecs).
      const codecs = k.codecs();
      expect([...(server.hello['codecs'] as string[])].sort()).toEqual([...codecs].sort());
      expect(codecs).toContain('json');
      for (const codec of codecs) {
        const channel = await k.connect(url, { token: SECRET, codec });
        expect(channel.transport).toBe(transport);
        expect(channel.codec).toBe(codec);
        const input = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + codec.length) & 255);
        expect(await invoke(channel, 'echo', input)).toEqual(input);
        const many = await Promise.all(Array.from({ length: 64 }, (_, i) => invoke(channel, 'echo', new Uint8Array([i, codec.length]))));
        expect(many).toEqual(Array.from({ length: 64 }, (_, i) => new Uint8Array([i, codec.length])));
        await expect(invoke(channel, 'missing', new Uint8Array())).rejects.toMatchObject({
          code: ErrorCode.RemoteError,
          remoteCode: 'UnknownFunction',
        });
        await channel.close();
      }
    });

    it('refuses a wrong token', async () => {
      const k = await kernel();
      await expect(k.connect(server.hello['url'] as string, { token: 'wrong' })).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    });
  });

  it(`${transport}: pending requests reject promptly with ChannelClosed when the server process dies`, async () => {
    const server = await fixture('rr-server.mjs', [listenUrl, SECRET]);
    const k = await kernel();
    const channel = await k.connect(server.hello['url'] as string, { token: SECRET });
    const closed = new Promise<CommunicationError | undefined>((resolve) => channel.on('close', resolve));
    // Far longer than the test may take: only the dead connection can end these calls in time.
    const pending = Array.from({ length: 5 }, (_, i) =>
      invoke(channel, 'hang', new Uint8Array([i]), { timeoutMs: 60_000 }).then(
        () => {
          throw new Error('a hanging call was answered');
        },
        (err: unknown) => err,
      ),
    );
    await invoke(channel, 'echo', new Uint8Array([1])); // the hangs have reached the server
    await stopFixture(server, 'kill');
    for (const err of await Promise.all(pending)) {
      expect(CommunicationError.is(err, ErrorCode.ChannelClosed), String(err)).toBe(true);
    }
    expect(await closed).toBeInstanceOf(CommunicationError);
    expect(channel.isConnected()).toBe(false);
  });

  it(`${transport}: a client that disconnects with requests pending frees its handlers and leaves the listener serving`, async () => {
    const k = await kernel();
    const started: AbortSignal[] = [];
    let allStarted: () => void = () => {};
    const threeStarted = new Promise<void>((resolve) => (allStarted = resolve));
    const channels: CommunicationChannel[] = [];
    const listener = await k.listen(listenUrl, {
      secret: SECRET,
      onChannel: (channel) => channels.push(channel),
      handlers: {
        hang: (_input, ctx) => {
          started.push(ctx.signal);
          if (started.length === 3) allStarted();
          return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
        },
        echo: (input) => input,
      },
    });
    const client = await fixture('rr-client.mjs', [listener.url, SECRET, '3']);
    await threeStarted;
    const serverSide = channels[0]!;
    const closed = new Promise<CommunicationError | undefined>((resolve) => serverSide.on('close', resolve));
    await stopFixture(client, 'kill');
    const reason = await closed;
    expect(reason?.code, String(reason)).toBe(ErrorCode.ChannelClosed);
    expect(started.every((signal) => signal.aborted)).toBe(true);
    expect(listener.channels()).not.toContain(serverSide);
    // The listener keeps serving others.
    const other = await k.connect(listener.url, { token: SECRET });
    expect(await invoke(other, 'echo', new Uint8Array([42]))).toEqual(new Uint8Array([42]));
  });

  it(`${transport}: delivers 10,000 messages in order`, async () => {
    const k = await kernel();
    let serverChannel: (c: CommunicationChannel) => void = () => {};
    const accepted = new Promise<CommunicationChannel>((resolve) => (serverChannel = resolve));
    const listener = await k.listen(listenUrl, { secret: SECRET, onChannel: (c) => serverChannel(c) });
    const client = await k.connect(listener.url, { token: SECRET });
    const server = await accepted;
    const COUNT = 10_000;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < COUNT; i++) {
      sends.push(client.send(Messages.executionRequest({ requestId: `m${i}`, functionName: 'seq', input: u32(i), timeoutMs: 0 })));
    }
    const received: number[] = [];
    for (let i = 0; i < COUNT; i++) {
      const message: RuntimeMessage = await server.receive({ timeoutMs: 15_000 });
      if (message.type !== 'ExecutionRequest') throw new Error(`unexpected ${message.type}`);
      received.push(Buffer.from(message.input).readUInt32BE(0));
    }
    await Promise.all(sends);
    expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(server.stats().messagesIn).toBe(COUNT);
  });

  it(`${transport}: closes the session with FrameTooLarge when a frame exceeds the receiver's maxFrameSize`, async () => {
    const k = await kernel();
    const listener = await k.listen(listenUrl, { secret: SECRET, handlers: { big: () => new Uint8Array(8 * 1024) } });
    const channel = await k.connect(listener.url, { token: SECRET, maxFrameSize: 4096 });
    const closed = new Promise<CommunicationError | undefined>((resolve) => channel.on('close', resolve));
    const call = invoke(channel, 'big', new Uint8Array(), { timeoutMs: 15_000 });
    await expect(call).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
    expect((await closed)?.code).toBe(ErrorCode.FrameTooLarge);
    // The client learnt the server's limit in the handshake, so its own oversized send fails locally.
    const second = await k.connect(listener.url, { token: SECRET });
    const limited = await k.listen(listenUrl, { secret: SECRET, maxFrameSize: 2048 });
    const toLimited = await k.connect(limited.url, { token: SECRET });
    await expect(invoke(toLimited, 'x', new Uint8Array(4096))).rejects.toMatchObject({ code: ErrorCode.FrameTooLarge });
    expect(toLimited.isConnected()).toBe(true);
    await second.close();
  });

  it(`${transport}: connect() gives up when its signal is aborted`, async () => {
    const k = await kernel();
    const listener = await k.listen(listenUrl, { secret: SECRET });
    await expect(k.connect(listener.url, { token: SECRET, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: ErrorCode.Aborted,
      message: expect.stringMatching(/aborted/),
    });
    expect(listener.connectionCount).toBe(0);
  });

  it(`${transport}: an orderly close on either side ends the peer's channel without an error`, async () => {
    const k = await kernel();
    const serverChannels: CommunicationChannel[] = [];
    const listener = await k.listen(listenUrl, { secret: SECRET, onChannel: (c) => serverChannels.push(c), handlers: { echo: (i) => i } });
    const first = await k.connect(listener.url, { token: SECRET });
    await invoke(first, 'echo', new Uint8Array([1]));
    const serverEnded = new Promise<CommunicationError | undefined>((resolve) => serverChannels[0]!.on('close', resolve));
    await first.close();
    const serverReason = await serverEnded;
    expect(serverReason?.code).toBe(ErrorCode.ChannelClosed);
    expect(serverReason?.message).toMatch(/closed by the peer/);
    const second = await k.connect(listener.url, { token: SECRET });
    await invoke(second, 'echo', new Uint8Array([2]));
    const clientEnded = new Promise<CommunicationError | undefined>((resolve) => second.on('close', resolve));
    await listener.close();
    const reason = await clientEnded;
    expect(reason?.code).toBe(ErrorCode.ChannelClosed);
    expect(reason?.message).toMatch(/closed by the peer/);
    await expect(invoke(second, 'echo', new Uint8Array([3]))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
  });

  it(`${transport}: kernel.close() releases listeners and connections opened through the plugin directly`, async () => {
    const k = await createKernel();
    const plugin = k.transport(transport);
    const frames = await plugin.listen(new URL(listenUrl), {
      maxFrameSize: 1024,
      onConnection: (c) => c.start({ onFrame: () => {}, onClose: () => {} }),
    });
    const client = await plugin.connect(new URL(frames.url), { maxFrameSize: 1024, timeoutMs: 10_000 });
    const ended = new Promise<void>((resolve) => client.start({ onFrame: () => {}, onClose: () => resolve() }));
    await k.close();
    await ended;
    await expect(client.send(new Uint8Array(1))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
    const other = await kernel();
    await expect(other.connect(frames.url, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: ErrorCode.ConnectionRefused });
  });

  it(`${transport}: send() waits while the peer is not reading, and pause() really stops delivery`, async () => {
    const k = await kernel();
    const plugin = k.transport(transport);
    let accept: (c: FrameConnection) => void = () => {};
    const accepted = new Promise<FrameConnection>((resolve) => (accept = resolve));
    const frames: FrameListener = await plugin.listen(new URL(listenUrl), {
      maxFrameSize: 2 * 1024 * 1024,
      onConnection: (c) => accept(c),
    });
    defer(() => frames.close());
    const client = await plugin.connect(new URL(frames.url), { maxFrameSize: 2 * 1024 * 1024, timeoutMs: 10_000 });
    defer(() => client.close());
    const server = await accepted;
    const received: number[] = [];
    server.pause();
    server.start({ onFrame: (f) => received.push(f[0]!), onClose: () => {} });

    const FRAMES = 48;
    let resolved = 0;
    const sends = Array.from({ length: FRAMES }, (_, i) => {
      const frame = new Uint8Array(1024 * 1024).fill(i);
      return client.send(frame).then(() => void resolved++);
    });
    // 48 MiB cannot fit in socket buffers: let the event loop run until the writes stall.
    let last = -1;
    while (resolved !== last) {
      last = resolved;
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    }
    expect(resolved).toBeLessThan(FRAMES);
    expect(received).toEqual([]);

    server.resume();
    await Promise.all(sends);
    await waitUntil(() => received.length === FRAMES);
    expect(received).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
  });
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Yields to the event loop until `condition` holds (no wall-clock sleeps). */
export async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}
