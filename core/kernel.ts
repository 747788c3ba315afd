import { randomUUID } from 'node:crypto';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommunicationChannel } from './channel.js';
import { container, type DependencyContainer } from './di.js';
import { CommunicationError, ErrorCode, abortedError, toCommunicationError } from './errors.js';
import { Listener } from './listener.js';
import { silentLogger, type Logger } from './logger.js';
import type { AuthRequest, RuntimeInstanceId, RuntimeType } from './messages.js';
import {
  registeredCodecs,
  registeredTransports,
  unavailableTransports,
  type Codec,
  type CodecEntry,
  type PluginClass,
  type Transport,
  type TransportEntry,
} from './registry.js';
import { serve, type Handlers } from './serve.js';
import { openSession } from './session.js';
import { KERNEL, LOGGER } from './tokens.js';
import { DEFAULT_MAX_FRAME_SIZE, type TlsOptions } from './transport.js';

/** How long a listener lets a peer take over one frame, from its first byte to its last. */
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;

/** The plugins `createKernel()` loads unless told not to. Core knows them only by module name. */
export const BUILTIN_PLUGINS: readonly string[] = [
  'spear-comm/codecs/json',
  'spear-comm/codecs/cbor',
  'spear-comm/codecs/protobuf',
  'spear-comm/plugins/memory',
  'spear-comm/plugins/tcp',
  'spear-comm/plugins/unix',
  'spear-comm/plugins/websocket',
  'spear-comm/plugins/grpc',
  'spear-comm/plugins/nats',
];

export interface KernelOptions {
  /** Module specifiers to `import()` before the kernel is built (their decorators register plugins). */
  plugins?: string[];
  /** Load the built-in plugins too (default true). */
  builtins?: boolean;
  /** Use only these transports (by name) out of everything registered. */
  transports?: string[];
  logger?: Logger;
}

/** What a listener's and a client's sessions have in common. */
export interface SessionOptions {
  /** Serve these functions on the channel (on every accepted channel, for a listener). */
  handlers?: Handlers;
  /**
   * Requests each channel answers at once (handler running or answer not yet written) before it
   * stops reading from its peer (default 128, `DEFAULT_MAX_CONCURRENT_REQUESTS`): a peer that
   * sends and never reads stalls in its own sends instead of growing this process.
   */
  maxConcurrentRequests?: number;
  /** Largest frame accepted from the peer (default 16 MiB, or less if the transport carries less). */
  maxFrameSize?: number;
  /** Unsolicited messages held for `receive()` before the channel stops reading (default 1024). */
  receiveQueueLimit?: number;
  /** Timeout of a `request()` that gives none (default 30 s). */
  requestTimeoutMs?: number;
  tls?: TlsOptions;
  /** Transport-specific options (see the transport's docs). */
  extra?: Record<string, unknown>;
}

export interface ListenOptions extends SessionOptions {
  /** Codec name(s) this listener accepts; the client picks one in its AuthRequest (default: all installed). */
  codec?: string | string[];
  /** Clients must present this token (compared in constant time). */
  secret?: string;
  /** Or decide per client; e.g. a per-instance secret looked up by `request.instanceId`. */
  validateToken?: (token: string, request: AuthRequest) => boolean | Promise<boolean>;
  onChannel?: (channel: CommunicationChannel) => void;
  /** Close connections that have not authenticated within this time (default 5 s). */
  authTimeoutMs?: number;
  /**
   * Close a connection whose peer began a frame and has not completed it within this time
   * (default 30 s): a length prefix followed by a trickle cannot hold a slot and its bytes forever.
   */
  frameTimeoutMs?: number;
  /**
   * Refuse connections beyond this many at once, counting those still in the handshake
   * (default 512, `DEFAULT_MAX_CONNECTIONS`).
   */
  maxConnections?: number;
}

