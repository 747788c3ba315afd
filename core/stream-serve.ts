import type { CommunicationChannel } from './channel.js';
import { CommunicationError, ErrorCode, failureOf } from './errors.js';
import type { Metadata, RuntimeInstanceId, StreamOpen } from './messages.js';
import { STREAM_CHUNK_BYTES, STREAM_WINDOW_BYTES, Stream, muxOf } from './stream-mux.js';

/** What a streaming handler gets besides its input chunks (serve()'s HandlerContext). */
export interface StreamContext {
  /** The stream's id. */
  requestId: string;
  functionName: string;
  metadata: Metadata;
  instanceId: RuntimeInstanceId;
  /** The caller's inactivity timeout in ms (0 if none was given). */
  timeoutMs: number;
  /** Aborted when the caller stops reading, the stream fails or the channel closes. */
  signal: AbortSignal;
}

export type StreamHandlerFunction = (chunks: AsyncIterable<Uint8Array>, ctx: StreamContext) => AsyncIterable<Uint8Array>;

const STREAMING = Symbol.for('spear-comm.streaming');

/** A handler marked by `streaming()`; an object, so that plain handlers in a Handlers literal keep their parameter types. */
export interface StreamingHandler {
  readonly [STREAMING]: StreamHandlerFunction;
}

/** Marks `handler` (typically an `async function*`: the caller's chunks in, the answer's out) as a streaming function for `serve()`. */
export function streaming(handler: StreamHandlerFunction): StreamingHandler {
  if (typeof handler !== 'function') throw new CommunicationError(ErrorCode.InvalidArgument, 'streaming() needs a function');
  return Object.freeze({ [STREAMING]: handler });
}

export function isStreaming(handler: unknown): handler is StreamingHandler {
  return typeof handler === 'object' && handler !== null && typeof (handler as Partial<StreamingHandler>)[STREAMING] === 'function';
}

/** Lets `serve()` answer the channel's StreamOpens with the streaming handlers among `handlers`; returns the undo. */
export function serveStreams(channel: CommunicationChannel, handlers: Record<string, unknown>): () => void {
  const mux = muxOf(channel);
  const server = (open: StreamOpen) => {
    const handler = Object.hasOwn(handlers, open.functionName) ? handlers[open.functionName] : undefined;
    if (isStreaming(handler)) return void runHandler(channel, new Stream(mux, open.requestId, false, SERVER_SETTINGS), open, handler);
    const message = handler
      ? `Function "${open.functionName}" is not a streaming one; call it with invoke()`
      : `No streaming function "${open.functionName}" is served here`;
    mux.refuse(open, { code: 'UnknownFunction', message });
  };
  mux.server = server;
  return () => {
    if (mux.server === server) mux.server = undefined;
  };
}

const SERVER_SETTINGS = { windowBytes: STREAM_WINDOW_BYTES, chunkBytes: STREAM_CHUNK_BYTES };

async function runHandler(channel: CommunicationChannel, stream: Stream, open: StreamOpen, handler: StreamingHandler): Promise<void> {
  const controller = new AbortController();
  stream.onStop = (reason) => controller.abort(reason);
  stream.outbox.addCredit(open.credit);
  stream.post({ type: 'StreamCredit', credit: stream.inbox.window });
  const { requestId, functionName, metadata, timeoutMs } = open;
  const ctx: StreamContext = { requestId, functionName, metadata, instanceId: channel.instanceId, timeoutMs, signal: controller.signal };
  let output: AsyncIterator<Uint8Array> | undefined;
  try {
    output = handler[STREAMING](stream.inbox, ctx)[Symbol.asyncIterator]();
    for (;;) {
      const next = await output.next();
      if (next.done || stream.finished) break;
      if (!(next.value instanceof Uint8Array)) {
        const message = `Function "${open.functionName}" yielded ${next.value === null ? 'null' : typeof next.value}, not a Uint8Array`;
        throw Object.assign(new Error(message), { code: 'InvalidOutput' });
      }
      if (!(await stream.outbox.write(next.value))) break;
    }
    if (!stream.finished) stream.post({ type: 'StreamEnd' });
  } catch (err) {
    if (!stream.finished) stream.post({ type: 'StreamEnd', error: failureOf(err) });
  } finally {
    // Stopped early (the caller went away): the generator is returned, so its `finally` blocks run.
    if (stream.finished) await Promise.resolve(output?.return?.()).catch(() => {});
    stream.finish();
  }
}
