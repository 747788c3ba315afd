// Real child processes over real unix sockets: start, authenticate, invoke, stop, and the ways that goes wrong.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode } from 'spear-comm';
import { type ExitInfo, type ProcessInstance } from 'spear-comm/runtime';
import { failOnUnhandledRejections, until } from '../support.js';
import { cleanups, host, isAlive, socketPath, start, text } from './process-support.js';

failOnUnhandledRejections();

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
      'SPEAR_CODEC',
      'SPEAR_COMMUNICATION_ADDRESS',
      'SPEAR_COMMUNICATION_PORT',
      'SPEAR_COMMUNICATION_TYPE',
      'SPEAR_INSTANCE_ID',
      'SPEAR_RUNTIME_TYPE',
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
    expect((error as CommunicationError).message).toMatch(
      /exited with code 2 unexpectedly before it connected; the host refused its handshake: invalid token for instance "impostor"/,
    );
    expect(refusals).toEqual([expect.objectContaining({ code: ErrorCode.AuthFailed })]);
    expect(runtime.instances()).toEqual([]);
    expect(factory.channel('impostor')).toBeUndefined();
  });

  it('rejects the pending requests of an instance that crashes, promptly, while other instances carry on', async () => {
    const { runtime } = await host();
    const [doomed, healthy] = await Promise.all([start(runtime, { instanceId: 'doomed' }), start(runtime, { instanceId: 'healthy' })]);
    const exits: Array<[string, ExitInfo]> = [];
    runtime.on('exit', (instance, info) => exits.push([instance.id.instanceId, info]));

    const slow = [1, 2, 3].map(() =>
      doomed.invoke('slow', Buffer.from('60000'), { timeoutMs: 60_000 }).then(
        () => 'answered',
        (e: unknown) => e,
      ),
    );
    const crash = doomed.invoke('crash', new Uint8Array(), { timeoutMs: 60_000 }).then(
      () => 'answered',
      (e: unknown) => e,
    );
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
    const error = await runtime
      .spawn({ instanceId: 'mute', args: ['-e', 'setTimeout(() => {}, 60000)'], startTimeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringMatching(/"mute" did not connect within 300 ms/) });
    expect(started).toHaveLength(1);
    expect(isAlive(started[0]!.pid!)).toBe(false);
    expect(runtime.instances()).toEqual([]);
  });

  it('reports a command that cannot be started', async () => {
    const { runtime } = await host();
    await expect(runtime.spawn({ command: '/nonexistent/program', startTimeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/failed to start: could not run \/nonexistent\/program/),
    });
  });

  it('forces an instance that ignores SIGTERM to stop after the grace time', async () => {
    const { runtime } = await host();
    const stubborn = await start(runtime, { env: { FIXTURE_IGNORE_SIGTERM: '1' } });
    expect(await stubborn.stop({ graceMs: 200 })).toEqual({ code: null, signal: 'SIGKILL', expected: true });
  });
});

describe('a host that exits without closing', () => {
  it('takes its instances and its socket directory with it', async () => {
    const host = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/abandoning-host.mjs', import.meta.url))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    host.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => host.on('exit', resolve));
    expect(code).toBe(0);
    const [pidText, socketDir] = out.trim().split(' ') as [string, string];
    const pid = Number(pidText);
    expect(pid).toBeGreaterThan(0);
    expect(socketDir).toMatch(/spear-/);
    expect(existsSync(socketDir)).toBe(false);
    cleanups.push(() => void (isAlive(pid) && process.kill(pid, 'SIGKILL')));
    // SIGKILLed by the host's exit hook; once init has reaped it, the pid is gone.
    await until(() => !isAlive(pid), `instance ${pid} to be gone`, 1_000_000);
  });
});
