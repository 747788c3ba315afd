import { CommunicationError, ErrorCode, markTransportUnavailable } from 'spear-comm';

/** Which transport needs the library, for the error a user sees when it is missing. */
export interface OptionalLibraryInfo {
  /** The npm package to install, e.g. `ws` or `@grpc/grpc-js`. */
  package: string;
  /** The transport's registered name, e.g. `websocket`. */
  transport: string;
  /** The URL schemes (without ':') that transport serves, e.g. `['ws', 'wss']`. */
  schemes: string[];
}

/**
 * Loads a transport's own library — an optional peer dependency that only the users of that
 * transport install — when the plugin module loads. Call it at the top level of the plugin module,
 * before the `@Transport` class, passing an `import()` written in your own module (so the
 * package resolves from your package, not from spear-comm's).
 *
 * If the package is not installed, the transport is marked unavailable (a kernel then answers its
 * schemes with `UnsupportedTransport` and a message naming the package to install) and the
 * returned promise rejects with that same `UnsupportedTransport` error, so the plugin module fails
 * to load: `createKernel()` lists a built-in that fails this way in `kernel.unavailable`, and
 * `createKernel({ plugins: [...] })` rejects with the message. Any other load error (the package
 * is there but throws) is reported the same way, with its message.
 *
 * @example
 * ```ts
 * import { Transport } from 'spear-comm';
 * import { loadOptional } from 'spear-comm/transport-kit';
 * const ws = await loadOptional(() => import('ws'), { package: 'ws', transport: 'websocket', schemes: ['ws', 'wss'] });
 *
 * @Transport({ name: 'websocket', schemes: ['ws', 'wss'] })
 * export class WebSocketTransport implements Transport { ... new ws.WebSocket(url) ... }
 * ```
 */
export async function loadOptional<T>(load: () => Promise<T>, info: OptionalLibraryInfo): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const schemes = info.schemes.map((s) => `${s}://`).join(', ');
    const reason = isMissing(err, info.package)
      ? `The ${info.transport} transport (${schemes}) needs the package "${info.package}", which is not installed; install it next to spear-comm: npm install ${info.package}`
      : `The ${info.transport} transport (${schemes}) could not load its library "${info.package}": ${err instanceof Error ? err.message : String(err)}`;
    markTransportUnavailable({ name: info.transport, schemes: info.schemes }, reason);
    throw new CommunicationError(ErrorCode.UnsupportedTransport, reason, { cause: err });
  }
}

/** Node's "cannot find package" error, for this package itself (not some other module it imports). */
function isMissing(err: unknown, pkg: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = err instanceof Error ? err.message : '';
  return message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`);
}
