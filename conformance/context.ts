import { setMaxListeners } from 'node:events';
import {
  createKernel,
  DEFAULT_MAX_FRAME_SIZE,
  generateSecret,
  type CommunicationChannel,
  type ConnectOptions,
  type FrameConnection,
  type FrameListener,
  type Kernel,
  type Listener,
  type ListenOptions,
  type Transport,
} from 'spear-comm';
import { CaseNotApplicable, ConformanceFailure, show, within } from './assert.js';
import { Arrivals } from './arrivals.js';
import { FrameCollector, type RawEnd } from './collector.js';
import type { CaseFailure, Capabilities, ResolvedTarget } from './types.js';

export interface RawListener {
  readonly url: string;
  readonly frames: FrameListener;
  /** The next connection the listener accepted (already started with a collecting sink). */
  accepted(ms?: number): Promise<RawEnd>;
  close(): Promise<void>;
}

export interface ChannelPair {
  listener: Listener;
  client: CommunicationChannel;
  server: CommunicationChannel;
  /** Server-side channels of later clients of the same listener, in order. */
  nextServer(ms?: number): Promise<CommunicationChannel>;
}

/**
 * What a case gets: a fresh kernel with only the transport under test, helpers that open
 * listeners and connections through it (raw frames or full channels), and cleanup. Everything a
 * case opens here is closed by `teardown()`, and closing that hangs is reported as a failure.
 */
export class CaseContext {
  readonly secret = generateSecret();
  readonly notes: string[] = [];
  readonly controller = new AbortController();
  private readonly cleanups: Array<{ what: string; run: () => unknown }> = [];
  private readonly collectors: FrameCollector[] = [];
  private readonly rawConnections = new Set<FrameConnection>();
  private readonly rawListeners = new Set<RawListener>();
  private readonly kernels: Kernel[] = [];
  private counter = 0;

  private constructor(
    readonly kernel: Kernel,
    readonly target: ResolvedTarget,
  ) {
    // Every connection a case opens may listen on this signal (20 at once in bad-input).
    setMaxListeners(0, this.controller.signal);
  }

  static async create(target: ResolvedTarget): Promise<CaseContext> {
    const kernel = await createKernel({ plugins: target.plugins, transports: [target.transport] });
    return new CaseContext(kernel, target);
  }

  get caps(): Capabilities {
    return this.target.capabilities;
  }

  /** The plugin instance under test, as the kernel built it. */
  get transport(): Transport {
    return this.kernel.transport(this.target.transport);
  }

  /** The listener's default frame limit for this transport. */
  get defaultMaxFrameSize(): number {
    return Math.min(DEFAULT_MAX_FRAME_SIZE, this.caps.maxFrameSize);
  }

  /** How long to wait for something that should happen before failing (the target's `waitMs`). */
  get waitMs(): number {
    return this.target.waitMs;
  }

