import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  CommunicationError,
  ErrorCode,
  Transport,
  abortedError,
  type FrameConnection,
  type FrameListener,
  type TlsOptions,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';
import { OpenListeners } from 'spear-comm/transport-kit';
import { NatsFrameConnection } from './nats-connection.js';
import { decodeJson, encodeJson, type OpenReply, type OpenRequest } from './protocol.js';
import { natsLibrary } from './library.js';
import { NATS_PACKAGE } from './package-name.js';

/**
 * What `extra` may carry for this transport (all optional; docs/deployment.md):
 * - `servers`: more NATS servers of the same cluster (`host:port` or `nats://host:port`), tried
 *   when the URL's server is down; the client also learns the cluster's other servers from it.
 * - `user` + `pass`, `token`, `credsFile` (a `.creds` file) or `creds` (its contents): the NATS
 *   credentials (a user and password or a token may also be given in the URL).
 * - `queue` (listen): join this NATS queue group on the listener's subject, so that several
 *   listeners on one subject share new connections. Without it a subject is one listener's, like a
 *   tcp port: listening on a subject another listener already serves fails with ChannelCreationFailed.
 * - `windowBytes`: how much this side lets the peer have in flight (default 1 MiB); `send()` on
 *   the peer waits beyond it, so it bounds what this side buffers for one connection.
 * - `heartbeatMs`: this side sends something at least this often (default 1000 ms); a peer that
 *   sends nothing for 4 of its intervals is taken as gone.
 * - `name`: the client name NATS monitoring shows.
 * - `connectionOptions`: further @nats-io/transport-node connect options, passed through.
 */
export interface NatsExtra {
  servers?: string[];
  user?: string;
  pass?: string;
  token?: string;
  credsFile?: string;
  creds?: string | Uint8Array;
  queue?: string;
  windowBytes?: number;
  heartbeatMs?: number;
  name?: string;
  /** Typed loosely so that this declaration does not need the NATS library's types. */
  connectionOptions?: Record<string, unknown>;
}

const DEFAULT_WINDOW = 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 1000;
/** How long listen() waits for an answer from a listener already on the subject. */
const TAKEN_PROBE_MS = 1_000;
/** Not an open request: a listener answers it with a refusal and opens nothing. */
const PROBE = new TextEncoder().encode('{"v":1,"probe":true}');
/** How long a listener waits for its NATS server. */
const LISTEN_CONNECT_TIMEOUT_MS = 10_000;
/** Subjects of the listener side of connections: `_SPEAR.<listener id>.<connection id>`. */
const CONNECTION_PREFIX = '_SPEAR';

/**
 * `nats://host:port/<subject>` (and `natss://` with TLS): a listener is a subject on a NATS server
 * or cluster; each connection gets its own pair of subjects. See docs/deployment.md.
 */
