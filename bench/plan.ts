import type { CaseMeta, Mode } from './model.js';
import type { RawKind } from './server-protocol.js';

/**
 * What gets measured: families of cases that share a baseline. A cross-process transport is
 * compared with the raw socket it runs on (tcp, unix, ws, grpc; raw tcp for any other), the
 * memory transport with the codec work alone, and codecs with json.
 */
export interface Family {
  /** `tcp`, `unix`, `websocket`, `grpc`, `memory`, `codec`, or a third-party transport's name. */
  name: string;
  /** The spear-comm transport measured in this family, when it is installed. */
  transport?: string;
  raw?: RawKind;
  inProcess: boolean;
}

export interface Group {
  family: Family;
  mode: Mode;
  size: number;
  inFlight: number;
  cases: PlannedCase[];
}

export interface PlannedCase extends CaseMeta {
  /** Raw cases: the client batches the frames of one event-loop turn into one write. */
  batched?: boolean;
}

/** Transports whose built-in raw baseline the bench knows. */
export const RAW_FOR: Record<string, RawKind> = { tcp: 'tcp', unix: 'unix', websocket: 'websocket', grpc: 'grpc', nats: 'nats' };
const RAW_LABEL: Record<RawKind, string> = { tcp: 'raw tcp', unix: 'raw unix', websocket: 'raw ws', grpc: 'raw grpc', nats: 'raw nats' };
/** In-process transports cannot be reached from the server process. */
export const IN_PROCESS = new Set(['memory']);

/**
 * Whether a transport is measured inside the bench process: the memory transport, and any
 * installed transport whose capabilities say `localOnly` and for which the bench has no
 * cross-process raw baseline (unix is local-only too, but it crosses processes and has raw unix).
 */
export function measuredInProcess(name: string, localOnly: boolean): boolean {
  return IN_PROCESS.has(name) || (localOnly && !(name in RAW_FOR));
}

/**
 * The families of a run, one per transport. `localOnly(name)` reads an installed transport's
 * capabilities (absent: only the built-in in-process list counts).
 */
export function families(
  transports: readonly string[],
  installed: readonly string[],
  localOnly: (name: string) => boolean = () => false,
): Family[] {
  return transports.map((name): Family => {
    const transport = installed.includes(name) ? name : undefined;
    if (measuredInProcess(name, transport !== undefined && localOnly(name)))
      return { name, ...(transport ? { transport } : {}), inProcess: true };
    return { name, ...(transport ? { transport } : {}), raw: RAW_FOR[name] ?? 'tcp', inProcess: false };
  });
}

export function rawCaseName(kind: RawKind, batched = false): string {
  return batched ? `${RAW_LABEL[kind]} (batched)` : RAW_LABEL[kind];
}

export function framesCaseName(transport: string): string {
  return `${transport} frames`;
}

export function codecLoopName(codec: string): string {
  return `codec loop (${codec})`;
}

function inFlightOf(mode: Mode): number {
  return mode === 'rr64' ? 64 : 1;
}

function casesFor(family: Family, mode: Mode, codecs: readonly string[]): PlannedCase[] {
  const cases: PlannedCase[] = [];
  if (family.inProcess) {
    if (!family.transport) return cases;
    for (const codec of codecs) {
      cases.push({ name: codecLoopName(codec), kind: 'codec-loop', codec });
      cases.push({
        name: `${family.transport}/${codec}`,
        kind: 'spear',
        transport: family.transport,
        codec,
        baseline: codecLoopName(codec),
      });
    }
    return cases;
  }
  const raw = family.raw!;
  const baseline = rawCaseName(raw);
  cases.push({ name: baseline, kind: 'raw', transport: raw });
  // At 1 in flight there is only ever one frame to write, so batching changes nothing there.
  const batched = (raw === 'tcp' || raw === 'unix') && mode !== 'rr1' ? rawCaseName(raw, true) : undefined;
  if (batched) cases.push({ name: batched, kind: 'raw', transport: raw, batched: true });
  if (family.transport) {
    cases.push({
      name: framesCaseName(family.transport),
      kind: 'frames',
      transport: family.transport,
      baseline,
      ...(batched ? { altBaseline: batched } : {}),
    });
    for (const codec of codecs) {
      cases.push({
        name: `${family.transport}/${codec}`,
        kind: 'spear',
        transport: family.transport,
        codec,
        baseline,
        ...(batched ? { altBaseline: batched } : {}),
      });
    }
  }
  return cases;
}

/** Every group of the run, in the order they run within a round. */
export function planGroups(all: readonly Family[], codecs: readonly string[], sizes: readonly number[], modes: readonly Mode[]): Group[] {
  const groups: Group[] = [];
  for (const mode of modes) {
    for (const size of sizes) {
      if (mode === 'codec') {
        const reference = codecs.includes('json') ? 'json' : undefined;
        const cases = codecs.map((codec): PlannedCase => ({
          name: codec,
          kind: 'codec',
          codec,
          ...(reference && codec !== reference ? { baseline: reference } : {}),
        }));
        // The reference codec goes first so that the others' ratios can be printed as they finish.
        cases.sort((a, b) => Number(b.codec === reference) - Number(a.codec === reference));
        if (cases.length > 0) groups.push({ family: { name: 'codec', inProcess: true }, mode, size, inFlight: 1, cases });
        continue;
      }
      for (const family of all) {
        const cases = casesFor(family, mode, codecs);
        if (cases.length > 0) groups.push({ family, mode, size, inFlight: inFlightOf(mode), cases });
      }
    }
  }
  return groups;
}

/** The URL a transport's bench listener `name` (echo, sink, frames-echo, frames-sink) binds, unless the user gave one with `--url`. */
export function defaultListenUrl(transport: string, schemes: readonly string[], host: string, socketDir: string, name: string): string {
  switch (transport) {
    case 'tcp':
      return `tcp://${host}:0`;
    case 'unix':
      return `unix://${socketDir}/${name}.sock`;
    case 'websocket':
      return `ws://${host}:0/${name}`;
    case 'grpc':
      return `grpc://${host}:0`;
    case 'nats':
      // The run's nats-server (SPEAR_NATS_URL, set by runBench), one subject per listener.
      return `${process.env['SPEAR_NATS_URL'] ?? 'nats://127.0.0.1:4222'}/spear.bench.${name}`;
    default:
      return `${schemes[0] ?? transport}://${host}:0`;
  }
}
