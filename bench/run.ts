import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createKernel, registeredTransports, type Kernel, type Listener } from 'spear-comm';
import { FramePeer } from './frame-peer.js';
import { describeMachine, pinProcesses } from './machine.js';
import { type BenchReport, type CaseMeta, type CaseResult, type Mode, type RoundFigures } from './model.js';
import type { BenchOptions } from './options.js';
import type { Peer } from './peer.js';
import { defaultListenUrl, families as familiesOf, planGroups, RAW_FOR, type Family, type Group, type PlannedCase } from './plan.js';
import { RawStreamPeer } from './raw/stream.js';
import { CaseFailure, runSuite, type SuiteCase } from './runner.js';
import type { RawKind, ServerEndpoints, ServerSpec } from './server-protocol.js';
import { startServer, type ServerProcess } from './server-process.js';
import { ChannelPeer, ECHO_FUNCTION } from './spear-peer.js';
import { formatMicros, formatRate, formatRatio, formatSize, median } from './units.js';
import { codecExchangeLoop, codecRequestLoop, randomPayload, workloadFor, type Workload } from './workloads.js';

export interface BenchIo {
  /** Progress lines. */
  log(line: string): void;
}

const HOST = '127.0.0.1';
const SECRET = 'spear-bench-secret';
const MEMORY_ECHO = 'memory://spear-bench-echo';
const MEMORY_SINK = 'memory://spear-bench-sink';
/** Preferred order of families in the reports; others follow in registration order. */
const FAMILY_ORDER = ['tcp', 'unix', 'websocket', 'grpc', 'nats', 'memory'];

interface Accumulated {
  group: Group;
  meta: PlannedCase;
  rounds: RoundFigures[];
  ratios: number[];
  altRatios: number[];
  p99Ratios: number[];
  /** Per round: [this case's figures, its baseline's figures], for CPU ratios once server CPU is known. */
  pairs: Array<[RoundFigures, RoundFigures | undefined]>;
  /** Why the case failed; a failed case is not run again in later rounds. */
  failed?: string;
}

/** Where the in-process listeners of a transport are: echo and sink URLs. */
type InProcessEndpoints = Record<string, { echo: string; sink: string }>;

/** Decides what to measure from the options and what is installed; throws on names that do not exist. */
export function selectTargets(
  options: BenchOptions,
  installedTransports: readonly string[],
  installedCodecs: readonly string[],
  rawAvailable: readonly string[] = Object.keys(RAW_FOR),
): { transports: string[]; codecs: string[] } {
  const knownRaw = Object.keys(RAW_FOR).filter((name) => rawAvailable.includes(name));
  const requested = options.transports ?? [...new Set([...installedTransports, ...knownRaw])];
  for (const name of requested) {
    if (!installedTransports.includes(name) && !knownRaw.includes(name)) {
      throw new Error(
        `transport "${name}" is not installed; installed: ${installedTransports.join(', ') || '(none)'} (load a third-party one with --plugins <module>)`,
      );
    }
  }
  const rank = (name: string) => (FAMILY_ORDER.includes(name) ? FAMILY_ORDER.indexOf(name) : FAMILY_ORDER.length);
  const transports = [...new Set(requested)].sort((a, b) => rank(a) - rank(b));
  const codecs = options.codecs ?? [...installedCodecs];
  for (const name of codecs) {
    if (!installedCodecs.includes(name))
      throw new Error(`codec "${name}" is not installed; installed: ${installedCodecs.join(', ') || '(none)'}`);
  }
  return { transports, codecs: [...new Set(codecs)] };
}

/**
 * The raw baselines whose library is installed: ws and @grpc/grpc-js are optional peer
 * dependencies, so an installed spear-comm may have neither (their baselines then load lazily).
 */
