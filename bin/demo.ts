import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CommunicationError, ErrorCode, createKernel, invoke, type Kernel, type RuntimeType } from 'spear-comm';
import { NATS_SERVER_INSTALL, natsServerAvailable, startNatsServer, type NatsServerProcess } from 'spear-comm/plugins/nats';
import { CommunicationFactory, ProcessRuntime, connectFromEnv, type InstanceChannel } from 'spear-comm/runtime';
import { demoFunctions, expectedOutput } from './demo-functions.js';
import { renderPoolTable, runPoolDemo } from './demo-pool.js';
import { DemoProgress } from './demo-progress.js';
import { renderTable, type DemoRow } from './demo-table.js';

const USAGE = `Usage: spear-comm demo [--requests N] [--concurrency N] [--json]

Starts a host that spawns runtime instances over several transports (a process over unix, one
forced onto tcp, a kubernetes-style one over grpc, a wasm-style one in memory), authenticates
each with its own secret, invokes functions on them, and prints per-instance statistics. Where
nats-server is on PATH (or SPEAR_NATS_URL names a server) a distributed-style instance joins
over nats. Then a pool: 3 instances behind one InstancePool, one SIGKILLed mid-run, every call
idempotent (none fails), and a table per pool member.

  --requests N      invocations per instance (default 200; the pool gets 3 × N)
  --concurrency N   invocations in flight per instance (default 8)
  --json            print the results as JSON instead of a table
`;

interface Plan {
  instanceId: string;
  runtimeType: RuntimeType;
  /** Override the runtime type's strategy (the forced-tcp instance). */
  transports?: string[];
  codec: string;
  /** wasm-style: runs inside the host process, over the memory transport. */
  inProcess?: boolean;
}

interface Running {
  plan: Plan;
  channel: InstanceChannel;
  pid: number;
  failures: number;
  firstFailure?: string;
}

