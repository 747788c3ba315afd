import { randomUUID } from 'node:crypto';
import {
  CommunicationError,
  ErrorCode,
  isRetryable,
  serve,
  toCommunicationError,
  type CommunicationChannel,
  type ConnectOptions,
  type Kernel,
  type RuntimeInstanceId,
} from 'spear-comm';
import { DurableChannel } from '../durable-channel.js';
import type { HeartbeatOptions } from './heartbeat.js';
import { checkReconnectPolicy, reconnectDelay, type ReconnectPolicy } from './reconnect-policy.js';

export interface ReconnectingConnectOptions extends Omit<ConnectOptions, 'signal' | 'instanceId'> {
  /** Who this side is (default: a random id of runtime type `process`). */
  instanceId?: RuntimeInstanceId;
  /** When to re-dial after the connection is lost (default `{ kind: 'none' }`). Also used when the first dial fails. */
  reconnect?: ReconnectPolicy;
  /** Probe the peer and treat a silent one as a lost connection. */
  heartbeat?: HeartbeatOptions | false;
  /** Jitter source, for tests (default Math.random). */
  random?: () => number;
}

/**
 * The client side of a session that survives its connection: when the connection is lost (the
 * host restarted its listener, the network dropped, a heartbeat found the host silent) it dials
 * `url` again through the kernel with the same identity and token, following its
 * `ReconnectPolicy`, and carries on with the same handlers and subscribers. It closes for good
 * when the policy gives up or the host refuses the token.
 */
export class ReconnectingChannel extends DurableChannel {
  readonly url: string;
  private readonly policy: ReconnectPolicy;
  private readonly random: () => number;
  private readonly connectOptions: ConnectOptions;
  private readonly abort = new AbortController();
  private sleeping: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private reconnects = 0;

  private constructor(
    private readonly kernel: Kernel,
    url: string,
    options: ReconnectingConnectOptions,
    instanceId: RuntimeInstanceId,
  ) {
    super({ instanceId, transport: kernel.transportNameFor(url), codec: options.codec ?? 'json', heartbeat: options.heartbeat ?? false });
    this.url = url;
    this.policy = options.reconnect ?? { kind: 'none' };
    checkReconnectPolicy(this.policy);
    this.random = options.random ?? Math.random;
    const { reconnect: _r, heartbeat: _h, random: _x, handlers: _s, ...connect } = options;
    this.connectOptions = { ...connect, instanceId, signal: this.abort.signal };
  }

  /** Connects (retrying per the policy if the first dial fails) and resolves once authenticated. */
  static async connect(kernel: Kernel, url: string, options: ReconnectingConnectOptions = {}): Promise<ReconnectingChannel> {
    const instanceId = options.instanceId ?? { runtimeType: options.runtimeType ?? 'process', instanceId: randomUUID() };
    const channel = new ReconnectingChannel(kernel, url, options, instanceId);
    // Served on the channel, not per session, so every session after a reconnect serves them too.
    if (options.handlers) serve(channel, options.handlers);
    let first: CommunicationChannel;
    try {
      first = await kernel.connect(url, channel.connectOptions);
    } catch (err) {
      const error = toCommunicationError(err, ErrorCode.ChannelCreationFailed, `Could not connect to ${url}`);
      if (!isRetryable(error) || channel.policy.kind === 'none') {
        await channel.closeWith(error);
        throw error;
      }
      const outcome = await channel.redial(error);
      if (outcome !== true) {
        // Keep the code of what went wrong (refused, timed out, auth) rather than ChannelClosed.
        throw new CommunicationError(outcome.last.code, outcome.reason.message, { cause: outcome.last });
      }
      return channel;
    }
    channel.attach(first);
    return channel;
  }

  /** Successful re-dials so far. */
  get reconnectCount(): number {
    return this.reconnects;
  }

  override stats(): ReturnType<DurableChannel['stats']> & { reconnects: number } {
    return { ...super.stats(), reconnects: this.reconnects };
  }

  protected sessionLost(reason: CommunicationError): void {
    // A closed kernel closed the session: there is nothing to reconnect with.
    if (this.policy.kind === 'none' || this.kernel.isClosed()) {
      void this.closeWith(reason);
      return;
    }
    void this.redial(reason).then((outcome) => {
      if (outcome === true) this.reconnects++;
    });
  }

  protected override async releaseResources(): Promise<void> {
    this.abort.abort(new CommunicationError(ErrorCode.ChannelClosed, `The channel to ${this.url} was closed`));
    this.sleeping?.wake();
  }

  /**
   * Dials until connected (true), or until the policy gives up or an error is final: the channel
   * is then closed, and the reason and the last dial error are returned.
   */
  private async redial(lastError: CommunicationError): Promise<true | { reason: CommunicationError; last: CommunicationError }> {
    const giveUp = async (reason: CommunicationError) => {
      await this.closeWith(reason);
      return { reason: this.closedError(), last: lastError };
    };
    for (let attempt = 0; ; attempt++) {
      if (this.isClosed()) return giveUp(this.closedError());
      const delayMs = reconnectDelay(this.policy, attempt, this.random);
      if (delayMs === undefined) {
        return giveUp(
          new CommunicationError(
            ErrorCode.ChannelClosed,
            `Gave up reconnecting to ${this.url} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${lastError.message}`,
            { cause: lastError },
          ),
        );
      }
      this.emit('reconnecting', attempt + 1, delayMs, lastError);
      await this.sleep(delayMs);
      if (this.isClosed()) return giveUp(this.closedError());
      try {
        const session = await this.kernel.connect(this.url, this.connectOptions);
        if (this.isClosed()) {
          await session.close();
          return giveUp(this.closedError());
        }
        this.attach(session);
        return true;
      } catch (err) {
        if (this.isClosed()) return giveUp(this.closedError());
        lastError = toCommunicationError(err, ErrorCode.ChannelCreationFailed, `Could not reconnect to ${this.url}`);
        if (!isRetryable(lastError)) return giveUp(lastError);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeping = { timer, wake };
    });
  }
}

/** Connects to `url` with a reconnect policy; see `ReconnectingChannel`. */
export function connectWithReconnect(kernel: Kernel, url: string, options?: ReconnectingConnectOptions): Promise<ReconnectingChannel> {
  return ReconnectingChannel.connect(kernel, url, options);
}
