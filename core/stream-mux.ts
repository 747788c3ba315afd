import type { CommunicationChannel } from './channel.js';
import { CommunicationError, ErrorCode, remoteError } from './errors.js';
import { isStreamMessage, type ExecutionError, type StreamMessage, type StreamOpen } from './messages.js';
import { ChunkInbox, ChunkOutbox } from './stream-flow.js';

/** Largest chunk sent when the peer's frame limit is unknown; invokeStream's default is a quarter of a known one, up to 1 MiB. */
export const STREAM_CHUNK_BYTES = 64 * 1024;
/** Bytes a receiver lets the sender have in flight per stream by default: its memory bound. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const NO_METADATA = Object.freeze({}) as Record<string, string>;
type Fields<M> = M extends StreamMessage ? Omit<M, 'requestId' | 'timestamp' | 'metadata'> : never;

/** One open stream as one side sees it. The opener reads the answer and sends the input; the serving side the reverse. */
export class Stream {
  readonly inbox: ChunkInbox;
  readonly outbox: ChunkOutbox;
  /** The last sign of life (a message from the peer, or local progress), for the inactivity timeout. */
  lastActivity = performance.now();
  /** Serving side: told when the opener stops or the stream fails, to abort the handler. */
  onStop: ((reason: CommunicationError) => void) | undefined;
  finished = false;

  constructor(
    private readonly mux: StreamMux,
    readonly id: string,
    readonly opener: boolean,
    settings: { windowBytes: number; chunkBytes: number },
  ) {
    this.inbox = new ChunkInbox(
      settings.windowBytes,
      (credit) => this.post({ type: 'StreamCredit', credit }),
      () => this.stopReading(),
    );
    this.outbox = new ChunkOutbox(settings.chunkBytes, (data) => mux.send(id, { type: 'StreamChunk', data }));
    mux.streams.set(id, this);
  }

  /** Sends a message of this stream; a failure is not this message's to report (a closing channel fails the stream). */
  post(fields: Fields<StreamMessage>): void {
    this.mux.send(this.id, fields).catch(() => {});
  }

  receive(m: StreamMessage): void {
    this.lastActivity = performance.now();
    if (m.type === 'StreamChunk') {
      if (!this.inbox.push(m.data)) this.fail(new CommunicationError(ErrorCode.DecodeFailed, `Stream ${this.id}: chunk beyond the credit`));
    } else if (m.type === 'StreamCredit') {
      this.outbox.addCredit(m.credit);
    } else if (m.type === 'StreamEnd' && !this.opener) {
      this.inbox.end();
    } else if (m.type === 'StreamEnd') {
      // The serving side has finished: so has the whole stream, whatever input is still unsent.
      this.outbox.stop();
      this.inbox.end(m.error && remoteError(m.error, `Stream function on instance "${this.mux.channel.instanceId.instanceId}"`));
      this.finish();
    } else if (m.type === 'StreamCancel') {
      this.outbox.stop();
      if (!this.opener) this.end(new CommunicationError(ErrorCode.Aborted, `The caller stopped reading stream ${this.id}`));
    }
  }

  /** Ends the stream on this side with `error` (abort, timeout, protocol violation, closed channel). */
  fail(error: CommunicationError, tellPeer = true): void {
    if (this.finished) return;
    // The opener cancels; a serving side that fails ends the stream for the opener, as a failing handler would.
    if (tellPeer && this.opener) this.post({ type: 'StreamCancel', reason: error.message });
    else if (tellPeer) this.post({ type: 'StreamEnd', error: { code: error.code, message: error.message } });
    this.end(error, error);
  }

  finish(): void {
    this.finished = true;
    this.mux.streams.delete(this.id);
  }

  private end(reason: CommunicationError, readError?: CommunicationError): void {
    this.outbox.stop();
    this.inbox.fail(readError);
    this.onStop?.(reason);
    this.finish();
  }

  /** This side's reader stopped early: the peer stops sending; for the opener that ends the stream. */
  private stopReading(): void {
    if (this.finished) return;
    this.post({ type: 'StreamCancel', reason: 'the reader stopped' });
    if (this.opener) {
      this.outbox.stop();
      this.finish();
    }
  }
}

/** The streams of one channel: routes their messages and fails them when it closes or its session ends (a DurableChannel's). */
export class StreamMux {
  readonly streams = new Map<string, Stream>();
  /** What to do with a StreamOpen; set by `serve()`. */
  server: ((open: StreamOpen) => void) | undefined;

  constructor(readonly channel: CommunicationChannel) {
    const offMessage = channel.on('message', (m) => void (isStreamMessage(m) && this.route(m)));
    const failAll = (what: string, error?: CommunicationError) => {
      const reason = new CommunicationError(ErrorCode.ChannelClosed, `The ${what} while the stream was open`, { cause: error });
      for (const stream of [...this.streams.values()]) stream.fail(reason, false);
    };
    const offLost = channel.on('disconnected', (error) => failAll('session ended', error));
    const offClose = channel.on('close', (error) => {
      [offMessage, offClose, offLost].forEach((off) => off());
      failAll('channel closed', error);
    });
  }

  send(id: string, fields: Fields<StreamMessage>, metadata = NO_METADATA): Promise<void> {
    return this.channel.send({ ...fields, requestId: id, timestamp: Date.now(), metadata });
  }

  /** Answers a StreamOpen that will not be served with a StreamEnd carrying `error`. */
  refuse(open: StreamOpen, error: ExecutionError): void {
    this.send(open.requestId, { type: 'StreamEnd', error }).catch(() => {});
  }

  private route(m: StreamMessage): void {
    // Messages of a stream already over (in flight when it ended) are dropped.
    if (m.type !== 'StreamOpen') this.streams.get(m.requestId)?.receive(m);
    else if (this.streams.has(m.requestId))
      this.refuse(m, { code: 'InvalidArgument', message: `Stream id "${m.requestId}" is already open` });
    else if (this.server) this.server(m);
    else this.refuse(m, { code: 'UnknownFunction', message: 'No streaming functions are served on this channel' });
  }
}

const muxes = new WeakMap<CommunicationChannel, StreamMux>();

/** The stream layer of `channel`, attached on first use. */
export function muxOf(channel: CommunicationChannel): StreamMux {
  let mux = muxes.get(channel);
  if (!mux) muxes.set(channel, (mux = new StreamMux(channel)));
  return mux;
}