async function rawBaselinesAvailable(): Promise<string[]> {
  const libraries: Record<string, () => Promise<unknown>> = { websocket: () => import('ws'), grpc: () => import('@grpc/grpc-js') };
  const available: string[] = [];
  for (const name of Object.keys(RAW_FOR)) {
    const load = libraries[name];
    if (!load) available.push(name);
    else if (
      await load().then(
        () => true,
        () => false,
      )
    )
      available.push(name);
  }
  return available;
}

export async function runBench(options: BenchOptions, io: BenchIo): Promise<BenchReport> {
  const loadStart = os.loadavg()[0]!;
  const startedAt = new Date();
  const kernel = await createKernel({ plugins: options.plugins });
  const cleanup: Array<() => Promise<void> | void> = [() => kernel.close()];
  try {
    const { transports, codecs } = selectTargets(options, kernel.transports(), kernel.codecs(), await rawBaselinesAvailable());
    const notes: string[] = [];
    for (const name of transports) {
      if (!kernel.transports().includes(name)) {
        const why = kernel.unavailable.find((u) => u.module.endsWith(`/${name}`));
        notes.push(
          `The ${name} transport is not installed${why ? ` (${describeUnavailable(why.module, why.reason)})` : ''}: only its raw baseline was measured.`,
        );
      }
    }
    // nats needs a nats-server: SPEAR_NATS_URL, or one from PATH for this run; without either, nats is left out and the report says why.
    if (transports.includes('nats')) {
      const nats = await import('./raw/nats.js').then(
        (raw) => raw.benchNatsServer(),
        () => ({ missing: 'its client library is not installed (npm install @nats-io/transport-node)' }),
      );
      if ('missing' in nats) {
        transports.splice(transports.indexOf('nats'), 1);
        notes.push(`nats was not measured: ${nats.missing}.`);
      } else {
        const before = process.env['SPEAR_NATS_URL'];
        cleanup.push(async () => {
          if (before === undefined) delete process.env['SPEAR_NATS_URL'];
          await nats.stop();
        });
        process.env['SPEAR_NATS_URL'] = nats.url;
        notes.push(`nats and raw nats ran through one nats-server (${nats.url}) on this machine, not pinned to a CPU.`);
      }
    }
    const all = familiesOf(transports, kernel.transports(), (name) => kernel.transport(name).capabilities.localOnly);
    for (const f of all) {
      if (f.inProcess && f.transport)
        notes.push(
          `${f.transport} was measured in one process: its client and server both ran in the bench process, with no socket between them, and it is compared with the codec work alone (codec loop), not with a cross-process socket.`,
        );
    }
    const groups = planGroups(all, codecs, options.sizes, options.modes);
    const perRound = groups.reduce((n, g) => n + g.cases.length, 0);
    const total = perRound * options.rounds;
    if (total === 0) throw new Error('nothing to measure: no transport or codec matches the options');

    const pin = pinProcesses(options.pin);
    io.log(
      `spear-comm bench: ${total} case runs (${groups.length} groups × ${options.rounds} round${options.rounds > 1 ? 's' : ''}), about ${estimateMinutes(total, options.caseSeconds)} min; ${pin.description}`,
    );
    io.log(
      `transports: ${transports.join(', ')}; codecs: ${codecs.join(', ')}; sizes: ${options.sizes.map(formatSize).join(', ')}; modes: ${options.modes.join(', ')}`,
    );

    const crossProcess = all.filter((f) => !f.inProcess);
    let server: ServerProcess | undefined;
    if (crossProcess.length > 0) {
      const socketDir = mkdtempSync(join(os.tmpdir(), 'spear-bench-'));
      cleanup.push(() => rmSync(socketDir, { recursive: true, force: true }));
      server = await startServer(serverSpec(crossProcess, options, socketDir), pin.serverCpu);
      cleanup.push(() => server!.stop());
    }
    const inProcess = all.some((f) => f.inProcess && f.transport) ? await listenInProcess(kernel, all, options, cleanup) : {};

    const acc = new Map<string, Accumulated>();
    let done = 0;
    /** Set once the bench server process has died: the cross-process cases left fail with this. */
    let serverDied: string | undefined;
    const began = performance.now();
    const fail = (group: Group, meta: PlannedCase, reason: string) => {
      done++;
      markFailed(acc, group, meta, reason);
      io.log(`[${done}/${total}] ${meta.name} ${formatSize(group.size)} ${group.mode} FAILED: ${reason}`);
    };
    for (let round = 1; round <= options.rounds; round++) {
      for (const group of groups) {
        const title = `round ${round}/${options.rounds} · ${group.family.name} · ${group.mode} · ${formatSize(group.size)}`;
        const thisRound = new Map<string, RoundFigures>();
        let pending = group.cases.filter((meta) => {
          const failed = acc.get(keyOf(group, meta.name))?.failed;
          if (failed === undefined && !(serverDied && !group.family.inProcess)) return true;
          done++;
          return false;
        });
        if (serverDied && !group.family.inProcess) {
          for (const meta of pending) fail(group, meta, serverDied);
          pending = [];
        }
        // A failing case is recorded and the suite goes on with the cases after it.
        while (pending.length > 0) {
          const prepared = await prepareGroup(group, pending, kernel, server?.endpoints, inProcess);
          for (const [meta, reason] of prepared.failures) fail(group, meta, reason);
          try {
            if (prepared.cases.length > 0)
              await runSuite(title, prepared.cases, {
                maxTime: options.caseSeconds,
                minSamples: options.minSamples,
                stallSeconds: 60,
                ...(server && !group.family.inProcess ? { abort: server.died, serverCpuMicros: server.cpuMicros } : {}),
                onCase: (meta, figures) => {
                  done++;
                  thisRound.set(meta.name, figures);
                  const entry = record(acc, group, meta, figures, thisRound);
                  io.log(progressLine(done, total, began, group, meta, figures, entry));
                },
              });
            pending = [];
          } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            const left = prepared.cases.map((c) => c.meta as PlannedCase).filter((meta) => !thisRound.has(meta.name));
            if (err instanceof CaseFailure) {
              const culprit = left.find((meta) => meta.name === err.caseName);
              if (culprit) fail(group, culprit, reason);
              pending = left.filter((meta) => meta !== culprit);
            } else {
              // The server process died (or something outside any one case broke).
              serverDied = reason;
              for (const meta of left) fail(group, meta, reason);
              pending = [];
            }
          } finally {
            await prepared.close();
          }
        }
      }
    }
    const results = [...acc.values()].map(toResult);
    const failed = results.filter((r) => r.failed !== undefined);
    if (failed.length > 0)
      notes.unshift(
        `${failed.length} case${failed.length > 1 ? 's' : ''} failed (the run went on without ${failed.length > 1 ? 'them' : 'it'}): ${failed
          .map((r) => `${r.name} ${r.mode} ${formatSize(r.size)}: ${r.failed}`)
          .join('; ')}`,
      );
    notes.push(loadNote(loadStart, os.loadavg()[0]!, os.cpus().length));
    return {
      tool: 'spear-comm bench',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      machine: describeMachine(pin.description, loadStart),
      settings: {
        transports,
        codecs,
        sizes: options.sizes,
        modes: options.modes,
        rounds: options.rounds,
        caseSeconds: options.caseSeconds,
        minSamples: options.minSamples,
        quick: options.quick,
        plugins: options.plugins,
      },
      results,
      notes,
    };
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch {
        // Cleanup is best effort; the run's own outcome is what gets reported.
      }
    }
  }
}

