import Denque from 'denque';
import { CommunicationError, ErrorCode, type FrameConnection, type FrameSink } from 'spear-comm';

/** Bytes a receiver holds unread before the sender's `send()` starts to wait. */
const HIGH_WATER_MARK = 1024 * 1024;

interface Blocked {
  resolve(): void;
  reject(error: Error): void;
}

/** One end of an in-process connection. Frames are copied, so the two ends never share a buffer. */
export class MemoryConnection implements FrameConnection {
  peer!: MemoryConnection;
  private sink: FrameSink | undefined;
  private readonly inbox = new Denque<Uint8Array>();
  private inboxBytes = 0;
  private paused = false;
  private scheduled: NodeJS.Immediate | undefined;
  /** Our senders waiting for the peer to read. */
  private readonly blocked: Blocked[] = [];
  private closed = false;
  /** The peer closed; deliver what it sent, then report the close. */
  private ended: { error?: Error } | undefined;
  private reported = false;

  constructor(
    readonly localAddress: string,
    readonly remoteAddress: string,
    /** Largest frame this end accepts. */
    private maxFrameSize: number,
  ) {}

  /** Why the limit is what it is, for the error (see `setMaxFrameSize`). */
  private limitReason: string | undefined;

  setMaxFrameSize(maxFrameSize: number, reason?: string): void {
    this.maxFrameSize = maxFrameSize;
    this.limitReason = reason;
  }

  static pair(a: string, b: string, aMax: number, bMax: number): [MemoryConnection, MemoryConnection] {
    const left = new MemoryConnection(a, b, aMax);
    const right = new MemoryConnection(b, a, bMax);
    left.peer = right;
    right.peer = left;
    return [left, right];
  }

  start(sink: FrameSink): void {
    if (this.sink) throw new Error('MemoryConnection.start() was called twice');
    this.sink = sink;
    this.schedule();
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closed || this.peer.closed) {
      return Promise.reject(new CommunicationError(ErrorCode.ChannelClosed, `memory connection to ${this.remoteAddress} is closed`));
    }
    const peer = this.peer;
    if (frame.byteLength > peer.maxFrameSize) {
      const error = new CommunicationError(
        ErrorCode.FrameTooLarge,
        `frame of ${frame.byteLength} bytes exceeds the limit of ${peer.maxFrameSize} bytes on ${peer.localAddress}${peer.limitReason ? ` ${peer.limitReason}` : ''}`,
      );
      // The receiving side refuses it the way a stream receiver would: by closing the connection.
      peer.closeWith(error);
      return Promise.reject(error);
    }
    // A copy, so the sides never share bytes: Buffer.from copies whatever it is given (Buffer#slice
    // would be a view), and takes small copies from Node's pool rather than a fresh ArrayBuffer.
    peer.inbox.push(Buffer.from(frame));
    peer.inboxBytes += frame.byteLength;
    peer.schedule();
    if (peer.inboxBytes <= HIGH_WATER_MARK) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.blocked.push({ resolve, reject }));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.inbox.clear();
    this.inboxBytes = 0;
    this.cancelSchedule();
    this.rejectBlocked();
    this.peer.rejectBlocked();
    this.peer.endFromPeer();
    return Promise.resolve();
  }

  /** Closes because this end detected a protocol error; both ends are told. */
  private closeWith(error: Error): void {
    if (this.closed) return;
    this.ended = { error };
    void this.close();
    this.reportClose();
  }

  private endFromPeer(error?: Error): void {
    if (this.closed || this.ended) return;
    this.ended = error ? { error } : {};
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.sink) return;
    if (this.inbox.length === 0 && !this.ended) return;
    this.scheduled = setImmediate(() => this.deliver());
  }

  private cancelSchedule(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  private deliver(): void {
    this.scheduled = undefined;
    const sink = this.sink;
    if (!sink || this.closed) return;
    while (!this.paused && this.inbox.length > 0 && !this.closed) {
      const frame = this.inbox.shift()!;
      this.inboxBytes -= frame.byteLength;
      sink.onFrame(frame);
    }
    if (this.inboxBytes <= HIGH_WATER_MARK) this.peer.releaseBlocked();
    if (this.inbox.length === 0 && this.ended && !this.closed) {
      this.closed = true;
      this.reportClose();
    }
  }

  private reportClose(): void {
    if (this.reported || !this.sink) return;
    this.reported = true;
    this.sink.onClose(this.ended?.error);
  }

  private releaseBlocked(): void {
    for (const waiter of this.blocked.splice(0)) waiter.resolve();
  }

  private rejectBlocked(): void {
    for (const waiter of this.blocked.splice(0)) {
      waiter.reject(
        new CommunicationError(ErrorCode.ChannelClosed, `memory connection to ${this.remoteAddress} closed before the frame was read`),
      );
    }
  }
}
