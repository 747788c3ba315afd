// Real child processes over real unix and tcp sockets. Needs `npm run build` first (the fixture
// imports 'spear-comm', which resolves to dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CommunicationError, CommunicationFactory, ErrorCode, ProcessRuntime, createKernel, instanceEnvironment, invoke, socketFileName, withCircuitBreaker,
  type CircuitState, type CommunicationChannel, type ExitInfo, type Kernel, type Listener, type ProcessInstance, type SpawnOptions,
} from 'spear-comm';
import { failOnUnhandledRejections, until } from '../support.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/instance.mjs', import.meta.url));
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

failOnUnhandledRejections();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function host(options: { socketDir?: string } = {}): Promise<{ kernel: Kernel; factory: CommunicationFactory; runtime: ProcessRuntime }> {
  const kernel = await createKernel();
  const factory = options.socketDir ? new CommunicationFactory(kernel, { socketDir: options.socketDir }) : kernel.factory;
  const runtime = new ProcessRuntime(factory);
  cleanups.push(() => kernel.close());
  if (factory !== kernel.factory) cleanups.push(() => factory.close());
  return { kernel, factory, runtime };
}

function start(runtime: ProcessRuntime, options: SpawnOptions = {}): Promise<ProcessInstance> {
  return runtime.spawn({ args: [FIXTURE], startTimeoutMs: 15_000, ...options });
}

function privateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spear-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Running (a zombie waiting to be reaped by whoever inherited it counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const socketPath = (url: string) => decodeURIComponent(new URL(url).pathname);

describe('ProcessRuntime with real child processes', () => {
  it('starts an instance over unix, authenticates it, invokes it and stops it', async () => {
    const { kernel, factory, runtime } = await host();
    const events: string[] = [];
    factory.monitor.on('event', (e) => events.push(e.type));
    const instance = await start(runtime, { instanceId: 'worker-1' });
    expect(instance.channel.transport).toBe('unix');
    expect(instance.channel.state).toBe('connected');
    const path = socketPath(instance.channel.url);
    expect(dirname(path)).toBe(await factory.socketDir());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);

    expect(text(await instance.invoke('upper', Buffer.from('hello')))).toBe('HELLO');
    // The secret was read and removed, so the instance's own children never inherit it.
    expect(JSON.parse(text(await instance.invoke('spearEnv', new Uint8Array())))).toEqual([
      'SPEAR_CODEC', 'SPEAR_COMMUNICATION_ADDRESS', 'SPEAR_COMMUNICATION_PORT', 'SPEAR_COMMUNICATION_TYPE', 'SPEAR_INSTANCE_ID', 'SPEAR_RUNTIME_TYPE',
    ]);
    expect(instance.channel.stats()).toMatchObject({ requests: 2, errors: 0, transport: 'unix', codec: 'json' });
    expect(events.slice(0, 2)).toEqual(['connected', 'authenticated']);

    const pid = instance.pid!;
    const info = await instance.stop();
    expect(info.expected).toBe(true);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(path)).toBe(false);
    expect(runtime.instances()).toEqual([]);
    await expect(instance.invoke('upper', Buffer.from('x'))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });

    const dir = await factory.socketDir();
    await kernel.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses an instance that presents the wrong secret, and says so', async () => {
    const { factory, runtime } = await host();
    const refusals: unknown[] = [];
    factory.monitor.on('error', (e) => refusals.push(e.error));
    const error = await start(runtime, { instanceId: 'impostor', env: { FIXTURE_TOKEN: 'not-the-secret' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommunicationError);
    expect((error as CommunicationError).code).toBe(ErrorCode.ChannelCreationFailed);
    expect((error as CommunicationError).message).toMatch(/exited with code 2 unexpectedly before it connected; the host refused its handshake: invalid token for instance "impostor"/);
    expect(refusals).toEqual([expect.objectContaining({ code: ErrorCode.AuthFailed })]);
    expect(runtime.instances()).toEqual([]);
    expect(factory.channel('impostor')).toBeUndefined();
  });

  it('rejects the pending requests of an instance that crashes, promptly, while other instances carry on', async () => {
    const { runtime } = await host();
    const [doomed, healthy] = await Promise.all([start(runtime, { instanceId: 'doomed' }), start(runtime, { instanceId: 'healthy' })]);
    const exits: Array<[string, ExitInfo]> = [];
    runtime.on('exit', (instance, info) => exits.push([instance.id.instanceId, info]));

    const slow = [1, 2, 3].map(() => doomed.invoke('slow', Buffer.from('60000'), { timeoutMs: 60_000 }).then(() => 'answered', (e: unknown) => e));
    const crash = doomed.invoke('crash', new Uint8Array(), { timeoutMs: 60_000 }).then(() => 'answered', (e: unknown) => e);
    for (const outcome of await Promise.all([...slow, crash])) {
      // ChannelClosed, not Timeout: they did not wait out their 60 s.
      expect(outcome).toMatchObject({ code: ErrorCode.ChannelClosed });
    }
    const info = await doomed.exited;
    expect(info).toEqual({ code: 3, signal: null, expected: false });
    expect(exits).toEqual([['doomed', info]]);
    await expect(doomed.invoke('upper', Buffer.from('x'))).rejects.toThrow(/Instance "doomed" exited with code 3 unexpectedly/);

    expect(text(await healthy.invoke('upper', Buffer.from('still here')))).toBe('STILL HERE');
    expect(runtime.instances()).toEqual([healthy]);
  });

  it('kills an instance that does not connect within the start timeout', async () => {
    const { runtime } = await host();
    const started: ProcessInstance[] = [];
    runtime.on('exit', (instance) => started.push(instance));
    const error = await runtime.spawn({ instanceId: 'mute', args: ['-e', 'setTimeout(() => {}, 60000)'], startTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringMatching(/"mute" did not connect within 300 ms/) });
    expect(started).toHaveLength(1);
    expect(isAlive(started[0]!.pid!)).toBe(false);
    expect(runtime.instances()).toEqual([]);
  });

  it('reports a command that cannot be started', async () => {
    const { runtime } = await host();
    await expect(runtime.spawn({ command: '/nonexistent/program', startTimeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed, message: expect.stringMatching(/failed to start: could not run \/nonexistent\/program/),
    });
  });

  it('forces an instance that ignores SIGTERM to stop after the grace time', async () => {
    const { runtime } = await host();
    const stubborn = await start(runtime, { env: { FIXTURE_IGNORE_SIGTERM: '1' } });
    expect(await stubborn.stop({ graceMs: 200 })).toEqual({ code: null, signal: 'SIGKILL', expected: true });
  });

  it('falls back from unix to tcp when the socket path would be too long, and records why', async () => {
    const deep = join(privateDir(), 'd'.repeat(60), 'e'.repeat(40));
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    const { runtime } = await host({ socketDir: deep });
    const instance = await start(runtime, { instanceId: 'far-away' });
    expect(instance.channel.transport).toBe('tcp');
    expect(instance.channel.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(instance.channel.stats().fallbacks).toEqual([{ transport: 'unix', reason: expect.stringMatching(/over the OS limit of 10[37]/) }]);
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

    await expect(start(runtime, { instanceId: 'nul\0id' })).rejects.toMatchObject({ code: ErrorCode.ChannelCreationFailed, message: expect.stringMatching(/contains NUL/) });
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
    if (outcome instanceof Error) expect(outcome).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringMatching(/heartbeat/) });
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

describe('a host that exits without closing', () => {
  it('takes its instances with it', async () => {
    const host = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/abandoning-host.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    host.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => host.on('exit', resolve));
    expect(code).toBe(0);
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    cleanups.push(() => void (isAlive(pid) && process.kill(pid, 'SIGKILL')));
    // SIGKILLed by the host's exit hook; once init has reaped it, the pid is gone.
    await until(() => !isAlive(pid), `instance ${pid} to be gone`, 1_000_000);
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
        ...process.env, ...instanceEnvironment({ transport: 'unix', address: url, instanceId: id, secret, codec: 'json' }),
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
