import { randomUUID } from 'node:crypto';
import { SessionChannel } from './channel.js';
import type { Codec } from './codec.js';
import { CommunicationError, ErrorCode, toCommunicationError } from './errors.js';
import { decodeHandshake, encodeHandshake } from './handshake-codec.js';
import type { AuthRequest, RuntimeInstanceId } from './messages.js';
import { clipPeerText, quotePeerText } from './peer-text.js';
import { secretsEqual } from './secret.js';
import type { FrameConnection, FrameSink } from './transport.js';

/** Metadata key in a successful AuthResponse: the largest frame the server accepts. */
export const MAX_FRAME_SIZE_METADATA = 'maxFrameSize';

export const CLIENT_VERSION = '0.1.0';

const KEPT_HANDSHAKE_CODES = new Set<string>([ErrorCode.FrameTooLarge, ErrorCode.AuthFailed, ErrorCode.ConnectionRefused]);

/**
 * Stands between a connection and its channel during the handshake: the first frame goes to
 * the handshake, anything after it is held until the channel is attached.
 */
class HandshakeSink implements FrameSink {
  private first: ((frame: Uint8Array) => void) | undefined;
  private closed: ((error?: Error) => void) | undefined;
  private held: Uint8Array[] = [];
  private endedWith: { error?: Error } | undefined;
  private target: FrameSink | undefined;

  constructor(private readonly limit: number) {}

  awaitFirst(onFirst: (frame: Uint8Array) => void, onClosed: (error?: Error) => void): void {
    this.first = onFirst;
    this.closed = onClosed;
  }

  attach(target: FrameSink): void {
    this.target = target;
    for (const frame of this.held.splice(0)) target.onFrame(frame);
    if (this.endedWith) target.onClose(this.endedWith.error);
  }

  onFrame(frame: Uint8Array): void {
    if (this.target) return this.target.onFrame(frame);
    const first = this.first;
    if (first) {
      this.first = undefined;
      return first(frame);
    }
    if (this.held.length >= this.limit) {
      this.onClose(
        new CommunicationError(ErrorCode.DecodeFailed, `Peer sent more than ${this.limit} frames before the handshake completed`),
      );
      return;
    }
    this.held.push(frame);
  }

  onClose(error?: Error): void {
    if (this.target) return this.target.onClose(error);
    if (this.endedWith) return;
    this.endedWith = error ? { error } : {};
    this.first = undefined;
    this.closed?.(error);
  }
}

export interface ClientSessionOptions {
  transport: string;
  codec: Codec;
  instanceId: RuntimeInstanceId;
  token: string;
  timeoutMs: number;
  clientVersion?: string;
  extraParams?: Record<string, string>;
  receiveQueueLimit?: number;
  requestTimeoutMs?: number;
}

/** Client side: sends the AuthRequest, waits for the AuthResponse, and returns the channel. */
export function openSession(connection: FrameConnection, options: ClientSessionOptions): Promise<SessionChannel> {
  const sink = new HandshakeSink(1024);
  const request: AuthRequest = {
    type: 'AuthRequest',
    requestId: randomUUID(),
    timestamp: Date.now(),
    metadata: {},
    instanceId: options.instanceId.instanceId,
    token: options.token,
    clientVersion: options.clientVersion ?? CLIENT_VERSION,
    clientType: options.instanceId.runtimeType,
    codec: options.codec.name,
    extraParams: options.extraParams ?? {},
  };
  const where = `${options.transport} ${connection.remoteAddress}`;
  return new Promise<SessionChannel>((resolve, reject) => {
    const failWith = (error: CommunicationError) => {
      clearTimeout(timer);
      connection.close().catch(() => {});
      reject(error);
    };
    const timer = setTimeout(
      () =>
        failWith(
          new CommunicationError(
            ErrorCode.Timeout,
            `No AuthResponse from ${where} within ${options.timeoutMs} ms; is a spear-comm listener there?`,
          ),
        ),
      options.timeoutMs,
    );
    sink.awaitFirst(
      (frame) => {
        clearTimeout(timer);
        let response;
        try {
          response = decodeHandshake(frame, 'AuthResponse');
        } catch (err) {
          return failWith(toCommunicationError(err, ErrorCode.DecodeFailed, `Bad handshake answer from ${where}`));
        }
        if (!response.success) {
          return failWith(
            new CommunicationError(
              ErrorCode.AuthFailed,
              `${where} refused the session for instance "${request.instanceId}": ${response.errorMessage ? clipPeerText(response.errorMessage) : 'no reason given'}`,
            ),
          );
        }
        const limit = Number(response.metadata[MAX_FRAME_SIZE_METADATA]);
        const channel = new SessionChannel({
          instanceId: options.instanceId,
          sessionId: response.sessionId,
          transport: options.transport,
          codec: options.codec,
          connection,
          ...(Number.isSafeInteger(limit) && limit > 0 ? { peerMaxFrameSize: limit } : {}),
          ...(options.receiveQueueLimit !== undefined ? { receiveQueueLimit: options.receiveQueueLimit } : {}),
          ...(options.requestTimeoutMs !== undefined ? { defaultTimeoutMs: options.requestTimeoutMs } : {}),
        });
        sink.attach(channel);
        resolve(channel);
      },
      (error) =>
        failWith(
          new CommunicationError(
            // The transport may know why the listener closed: it is full, it refused our certificate, or a frame was too large.
            error && CommunicationError.is(error) && KEPT_HANDSHAKE_CODES.has(error.code) ? error.code : ErrorCode.ChannelCreationFailed,
            `${where} closed the connection during the handshake${error ? `: ${error.message}` : ' (wrong address, or the listener refused the connection)'}`,
            { cause: error },
          ),
        ),
    );
    connection.start(sink);
    connection.send(encodeHandshake(request)).catch((err: unknown) =>
      failWith(
        new CommunicationError(ErrorCode.ChannelCreationFailed, `Could not send the AuthRequest to ${where}: ${(err as Error).message}`, {
          cause: err,
        }),
      ),
    );
  });
}

