import { CommunicationError, ErrorCode, invoke, type CommunicationChannel, type InvokeOptions } from 'spear-comm';

export type MessagePriority = 'low' | 'normal' | 'high';

/** When a rule applies; every field given must match (an empty `when` matches everything). */
export interface RouteMatch {
  /** Input size in bytes, inclusive bounds. */
  minBytes?: number;
  maxBytes?: number;
  priority?: MessagePriority | readonly MessagePriority[];
  /** Function names the rule is for. */
  functions?: readonly string[];
}

/**
 * One routing rule, plain data (it survives `JSON.stringify`): for messages that match `when`,
 * use one of the channels named in `use`. `pick: 'order'` (default) takes the first of them that
 * is connected; `pick: 'latency'` the connected one with the lowest live latency.
 */
export interface RouteRule {
  name?: string;
  when?: RouteMatch;
  use: readonly string[];
  pick?: 'order' | 'latency';
}

export interface RouteRequest {
  /** Size of the input in bytes. */
  bytes: number;
  priority?: MessagePriority;
  functionName?: string;
}

export interface RoutingDecision {
  /** The channel's name. */
  channel: string;
  /** The rule that decided (its name or its index), or undefined for the fallback. */
  rule: string | undefined;
  reason: string;
}

export interface ChannelRouterOptions {
  /** The channels to one instance, by name (e.g. `{ memory, unix }` or `{ unix, tcp }`). */
  channels: Readonly<Record<string, CommunicationChannel>>;
  /** Tried in order; the first that matches and has a connected channel decides. */
  rules?: readonly RouteRule[];
  /**
   * When no rule decides: `latency` (default) takes the connected channel with the lowest live
   * latency; `none` fails the call with `ChannelClosed`.
   */
  fallback?: 'latency' | 'none';
  /** Weight of the newest answer in a channel's latency EWMA (default 0.2). */
  ewmaAlpha?: number;
}

export interface RouterChannelStats {
  name: string;
  connected: boolean;
  /** Calls routed here through the router. */
  routed: number;
  /** The latency the router ranks by: its EWMA of answers, or the channel's p50 before any. */
  latencyMs: number;
}

export interface RouterInvokeOptions extends InvokeOptions {
  priority?: MessagePriority;
}

const PRIORITIES: ReadonlySet<string> = new Set(['low', 'normal', 'high']);

/**
 * Picks one of several channels to the same instance per message (seed 004's routing matrix):
 * rules as data match a message by size, priority and function and name the channels to use;
 * among those, by their order or by live latency.
 */
export class ChannelRouter {
  private readonly channels: ReadonlyMap<string, CommunicationChannel>;
  private readonly rules: readonly RouteRule[];
  private readonly fallback: 'latency' | 'none';
  private readonly alpha: number;
  private readonly ewma = new Map<string, number>();
  private readonly routed = new Map<string, number>();

  constructor(options: ChannelRouterOptions) {
    const entries = Object.entries(options.channels ?? {});
    if (entries.length === 0) throw new CommunicationError(ErrorCode.InvalidArgument, 'ChannelRouter needs at least one channel');
    this.channels = new Map(entries);
    this.rules = (options.rules ?? []).map((rule, i) => checkRule(rule, i, this.channels));
    this.fallback = options.fallback ?? 'latency';
    if (this.fallback !== 'latency' && this.fallback !== 'none') {
      throw new CommunicationError(ErrorCode.InvalidArgument, `fallback must be 'latency' or 'none', got ${JSON.stringify(this.fallback)}`);
    }
    this.alpha = options.ewmaAlpha ?? 0.2;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new CommunicationError(ErrorCode.InvalidArgument, 'ewmaAlpha must be in (0, 1]');
  }

