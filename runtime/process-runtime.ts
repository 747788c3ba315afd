import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CommunicationError, Emitter, ErrorCode, type Kernel, type RuntimeType } from 'spear-comm';
import { CommunicationFactory, type ChannelConfig } from './factory.js';
import { ProcessInstance, type ExitInfo } from './process-instance.js';
import type { InstancePoolOptions } from './pool/instance-pool.js';
import { ProcessPool, type PoolRestartOptions } from './pool/process-pool.js';

export interface SpawnOptions {
  /** Default: `<runtimeType>-<n>-<random>`. Any string works; it is sanitised wherever it becomes a path. */
  instanceId?: string;
  /** Picks the strategy (default `process`). */
  runtimeType?: RuntimeType;
  /** Program to run (default: this Node.js binary). */
  command?: string;
  args?: string[];
  cwd?: string;
  /** Added to the environment; the runtime's `SPEAR_*` variables always win. */
  env?: Record<string, string | undefined>;
  /** Start from this process's environment (default true). */
  inheritEnv?: boolean;
  /** Transport, codec, heartbeat, handlers... for this instance's channel. */
  channel?: ChannelConfig;
  /** Kill the instance and fail if it has not authenticated within this time (default 10 s). */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 5 s). */
  stopGraceMs?: number;
  /** `pipe` (default): captured for error messages and emitted as `output` events; or `inherit` / `ignore`. */
  output?: 'pipe' | 'inherit' | 'ignore';
}

export interface SpawnPoolOptions extends Omit<SpawnOptions, 'instanceId'>, Omit<InstancePoolOptions, 'members' | 'closeMembers'> {
  /** Instances the pool keeps running. */
  size: number;
  /** Instance ids are `<idPrefix>-<n>` (default `pool-<random>`). */
  idPrefix?: string;
  /** How dead members are replaced (default: up to 10 restarts, 100 ms doubling to 5 s); `false`: never. */
  restart?: PoolRestartOptions | false;
}

export interface ProcessRuntimeEvents {
  /** The instance authenticated; `spawn()` resolves with it. */
  started: [instance: ProcessInstance];
  /** An instance exited; `info.expected` is false for a crash. */
  exit: [instance: ProcessInstance, info: ExitInfo];
}

/**
 * Starts runtime instances as child processes, each with its own channel, address and secret
 * (passed in `SPEAR_*` variables; the instance calls `connectFromEnv()`), waits for each to
 * authenticate, notices when one exits, and stops them all on `close()` — also when the host
 * process exits without closing. It closes with the kernel it is built on.
 *
 * @example
 * ```ts
 * import { createKernel, invoke } from 'spear-comm';
 * import { ProcessRuntime } from 'spear-comm/runtime';
 *
 * const kernel = await createKernel();
 * const runtime = new ProcessRuntime(kernel);
 * const worker = await runtime.spawn({ args: ['worker.js'] });   // resolves once authenticated
 * await worker.invoke('upper', Buffer.from('hi'));
 * await kernel.close();                                           // stops instances, removes sockets
 * ```
 */
export class ProcessRuntime extends Emitter<ProcessRuntimeEvents> {
  readonly factory: CommunicationFactory;
  private readonly running = new Set<ProcessInstance>();
  private readonly kernel: Kernel | undefined;
  private sequence = 0;
  private closing: Promise<void> | undefined;
  private readonly killOnExit = () => {
    for (const instance of this.running) instance.signal('SIGKILL');
  };

  constructor(source: Kernel | CommunicationFactory) {
    super();
    const isFactory = 'createChannelForInstance' in source;
    this.factory = isFactory ? source : new CommunicationFactory(source);
    this.kernel = isFactory ? undefined : source;
    this.factory.own(this);
  }

