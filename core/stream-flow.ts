import { Deque } from './deque.js';
import type { CommunicationError } from './errors.js';

/**
 * The receiving half of a stream: the chunks the peer sent, held until read, and the credit that
 * bounds them. The peer may send `window` bytes at first; every `window / 2` bytes read are granted
 * again, so at most `window` bytes ever wait here whatever the reader or the peer does.
 */
export class ChunkInbox implements AsyncIterableIterator<Uint8Array> {
  private readonly chunks = new Deque<Uint8Array>();
  /** Bytes the peer may still send before it needs more credit. */
  private outstanding: number;
  /** Bytes read since credit was last granted. */
  private unGranted = 0;
  private ended = false;
  private error: CommunicationError | undefined;
  private wake: (() => void) | undefined;
  private waiting: Promise<void> | undefined;

  constructor(
    readonly window: number,
    /** Sends the peer a grant of `credit` more bytes. */
    private readonly grant: (credit: number) => void,
    /** The reader stopped before the end (`return()`): the peer should stop sending. */
    private readonly stopped: () => void,
  ) {
    this.outstanding = window;
  }

  /** A chunk from the peer; false when it exceeds the credit granted (a protocol violation). */
  push(data: Uint8Array): boolean {
    if (this.ended) return true; // sent before the peer learnt that this side stopped reading
    if (data.byteLength > this.outstanding) return false;
    this.outstanding -= data.byteLength;
    this.chunks.push(data);
    this.notify();
    return true;
  }

  /** The peer's chunks are complete: the reader gets what is buffered, then the end (or `error`). */
  end(error?: CommunicationError): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.notify();
  }

  /** Ends reading now, dropping what is buffered: the next read gets `error`, or the end without one. */
  fail(error?: CommunicationError): void {
    this.chunks.drain();
    this.ended = true;
    this.error ??= error;
    this.notify();
  }

  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.unGranted += chunk.byteLength;
        if (!this.ended && this.unGranted * 2 >= this.window) {
          this.outstanding += this.unGranted;
          this.grant(this.unGranted);
          this.unGranted = 0;
        }
        return { value: chunk, done: false };
      }
      if (this.error) throw this.error;
      if (this.ended) return { value: undefined, done: true };
      this.waiting ??= new Promise<void>((resolve) => (this.wake = resolve));
      await this.waiting;
    }
  }

  /** The reader stops early (a `break` out of `for await`). */
  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (!this.ended) {
      this.fail();
      this.stopped();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    this.waiting = undefined;
    wake?.();
  }
}

/**
 * The sending half of a stream: cuts data into chunks of at most `chunkBytes` and sends them only
 * within the credit the peer granted, waiting for more when it runs out.
 */
export class ChunkOutbox {
  private credit = 0;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly chunkBytes: number,
    private readonly sendChunk: (data: Uint8Array) => Promise<void>,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  addCredit(credit: number): void {
    this.credit += credit;
    this.notify();
  }

  /** No more chunks: a pending or later `write` returns false. */
  stop(): void {
    this.stopped = true;
    this.notify();
  }

  /** Sends `data` as chunks within the credit; false when the stream stopped before all of it went. */
  async write(data: Uint8Array): Promise<boolean> {
    for (let offset = 0; offset < data.byteLength;) {
      while (this.credit <= 0 && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped) return false;
      const n = Math.min(this.chunkBytes, this.credit, data.byteLength - offset);
      this.credit -= n;
      await this.sendChunk(data.subarray(offset, offset + n));
      offset += n;
    }
    return !this.stopped;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
