import type { CommunicationChannel } from './channel.js';
import { CommunicationError, ErrorCode } from './errors.js';
import { isStreamMessage, type ExecutionError, type StreamMessage, type StreamOpen } from './messages.js';
import { ChunkInbox, ChunkOutbox } from './stream-flow.js';

/** Largest chunk sent by default: far under every transport's frame limit (NATS's 1 MiB default included). */
export const STREAM_CHUNK_BYTES = 64 * 1024;
/** Bytes a receiver lets the sender have in flight per stream by default: its memory bound. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;

export interface StreamSettings {
  windowBytes: number;
  chunkBytes: number;
}

const NO_METADATA = Object.freeze({}) as Record<string, string>;

type StreamFields = StreamMessage extends infer M
  ? M extends StreamMessage
    ? Omit<M, 'requestId' | 'timestamp' | 'metadata'>
    : never
  : never;

/**
 * One open stream as one side sees it: what it reads (inbox) and what it sends (outbox). The
 * opener reads the answer and sends the input; the serving side the reverse.
 */
export class Stream {
  readonly inbox: ChunkInbox;
  readonly outbox: ChunkOutbox;
  /** Epoch of the last sign of life (a message from the peer, or local progress), for the inactivity timeout. */
  lastActivity = performance.now();
  /** Serving side: told when the opener stops or the stream fails, to abort the handler. */
  onStop: ((reason: CommunicationError) => void) | undefined;
  private done = false;

  constructor(
    private readonly mux: StreamMux,
    readonly id: string,
    readonly opener: boolean,
    settings: StreamSettings,
  ) {
    this.inbox = new ChunkInbox(
      settings.windowBytes,
      (credit) => this.post({ type: 'StreamCredit', credit }),
      () => this.stopReading(),
    );
    this.outbox = new ChunkOutbox(settings.chunkBytes, (data) => mux.send(id, { type: 'StreamChunk', data }));
    mux.add(this);
  }

  get finished(): boolean {
    return this.done;
  }

  /** Sends a message of this stream, ignoring failure (a closing channel fails the stream itself). */
  post(fields: StreamFields): void {
    this.mux.send(this.id, fields).catch(() => {});
  }

  /** A message from the peer for this stream. */
  receive(m: StreamMessage): void {
    this.lastActivity = performance.now();
    switch (m.type) {
      case 'StreamChunk':
        if (!this.inbox.push(m.data))
          this.fail(
            new CommunicationError(
              ErrorCode.DecodeFailed,
              `The peer sent ${m.data.byteLength} bytes on stream ${this.id} beyond the credit it was granted`,
            ),
          );
        return;
      case 'StreamCredit':
        this.outbox.addCredit(m.credit);
        return;
      case 'StreamEnd':
        if (!this.opener) return this.inbox.end();
        // The serving side has finished: the whole stream has, whatever input is still unsent.
        this.outbox.stop();
        this.inbox.end(m.error ? remoteError(m.error, this.mux.channel) : undefined);
        return this.finish();
      case 'StreamCancel':
        this.outbox.stop();
        // The opener reads no more: the handler's input ends and it is told to stop.
        if (!this.opener) this.end(new CommunicationError(ErrorCode.Aborted, `The caller stopped reading stream ${this.id}`), false);
        return;
    }
  }

  /** Ends the stream on this side with `error` (abort, timeout, protocol violation, closed channel). */
  fail(error: CommunicationError, tellPeer = true): void {
    if (this.done) return;
    if (tellPeer) this.post({ type: 'StreamCancel', reason: error.message });
    this.end(error, true);
  }

  /** The stream is over on this side; nothing more of it is sent or read. */
  finish(): void {
    this.done = true;
    this.mux.forget(this.id);
  }

  private end(error: CommunicationError, failInbox: boolean): void {
    this.outbox.stop();
    if (failInbox) this.inbox.fail(error);
    else this.inbox.fail();
    this.onStop?.(error);
    this.finish();
  }

  /** This side's reader stopped early: the peer stops sending; for the opener that is the whole stream. */
  private stopReading(): void {
    if (this.done) return;
    this.post({ type: 'StreamCancel', reason: 'the reader stopped' });
    if (this.opener) {
      this.outbox.stop();
      this.finish();
    }
  }
}

function remoteError(error: ExecutionError, channel: CommunicationChannel): CommunicationError {
  return new CommunicationError(
    ErrorCode.RemoteError,
    `Stream function on instance "${channel.instanceId.instanceId}" failed: [${error.code}] ${error.message}`,
    { remoteCode: error.code },
  );
}

/** The streams of one channel: routes their messages and fails them all when the channel closes. */
export class StreamMux {
  private readonly streams = new Map<string, Stream>();
  /** Serving side: what to do with a StreamOpen (set by `serve()` when it serves streaming functions). */
  server: ((open: StreamOpen) => void) | undefined;

  constructor(readonly channel: CommunicationChannel) {
    const offMessage = channel.on('message', (m) => {
      if (isStreamMessage(m)) this.route(m);
    });
    const offClose = channel.on('close', (error) => {
      offMessage();
      offClose();
      const reason = new CommunicationError(
        ErrorCode.ChannelClosed,
        `The channel closed while the stream was open${error ? ` (${error.message})` : ''}`,
        { cause: error },
      );
      for (const stream of [...this.streams.values()]) stream.fail(reason, false);
    });
  }

  send(id: string, fields: StreamFields, metadata: Record<string, string> = NO_METADATA): Promise<void> {
    return this.channel.send({ ...fields, requestId: id, timestamp: Date.now(), metadata });
  }

  add(stream: Stream): void {
    this.streams.set(stream.id, stream);
  }

  forget(id: string): void {
    this.streams.delete(id);
  }

  /** Answers a StreamOpen that will not be served with a StreamEnd carrying `error`. */
  refuse(open: StreamOpen, error: ExecutionError): void {
    this.send(open.requestId, { type: 'StreamEnd', error }).catch(() => {});
  }

  private route(m: StreamMessage): void {
    if (m.type !== 'StreamOpen') {
      // Messages of a stream already over (in flight when it ended) are dropped.
      this.streams.get(m.requestId)?.receive(m);
    } else if (this.streams.has(m.requestId)) {
      this.refuse(m, { code: 'InvalidArgument', message: `Stream id "${m.requestId}" is already open on this channel` });
    } else if (this.server) {
      this.server(m);
    } else {
      this.refuse(m, { code: 'UnknownFunction', message: 'No streaming functions are served on this channel' });
    }
  }
}

const muxes = new WeakMap<CommunicationChannel, StreamMux>();

/** The stream layer of `channel`, attached on first use. */
export function muxOf(channel: CommunicationChannel): StreamMux {
  let mux = muxes.get(channel);
  if (!mux) {
    mux = new StreamMux(channel);
    muxes.set(channel, mux);
  }
  return mux;
}
