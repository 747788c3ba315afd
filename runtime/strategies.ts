import { type RuntimeType } from 'spear-comm';

/**
 * How the factory reaches instances of one runtime type: the transports to try, best first.
 * Plain data: replace or edit it, e.g. `{ ...DEFAULT_STRATEGIES.process, fallbacks: [] }`.
 * A transport is named by its transport name (`tcp`, `websocket`) or one of its URL schemes (`ws`).
 */
export interface CommunicationStrategy {
  runtimeType: RuntimeType;
  preferred: string;
  /** Tried in order when the preferred one cannot be used (not installed, path too long, listen failed). */
  fallbacks: readonly string[];
  /** Codec the instance is told to use (default `json`). */
  codec?: string;
}

export const DEFAULT_STRATEGIES: Readonly<Record<RuntimeType, Readonly<CommunicationStrategy>>> = Object.freeze({
  process: Object.freeze({ runtimeType: 'process', preferred: 'unix', fallbacks: Object.freeze(['tcp']) }),
  kubernetes: Object.freeze({ runtimeType: 'kubernetes', preferred: 'grpc', fallbacks: Object.freeze(['tcp']) }),
  wasm: Object.freeze({ runtimeType: 'wasm', preferred: 'memory', fallbacks: Object.freeze([]) }),
  // Instances on other machines meet the host on a NATS cluster; without a NATS server configured, grpc.
  distributed: Object.freeze({ runtimeType: 'distributed', preferred: 'nats', fallbacks: Object.freeze(['grpc']) }),
});

/** The transports of a strategy in the order they are tried. */
export function candidateTransports(strategy: CommunicationStrategy): string[] {
  return [strategy.preferred, ...strategy.fallbacks];
}
