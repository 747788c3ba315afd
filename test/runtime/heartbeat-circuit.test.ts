import { afterEach, describe, expect, it } from 'vitest';
import {
  CommunicationError,
  ErrorCode,
  createKernel,
  encodeHandshake,
  invoke,
  serve,
  type CommunicationChannel,
  type FrameConnection,
  type Kernel,
} from 'spear-comm';
import { CircuitBreaker, startHeartbeat, withCircuitBreaker, type CircuitState } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { factoryFor } from '../support/factory.js';

failOnUnhandledRejections();

let kernel: Kernel;
afterEach(async () => kernel?.close());

/** A client that completes the handshake and then never reads or answers anything: a silent peer. */
async function silentPeer(url: string, token: string, instanceId: { runtimeType: 'wasm'; instanceId: string }): Promise<FrameConnection> {
  const connection = await kernel.transport('memory').connect(new URL(url), { maxFrameSize: 1 << 20, timeoutMs: 1_000 });
  connection.start({ onFrame: () => {}, onClose: () => {} });
  await connection.send(
    encodeHandshake({
      type: 'AuthRequest',
      requestId: 'hello',
      timestamp: Date.now(),
      metadata: {},
      instanceId: instanceId.instanceId,
      token,
      clientVersion: 'test',
      clientType: instanceId.runtimeType,
      codec: 'json',
      extraParams: {},
    }),
  );
  return connection;
}

async function pair(): Promise<[host: CommunicationChannel, instance: CommunicationChannel]> {
  const listener = await kernel.listen('memory://hb', { secret: 's' });
  const hostSide = new Promise<CommunicationChannel>((resolve) => listener.on('channel', resolve));
  const instance = await kernel.connect(listener.url, { token: 's' });
  return [await hostSide, instance];
}

describe('heartbeats', () => {
  it('keep a live peer alive: probes are answered without any code on the peer', async () => {
    kernel = await createKernel();
    const [host] = await pair();
    const monitor = startHeartbeat(host, { intervalMs: 10, timeoutMs: 2_000 });
    const timeouts: unknown[] = [];
    monitor.on('timeout', (e) => timeouts.push(e));
    await new Promise<void>((resolve) => monitor.on('beat', (_rtt, sequence) => sequence === 3 && resolve()));
    expect(timeouts).toEqual([]);
    expect(host.isConnected()).toBe(true);
    monitor.stop();
  });

  it('detect a silent peer and close its channel', async () => {
    kernel = await createKernel();
    const listener = await kernel.listen('memory://silent', { secret: 's' });
    const hostSide = new Promise<CommunicationChannel>((resolve) => listener.on('channel', resolve));
    await silentPeer(listener.url, 's', { runtimeType: 'wasm', instanceId: 'quiet' });
    const host = await hostSide;
    const monitor = startHeartbeat(host, { intervalMs: 10, timeoutMs: 100 });
    const error = await new Promise<CommunicationError>((resolve) => monitor.on('timeout', resolve));
    expect(error).toMatchObject({
      code: ErrorCode.Timeout,
      message: expect.stringMatching(/instance "quiet".*did not answer a heartbeat within 100 ms/),
    });
    await new Promise((resolve) => (host.isConnected() ? host.on('close', resolve) : resolve(undefined)));
  });

  it('on a factory channel, a silent instance becomes a disconnect with the heartbeat as the reason', async () => {
    kernel = await createKernel();
    const channel = await factoryFor(kernel).createChannelForInstance(
      { runtimeType: 'wasm', instanceId: 'quiet' },
      { heartbeat: { intervalMs: 10, timeoutMs: 100 } },
    );
    const env = channel.environment();
    await silentPeer(channel.url, env.SPEAR_SECRET!, { runtimeType: 'wasm', instanceId: 'quiet' });
    await channel.waitForConnection();
    const pending = invoke(channel, 'anything', new Uint8Array(), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    const reason = await new Promise<CommunicationError>((resolve) => channel.on('disconnected', resolve));
    expect(reason.code).toBe(ErrorCode.Timeout);
    expect(await pending).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringMatching(/heartbeat/) });
    expect(channel.state).toBe('disconnected');
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive peer failures, fails fast, and closes again after a successful trial', async () => {
    kernel = await createKernel();
    const [host, instance] = await pair();
    let release!: () => void;
    let blocked = true;
    serve(instance, {
      work: () => (blocked ? new Promise<Uint8Array>((resolve) => (release = () => resolve(Buffer.from('late')))) : Buffer.from('ok')),
      fail: () => {
        throw new Error('handler failed');
      },
    });
    const guarded = withCircuitBreaker(host, { failureThreshold: 2, resetTimeoutMs: 50 });
    const states: CircuitState[] = [];
    guarded.breaker.on('state', (state) => states.push(state));

    // A function that fails remotely proves the peer is alive: it does not count.
    for (let i = 0; i < 3; i++)
      await expect(invoke(guarded, 'fail', new Uint8Array())).rejects.toMatchObject({ code: ErrorCode.RemoteError });
    expect(guarded.breaker.state).toBe('closed');

    for (let i = 0; i < 2; i++)
      await expect(invoke(guarded, 'work', new Uint8Array(), { timeoutMs: 20 })).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(guarded.breaker.state).toBe('open');
    const sent = host.stats().messagesOut;
    const fastFail = await invoke(guarded, 'work', new Uint8Array()).catch((e: unknown) => e);
    expect(fastFail).toMatchObject({
      code: ErrorCode.CircuitOpen,
      message: expect.stringMatching(/open after 2 consecutive failures.*last failure: No answer/),
    });
    expect(host.stats().messagesOut).toBe(sent);

    await new Promise<void>((resolve) => guarded.breaker.on('state', (s) => s === 'half-open' && resolve()));
    blocked = false;
    release();
    // While one trial runs, other calls still fail fast.
    const trial = invoke(guarded, 'work', new Uint8Array(), { timeoutMs: 5_000 });
    await expect(invoke(guarded, 'work', new Uint8Array())).rejects.toMatchObject({
      code: ErrorCode.CircuitOpen,
      message: expect.stringMatching(/trial call/),
    });
    expect(Buffer.from(await trial).toString()).toBe('ok');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    await guarded.close();
  });

  it('a failed trial opens the circuit again', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10 });
    const states: CircuitState[] = [];
    breaker.on('state', (s) => states.push(s));
    const timeout = () => Promise.reject(new CommunicationError(ErrorCode.Timeout, 'slow'));
    await expect(breaker.execute(timeout)).rejects.toMatchObject({ code: ErrorCode.Timeout });
    await new Promise<void>((resolve) => breaker.on('state', (s) => s === 'half-open' && resolve()));
    await expect(breaker.execute(timeout)).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({ code: ErrorCode.CircuitOpen });
    expect(states).toEqual(['open', 'half-open', 'open']);
    breaker.dispose();
  });

  it('counts what isFailure says, and reset() closes it', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, isFailure: () => true, resetTimeoutMs: 60_000 });
    for (let i = 0; i < 2; i++) await expect(breaker.execute(() => Promise.reject(new Error('any')))).rejects.toThrow('any');
    expect(breaker.state).toBe('open');
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(async () => 'fine')).toBe('fine');
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(TypeError);
  });
});
