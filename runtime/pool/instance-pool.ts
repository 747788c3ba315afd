import {
  CommunicationError,
  Emitter,
  ErrorCode,
  LatencyRecorder,
  Messages,
  abortedError,
  invoke,
  type CommunicationChannel,
  type InvokeOptions,
  type LatencySummary,
  type Metadata,
} from 'spear-comm';
import { ProcessInstance } from '../process-instance.js';
import { isPeerFailure } from '../resilience/circuit-breaker.js';
import { CircuitBreakerChannel } from '../resilience/circuit-breaker-channel.js';
import { resolveStrategy, type PoolMemberView, type PoolStrategy, type PoolStrategyName } from './strategies.js';

/**
 * `up`: in rotation. `down`: out of rotation (its channel lost its connection, its circuit
 * opened, or a call found it unreachable) and probed until it answers again. `closed`: its channel
 * closed for good; it never comes back and is dropped from the pool.
 */
export type PoolMemberState = 'up' | 'down' | 'closed';

/** A pool member: a channel, a spawned instance, or a channel with the id to show for it. */
export type PoolMemberSource = CommunicationChannel | ProcessInstance | { channel: CommunicationChannel; id?: string };

export interface PoolMemberStats {
  id: string;
  state: PoolMemberState;
  /** Why it is out of rotation (when it is). */
  reason?: string;
  /** Calls in flight through the pool. */
  pending: number;
  /** Calls answered (success or a remote error). */
  requests: number;
  /** Calls that failed on this member (any error, including remote errors). */
  errors: number;
  /** Times this member left the rotation. */
  left: number;
  latencyMs: LatencySummary;
  latencyEwmaMs: number;
  /** The process id, for spawned instances. */
  pid?: number;
}

export interface PoolStats {
  strategy: string;
  /** Members in rotation. */
  up: number;
  /** Calls the pool finished successfully / with an error. */
  succeeded: number;
  failed: number;
  /** Extra attempts: idempotent calls tried again on another member. */
  retries: number;
  /** Members ever added, and restarts of dead instances (spawnPool). */
  restarts: number;
  members: PoolMemberStats[];
}

export interface InstancePoolEvents {
  /** A member left the rotation (`reason` says why); `state` is `down` (it may come back) or `closed` (it will not). */
  leave: [member: PoolMemberStats, reason: CommunicationError];
  /** A member joined the rotation: newly added, or back after a successful probe. */
  join: [member: PoolMemberStats];
  /** A member left the pool for good (its channel closed, its process exited, or it was removed); `member.state` is `closed`. */
  removed: [member: PoolMemberStats, reason: CommunicationError];
  /** A call failed on a member and is being tried again on another one. */
  retry: [functionName: string, from: string, error: CommunicationError];
  /** (spawnPool) A dead member is being replaced by a new instance in `delayMs`. */
  restarting: [deadId: string, delayMs: number, restartsSoFar: number];
  /** (spawnPool) A replacement could not be started; it is tried again within the restart cap. */
  restartFailed: [error: unknown];
  /** (spawnPool) The restart cap was reached: the pool now runs with `size` members. */
  restartsExhausted: [size: number];
}

export interface PoolProbeOptions {
  /** How often a member out of rotation is probed (default 500 ms). */
  intervalMs?: number;
  /** How long a probe waits for the HealthCheck answer (default 2 s). */
  timeoutMs?: number;
}

export interface PoolBreakerOptions {
  failureThreshold?: number;
  isFailure?: (error: unknown) => boolean;
}

export interface InstancePoolOptions {
  members?: readonly PoolMemberSource[];
  /** A built-in strategy's name or your own `{ name, pick }` object (default `least-pending`). */
  strategy?: PoolStrategy | PoolStrategyName;
  /**
   * Each member's circuit: after `failureThreshold` (default 5) consecutive failures that
   * `isFailure` counts against the peer (default: Timeout, ChannelClosed, ConnectionRefused — not
   * a RemoteError, which shows the peer alive) the circuit opens, the member leaves the rotation
   * and returns after a successful probe. `false`: no circuit. A member that is a
   * `CircuitBreakerChannel` also leaves when its own breaker opens.
   */
  breaker?: PoolBreakerOptions | false;
  probe?: PoolProbeOptions;
  /** Timeout of a call when the caller gives none (default 30 s); retries happen within it. */
  timeoutMs?: number;
  /**
   * Longest one attempt may take (default: all the time left). Set it below `timeoutMs` so that an
   * idempotent call stuck on a silent member still has time to be retried on another one.
   */
  attemptTimeoutMs?: number;
  /** Most attempts for one idempotent call, the first included (default 3). */
  maxAttempts?: number;
  /** Weight of the newest answer in a member's latency EWMA (default 0.2). */
  ewmaAlpha?: number;
  /** `close()` also closes the members' channels (stops spawned instances); default false. */
  closeMembers?: boolean;
}