@Transport({ name: 'nats', schemes: ['nats', 'natss'] })
export class NatsTransport implements Transport {
  // Frames travel in parts of at most the server's max_payload, so the limit is the listener's own.
  readonly capabilities: TransportCapabilities = {
    maxFrameSize: 2 ** 31,
    ordered: true,
    reliable: true,
    localOnly: false,
    tls: true,
  };
  private readonly listeners = new OpenListeners();
  private readonly connections = new Set<FrameConnection>();

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const extra = readExtra(options.extra);
    const subject = subjectOf(url, false);
    const target = describe(url, subject);
    if (options.signal?.aborted) throw abortedError(options.signal, `Connecting to ${target}`);
    const deadline = Date.now() + options.timeoutMs;
    const nc = await openNats(url, options.tls, extra, options.timeoutMs, target, false, options.signal);
    const inbox = `_INBOX.${id()}`;
    const window = extra.windowBytes ?? DEFAULT_WINDOW;
    const heartbeatMs = extra.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    let sub: Subscription | undefined;
    const server = nc.getServer();
    const connection = new NatsFrameConnection({
      wire: wireOf(nc),
      localAddress: `${url.protocol}//${server}/${inbox}`,
      remoteAddress: target,
      maxFrameSize: options.maxFrameSize,
      window,
      heartbeatMs,
      release: async () => {
        this.connections.delete(connection);
        sub?.unsubscribe();
        await closeNats(nc);
      },
    });
    watchNats(nc, () => connection.lost(serverLost(target, server)));
    sub = nc.subscribe(inbox, { callback: (_err, msg) => connection.receive(msg.data) });
    const request: OpenRequest = { v: 1, inbox, window, heartbeatMs };
    let reply: OpenReply;
    const signal = options.signal;
    let onAbort: (() => void) | undefined;
    try {
      const abort = new Promise<never>((_, reject) => {
        onAbort = () => reject(abortedError(signal!, `Connecting to ${target}`));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      abort.catch(() => {});
      const msg = await Promise.race([nc.request(subject, encodeJson(request), { timeout: Math.max(1, deadline - Date.now()) }), abort]);
      reply = readReply(msg, target);
    } catch (err) {
      sub.unsubscribe();
      await closeNats(nc);
      throw describeOpenError(err, target, options.timeoutMs);
    } finally {
      // A long-lived signal (a reconnecting channel's) must not collect one listener per attempt.
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    if (!reply.ok) {
      sub.unsubscribe();
      await closeNats(nc);
      throw new CommunicationError(ErrorCode.ConnectionRefused, `${target} refused the connection: ${reply.reason}`);
    }
    connection.open(reply.subject, reply.window, reply.heartbeatMs);
    this.connections.add(connection);
    return connection;
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const extra = readExtra(options.extra);
    const subject = subjectOf(url, true);
    const target = describe(url, subject);
    const nc = await openNats(url, options.tls, extra, LISTEN_CONNECT_TIMEOUT_MS, target, true);
    const listenerId = id();
    const window = extra.windowBytes ?? DEFAULT_WINDOW;
    const heartbeatMs = extra.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const wire = wireOf(nc);
    const connections = new Map<string, NatsFrameConnection>();
    let closed = false;

    // One subscription carries every connection's messages to this listener; interest in it is
    // sent to the cluster before the listener's own subject, so it is known wherever an open arrives.
    const data = nc.subscribe(`${CONNECTION_PREFIX}.${listenerId}.*`, {
      callback: (_err, msg) => {
        const cid = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
        connections.get(cid)?.receive(msg.data);
      },
    });
    const onOpen = (msg: Msg) => {
      const request = readOpen(msg.data);
      if (!msg.reply) return;
      const full = options.maxConnections !== undefined && connections.size >= options.maxConnections;
      if (closed || !request || full) {
        const reason = closed
          ? 'the listener is closing'
          : !request
            ? 'malformed open request'
            : `connection limit of ${options.maxConnections} reached`;
        msg.respond(encodeJson({ v: 1, ok: false, reason }));
        return;
      }
      const cid = id();
      const own = `${CONNECTION_PREFIX}.${listenerId}.${cid}`;
      const connection = new NatsFrameConnection({
        wire,
        localAddress: `${target}#${cid}`,
        remoteAddress: `${url.protocol}//${nc.getServer()}/${request.inbox}`,
        maxFrameSize: options.maxFrameSize,
        window,
        heartbeatMs,
        release: () => {
          connections.delete(cid);
          return Promise.resolve();
        },
      });
      connections.set(cid, connection);
      connection.open(request.inbox, request.window, request.heartbeatMs);
      msg.respond(encodeJson({ v: 1, ok: true, subject: own, window, heartbeatMs }));
      options.onConnection(connection);
    };
    const queue = extra.queue;
    let opens: Subscription;
    try {
      if (queue === undefined) await refuseTakenSubject(nc, subject, target);
      opens = nc.subscribe(subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (_err, msg) => onOpen(msg),
      });
      await nc.flush();
    } catch (err) {
      data.unsubscribe();
      await closeNats(nc);
      if (CommunicationError.is(err)) throw err;
      throw new CommunicationError(ErrorCode.ChannelCreationFailed, `Cannot listen on ${target}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // Messages sent while this listener was away from NATS may be lost: its connections end; new ones come after the reconnect.
    watchNats(nc, () => {
      const error = serverLost(target, nc.getServer());
      for (const connection of connections.values()) connection.lost(error);
      if (!closed) options.onError?.(error);
    });
    // A NATS connection that gives up for good (reconnects disabled, credentials revoked) leaves a listener that accepts nothing: say so.
    void nc
      .closed()
      .then(
        (err) => {
          if (closed || !options.onError) return;
          options.onError(
            new CommunicationError(
              ErrorCode.ChannelClosed,
              `The NATS connection of listener ${target} closed for good${err ? `: ${err.message}` : ''}; it accepts nothing more`,
              { cause: err },
            ),
          );
        },
        () => {},
      )
      .catch(() => {});
    let closing: Promise<void> | undefined;
    return this.listeners.track({
      url: target,
      close: () =>
        (closing ??= (async () => {
          closed = true;
          opens.unsubscribe();
          await Promise.all([...connections.values()].map((c) => c.close()));
          data.unsubscribe();
          await closeNats(nc);
        })()),
    });
  }

  async dispose(): Promise<void> {
    await Promise.all([this.listeners.closeAll(), ...[...this.connections].map((c) => c.close())]);
  }
}

/** What `spear-comm conformance spear-comm/plugins/nats` uses: see conformance-target.ts. */
export { conformance } from './conformance-target.js';
export { NATS_PACKAGE };

function id(): string {
  return randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
}

function wireOf(nc: NatsConnection): { publish(subject: string, data: Uint8Array): void; readonly maxPayload: number } {
  return {
    publish: (subject, data) => nc.publish(subject, data),
    get maxPayload() {
      return nc.info?.max_payload ?? 1024 * 1024;
    },
  };
}

/** Calls `onDisconnect` when the NATS connection drops or closes (not after a close this side asked for). */
function watchNats(nc: NatsConnection, onDisconnect: () => void): void {
  // A throwing callback (an onError of the caller's) must not stop the watch or reject unhandled.
  const notify = () => {
    try {
      onDisconnect();
    } catch {
      // ignored
    }
  };
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') notify();
    }
  })().catch(() => {});
  void nc.closed().then(notify, notify);
}

async function closeNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  try {
    await nc.close();
  } catch {
    // already closing
  }
}

function serverLost(target: string, server: string): CommunicationError {
  return new CommunicationError(
    ErrorCode.ChannelClosed,
    `The NATS server connection (${server}) under ${target} was lost; messages in flight may be gone, so the connection is closed (reconnect to continue)`,
  );
}

function readExtra(extra: Record<string, unknown> | undefined): NatsExtra {
  const e = (extra ?? {}) as NatsExtra;
  const positive = (name: 'windowBytes' | 'heartbeatMs', min: number) => {
    const value = e[name];
    if (value !== undefined && !(Number.isFinite(value) && value >= min)) {
      throw new CommunicationError(ErrorCode.InvalidArgument, `extra.${name} must be a number >= ${min}, got ${String(value)}`);
    }
  };
  positive('windowBytes', 1024);
  positive('heartbeatMs', 10);
  if (e.servers !== undefined && !(Array.isArray(e.servers) && e.servers.every((s) => typeof s === 'string'))) {
    throw new CommunicationError(ErrorCode.InvalidArgument, 'extra.servers must be an array of "host:port" strings');
  }
  if (e.queue !== undefined && !(typeof e.queue === 'string' && validToken(e.queue))) {
    throw new CommunicationError(ErrorCode.InvalidArgument, `extra.queue must be a queue group name, got ${String(e.queue)}`);
  }
  return e;
}

function validToken(token: string): boolean {
  return token.length > 0 && !/[\s.*>]/.test(token);
}

/** The URL's path, percent-decoded, is the subject; a listener without one gets a fresh subject (like port 0). */
function subjectOf(url: URL, listening: boolean): string {
  let subject: string;
  try {
    subject = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    throw new CommunicationError(ErrorCode.InvalidArgument, `${url.href}: the path is not valid percent-encoding`);
  }
  if (subject === '') {
    if (listening) return `spear.${id()}`;
    throw new CommunicationError(ErrorCode.InvalidArgument, `${url.href} names no subject; use nats://host:port/<subject>`);
  }
  if (!subject.split('.').every(validToken)) {
    throw new CommunicationError(
      ErrorCode.InvalidArgument,
      `"${subject}" is not a NATS subject a listener can use: dot-separated tokens without spaces or the wildcards * and >`,
    );
  }
  return subject;
}

function describe(url: URL, subject: string): string {
  return `${url.protocol}//${url.host}/${encodeURIComponent(subject).replace(/%2E/gi, '.')}`;
}

async function openNats(
  url: URL,
  tls: TlsOptions | undefined,
  extra: NatsExtra,
  timeoutMs: number,
  target: string,
  listening: boolean,
  signal?: AbortSignal,
): Promise<NatsConnection> {
  const lib = natsLibrary(url);
  const secure = url.protocol === 'natss:';
  if (tls && !secure) {
    throw new CommunicationError(ErrorCode.InvalidArgument, `TLS options were given for ${target}; use natss:// to use them`);
  }
  const host = url.hostname === '' ? '127.0.0.1' : url.hostname;
  const servers = [`${host}:${url.port || '4222'}`, ...(extra.servers ?? [])];
  const auth: Partial<ConnectionOptions> = {};
  const user = extra.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const pass = extra.pass ?? (url.password ? decodeURIComponent(url.password) : undefined);
  if (extra.token !== undefined) auth.token = extra.token;
  else if (user !== undefined && pass === undefined) auth.token = user;
  else if (user !== undefined) {
    auth.user = user;
    if (pass !== undefined) auth.pass = pass;
  }
  if (extra.credsFile !== undefined || extra.creds !== undefined) {
    let creds: Uint8Array;
    try {
      creds = extra.creds !== undefined ? toBytes(extra.creds) : readFileSync(extra.credsFile!);
    } catch (err) {
      throw new CommunicationError(ErrorCode.InvalidArgument, `Cannot read extra.credsFile: ${(err as Error).message}`, { cause: err });
    }
    auth.authenticator = lib.credsAuthenticator(creds);
  }
  const options = {
    servers,
    timeout: Math.max(1, timeoutMs),
    name: extra.name ?? (listening ? `spear-comm listener ${target}` : `spear-comm client of ${target}`),
    // A client connection ends with its server (the channel closes, a reconnect policy opens a new
    // one); a listener's NATS client moves to another server and goes on accepting.
    reconnect: listening,
    // The URL's server first, then extra.servers in order (NATS would shuffle them).
    noRandomize: true,
    ...(listening ? { maxReconnectAttempts: -1 } : {}),
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    ...auth,
    ...(secure ? { tls: natsTls(tls) } : {}),
    ...extra.connectionOptions,
  };
  if (signal?.aborted) throw abortedError(signal, `Connecting to ${target}`);
  try {
    return await lib.connect(options);
  } catch (err) {
    throw describeConnectError(err, target, timeoutMs);
  }
}

function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? new TextEncoder().encode(value) : value;
}

function natsTls(tls: TlsOptions | undefined): Record<string, unknown> {
  const text = (v: string | Buffer | Array<string | Buffer> | undefined) =>
    v === undefined ? undefined : Array.isArray(v) ? v.map((x) => x.toString()).join('\n') : v.toString();
  const out: Record<string, unknown> = {};
  if (tls?.ca !== undefined) out.ca = text(tls.ca);
  if (tls?.cert !== undefined) out.cert = text(tls.cert);
  if (tls?.key !== undefined) out.key = text(tls.key);
  if (tls?.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}

function readOpen(bytes: Uint8Array): OpenRequest | undefined {
  const value = decodeJson(bytes) as Partial<OpenRequest> | undefined;
  if (!value || value.v !== 1 || typeof value.inbox !== 'string' || !value.inbox.split('.').every(validToken)) return undefined;
  if (typeof value.window !== 'number' || !(value.window >= 1024)) return undefined;
  if (typeof value.heartbeatMs !== 'number' || !(value.heartbeatMs >= 10)) return undefined;
  return value as OpenRequest;
}

function readReply(msg: Msg, target: string): OpenReply {
  const value = decodeJson(msg.data) as Partial<OpenReply> | undefined;
  if (value?.v === 1 && value.ok === false) return { v: 1, ok: false, reason: String(value.reason) };
  if (
    value?.v === 1 &&
    value.ok === true &&
    typeof value.subject === 'string' &&
    typeof value.window === 'number' &&
    value.window >= 1024 &&
    typeof value.heartbeatMs === 'number' &&
    value.heartbeatMs >= 10
  ) {
    return value as OpenReply;
  }
  throw new CommunicationError(ErrorCode.DecodeFailed, `${target} answered the open request with something that is not a spear-comm reply`);
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function describeConnectError(err: unknown, target: string, timeoutMs: number): CommunicationError {
  if (CommunicationError.is(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown }).cause;
  const text = `${errorName(err)} ${message} ${cause instanceof Error ? `${cause.name} ${cause.message}` : ''}`;
  if (/Authorization|authentication|auth/i.test(text)) {
    return new CommunicationError(ErrorCode.AuthFailed, `The NATS server for ${target} refused the credentials: ${message}`, {
      cause: err,
    });
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|certificate|ERR_TLS|tls/i.test(text)) {
    return new CommunicationError(
      ErrorCode.AuthFailed,
      `TLS to the NATS server for ${target} failed: ${message}; pass the server's CA as tls.ca`,
      { cause: err },
    );
  }
  if (/timeout|timed out/i.test(text)) {
    return new CommunicationError(ErrorCode.Timeout, `No NATS server for ${target} answered within ${timeoutMs} ms`, { cause: err });
  }
  if (/ECONNREFUSED|refused|ENOTFOUND|EHOSTUNREACH|ECONNRESET/i.test(text)) {
    return new CommunicationError(ErrorCode.ConnectionRefused, `No NATS server accepts connections for ${target}: ${message}`, {
      cause: err,
    });
  }
  return new CommunicationError(ErrorCode.ConnectionRefused, `Cannot reach a NATS server for ${target}: ${message}`, { cause: err });
}

/**
 * A subject is one listener's unless listeners join a queue group: ask the subject first. Any
 * answer (even a refusal of the malformed probe) means a listener holds it; NATS "no responders"
 * means it is free. Two listeners starting in the same instant can both pass: the check narrows
 * the window to one round trip, as a port check cannot be made atomic over a cluster.
 */
async function refuseTakenSubject(nc: NatsConnection, subject: string, target: string): Promise<void> {
  const answered = await nc.request(subject, PROBE, { timeout: TAKEN_PROBE_MS }).then(
    () => true,
    () => false,
  );
  if (answered) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Cannot listen on ${target}: another listener already serves this subject (give both extra.queue to share it)`,
    );
  }
}

function describeOpenError(err: unknown, target: string, timeoutMs: number): CommunicationError {
  if (CommunicationError.is(err)) return err;
  const name = errorName(err);
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? `${cause.name} ${cause.message}` : '';
  if (/NoResponders|no responders|503/i.test(`${name} ${message} ${inner}`)) {
    return new CommunicationError(ErrorCode.ConnectionRefused, `Nothing listens on ${target} (NATS has no subscriber for the subject)`, {
      cause: err,
    });
  }
  if (/Timeout|timed out/i.test(`${name} ${message} ${inner}`)) {
    return new CommunicationError(ErrorCode.Timeout, `${target} did not answer the open request within ${timeoutMs} ms`, { cause: err });
  }
  if (/Permission/i.test(`${name} ${message} ${inner}`)) {
    return new CommunicationError(ErrorCode.AuthFailed, `NATS refused this client the subjects of ${target}: ${message}`, { cause: err });
  }
  return new CommunicationError(ErrorCode.ChannelClosed, `Opening ${target} failed: ${message}`, { cause: err });
}
export { NATS_SERVER_INSTALL, freePort, natsServerAvailable, startNatsServer } from './nats-server.js';
export type { NatsServerOptions, NatsServerProcess } from './nats-server.js';