  /** How long any one close() may take before it counts as a hang: half of `waitMs`, between 1 and 5 s. */
  get closeMs(): number {
    return Math.min(5_000, Math.max(1_000, this.target.waitMs / 2));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A fresh address to listen on. */
  address(): string {
    return this.target.address();
  }

  /** A URL where nothing listens. */
  async deadAddress(): Promise<string> {
    if (this.target.deadAddress) return this.target.deadAddress();
    const listener = await this.rawListen();
    const url = listener.url;
    await listener.close();
    return url;
  }

  /** Ends the case as not applicable to this transport, with the reason (reported as unsupported/skipped, never passed). */
  notApplicable(reason: string): never {
    throw new CaseNotApplicable(reason);
  }

  /** Records an observation in the case's result (shown by the reporters). */
  note(text: string): void {
    this.notes.push(text);
  }

  /** Runs `run` during teardown (last registered runs first). */
  defer(what: string, run: () => unknown): void {
    this.cleanups.push({ what, run });
  }

  /** Another kernel with the transport under test (a second host in the same process); closed at teardown. */
  async anotherKernel(): Promise<Kernel> {
    const kernel = await createKernel({ plugins: this.target.plugins, transports: [this.target.transport] });
    this.kernels.push(kernel);
    return kernel;
  }

  // ---- Channel level: the kernel's listen/connect, with the target's TLS and extras ----

  /** `kernel.listen` on a fresh address (or `address`), on this case's kernel unless `via` names another. */
  listen(options: ListenOptions & { address?: string; via?: Kernel } = {}): Promise<Listener> {
    const { address, via, ...rest } = options;
    return (via ?? this.kernel).listen(address ?? this.address(), {
      secret: this.secret,
      ...(this.target.tls ? { tls: this.target.tls.listen } : {}),
      ...(this.target.extra.listen ? { extra: this.target.extra.listen } : {}),
      ...rest,
    });
  }

  connect(url: string, options: ConnectOptions & { via?: Kernel } = {}): Promise<CommunicationChannel> {
    const { via, ...rest } = options;
    return (via ?? this.kernel).connect(url, {
      token: this.secret,
      codec: this.target.codec,
      timeoutMs: 10_000,
      instanceId: `conformance-${++this.counter}`,
      ...(this.target.tls ? { tls: this.target.tls.connect } : {}),
      ...(this.target.extra.connect ? { extra: this.target.extra.connect } : {}),
      ...rest,
    });
  }

  /** A listener and one connected client, with the server's side of that channel. */
  async channelPair(listenOptions: ListenOptions = {}, connectOptions: ConnectOptions = {}): Promise<ChannelPair> {
    const servers = new Arrivals<CommunicationChannel>();
    const onChannel = listenOptions.onChannel;
    const listener = await this.listen({
      ...listenOptions,
      onChannel: (channel) => {
        servers.push(channel);
        onChannel?.(channel);
      },
    });
    const client = await this.connect(listener.url, connectOptions);
    const nextServer = (ms = this.waitMs) => servers.next(ms, `the listener's onChannel for a connected client`);
    const server = await nextServer();
    return { listener, client, server, nextServer };
  }

  // ---- Frame level: the transport plugin itself, below the session layer ----

  /**
   * Listens with the plugin directly; every accepted connection is started with a collecting sink
   * (with `hold`, it is not started: the case calls `connection.start(sink)` itself).
   */
  async rawListen(options: { maxFrameSize?: number; address?: string; hold?: boolean } = {}): Promise<RawListener> {
    const accepted = new Arrivals<RawEnd>();
    const errors: Error[] = [];
    let n = 0;
    const frames = await this.transport.listen(new URL(options.address ?? this.address()), {
      maxFrameSize: options.maxFrameSize ?? this.defaultMaxFrameSize,
      onConnection: (connection) => {
        this.rawConnections.add(connection);
        const label = `server connection #${++n}`;
        accepted.push(options.hold ? this.trackRaw(connection, label) : this.startRaw(connection, label));
      },
      onError: (error) => errors.push(error),
      ...(this.target.tls ? { tls: this.target.tls.listen } : {}),
      ...(this.target.extra.listen ? { extra: this.target.extra.listen } : {}),
    });
    let closing: Promise<void> | undefined;
    const listener: RawListener = {
      url: frames.url,
      frames,
      accepted: (ms = this.waitMs) => accepted.next(ms, `the listener at ${frames.url} to accept a connection`),
      close: () => {
        closing ??= frames.close().finally(() => this.rawListeners.delete(listener));
        return closing;
      },
    };
    this.rawListeners.add(listener);
    return listener;
  }

  async rawConnect(
    url: string,
    options: { maxFrameSize?: number; timeoutMs?: number; label?: string; hold?: boolean } = {},
  ): Promise<RawEnd> {
    const connection = await this.transport.connect(new URL(url), {
      maxFrameSize: options.maxFrameSize ?? this.defaultMaxFrameSize,
      timeoutMs: options.timeoutMs ?? 10_000,
      signal: this.signal,
      ...(this.target.tls ? { tls: this.target.tls.connect } : {}),
      ...(this.target.extra.connect ? { extra: this.target.extra.connect } : {}),
    });
    this.rawConnections.add(connection);
    const label = options.label ?? 'client connection';
    return options.hold ? this.trackRaw(connection, label) : this.startRaw(connection, label);
  }

  /** A raw listener and one connection to it, both ends started. */
  async rawPair(
    options: { serverMaxFrameSize?: number; clientMaxFrameSize?: number } = {},
  ): Promise<{ listener: RawListener; client: RawEnd; server: RawEnd }> {
    const listener = await this.rawListen({
      ...(options.serverMaxFrameSize !== undefined ? { maxFrameSize: options.serverMaxFrameSize } : {}),
    });
    const client = await this.rawConnect(listener.url, {
      ...(options.clientMaxFrameSize !== undefined ? { maxFrameSize: options.clientMaxFrameSize } : {}),
    });
    const server = await listener.accepted();
    return { listener, client, server };
  }

  /** Wraps a connection the case opened some other way, so teardown closes it and checks its sink. */
  startRaw(connection: FrameConnection, label: string): RawEnd {
    const end = this.trackRaw(connection, label);
    connection.start(end.sink);
    return end;
  }

  /** Like `startRaw`, without starting: the case calls `end.connection.start(end.sink)` when it wants delivery to begin. */
  trackRaw(connection: FrameConnection, label: string): RawEnd {
    const sink = new FrameCollector(label);
    this.collectors.push(sink);
    this.rawConnections.add(connection);
    return { connection, sink };
  }

  // ---- Teardown ----

  /** Closes everything the case opened; returns what went wrong (hangs, throws, sink contract breaches). */
  async teardown(): Promise<CaseFailure[]> {
    const failures: CaseFailure[] = [];
    const bounded = async (what: string, run: () => unknown) => {
      try {
        await within(Promise.resolve().then(run), this.closeMs, what);
      } catch (err) {
        failures.push({
          phase: 'teardown',
          message: err instanceof ConformanceFailure ? err.message : `${what} failed: ${show(err)}`,
          ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
        });
      }
    };
    this.controller.abort();
    for (const collector of this.collectors) collector.cancelWaits();
    for (const cleanup of this.cleanups.splice(0).reverse()) await bounded(cleanup.what, cleanup.run);
    await Promise.all([...this.rawConnections].map((c) => bounded(`FrameConnection.close() (${c.remoteAddress})`, () => c.close())));
    await Promise.all([...this.rawListeners].map((l) => bounded(`FrameListener.close() (${l.url})`, () => l.close())));
    for (const kernel of this.kernels) await bounded('kernel.close() of the second kernel', () => kernel.close());
    await bounded('kernel.close() (closing every listener and channel of the case)', () => this.kernel.close());
    for (const collector of this.collectors) {
      for (const violation of collector.violations)
        failures.push({ phase: 'teardown', message: `FrameSink contract broken: ${violation}` });
    }
    return failures;
  }
}
