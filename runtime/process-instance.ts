import type { ChildProcess } from 'node:child_process';
import { CommunicationError, Emitter, ErrorCode, invoke, type InvokeOptions, type RuntimeInstanceId } from 'spear-comm';
import type { InstanceChannel } from './instance-channel.js';

export interface ExitInfo {
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when `stop()` (or the runtime closing) asked for the exit. */
  expected: boolean;
}

export interface ProcessInstanceEvents {
  exit: [info: ExitInfo];
  /** Output of the instance (when spawned with `output: 'pipe'`). */
  output: [stream: 'stdout' | 'stderr', text: string];
}

/** Output kept for error messages about an instance that failed to start or crashed. */
const OUTPUT_TAIL_BYTES = 4096;

/** One spawned instance: its process, its channel, and how it ended. */
export class ProcessInstance extends Emitter<ProcessInstanceEvents> {
  readonly id: RuntimeInstanceId;
  readonly channel: InstanceChannel;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private readonly stopGraceMs: number;
  private stopping = false;
  private exitInfo: ExitInfo | undefined;
  private tail = '';
  private lastRefusal: CommunicationError | undefined;
  private spawnError: Error | undefined;

  constructor(child: ChildProcess, channel: InstanceChannel, options: { stopGraceMs: number; command: string }) {
    super();
    this.child = child;
    this.channel = channel;
    this.id = channel.instanceId;
    this.stopGraceMs = options.stopGraceMs;
    const capture = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.tail = (this.tail + text).slice(-OUTPUT_TAIL_BYTES);
      this.emit('output', stream, text);
    };
    child.stdout?.on('data', capture('stdout'));
    child.stderr?.on('data', capture('stderr'));
    channel.listener.on('rejected', (error) => (this.lastRefusal = error));
    this.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exitInfo) return;
        this.exitInfo = { code, signal, expected: this.stopping };
        void channel.fail(new CommunicationError(ErrorCode.ChannelClosed, `Instance "${this.id.instanceId}" ${this.describeExit()}`));
        this.emit('exit', this.exitInfo);
        resolve(this.exitInfo);
      };
      child.once('exit', finish);
      // A process that could not be started at all (e.g. ENOENT) may never emit 'exit'.
      child.once('error', (error) => {
        this.spawnError = new Error(`could not run ${options.command}: ${error.message}`, { cause: error });
        if (child.pid === undefined) finish(null, null);
      });
    });
    channel.watchExit(this.exited);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  isRunning(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last few KiB the instance wrote to stdout and stderr (when its output is piped). */
  outputTail(): string {
    return this.tail;
  }

  /** Calls a function the instance serves. */
  invoke(functionName: string, input: Uint8Array, options?: InvokeOptions): Promise<Uint8Array> {
    return invoke(this.channel, functionName, input, options);
  }

  /**
   * Stops the instance: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves
   * with how it exited; the channel is closed by then and its pending requests rejected.
   */
  async stop(options: { graceMs?: number } = {}): Promise<ExitInfo> {
    this.stopping = true;
    if (!this.exitInfo) {
      this.signal('SIGTERM');
      const force = setTimeout(() => this.signal('SIGKILL'), options.graceMs ?? this.stopGraceMs);
      await this.exited;
      clearTimeout(force);
    }
    await this.channel.close();
    return this.exitInfo!;
  }

  /** Sends `signal` to the process if it is still running (SIGSTOP/SIGCONT are handy in tests). */
  signal(signal: NodeJS.Signals): boolean {
    if (this.exitInfo || this.child.pid === undefined) return false;
    try {
      return this.child.kill(signal);
    } catch {
      return false;
    }
  }

  /** @internal Resolves once the instance has authenticated; rejects if it exits or the time runs out first. */
  async started(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await new Promise<'connected' | 'exited' | 'timeout' | unknown>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      this.channel.waitForConnection().then(() => resolve('connected'), resolve);
      void this.exited.then(() => resolve('exited'));
    });
    clearTimeout(timer);
    if (outcome === 'connected') return;
    if (outcome === 'timeout') {
      throw new CommunicationError(
        ErrorCode.Timeout,
        `Instance "${this.id.instanceId}" did not connect within ${timeoutMs} ms${this.context()}`,
      );
    }
    if (outcome === 'exited' || !this.isRunning()) {
      throw new CommunicationError(
        ErrorCode.ChannelCreationFailed,
        `Instance "${this.id.instanceId}" ${this.describeExit()} before it connected${this.context()}`,
      );
    }
    throw outcome;
  }

  private describeExit(): string {
    const info = this.exitInfo;
    if (this.spawnError && info?.code === null && info.signal === null) return `failed to start: ${this.spawnError.message}`;
    if (!info) return 'is running';
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    return info.expected ? `${how} after it was asked to stop` : `${how} unexpectedly`;
  }

  private context(): string {
    const refusal = this.lastRefusal ? `; the host refused its handshake: ${this.lastRefusal.message}` : '';
    const tail = this.tail.trim().split('\n').slice(-5).join('\n');
    return `${refusal}${tail ? `; its last output:\n${tail}` : ''}`;
  }
}