/** The bench itself keeps up to two CPUs busy; a load beyond the CPU count means others competed with it. */
export function loadNote(start: number, end: number, cpus: number): string {
  const figures = `Load average (1 min) was ${start.toFixed(2)} when the run started and ${end.toFixed(2)} when it ended, on ${cpus} CPUs`;
  return Math.max(start, end) > cpus
    ? `${figures}: other processes competed for the CPUs, so rates are lower and noisier than on an idle machine (ratios and CPU-per-unit figures suffer less).`
    : `${figures}.`;
}

function describeUnavailable(module: string, reason: string): string {
  if (/Cannot find module|ERR_MODULE_NOT_FOUND/.test(reason)) return `${module} is not built or not installed`;
  return `${module}: ${reason.split('\n')[0]!.slice(0, 160)}`;
}

function estimateMinutes(caseRuns: number, caseSeconds: number): string {
  // benny's calibration and connection setup add roughly 0.35 s to each case run.
  return ((caseRuns * (caseSeconds + 0.35)) / 60).toFixed(1);
}

function serverSpec(crossProcess: readonly Family[], options: BenchOptions, socketDir: string): ServerSpec {
  const schemes = new Map(registeredTransports().map((t) => [t.meta.name, t.meta.schemes]));
  const spear = crossProcess
    .filter((f) => f.transport)
    .map((f) => {
      const url = (name: string) =>
        options.urls[f.transport!] ?? defaultListenUrl(f.transport!, schemes.get(f.transport!) ?? [], HOST, socketDir, name);
      return {
        transport: f.transport!,
        echoUrl: url('echo'),
        sinkUrl: url('sink'),
        framesEchoUrl: url('frames-echo'),
        framesSinkUrl: url('frames-sink'),
      };
    });
  const raw = [...new Set(crossProcess.map((f) => f.raw!))] as RawKind[];
  return { plugins: options.plugins, spear, raw, host: HOST, socketDir, secret: SECRET };
}

