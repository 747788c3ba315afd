import type { Readable, Writable } from 'node:stream';
import { type FrameConnection, type FrameSink } from 'spear-comm';
import { StreamFrameConnection } from 'spear-comm/transport-kit';
import { reap, type Child } from './child-process.js';

export interface ChildConnectionOptions {
  maxFrameSize: number;
  localAddress: string;
  remoteAddress: string;
}

/**
 * A FrameConnection over a readable and a writable pipe of child processes. spear-comm's
 * StreamFrameConnection does the framing (4-byte length prefix), batching and backpressure; this
 * adds what is particular to processes: close() returns only once the processes this end writes
 * to have exited, so nothing is left running.
 */
export class ChildConnection implements FrameConnection {
  /** Resolves once the processes this end writes to have exited (whoever closed the connection). */
  readonly exited: Promise<void>;
  private readonly frames: StreamFrameConnection;
  private closing: Promise<void> | undefined;

  constructor(
    pipes: { readable: Readable; writable: Writable },
    options: ChildConnectionOptions,
    private readonly owned: readonly Child[],
  ) {
    this.frames = new StreamFrameConnection(pipes, options);
    this.exited = Promise.all(owned.map((c) => c.closed)).then(() => {});
  }

  get localAddress(): string {
    return this.frames.localAddress;
  }

  get remoteAddress(): string {
    return this.frames.remoteAddress;
  }

  start(sink: FrameSink): void {
    this.frames.start(sink);
  }

  send(frame: Uint8Array): Promise<void> {
    return this.frames.send(frame);
  }

  /**
   * Forwarded like every other method of the contract: the listener's session lowers the limit to
   * 64 KiB until the peer has authenticated, and a wrapper that dropped this would lift that guard.
   */
  setMaxFrameSize(maxFrameSize: number, reason?: string): void {
    this.frames.setMaxFrameSize(maxFrameSize, reason);
  }

  pause(): void {
    this.frames.pause();
  }

  resume(): void {
    this.frames.resume();
  }

  close(): Promise<void> {
    // Ending the pipe lets each process forward what it holds and exit; the reap grace period runs
    // meanwhile, so a process stuck on a peer that stopped reading is killed rather than waited for.
    this.closing ??= Promise.all([this.frames.close(), ...this.owned.map(reap)]).then(() => {});
    return this.closing;
  }
}
