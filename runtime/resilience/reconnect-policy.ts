/**
 * When to re-dial after a connection is lost. Plain data, so it can come from configuration.
 * - `none`: never; the channel closes with the reason the connection ended.
 * - `fixed`: every `intervalMs`.
 * - `exponential`: `initialMs * multiplier^attempt`, capped at `maxMs`, with full jitter
 *   (a random delay between 0 and that value) so that many instances losing the same host do
 *   not all come back at the same instant.
 * `maxAttempts` (default 10; `Infinity` for no limit) counts consecutive failed attempts and
 * resets when a connection succeeds.
 */
export type ReconnectPolicy =
  | { kind: 'none' }
  | { kind: 'fixed'; intervalMs: number; maxAttempts?: number }
  | { kind: 'exponential'; initialMs: number; maxMs: number; multiplier?: number; jitter?: 'full' | 'none'; maxAttempts?: number };

const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * The delay before attempt number `attempt` (0 for the first retry), or undefined when the policy
 * gives up. `random` returns a number in [0, 1) and is there so tests can pin the jitter.
 */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number, random: () => number = Math.random): number | undefined {
  if (policy.kind === 'none') return undefined;
  if (attempt >= (policy.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) return undefined;
  if (policy.kind === 'fixed') return Math.max(0, policy.intervalMs);
  const multiplier = policy.multiplier ?? 2;
  // An overflow to Infinity is harmless: the cap applies after it.
  const capped = Math.max(0, Math.min(policy.maxMs, policy.initialMs * Math.pow(multiplier, attempt)));
  return policy.jitter === 'none' ? capped : Math.floor(random() * capped);
}

/** Throws a TypeError that says what is wrong with a policy a user wrote. */
export function checkReconnectPolicy(policy: ReconnectPolicy): void {
  const bad = (why: string) => new TypeError(`Invalid reconnect policy ${JSON.stringify(policy)}: ${why}`);
  switch (policy.kind) {
    case 'none':
      return;
    case 'fixed':
      if (!(policy.intervalMs >= 0)) throw bad('intervalMs must be >= 0');
      break;
    case 'exponential':
      if (!(policy.initialMs > 0)) throw bad('initialMs must be > 0');
      if (!(policy.maxMs >= policy.initialMs)) throw bad('maxMs must be >= initialMs');
      if (policy.multiplier !== undefined && !(policy.multiplier >= 1)) throw bad('multiplier must be >= 1');
      break;
    default:
      throw bad(`kind must be 'none', 'fixed' or 'exponential'`);
  }
  if (policy.maxAttempts !== undefined && !(policy.maxAttempts >= 0)) throw bad('maxAttempts must be >= 0');
}