export interface ServerSessionOptions {
  transport: string;
  /** Codecs this listener accepts, by name. */
  codecs: ReadonlyMap<string, Codec>;
  secret?: string;
  validateToken?: (token: string, request: AuthRequest) => boolean | Promise<boolean>;
  authTimeoutMs: number;
  maxFrameSize: number;
  receiveQueueLimit?: number;
  requestTimeoutMs?: number;
}

/**
 * The largest frame a listener accepts from a peer that has not authenticated (where the
 * transport can change its limit per connection): an AuthRequest is a few hundred bytes, and an
 * unauthenticated peer must not make the listener buffer and parse megabytes.
 */
export const HANDSHAKE_MAX_FRAME_SIZE = 64 * 1024;

/** Server side: waits for the AuthRequest, checks it, answers, and returns the channel. */
export function acceptSession(connection: FrameConnection, options: ServerSessionOptions): Promise<SessionChannel> {
  const sink = new HandshakeSink(16);
  const where = `${options.transport} peer ${connection.remoteAddress}`;
  return new Promise<SessionChannel>((resolve, reject) => {
    let settled = false;
    const failWith = (error: CommunicationError, answer?: { requestId: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const closeNow = () => connection.close(error).catch(() => {});
      if (answer) {
        const refusal = encodeHandshake({
          type: 'AuthResponse',
          requestId: answer.requestId,
          timestamp: Date.now(),
          metadata: {},
          success: false,
          sessionId: '',
          errorMessage: error.message,
        });
        void connection.send(refusal).then(closeNow, closeNow);
      } else {
        void closeNow();
      }
      reject(error);
    };
    const timer = setTimeout(
      () =>
        failWith(
          new CommunicationError(
            ErrorCode.AuthFailed,
            `${where} did not complete the handshake within ${options.authTimeoutMs} ms; connection closed`,
          ),
        ),
      options.authTimeoutMs,
    );
    sink.awaitFirst(
      (frame) => {
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
          return failWith(
            new CommunicationError(
              ErrorCode.AuthFailed,
              `codec ${quotePeerText(request.codec)} is not accepted here; use one of: ${[...options.codecs.keys()].join(', ')}`,
            ),
            answer,
          );
        }
        checkToken(request, options).then(
          (ok) => {
            if (settled) return;
            if (!ok)
              return failWith(
                new CommunicationError(ErrorCode.AuthFailed, `invalid token for instance ${quotePeerText(request.instanceId)}`),
                answer,
              );
            settled = true;
            clearTimeout(timer);
            connection.setMaxFrameSize?.(options.maxFrameSize);
            const sessionId = randomUUID();
            const channel = new SessionChannel({
              instanceId: { runtimeType: request.clientType, instanceId: request.instanceId },
              sessionId,
              transport: options.transport,
              codec,
              connection,
              ...(options.receiveQueueLimit !== undefined ? { receiveQueueLimit: options.receiveQueueLimit } : {}),
              ...(options.requestTimeoutMs !== undefined ? { defaultTimeoutMs: options.requestTimeoutMs } : {}),
            });
            const accepted = encodeHandshake({
              type: 'AuthResponse',
              requestId: request.requestId,
              timestamp: Date.now(),
              metadata: { [MAX_FRAME_SIZE_METADATA]: String(options.maxFrameSize) },
              success: true,
              sessionId,
            });
            connection.send(accepted).catch(() => {});
            sink.attach(channel);
            resolve(channel);
          },
          (err: unknown) =>
            failWith(
              toCommunicationError(err, ErrorCode.AuthFailed, `Token check for instance ${quotePeerText(request.instanceId)} failed`),
              answer,
            ),
        );
      },
      (error) =>
        failWith(
          new CommunicationError(
            error && CommunicationError.is(error) ? error.code : ErrorCode.ChannelClosed,
            `${where} closed the connection before completing the handshake${error ? `: ${error.message}` : ''}`,
            { cause: error },
          ),
        ),
    );
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
