import { Status, type Client, type ClientDuplexStream, type ServerDuplexStream, type StatusObject } from './grpc-library.js';
import { CommunicationError, ErrorCode, type FrameConnection, type FrameSink } from 'spear-comm';
import { FrameInbox } from 'spear-comm/transport-kit';
import { frameMessageSize } from './frame-message.js';
import { refusedFrameOf, type RefusedFrame } from './frame-limit-interceptor.js';
import { statusFor, statusToError } from './status-codes.js';

/** How long an orderly end of the call may take before it is cancelled. */
const CLOSE_GRACE_MS = 2_000;

type Call = ClientDuplexStream<Uint8Array, Uint8Array> | ServerDuplexStream<Uint8Array, Uint8Array>;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * One spear-comm connection over one `Connect` bidi stream, on either side. Sends respect the
 * stream's backpressure (`write()` returning false, then 'drain'); `pause()` pauses the stream,
 * which stops grpc-js reading, so HTTP/2 flow control holds the peer back.
 */
export class GrpcConnection implements FrameConnection {
  private readonly inbox: FrameInbox;
  /** The call is over (ended, cancelled or failed); set before the sink hears of it. */
  private over = false;
  private closing: Promise<void> | undefined;
  private finished: () => void = () => {};
  /** Resolves once the call is over, however it ended. */
  readonly ended = new Promise<void>((resolve) => (this.finished = resolve));
  private drainWaiters: Waiter[] = [];
  /** Set by the listener for a client whose certificate it refuses (mutual TLS). */
  refusal?: CommunicationError;
  /** Server side: what the frame-limit interceptor knows of this call. */
  private internals: RefusedFrame = {};
  /** Server side: the largest frame accepted from the client from now on. */
  private maxFrameSize = Infinity;

  private constructor(
    private readonly call: Call,
    /** The client's own channel; undefined on the server side. */
    private readonly client: Client | undefined,
    readonly localAddress: string,
    readonly remoteAddress: string,
    /** Frames over this many bytes are refused locally (gRPC would otherwise fail the whole call). */
    private readonly maxSendSize: number,
  ) {
    this.inbox = new FrameInbox(call);
    call.on('drain', () => this.releaseWaiters());
  }

  /** Client side: the call has received the server's response headers. */
  static client(
    call: ClientDuplexStream<Uint8Array, Uint8Array>,
    client: Client,
    remoteAddress: string,
    maxSendSize: number,
  ): GrpcConnection {
    const connection = new GrpcConnection(call, client, 'grpc client', remoteAddress, maxSendSize);
    call.on('error', () => {}); // the 'status' event carries the same information
    call.on('status', (status: StatusObject) => connection.onStatus(status));
    call.on('end', () => connection.finish());
    return connection;
  }

  /** Server side: one accepted `Connect` call, on a listener that accepts frames of up to `maxFrameSize` bytes. */
  static server(
    call: ServerDuplexStream<Uint8Array, Uint8Array>,
    localAddress: string,
    maxSendSize: number,
    maxFrameSize: number,
  ): GrpcConnection {
    const connection = new GrpcConnection(call, undefined, localAddress, `grpc://${call.getPeer()}`, maxSendSize);
    const refused = refusedFrameOf(call.metadata);
    connection.internals = refused;
    connection.maxFrameSize = maxFrameSize;
    call.on('error', (err: Error & { code?: number; details?: string }) => {
      connection.noteFailure(
        statusToError(
          { code: err.code ?? Status.UNKNOWN, details: err.details ?? err.message },
          `call from ${connection.remoteAddress}`,
          true,
        ),
      );
    });
    // The client half-closed: all its frames are read, so end ours and finish in order.
    call.on('end', () => {
      call.end();
      connection.finish();
    });
    // grpc-js reports every end of a server call this way, ours included.
    call.on('cancelled', () => {
      connection.noteFailure(
        refused.details !== undefined
          ? new CommunicationError(
              ErrorCode.FrameTooLarge,
              `gRPC call from ${connection.remoteAddress} sent a frame over ${connection.maxFrameSize === maxFrameSize ? "this listener's maxFrameSize" : 'the limit for a peer that has not authenticated'} of ${connection.maxFrameSize} bytes; grpc-js refused it before reading it (${refused.details})`,
            )
          : new CommunicationError(
              ErrorCode.ChannelClosed,
              `gRPC call from ${connection.remoteAddress} ended before either side closed it: the client cancelled or went away, or grpc-js refused a message that is not a spear.v1.Frame`,
            ),
      );
      connection.finish();
    });
    return connection;
  }

  start(sink: FrameSink): void {
    this.inbox.start(sink, 'GrpcConnection');
    // Attached only now: until then grpc-js keeps the call's messages (and flow control holds the peer).
    this.call.on('data', (frame: Uint8Array) => {
      if (frame.byteLength > this.maxFrameSize) {
        // Only when grpc-js's decoder could not be given the limit (see setMaxFrameSize).
        void this.close(
          new CommunicationError(
            ErrorCode.FrameTooLarge,
            `gRPC call from ${this.remoteAddress} sent a frame over the limit of ${this.maxFrameSize} bytes`,
          ),
        );
        return;
      }
      this.inbox.push(frame);
    });
  }

