import { CommunicationError, ErrorCode } from 'spear-comm';

/** What a strategy sees of a pool member: read-only figures the pool keeps up to date. */
export interface PoolMemberView {
  /** Stable id (the instance id for a spawned or channel member); the hash strategy hashes it. */
  readonly id: string;
  /** Calls in flight on this member through the pool. */
  readonly pending: number;
  /** Calls this member completed through the pool (answered, successfully or with a remote error). */
  readonly requests: number;
  /**
   * Exponentially weighted moving average of this member's call latency in ms, updated on every
   * answer; before the first answer, the channel's own p50 (0 when it has none).
   */
  readonly latencyEwmaMs: number;
}

/** What a strategy knows about the call it places. */
export interface PoolCall {
  functionName: string;
  /** The caller's `key` (the hash strategy needs it). */
  key: string | undefined;
  /** 1 for the first try, 2 for the first retry on another member... */
  attempt: number;
}

/**
 * Picks the member for a call. `candidates` is never empty and holds only members in rotation
 * that this call has not tried yet, in a stable order (the order members joined). A strategy is a
 * plain object: write your own, or wrap a built-in one.
 */
export interface PoolStrategy {
  readonly name: string;
  pick(candidates: readonly PoolMemberView[], call: PoolCall): PoolMemberView;
}

export type PoolStrategyName = 'round-robin' | 'least-pending' | 'latency' | 'hash';

/** Each call to the next member in turn. */
export function roundRobinStrategy(): PoolStrategy {
  let next = 0;
  return {
    name: 'round-robin',
    pick(candidates) {
      const member = candidates[next % candidates.length]!;
      next = (next + 1) % 1_000_000_007;
      return member;
    },
  };
}

/** The member with the fewest calls in flight; ties go round-robin so idle members share the work. */
export function leastPendingStrategy(): PoolStrategy {
  let turn = 0;
  return {
    name: 'least-pending',
    pick(candidates) {
      const n = candidates.length;
      const start = turn++ % n;
      let best = candidates[start]!;
      for (let i = 1; i < n; i++) {
        const member = candidates[(start + i) % n]!;
        if (member.pending < best.pending) best = member;
      }
      if (turn > 1_000_000_007) turn = 0;
      return best;
    },
  };
}

export interface LatencyStrategyOptions {
  /** Source of randomness in [0, 1) (default Math.random); tests pass a seeded one. */
  random?: () => number;
}

/**
 * Power of two choices over live latency: two members drawn at random, the one with the lower
 * `latencyEwmaMs × (pending + 1)` wins. Slow members get less work without a herd all moving to
 * the single fastest one, and a member with no figures yet (cost 0) gets tried.
 */
export function latencyStrategy(options: LatencyStrategyOptions = {}): PoolStrategy {
  const random = options.random ?? Math.random;
  const cost = (m: PoolMemberView) => m.latencyEwmaMs * (m.pending + 1);
  return {
    name: 'latency',
    pick(candidates) {
      const n = candidates.length;
      if (n === 1) return candidates[0]!;
      const i = Math.floor(random() * n) % n;
      let j = Math.floor(random() * (n - 1)) % (n - 1);
      if (j >= i) j++;
      const a = candidates[i]!;
      const b = candidates[j]!;
      const ca = cost(a);
      const cb = cost(b);
      if (ca !== cb) return ca < cb ? a : b;
      return a.pending <= b.pending ? a : b;
    },
  };
}

/** 32-bit FNV-1a over a string's UTF-16 code units, then a murmur3 finaliser for avalanche. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Consistent hashing (rendezvous / highest-random-weight): a call's `key` goes to the member with
 * the highest `hash(key, member.id)`. The same key reaches the same member while that member is in
 * rotation; when a member leaves, only its keys move (each to its own second choice), and when one
 * joins it takes about 1/n of the keys from the others. Calls without a `key` fail with
 * `InvalidArgument`.
 */
export function hashStrategy(): PoolStrategy {
  return {
    name: 'hash',
    pick(candidates, call) {
      if (call.key === undefined) {
        throw new CommunicationError(
          ErrorCode.InvalidArgument,
          `The hash strategy needs a key: pool.invoke('${call.functionName}', input, { key: '…' })`,
        );
      }
      const keyHash = hash32(call.key);
      let best = candidates[0]!;
      let bestScore = -1;
      for (const member of candidates) {
        const score = hash32(member.id, keyHash);
        if (score > bestScore || (score === bestScore && member.id < best.id)) {
          best = member;
          bestScore = score;
        }
      }
      return best;
    },
  };
}

/** The built-in strategies by name; each call makes a fresh one (strategies keep state such as a turn counter). */
export const POOL_STRATEGIES: Readonly<Record<PoolStrategyName, () => PoolStrategy>> = Object.freeze({
  'round-robin': roundRobinStrategy,
  'least-pending': leastPendingStrategy,
  latency: () => latencyStrategy(),
  hash: hashStrategy,
});

export function resolveStrategy(strategy: PoolStrategy | PoolStrategyName | undefined): PoolStrategy {
  if (strategy === undefined) return leastPendingStrategy();
  if (typeof strategy === 'string') {
    const make = Object.hasOwn(POOL_STRATEGIES, strategy) ? POOL_STRATEGIES[strategy] : undefined;
    if (!make) {
      throw new CommunicationError(
        ErrorCode.InvalidArgument,
        `Unknown pool strategy ${JSON.stringify(strategy)}; known: ${Object.keys(POOL_STRATEGIES).join(', ')}, or pass a { name, pick } object`,
      );
    }
    return make();
  }
  if (typeof strategy !== 'object' || strategy === null || typeof strategy.pick !== 'function') {
    throw new CommunicationError(ErrorCode.InvalidArgument, 'A pool strategy is a name or an object with a pick(candidates, call) method');
  }
  return strategy;
}
