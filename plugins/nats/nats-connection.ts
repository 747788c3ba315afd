import Denque from 'denque';
import { CommunicationError, ErrorCode, type FrameConnection, type FrameSink } from 'spear-comm';
import { FrameInbox } from 'spear-comm/transport-kit';
import {
  CloseReason,
  HEADER_BYTES,
  Kind,
  START_HEADER_BYTES,
  closeMessage,
  creditMessage,
  dataMessage,
  decodeText,
  frameCost,
  header,
} from './protocol.js';

/** How a connection reaches NATS: its owner (a client connection or a listener) provides it. */
export interface NatsWire {
  publish(subject: string, data: Uint8Array): void;
  /** The largest payload the server accepts in one message. */
  readonly maxPayload: number;
}

export interface NatsConnectionOptions {
  wire: NatsWire;
  localAddress: string;
  remoteAddress: string;
  /** Largest frame accepted from the peer. */
  maxFrameSize: number;
  /** Frame cost this side lets the peer have in flight (it told the peer so). */
  window: number;
  /** This side sends something at least this often. */
  heartbeatMs: number;
  /** Called once when the connection has ended, however; the owner releases its subscription. */
  release(): Promise<void>;
}

interface QueuedSend {
  frame: Uint8Array;
  resolve(): void;
  reject(error: Error): void;
}

/** A peer that has sent nothing for this many of its heartbeat intervals is taken as gone. */
const MISSED_HEARTBEATS = 4;

/**
 * One spear-comm connection over NATS: two subjects, one per direction. Frames larger than the
 * server's max_payload travel in parts; every message carries a per-direction sequence number, so
 * one that NATS dropped closes the connection (never a silent gap). A credit window bounds what a
 * sender may have in flight: `send()` waits while the peer has not delivered it.
 */
export class NatsFrameConnection implements FrameConnection {
  readonly localAddress: string;
  readonly remoteAddress: string;
  private readonly inbox: FrameInbox;
  private readonly wire: NatsWire;
  private peerSubject: string | undefined;
  private maxFrameSize: number;
  private limitReason: string | undefined;
  private readonly window: number;
  private readonly heartbeatMs: number;
  private peerWindow = 0;
  private peerHeartbeatMs = 0;

  private sendSeq = 0;
  private recvSeq = 0;
  /** Frame cost sent in total, and what the peer has reported delivered. */
  private sentCost = 0;
  private grantedCost = 0;
  private wantSent = false;
  private readonly queue = new Denque<QueuedSend>();
  /** The oldest waiting send, taken off the queue while it waits for credit. */
  private front: QueuedSend | undefined;

  /** Frame cost delivered to the sink in total, and how much of it the peer has been told. */
  private consumedCost = 0;
  private reportedCost = 0;
  private peerWaiting = false;

  /** A frame arriving in parts. */
  private assembling: Uint8Array | undefined;
  private filled = 0;

  private lastSent = Date.now();
  private lastHeard = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private suspect: NodeJS.Immediate | undefined;

  private ended = false;
  private closing: Promise<void> | undefined;
  private released: Promise<void> | undefined;
  private readonly releaseFn: () => Promise<void>;

  constructor(options: NatsConnectionOptions) {
    this.wire = options.wire;
    this.localAddress = options.localAddress;
    this.remoteAddress = options.remoteAddress;
    this.maxFrameSize = options.maxFrameSize;
    this.window = options.window;
    this.heartbeatMs = options.heartbeatMs;
    this.releaseFn = options.release;
    // Credit, not the library, stops the peer: pausing only holds frames in the inbox.
    this.inbox = new FrameInbox({ pause() {}, resume() {} });
  }

