import { randomUUID } from 'node:crypto';
import { SessionChannel } from './channel.js';
import type { Codec } from './codec.js';
import { CommunicationError, ErrorCode, abortedError, toCommunicationError } from './errors.js';
import { decodeHandshake, encodeHandshake } from './handshake-codec.js';
import type { AuthRequest, AuthResponse, RuntimeInstanceId } from './messages.js';
import { clipPeerText, quotePeerText } from './peer-text.js';
import { secretsEqual } from './secret.js';
import type { FrameConnection, FrameSink } from './transport.js';

/** Metadata key in a successful AuthResponse: the largest frame the server accepts. */
export const MAX_FRAME_SIZE_METADATA = 'maxFrameSize';

export const CLIENT_VERSION = '0.1.0';

/**
 * The largest frame a listener accepts from a peer that has not authenticated (where the
 * transport can change its limit per connection): an AuthRequest is a few hundred bytes, and an
 * unauthenticated peer must not make the listener buffer and parse megabytes.
 */
export const HANDSHAKE_MAX_FRAME_SIZE = 64 * 1024;

const KEPT_HANDSHAKE_CODES = new Set<string>([ErrorCode.FrameTooLarge, ErrorCode.AuthFailed, ErrorCode.ConnectionRefused]);

/**
 * Stands between a connection and its channel during the handshake: the first frame goes to
 * `onFirst`, anything after it is held (at most `limit` frames) until the channel is attached.
 */
class HandshakeSink implements FrameSink {
  private held: Uint8Array[] = [];
  private endedWith: { error?: Error } | undefined;
  private target: FrameSink | undefined;

  constructor(
    private readonly limit: number,
    private onFirst: ((frame: Uint8Array) => void) | undefined,
    private readonly onClosed: (error?: Error) => void,
  ) {}

  attach(target: FrameSink): void {
    this.target = target;
    for (const frame of this.held.splice(0)) target.onFrame(frame);
    if (this.endedWith) target.onClose(this.endedWith.error);
  }

  onFrame(frame: Uint8Array): void {
    if (this.target) return this.target.onFrame(frame);
    const first = this.onFirst;
    this.onFirst = undefined;
    if (first) return first(frame);
    if (this.held.length < this.limit) return void this.held.push(frame);
    this.onClose(new CommunicationError(ErrorCode.DecodeFailed, `Peer sent more than ${this.limit} frames before the handshake completed`));
  }

  onClose(error?: Error): void {
    if (this.target) return this.target.onClose(error);
    if (this.endedWith) return;
    this.endedWith = error ? { error } : {};
    this.onFirst = undefined;
    this.onClosed(error);
  }
}

/** What both sides' channels take from their options. */
type ChannelLimits = { receiveQueueLimit?: number; requestTimeoutMs?: number };

function newChannel(
  connection: FrameConnection,
  fields: { instanceId: RuntimeInstanceId; sessionId: string; transport: string; codec: Codec; peerMaxFrameSize?: number },
  limits: ChannelLimits,
): SessionChannel {
  return new SessionChannel({
    ...fields,
    connection,
    ...(limits.receiveQueueLimit !== undefined ? { receiveQueueLimit: limits.receiveQueueLimit } : {}),
    ...(limits.requestTimeoutMs !== undefined ? { defaultTimeoutMs: limits.requestTimeoutMs } : {}),
  });
}

/** A handshake frame, its fields in the wire order of every message (type, requestId, timestamp, metadata, …). */
function handshakeMessage<T extends 'AuthRequest' | 'AuthResponse'>(
  type: T,
  fields: Omit<Extract<AuthRequest | AuthResponse, { type: T }>, 'type' | 'timestamp' | 'metadata'>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const head = { type, requestId: fields.requestId, timestamp: Date.now(), metadata };
  return encodeHandshake(Object.assign(head, fields) as unknown as AuthRequest | AuthResponse);
}