export interface PoolInvokeOptions {
  /** The call may run more than once: a retryable failure is tried again on another member. */
  idempotent?: boolean;
  /** Routing key for the `hash` strategy. */
  key?: string;
  /** Overall time for the call, retries included (default: the pool's `timeoutMs`). */
  timeoutMs?: number;
  /** Longest one attempt may take (default: the pool's `attemptTimeoutMs`, else all the time left). */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
  metadata?: Metadata;
}

const DEFAULT_PROBE_INTERVAL_MS = 500;
const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

/** @internal One member and the pool's figures for it. */
export class PoolMember implements PoolMemberView {
  readonly id: string;
  readonly channel: CommunicationChannel;
  readonly instance: ProcessInstance | undefined;
  /** Consecutive peer failures (the pool's circuit for this member). */
  failures = 0;
  state: PoolMemberState = 'up';
  reason: string | undefined;
  pending = 0;
  requests = 0;
  errors = 0;
  left = 0;
  latencyEwmaMs: number;
  readonly latency = new LatencyRecorder();
  probeTimer: NodeJS.Timeout | undefined;
  probing = false;
  readonly detach: Array<() => void> = [];

  constructor(source: PoolMemberSource) {
    if (source instanceof ProcessInstance) {
      this.channel = source.channel;
      this.instance = source;
      this.id = source.id.instanceId;
    } else if ('channel' in source && typeof (source as { channel?: unknown }).channel === 'object') {
      const s = source;
      this.channel = s.channel;
      this.id = s.id ?? s.channel.instanceId.instanceId;
    } else {
      this.channel = source as CommunicationChannel;
      this.id = this.channel.instanceId.instanceId;
    }
    if (typeof this.channel?.request !== 'function' || typeof this.channel.on !== 'function') {
      throw new CommunicationError(
        ErrorCode.InvalidArgument,
        'A pool member is a CommunicationChannel, a ProcessInstance or { channel, id? }',
      );
    }
    this.latencyEwmaMs = this.channel.stats().latencyMs.p50;
  }

  /** The member's own breaker (a CircuitBreakerChannel's), whose opening also takes it out of rotation. */
  get ownBreaker(): CircuitBreakerChannel['breaker'] | null {
    return this.channel instanceof CircuitBreakerChannel ? this.channel.breaker : null;
  }

  stats(): PoolMemberStats {
    const pid = this.instance?.pid;
    return {
      id: this.id,
      state: this.state,
      ...(this.reason !== undefined && this.state !== 'up' ? { reason: this.reason } : {}),
      pending: this.pending,
      requests: this.requests,
      errors: this.errors,
      left: this.left,
      latencyMs: this.latency.summary(),
      latencyEwmaMs: this.latencyEwmaMs,
      ...(pid !== undefined ? { pid } : {}),
    };
  }
}

/**
 * Many instances behind one `invoke()`: a strategy picks a member per call, members whose
 * channel is lost or whose circuit opens leave the rotation at once and come back after a
 * successful probe (a HealthCheck), and idempotent calls that fail with a retryable error are
 * tried again on another member within the caller's timeout. Non-idempotent calls run at most
 * once: they fail with the member's error.
 */
export class InstancePool extends Emitter<InstancePoolEvents> {
  readonly strategy: PoolStrategy;
  protected readonly members: PoolMember[] = [];
  private readonly failureThreshold: number;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly defaultTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly attemptTimeoutMs: number | undefined;
  private readonly alpha: number;
  private readonly closeMembers: boolean;
  private inRotation: PoolMember[] = [];
  private succeeded = 0;
  private failed = 0;
  private retries = 0;
  protected restarts = 0;
  private closing: Promise<void> | undefined;

