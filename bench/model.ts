/** The shapes a bench run produces; the report writers read only these. */

/**
 * - `rr1`: request/response with one request in flight (round trips/s, p50/p99 latency);
 * - `rr64`: request/response with 64 requests in flight on one connection (requests/s);
 * - `oneway`: messages sent without answers, confirmed at the end of each batch (messages/s);
 * - `codec`: encode+decode of one ExecutionRequest, no transport (encode+decode/s).
 */
export type Mode = 'rr1' | 'rr64' | 'oneway' | 'codec';
export const MODES: readonly Mode[] = ['rr1', 'rr64', 'oneway', 'codec'];

export const MODE_TITLES: Record<Mode, string> = {
  rr1: 'Request/response, 1 in flight',
  rr64: 'Request/response, 64 in flight',
  oneway: 'One-way throughput',
  codec: 'Codec encode+decode (no transport)',
};

export const MODE_UNITS: Record<Mode, string> = {
  rr1: 'round trips/s',
  rr64: 'requests/s',
  oneway: 'messages/s',
  codec: 'encode+decode/s',
};

/** How many requests a `rr64` case keeps outstanding. */
export const WINDOW = 64;

/**
 * - `spear`: spear-comm through the kernel (transport × codec);
 * - `raw`: a baseline that uses the socket library directly;
 * - `frames`: the transport plugin alone (FrameConnection, no handshake, codec or channel);
 * - `codec-loop`: the in-process baseline for the memory transport (the codec work alone);
 * - `codec`: a codec measured on its own.
 */
export type CaseKind = 'spear' | 'raw' | 'frames' | 'codec-loop' | 'codec';

export interface CaseMeta {
  /** Unique within a group, e.g. `tcp/cbor`, `raw tcp`, `raw tcp (batched)`. */
  name: string;
  kind: CaseKind;
  /** The spear-comm transport (spear cases) or the socket kind (raw cases). */
  transport?: string;
  codec?: string;
  /** Name of the case in the same group this one is compared with. */
  baseline?: string;
  /** A second comparison (tcp/unix at 64 in flight: the raw client that batches its writes). */
  altBaseline?: string;
}

export interface RoundFigures {
  /** Units per second (see MODE_UNITS), from the median benny sample of this round. */
  rate: number;
  /** benny's own ops/s (mean-based) and relative margin of error, for reference. */
  bennyOps: number;
  rme: number;
  samples: number;
  /** Latency of single requests in µs (request/response cases). */
  p50Us?: number;
  p99Us?: number;
  /**
   * CPU time per unit, µs, of this process and of the server process (cross-process cases).
   * Less sensitive than rates to other load on the machine, since waiting costs no CPU.
   */
  clientCpuUs?: number;
  serverCpuUs?: number;
}

export interface CaseResult extends CaseMeta {
  /** The group's family: a transport name (its baselines included), `memory`, or `codec`. */
  family: string;
  /**
   * The family ran entirely inside the bench process (client and server on one event loop, no
   * socket): the memory transport, and any transport whose capabilities say it is local-only and
   * that has no cross-process baseline. Its figures are not comparable with cross-process ones.
   */
  inProcess?: boolean;
  /**
   * Why the case failed (it threw, rejected, stalled, could not be set up, or the bench server
   * died). Figures of rounds that did complete are kept; the run goes on and exits non-zero.
   */
  failed?: string;
  mode: Mode;
  size: number;
  inFlight: number;
  /** Median over the rounds that completed (0 when none did). */
  rate: number;
  /** Payload bytes per second (payload only, one direction). */
  payloadMBps: number;
  /** Median over rounds of (this case's rate / the baseline's rate in the same round). */
  ratio?: number;
  altRatio?: number;
  p50Us?: number;
  p99Us?: number;
  /** Median over rounds of (this p99 / the baseline's p99 in the same round). */
  p99Ratio?: number;
  /** Median over rounds of client + server CPU µs per unit (server 0 for in-process cases). */
  cpuUs?: number;
  /** Median over rounds of (this cpuUs / the baseline's cpuUs in the same round). */
  cpuRatio?: number;
  rounds: RoundFigures[];
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  v8: string;
  platform: string;
  totalMemoryGiB: number;
  /** 1-minute load average when the run started and ended: how busy the machine was. */
  loadAverageStart: number;
  loadAverageEnd: number;
  /** How the client and server processes were placed on CPUs. */
  pinning: string;
  spearCommVersion: string;
  gitCommit?: string;
}

export interface BenchSettings {
  transports: string[];
  codecs: string[];
  sizes: number[];
  modes: Mode[];
  rounds: number;
  /** benny maxTime per case and round, in seconds. */
  caseSeconds: number;
  minSamples: number;
  quick: boolean;
  plugins: string[];
}

export interface BenchReport {
  tool: 'spear-comm bench';
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  settings: BenchSettings;
  results: CaseResult[];
  /** Things a reader should know: missing transports, skipped cases, what else ran. */
  notes: string[];
}
