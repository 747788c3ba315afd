import { CommunicationError, ErrorCode, type FrameConnection, type FrameSink } from 'spear-comm';
import { FrameInbox } from 'spear-comm/transport-kit';
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from './ws-library.js';

/** Bytes ws may hold unsent before `send()` waits for its frame to reach the socket. */
const HIGH_WATER_MARK = 1024 * 1024;
/** How long a close handshake may take before the socket is simply destroyed. */
const CLOSE_GRACE_MS = 2_000;

/** Close codes of RFC 6455 §7.4.1 that spear-comm sends and reads. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Unsupported: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  TooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
} as const;

/** RFC 6455 §5.5: a close frame's body is at most 125 bytes, two of them the code. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * The close frame that tells a peer why spear-comm ends its connection: the code by the kind of
 * failure, the reason `<ErrorCode>: <message>` cut to 123 bytes (docs/wire-format.md).
 */
export function closeFrameFor(error: CommunicationError): { code: number; reason: string } {
  const code =
    {
      [ErrorCode.FrameTooLarge]: CloseCode.TooBig,
      [ErrorCode.DecodeFailed]: CloseCode.InvalidPayload,
      [ErrorCode.AuthFailed]: CloseCode.PolicyViolation,
      [ErrorCode.Timeout]: CloseCode.PolicyViolation,
      [ErrorCode.ConnectionRefused]: CloseCode.TryAgainLater,
    }[error.code as string] ?? CloseCode.InternalError;
  return { code, reason: clipUtf8(`${error.code}: ${error.message}`, MAX_CLOSE_REASON_BYTES) };
}

function clipUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength <= maxBytes) return text;
  // Drop a cut multi-byte character (it would decode as U+FFFD, which is 3 bytes).
  return bytes
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/**
 * What this plugin reads and sets of ws's message parser (ws has no public API for either): its
 * payload limit, read for every frame header, so lowering it applies from the next frame on; and
 * whether it holds part of a frame or message (bytes of an unfinished header, a payload not yet
 * complete, fragments of a message).
 */
interface ReceiverInternals {
  _maxPayload: number;
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
}

/** The parser's idle state: waiting for the first byte of a frame header (ws's GET_INFO). */
const RECEIVER_IDLE = 0;

