// Real child processes over real unix and tcp sockets: fallback, hostile ids, heartbeats, circuit breaking, reconnecting.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, createKernel, invoke, type CommunicationChannel, type CommunicationError, type Listener } from 'spear-comm';
import { instanceEnvironment, socketFileName, withCircuitBreaker, type CircuitState } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { FIXTURE, cleanups, host, privateDir, socketPath, start, text } from './process-support.js';

failOnUnhandledRejections();

describe('ProcessRuntime resilience with real child processes', () => {
  it('falls back from unix to tcp when the socket path would be too long, and records why', async () => {
    const deep = join(privateDir(), 'd'.repeat(60), 'e'.repeat(40));
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    const { runtime } = await host({ socketDir: deep });
    const instance = await start(runtime, { instanceId: 'far-away' });
    expect(instance.channel.transport).toBe('tcp');
    expect(instance.channel.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(instance.channel.stats().fallbacks).toEqual([
      { transport: 'unix', reason: expect.stringMatching(/over the OS limit of 10[37]/) },
    ]);
    expect(text(await instance.invoke('upper', Buffer.from('tcp')))).toBe('TCP');
    expect(readdirSync(deep)).toEqual([]);
  });

  it('falls back to tcp when listening on the unix path fails, and can be forced onto tcp', async () => {
    const dir = privateDir();
    writeFileSync(join(dir, socketFileName('squatted')), 'not a socket');
    const { runtime } = await host({ socketDir: dir });
    const squatted = await start(runtime, { instanceId: 'squatted' });
    expect(squatted.channel.transport).toBe('tcp');
    expect(squatted.channel.fallbacks[0]).toEqual({ transport: 'unix', reason: expect.stringMatching(/is not a socket/) });

    const forced = await start(runtime, { instanceId: 'forced', channel: { transports: ['tcp'] } });
    expect(forced.channel.transport).toBe('tcp');
    expect(forced.channel.fallbacks).toEqual([]);
    expect(new URL(forced.channel.url).port).not.toBe(new URL(squatted.channel.url).port);
    expect(text(await forced.invoke('upper', Buffer.from('own port')))).toBe('OWN PORT');
  });

  it('gives hostile instance ids safe, distinct socket files inside the private directory', async () => {
    const { factory, runtime } = await host();
    // (The sanitiser itself is tested on many more ids in addresses.test.ts; these go through real processes and sockets.)
    const ids = ['../../etc/x', 'a/b', '..', '-rf', 'x'.repeat(300), 'x'.repeat(299) + 'y'];
    const instances = await Promise.all(ids.map((instanceId) => start(runtime, { instanceId })));
    const dir = await factory.socketDir();
    const paths = instances.map((i) => socketPath(i.channel.url));
    for (const path of paths) {
      expect(dirname(path)).toBe(dir);
      expect(Buffer.byteLength(path)).toBeLessThanOrEqual(107);
    }
    expect(new Set(paths).size).toBe(ids.length);
    expect(readdirSync(dir).sort()).toEqual(paths.map((p) => p.slice(dir.length + 1)).sort());
    const pids = await Promise.all(instances.map(async (i) => text(await i.invoke('pid', new Uint8Array()))));
    expect(new Set(pids).size).toBe(ids.length);
    expect(instances.map((i) => i.channel.instanceId.instanceId)).toEqual(ids);

    await expect(start(runtime, { instanceId: 'nul\0id' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringMatching(/contains NUL/),
    });
  });

  it('notices a frozen instance with heartbeats and rejects its pending requests', async () => {
    const { runtime } = await host();
    const instance = await start(runtime, { channel: { heartbeat: { intervalMs: 50, timeoutMs: 300 } } });
    const disconnected = new Promise<CommunicationError>((resolve) => instance.channel.on('disconnected', resolve));
    const pending = instance.invoke('echo', Buffer.from('x'), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    // Freeze it after the request is written; the connection stays open, but nobody answers.
    instance.signal('SIGSTOP');
    cleanups.push(() => void instance.signal('SIGCONT'));
    const reason = await disconnected;
    expect(reason).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringMatching(/did not answer a heartbeat within 300 ms/) });
    const outcome = await pending;
    // The echo may have been answered before the freeze took hold; if not, it failed with the heartbeat's reason.
    if (outcome instanceof Error)
      expect(outcome).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringMatching(/heartbeat/) });
    expect(instance.channel.state).toBe('disconnected');
    instance.signal('SIGCONT');
  });

  it('opens a circuit on a frozen instance, fails fast, and recovers through half-open', async () => {
    const { runtime } = await host();
    const instance = await start(runtime);
    const guarded = withCircuitBreaker(instance.channel, { failureThreshold: 2, resetTimeoutMs: 300 });
    const states: CircuitState[] = [];
    guarded.breaker.on('state', (state) => states.push(state));
    instance.signal('SIGSTOP');
    cleanups.push(() => void instance.signal('SIGCONT'));
    for (let i = 0; i < 2; i++) {
      await expect(invoke(guarded, 'echo', Buffer.from('x'), { timeoutMs: 150 })).rejects.toMatchObject({ code: ErrorCode.Timeout });
    }
    expect(guarded.breaker.state).toBe('open');
    const sentBefore = instance.channel.stats().messagesOut;
    await expect(invoke(guarded, 'echo', Buffer.from('x'))).rejects.toMatchObject({ code: ErrorCode.CircuitOpen });
    expect(instance.channel.stats().messagesOut).toBe(sentBefore);

    const halfOpen = new Promise<void>((resolve) => guarded.breaker.on('state', (s) => s === 'half-open' && resolve()));
    instance.signal('SIGCONT');
    await halfOpen;
    expect(text(await invoke(guarded, 'upper', Buffer.from('back'), { timeoutMs: 10_000 }))).toBe('BACK');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });
});

describe('an instance reconnecting to a restarted listener', () => {
  it('re-dials with its policy and serves again on the new listener', async () => {
    const kernel = await createKernel();
    cleanups.push(() => kernel.close());
    const path = join(privateDir(), 'host.sock');
    const url = `unix://${path}`;
    const secret = 'restart-secret-0123456789';
    const id = { runtimeType: 'process' as const, instanceId: 'phoenix' };
    const listen = async (): Promise<[Listener, Promise<CommunicationChannel>]> => {
      const listener = await kernel.listen(url, { validateToken: (token, req) => token === secret && req.instanceId === id.instanceId });
      return [listener, new Promise((resolve) => listener.on('channel', resolve))];
    };

    const [first, firstChannel] = await listen();
    const child: ChildProcess = spawn(process.execPath, [FIXTURE], {
      env: {
        ...process.env,
        ...instanceEnvironment({ transport: 'unix', address: url, instanceId: id, secret, codec: 'json' }),
        FIXTURE_RECONNECT: JSON.stringify({ kind: 'exponential', initialMs: 20, maxMs: 200, maxAttempts: 1000 }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    expect(text(await invoke(await firstChannel, 'upper', Buffer.from('before')))).toBe('BEFORE');
    await first.close();
    // Wait until the instance has noticed and is retrying against nothing.
    await new Promise<void>((resolve) => {
      const check = () => (output.includes('reconnecting 2') ? resolve() : child.stdout!.once('data', check));
      check();
    });
    const [second, secondChannel] = await listen();
    expect(text(await invoke(await secondChannel, 'upper', Buffer.from('after')))).toBe('AFTER');
    await second.close();
  });
});
