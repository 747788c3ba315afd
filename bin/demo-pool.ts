// The pool part of the demo: several instances behind one InstancePool, one SIGKILLed mid-run,
// every call idempotent so none fails, and a table per member.
import { fileURLToPath } from 'node:url';
import { createKernel } from 'spear-comm';
import { ProcessRuntime, type PoolMemberStats } from 'spear-comm/runtime';
import { expectedOutput } from './demo-functions.js';
import type { DemoProgress } from './demo-progress.js';

const FUNCTIONS = ['upper', 'sha256', 'wordCount'] as const;

export interface PoolDemoResult {
  size: number;
  strategy: string;
  calls: number;
  failed: number;
  retried: number;
  killed: { id: string; pid: number; afterCalls: number } | undefined;
  /** How long the calls that were in flight on the killed member took in all (kill to answer), in ms. */
  failoverMs: number;
  restarts: number;
  /** Members that left the pool for good (the killed one), as they were when they left. */
  gone: PoolMemberStats[];
  members: PoolMemberStats[];
}

/** Runs on its own kernel, so the first part's monitoring counts stay its own. */
export async function runPoolDemo(
  options: { size: number; calls: number; concurrency: number },
  progress: DemoProgress,
  stopped: () => boolean,
): Promise<PoolDemoResult> {
  const began = performance.now();
  const kernel = await createKernel();
  try {
    return await drivePool(new ProcessRuntime(kernel), options, progress, stopped, began);
  } finally {
    await kernel.close();
  }
}

async function drivePool(
  runtime: ProcessRuntime,
  options: { size: number; calls: number; concurrency: number },
  progress: DemoProgress,
  stopped: () => boolean,
  began: number,
): Promise<PoolDemoResult> {
  const pool = await runtime.spawnPool({
    size: options.size,
    idPrefix: 'pool',
    args: [fileURLToPath(new URL('./demo-instance.js', import.meta.url))],
    strategy: 'least-pending',
    stopGraceMs: 2_000,
    restart: { initialDelayMs: 100, maxRestarts: 3 },
  });
  try {
    progress.note(
      `pool: ${options.size} instances (${pool.memberIds().join(', ')}) behind one InstancePool, least-pending, started in ${Math.round(performance.now() - began)} ms`,
    );
    const gone: PoolMemberStats[] = [];
    pool.on('removed', (member) => gone.push(member));
    pool.on('leave', (member, reason) => progress.note(`pool: ${member.id} left the rotation (${reason.code}: ${reason.message})`));
    pool.on('join', (member) => progress.note(`pool: ${member.id} joined the rotation`));
    const killAfter = Math.floor(options.calls / 3);
    let killed: PoolDemoResult['killed'];
    let killedAt = 0;
    let failoverMs = 0;
    let failed = 0;
    let completed = 0;
    let next = 0;
    const worker = async () => {
      while (next < options.calls && !stopped()) {
        const n = next++;
        const fn = FUNCTIONS[n % FUNCTIONS.length]!;
        const input = Buffer.from(`pool request ${n}: the quick brown fox`);
        const started = performance.now();
        try {
          const output = Buffer.from(await pool.invoke(fn, input, { idempotent: true, timeoutMs: 10_000 })).toString('utf8');
          if (output !== expectedOutput(fn, input)) throw new Error(`${fn} answered ${JSON.stringify(output.slice(0, 40))}`);
        } catch (err) {
          failed++;
          progress.note(`pool: call ${n} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (killedAt && started < killedAt) failoverMs = Math.max(failoverMs, performance.now() - killedAt);
        if (++completed === killAfter) {
          const victim = pool.instances()[0];
          if (victim) {
            killed = { id: victim.id.instanceId, pid: victim.pid!, afterCalls: completed };
            killedAt = performance.now();
            progress.note(`pool: SIGKILL to ${victim.id.instanceId} (pid ${victim.pid}) after ${completed} calls`);
            victim.signal('SIGKILL');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    // Show the replacement the pool started for the killed member (it joins once it has authenticated).
    // The killed member is out of rotation from the moment its connection dropped; it leaves the
    // pool once its exit is seen, and the replacement joins once it has authenticated.
    if (killed && !stopped()) {
      const id = killed.id;
      await new Promise<void>((resolve) => {
        if (gone.some((m) => m.id === id)) return resolve();
        const timer = setTimeout(resolve, 10_000);
        pool.on('removed', (m) => {
          if (m.id !== id) return;
          clearTimeout(timer);
          resolve();
        });
      });
      await pool.whenUp(options.size, { timeoutMs: 10_000 }).catch(() => {});
    }
    const stats = pool.stats();
    return {
      size: options.size,
      strategy: stats.strategy,
      calls: completed,
      failed,
      retried: stats.retries,
      killed,
      failoverMs,
      restarts: stats.restarts,
      gone,
      members: stats.members,
    };
  } finally {
    await pool.close();
  }
}

/** One row per member: the ones that left (as they were when they left), then the ones in the pool at the end. */
export function renderPoolTable(result: PoolDemoResult): string {
  const rows = [...result.gone, ...result.members];
  const header = ['member', 'pid', 'state', 'requests', 'errors', 'p50 ms', 'p99 ms'];
  const cells = [
    header,
    ...rows.map((m) => [
      m.id,
      String(m.pid ?? ''),
      m.state === 'closed' ? 'left (dead)' : m.state === 'up' ? 'in rotation' : 'out (probing)',
      String(m.requests),
      String(m.errors),
      m.latencyMs.p50.toFixed(3),
      m.latencyMs.p99.toFixed(3),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  const format = (line: string[]) =>
    line
      .map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const summary =
    `pool of ${result.size} (${result.strategy}): ${result.calls} idempotent calls, ${result.failed} failed, ${result.retried} retried on another member` +
    (result.killed
      ? `; ${result.killed.id} (pid ${result.killed.pid}) SIGKILLed after ${result.killed.afterCalls} calls, its calls in flight were answered elsewhere within ${result.failoverMs.toFixed(1)} ms of the kill (call timeout 10,000 ms); ${result.restarts} restart(s)`
      : '');
  return [format(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(format), summary].join('\n') + '\n';
}
