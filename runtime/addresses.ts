import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CommunicationError, ErrorCode } from 'spear-comm';

/**
 * Bytes a unix socket path may take, not counting the terminating NUL (sun_path is 108 bytes on
 * Linux, 104 on macOS and the BSDs).
 */
export const UNIX_PATH_MAX = process.platform === 'linux' ? 107 : 103;

/** How much of an instance id is kept readable in a socket file name; the rest is in the hash. */
const READABLE_PREFIX = 40;

/** Rejects what can never be an instance id. Any other string is allowed: it only ever becomes a hash and a filtered prefix. */
export function checkInstanceId(instanceId: unknown): asserts instanceId is string {
  if (typeof instanceId !== 'string' || instanceId.length === 0) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `An instance id must be a non-empty string, got ${JSON.stringify(instanceId)}`,
    );
  }
}

/**
 * A name for `instanceId` that is safe as a single path segment and in a URL: the id's letters,
 * digits, '_' and '-' (anything else becomes '_', at most 40 characters), then '-' and 16 hex
 * digits of the SHA-256 of the whole id. `../../etc/x`, `a/b`, ids with NUL and 300-character ids
 * all yield distinct names of at most 57 characters that cannot leave their directory.
 */
export function instanceFileStem(instanceId: string): string {
  checkInstanceId(instanceId);
  // UTF-16 code units, not UTF-8: UTF-8 would turn every lone surrogate into U+FFFD and make such ids collide.
  const hash = createHash('sha256').update(Buffer.from(instanceId, 'utf16le')).digest('hex').slice(0, 16);
  const readable = instanceId
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .slice(0, READABLE_PREFIX)
    .replace(/^-/, '_');
  return `${readable}-${hash}`;
}

/** The socket file name for an instance: `instanceFileStem(id) + '.sock'`. */
export function socketFileName(instanceId: string): string {
  return `${instanceFileStem(instanceId)}.sock`;
}

/** What is wrong with `path` as a unix socket path, or undefined when it is usable. */
export function unixPathProblem(path: string): string | undefined {
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > UNIX_PATH_MAX) {
    return `the socket path ${path} is ${bytes} bytes, over the OS limit of ${UNIX_PATH_MAX}; use a shorter socketDir`;
  }
  if (path.includes('\0')) return 'a socket path cannot contain NUL';
  return undefined;
}

/** The per-instance socket path inside `dir` (which must be absolute and private to the host). */
export function unixSocketPath(dir: string, instanceId: string): string {
  return join(dir, socketFileName(instanceId));
}

/**
 * `unix://` URL for an absolute path. Each path segment is percent-encoded as a URI component
 * (`%`, spaces, `?`, `#` and non-ASCII characters as UTF-8), so `decodeURIComponent(new
 * URL(url).pathname)` gives back exactly `path` — in Node, and in any language's URL parser.
 */
export function unixUrl(path: string): string {
  return `unix://${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Everything needed to build an instance's listen URL for one URL scheme. */
export interface AddressContext {
  instanceId: string;
  /** Directory for unix socket files (private, 0700). */
  socketDir: () => Promise<string>;
  /** Interface network transports bind to (default 127.0.0.1). */
  host: string;
  /** Port for network transports; 0 lets the OS pick a free one, so every instance gets its own. */
  port: number;
  /** The NATS server (`nats://host:port`) instances meet the host on, for the nats transport. */
  natsUrl?: string;
}

/** The subject an instance's listener uses on NATS: `spear.instance.<instanceFileStem(id)>`. */
export function natsInstanceSubject(instanceId: string): string {
  return `spear.instance.${instanceFileStem(instanceId)}`;
}

/**
 * The address an instance's listener should use on `scheme`. Throws a `ChannelCreationFailed`
 * that explains why when the scheme cannot be used for this instance (e.g. the path is too long).
 */
export async function instanceAddress(scheme: string, context: AddressContext): Promise<string> {
  switch (scheme) {
    case 'unix': {
      const path = unixSocketPath(await context.socketDir(), context.instanceId);
      const problem = unixPathProblem(path);
      if (problem) throw new CommunicationError(ErrorCode.ChannelCreationFailed, problem);
      return unixUrl(path);
    }
    case 'nats':
    case 'natss': {
      if (!context.natsUrl) {
        throw new CommunicationError(
          ErrorCode.ChannelCreationFailed,
          'no NATS server is configured: give the factory natsUrl (or the channel config natsUrl), or set SPEAR_NATS_URL',
        );
      }
      const server = new URL(context.natsUrl);
      const auth = server.username ? `${server.username}${server.password ? `:${server.password}` : ''}@` : '';
      return `${scheme}://${auth}${server.host}/${natsInstanceSubject(context.instanceId)}`;
    }
    case 'memory':
      // Memory names live in one kernel; the stem keeps two instances' names apart.
      return `memory://instance-${instanceFileStem(context.instanceId)}`;
    default: {
      const host = context.host.includes(':') && !context.host.startsWith('[') ? `[${context.host}]` : context.host;
      return `${scheme}://${host}:${context.port}`;
    }
  }
}