  /** Starts an instance and resolves once it has connected and authenticated. */
  async spawn(options: SpawnOptions = {}): Promise<ProcessInstance> {
    if (this.closing) throw new CommunicationError(ErrorCode.ChannelCreationFailed, 'This ProcessRuntime is closed');
    const runtimeType = options.runtimeType ?? 'process';
    const instanceId = options.instanceId ?? `${runtimeType}-${++this.sequence}-${randomBytes(3).toString('hex')}`;
    if (instanceId.includes('\0')) {
      throw new CommunicationError(
        ErrorCode.ChannelCreationFailed,
        `Instance id ${JSON.stringify(instanceId)} contains NUL, which cannot be passed to a process in its environment; choose another id`,
      );
    }
    const channel = await this.factory.createChannelForInstance({ runtimeType, instanceId }, options.channel);
    const command = options.command ?? process.execPath;
    const output = options.output ?? 'pipe';
    let instance: ProcessInstance;
    try {
      const child = spawn(command, options.args ?? [], {
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        env: { ...(options.inheritEnv === false ? {} : process.env), ...options.env, ...channel.environment() },
        stdio: ['ignore', output, output],
      });
      instance = new ProcessInstance(child, channel, { stopGraceMs: options.stopGraceMs ?? 5_000, command });
    } catch (err) {
      await channel.close();
      throw new CommunicationError(
        ErrorCode.ChannelCreationFailed,
        `Could not start instance "${instanceId}" (${command}): ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    this.track(instance);
    if (this.closing) {
      // close() began while this instance was being set up and did not see it.
      await instance.stop({ graceMs: 0 });
      throw new CommunicationError(
        ErrorCode.ChannelCreationFailed,
        `Instance "${instanceId}" was stopped because the ProcessRuntime closed while it started`,
      );
    }
    try {
      await instance.started(options.startTimeoutMs ?? 10_000);
    } catch (err) {
      await instance.stop({ graceMs: 0 });
      throw err;
    }
    this.emit('started', instance);
    return instance;
  }

  /**
   * Starts `size` instances and puts them behind one `InstancePool` that replaces members that
   * die (with a backoff and a restart cap) and stops them all on `close()`. Resolves once all have
   * authenticated; if one fails to start, the others are stopped and the error is thrown.
   */
  async spawnPool(options: SpawnPoolOptions): Promise<ProcessPool> {
    const { size, idPrefix, restart, strategy, breaker, probe, timeoutMs, attemptTimeoutMs, maxAttempts, ewmaAlpha, ...spawnOptions } =
      options;
    if (!Number.isInteger(size) || size < 1) {
      throw new CommunicationError(ErrorCode.InvalidArgument, `spawnPool: size must be a positive integer, got ${String(size)}`);
    }
    const prefix = idPrefix ?? `pool-${randomBytes(3).toString('hex')}`;
    let generation = 0;
    const pool = new ProcessPool(size, () => this.spawn({ ...spawnOptions, instanceId: `${prefix}-${++generation}` }), {
      ...(strategy !== undefined ? { strategy } : {}),
      ...(breaker !== undefined ? { breaker } : {}),
      ...(probe !== undefined ? { probe } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(attemptTimeoutMs !== undefined ? { attemptTimeoutMs } : {}),
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
      ...(ewmaAlpha !== undefined ? { ewmaAlpha } : {}),
      ...(restart !== undefined ? { restart } : {}),
    });
    await pool.start();
    return pool;
  }

  /** Instances still running. */
  instances(): ProcessInstance[] {
    return [...this.running];
  }

  /** Stops every instance (SIGTERM, then SIGKILL after their grace time) and refuses new ones. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.running].map((instance) => instance.stop()));
      process.off('exit', this.killOnExit);
    })();
    return this.closing;
  }

  private track(instance: ProcessInstance): void {
    if (this.running.size === 0) process.on('exit', this.killOnExit);
    this.running.add(instance);
    void instance.exited.then((info) => {
      this.running.delete(instance);
      if (this.running.size === 0) process.off('exit', this.killOnExit);
      if (!info.expected) {
        this.kernel?.logger.warn('instance exited unexpectedly', {
          instanceId: instance.id.instanceId,
          code: info.code,
          signal: info.signal,
        });
      }
      this.emit('exit', instance, info);
    });
  }
}
