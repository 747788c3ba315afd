import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  CommunicationError,
  ErrorCode,
  RUNTIME_TYPES,
  generateSecret,
  secretsEqual,
  serve,
  type Handlers,
  type Kernel,
  type ListenOptions,
  type Listener,
  type RuntimeInstanceId,
  type RuntimeType,
  type TlsOptions,
} from 'spear-comm';
import { checkInstanceId, instanceAddress } from './addresses.js';
import { InstanceChannel, type FallbackRecord } from './instance-channel.js';
import { ConnectionMonitor } from './monitoring.js';
import type { HeartbeatOptions } from './resilience/heartbeat.js';
import { candidateTransports, DEFAULT_STRATEGIES, type CommunicationStrategy } from './strategies.js';

/** Per-instance settings for `createChannel` / `createChannelForInstance`; all optional. */
export interface ChannelConfig {
  /** Transports to try instead of the strategy's, best first (e.g. `['tcp']` to force tcp). */
  transports?: string[];
  /** Codec the instance must use (default: the strategy's, else `json`). */
  codec?: string;
  /** The instance's secret (default: a fresh random one; leave it so). */
  secret?: string;
  /** Interface network transports bind to (default 127.0.0.1). */
  host?: string;
  /** Port for network transports (default 0: a free port of the instance's own). */
  port?: number;
  /** Directory for the unix socket file (default: the factory's private temporary directory). */
  socketDir?: string;
  /** The NATS server for this instance's nats listener (default: the factory's). */
  natsUrl?: string;
  /** Probe the instance and count a silent one as disconnected. */
  heartbeat?: HeartbeatOptions | false;
  /** Functions the host serves to the instance. */
  handlers?: Handlers;
  /** Connections the instance's listener holds at once, handshakes included (default 2: a reconnect may overlap the old connection). */
  maxConnections?: number;
  /** Close a connection that has not authenticated within this time (default 5 s). */
  authTimeoutMs?: number;
  maxFrameSize?: number;
  requestTimeoutMs?: number;
  receiveQueueLimit?: number;
  tls?: TlsOptions;
  extra?: Record<string, unknown>;
}

export interface FactoryOptions {
  /** Replace the strategy of some runtime types (the others keep the defaults). */
  strategies?: Partial<Record<RuntimeType, CommunicationStrategy>>;
  /** Directory for unix sockets (default: a private one made with mkdtemp, mode 0700, removed on close). */
  socketDir?: string;
  /** Interface network transports bind to (default 127.0.0.1). */
  host?: string;
  /**
   * The NATS server (`nats://host:port`, more servers in the channel config's `extra.servers`)
   * that nats listeners use; default `SPEAR_NATS_URL` from the environment. Without one, the
   * `distributed` strategy falls back to grpc.
   */
  natsUrl?: string;
  /** Where connection events go (default: a new monitor, `factory.monitor`). */
  monitor?: ConnectionMonitor;
}

const TLS_SCHEMES = new Set(['tls', 'wss', 'grpcs']);

/**
 * Creates the host's channel to each runtime instance, choosing the transport by the runtime
 * type's strategy (process: unix, else tcp; kubernetes: grpc, else tcp; wasm: memory) and giving
 * every instance its own address, listener and secret. Transports are reached only through the
 * kernel, so plugins installed later (or by a third party) take part like the built-in ones.
 * Built on a kernel and closed with it.
 *
 * @example
 * ```ts
 * import { createKernel, invoke } from 'spear-comm';
 * import { CommunicationFactory } from 'spear-comm/runtime';
 *
 * const kernel = await createKernel();
 * const factory = new CommunicationFactory(kernel);
 * const channel = await factory.createChannel('process');        // unix, else tcp (see channel.fallbacks)
 * startMyInstance({ env: { ...process.env, ...channel.environment() } });  // it calls connectFromEnv()
 * await channel.waitForConnection({ timeoutMs: 10_000 });
 * await invoke(channel, 'upper', Buffer.from('hi'));
 * ```
 */
