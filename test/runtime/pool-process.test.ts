// Issue #18's "done when": four real worker processes in a least-pending pool, 4,000 idempotent
// invokes with 32 in flight, one member SIGKILLed after 1,000. Needs `npm run build` (the fixture
// imports spear-comm from dist/).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from 'spear-comm';
import type { PoolMemberStats, ProcessInstance } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { FIXTURE, cleanups, host, isAlive, text } from './process-support.js';

failOnUnhandledRejections();

describe('spawnPool with real worker processes', () => {
  it('survives a SIGKILLed member: no idempotent call fails, work is spread, the dead one leaves, nothing runs after close()', async () => {
    const { runtime } = await host();
    const pool = await runtime.spawnPool({
      size: 4,
      args: [FIXTURE],
      strategy: 'least-pending',
      startTimeoutMs: 15_000,
      restart: { initialDelayMs: 50 },
    });
    cleanups.push(() => pool.close());
    const original = pool.instances();
    expect(original).toHaveLength(4);
    const pids = original.map((i) => i.pid!);
    const victim = original[1]!;

    const left: Array<[PoolMemberStats, string]> = [];
    let leftAt = 0;
    pool.on('leave', (member, reason) => {
      leftAt ||= performance.now();
      left.push([member, reason.code]);
    });
    const servedBy = new Map<string, number>();
    let completed = 0;
    let killedAt = 0;
    let slowestAfterKill = 0;
    let next = 0;
    const failures: unknown[] = [];
    const worker = async () => {
      while (next < 4_000) {
        next++;
        const started = performance.now();
        try {
          const pid = text(await pool.invoke('pid', new Uint8Array(), { idempotent: true, timeoutMs: 10_000 }));
          servedBy.set(pid, (servedBy.get(pid) ?? 0) + 1);
        } catch (err) {
          failures.push(err);
        }
        // Calls in flight at the kill: how long after the kill their answer (from another member) came.
        if (killedAt && started <= killedAt) slowestAfterKill = Math.max(slowestAfterKill, performance.now() - killedAt);
        if (++completed === 1_000) {
          killedAt = performance.now();
          victim.signal('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));

    expect(failures).toEqual([]);
    expect(completed).toBe(4_000);
    const stats = pool.stats();
    expect(stats).toMatchObject({ failed: 0, succeeded: 4_000 });
    // Spread: every original member served a fair part before (and the survivors after) the kill.
    for (const pid of pids) expect(servedBy.get(String(pid)) ?? 0, `calls served by ${pid}`).toBeGreaterThan(100);
    expect(servedBy.get(String(victim.pid))).toBeLessThan(1_000);
    // The dead member left the rotation, for good.
    expect(left.map(([m, code]) => [m.id, code])).toEqual([[victim.id.instanceId, ErrorCode.ChannelClosed]]);
    // Out of rotation at once (its connection dropped); removed from the pool once its exit is seen.
    const inRotation = pool
      .stats()
      .members.filter((m) => m.state === 'up')
      .map((m) => m.id);
    expect(inRotation).not.toContain(victim.id.instanceId);
    console.log(
      `pool failover: the member left the rotation ${(leftAt - killedAt).toFixed(1)} ms after the SIGKILL; ${stats.retries} calls retried; the last call in flight at the kill was answered ${slowestAfterKill.toFixed(1)} ms after it (call timeout 10,000 ms)`,
    );

    // A replacement was started in its place.
    await pool.whenUp(4, { timeoutMs: 15_000 });
    expect(pool.memberIds()).not.toContain(victim.id.instanceId);
    const replacement = pool.instances().find((i) => !pids.includes(i.pid!));
    expect(replacement).toBeDefined();
    expect(stats.restarts + pool.stats().restarts).toBeGreaterThanOrEqual(1);

    const all = [...pids, replacement!.pid!];
    await pool.close();
    expect(runtime.instances()).toEqual([]);
    for (const pid of all) expect(isAlive(pid), `process ${pid} still running`).toBe(false);
    await expect(pool.invoke('pid', new Uint8Array())).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
  });

  it('a member whose connection drops leaves at once and rejoins after its instance reconnects and a probe answers', async () => {
    const { runtime } = await host();
    const pool = await runtime.spawnPool({
      size: 2,
      args: [FIXTURE],
      env: { FIXTURE_RECONNECT: JSON.stringify({ kind: 'fixed', intervalMs: 50, maxAttempts: 100 }) },
      probe: { intervalMs: 50 },
      startTimeoutMs: 15_000,
    });
    cleanups.push(() => pool.close());
    const [a, b] = pool.instances() as [ProcessInstance, ProcessInstance];
    const events: string[] = [];
    const left = new Promise<void>((resolve) =>
      pool.on('leave', (m, reason) => {
        events.push(`leave ${m.id} ${reason.code}`);
        resolve();
      }),
    );
    const rejoined = new Promise<void>((resolve) =>
      pool.on('join', (m) => {
        events.push(`join ${m.id}`);
        resolve();
      }),
    );
    // The host ends a's session; the process lives on and connects again.
    await a.channel.session!.close();
    await left;
    expect(events).toEqual([`leave ${a.id.instanceId} ChannelClosed`]);
    // Out of rotation: every call goes to b meanwhile, none waits on a.
    expect(text(await pool.invoke('pid', new Uint8Array()))).toBe(String(b.pid));
    await rejoined;
    expect(events).toEqual([`leave ${a.id.instanceId} ChannelClosed`, `join ${a.id.instanceId}`]);
    const pids = new Set<string>();
    for (let i = 0; i < 6; i++) pids.add(text(await pool.invoke('pid', new Uint8Array())));
    expect(pids).toEqual(new Set([String(a.pid), String(b.pid)]));
    expect(pool.stats().restarts).toBe(0);
  });

  it('does not restart past the cap, and a pool that cannot start fails with the cause and leaves nothing running', async () => {
    const { runtime } = await host();
    const pool = await runtime.spawnPool({ size: 2, args: [FIXTURE], restart: false, startTimeoutMs: 15_000 });
    cleanups.push(() => pool.close());
    const exhausted = new Promise<number>((resolve) => pool.on('restartsExhausted', resolve));
    pool.instances()[0]!.signal('SIGKILL');
    expect(await exhausted).toBe(1);
    expect(text(await pool.invoke('echo', Buffer.from('still here')))).toBe('still here');
    await pool.close();

    await expect(runtime.spawnPool({ size: 0, args: [FIXTURE] })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    const before = runtime.instances().length;
    await expect(runtime.spawnPool({ size: 2, args: ['-e', 'process.exit(7)'], startTimeoutMs: 15_000 })).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
    });
    expect(runtime.instances()).toHaveLength(before);
  });
});
