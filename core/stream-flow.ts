import Denque from 'denque';
import type { CommunicationError } from './errors.js';

/**
 * A stream's receiving half: chunks held until read, bounded by credit. The peer may send `window`
 * bytes at first and gets each `window / 2` read granted again, so at most `window` bytes wait here.
 */
export class ChunkInbox implements AsyncIterableIterator<Uint8Array> {
  private readonly chunks = new Denque<Uint8Array>();
  private outstanding: number; // bytes the peer may still send
  private unGranted = 0; // bytes read since the last grant
  private ended = false;
  private error: CommunicationError | undefined;
  private wake: (() => void) | undefined;
  private waiting: Promise<void> | undefined;

  constructor(
    readonly window: number,
    private readonly grant: (credit: number) => void,
    /** The reader stopped early (`return()`): the peer should stop sending. */
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

  /** Ends reading now, dropping what is buffered: the next read throws `error` or ends. */
  fail(error?: CommunicationError): void {
    this.chunks.clear();
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
      await (this.waiting ??= new Promise<void>((resolve) => (this.wake = resolve)));
    }
  }

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
    this.wake = this.waiting = undefined;
    wake?.();
  }
}

/** A stream's sending half: cuts data into chunks of at most `chunkBytes`, sent only within the peer's credit. */
export class ChunkOutbox {
  private credit = 0;
  /** No more chunks are sent (stop() was called). */
  stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly chunkBytes: number,
    private readonly sendChunk: (data: Uint8Array) => Promise<void>,
  ) {}

  addCredit(credit: number): void {
    this.credit += credit;
    this.wake?.();
  }

  /** No more chunks: a pending or later `write` returns false. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Sends `data` within the credit, waiting for more as needed; false when the stream stopped first. */
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
}
