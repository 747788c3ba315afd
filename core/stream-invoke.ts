import { randomUUID } from 'node:crypto';
import type { CommunicationChannel } from './channel.js';
import { CommunicationError, ErrorCode, abortedError, toCommunicationError } from './errors.js';
import type { Metadata } from './messages.js';
import { STREAM_CHUNK_BYTES, STREAM_WINDOW_BYTES, Stream, muxOf } from './stream-mux.js';

/** What `invokeStream` sends: one Uint8Array of any size, or any (async) iterable of them. */
export type StreamSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface InvokeStreamOptions {
  /** Inactivity timeout (default 30 s): `Timeout` when for this long the peer sends nothing for the stream and this side makes no progress. */
  timeoutMs?: number;
  /** Aborting ends the stream (the instance's handler is told) and the iteration throws `Aborted`. */
  signal?: AbortSignal;
  metadata?: Metadata;
  /** Bytes of answer the instance may send ahead of the reader (default 4 MiB), and the largest chunk sent (64 KiB to 1 MiB). */
  windowBytes?: number;
  chunkBytes?: number;
}

/** Streams `source` to a function the other side serves with `streaming()` and returns its answer's chunks (docs/streams.md). */
export function invokeStream(
  channel: CommunicationChannel,
  functionName: string,
  source: StreamSource,
  options: InvokeStreamOptions = {},
): AsyncIterable<Uint8Array> {
  const windowBytes = positive(options.windowBytes ?? STREAM_WINDOW_BYTES, 'windowBytes');
  const peerLimit = channel.peerMaxFrameSize ?? Infinity;
  const fit = peerLimit < Infinity ? Math.max(STREAM_CHUNK_BYTES, Math.min(1 << 20, Math.floor(peerLimit / 4))) : STREAM_CHUNK_BYTES;
  const chunkBytes = positive(options.chunkBytes ?? fit, 'chunkBytes');
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs >= 0)) throw invalid(`timeoutMs must be >= 0, got ${timeoutMs}`);
  const iterable = typeof source === 'object' && source !== null && (Symbol.asyncIterator in source || Symbol.iterator in source);
  if (!iterable) throw invalid('invokeStream needs a Uint8Array or an (async) iterable of Uint8Arrays as its source');
  return {
    [Symbol.asyncIterator]: () => run(channel, functionName, source, { ...options, timeoutMs, windowBytes, chunkBytes }),
  };
}

async function* run(
  channel: CommunicationChannel,
  functionName: string,
  source: StreamSource,
  options: InvokeStreamOptions & { timeoutMs: number; windowBytes: number; chunkBytes: number },
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw abortedError(signal, `Stream to "${functionName}" (before it was opened)`);
  const stream = new Stream(muxOf(channel), randomUUID(), true, options);
  const onAbort = () => stream.fail(abortedError(signal!, `Stream to "${functionName}"`));
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const idle = performance.now() - stream.lastActivity;
    if (idle < timeoutMs) timer = setTimeout(check, timeoutMs - idle + 1);
    else stream.fail(new CommunicationError(ErrorCode.Timeout, `Stream to "${functionName}" saw no activity for ${timeoutMs} ms`));
  };
  if (timeoutMs > 0) timer = setTimeout(check, timeoutMs);
  try {
    try {
      const open = { type: 'StreamOpen', functionName, timeoutMs, credit: options.windowBytes } as const;
      await muxOf(channel).send(stream.id, open, options.metadata);
    } catch (err) {
      stream.fail(toCommunicationError(err, ErrorCode.ChannelClosed, `Opening a stream to "${functionName}" failed`), false);
    }
    void pump(stream, source);
    for (;;) {
      const next = await stream.inbox.next();
      if (next.done) return;
      yield next.value;
      stream.lastActivity = performance.now();
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (!stream.finished) await stream.inbox.return();
  }
}

/** Sends the source's data within the credit, then a StreamEnd; returns the source when the stream stops first. */
async function pump(stream: Stream, source: StreamSource): Promise<void> {
  const pieces = iterate(source);
  let complete = false;
  try {
    for (;;) {
      if (stream.outbox.stopped) return;
      const next = await pieces.next();
      if (next.done) break;
      if (!(next.value instanceof Uint8Array)) throw invalid(`A stream's source must yield Uint8Arrays, got ${typeof next.value}`);
      stream.lastActivity = performance.now();
      if (!(await stream.outbox.write(next.value))) return;
    }
    complete = true;
    if (!stream.outbox.stopped) stream.post({ type: 'StreamEnd' });
  } catch (err) {
    stream.fail(toCommunicationError(err, ErrorCode.InvalidArgument, "The stream's source failed"));
  } finally {
    if (!complete) await Promise.resolve(pieces.return?.()).catch(() => {});
  }
}

function iterate(source: StreamSource): Iterator<Uint8Array> | AsyncIterator<Uint8Array> {
  if (source instanceof Uint8Array) return [source][Symbol.iterator]();
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  return source[Symbol.iterator]();
}

const invalid = (message: string) => new CommunicationError(ErrorCode.InvalidArgument, message);

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${name} must be a positive integer, got ${value}`);
  return value;
}