/** One spear-comm connection over a WebSocket: one binary message per frame. */
export class WebSocketConnection implements FrameConnection {
  /** Holds frames before `start()` and while paused (ws finishes the chunk it is parsing). */
  private readonly inbox: FrameInbox;
  private closing: Promise<void> | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private answeredPing = true;
  /** Set by the listener for a client whose certificate it refuses (mutual TLS). */
  refusal?: CommunicationError;
  /** Set by setMaxFrameSize; until then ws's own maxPayload applies. */
  private maxFrameSize = Infinity;
  private limitReason: string | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  /** Resolves once the socket is closed, however it ended. */
  readonly ended: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    readonly localAddress: string,
    readonly remoteAddress: string,
    /** Ping the peer this often and drop it if it has not answered the previous ping (0: never). */
    pingIntervalMs: number,
  ) {
    this.inbox = new FrameInbox(ws);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.answeredPing = true));
    ws.on('error', (err) => this.noteFailure(describeSocketError(err, remoteAddress)));
    this.ended = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('close', (code, reason) => this.onSocketClose(code, reason.toString()));
    if (pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.ping(pingIntervalMs), pingIntervalMs);
      this.pingTimer.unref();
    }
  }

  /**
   * Listener side: a frame (or a fragmented message) the peer has begun must be complete within
   * `frameTimeoutMs`, or the connection closes with 1008 `Timeout: …`; the clock stops while this
   * side is paused. `socket` is the upgraded socket: after each chunk ws has parsed, the parser
   * says whether it holds part of a frame.
   */
  watchFrames(socket: Duplex, frameTimeoutMs: number): void {
    const receiver = this.receiver();
    if (!receiver || typeof receiver._state !== 'number' || typeof receiver._bufferedBytes !== 'number') return;
    const midFrame = () => receiver._state !== RECEIVER_IDLE || receiver._bufferedBytes !== 0 || (receiver._fragmented ?? 0) !== 0;
    const onTimeout = () => {
      this.frameTimer = undefined;
      if (!midFrame() || this.closing || this.inbox.isEnded) return;
      if (this.ws.isPaused) {
        this.frameTimer = setTimeout(onTimeout, frameTimeoutMs);
        return;
      }
      const error = new CommunicationError(
        ErrorCode.Timeout,
        `${this.remoteAddress} began a frame and did not complete it within ${frameTimeoutMs} ms; connection closed`,
      );
      this.failWith(error, CloseCode.PolicyViolation, closeFrameFor(error).reason);
    };
    // Added after ws's own listener, so it runs once ws has parsed the chunk.
    socket.on('data', () => {
      if (!midFrame()) {
        clearTimeout(this.frameTimer);
        this.frameTimer = undefined;
      } else if (!this.frameTimer) {
        this.frameTimer = setTimeout(onTimeout, frameTimeoutMs);
      }
    });
  }

  private receiver(): Partial<ReceiverInternals> | undefined {
    return (this.ws as unknown as { _receiver?: Partial<ReceiverInternals> })._receiver;
  }

  start(sink: FrameSink): void {
    this.inbox.start(sink, 'WebSocketConnection');
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closing || this.inbox.isEnded || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new CommunicationError(ErrorCode.ChannelClosed, `WebSocket connection to ${this.remoteAddress} is closed`));
    }
    return new Promise<void>((resolve, reject) => {
      this.ws.send(frame, { binary: true }, (err) => {
        if (!err) return resolve();
        const failure = this.inbox.failure;
        reject(
          failure && CommunicationError.is(failure, ErrorCode.FrameTooLarge)
            ? failure
            : new CommunicationError(
                ErrorCode.ChannelClosed,
                `WebSocket connection to ${this.remoteAddress} closed before the frame was sent (${err.message})`,
                { cause: err },
              ),
        );
      });
      // Accepted while ws's buffer is small; otherwise the caller waits until this frame reaches the socket.
      if (this.ws.bufferedAmount <= HIGH_WATER_MARK) resolve();
    });
  }

  pause(): void {
    this.inbox.pause();
  }

  resume(): void {
    this.inbox.resume();
  }

  close(reason?: CommunicationError): Promise<void> {
    if (reason) {
      const frame = closeFrameFor(reason);
      this.closing ??= this.shut(frame.code, frame.reason);
    }
    this.closing ??= this.shut(CloseCode.Normal, 'closed');
    return this.closing;
  }

  /**
   * Lowers (or raises) the largest message accepted from now on. ws has no public setting for a
   * live socket, so this sets its parser's limit, which ws checks against each frame header before
   * it buffers the payload; a message over it closes the socket with 1009. Should a future ws
   * lack that field, the size is still checked when a whole message arrives.
   */
  setMaxFrameSize(maxFrameSize: number, reason?: string): void {
    this.maxFrameSize = maxFrameSize;
    this.limitReason = reason;
    const receiver = this.receiver();
    if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = maxFrameSize;
  }

  /** Closes with a protocol error: the peer gets `code`, the local sink `error`. */
  private failWith(error: CommunicationError, code: number, reason: string): void {
    this.inbox.noteFailure(error);
    this.closing ??= this.shut(code, reason);
  }

  private shut(code: number, reason: string): Promise<void> {
    this.stopPing();
    this.inbox.drop();
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.resume(); // the peer's answering close frame must be read
    this.ws.close(code, reason);
    // A peer that never answers the close frame (or is not reading) must not hold the socket open.
    this.killTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    return done;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing || this.inbox.isEnded) return;
    this.answeredPing = true;
    if (!isBinary) {
      this.failWith(
        new CommunicationError(
          ErrorCode.DecodeFailed,
          `${this.remoteAddress} sent a text WebSocket message; spear-comm frames are binary messages (docs/wire-format.md)`,
        ),
        CloseCode.Unsupported,
        'spear-comm accepts only binary messages',
      );
      return;
    }
    // binaryType is 'nodebuffer', so data is one Buffer (ws joins fragments).
    const frame = data as Buffer;
    if (frame.byteLength > this.maxFrameSize) {
      const error = new CommunicationError(
        ErrorCode.FrameTooLarge,
        `${this.remoteAddress} sent a frame of ${frame.byteLength} bytes, over the limit of ${this.maxFrameSize}${this.limitReason ? ` ${this.limitReason}` : ''}`,
      );
      this.failWith(error, CloseCode.TooBig, closeFrameFor(error).reason);
      return;
    }
    this.inbox.push(frame);
  }

  private onSocketClose(code: number, reason: string): void {
    clearTimeout(this.killTimer);
    clearTimeout(this.frameTimer);
    this.stopPing();
    // Frames that arrived before the close still belong to the sink, unless it asked to pause.
    this.inbox.end(this.closing ? undefined : describeCloseCode(code, reason, this.remoteAddress));
  }

  private noteFailure(error: Error): void {
    this.inbox.noteFailure(error);
  }

  private ping(intervalMs: number): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.answeredPing) {
      this.noteFailure(
        new CommunicationError(
          ErrorCode.Timeout,
          `${this.remoteAddress} answered neither a ping nor with any message within ${intervalMs} ms; connection dropped`,
        ),
      );
      this.stopPing();
      this.ws.terminate();
      return;
    }
    this.answeredPing = false;
    this.ws.ping();
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}