  /** The channel a message like `request` goes over now, and why. */
  route(request: RouteRequest): RoutingDecision {
    const priority = request.priority ?? 'normal';
    if (!PRIORITIES.has(priority)) {
      throw new CommunicationError(ErrorCode.InvalidArgument, `priority must be low, normal or high, got ${JSON.stringify(priority)}`);
    }
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (!matches(rule.when, request, priority)) continue;
      const usable = rule.use.filter((name) => this.channels.get(name)!.isConnected());
      if (usable.length === 0) continue;
      const ruleName = rule.name ?? `#${i}`;
      if (rule.pick === 'latency') {
        const best = this.fastest(usable);
        return {
          channel: best,
          rule: ruleName,
          reason: `rule ${ruleName}: lowest latency of ${usable.join(', ')} (${this.latencyOf(best).toFixed(3)} ms)`,
        };
      }
      const skipped = rule.use.slice(0, rule.use.indexOf(usable[0]!));
      return {
        channel: usable[0]!,
        rule: ruleName,
        reason: `rule ${ruleName}: first connected of ${rule.use.join(', ')}${skipped.length ? ` (${skipped.join(', ')} not connected)` : ''}`,
      };
    }
    const connected = [...this.channels.keys()].filter((name) => this.channels.get(name)!.isConnected());
    if (this.fallback === 'none' || connected.length === 0) {
      throw new CommunicationError(
        ErrorCode.ChannelClosed,
        connected.length === 0
          ? 'No channel of the router is connected'
          : `No routing rule takes a ${request.bytes}-byte ${priority} message`,
      );
    }
    const best = this.fastest(connected);
    return { channel: best, rule: undefined, reason: `no rule matched: lowest latency of ${connected.join(', ')}` };
  }

  /** Invokes `functionName` over the channel `route()` picks for this input, and learns its latency. */
  async invoke(functionName: string, input: Uint8Array, options: RouterInvokeOptions = {}): Promise<Uint8Array> {
    const { priority, ...invokeOptions } = options;
    const decision = this.route({ bytes: input.byteLength, functionName, ...(priority !== undefined ? { priority } : {}) });
    const started = performance.now();
    this.routed.set(decision.channel, (this.routed.get(decision.channel) ?? 0) + 1);
    const output = await invoke(this.channels.get(decision.channel)!, functionName, input, invokeOptions);
    const ms = performance.now() - started;
    const previous = this.ewma.get(decision.channel);
    this.ewma.set(decision.channel, previous === undefined ? ms : previous + this.alpha * (ms - previous));
    return output;
  }

  /** The channel named `name`. */
  channel(name: string): CommunicationChannel | undefined {
    return this.channels.get(name);
  }

  stats(): RouterChannelStats[] {
    return [...this.channels].map(([name, channel]) => ({
      name,
      connected: channel.isConnected(),
      routed: this.routed.get(name) ?? 0,
      latencyMs: this.latencyOf(name),
    }));
  }

  private latencyOf(name: string): number {
    return this.ewma.get(name) ?? this.channels.get(name)!.stats().latencyMs.p50;
  }

  private fastest(names: readonly string[]): string {
    let best = names[0]!;
    for (const name of names) if (this.latencyOf(name) < this.latencyOf(best)) best = name;
    return best;
  }
}

function matches(when: RouteMatch | undefined, request: RouteRequest, priority: MessagePriority): boolean {
  if (!when) return true;
  if (when.minBytes !== undefined && request.bytes < when.minBytes) return false;
  if (when.maxBytes !== undefined && request.bytes > when.maxBytes) return false;
  if (when.priority !== undefined) {
    const allowed = typeof when.priority === 'string' ? [when.priority] : when.priority;
    if (!allowed.includes(priority)) return false;
  }
  if (when.functions !== undefined && (request.functionName === undefined || !when.functions.includes(request.functionName))) return false;
  return true;
}

function checkRule(rule: RouteRule, index: number, channels: ReadonlyMap<string, CommunicationChannel>): RouteRule {
  const label = `routing rule ${rule?.name ?? `#${index}`}`;
  const bad = (what: string) => new CommunicationError(ErrorCode.InvalidArgument, `${label}: ${what}`);
  const use: unknown = (rule as { use?: unknown } | null)?.use;
  if (typeof rule !== 'object' || rule === null || !Array.isArray(use) || use.length === 0)
    throw bad('`use` must name at least one channel');
  const names = use as unknown[];
  for (const name of names) {
    if (typeof name !== 'string') throw bad('`use` holds channel names (strings)');
    if (!channels.has(name)) throw bad(`unknown channel ${JSON.stringify(name)}; channels: ${[...channels.keys()].join(', ')}`);
  }
  if (rule.pick !== undefined && rule.pick !== 'order' && rule.pick !== 'latency') throw bad("`pick` must be 'order' or 'latency'");
  const when = rule.when ?? {};
  for (const key of ['minBytes', 'maxBytes'] as const) {
    const v = when[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) throw bad(`when.${key} must be a number >= 0`);
  }
  if (when.priority !== undefined) {
    const list = typeof when.priority === 'string' ? [when.priority] : when.priority;
    for (const p of list) if (!PRIORITIES.has(p)) throw bad(`unknown priority ${JSON.stringify(p)} (low, normal, high)`);
  }
  return { ...rule, use: names as string[] };
}
