import { afterEach, describe, expect, it } from 'vitest';
import { activeResources, expectNoLeaks } from '../support.js';
import { CommunicationError, ErrorCode, createKernel, invoke, serve, type Kernel } from 'spear-comm';
import { DEFAULT_STRATEGIES, SPEAR_ENV, connectFromEnv, type MonitorEvent } from 'spear-comm/runtime';
import { factoryFor } from '../support/factory.js';

const kernels: Kernel[] = [];
async function kernel(options?: Parameters<typeof createKernel>[0]): Promise<Kernel> {
  const k = await createKernel(options);
  kernels.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('CommunicationFactory (wasm strategy, memory transport)', () => {
  it('gives an instance its own address and secret; the instance connects from its environment and both sides invoke', async () => {
    const k = await kernel();
    const channel = await factoryFor(k).createChannelForInstance(
      { runtimeType: 'wasm', instanceId: 'wasm-1' },
      { handlers: { hostTime: () => Buffer.from('host') } },
    );
    expect(channel.transport).toBe('memory');
    expect(channel.state).toBe('waiting');
    const env = channel.environment();
    expect(env[SPEAR_ENV.address]).toBe(channel.url);
    expect(env[SPEAR_ENV.instanceId]).toBe('wasm-1');
    expect(env[SPEAR_ENV.runtimeType]).toBe('wasm');
    expect(env[SPEAR_ENV.secret]!.length).toBeGreaterThanOrEqual(40);

    const instance = await connectFromEnv({ env, kernel: k, handlers: { upper: (input) => Buffer.from(text(input).toUpperCase()) } });
    await channel.waitForConnection({ timeoutMs: 5_000 });
    expect(channel.state).toBe('connected');
    expect(text(await invoke(channel, 'upper', Buffer.from('hi')))).toBe('HI');
    expect(text(await invoke(instance, 'hostTime', new Uint8Array()))).toBe('host');
    expect(channel.stats()).toMatchObject({ requests: 1, connected: true, transport: 'memory', codec: 'json', sessions: 1, fallbacks: [] });
  });

  it('never shares a secret or a channel between instances', async () => {
    const k = await kernel();
    const a = await factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'a' });
    const b = await factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'b' });
    expect(a.url).not.toBe(b.url);
    expect(a.environment()[SPEAR_ENV.secret]).not.toBe(b.environment()[SPEAR_ENV.secret]);
    await expect(factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'a' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });

    // b's address with a's secret, and a's secret under b's id: both refused.
    const rejected: MonitorEvent[] = [];
    factoryFor(k).monitor.on('error', (e) => rejected.push(e));
    const aSecret = a.environment()[SPEAR_ENV.secret]!;
    await expect(k.connect(b.url, { instanceId: { runtimeType: 'wasm', instanceId: 'b' }, token: aSecret })).rejects.toMatchObject({
      code: ErrorCode.AuthFailed,
    });
    await expect(
      k.connect(b.url, { instanceId: { runtimeType: 'wasm', instanceId: 'a' }, token: b.environment()[SPEAR_ENV.secret]! }),
    ).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    // The right secret under the wrong runtime type is refused too.
    await expect(
      k.connect(b.url, { instanceId: { runtimeType: 'process', instanceId: 'b' }, token: b.environment()[SPEAR_ENV.secret]! }),
    ).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    expect(rejected.map((e) => e.type === 'error' && (e.error as CommunicationError).code)).toEqual([
      ErrorCode.AuthFailed,
      ErrorCode.AuthFailed,
      ErrorCode.AuthFailed,
    ]);
    expect(b.state).toBe('waiting');

    // After a closes, its id may be used again.
    await a.close();
    const again = await factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'a' });
    expect(again.environment()[SPEAR_ENV.secret]).not.toBe(aSecret);
  });

  it('createChannel generates an id of the runtime type', async () => {
    const k = await kernel();
    const channel = await factoryFor(k).createChannel('wasm');
    expect(channel.instanceId.runtimeType).toBe('wasm');
    expect(channel.instanceId.instanceId).toMatch(/^wasm-[0-9a-f-]{36}$/);
  });

  it('falls back when the preferred transport is not installed, and records why', async () => {
    const k = await kernel({ transports: ['memory'] });
    factoryFor(k).setStrategy({ runtimeType: 'process', preferred: 'unix', fallbacks: ['tcp', 'memory'] });
    const seen: MonitorEvent[] = [];
    factoryFor(k).monitor.on('fallback', (e) => seen.push(e));
    const channel = await factoryFor(k).createChannelForInstance({ runtimeType: 'process', instanceId: 'p1' });
    expect(channel.transport).toBe('memory');
    expect(channel.fallbacks.map((f) => f.transport)).toEqual(['unix', 'tcp']);
    expect(channel.fallbacks[0]!.reason).toMatch(/"unix" is not installed \(installed: memory\)/);
    expect(channel.stats().fallbacks).toHaveLength(2);
    expect(seen.map((e) => e.type === 'fallback' && e.transport)).toEqual(['unix', 'tcp']);
    // The default strategies are left as they were.
    expect(DEFAULT_STRATEGIES.process).toEqual({ runtimeType: 'process', preferred: 'unix', fallbacks: ['tcp'] });
  });

  it('falls back when listening fails, and fails with every reason when nothing works', async () => {
    const k = await kernel({ transports: ['memory'] });
    // Someone already listens on the name the instance would get.
    const first = await factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'taken' });
    await first.close();
    const squatter = await k.listen(first.url);
    factoryFor(k).setStrategy({ runtimeType: 'wasm', preferred: 'memory', fallbacks: ['websocket'] });
    const error = await factoryFor(k)
      .createChannelForInstance({ runtimeType: 'wasm', instanceId: 'taken' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommunicationError);
    expect((error as CommunicationError).code).toBe(ErrorCode.ChannelCreationFailed);
    expect((error as CommunicationError).message).toMatch(
      /memory: .*already listening.*; websocket: transport "websocket" is not installed/,
    );
    await squatter.close();
    // The failed attempt did not keep the id reserved.
    expect((await factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'taken' })).transport).toBe('memory');
  });

  it('rejects an unknown codec and an empty id before opening anything', async () => {
    const k = await kernel();
    await expect(factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: '' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
    await expect(factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'x' }, { codec: 'nope' })).rejects.toMatchObject(
      {
        code: ErrorCode.InvalidArgument,
        message: expect.stringMatching(/No codec named "nope"/),
      },
    );
    expect(factoryFor(k).channels()).toHaveLength(0);
  });

  it('keeps one channel object across the instance reconnecting, and stops accepting after close', async () => {
    const k = await kernel();
    const channel = await factoryFor(k).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'w' });
    const env = channel.environment();
    const first = await connectFromEnv({ env, kernel: k });
    serve(first, { who: () => Buffer.from('first') });
    await channel.waitForConnection();
    const disconnected = new Promise((resolve) => channel.on('disconnected', resolve));
    await first.close();
    expect(await disconnected).toBeInstanceOf(CommunicationError);
    expect(channel.state).toBe('disconnected');
    await expect(invoke(channel, 'who', new Uint8Array())).rejects.toMatchObject({
      code: ErrorCode.ChannelClosed,
      message: expect.stringMatching(/not connected/),
    });

    const second = await connectFromEnv({ env, kernel: k, handlers: { who: () => Buffer.from('second') } });
    await channel.waitForConnection();
    expect(text(await invoke(channel, 'who', new Uint8Array()))).toBe('second');
    expect(channel.stats().sessions).toBe(2);

    const secondClosed = new Promise((resolve) => second.on('close', resolve));
    await channel.close();
    // The instance side sees the host go away, and without a reconnect policy it closes for good.
    expect(await secondClosed).toMatchObject({ code: ErrorCode.ChannelClosed });
    await expect(connectFromEnv({ env, kernel: k })).rejects.toMatchObject({ code: ErrorCode.ConnectionRefused });
    expect(factoryFor(k).channel('w')).toBeUndefined();
  });

  it('closing the kernel releases every listener, channel, timer and heartbeat the factory made', async () => {
    const before = activeResources();
    const k = await createKernel();
    const channel = await factoryFor(k).createChannelForInstance(
      { runtimeType: 'wasm', instanceId: 'leak-check' },
      { heartbeat: { intervalMs: 5 } },
    );
    const instance = await connectFromEnv({
      env: channel.environment(),
      kernel: k,
      reconnect: { kind: 'fixed', intervalMs: 5 },
      heartbeat: { intervalMs: 5 },
      handlers: { echo: (i) => i },
    });
    await channel.waitForConnection();
    await invoke(channel, 'echo', Buffer.from('x'));
    await k.close();
    expect(channel.state).toBe('closed');
    expect(instance.isClosed()).toBe(true);
    await expectNoLeaks(before);
  });
});
