import { afterEach, describe, expect, it } from 'vitest';
import { type CommunicationError, ErrorCode, createKernel, invoke, type Kernel, type Listener } from 'spear-comm';
import { checkReconnectPolicy, connectWithReconnect, reconnectDelay, type ReconnectPolicy } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';

failOnUnhandledRejections();

describe('reconnectDelay', () => {
  it('none never retries', () => {
    expect(reconnectDelay({ kind: 'none' }, 0)).toBeUndefined();
  });

  it('fixed waits the same interval until maxAttempts', () => {
    const policy: ReconnectPolicy = { kind: 'fixed', intervalMs: 250, maxAttempts: 3 };
    expect([0, 1, 2, 3].map((a) => reconnectDelay(policy, a))).toEqual([250, 250, 250, undefined]);
    expect(reconnectDelay({ kind: 'fixed', intervalMs: 5 }, 9)).toBe(5);
    expect(reconnectDelay({ kind: 'fixed', intervalMs: 5 }, 10)).toBeUndefined();
  });

  it('exponential grows by the multiplier up to the cap', () => {
    const policy: ReconnectPolicy = { kind: 'exponential', initialMs: 100, maxMs: 1_000, jitter: 'none', maxAttempts: Infinity };
    expect([0, 1, 2, 3, 4, 50, 5_000].map((a) => reconnectDelay(policy, a))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(reconnectDelay({ ...policy, multiplier: 3 }, 2)).toBe(900);
  });

  it('full jitter picks uniformly below the capped value', () => {
    const policy: ReconnectPolicy = { kind: 'exponential', initialMs: 100, maxMs: 1_000, maxAttempts: Infinity };
    expect(reconnectDelay(policy, 3, () => 0)).toBe(0);
    expect(reconnectDelay(policy, 3, () => 0.5)).toBe(400);
    expect(reconnectDelay(policy, 3, () => 0.999999)).toBe(799);
    expect(reconnectDelay(policy, 40, () => 0.999999)).toBe(999);
    const samples = Array.from({ length: 2_000 }, () => reconnectDelay(policy, 2)!);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(400);
    expect(new Set(samples).size).toBeGreaterThan(100);
  });

  it('rejects policies that make no sense, saying why', () => {
    expect(() => checkReconnectPolicy({ kind: 'exponential', initialMs: 100, maxMs: 10 })).toThrow(/maxMs must be >= initialMs/);
    expect(() => checkReconnectPolicy({ kind: 'fixed', intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => checkReconnectPolicy({ kind: 'sometimes' } as unknown as ReconnectPolicy)).toThrow(/kind must be/);
  });
});

describe('ReconnectingChannel (memory transport)', () => {
  let kernel: Kernel;
  afterEach(async () => kernel?.close());

  const fast: ReconnectPolicy = { kind: 'fixed', intervalMs: 5, maxAttempts: 1_000 };
  const listen = (secret = 's') => kernel.listen('memory://host', { secret, handlers: { who: () => Buffer.from(secret) } });

  it('re-dials after the listener restarts and keeps its handlers and subscribers', async () => {
    kernel = await createKernel();
    const listener: Listener = await listen();
    const served: string[] = [];
    listener.on('channel', (ch) => served.push(ch.sessionId));
    const channel = await connectWithReconnect(kernel, 'memory://host', { token: 's', reconnect: fast });
    const disconnects: CommunicationError[] = [];
    const attempts: number[] = [];
    channel.on('disconnected', (reason) => disconnects.push(reason));
    channel.on('reconnecting', (attempt) => attempts.push(attempt));
    expect(Buffer.from(await invoke(channel, 'who', new Uint8Array())).toString()).toBe('s');

    const firstSession = channel.sessionId;
    await listener.close();
    await new Promise((resolve) => channel.on('reconnecting', (attempt) => attempt === 3 && resolve(undefined)));
    expect(channel.isConnected()).toBe(false);
    await expect(invoke(channel, 'who', new Uint8Array())).rejects.toMatchObject({
      code: ErrorCode.ChannelClosed,
      message: expect.stringMatching(/not connected/),
    });

    await listen(); // closed with the kernel
    const back = new Promise((resolve) => channel.on('session', resolve));
    await back;
    expect(channel.sessionId).not.toBe(firstSession);
    expect(Buffer.from(await invoke(channel, 'who', new Uint8Array())).toString()).toBe('s');
    expect(disconnects).toHaveLength(1);
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
    expect(channel.stats()).toMatchObject({ reconnects: 1, sessions: 2, requests: 2 });
  });

  it('gives up after maxAttempts and closes with the last error', async () => {
    kernel = await createKernel();
    const listener = await listen();
    const channel = await connectWithReconnect(kernel, 'memory://host', {
      token: 's',
      reconnect: { kind: 'fixed', intervalMs: 1, maxAttempts: 3 },
    });
    const closed = new Promise<CommunicationError | undefined>((resolve) => channel.on('close', resolve));
    await listener.close();
    const reason = await closed;
    expect(reason).toMatchObject({
      code: ErrorCode.ChannelClosed,
      message: expect.stringMatching(/Gave up reconnecting to memory:\/\/host after 3 attempts: .*[Nn]othing is listening/),
    });
    await expect(channel.receive()).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
  });

  it('stops at once when the restarted host refuses its token', async () => {
    kernel = await createKernel();
    const listener = await listen('old');
    const channel = await connectWithReconnect(kernel, 'memory://host', { token: 'old', reconnect: fast });
    const closed = new Promise<CommunicationError | undefined>((resolve) => channel.on('close', resolve));
    await listener.close();
    await listen('new');
    expect(await closed).toMatchObject({ code: ErrorCode.AuthFailed });
  });

  it('retries the first dial until the host is there, and fails with the last error when it never is', async () => {
    kernel = await createKernel();
    const pending = connectWithReconnect(kernel, 'memory://host', { token: 's', reconnect: fast });
    setImmediate(() => void listen());
    const channel = await pending;
    expect(channel.isConnected()).toBe(true);
    await channel.close();

    const error = await connectWithReconnect(kernel, 'memory://nobody', {
      token: 's',
      reconnect: { kind: 'fixed', intervalMs: 1, maxAttempts: 2 },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.ConnectionRefused, message: expect.stringMatching(/after 2 attempts/) });
    await expect(connectWithReconnect(kernel, 'memory://nobody', { token: 's' })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
    });
  });

  it('receive() waits across a reconnect; close() during the wait ends it', async () => {
    kernel = await createKernel();
    let listener = await listen();
    const hostSides: import('spear-comm').CommunicationChannel[] = [];
    const track = (l: Listener) => l.on('channel', (c) => hostSides.push(c));
    track(listener);
    const channel = await connectWithReconnect(kernel, 'memory://host', { token: 's', reconnect: fast });
    const next = channel.receive();
    await listener.close();
    listener = await listen();
    track(listener);
    await new Promise((resolve) => channel.on('session', resolve));
    await hostSides.at(-1)!.send({ type: 'Ack', requestId: 'unsolicited', timestamp: Date.now(), metadata: {} });
    expect(await next).toMatchObject({ type: 'Ack', requestId: 'unsolicited' });

    const waiting = channel.receive();
    await channel.close();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
    await channel.close();
  });
});