export interface ClientSessionOptions extends ChannelLimits {
  transport: string;
  codec: Codec;
  instanceId: RuntimeInstanceId;
  token: string;
  timeoutMs: number;
  /** Aborts the handshake: the session fails with `Aborted` and the connection is closed. */
  signal?: AbortSignal;
  clientVersion?: string;
  extraParams?: Record<string, string>;
}

/** Client side: sends the AuthRequest, waits for the AuthResponse, and returns the channel. */
export function openSession(connection: FrameConnection, options: ClientSessionOptions): Promise<SessionChannel> {
  const { instanceId, signal } = options;
  const where = `${options.transport} ${connection.remoteAddress}`;
  return new Promise<SessionChannel>((resolve, reject) => {
    const disarm = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const failWith = (error: CommunicationError) => {
      disarm();
      connection.close().catch(() => {});
      reject(error);
    };
    const onAbort = () => failWith(abortedError(signal!, `The handshake with ${where}`));
    const timer = setTimeout(() => {
      const message = `No AuthResponse from ${where} within ${options.timeoutMs} ms; is a spear-comm listener there?`;
      failWith(new CommunicationError(ErrorCode.Timeout, message));
    }, options.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const onAnswer = (frame: Uint8Array) => {
      disarm();
      let response;
      try {
        response = decodeHandshake(frame, 'AuthResponse');
      } catch (err) {
        return failWith(toCommunicationError(err, ErrorCode.DecodeFailed, `Bad handshake answer from ${where}`));
      }
      if (!response.success) {
        const reason = response.errorMessage ? clipPeerText(response.errorMessage) : 'no reason given';
        const message = `${where} refused the session for instance "${instanceId.instanceId}": ${reason}`;
        return failWith(new CommunicationError(ErrorCode.AuthFailed, message));
      }
      const limit = Number(response.metadata[MAX_FRAME_SIZE_METADATA]);
      const fields = { instanceId, sessionId: response.sessionId, transport: options.transport, codec: options.codec };
      const channel = newChannel(
        connection,
        Number.isSafeInteger(limit) && limit > 0 ? { ...fields, peerMaxFrameSize: limit } : fields,
        options,
      );
      sink.attach(channel);
      resolve(channel);
    };
    const onClosed = (error?: Error) => {
      // A close with no error is the listener turning the connection away; the transport may know why
      // (full, our certificate refused, a frame too large); anything else ended the connection.
      const code =
        error === undefined
          ? ErrorCode.ConnectionRefused
          : CommunicationError.is(error) && KEPT_HANDSHAKE_CODES.has(error.code)
            ? error.code
            : ErrorCode.ChannelClosed;
      const why = error ? `: ${error.message}` : ' (wrong address, or the listener refused the connection)';
      failWith(new CommunicationError(code, `${where} closed the connection during the handshake${why}`, { cause: error }));
    };
    const sink = new HandshakeSink(1024, onAnswer, onClosed);
    connection.start(sink);
    const request = handshakeMessage('AuthRequest', {
      requestId: randomUUID(),
      instanceId: instanceId.instanceId,
      token: options.token,
      clientVersion: options.clientVersion ?? CLIENT_VERSION,
      clientType: instanceId.runtimeType,
      codec: options.codec.name,
      extraParams: options.extraParams ?? {},
    });
    connection.send(request).catch((err: unknown) => {
      // The peer closed before reading it: the listener turned the connection away (e.g. it is full).
      const message = `Could not send the AuthRequest to ${where}: ${(err as Error).message}`;
      failWith(new CommunicationError(ErrorCode.ConnectionRefused, message, { cause: err }));
    });
  });
}

export interface ServerSessionOptions extends ChannelLimits {
  transport: string;
  /** Codecs this listener accepts, by name. */
  codecs: ReadonlyMap<string, Codec>;
  secret?: string;
  validateToken?: (token: string, request: AuthRequest) => boolean | Promise<boolean>;
  authTimeoutMs: number;
  maxFrameSize: number;
}

/** Server side: waits for the AuthRequest, checks it, answers, and returns the channel. */
export function acceptSession(connection: FrameConnection, options: ServerSessionOptions): Promise<SessionChannel> {
  const where = `${options.transport} peer ${connection.remoteAddress}`;
  return new Promise<SessionChannel>((resolve, reject) => {
    let settled = false;
    /** With `answer`, the peer is told why (an AuthResponse refusal) before the connection closes. */
    const failWith = (error: CommunicationError, answer?: { requestId: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const closeNow = () => connection.close(error).catch(() => {});
      if (answer) {
        const refusal = handshakeMessage('AuthResponse', { ...answer, success: false, sessionId: '', errorMessage: error.message });
        void connection.send(refusal).then(closeNow, closeNow);
      } else void closeNow();
      reject(error);
    };
    const timer = setTimeout(() => {
      const message = `${where} did not complete the handshake within ${options.authTimeoutMs} ms; connection closed`;
      failWith(new CommunicationError(ErrorCode.AuthFailed, message));
    }, options.authTimeoutMs);
    // A listener that closes while a peer is mid-handshake closes the connection locally, which its
    // sink is not told of: this timer must not keep the process (or a closed kernel) alive meanwhile.
    timer.unref();
    const onRequest = (frame: Uint8Array) => {
      let request: AuthRequest;
      try {
        request = decodeHandshake(frame, 'AuthRequest');
      } catch (err) {
        return failWith(toCommunicationError(err, ErrorCode.DecodeFailed, `Bad handshake from ${where}`));
      }
      const answer = { requestId: request.requestId };
      if (connection.refusal) return failWith(connection.refusal, answer);
      const codec = options.codecs.get(request.codec);
      if (!codec) {
        const message = `codec ${quotePeerText(request.codec)} is not accepted here; use one of: ${[...options.codecs.keys()].join(', ')}`;
        return failWith(new CommunicationError(ErrorCode.AuthFailed, message), answer);
      }
      const who = `instance ${quotePeerText(request.instanceId)}`;
      checkToken(request, options).then(
        (ok) => {
          if (settled) return;
          if (!ok) return failWith(new CommunicationError(ErrorCode.AuthFailed, `invalid token for ${who}`), answer);
          settled = true;
          clearTimeout(timer);
          connection.setMaxFrameSize?.(options.maxFrameSize);
          const sessionId = randomUUID();
          const instanceId = { runtimeType: request.clientType, instanceId: request.instanceId };
          const channel = newChannel(connection, { instanceId, sessionId, transport: options.transport, codec }, options);
          const accepted = handshakeMessage(
            'AuthResponse',
            { ...answer, success: true, sessionId },
            {
              [MAX_FRAME_SIZE_METADATA]: String(options.maxFrameSize),
            },
          );
          connection.send(accepted).catch(() => {});
          sink.attach(channel);
          resolve(channel);
        },
        (err: unknown) => failWith(toCommunicationError(err, ErrorCode.AuthFailed, `Token check for ${who} failed`), answer),
      );
    };
    const onClosed = (error?: Error) => {
      const code = error && CommunicationError.is(error) ? error.code : ErrorCode.ChannelClosed;
      const message = `${where} closed the connection before completing the handshake${error ? `: ${error.message}` : ''}`;
      failWith(new CommunicationError(code, message, { cause: error }));
    };
    const sink = new HandshakeSink(16, onRequest, onClosed);
    if (options.maxFrameSize > HANDSHAKE_MAX_FRAME_SIZE)
      connection.setMaxFrameSize?.(HANDSHAKE_MAX_FRAME_SIZE, 'for a peer that has not authenticated');
    connection.start(sink);
  });
}

async function checkToken(request: AuthRequest, options: ServerSessionOptions): Promise<boolean> {
  if (options.validateToken) return (await options.validateToken(request.token, request)) === true;
  if (options.secret !== undefined) return secretsEqual(request.token, options.secret);
  return true;
}
