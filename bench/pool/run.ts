// `spear-comm bench pool`: throughput of an InstancePool with 1, 2 and 4 members, and what a
// 1-member pool costs against invoking its channel directly — all in one run, over the same
// worker processes, in interleaved rounds (single runs differ by ~20 % on a busy machine).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKernel, invoke } from 'spear-comm';
import { InstancePool, ProcessRuntime, type ProcessInstance } from 'spear-comm/runtime';

export const POOL_USAGE = `Usage: spear-comm bench pool [options]

Spawns worker processes (echo over unix) and measures, in the same run and interleaved rounds:
invoking one worker's channel directly, and InstancePools (least-pending) of 1, 2 and 4 members.
Prints req/s per mode (median of the rounds) and the cost of a 1-member pool against direct.

Options:
  --members a,b      Pool sizes (default 1,2,4)
  --in-flight N      Calls in flight (default 32)
  --size BYTES       Payload size (default 64)
  --seconds S        Length of one measurement (default 2)
  --rounds N         Interleaved rounds (default 3)
  --strategy NAME    round-robin, least-pending, latency (default least-pending)
  --work-us N        CPU time each worker burns per call, in µs (default 0: pure transport;
                     with work, more members can serve more calls if there are cores for them)
  --pairs N          Alternating 250 ms slices of direct and pool-of-1 for the cost figure
                     (default 20; 0 skips)
  --json             Print the figures as JSON
`;

export interface PoolBenchResult {
  inFlight: number;
  size: number;
  seconds: number;
  rounds: number;
  strategy: string;
  /** CPU time each worker burns per call, µs. */
  workUs: number;
  /** req/s per mode ('direct', 'pool-1', 'pool-2', ...) and round. */
  perRound: Record<string, number[]>;
  median: Record<string, number>;
  /** 1 - pool-1/direct per round, and its median (negative: the pool was faster in that round). */
  onePoolCost: number[];
  onePoolCostMedian: number;
  /**
   * The 1-member pool against direct in many short alternating slices (load drifting on a shared
   * machine hits both alike): throughput cost `1 - Σpool/Σdirect` and the host's CPU per call.
   */
  paired?: {
    slices: number;
    sliceMs: number;
    directPerSecond: number;
    poolPerSecond: number;
    throughputCost: number;
    directCpuUsPerCall: number;
    poolCpuUsPerCall: number;
    cpuCost: number;
  };
  cpus: number;
}

export async function runPoolBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: 'boolean' },
      members: { type: 'string', default: '1,2,4' },
      'in-flight': { type: 'string', default: '32' },
      size: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      strategy: { type: 'string', default: 'least-pending' },
      'work-us': { type: 'string', default: '0' },
      pairs: { type: 'string', default: '20' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(POOL_USAGE);
    return 0;
  }
  const members = values.members.split(',').map(Number);
  const inFlight = Number(values['in-flight']);
  const size = Number(values.size);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const strategy = values.strategy;
  const workUs = Number(values['work-us']);
  const pairs = Number(values.pairs);
  const bad =
    !(Number.isInteger(pairs) && pairs >= 0) ||
    !(workUs >= 0) ||
    members.some((n) => !Number.isInteger(n) || n < 1) ||
    !Number.isInteger(inFlight) ||
    inFlight < 1 ||
    !Number.isInteger(size) ||
    size < 0 ||
    !(seconds > 0) ||
    !Number.isInteger(rounds) ||
    rounds < 1 ||
    !['round-robin', 'least-pending', 'latency'].includes(strategy);
  if (bad) {
    process.stderr.write(`spear-comm bench pool: bad option\n\n${POOL_USAGE}`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`[bench pool] ${line}\n`);
  const result = await measurePools({
    members,
    inFlight,
    size,
    seconds,
    rounds,
    workUs,
    pairs,
    strategy: strategy as 'least-pending',
    log,
  });
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderPoolBench(result));
  return 0;
}