  /** The peer is known: its subject, window and heartbeat. Until then received messages are processed but nothing is sent. */
  open(peerSubject: string, peerWindow: number, peerHeartbeatMs: number): void {
    this.peerSubject = peerSubject;
    this.peerWindow = peerWindow;
    this.peerHeartbeatMs = peerHeartbeatMs;
    this.lastHeard = Date.now();
    if (this.ended) return;
    const tick = Math.max(10, Math.min(this.heartbeatMs, peerHeartbeatMs));
    this.timer = setInterval(() => this.checkLiveness(), tick);
    this.timer.unref();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  start(sink: FrameSink): void {
    this.inbox.start(
      {
        onFrame: (frame) => {
          this.delivered(frame.byteLength);
          sink.onFrame(frame);
        },
        onClose: (error) => sink.onClose(error),
      },
      'NatsFrameConnection',
    );
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.ended) return Promise.reject(this.closedError());
    if (!this.front && this.queue.length === 0 && this.fits(frame.byteLength)) {
      this.transmit(frame);
      return this.ended ? Promise.reject(this.closedError()) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      this.pump();
    });
  }

  setMaxFrameSize(maxFrameSize: number, reason?: string): void {
    this.maxFrameSize = maxFrameSize;
    this.limitReason = reason;
  }

  pause(): void {
    this.inbox.pause();
  }

  resume(): void {
    this.inbox.resume();
  }

  close(reason?: CommunicationError): Promise<void> {
    this.closing ??= (async () => {
      if (!this.ended) {
        this.sendControl(
          reason
            ? closeMessage(this.nextSeq(), CloseReason.Failure, `${reason.code}: ${reason.message}`)
            : closeMessage(this.nextSeq(), CloseReason.Normal, 'closed'),
        );
        this.inbox.drop();
        this.finish(undefined, true);
      }
      await this.released;
    })();
    return this.closing;
  }

  /** The owner lost its NATS connection (or the peer vanished): the connection ends with `error`. */
  lost(error: CommunicationError): void {
    if (this.ended) return;
    this.finish(error);
  }

  /** One message from the peer, in the order NATS delivered it. */
  receive(data: Uint8Array): void {
    if (this.ended) return;
    if (data.byteLength < HEADER_BYTES) return this.protocolError(`a ${data.byteLength}-byte message, shorter than any`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const kind = data[0]!;
    const seq = view.getUint32(1);
    if (seq !== this.recvSeq) {
      const error = new CommunicationError(
        ErrorCode.ChannelClosed,
        `NATS lost ${(seq - this.recvSeq) >>> 0} message(s) from ${this.remoteAddress} (a slow consumer or a server change); connection closed rather than missing frames`,
      );
      this.sendControl(closeMessage(this.nextSeq(), CloseReason.Lost, 'messages were lost'));
      return this.finish(error);
    }
    this.recvSeq = (this.recvSeq + 1) >>> 0;
    this.lastHeard = Date.now();
    switch (kind) {
      case Kind.Frame:
        if (this.assembling) return this.protocolError('a whole frame in the middle of a frame sent in parts');
        if (!this.withinLimit(data.byteLength - HEADER_BYTES)) return;
        this.inbox.push(data.slice(HEADER_BYTES));
        return;
      case Kind.FrameStart: {
        if (this.assembling || data.byteLength < START_HEADER_BYTES) return this.protocolError('a misplaced or short first part');
        const total = view.getUint32(5);
        if (!this.withinLimit(total)) return;
        const part = data.subarray(START_HEADER_BYTES);
        if (part.byteLength >= total) return this.protocolError('a first part as long as the whole frame');
        this.assembling = new Uint8Array(total);
        this.assembling.set(part, 0);
        this.filled = part.byteLength;
        return;
      }
      case Kind.FrameMore: {
        const target = this.assembling;
        const part = data.subarray(HEADER_BYTES);
        if (!target || this.filled + part.byteLength > target.byteLength) return this.protocolError('a part outside a frame');
        target.set(part, this.filled);
        this.filled += part.byteLength;
        if (this.filled === target.byteLength) {
          this.assembling = undefined;
          this.inbox.push(target);
        }
        return;
      }
      case Kind.Credit: {
        if (data.byteLength < HEADER_BYTES + 8) return this.protocolError('a short credit message');
        const consumed = view.getFloat64(HEADER_BYTES);
        if (consumed > this.grantedCost) this.grantedCost = consumed;
        this.wantSent = false;
        this.pump();
        return;
      }
      case Kind.Want:
        this.peerWaiting = true;
        this.grant();
        return;
      case Kind.Ping:
        return;
      case Kind.Close:
        return this.peerClosed(data[HEADER_BYTES] ?? CloseReason.Normal, decodeText(data.subarray(HEADER_BYTES + 1)));
      default:
        return this.protocolError(`unknown message kind ${kind}`);
    }
  }

  private fits(length: number): boolean {
    const inflight = this.sentCost - this.grantedCost;
    return inflight <= 0 || inflight + frameCost(length) <= this.peerWindow;
  }

  private pump(): void {
    while (!this.ended) {
      const head = this.front ?? this.queue.shift();
      if (!head) return;
      if (!this.fits(head.frame.byteLength)) {
        this.front = head;
        if (!this.wantSent) {
          this.wantSent = true;
          this.sendControl(header(Kind.Want, this.nextSeq()));
        }
        return;
      }
      this.front = undefined;
      this.transmit(head.frame);
      if (this.ended) head.reject(this.closedError());
      else head.resolve();
    }
  }

  private transmit(frame: Uint8Array): void {
    this.sentCost += frameCost(frame.byteLength);
    const whole = this.wire.maxPayload - HEADER_BYTES;
    if (frame.byteLength <= whole) {
      this.publish(dataMessage(Kind.Frame, this.nextSeq(), frame));
      return;
    }
    const first = this.wire.maxPayload - START_HEADER_BYTES;
    this.publish(dataMessage(Kind.FrameStart, this.nextSeq(), frame.subarray(0, first), frame.byteLength));
    for (let at = first; at < frame.byteLength && !this.ended; at += whole) {
      this.publish(dataMessage(Kind.FrameMore, this.nextSeq(), frame.subarray(at, Math.min(at + whole, frame.byteLength))));
    }
  }

  /** The sink took a frame: count it, and tell the peer once enough is delivered (or it is waiting). */
  private delivered(length: number): void {
    this.consumedCost += frameCost(length);
    if (this.peerWaiting || this.consumedCost - this.reportedCost >= this.window / 2) this.grant();
  }

  private grant(): void {
    if (this.ended || this.consumedCost === this.reportedCost) return;
    this.reportedCost = this.consumedCost;
    this.peerWaiting = false;
    this.sendControl(creditMessage(this.nextSeq(), this.consumedCost));
  }

  private withinLimit(length: number): boolean {
    if (length <= this.maxFrameSize) return true;
    const limit = `${this.maxFrameSize}-byte limit${this.limitReason ? ` ${this.limitReason}` : ''}`;
    this.sendControl(closeMessage(this.nextSeq(), CloseReason.FrameTooLarge, `a ${length}-byte frame is over the ${limit}`));
    this.finish(
      new CommunicationError(
        ErrorCode.FrameTooLarge,
        `${this.remoteAddress} sent a ${length}-byte frame, over this side's ${limit}; connection closed`,
      ),
    );
    return false;
  }

  private protocolError(what: string): void {
    this.sendControl(closeMessage(this.nextSeq(), CloseReason.Protocol, what));
    this.finish(
      new CommunicationError(
        ErrorCode.DecodeFailed,
        `${this.remoteAddress} broke the spear-comm NATS protocol: ${what}; connection closed`,
      ),
    );
  }

  private peerClosed(reason: number, text: string): void {
    const detail = text ? ` (${text})` : '';
    switch (reason) {
      case CloseReason.Normal:
        return this.finish(undefined);
      case CloseReason.FrameTooLarge:
        return this.finish(
          new CommunicationError(
            ErrorCode.FrameTooLarge,
            `${this.remoteAddress} refused a frame over its size limit${detail}; send smaller frames or raise maxFrameSize on that side`,
          ),
        );
      case CloseReason.Failure: {
        const match = /^(\w+): ([\s\S]*)$/.exec(text);
        const code = match && Object.hasOwn(ErrorCode, match[1]!) ? (match[1] as ErrorCode) : ErrorCode.ChannelClosed;
        return this.finish(new CommunicationError(code, `${this.remoteAddress} closed the connection: ${match ? match[2] : text}`));
      }
      case CloseReason.Protocol:
        return this.finish(
          new CommunicationError(ErrorCode.DecodeFailed, `${this.remoteAddress} refused a message from this side${detail}`),
        );
      default:
        return this.finish(new CommunicationError(ErrorCode.ChannelClosed, `${this.remoteAddress} closed the connection${detail}`));
    }
  }

  private checkLiveness(): void {
    if (this.ended) return;
    const now = Date.now();
    if (now - this.lastSent >= this.heartbeatMs) this.sendControl(header(Kind.Ping, this.nextSeq()));
    const silentFor = now - this.lastHeard;
    if (silentFor <= this.peerHeartbeatMs * MISSED_HEARTBEATS || this.suspect) return;
    // Timers run before pending I/O is read: look again once the messages that are waiting have been.
    this.suspect = setImmediate(() => {
      this.suspect = undefined;
      const silent = Date.now() - this.lastHeard;
      if (this.ended || silent <= this.peerHeartbeatMs * MISSED_HEARTBEATS) return;
      this.finish(
        new CommunicationError(
          ErrorCode.ChannelClosed,
          `${this.remoteAddress} sent nothing for ${silent} ms (its heartbeat is every ${this.peerHeartbeatMs} ms): the peer or its NATS server is gone`,
        ),
      );
    });
  }

  private nextSeq(): number {
    const seq = this.sendSeq;
    this.sendSeq = (seq + 1) >>> 0;
    return seq;
  }

  private sendControl(message: Uint8Array): void {
    if (this.ended) return;
    this.publish(message);
  }

  private publish(message: Uint8Array): void {
    if (!this.peerSubject) return;
    try {
      this.wire.publish(this.peerSubject, message);
      this.lastSent = Date.now();
    } catch (err) {
      this.finish(
        new CommunicationError(ErrorCode.ChannelClosed, `Cannot publish to ${this.remoteAddress}: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
  }

  private closedError(): CommunicationError {
    const failure = this.inbox.failure;
    if (failure && CommunicationError.is(failure, ErrorCode.FrameTooLarge)) return failure;
    return new CommunicationError(ErrorCode.ChannelClosed, `NATS connection to ${this.remoteAddress} is closed`);
  }

  /** Ends the connection once: timers stop, waiting sends reject, the sink hears of it, the owner releases. */
  private finish(error: CommunicationError | undefined, local = false): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    if (this.suspect) clearImmediate(this.suspect);
    this.assembling = undefined;
    // A local close is reported after close() returns, as a socket's 'close' event would be.
    if (local) queueMicrotask(() => this.inbox.end());
    else this.inbox.end(error);
    const closed = this.closedError();
    const waiting = this.front ? [this.front, ...this.queue.toArray()] : this.queue.toArray();
    this.queue.clear();
    this.front = undefined;
    for (const send of waiting) send.reject(closed);
    this.released = this.releaseFn().catch(() => {});
  }
}