  constructor(options: InstancePoolOptions = {}) {
    super();
    this.strategy = resolveStrategy(options.strategy);
    const breaker = options.breaker ?? {};
    this.failureThreshold = breaker === false ? Infinity : positive(breaker.failureThreshold, 5, 'breaker.failureThreshold');
    this.isFailure = (breaker !== false && breaker.isFailure) || isPeerFailure;
    this.probeIntervalMs = positive(options.probe?.intervalMs, DEFAULT_PROBE_INTERVAL_MS, 'probe.intervalMs');
    this.probeTimeoutMs = positive(options.probe?.timeoutMs, DEFAULT_PROBE_TIMEOUT_MS, 'probe.timeoutMs');
    this.defaultTimeoutMs = positive(options.timeoutMs, 30_000, 'timeoutMs');
    this.maxAttempts = positive(options.maxAttempts, 3, 'maxAttempts');
    this.attemptTimeoutMs = options.attemptTimeoutMs === undefined ? undefined : positive(options.attemptTimeoutMs, 0, 'attemptTimeoutMs');
    this.alpha = options.ewmaAlpha ?? 0.2;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new CommunicationError(ErrorCode.InvalidArgument, 'ewmaAlpha must be in (0, 1]');
    this.closeMembers = options.closeMembers ?? false;
    for (const source of options.members ?? []) this.add(source);
  }

  /** Adds a member; it joins the rotation at once if its channel is connected, else after a probe. Returns its id. */
  add(source: PoolMemberSource): string {
    if (this.closing) throw new CommunicationError(ErrorCode.ChannelClosed, 'This pool is closed');
    const member = new PoolMember(source);
    if (this.members.some((m) => m.id === member.id)) {
      throw new CommunicationError(ErrorCode.InvalidArgument, `The pool already has a member "${member.id}"`);
    }
    this.members.push(member);
    member.detach.push(
      member.channel.on('close', (error) =>
        this.retire(member, error ?? new CommunicationError(ErrorCode.ChannelClosed, `The channel of member "${member.id}" was closed`)),
      ),
    );
    // Durable channels (instance channels, reconnecting clients) say when their session goes and comes back.
    const durable = member.channel as unknown as {
      on(event: 'disconnected', l: (reason: CommunicationError) => void): () => void;
      on(event: 'session', l: () => void): () => void;
    };
    // (A plain channel never emits these; a wrapper's `on()` reaches the inner channel's events.)
    member.detach.push(
      durable.on('disconnected', (reason: CommunicationError) => this.markDown(member, reason)),
      durable.on('session', () => this.probeSoon(member, 0)),
    );
    const breaker = member.ownBreaker;
    if (breaker) {
      member.detach.push(
        breaker.on('state', (state) => {
          if (state === 'open') {
            this.markDown(member, new CommunicationError(ErrorCode.CircuitOpen, `The circuit of member "${member.id}" opened`));
          }
        }),
      );
    }
    if (member.instance) {
      const instance = member.instance;
      void instance.exited.then((info) => {
        const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
        this.retire(member, new CommunicationError(ErrorCode.ChannelClosed, `Instance "${member.id}" ${how}`));
      });
    }
    if (member.channel.isConnected()) {
      this.inRotation.push(member);
      this.emit('join', member.stats());
    } else {
      member.state = 'down';
      member.reason = 'not connected yet';
      this.probeSoon(member, 0);
    }
    return member.id;
  }

  /** Takes a member out of the pool for good (its channel stays open unless `closeMembers`). */
  async remove(id: string): Promise<boolean> {
    const member = this.members.find((m) => m.id === id);
    if (!member) return false;
    this.retire(member, new CommunicationError(ErrorCode.ChannelClosed, `Member "${id}" was removed from the pool`), true, false);
    if (this.closeMembers) await this.closeMember(member);
    return true;
  }

  /** Ids of the members, in rotation or not. */
  memberIds(): string[] {
    return this.members.map((m) => m.id);
  }