export class CommunicationFactory {
  readonly monitor: ConnectionMonitor;
  private readonly table = new Map<RuntimeType, CommunicationStrategy>();
  private readonly live = new Map<string, InstanceChannel>();
  private readonly reserved = new Set<string>();
  private readonly owned: Array<{ close(): Promise<void> }> = [];
  private readonly host: string;
  private readonly natsUrl: string | undefined;
  private readonly fixedSocketDir: string | undefined;
  private privateSocketDir: Promise<string> | undefined;
  private removeOnExit: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly kernel: Kernel,
    options: FactoryOptions = {},
  ) {
    this.monitor = options.monitor ?? new ConnectionMonitor();
    this.host = options.host ?? '127.0.0.1';
    const natsUrl = options.natsUrl ?? process.env.SPEAR_NATS_URL;
    if (natsUrl) this.natsUrl = natsUrl;
    if (options.socketDir !== undefined && !isAbsolute(options.socketDir)) {
      throw new TypeError(`socketDir must be an absolute path, got "${options.socketDir}"`);
    }
    this.fixedSocketDir = options.socketDir;
    for (const type of RUNTIME_TYPES) this.setStrategy(options.strategies?.[type] ?? DEFAULT_STRATEGIES[type]);
    kernel.own(this);
  }

  /** A copy of the strategy for `runtimeType`. */
  strategy(runtimeType: RuntimeType): CommunicationStrategy {
    const strategy = this.table.get(runtimeType);
    if (!strategy)
      throw new CommunicationError(
        ErrorCode.UnsupportedTransport,
        `Unknown runtime type "${runtimeType}"; expected one of ${RUNTIME_TYPES.join(', ')}`,
      );
    return { ...strategy, fallbacks: [...strategy.fallbacks] };
  }

  strategies(): CommunicationStrategy[] {
    return RUNTIME_TYPES.map((type) => this.strategy(type));
  }

  /** Replaces the strategy for `strategy.runtimeType`; channels created afterwards use it. */
  setStrategy(strategy: CommunicationStrategy): void {
    if (!RUNTIME_TYPES.includes(strategy.runtimeType))
      throw new TypeError(`Unknown runtime type "${strategy.runtimeType}"; expected one of ${RUNTIME_TYPES.join(', ')}`);
    if (typeof strategy.preferred !== 'string' || !Array.isArray(strategy.fallbacks))
      throw new TypeError('A strategy needs a preferred transport and a fallbacks array');
    this.table.set(strategy.runtimeType, { ...strategy, fallbacks: [...(strategy.fallbacks as string[])] });
  }

  /** A channel for a new instance of `runtimeType` with a generated id (`<type>-<uuid>`). */
  createChannel(runtimeType: RuntimeType, config?: ChannelConfig): Promise<InstanceChannel> {
    return this.createChannelForInstance({ runtimeType, instanceId: `${runtimeType}-${randomUUID()}` }, config);
  }

  /**
   * Opens the listener that instance `id` will connect to: tries the strategy's transports in
   * order, recording why each skipped one could not be used (`channel.fallbacks`, and a
   * `fallback` event on the monitor). Fails with `ChannelCreationFailed` listing every reason
   * when none works, and when the instance already has a channel.
   */
  async createChannelForInstance(id: RuntimeInstanceId, config: ChannelConfig = {}): Promise<InstanceChannel> {
    this.assertOpen();
    checkInstanceId(id?.instanceId);
    const instanceId: RuntimeInstanceId = { runtimeType: id.runtimeType, instanceId: id.instanceId };
    const strategy = this.strategy(instanceId.runtimeType);
    const key = instanceId.instanceId;
    if (this.reserved.has(key)) {
      throw new CommunicationError(
        ErrorCode.ChannelCreationFailed,
        `Instance "${key}" already has a channel; instances never share one. Close it before creating another`,
      );
    }
    const codec = config.codec ?? strategy.codec ?? 'json';
    this.kernel.codec(codec);
    this.reserved.add(key);
    try {
      const secret = config.secret ?? generateSecret();
      const fallbacks: FallbackRecord[] = [];
      const opened = await this.openListener(
        instanceId,
        config.transports ?? candidateTransports(strategy),
        codec,
        secret,
        config,
        fallbacks,
      );
      const channel = new InstanceChannel({
        instanceId,
        listener: opened.listener,
        transport: opened.transport,
        codec,
        secret,
        fallbacks,
        ...(opened.port !== undefined ? { port: opened.port } : {}),
        ...(natsServers(opened.transport, config.extra) ?? {}),
        heartbeat: config.heartbeat ?? false,
        onClosed: () => {
          if (this.live.get(key) === channel) this.live.delete(key);
          this.reserved.delete(key);
        },
      });
      this.monitor.watchListener(opened.listener, { instanceId });
      for (const fallback of fallbacks) this.monitor.record({ type: 'fallback', instanceId, ...fallback });
      if (config.handlers) serve(channel, config.handlers);
      this.live.set(key, channel);
      if (this.closing) {
        await channel.close();
        throw new CommunicationError(
          ErrorCode.ChannelCreationFailed,
          `The factory closed while the channel of instance "${key}" was being created`,
        );
      }
      return channel;
    } catch (err) {
      this.reserved.delete(key);
      throw err;
    }
  }

  /** The open channel of an instance, if any. */
  channel(instanceId: string): InstanceChannel | undefined {
    return this.live.get(instanceId);
  }

  channels(): InstanceChannel[] {
    return [...this.live.values()];
  }

  /** The directory unix sockets go in (made on first use). */
  socketDir(): Promise<string> {
    if (this.fixedSocketDir !== undefined) return Promise.resolve(this.fixedSocketDir);
    // mkdtemp creates the directory with mode 0700: no other user can reach the sockets in it.
    this.privateSocketDir ??= mkdtemp(join(tmpdir(), 'spear-')).then((dir) => {
      // A host that exits without close() still removes its sockets.
      this.removeOnExit = () => rmSync(dir, { recursive: true, force: true });
      process.on('exit', this.removeOnExit);
      return dir;
    });
    return this.privateSocketDir;
  }

  /** Closes `resource` (e.g. a ProcessRuntime) first when the factory closes. */
  own(resource: { close(): Promise<void> }): void {
    this.owned.push(resource);
  }

  /** Closes what it owns and every instance channel, and removes its private socket directory. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.owned.splice(0).map((resource) => resource.close()));
      await Promise.all([...this.live.values()].map((channel) => channel.close()));
      if (this.privateSocketDir) {
        const dir = await this.privateSocketDir.catch(() => undefined);
        if (dir) await rm(dir, { recursive: true, force: true });
      }
      if (this.removeOnExit) process.off('exit', this.removeOnExit);
    })();
    return this.closing;
  }

  private async openListener(
    instanceId: RuntimeInstanceId,
    candidates: string[],
    codec: string,
    secret: string,
    config: ChannelConfig,
    fallbacks: FallbackRecord[],
  ): Promise<{ listener: Listener; transport: string; port?: number }> {
    const listenOptions: ListenOptions = {
      codec,
      // Only this instance, with its own secret: another instance's secret, or this secret under another id, is refused.
      validateToken: (token, request) =>
        request.instanceId === instanceId.instanceId && request.clientType === instanceId.runtimeType && secretsEqual(token, secret),
      maxConnections: config.maxConnections ?? 2,
      ...(config.authTimeoutMs !== undefined ? { authTimeoutMs: config.authTimeoutMs } : {}),
      ...(config.maxFrameSize !== undefined ? { maxFrameSize: config.maxFrameSize } : {}),
      ...(config.requestTimeoutMs !== undefined ? { requestTimeoutMs: config.requestTimeoutMs } : {}),
      ...(config.receiveQueueLimit !== undefined ? { receiveQueueLimit: config.receiveQueueLimit } : {}),
      ...(config.tls ? { tls: config.tls } : {}),
      ...(config.extra ? { extra: config.extra } : {}),
    };
    const context = {
      instanceId: instanceId.instanceId,
      socketDir: () => (config.socketDir !== undefined ? Promise.resolve(config.socketDir) : this.socketDir()),
      host: config.host ?? this.host,
      port: config.port ?? 0,
      ...((config.natsUrl ?? this.natsUrl) ? { natsUrl: (config.natsUrl ?? this.natsUrl)! } : {}),
    };
    for (const candidate of candidates) {
      const scheme = this.schemeFor(candidate);
      if (!scheme) {
        fallbacks.push({
          transport: candidate,
          reason: `transport "${candidate}" is not installed (installed: ${this.kernel.transports().join(', ') || 'none'})`,
        });
        continue;
      }
      try {
        const url = await instanceAddress(scheme, context);
        const listener = await this.kernel.listen(url, listenOptions);
        const port = Number(new URL(listener.url).port);
        return { listener, transport: this.kernel.transportNameFor(listener.url), ...(port > 0 ? { port } : {}) };
      } catch (err) {
        fallbacks.push({ transport: candidate, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    const reasons = fallbacks.map((f) => `${f.transport}: ${f.reason}`).join('; ');
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `No transport could be used for ${instanceId.runtimeType} instance "${instanceId.instanceId}" (tried ${candidates.join(', ') || 'none'}): ${reasons || 'the strategy lists no transports'}`,
    );
  }

  /** The URL scheme to listen on for a transport named by name or scheme; undefined when it is not installed. */
  private schemeFor(candidate: string): string | undefined {
    const schemes = this.kernel.schemes();
    if (schemes.includes(candidate)) return candidate;
    if (!this.kernel.transports().includes(candidate)) return undefined;
    const own = schemes.filter((scheme) => this.kernel.transportNameFor(`${scheme}://x`) === candidate);
    return own.find((scheme) => !TLS_SCHEMES.has(scheme)) ?? own[0];
  }

  private assertOpen(): void {
    if (this.closing || this.kernel.isClosed())
      throw new CommunicationError(ErrorCode.ChannelCreationFailed, 'This factory (or its kernel) is closed');
  }
}

/** The extra NATS servers an instance on nats is told about (`SPEAR_NATS_SERVERS`). */
function natsServers(transport: string, extra: Record<string, unknown> | undefined): { servers: string[] } | undefined {
  const servers = extra?.servers;
  if (transport !== 'nats' || !Array.isArray(servers) || servers.length === 0) return undefined;
  return { servers: servers.map(String) };
}
