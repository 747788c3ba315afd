import { injectable } from './di.js';
import { CommunicationError, ErrorCode } from './errors.js';
import type { Codec as CodecContract } from './codec.js';
import type { Transport as TransportContract } from './transport.js';

export interface TransportMeta {
  /** A short unique name, e.g. `tcp`. */
  name: string;
  /** URL schemes without the colon, e.g. `['tcp', 'tls']`. */
  schemes: string[];
}

export interface CodecMeta {
  name: string;
  contentType: string;
}

// Plugins are constructed by the kernel's container, which may inject tokens into them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PluginClass<T> = new (...args: any[]) => T;

export type TransportEntry = { meta: TransportMeta; plugin: PluginClass<Transport> };
export type CodecEntry = { meta: CodecMeta; plugin: PluginClass<Codec> };

/** A transport whose plugin module loaded but cannot work here, e.g. because its library is not installed. */
export interface UnavailableTransport {
  meta: TransportMeta;
  /** What is missing and how to fix it; the message of the `UnsupportedTransport` error for its schemes. */
  reason: string;
}

interface Registry {
  transports: Map<string, TransportEntry>;
  codecs: Map<string, CodecEntry>;
  unavailable?: Map<string, UnavailableTransport>;
}

// One registry per process, even if two copies of spear-comm end up in a user's dependency
// tree (a third-party plugin with its own copy must still register where the kernel looks).
const REGISTRY_KEY = Symbol.for('spear-comm.plugin-registry.v1');
const holder = globalThis as { [REGISTRY_KEY]?: Registry };
const registry: Registry = (holder[REGISTRY_KEY] ??= { transports: new Map(), codecs: new Map() });
// Added after v1 shipped: a registry made by an older copy lacks it.
const unavailable = (registry.unavailable ??= new Map());

const NAME = /^[a-z][a-z0-9._-]*$/;
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

function checkName(kind: string, name: string): void {
  if (!NAME.test(name))
    throw new TypeError(
      `${kind} name ${JSON.stringify(name)} is invalid: use lowercase letters, digits, '.', '_' or '-', starting with a letter`,
    );
}

/** Registers a transport plugin class (what `@Transport` does; for code that cannot use decorators). */
export function registerTransport(plugin: PluginClass<Transport>, meta: TransportMeta): void {
  checkName('Transport', meta.name);
  if (meta.schemes.length === 0) throw new TypeError(`Transport "${meta.name}" must declare at least one URL scheme`);
  for (const scheme of meta.schemes) {
    if (!SCHEME.test(scheme))
      throw new TypeError(`Transport "${meta.name}": scheme ${JSON.stringify(scheme)} is invalid (write it without ':', lowercase)`);
    for (const other of registry.transports.values()) {
      if (other.meta.name !== meta.name && other.meta.schemes.includes(scheme)) {
        throw new CommunicationError(
          ErrorCode.InvalidArgument,
          `Transport "${meta.name}" claims scheme "${scheme}:", which transport "${other.meta.name}" already serves; pick another scheme or unregister "${other.meta.name}" first`,
        );
      }
    }
  }
  // Registering a name again replaces it: a module evaluated twice (test runners, hot reload) is the usual cause.
  registry.transports.set(meta.name, { meta: { name: meta.name, schemes: [...meta.schemes] }, plugin });
}

export function registerCodec(plugin: PluginClass<Codec>, meta: CodecMeta): void {
  checkName('Codec', meta.name);
  registry.codecs.set(meta.name, { meta: { ...meta }, plugin });
}

export function unregisterTransport(name: string): boolean {
  return registry.transports.delete(name);
}

export function unregisterCodec(name: string): boolean {
  return registry.codecs.delete(name);
}

/**
 * Records that transport `meta.name` cannot be used in this process and why (what
 * `loadOptional()` of `spear-comm/transport-kit` does when a transport's library is missing).
 * A kernel then answers its schemes with `UnsupportedTransport` carrying `reason`, instead of
 * "no transport handles this scheme". Registering the transport later clears the mark.
 */
export function markTransportUnavailable(meta: TransportMeta, reason: string): void {
  checkName('Transport', meta.name);
  unavailable.set(meta.name, { meta: { name: meta.name, schemes: [...meta.schemes] }, reason });
}

/** Transports marked unavailable with `markTransportUnavailable()` (and not registered since). */
export function unavailableTransports(): UnavailableTransport[] {
  return [...unavailable.values()].filter((u) => !registry.transports.has(u.meta.name));
}

export function registeredTransports(): TransportEntry[] {
  return [...registry.transports.values()];
}

export function registeredCodecs(): CodecEntry[] {
  return [...registry.codecs.values()];
}

/**
 * Class decorator that registers a transport plugin: importing the module is all it takes to
 * install it (in every kernel created afterwards). Needs `experimentalDecorators` and
 * `emitDecoratorMetadata` in your tsconfig. The kernel constructs the class through its container,
 * so the constructor may `@inject(KERNEL)` or `@inject(LOGGER)`.
 *
 * @example
 * ```ts
 * import { Transport, type FrameConnection, type FrameListener, type TransportCapabilities,
 *   type TransportConnectOptions, type TransportListenOptions } from 'spear-comm';
 *
 * @Transport({ name: 'carrier', schemes: ['carrier'] })
 * export class CarrierTransport implements Transport {
 *   readonly capabilities: TransportCapabilities = { maxFrameSize: 1 << 24, ordered: true, reliable: true, localOnly: false };
 *   async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> { … }
 *   async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> { … }
 * }
 * ```
 */
export function Transport(meta: TransportMeta) {
  return <C extends PluginClass<Transport>>(plugin: C): C => {
    injectable()(plugin);
    registerTransport(plugin, meta);
    return plugin;
  };
}

/**
 * Class decorator that registers a codec: importing the module installs it. A session picks its
 * codec by name when it connects (`kernel.connect(url, { codec: 'msgpack' })`).
 *
 * @example
 * ```ts
 * import { Codec, validateMessage, type RuntimeMessage } from 'spear-comm';
 *
 * @Codec({ name: 'msgpack', contentType: 'application/msgpack' })
 * export class MsgpackCodec implements Codec {
 *   readonly name = 'msgpack';
 *   readonly contentType = 'application/msgpack';
 *   encode(message: RuntimeMessage): Uint8Array { return pack(message); }
 *   decode(bytes: Uint8Array): RuntimeMessage { return validateMessage(unpack(bytes)); }  // DecodeFailed on bad input
 * }
 * ```
 */
export function Codec(meta: CodecMeta) {
  return <C extends PluginClass<Codec>>(plugin: C): C => {
    injectable()(plugin);
    registerCodec(plugin, meta);
    return plugin;
  };
}

// The decorators and the contracts share their names, so `Transport` and `Codec` work both as
// `@Transport(...)` and as `implements Transport`.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Transport extends TransportContract {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Codec extends CodecContract {}