export async function measurePools(options: {
  members: number[];
  inFlight: number;
  size: number;
  seconds: number;
  rounds: number;
  workUs: number;
  /** Alternating slice pairs for the 1-member cost (0: skip). */
  pairs: number;
  strategy: 'round-robin' | 'least-pending' | 'latency';
  log: (line: string) => void;
}): Promise<PoolBenchResult> {
  const kernel = await createKernel();
  try {
    const runtime = new ProcessRuntime(kernel);
    const most = Math.max(...options.members);
    const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
    options.log(`starting ${most} worker processes`);
    const instances: ProcessInstance[] = await Promise.all(
      Array.from({ length: most }, (_, i) =>
        runtime.spawn({ instanceId: `bench-pool-${i + 1}`, args: [worker], env: { BENCH_POOL_WORK_US: String(options.workUs) } }),
      ),
    );
    const input = new Uint8Array(options.size).fill(7);
    const direct = instances[0]!.channel;
    const modes: Array<[string, () => Promise<unknown>]> = [['direct', () => invoke(direct, 'echo', input, { timeoutMs: 30_000 })]];
    const pools: InstancePool[] = [];
    for (const n of options.members) {
      const pool = new InstancePool({ members: instances.slice(0, n), strategy: options.strategy });
      pools.push(pool);
      modes.push([`pool-${n}`, () => pool.invoke('echo', input, { idempotent: true, timeoutMs: 30_000 })]);
    }
    const perRound: Record<string, number[]> = Object.fromEntries(modes.map(([name]) => [name, []]));
    for (const [, call] of modes) await rate(call, options.inFlight, 300); // warm-up
    for (let round = 1; round <= options.rounds; round++) {
      // Alternate the order so that no mode always runs first (or right after the same one).
      const order = round % 2 === 1 ? modes : [...modes].reverse();
      for (const [name, call] of order) {
        const perSecond = await rate(call, options.inFlight, options.seconds * 1000);
        perRound[name]!.push(perSecond);
        options.log(`round ${round}/${options.rounds} ${name.padEnd(8)} ${Math.round(perSecond)} req/s`);
      }
    }
    let paired: PoolBenchResult['paired'];
    const onePoolMode = modes.find(([name]) => name === 'pool-1');
    if (onePoolMode && options.pairs > 0) {
      const sliceMs = 250;
      const total = { direct: { calls: 0, ms: 0, cpuUs: 0 }, pool: { calls: 0, ms: 0, cpuUs: 0 } };
      const add = (into: Slice, s: Slice) => ((into.calls += s.calls), (into.ms += s.ms), (into.cpuUs += s.cpuUs));
      options.log(`${options.pairs} alternating ${sliceMs} ms slice pairs: direct vs pool of 1`);
      for (let i = 0; i < options.pairs; i++) {
        const first = i % 2 === 0;
        const a = await slice(first ? modes[0]![1] : onePoolMode[1], options.inFlight, sliceMs);
        const b = await slice(first ? onePoolMode[1] : modes[0]![1], options.inFlight, sliceMs);
        add(total.direct, first ? a : b);
        add(total.pool, first ? b : a);
      }
      const perSecond = (s: Slice) => s.calls / (s.ms / 1000);
      const cpuPerCall = (s: Slice) => s.cpuUs / s.calls;
      paired = {
        slices: options.pairs,
        sliceMs,
        directPerSecond: perSecond(total.direct),
        poolPerSecond: perSecond(total.pool),
        throughputCost: 1 - perSecond(total.pool) / perSecond(total.direct),
        directCpuUsPerCall: cpuPerCall(total.direct),
        poolCpuUsPerCall: cpuPerCall(total.pool),
        cpuCost: cpuPerCall(total.pool) / cpuPerCall(total.direct) - 1,
      };
    }
    for (const pool of pools) await pool.close();
    const median = Object.fromEntries(Object.entries(perRound).map(([name, values]) => [name, middle(values)]));
    const onePool = perRound['pool-1'];
    const onePoolCost = onePool ? onePool.map((v, i) => 1 - v / perRound.direct![i]!) : [];
    return {
      inFlight: options.inFlight,
      size: options.size,
      seconds: options.seconds,
      rounds: options.rounds,
      strategy: options.strategy,
      workUs: options.workUs,
      perRound,
      median,
      onePoolCost,
      onePoolCostMedian: onePoolCost.length ? middle(onePoolCost) : Number.NaN,
      ...(paired ? { paired } : {}),
      cpus: (await import('node:os')).availableParallelism(),
    };
  } finally {
    await kernel.close();
  }
}

export function renderPoolBench(r: PoolBenchResult): string {
  const lines = [
    `InstancePool throughput: ${r.size} B echo over unix${r.workUs ? ` (+${r.workUs} µs of CPU work per call)` : ''}, ${r.inFlight} in flight, ${r.strategy}, ${r.rounds} interleaved rounds of ${r.seconds} s, ${r.cpus} CPUs`,
    '',
    `${'mode'.padEnd(22)}${'req/s (median)'.padStart(16)}  per round`,
  ];
  for (const [name, values] of Object.entries(r.perRound)) {
    const label = name === 'direct' ? 'direct (one channel)' : `pool of ${name.slice(5)}`;
    lines.push(`${label.padEnd(22)}${String(Math.round(r.median[name]!)).padStart(16)}  ${values.map((v) => Math.round(v)).join(', ')}`);
  }
  if (r.onePoolCost.length) {
    const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
    lines.push(
      '',
      `1-member pool vs direct, whole rounds: costs ${pct(r.onePoolCostMedian)} of throughput (median; per round ${r.onePoolCost.map(pct).join(', ')}; negative = the pool was faster)`,
    );
  }
  if (r.paired) {
    const p = r.paired;
    const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
    lines.push(
      `1-member pool vs direct, ${p.slices} alternating ${p.sliceMs} ms slice pairs: ${Math.round(p.poolPerSecond)} vs ${Math.round(p.directPerSecond)} req/s (costs ${pct(p.throughputCost)}); host CPU ${p.poolCpuUsPerCall.toFixed(2)} vs ${p.directCpuUsPerCall.toFixed(2)} µs per call (${pct(p.cpuCost)} more)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Slice {
  calls: number;
  ms: number;
  /** CPU time of this (host) process, µs. */
  cpuUs: number;
}

async function slice(call: () => Promise<unknown>, inFlight: number, ms: number): Promise<Slice> {
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await call();
        calls++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { calls, ms: performance.now() - started, cpuUs: used.user + used.system };
}

async function rate(call: () => Promise<unknown>, inFlight: number, ms: number): Promise<number> {
  const s = await slice(call, inFlight, ms);
  return s.calls / (s.ms / 1000);
}