/** Listens, in this process, on every in-process transport of the run (an echo and a sink listener each). */
async function listenInProcess(
  kernel: Kernel,
  all: readonly Family[],
  options: BenchOptions,
  cleanup: Array<() => Promise<void> | void>,
): Promise<InProcessEndpoints> {
  const listeners: Listener[] = [];
  cleanup.push(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });
  const schemes = new Map(registeredTransports().map((t) => [t.meta.name, t.meta.schemes]));
  const endpoints: InProcessEndpoints = {};
  for (const f of all) {
    if (!f.inProcess || !f.transport) continue;
    const url = (name: string) =>
      f.transport === 'memory'
        ? name === 'echo'
          ? MEMORY_ECHO
          : MEMORY_SINK
        : (options.urls[f.transport!] ?? defaultListenUrl(f.transport!, schemes.get(f.transport!) ?? [], HOST, os.tmpdir(), name));
    const echo = await kernel.listen(url('echo'), { secret: SECRET, handlers: { [ECHO_FUNCTION]: (input) => input } });
    listeners.push(echo);
    const sink = await kernel.listen(url('sink'), { secret: SECRET, onChannel: (channel) => channel.setRequestHandler(() => {}) });
    listeners.push(sink);
    endpoints[f.transport] = { echo: echo.url, sink: sink.url };
  }
  return endpoints;
}

async function connectPeer(
  meta: PlannedCase,
  group: Group,
  kernel: Kernel,
  endpoints: ServerEndpoints | undefined,
  inProcess: InProcessEndpoints,
): Promise<Peer> {
  const sink = group.mode === 'oneway';
  if (meta.kind === 'spear') {
    const url = group.family.inProcess
      ? inProcess[meta.transport!]![sink ? 'sink' : 'echo']
      : endpoints!.spear[meta.transport!]![sink ? 'sink' : 'echo'];
    return new ChannelPeer(await kernel.connect(url, { codec: meta.codec!, token: SECRET, instanceId: `bench-${meta.name}` }));
  }
  if (meta.kind === 'frames') {
    return FramePeer.connect(kernel, meta.transport!, endpoints!.frames[meta.transport!]![sink ? 'sink' : 'echo']);
  }
  const raw = endpoints!.raw;
  switch (meta.transport as RawKind) {
    case 'tcp':
      return RawStreamPeer.connect(raw.tcp!, sink ? 'sink' : 'echo', meta.batched === true);
    case 'unix':
      return RawStreamPeer.connect(raw.unix!, sink ? 'sink' : 'echo', meta.batched === true);
    case 'websocket':
      return (await import('./raw/websocket.js')).RawWebSocketPeer.connect(`${raw.websocket!}/${sink ? 'sink' : 'echo'}`);
    case 'grpc':
      return (await import('./raw/grpc.js')).RawGrpcPeer.connect(raw.grpc!, sink ? 'sink' : 'echo');
    case 'nats':
      return (await import('./raw/nats.js')).RawNatsPeer.connect(raw.nats!);
  }
}

