import { CommunicationError, ErrorCode } from 'spear-comm';
import type { ProcessInstance } from '../process-instance.js';
import { InstancePool, type InstancePoolOptions, type PoolMember } from './instance-pool.js';

export interface PoolRestartOptions {
  /** Restarts allowed over the pool's life; after that a dead member is not replaced (default 10). */
  maxRestarts?: number;
  /** Delay before the first restart (default 100 ms); doubles for each crash in a row. */
  initialDelayMs?: number;
  /** Longest delay between restarts (default 5 s). */
  maxDelayMs?: number;
  /** An instance that ran this long before dying resets the doubling (default 10 s). */
  stableAfterMs?: number;
}

/** @internal how a ProcessPool starts one more instance */
export type SpawnMember = (index: number) => Promise<ProcessInstance>;

/**
 * The pool `ProcessRuntime.spawnPool()` returns: it owns its instances, replaces those that die
 * (with a doubling backoff and a cap on restarts), and stops them all on `close()`.
 */
export class ProcessPool extends InstancePool {
  readonly size: number;
  private readonly spawnMember: SpawnMember;
  private readonly maxRestarts: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stableAfterMs: number;
  private readonly startedAt = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly starting = new Set<Promise<unknown>>();
  private crashesInRow = 0;
  private nextIndex = 0;

  /** @internal use `ProcessRuntime.spawnPool()` */
  constructor(size: number, spawnMember: SpawnMember, options: InstancePoolOptions & { restart?: PoolRestartOptions | false }) {
    super({ ...options, members: [], closeMembers: true });
    this.size = size;
    this.spawnMember = spawnMember;
    const restart = options.restart === false ? { maxRestarts: 0 } : (options.restart ?? {});
    this.maxRestarts = restart.maxRestarts ?? 10;
    this.initialDelayMs = restart.initialDelayMs ?? 100;
    this.maxDelayMs = restart.maxDelayMs ?? 5_000;
    this.stableAfterMs = restart.stableAfterMs ?? 10_000;
    if (!(this.maxRestarts >= 0) || !(this.initialDelayMs >= 0) || !(this.maxDelayMs >= 0)) {
      throw new CommunicationError(ErrorCode.InvalidArgument, 'restart.maxRestarts, initialDelayMs and maxDelayMs must be >= 0');
    }
  }

  /** @internal starts the first `size` instances; if any fails to start, stops the others and throws. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(Array.from({ length: this.size }, () => this.startOne()));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) {
      await this.close();
      throw failure.reason;
    }
  }

  /** The running instances of the pool. */
  instances(): ProcessInstance[] {
    return this.members.flatMap((m) => (m.instance ? [m.instance] : []));
  }

  private async startOne(): Promise<void> {
    const spawning = this.spawnMember(this.nextIndex++);
    this.starting.add(spawning);
    try {
      const instance = await spawning;
      if (this.isClosed()) {
        await instance.stop({ graceMs: 0 });
        return;
      }
      this.startedAt.set(instance.id.instanceId, Date.now());
      this.add(instance);
    } finally {
      this.starting.delete(spawning);
    }
  }

  protected override memberRetired(member: PoolMember, _reason: CommunicationError, unexpected: boolean): void {
    if (this.isClosed() || !member.instance || !unexpected) return;
    const started = this.startedAt.get(member.id) ?? 0;
    this.startedAt.delete(member.id);
    if (Date.now() - started >= this.stableAfterMs) this.crashesInRow = 0;
    this.scheduleRestart(member.id);
  }

  private scheduleRestart(deadId: string): void {
    if (this.isClosed()) return;
    if (this.restarts >= this.maxRestarts) {
      this.emit('restartsExhausted', this.memberIds().length);
      return;
    }
    this.restarts++;
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** this.crashesInRow);
    this.crashesInRow = Math.min(this.crashesInRow + 1, 30);
    this.emit('restarting', deadId, delayMs, this.restarts);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.startOne().catch((err: unknown) => {
        if (this.isClosed()) return;
        this.emit('restartFailed', err);
        this.scheduleRestart(deadId);
      });
    }, delayMs);
    this.timers.add(timer);
  }

  protected override async beforeClose(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    // Instances still starting are stopped by startOne() once they are up (or fail on their own).
    await Promise.allSettled([...this.starting]);
  }
}
