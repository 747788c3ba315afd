import { WebSocket, WebSocketServer } from 'ws';
import { Fifo, type Peer } from '../peer.js';

/** Raw `ws` baseline: one binary message per frame. Path `/echo` echoes; `/sink` answers only empty messages. */
export interface RawWebSocketServer {
  url: string;
  close(): Promise<void>;
}

export async function startRawWebSocketServer(host: string): Promise<RawWebSocketServer> {
  const server = new WebSocketServer({ host, port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  server.on('connection', (socket, request) => {
    const sink = request.url === '/sink';
    socket.on('error', () => socket.terminate());
    socket.on('message', (data: Buffer) => {
      if (!sink || data.length === 0) socket.send(data, { binary: true });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the raw websocket server has no tcp address');
  const port = address.port;
  return {
    url: `ws://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

export class RawWebSocketPeer implements Peer {
  private readonly waiting = new Fifo();
  private failure: Error | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.waiting.settle(data.length));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('raw websocket closed by the server')));
  }

  static async connect(url: string): Promise<RawWebSocketPeer> {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    socket.binaryType = 'nodebuffer';
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    });
    return new RawWebSocketPeer(socket);
  }

  roundTrip(payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.socket.send(payload, { binary: true });
    return this.waiting.wait(payload.byteLength);
  }

  send(payload: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.socket.send(payload, { binary: true });
  }

  sync(): Promise<void> {
    return this.roundTrip(new Uint8Array(0));
  }

  close(): Promise<void> {
    this.failure ??= new Error('raw websocket closed');
    return new Promise<void>((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.terminate();
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting.failAll(error);
  }
}