/**
 * Connects the given cases of a group (outside the timed code) and checks each once before benny
 * sees it. A case that cannot be set up is returned in `failures` instead of stopping the others.
 */
async function prepareGroup(
  group: Group,
  metas: readonly PlannedCase[],
  kernel: Kernel,
  endpoints: ServerEndpoints | undefined,
  inProcess: InProcessEndpoints,
): Promise<{ cases: SuiteCase[]; failures: Array<[PlannedCase, string]>; close(): Promise<void> }> {
  const payload = randomPayload(group.size);
  const peers: Peer[] = [];
  const close = async () => {
    await Promise.allSettled(peers.map((p) => p.close()));
  };
  const cases: SuiteCase[] = [];
  const failures: Array<[PlannedCase, string]> = [];
  for (const meta of metas) {
    try {
      let workload: Workload;
      if (meta.kind === 'codec' || meta.kind === 'codec-loop') {
        const codec = kernel.codec(meta.codec!);
        workload =
          meta.kind === 'codec-loop' && group.mode !== 'oneway' ? codecExchangeLoop(codec, payload) : codecRequestLoop(codec, payload);
        await workload.op();
      } else {
        const peer = await connectPeer(meta, group, kernel, endpoints, inProcess);
        peers.push(peer);
        if (group.mode === 'oneway') {
          await peer.send(payload);
          await peer.sync();
        } else {
          await peer.roundTrip(payload);
        }
        workload = workloadFor(group.mode as Exclude<Mode, 'codec'>, peer, payload);
      }
      cases.push({ meta, workload });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      failures.push([meta, `could not set up: ${reason}`]);
    }
  }
  return { cases, failures, close };
}

function keyOf(group: Group, name: string): string {
  return `${group.mode}|${group.size}|${group.family.name}|${name}`;
}

function record(
  acc: Map<string, Accumulated>,
  group: Group,
  meta: PlannedCase,
  figures: RoundFigures,
  thisRound: Map<string, RoundFigures>,
): Accumulated {
  const key = keyOf(group, meta.name);
  let entry = acc.get(key);
  if (!entry) {
    entry = { group, meta, rounds: [], ratios: [], altRatios: [], p99Ratios: [], pairs: [] };
    acc.set(key, entry);
  }
  entry.rounds.push(figures);
  const base = meta.baseline ? thisRound.get(meta.baseline) : undefined;
  entry.pairs.push([figures, base]);
  if (base) {
    entry.ratios.push(figures.rate / base.rate);
    if (figures.p99Us !== undefined && base.p99Us) entry.p99Ratios.push(figures.p99Us / base.p99Us);
  }
  const alt = meta.altBaseline ? thisRound.get(meta.altBaseline) : undefined;
  if (alt) entry.altRatios.push(figures.rate / alt.rate);
  return entry;
}

function markFailed(acc: Map<string, Accumulated>, group: Group, meta: PlannedCase, reason: string): void {
  const key = keyOf(group, meta.name);
  let entry = acc.get(key);
  if (!entry) {
    entry = { group, meta, rounds: [], ratios: [], altRatios: [], p99Ratios: [], pairs: [] };
    acc.set(key, entry);
  }
  entry.failed ??= reason;
}

