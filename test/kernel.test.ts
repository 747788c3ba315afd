import { describe, expect, it } from 'vitest';
import { CommunicationError, createKernel, invoke } from 'spear-comm';
import { activeResources, expectNoLeaks, failOnUnhandledRejections, useKernels } from './support.js';

failOnUnhandledRejections();

const kernel = useKernels();

const text = (s: string) => Buffer.from(s, 'utf8');
const str = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function rejection(promise: Promise<unknown>): Promise<CommunicationError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommunicationError);
  return err as CommunicationError;
}

describe('kernel over the public API', () => {
  it('listens with a secret, authenticates a client with the right token, and invokes a served function', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://x', {
      codec: 'json',
      secret: 'right-secret',
      handlers: { upper: (input) => text(str(input).toUpperCase()) },
    });
    expect(listener.url).toBe('memory://x');
    const channel = await k.connect(listener.url, { token: 'right-secret', codec: 'json', instanceId: 'worker-1' });
    expect(str(await invoke(channel, 'upper', text('hello')))).toBe('HELLO');
    expect(channel.isConnected()).toBe(true);
    expect(channel.codec).toBe('json');
    expect(channel.transport).toBe('memory');
    expect(listener.channels()).toHaveLength(1);
    expect(listener.channels()[0]!.instanceId).toEqual({ runtimeType: 'process', instanceId: 'worker-1' });
  });

  it('refuses a wrong token with AuthFailed, without revealing the secret, and keeps serving others', async () => {
    const k = await kernel();
    const rejected: string[] = [];
    const listener = await k.listen('memory://auth', { secret: 'the-real-secret', handlers: { ping: () => text('pong') } });
    listener.on('rejected', (error) => rejected.push(error.code));
    const err = await rejection(k.connect(listener.url, { token: 'a-guess' }));
    expect(err.code).toBe('AuthFailed');
    expect(err.message).toMatch(/invalid token/);
    expect(err.message).not.toContain('the-real-secret');
    expect(rejected).toEqual(['AuthFailed']);
    const ok = await k.connect(listener.url, { token: 'the-real-secret' });
    expect(str(await invoke(ok, 'ping', new Uint8Array()))).toBe('pong');
  });

  it('passes the AuthRequest to validateToken for per-instance secrets', async () => {
    const k = await kernel();
    const secrets: Record<string, string> = { a: 'secret-a', b: 'secret-b' };
    const listener = await k.listen('memory://per-instance', { validateToken: (token, req) => secrets[req.instanceId] === token });
    await expect(k.connect(listener.url, { instanceId: 'a', token: 'secret-a' })).resolves.toBeDefined();
    expect((await rejection(k.connect(listener.url, { instanceId: 'b', token: 'secret-a' }))).code).toBe('AuthFailed');
  });

  it('fails an unknown scheme with UnsupportedTransport naming what is installed', async () => {
    const k = await kernel();
    const err = await rejection(k.connect('carrier-pigeon://coop:1'));
    expect(err.code).toBe('UnsupportedTransport');
    expect(err.message).toContain('carrier-pigeon://');
    expect(err.message).toContain('memory (memory://)');
    expect((await rejection(k.listen('nope://x'))).code).toBe('UnsupportedTransport');
    expect((await rejection(k.connect('not a url'))).code).toBe('UnsupportedTransport');
  });

  it('fails ConnectionRefused when nothing listens, and refuses to listen twice on one name', async () => {
    const k = await kernel();
    const refused = await rejection(k.connect('memory://nobody'));
    expect(refused.code).toBe('ConnectionRefused');
    expect(refused.message).toContain('memory://nobody');
    await k.listen('memory://twice');
    const err = await rejection(k.listen('memory://twice'));
    expect(err.message).toMatch(/already listening/);
  });

  it('times out a request whose handler never answers, at about its timeoutMs', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://slow', { handlers: { hang: () => new Promise<Uint8Array>(() => {}) } });
    const channel = await k.connect(listener.url);
    const started = performance.now();
    const err = await rejection(invoke(channel, 'hang', new Uint8Array(), { timeoutMs: 200 }));
    const elapsed = performance.now() - started;
    expect(err.code).toBe('Timeout');
    expect(err.message).toMatch(/within 200 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(channel.stats().timeouts).toBe(1);
    expect(channel.stats().pendingRequests).toBe(0);
  });

  it('rejects pending requests with ChannelClosed when the channel is closed, and close is idempotent', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://closing', { handlers: { hang: () => new Promise<Uint8Array>(() => {}) } });
    const channel = await k.connect(listener.url);
    const pending = [invoke(channel, 'hang', new Uint8Array()), invoke(channel, 'hang', new Uint8Array())];
    await Promise.all([channel.close(), channel.close()]);
    for (const p of pending) expect((await rejection(p)).code).toBe('ChannelClosed');
    expect(channel.isConnected()).toBe(false);
    expect((await rejection(invoke(channel, 'hang', new Uint8Array()))).code).toBe('ChannelClosed');
    expect((await rejection(channel.send({ type: 'Ack', requestId: 'x', timestamp: 0, metadata: {} }))).code).toBe('ChannelClosed');
  });

  it('rejects pending requests with ChannelClosed when the other side closes', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://remote-close', { handlers: { hang: () => new Promise<Uint8Array>(() => {}) } });
    const channel = await k.connect(listener.url);
    const pending = invoke(channel, 'hang', new Uint8Array());
    await listener.close();
    const err = await rejection(pending);
    expect(err.code).toBe('ChannelClosed');
    expect(err.message).toMatch(/closed by the peer/);
    expect(channel.isConnected()).toBe(false);
  });

  it('gives each of 1,000 concurrent requests its own answer when handlers answer in random order', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://many', {
      handlers: {
        double: async (input) => {
          // Hold each answer for a random number of event-loop turns so answers overtake each other.
          for (let i = Math.floor(Math.random() * 20); i > 0; i--) await new Promise((r) => setImmediate(r));
          return text(String(Number(str(input)) * 2));
        },
      },
    });
    const channel = await k.connect(listener.url);
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => invoke(channel, 'double', text(String(i)))));
    expect(answers.map((a) => Number(str(a)))).toEqual(Array.from({ length: 1000 }, (_, i) => i * 2));
    const stats = channel.stats();
    expect(stats.requests).toBe(1000);
    expect(stats.latencyMs.count).toBe(1000);
    expect(stats.latencyMs.p50).toBeGreaterThan(0);
    expect(stats.latencyMs.p99).toBeGreaterThanOrEqual(stats.latencyMs.p50);
  });

  it('keeps two kernels apart: the same memory name in both, and no way across', async () => {
    const a = await kernel();
    const b = await kernel();
    await a.listen('memory://shared-name', { handlers: { who: () => text('a') } });
    await b.listen('memory://shared-name', { handlers: { who: () => text('b') } });
    expect(str(await invoke(await a.connect('memory://shared-name'), 'who', new Uint8Array()))).toBe('a');
    expect(str(await invoke(await b.connect('memory://shared-name'), 'who', new Uint8Array()))).toBe('b');
    await b.close();
    expect((await rejection(b.connect('memory://shared-name'))).code).toBe('ChannelClosed');
    expect(str(await invoke(await a.connect('memory://shared-name'), 'who', new Uint8Array()))).toBe('a');
  });

  it('leaves no timer, immediate or handle behind after the kernel closes', async () => {
    const before = activeResources();
    const k = await createKernel();
    const listener = await k.listen('memory://leaks', { handlers: { echo: (i) => i, hang: () => new Promise<Uint8Array>(() => {}) } });
    const channel = await k.connect(listener.url);
    await Promise.all(Array.from({ length: 50 }, () => invoke(channel, 'echo', new Uint8Array(10))));
    const hanging = invoke(channel, 'hang', new Uint8Array(), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    const waiting = channel.receive({ timeoutMs: 60_000 }).catch((e: unknown) => e);
    await k.close();
    expect(((await hanging) as CommunicationError).code).toBe('ChannelClosed');
    expect(((await waiting) as CommunicationError).code).toBe('ChannelClosed');
    await expectNoLeaks(before);
  });
});