/** Turns the close code the peer (or ws) reported into the reason the sink gets; orderly closes give none. */
function describeCloseCode(code: number, reason: string, peer: string): CommunicationError | undefined {
  const detail = reason ? `: ${reason}` : '';
  // A spear-comm peer says why as "<ErrorCode>: message"; these codes keep their meaning on this side.
  const said = /^(AuthFailed|ConnectionRefused|FrameTooLarge|Timeout): /.exec(reason)?.[1] as ErrorCode | undefined;
  if (said && code !== CloseCode.Normal) {
    return new CommunicationError(said, `${peer} closed the WebSocket (close code ${code}${detail})`);
  }
  switch (code) {
    case CloseCode.Normal:
    case CloseCode.GoingAway:
    case CloseCode.NoStatus:
      return undefined;
    case CloseCode.TooBig:
      return new CommunicationError(
        ErrorCode.FrameTooLarge,
        `${peer} closed the WebSocket because a frame exceeded its size limit (close code 1009${detail}); send smaller messages or raise maxFrameSize on that side`,
      );
    case CloseCode.Unsupported:
      return new CommunicationError(ErrorCode.DecodeFailed, `${peer} refused a message it cannot accept (close code 1003${detail})`);
    case CloseCode.Abnormal:
      return new CommunicationError(
        ErrorCode.ChannelClosed,
        `WebSocket connection to ${peer} was lost without a close handshake (close code 1006)`,
      );
    default:
      return new CommunicationError(ErrorCode.ChannelClosed, `${peer} closed the WebSocket with code ${code}${detail}`);
  }
}

function describeSocketError(err: Error & { code?: string }, peer: string): CommunicationError {
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
    return new CommunicationError(
      ErrorCode.FrameTooLarge,
      `${peer} sent a frame over this side's maxFrameSize (${err.message}); connection closed with code 1009`,
      { cause: err },
    );
  }
  if (err.code?.startsWith('WS_ERR_')) {
    return new CommunicationError(ErrorCode.DecodeFailed, `${peer} broke the WebSocket protocol (${err.message}); connection closed`, {
      cause: err,
    });
  }
  return new CommunicationError(ErrorCode.ChannelClosed, `WebSocket connection to ${peer} failed: ${err.message}`, { cause: err });
}
