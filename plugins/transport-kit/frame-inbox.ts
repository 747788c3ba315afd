import Denque from 'denque';
import { type FrameSink } from 'spear-comm';

/** The part of a library's stream that an inbox can stop and restart (ws, a gRPC call…). */
export interface PausableSource {
  pause(): void;
  resume(): void;
}

/**
 * Delivery of received frames to a FrameSink, for transports whose library hands over whole
 * frames (WebSocket messages, gRPC messages): frames are held until `start()` and while paused,
 * delivered in order, and the end is reported exactly once — after the frames that came before it.
 */
export class FrameInbox {
  private sink: FrameSink | undefined;
  private readonly held = new Denque<Uint8Array>();
  private paused = false;
  private reason: Error | undefined;
  private ended = false;
  private reported = false;
  /** The local side closed: nothing more is delivered, and no failure is recorded. */
  private dropped = false;

  constructor(private readonly source: PausableSource) {}

  /** Why the connection ended, when it was not an orderly close. */
  get failure(): Error | undefined {
    return this.reason;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  start(sink: FrameSink, name: string): void {
    if (this.sink) throw new Error(`${name}.start() was called twice`);
    this.sink = sink;
    this.flush();
    if (this.ended) this.report();
  }

  push(frame: Uint8Array): void {
    if (this.dropped || this.ended) return;
    if (this.sink && !this.paused && this.held.length === 0) this.sink.onFrame(frame);
    else this.held.push(frame);
  }

  pause(): void {
    this.paused = true;
    this.source.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flush();
    if (this.paused) return;
    if (this.ended) this.report();
    else this.source.resume();
  }

  /** Records why the connection is failing; the first reason wins. */
  noteFailure(error: Error): void {
    if (!this.dropped && !this.ended) this.reason ??= error;
  }

  /** The peer or the library ended the connection; the sink hears of it after the frames held before it. */
  end(error?: Error): void {
    if (this.ended) return;
    if (error) this.noteFailure(error);
    this.ended = true;
    if (!this.paused) this.flush();
    this.report();
  }

  /** The local side is closing: held and later frames are dropped. */
  drop(): void {
    this.dropped = true;
    this.held.clear();
  }

  private flush(): void {
    const sink = this.sink;
    if (!sink) return;
    while (!this.paused && !this.dropped && this.held.length > 0) sink.onFrame(this.held.shift()!);
  }

  private report(): void {
    if (this.reported || !this.sink || (this.paused && this.held.length > 0)) return;
    this.reported = true;
    this.held.clear();
    this.sink.onClose(this.reason);
  }
}
