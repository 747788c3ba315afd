import type { PluginClass, TlsOptions, Transport, TransportCapabilities } from 'spear-comm';

/** The kit's test categories, in the order they run and are reported. */
export const CATEGORIES = [
  'framing',
  'timeout',
  'isolation',
  'request-response',
  'lifecycle',
  'bad-input',
  'backpressure',
  'streams',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** What to test: one transport, found in the plugin registry, and how to reach it. */
export interface ConformanceTarget {
  /** The transport's registered name (`@Transport({ name })`), or its class. */
  transport: string | PluginClass<Transport>;
  /** Modules to `import()` before the kernel is built, so the transport registers (as in `createKernel({ plugins })`). */
  plugins?: string[];
  /**
   * A fresh URL to listen on; called once per listener. Defaults by scheme: `tcp://127.0.0.1:0`,
   * `unix://<temp dir>/<n>.sock`, `ws://127.0.0.1:0/spear`, `grpc://127.0.0.1:0`, `memory://`.
   */
  address?: () => string;
  /** A URL where nothing listens. Default: listen on `address()`, note the bound URL, close the listener. */
  deadAddress?: () => string | Promise<string>;
  /** TLS material for both ends; with it every listener and connection in the suite uses TLS. */
  tls?: { listen: TlsOptions; connect: TlsOptions };
  /** Transport-specific extras passed through to `listen`/`connect` (`options.extra`). */
  extra?: { listen?: Record<string, unknown>; connect?: Record<string, unknown> };
  /** Overrides for what the transport declares in `capabilities` (e.g. to test a limit lower than the plugin's). */
  capabilities?: Partial<TransportCapabilities>;
  /** Codec for channel-level cases (default `json`). */
  codec?: string;
  /** Run only these categories. */
  only?: Category[];
  /** Longest a single case may run before it fails (default 20 s). */
  caseTimeoutMs?: number;
  /**
   * How long a case waits for something that should happen (a frame, a close, an answer) before
   * it fails (default 10 s). Correct transports take milliseconds; this only bounds how long a
   * broken one takes to fail.
   */
  waitMs?: number;
}

/** Per-transport settings a plugin module can export as `conformance`, so `spear-comm conformance <module>` knows how to reach it. */
export type ConformanceHints = Record<string, Omit<ConformanceTarget, 'transport' | 'plugins' | 'only'>>;

/** The capability manifest the suite selected its cases from (the plugin's, with the target's overrides). */
export type Capabilities = TransportCapabilities;

export interface ResolvedTarget {
  transport: string;
  schemes: string[];
  plugins: string[];
  capabilities: Capabilities;
  address: () => string;
  deadAddress?: () => string | Promise<string>;
  tls?: { listen: TlsOptions; connect: TlsOptions };
  extra: { listen?: Record<string, unknown>; connect?: Record<string, unknown> };
  codec: string;
  only: Category[];
  caseTimeoutMs: number;
  waitMs: number;
}

export type CaseStatus = 'passed' | 'failed' | 'unsupported';

export interface CaseFailure {
  /** Where it failed: the case itself, closing what it opened, or the resource check after it. */
  phase: 'run' | 'teardown' | 'leak';
  message: string;
  stack?: string;
}

export interface CaseResult {
  transport: string;
  category: Category;
  name: string;
  status: CaseStatus;
  durationMs: number;
  /** For `unsupported`: the capability that rules the case out. */
  reason?: string;
  /** For `failed`: every problem found, first one first. */
  failures?: CaseFailure[];
  /** Things the case observed that are worth reading (e.g. bytes accepted before backpressure). */
  notes?: string[];
}

export interface SuiteSummary {
  passed: number;
  failed: number;
  unsupported: number;
}

export interface SuiteReport {
  transport: string;
  schemes: string[];
  capabilities: Capabilities;
  /** An example listen URL the suite used. */
  address: string;
  durationMs: number;
  /** Set when the suite could not run at all (e.g. the transport is not registered). */
  error?: string;
  results: CaseResult[];
  summary: SuiteSummary;
}

export interface ConformanceReport {
  tool: 'spear-comm conformance';
  version: string;
  startedAt: string;
  durationMs: number;
  suites: SuiteReport[];
  summary: SuiteSummary;
  /** True when every applicable case of every suite passed. */
  ok: boolean;
}