export interface ConnectOptions extends SessionOptions {
  /** Codec for this session (default `json`). */
  codec?: string;
  /** Who this side is: an id string (runtime type `process`) or a full RuntimeInstanceId (default: a random UUID). */
  instanceId?: string | RuntimeInstanceId;
  runtimeType?: RuntimeType;
  token?: string;
  /** Give up connecting and authenticating after this long (default 10 s). */
  timeoutMs?: number;
  clientVersion?: string;
  extraParams?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A built-in plugin `createKernel()` could not load: its module specifier (e.g.
 * `spear-comm/plugins/websocket`) and the load error's message, which for a missing library names the package to install.
 */
export type UnavailablePlugin = { module: string; reason: string };

export class Kernel {
  readonly container: DependencyContainer;
  readonly logger: Logger;
  /**
   * The built-in plugins `createKernel()` could not load, and why — typically a transport whose
   * library (an optional peer dependency such as `ws` or `@grpc/grpc-js`) is not installed. Also
   * reported through `logger` (info for a missing library, warn for anything else); using one of
   * their schemes fails with `UnsupportedTransport` and the same reason.
   *
   * @example
   * const kernel = await createKernel();
   * for (const { module, reason } of kernel.unavailable) console.warn(`${module}: ${reason}`);
   */
  readonly unavailable: readonly UnavailablePlugin[];
  private readonly transportEntries: Map<string, TransportEntry>;
  private readonly schemeToTransport = new Map<string, string>();
  private readonly codecEntries: Map<string, CodecEntry>;
  private readonly transportInstances = new Map<string, Transport>();
  private readonly codecInstances = new Map<string, Codec>();
  private readonly listeners = new Set<Listener>();
  private readonly channels = new Set<CommunicationChannel>();
  private closing: Promise<void> | undefined;
  private readonly owned: Array<{ close(): Promise<void> }> = [];

  constructor(options: KernelOptions & { unavailable?: UnavailablePlugin[] } = {}) {
    this.container = container.createChildContainer();
    this.logger = options.logger ?? silentLogger;
    this.unavailable = options.unavailable ?? [];
    this.container.registerInstance(LOGGER, this.logger);
    this.container.registerInstance(KERNEL, this);
    const wanted = options.transports ? new Set(options.transports) : undefined;
    this.transportEntries = new Map(
      registeredTransports()
        .filter((t) => !wanted || wanted.has(t.meta.name))
        .map((t) => [t.meta.name, t]),
    );
    for (const { meta } of this.transportEntries.values()) for (const scheme of meta.schemes) this.schemeToTransport.set(scheme, meta.name);
    this.codecEntries = new Map(registeredCodecs().map((c) => [c.meta.name, c]));
  }

  /**
   * Ties `resource` to this kernel: `close()` closes it first (before the kernel's channels and
   * listeners), so what is built on a kernel — a runtime factory, a pool — needs no separate close.
   */
  own(resource: { close(): Promise<void> }): void {
    this.assertOpen();
    this.owned.push(resource);
  }

  /** Names of the transports this kernel can use. */
  transports(): string[] {
    return [...this.transportEntries.keys()];
  }

  /** Names of the codecs this kernel can use. */
  codecs(): string[] {
    return [...this.codecEntries.keys()];
  }

  /** URL schemes (without ':') this kernel can listen on and connect to. */
  schemes(): string[] {
    return [...this.schemeToTransport.keys()];
  }

  /** The plugin instance for a transport name (one per kernel). */
  transport(name: string): Transport {
    return this.plugin(name, this.transportEntries, this.transportInstances, 'transport', ErrorCode.UnsupportedTransport);
  }

