import net from 'node:net';
import { Fifo, type Peer } from '../peer.js';
import { COPY_LIMIT, FrameParser, frameHeader, framed } from './frame-parser.js';

/**
 * Raw length-prefixed baselines over `node:net` (tcp and unix). The client's first byte picks
 * the behaviour of its connection, so one server serves every variant:
 * echo or sink (answers only empty frames), and naive (one write per frame) or batched (the
 * frames of one event-loop turn leave in one writev).
 */
export type RawStreamMode = 'echo' | 'sink';

const MAX_FRAME = 64 * 1024 * 1024;

function preamble(mode: RawStreamMode, batched: boolean): Buffer {
  const letter = mode === 'echo' ? 'e' : 's';
  return Buffer.from(batched ? letter : letter.toUpperCase());
}

/** Writes frames one write each, or corks them until the current turn's callbacks are done. */
class FrameWriter {
  private corked = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly batched: boolean,
  ) {}

  write(payload: Uint8Array): void {
    const socket = this.socket;
    if (this.batched && !this.corked) {
      this.corked = true;
      socket.cork();
      // nextTick runs after the promise callbacks queued in this turn, so their frames join the batch.
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    if (payload.byteLength <= COPY_LIMIT) {
      socket.write(framed(payload));
    } else if (this.batched) {
      socket.write(frameHeader(payload.byteLength));
      socket.write(payload);
    } else {
      socket.cork();
      socket.write(frameHeader(payload.byteLength));
      socket.write(payload);
      socket.uncork();
    }
  }
}

export interface RawStreamServer {
  /** `{ port }` for tcp, `{ path }` for unix. */
  address: { port: number; host: string } | { path: string };
  close(): Promise<void>;
}

export async function startRawStreamServer(where: { host: string; port: number } | { path: string }): Promise<RawStreamServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    let parser: FrameParser | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (!parser) {
        const letter = String.fromCharCode(chunk[0]!);
        const batched = letter === 'e' || letter === 's';
        const writer = new FrameWriter(socket, batched);
        const sink = letter === 's' || letter === 'S';
        parser = new FrameParser(sink ? (frame) => frame.length === 0 && writer.write(frame) : (frame) => writer.write(frame), MAX_FRAME);
        chunk = chunk.subarray(1);
      }
      try {
        parser.push(chunk);
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen('path' in where ? { path: where.path } : { host: where.host, port: where.port }, () => resolve());
  });
  const bound = server.address();
  return {
    address: typeof bound === 'string' ? { path: bound } : { host: bound!.address, port: bound!.port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export class RawStreamPeer implements Peer {
  private readonly waiting = new Fifo();
  private readonly writer: FrameWriter;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    batched: boolean,
  ) {
    this.writer = new FrameWriter(socket, batched);
    const parser = new FrameParser((frame) => this.waiting.settle(frame.length), MAX_FRAME);
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('raw connection closed by the server')));
  }

  static async connect(
    where: { host: string; port: number } | { path: string },
    mode: RawStreamMode,
    batched: boolean,
  ): Promise<RawStreamPeer> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect('path' in where ? { path: where.path } : { host: where.host, port: where.port }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    socket.write(preamble(mode, batched));
    return new RawStreamPeer(socket, batched);
  }

  roundTrip(payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.writer.write(payload);
    return this.waiting.wait(payload.byteLength);
  }

  send(payload: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.writer.write(payload);
  }

  sync(): Promise<void> {
    return this.roundTrip(new Uint8Array(0));
  }

  close(): Promise<void> {
    this.failure ??= new Error('raw connection closed');
    return new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting.failAll(error);
  }
}