  /**
   * Calls `functionName` on a member the strategy picks. With `idempotent: true`, a retryable
   * failure (`retryable`: Timeout, ChannelClosed, ConnectionRefused, CircuitOpen) is tried again on
   * another member while the call's time lasts; otherwise the member's error is thrown. A call is
   * never sent to a member out of rotation.
   */
  async invoke(functionName: string, input: Uint8Array, options: PoolInvokeOptions = {}): Promise<Uint8Array> {
    if (this.closing) throw new CommunicationError(ErrorCode.ChannelClosed, 'This pool is closed');
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    if (!(timeoutMs > 0)) throw new CommunicationError(ErrorCode.InvalidArgument, `timeoutMs must be positive, got ${timeoutMs}`);
    const attemptCap = options.attemptTimeoutMs ?? this.attemptTimeoutMs ?? Infinity;
    if (!(attemptCap > 0)) throw new CommunicationError(ErrorCode.InvalidArgument, `attemptTimeoutMs must be positive, got ${attemptCap}`);
    const deadline = performance.now() + timeoutMs;
    const tried = new Set<PoolMember>();
    let lastError: CommunicationError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) throw this.fail(abortedError(options.signal, `Pool call to "${functionName}"`));
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        throw this.fail(
          lastError ?? new CommunicationError(ErrorCode.Timeout, `Pool call to "${functionName}" found no member within ${timeoutMs} ms`),
        );
      }
      const candidates = tried.size === 0 ? this.inRotation : this.inRotation.filter((m) => !tried.has(m));
      if (candidates.length === 0) throw this.fail(lastError ?? this.noMemberError(functionName));
      let member: PoolMember;
      try {
        member = this.strategy.pick(candidates, { functionName, key: options.key, attempt }) as PoolMember;
      } catch (err) {
        throw this.fail(err);
      }
      if (!candidates.includes(member)) {
        throw this.fail(
          new CommunicationError(ErrorCode.InvalidArgument, `Strategy "${this.strategy.name}" picked a member that is not a candidate`),
        );
      }
      const attemptOptions: InvokeOptions = { timeoutMs: Math.max(1, Math.ceil(Math.min(remaining, attemptCap))) };
      if (options.signal) attemptOptions.signal = options.signal;
      if (options.metadata) attemptOptions.metadata = options.metadata;
      const started = performance.now();
      member.pending++;
      let sent = true;
      try {
        const output = await invoke(member.channel, functionName, input, attemptOptions);
        member.failures = 0;
        this.answered(member, performance.now() - started);
        this.succeeded++;
        return output;
      } catch (err) {
        const error = CommunicationError.is(err)
          ? err
          : new CommunicationError(ErrorCode.RemoteError, `Pool call to "${functionName}" failed: ${String(err)}`, { cause: err });
        member.errors++;
        if (error.code === ErrorCode.RemoteError) this.answered(member, performance.now() - started);
        // The member's own breaker refused before anything was sent: safe to place elsewhere, even if not idempotent.
        if (error.code === ErrorCode.CircuitOpen && member.ownBreaker) sent = false;
        if (!this.isFailure(error)) member.failures = 0;
        else if (++member.failures >= this.failureThreshold) {
          this.markDown(
            member,
            new CommunicationError(
              ErrorCode.CircuitOpen,
              `The circuit of member "${member.id}" opened after ${member.failures} consecutive failures`,
              {
                cause: error,
              },
            ),
          );
        }
        if ((error.code === ErrorCode.ChannelClosed || error.code === ErrorCode.ConnectionRefused) && !member.channel.isConnected()) {
          this.markDown(member, error);
        }
        lastError = error;
        const again = error.retryable && (!sent || options.idempotent === true) && attempt < this.maxAttempts && !this.closing;
        if (!again) throw this.fail(error);
        tried.add(member);
        this.retries++;
        this.emit('retry', functionName, member.id, error);
      } finally {
        member.pending--;
      }
    }
  }

  stats(): PoolStats {
    return {
      strategy: this.strategy.name,
      up: this.inRotation.length,
      succeeded: this.succeeded,
      failed: this.failed,
      retries: this.retries,
      restarts: this.restarts,
      members: this.members.map((m) => m.stats()),
    };
  }

  /** Resolves once at least `count` members are in rotation (e.g. after adding members that are still connecting). */
  whenUp(count = 1, options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.inRotation.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new CommunicationError(ErrorCode.Timeout, `Fewer than ${count} pool members came up within ${options.timeoutMs} ms`));
      }, options.timeoutMs ?? 30_000);
      const stop = this.on('join', () => {
        if (this.inRotation.length < count) return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }

  /** Stops probing, refuses new calls and (with `closeMembers`) closes every member. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.beforeClose();
      const members = [...this.members];
      for (const member of members) {
        this.retire(member, new CommunicationError(ErrorCode.ChannelClosed, 'The pool was closed'), false, false);
      }
      if (this.closeMembers) await Promise.all(members.map((m) => this.closeMember(m)));
    })();
    return this.closing;
  }

  isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** For subclasses: runs first in `close()`. */
  protected async beforeClose(): Promise<void> {}

  /** For subclasses: a member left the pool for good; `unexpected` is false for `remove()` and `close()`. */
  protected memberRetired(_member: PoolMember, _reason: CommunicationError, _unexpected: boolean): void {}

  private async closeMember(member: PoolMember): Promise<void> {
    try {
      if (member.instance) await member.instance.stop();
      else await member.channel.close();
    } catch {
      // Closing is best effort; the member is out of the pool either way.
    }
  }

  private answered(member: PoolMember, ms: number): void {
    member.requests++;
    member.latency.recordMs(ms);
    member.latencyEwmaMs = member.requests === 1 ? ms : member.latencyEwmaMs + this.alpha * (ms - member.latencyEwmaMs);
  }

  private fail(err: unknown): unknown {
    this.failed++;
    return err;
  }

  private noMemberError(functionName: string): CommunicationError {
    const down = this.members.filter((m) => m.state === 'down');
    const detail =
      this.members.length === 0 ? 'the pool has no members' : `${down.length} of ${this.members.length} members are out of rotation`;
    return new CommunicationError(ErrorCode.ChannelClosed, `No pool member can take "${functionName}": ${detail}`);
  }

  private markDown(member: PoolMember, reason: CommunicationError): void {
    if (member.state !== 'up') return;
    member.state = 'down';
    member.reason = reason.message;
    member.left++;
    this.inRotation = this.inRotation.filter((m) => m !== member);
    this.emit('leave', member.stats(), reason);
    this.probeSoon(member, this.probeIntervalMs);
  }

  private retire(member: PoolMember, reason: CommunicationError, notify = true, unexpected = true): void {
    if (member.state === 'closed') return;
    const wasUp = member.state === 'up';
    member.state = 'closed';
    member.reason = reason.message;
    if (wasUp) member.left++;
    clearTimeout(member.probeTimer);
    member.probeTimer = undefined;
    for (const detach of member.detach.splice(0)) detach();
    this.inRotation = this.inRotation.filter((m) => m !== member);
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    if (notify && wasUp) this.emit('leave', member.stats(), reason);
    if (notify) this.emit('removed', member.stats(), reason);
    this.memberRetired(member, reason, unexpected);
  }

  private probeSoon(member: PoolMember, delayMs: number): void {
    if (member.state !== 'down' || this.closing || member.probing) return;
    clearTimeout(member.probeTimer);
    member.probeTimer = setTimeout(() => {
      member.probeTimer = undefined;
      void this.probe(member);
    }, delayMs);
    member.probeTimer.unref();
  }

  private async probe(member: PoolMember): Promise<void> {
    if (member.state !== 'down' || this.closing) return;
    member.probing = true;
    try {
      if (!member.channel.isConnected()) throw new CommunicationError(ErrorCode.ChannelClosed, 'not connected');
      const answer = await member.channel.request(Messages.healthCheck(), { timeoutMs: this.probeTimeoutMs });
      if (answer.type !== 'HealthCheck' || answer.status !== 'SERVING') throw new Error(`answered ${answer.type}`);
      member.probing = false;
      if (member.state !== 'down' || this.closing) return;
      member.failures = 0;
      member.ownBreaker?.reset();
      member.state = 'up';
      member.reason = undefined;
      this.inRotation.push(member);
      this.emit('join', member.stats());
    } catch {
      member.probing = false;
      this.probeSoon(member, this.probeIntervalMs);
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new CommunicationError(ErrorCode.InvalidArgument, `${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}