  /** The transport name that serves a URL, or throws `UnsupportedTransport`. */
  transportNameFor(url: string | URL): string {
    const parsed = parseUrl(url);
    const scheme = parsed.protocol.slice(0, -1);
    const name = this.schemeToTransport.get(scheme);
    if (!name) {
      const missing = unavailableTransports().find((u) => u.meta.schemes.includes(scheme));
      if (missing) throw new CommunicationError(ErrorCode.UnsupportedTransport, missing.reason);
      const known = [...this.transportEntries.values()].map((t) => `${t.meta.name} (${t.meta.schemes.map((s) => `${s}://`).join(', ')})`);
      const detail = `No transport handles "${scheme}://" URLs; installed: ${known.join('; ') || '(none)'}. Load the plugin with createKernel({ plugins: ['<module>'] })`;
      throw new CommunicationError(ErrorCode.UnsupportedTransport, detail);
    }
    return name;
  }

  /** The codec instance for a codec name (one per kernel). */
  codec(name: string): Codec {
    return this.plugin(name, this.codecEntries, this.codecInstances, 'codec', ErrorCode.InvalidArgument);
  }

  private plugin<T>(
    name: string,
    entries: Map<string, { plugin: PluginClass<T> }>,
    made: Map<string, T>,
    kind: string,
    code: ErrorCode,
  ): T {
    let instance = made.get(name);
    if (instance) return instance;
    const entry = entries.get(name);
    if (!entry)
      throw new CommunicationError(
        code,
        `No ${kind} named "${name}" is installed; installed: ${[...entries.keys()].join(', ') || '(none)'}`,
      );
    instance = this.container.resolve(entry.plugin);
    made.set(name, instance);
    return instance;
  }

  /**
   * Listens on `url`; every client must open its session with the handshake before anything else.
   * Port 0 picks a free port: `listener.url` has the real one. Fails with `UnsupportedTransport`
   * for a scheme no installed transport serves, `ChannelCreationFailed` when the address is taken.
   *
   * @example
   * ```ts
   * const listener = await kernel.listen('tcp://127.0.0.1:0', {
   *   secret: 'per-instance-secret',                       // clients must present it as `token`
   *   handlers: { upper: (input) => Buffer.from(Buffer.from(input).toString().toUpperCase()) },
   * });
   * listener.on('rejected', (reason) => console.warn(reason));
   * console.log(listener.url);                             // tcp://127.0.0.1:40123
   * ```
   */
  async listen(url: string, options: ListenOptions = {}): Promise<Listener> {
    this.assertOpen();
    const transportName = this.transportNameFor(url);
    const transport = this.transport(transportName);
    const accepted = options.codec === undefined ? this.codecs() : Array.isArray(options.codec) ? options.codec : [options.codec];
    const codecs = new Map(accepted.map((name) => [name, this.codec(name)]));
    const maxFrameSize = options.maxFrameSize ?? Math.min(DEFAULT_MAX_FRAME_SIZE, transport.capabilities.maxFrameSize);
    const authTimeoutMs = options.authTimeoutMs ?? 5_000;
    const listener = new Listener({ ...options, transport: transportName, codecs, authTimeoutMs, maxFrameSize, logger: this.logger }, (l) =>
      this.listeners.delete(l),
    );
    const frames = await transport
      .listen(parseUrl(url), {
        maxFrameSize,
        frameTimeoutMs: options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
        authTimeoutMs,
        maxConnections: listener.maxConnections,
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.extra ? { extra: options.extra } : {}),
        onError: (error) => listener.report('error', error),
        onConnection: (connection) => listener.accept(connection),
      })
      .catch((err: unknown) => {
        throw toCommunicationError(err, ErrorCode.ChannelCreationFailed, `Could not listen on ${url}`);
      });
    listener.bind(frames);
    this.listeners.add(listener);
    return listener;
  }