const FUNCTIONS = ['upper', 'sha256', 'wordCount'] as const;

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: 'boolean' },
      requests: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '8' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`spear-comm demo: --requests and --concurrency must be positive integers\n\n${USAGE}`);
    return 2;
  }

  const progress = new DemoProgress(process.stderr);
  const kernel = await createKernel();
  const nats = await natsForDemo(kernel, progress);
  const runtime = new ProcessRuntime(new CommunicationFactory(kernel, nats ? { natsUrl: nats.url } : {}));
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.note(`${signal}: stopping the instances (again to force)`);
    void kernel.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const codec = (preferred: string) => (kernel.codecs().includes(preferred) ? preferred : 'json');
    const plans: Plan[] = [
      { instanceId: 'proc-unix-1', runtimeType: 'process', codec: 'json' },
      { instanceId: 'proc-unix-2', runtimeType: 'process', codec: codec('cbor') },
      { instanceId: 'proc-tcp', runtimeType: 'process', transports: ['tcp'], codec: codec('cbor') },
      { instanceId: 'k8s-grpc', runtimeType: 'kubernetes', codec: codec('protobuf') },
      { instanceId: 'wasm-mem', runtimeType: 'wasm', codec: 'json', inProcess: true },
      ...(nats ? [{ instanceId: 'dist-nats', runtimeType: 'distributed' as const, codec: codec('cbor') }] : []),
    ];
    progress.note(`starting ${plans.length} instances (transports installed: ${kernel.transports().join(', ')})`);
    const running = await Promise.all(plans.map((plan) => start(kernel, runtime, plan, progress)));
    await showImpostorRefused(kernel, running[0]!.channel, progress);

    progress.startCounting(requests * running.length);
    await Promise.all(running.map((r) => drive(r, requests, concurrency, progress, () => interrupted)));
    progress.stopCounting();
    const rows = running.map(toRow);
    const pool = interrupted
      ? undefined
      : await runPoolDemo({ size: 3, calls: requests * 3, concurrency: concurrency * 2 }, progress, () => interrupted);

    const monitor = runtime.factory.monitor;
    progress.note('stopping instances');
    await kernel.close();
    const counts = monitor.counts();
    if (interrupted) return 130;
    process.stdout.write(values.json ? `${JSON.stringify({ instances: rows, events: counts, pool }, null, 2)}\n` : renderTable(rows));
    if (!values.json) {
      process.stdout.write(
        `\nevents: ${counts.connected} connected, ${counts.authenticated} authenticated, ${counts.error} refused or failed, ${counts.disconnected} disconnected, ${counts.fallback} fallbacks\n`,
      );
      process.stdout.write(
        'latency is per request with up to --concurrency in flight, measured by the host; all instances stopped, socket files removed\n',
      );
      if (pool) process.stdout.write(`\n${renderPoolTable(pool)}`);
    }
    const failed = rows.reduce((n, row) => n + row.errors, 0) + (pool?.failed ?? 0);
    return failed === 0 ? 0 : 1;
  } catch (err) {
    if (interrupted) return 130;
    throw err;
  } finally {
    progress.stopCounting();
    await kernel.close();
    await nats?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function start(kernel: Kernel, runtime: ProcessRuntime, plan: Plan, progress: DemoProgress): Promise<Running> {
  const began = performance.now();
  const config = { codec: plan.codec, ...(plan.transports ? { transports: plan.transports } : {}) };
  let channel: InstanceChannel;
  let pid: number;
  if (plan.inProcess) {
    channel = await runtime.factory.createChannelForInstance({ runtimeType: plan.runtimeType, instanceId: plan.instanceId }, config);
    // The "instance" side of a wasm-style runtime lives in this process: same kernel, memory transport.
    await connectFromEnv({ env: channel.environment(), kernel, handlers: demoFunctions });
    await channel.waitForConnection({ timeoutMs: 10_000 });
    pid = process.pid;
  } else {
    const instance = await runtime.spawn({
      instanceId: plan.instanceId,
      runtimeType: plan.runtimeType,
      args: [fileURLToPath(new URL('./demo-instance.js', import.meta.url))],
      channel: { ...config, heartbeat: { intervalMs: 1_000 } },
      stopGraceMs: 2_000,
    });
    channel = instance.channel;
    pid = instance.pid!;
  }
  const fallback = channel.fallbacks.map((f) => ` (${f.transport} unavailable: ${f.reason})`).join('');
  progress.note(
    `${plan.instanceId.padEnd(12)} ${plan.runtimeType.padEnd(11)} ${`${channel.transport}/${channel.codec}`.padEnd(14)} pid ${String(pid).padEnd(8)} authenticated in ${Math.round(performance.now() - began)} ms${fallback}`,
  );
  return { plan, channel, pid, failures: 0 };
}

/** Shows that an instance's address only takes that instance's secret. */
async function showImpostorRefused(kernel: Kernel, target: InstanceChannel, progress: DemoProgress): Promise<void> {
  try {
    const intruder = await kernel.connect(target.url, { instanceId: target.instanceId, token: 'a-guessed-secret', timeoutMs: 5_000 });
    await intruder.close();
    throw new CommunicationError(ErrorCode.AuthFailed, `an impostor was let in at ${target.url}`);
  } catch (err) {
    if (!CommunicationError.is(err, ErrorCode.AuthFailed) || err.message.startsWith('an impostor')) throw err;
    progress.note(`a connection to ${target.instanceId.instanceId}'s address with a guessed secret was refused (${err.code})`);
  }
}

/** Runs `total` invocations with `concurrency` in flight, checking every answer. */
async function drive(r: Running, total: number, concurrency: number, progress: DemoProgress, stopped: () => boolean): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total && !stopped()) {
      const n = next++;
      const fn = FUNCTIONS[n % FUNCTIONS.length]!;
      const input = Buffer.from(`request ${n} for ${r.plan.instanceId}: the quick brown fox`);
      try {
        const output = Buffer.from(await invoke(r.channel, fn, input, { timeoutMs: 10_000 })).toString('utf8');
        if (output !== expectedOutput(fn, input)) throw new Error(`${fn} answered ${JSON.stringify(output.slice(0, 40))}`);
      } catch (err) {
        r.failures++;
        r.firstFailure ??= err instanceof Error ? err.message : String(err);
      }
      progress.count();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  if (r.firstFailure) progress.note(`${r.plan.instanceId}: ${r.failures} failed, first: ${r.firstFailure}`);
}

function toRow(r: Running): DemoRow {
  const stats = r.channel.stats();
  return {
    instance: r.plan.instanceId,
    runtime: r.plan.runtimeType,
    transport: stats.transport,
    codec: stats.codec,
    requests: stats.requests,
    errors: r.failures,
    p50Ms: stats.latencyMs.p50,
    p99Ms: stats.latencyMs.p99,
  };
}

/** The NATS server of the demo's distributed instance: SPEAR_NATS_URL, or one started from PATH; none (said so) without either. */
async function natsForDemo(kernel: Kernel, progress: DemoProgress): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  if (!kernel.transports().includes('nats')) return undefined;
  const configured = process.env.SPEAR_NATS_URL;
  if (configured) {
    progress.note(`nats: using the server in SPEAR_NATS_URL (${configured}) for the distributed instance`);
    return { url: configured, stop: () => Promise.resolve() };
  }
  if (!natsServerAvailable()) {
    progress.note(`nats: no distributed instance, nats-server is not on PATH (install it: ${NATS_SERVER_INSTALL})`);
    return undefined;
  }
  let server: NatsServerProcess;
  try {
    server = await startNatsServer();
  } catch (err) {
    progress.note(`nats: no distributed instance, nats-server did not start (${err instanceof Error ? err.message : String(err)})`);
    return undefined;
  }
  progress.note(`nats: started nats-server on ${server.url} for the distributed instance`);
  return { url: server.url, stop: () => server.stop() };
}