function optionalMedian(values: number[]): number | undefined {
  return values.length > 0 ? median(values) : undefined;
}

function toResult(entry: Accumulated): CaseResult {
  const { group, meta, rounds } = entry;
  const rate = rounds.length > 0 ? median(rounds.map((r) => r.rate)) : 0;
  const p50 = optionalMedian(rounds.flatMap((r) => (r.p50Us === undefined ? [] : [r.p50Us])));
  const p99 = optionalMedian(rounds.flatMap((r) => (r.p99Us === undefined ? [] : [r.p99Us])));
  const ratio = optionalMedian(entry.ratios);
  const altRatio = optionalMedian(entry.altRatios);
  const p99Ratio = optionalMedian(entry.p99Ratios);
  const cpu = optionalMedian(rounds.flatMap((r) => (r.clientCpuUs === undefined ? [] : [totalCpu(r)])));
  const cpuRatio = optionalMedian(
    entry.pairs.flatMap(([f, b]) => (b && f.clientCpuUs !== undefined && b.clientCpuUs ? [totalCpu(f) / totalCpu(b)] : [])),
  );
  const { batched: _batched, ...caseMeta } = meta;
  const result: CaseResult = {
    ...caseMeta,
    family: group.family.name,
    ...(group.family.inProcess ? { inProcess: true } : {}),
    ...(entry.failed !== undefined ? { failed: entry.failed } : {}),
    mode: group.mode,
    size: group.size,
    inFlight: group.inFlight,
    rate,
    payloadMBps: (rate * group.size) / 1e6,
    rounds,
  };
  if (ratio !== undefined) result.ratio = ratio;
  if (altRatio !== undefined) result.altRatio = altRatio;
  if (p50 !== undefined) result.p50Us = p50;
  if (p99 !== undefined) result.p99Us = p99;
  if (p99Ratio !== undefined) result.p99Ratio = p99Ratio;
  if (cpu !== undefined) result.cpuUs = cpu;
  if (cpuRatio !== undefined) result.cpuRatio = cpuRatio;
  return result;
}

function totalCpu(f: RoundFigures): number {
  return (f.clientCpuUs ?? 0) + (f.serverCpuUs ?? 0);
}

function progressLine(
  done: number,
  total: number,
  began: number,
  group: Group,
  meta: CaseMeta,
  figures: RoundFigures,
  entry: Accumulated,
): string {
  const counter = `[${String(done).padStart(String(total).length)}/${total}]`;
  const what = `${meta.name.padEnd(22)} ${formatSize(group.size).padStart(7)} ${group.mode.padEnd(6)}`;
  const unit = group.mode === 'rr1' ? 'rt/s' : group.mode === 'rr64' ? 'req/s' : group.mode === 'oneway' ? 'msg/s' : 'ops/s';
  let line = `${counter} ${what} ${formatRate(figures.rate).padStart(7)} ${unit.padEnd(5)} ±${figures.rme.toFixed(1)}%`;
  const ratio = entry.ratios.length === entry.rounds.length ? entry.ratios.at(-1) : undefined;
  if (meta.baseline && ratio !== undefined) line += `  ${formatRatio(ratio)} ${meta.baseline}`;
  if (group.mode === 'rr1' && figures.p50Us !== undefined)
    line += `  p50 ${formatMicros(figures.p50Us)} µs p99 ${formatMicros(figures.p99Us)} µs`;
  if (figures.clientCpuUs !== undefined) line += `  client CPU ${formatMicros(figures.clientCpuUs)} µs`;
  const elapsed = (performance.now() - began) / 1000;
  const left = (elapsed / done) * (total - done);
  return `${line}  (${Math.floor(elapsed / 60)}:${String(Math.floor(elapsed % 60)).padStart(2, '0')}, ~${Math.ceil(left / 60)} min left)`;
}