  /**
   * Connects to `url`, authenticates, and returns the channel. Fails with `ConnectionRefused`
   * when nothing accepts there, `AuthFailed` for a wrong token or a codec the listener refuses,
   * `Timeout` after `timeoutMs` (10 s).
   *
   * @example
   * ```ts
   * const channel = await kernel.connect('tcp://127.0.0.1:7000', { token: 'per-instance-secret', codec: 'cbor' });
   * const out = await invoke(channel, 'upper', Buffer.from('hello'), { timeoutMs: 1000 });
   * await channel.close();
   * ```
   */
  async connect(url: string, options: ConnectOptions = {}): Promise<CommunicationChannel> {
    this.assertOpen();
    const transportName = this.transportNameFor(url);
    const transport = this.transport(transportName);
    const codec = this.codec(options.codec ?? 'json');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const instanceId: RuntimeInstanceId =
      typeof options.instanceId === 'object'
        ? options.instanceId
        : { runtimeType: options.runtimeType ?? 'process', instanceId: options.instanceId ?? randomUUID() };
    const connection = await transport
      .connect(parseUrl(url), {
        maxFrameSize: options.maxFrameSize ?? Math.min(DEFAULT_MAX_FRAME_SIZE, transport.capabilities.maxFrameSize),
        timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.extra ? { extra: options.extra } : {}),
      })
      .catch((err: unknown) => {
        throw toCommunicationError(err, ErrorCode.ChannelCreationFailed, `Could not connect to ${url}`);
      });
    if (this.closing) {
      await connection.close();
      this.assertOpen();
    }
    if (options.signal?.aborted) {
      await connection.close();
      throw abortedError(options.signal, `Connecting to ${url}`);
    }
    const channel = await openSession(connection, {
      ...options,
      transport: transportName,
      codec,
      instanceId,
      token: options.token ?? '',
      timeoutMs: Math.max(1, deadline - Date.now()),
    });
    if (channel.isConnected()) {
      this.channels.add(channel);
      channel.on('close', () => this.channels.delete(channel));
    }
    if (options.handlers) serve(channel, options.handlers, options);
    return channel;
  }

  isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Closes every listener and channel this kernel made, then releases its plugins. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.owned.splice(0).map((resource) => resource.close()));
      await Promise.all([...this.channels].map((c) => c.close()));
      await Promise.all([...this.listeners].map((l) => l.close()));
      await Promise.all([...this.transportInstances.values()].map(async (t) => t.dispose?.()));
      this.container.clearInstances();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new CommunicationError(ErrorCode.ChannelClosed, 'This kernel is closed; create a new one with createKernel()');
  }
}

function parseUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    throw new CommunicationError(
      ErrorCode.UnsupportedTransport,
      `"${url}" is not a valid URL; expected e.g. tcp://127.0.0.1:7000 or unix:///run/spear/a.sock`,
    );
  }
}

/** Paths are taken relative to the working directory; package names are imported as they are. */
function toImportable(module: string): string {
  return module.startsWith('.') || isAbsolute(module) ? pathToFileURL(resolvePath(module)).href : module;
}

/**
 * Builds a kernel on its own DI container: two kernels in one process share no plugin instance,
 * listener or channel. Loads the built-in plugins and `options.plugins` first. A built-in whose
 * library is not installed (`ws`, `@grpc/grpc-js`) is listed in `kernel.unavailable`; a module in
 * `options.plugins` that fails to load rejects with `UnsupportedTransport`.
 *
 * @example
 * ```ts
 * import { createKernel, invoke } from 'spear-comm';
 *
 * const kernel = await createKernel({ plugins: ['./dist/my-transport.js'] });
 * console.log(kernel.transports(), kernel.codecs());   // ['memory', 'tcp', 'unix', …], ['json', 'cbor', 'protobuf']
 * const listener = await kernel.listen('memory://demo', { handlers: { echo: (input) => input } });
 * const channel = await kernel.connect(listener.url);
 * await invoke(channel, 'echo', Buffer.from('hi'));
 * await kernel.close();                                 // closes every listener and channel
 * ```
 */
export async function createKernel(options: KernelOptions = {}): Promise<Kernel> {
  const unavailable: UnavailablePlugin[] = [];
  if (options.builtins !== false) {
    await Promise.all(
      BUILTIN_PLUGINS.map(async (module) => {
        try {
          await import(module);
        } catch (err) {
          unavailable.push({ module, reason: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
  }
  for (const module of options.plugins ?? []) {
    try {
      await import(toImportable(module));
    } catch (err) {
      throw toCommunicationError(err, ErrorCode.UnsupportedTransport, `Could not load plugin module "${module}"`);
    }
  }
  const kernel = new Kernel({ ...options, unavailable });
  // A built-in whose library is not installed is expected (it is an optional peer dependency):
  // say so quietly. Any other failure to load one is a fault worth a warning.
  for (const { module, reason } of unavailable) {
    const expected = unavailableTransports().some((u) => u.reason === reason);
    kernel.logger[expected ? 'info' : 'warn'](`Built-in plugin ${module} is not available: ${reason}`, { module });
  }
  return kernel;
}
