import { CommunicationError, ErrorCode, type Listener, type RuntimeInstanceId } from 'spear-comm';
import { DurableChannel, type DurableChannelStats } from './durable-channel.js';
import { instanceEnvironment } from './instance-env.js';
import type { HeartbeatOptions } from './resilience/heartbeat.js';

/** A transport the factory could not use for an instance, and why. */
export interface FallbackRecord {
  transport: string;
  reason: string;
}

/** How long a request cut off by a lost session waits for the instance's exit, to report it instead. */
const EXIT_GRACE_MS = 2_000;

export type InstanceChannelState = 'waiting' | 'connected' | 'disconnected' | 'closed';

export interface InstanceChannelStats extends DurableChannelStats {
  state: InstanceChannelState;
  /** The address the instance connects to. */
  url: string;
  /** Preferred transports that were skipped before this one, with the reasons. */
  fallbacks: FallbackRecord[];
}

export interface InstanceChannelInit {
  instanceId: RuntimeInstanceId;
  listener: Listener;
  transport: string;
  codec: string;
  secret: string;
  port?: number;
  /** More NATS servers of the cluster, for an instance that connects over nats. */
  servers?: string[];
  fallbacks: FallbackRecord[];
  heartbeat?: HeartbeatOptions | false;
  onClosed?: () => void;
}

/**
 * The host's channel to one instance. It owns a listener on the instance's own address that
 * accepts only that instance (its id, its runtime type and its fresh secret); the instance
 * connects to it, and connects again after a lost connection, while this channel stays the same
 * object for the host. Give the instance `environment()` to start it.
 */
export class InstanceChannel extends DurableChannel {
  readonly url: string;
  readonly fallbacks: readonly FallbackRecord[];
  readonly listener: Listener;
  readonly #secret: string;
  readonly #port: number | undefined;
  readonly #servers: string[] | undefined;
  readonly #onClosed: (() => void) | undefined;
  #everConnected = false;
  #exited: Promise<unknown> | undefined;

  constructor(init: InstanceChannelInit) {
    super({ instanceId: init.instanceId, transport: init.transport, codec: init.codec, heartbeat: init.heartbeat ?? false });
    this.listener = init.listener;
    this.url = init.listener.url;
    this.fallbacks = Object.freeze([...init.fallbacks]);
    this.#secret = init.secret;
    this.#port = init.port;
    this.#servers = init.servers;
    this.#onClosed = init.onClosed;
    init.listener.on('channel', (session) => {
      this.#everConnected = true;
      this.attach(session);
    });
  }

  get state(): InstanceChannelState {
    if (this.isClosed()) return 'closed';
    if (this.isConnected()) return 'connected';
    return this.#everConnected ? 'disconnected' : 'waiting';
  }

  /** The `SPEAR_*` variables that let the instance connect (they contain its secret: pass them only to it). */
  environment(): Record<string, string> {
    return instanceEnvironment({
      transport: this.transport,
      address: this.url,
      ...(this.#port !== undefined ? { port: this.#port } : {}),
      ...(this.#servers ? { servers: this.#servers } : {}),
      instanceId: this.instanceId,
      secret: this.#secret,
      codec: this.codec,
    });
  }

  /** Resolves once the instance has connected and authenticated. */
  waitForConnection(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    return this.whenConnected(options);
  }

  /** Closes for good with `reason`: pending requests reject with it, and the instance cannot connect again. */
  fail(reason: CommunicationError): Promise<void> {
    return this.closeWith(
      reason.code === ErrorCode.ChannelClosed ? reason : new CommunicationError(ErrorCode.ChannelClosed, reason.message, { cause: reason }),
    );
  }

  /**
   * @internal The instance runs in a process that ends with `exited` (ProcessInstance): a request
   * whose session ends because the process died rejects with the exit (as later calls do).
   */
  watchExit(exited: Promise<unknown>): void {
    this.#exited = exited;
  }

  protected override async finalReasonSoon(): Promise<CommunicationError | undefined> {
    if (this.#exited && !this.isClosed()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#exited, new Promise((resolve) => (timer = setTimeout(resolve, EXIT_GRACE_MS)))]);
      clearTimeout(timer);
    }
    return super.finalReasonSoon();
  }

  override stats(): InstanceChannelStats {
    return { ...super.stats(), state: this.state, url: this.url, fallbacks: this.fallbacks.map((f) => ({ ...f })) };
  }

  /** A lost instance may connect again: the listener stays open until the channel is closed. */
  protected sessionLost(): void {}

  protected override async releaseResources(): Promise<void> {
    try {
      await this.listener.close();
    } finally {
      this.#onClosed?.();
    }
  }
}
