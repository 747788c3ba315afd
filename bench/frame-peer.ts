import { DEFAULT_MAX_FRAME_SIZE, type FrameConnection, type Kernel } from 'spear-comm';
import { Fifo, type Peer } from './peer.js';

/**
 * The transport plugin alone: frames over a FrameConnection from `kernel.transport(name)`, with
 * no handshake, codec, channel or serve(). Set between the raw socket and full spear-comm, it
 * splits the overhead into what the plugin costs and what the layers above it cost.
 */
export class FramePeer implements Peer {
  private readonly waiting = new Fifo();
  private failure: Error | undefined;

  private constructor(private readonly connection: FrameConnection) {
    connection.start({
      onFrame: (frame) => this.waiting.settle(frame.byteLength),
      onClose: (error) => {
        this.failure ??= error ?? new Error('the frame connection was closed by the server');
        this.waiting.failAll(this.failure);
      },
    });
  }

  static async connect(kernel: Kernel, transport: string, url: string): Promise<FramePeer> {
    const plugin = kernel.transport(transport);
    const connection = await plugin.connect(new URL(url), {
      maxFrameSize: Math.min(DEFAULT_MAX_FRAME_SIZE, plugin.capabilities.maxFrameSize),
      timeoutMs: 10_000,
    });
    return new FramePeer(connection);
  }

  roundTrip(payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.connection.send(payload).catch((err: unknown) => this.waiting.failAll(err as Error));
    return this.waiting.wait(payload.byteLength);
  }

  send(payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.connection.send(payload);
  }

  sync(): Promise<void> {
    return this.roundTrip(new Uint8Array(0));
  }

  close(): Promise<void> {
    this.failure ??= new Error('frame connection closed');
    return this.connection.close();
  }
}

/** Server side: echoes every frame (echo) or only empty ones (sink), straight on the FrameConnection. */
export async function listenFrames(
  kernel: Kernel,
  transport: string,
  url: string,
  sink: boolean,
): Promise<{ url: string; close(): Promise<void> }> {
  const plugin = kernel.transport(transport);
  const listener = await plugin.listen(new URL(url), {
    maxFrameSize: Math.min(DEFAULT_MAX_FRAME_SIZE, plugin.capabilities.maxFrameSize),
    onConnection: (connection) => {
      connection.start({
        onFrame: (frame) => {
          if (!sink || frame.byteLength === 0) connection.send(frame).catch(() => {});
        },
        onClose: () => {},
      });
    },
  });
  return { url: listener.url, close: () => listener.close() };
}