  /**
   * Server side: a frame the client has begun must be complete within `frameTimeoutMs`, or the
   * call ends with DEADLINE_EXCEEDED `Timeout: …` and its HTTP/2 connection closes; the clock
   * stops while this side is paused. After each chunk of the call's HTTP/2 stream, grpc-js's
   * message decoder says whether it holds part of a message.
   */
  watchFrames(frameTimeoutMs: number): void {
    const inner = this.internals.inner;
    const decoder = inner?.decoder;
    if (!inner?.stream?.on || !decoder || typeof decoder.readState !== 'number') return;
    let timer: NodeJS.Timeout | undefined;
    const midFrame = () => decoder.readState !== 0;
    const onTimeout = () => {
      timer = undefined;
      if (!midFrame() || this.closing || this.over) return;
      if (this.call.isPaused()) {
        timer = setTimeout(onTimeout, frameTimeoutMs);
        return;
      }
      void this.close(
        new CommunicationError(
          ErrorCode.Timeout,
          `gRPC call from ${this.remoteAddress} began a frame and did not complete it within ${frameTimeoutMs} ms; connection closed`,
        ),
      );
    };
    // Added after grpc-js's own listener, so it runs once grpc-js has decoded the chunk.
    inner.stream.on('data', () => {
      if (!midFrame()) {
        clearTimeout(timer);
        timer = undefined;
      } else if (!timer) {
        timer = setTimeout(onTimeout, frameTimeoutMs);
      }
    });
    void this.ended.then(() => clearTimeout(timer));
  }

  /**
   * Server side: the largest frame accepted from the client from now on. grpc-js fixes its limit
   * per server, so this sets the limit of the call's own message decoder, which grpc-js checks
   * against each message's length prefix before it buffers the message (refused: the call ends
   * with RESOURCE_EXHAUSTED and this side reports FrameTooLarge). Whole frames are checked too.
   */
  setMaxFrameSize(maxFrameSize: number): void {
    if (this.client) return;
    this.maxFrameSize = maxFrameSize;
    const inner = this.internals.inner;
    const size = frameMessageSize(maxFrameSize);
    if (inner?.decoder && typeof inner.decoder.maxReadMessageLength === 'number') inner.decoder.maxReadMessageLength = size;
    if (inner && typeof inner.maxReceiveMessageSize === 'number') inner.maxReceiveMessageSize = size;
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closing || this.over) {
      return Promise.reject(new CommunicationError(ErrorCode.ChannelClosed, `gRPC connection to ${this.remoteAddress} is closed`));
    }
    if (frame.byteLength > this.maxSendSize) {
      return Promise.reject(
        new CommunicationError(
          ErrorCode.FrameTooLarge,
          `frame of ${frame.byteLength} bytes exceeds the gRPC transport's limit of ${this.maxSendSize} bytes`,
        ),
      );
    }
    if (this.call.write(frame)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  pause(): void {
    this.inbox.pause();
  }

  resume(): void {
    this.inbox.resume();
  }

  /**
   * Ends the call. Server side with a `reason`: the call ends with the status for it (details
   * `<ErrorCode>: message`), then the whole HTTP/2 connection closes (a refused peer keeps nothing open).
   */
  close(reason?: CommunicationError): Promise<void> {
    this.closing ??= (async () => {
      this.inbox.drop();
      const refusing = reason !== undefined && this.client === undefined;
      if (!this.over) {
        // Keep reading (and dropping) so the peer's end of the call can arrive.
        this.call.resume();
        // grpc-js sends the status of an 'error' on a server stream (after the frames queued before it).
        if (refusing) this.call.emit('error', statusFor(reason));
        else this.call.end();
        // Wait for the peer to end its side (client) or for our status to go out (server).
        const timer = setTimeout(() => this.abort(), CLOSE_GRACE_MS);
        await this.ended;
        clearTimeout(timer);
      }
      if (refusing) this.closeHttp2Connection();
      this.client?.close();
    })();
    return this.closing;
  }

  /** Server side: GOAWAY to the peer's HTTP/2 connection, destroyed if it has not closed within the grace period. */
  private closeHttp2Connection(): void {
    const session = this.internals.inner?.stream?.session;
    if (!session || session.destroyed) return;
    try {
      session.close();
    } catch {
      session.destroy();
      return;
    }
    setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, CLOSE_GRACE_MS).unref();
  }

  private abort(): void {
    if (this.client) (this.call as ClientDuplexStream<Uint8Array, Uint8Array>).cancel();
    else this.finish();
  }

  private onStatus(status: StatusObject): void {
    if (status.code !== Status.OK) this.noteFailure(statusToError(status, `stream to ${this.remoteAddress}`, true));
    // A non-OK status may come while frames are still buffered; they are dropped with the call.
    if (status.code !== Status.OK) this.finish();
  }

  private noteFailure(error: Error): void {
    if (!this.over && !this.closing) this.inbox.noteFailure(error);
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.rejectWaiters();
    this.finished();
    if (!this.closing) this.client?.close();
    this.inbox.end();
  }

  private releaseWaiters(): void {
    for (const waiter of this.drainWaiters.splice(0)) waiter.resolve();
  }

  private rejectWaiters(): void {
    const failure = this.inbox.failure;
    const error =
      failure && CommunicationError.is(failure)
        ? failure
        : new CommunicationError(ErrorCode.ChannelClosed, `gRPC connection to ${this.remoteAddress} closed before the frame was sent`);
    for (const waiter of this.drainWaiters.splice(0)) waiter.reject(error);
  }
}
