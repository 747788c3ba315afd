import { CommunicationError, type FrameConnection, type FrameSink } from 'spear-comm';
import { ConformanceFailure, show } from './assert.js';

interface Wait {
  check(): void;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A FrameSink that keeps every frame and the close, lets a case wait for them, and records
 * breaches of the sink contract (a frame after the close, a second close) for the engine to report.
 */
export class FrameCollector implements FrameSink {
  readonly frames: Uint8Array[] = [];
  /** Set once the connection reported its end; `error` is the reason it gave. */
  closed: { error: Error | undefined; at: number } | undefined;
  readonly violations: string[] = [];
  private readonly waits = new Set<Wait>();

  constructor(readonly label: string) {}

  onFrame(frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array)) this.violations.push(`${this.label}: onFrame() got ${show(frame)} instead of a Uint8Array`);
    if (this.closed) this.violations.push(`${this.label}: onFrame() was called after onClose()`);
    this.frames.push(frame);
    this.poke();
  }

  onClose(error?: Error): void {
    if (this.closed) {
      this.violations.push(`${this.label}: onClose() was called a second time${error ? ` (with ${show(error)})` : ''}`);
      return;
    }
    this.closed = { error, at: performance.now() };
    this.poke();
  }

  /** Waits until `count` frames have arrived in total. Fails early if the connection closes first. */
  waitFrames(count: number, ms: number, what = `${count} frame(s) on ${this.label}`): Promise<Uint8Array[]> {
    return this.until(
      () => this.frames.length >= count,
      ms,
      () => `${what}: only ${this.frames.length} of ${count} arrived within ${ms} ms`,
    ).then(() => this.frames);
  }

  /** Waits for `onClose`, and returns the error it was given (if any). */
  waitClose(ms: number, what = `${this.label} to report its close`): Promise<Error | undefined> {
    return this.until(
      () => this.closed !== undefined,
      ms,
      () => `${what} did not happen within ${ms} ms`,
      false,
    ).then(() => this.closed!.error);
  }

  /**
   * Waits until `ready()` is true, re-checking after every frame and at the close. `ready` may
   * throw a ConformanceFailure to fail at once (a wrong frame). With `failOnClose`, a close
   * before `ready()` holds fails the wait.
   */
  until(ready: () => boolean, ms: number, timeoutMessage: () => string, failOnClose = true): Promise<void> {
    const closedEarly = () =>
      failOnClose && this.closed
        ? new ConformanceFailure(
            `${this.label}: the connection closed${this.closed.error ? ` with ${show(this.closed.error)}` : ''} after ${this.frames.length} frame(s), before the case got what it was waiting for`,
          )
        : undefined;
    try {
      if (ready()) return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
    const early = closedEarly();
    if (early) return Promise.reject(early);
    return new Promise<void>((resolve, reject) => {
      const w: Wait = {
        check: () => {
          try {
            if (ready()) return this.finish(w);
          } catch (err) {
            return this.finish(w, err as Error);
          }
          const closed = closedEarly();
          if (closed) this.finish(w, closed);
        },
        resolve,
        reject,
        timer: setTimeout(() => this.finish(w, new ConformanceFailure(timeoutMessage())), ms),
      };
      this.waits.add(w);
    });
  }

  /** Rejects every wait still open (the case is over). */
  cancelWaits(): void {
    for (const w of [...this.waits]) this.finish(w, new ConformanceFailure(`${this.label}: the case ended while waiting`));
  }

  private poke(): void {
    for (const w of [...this.waits]) w.check();
  }

  private finish(w: Wait, error?: Error): void {
    if (!this.waits.delete(w)) return;
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve();
  }
}

/** One end of a raw frame connection opened by a case, with what it has received. */
export interface RawEnd {
  connection: FrameConnection;
  sink: FrameCollector;
}

export function isFrameTooLarge(error: Error | undefined): boolean {
  return CommunicationError.is(error, 'FrameTooLarge');
}
