import type { FrameConnection, Kernel } from 'spear-comm';

/** A client that speaks frames directly, as one in another language would: no channel, no codec. */
export interface RawClient {
  send(frame: Uint8Array): Promise<void>;
  /** The next frame received (rejects if the connection closes first). */
  next(): Promise<Uint8Array>;
  /** Resolves when the server closes the connection (with the reason the transport gave, if any). */
  readonly closed: Promise<Error | undefined>;
  close(): Promise<void>;
}

export async function connectRaw(kernel: Kernel, url: string): Promise<RawClient> {
  const connection: FrameConnection = await kernel
    .transport(kernel.transportNameFor(url))
    .connect(new URL(url), { maxFrameSize: 16 << 20, timeoutMs: 5_000 });
  const frames: Uint8Array[] = [];
  const waiting: Array<{ resolve(frame: Uint8Array): void; reject(error: Error): void }> = [];
  let ended = false;
  let onClosed!: (error: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((resolve) => (onClosed = resolve));
  connection.start({
    onFrame(frame) {
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(frame);
      else frames.push(frame);
    },
    onClose(error) {
      ended = true;
      for (const waiter of waiting.splice(0))
        waiter.reject(new Error(`connection closed before a frame arrived${error ? `: ${error.message}` : ''}`));
      onClosed(error);
    },
  });
  return {
    send: (frame) => connection.send(frame),
    next: () => {
      const frame = frames.shift();
      if (frame) return Promise.resolve(frame);
      if (ended) return Promise.reject(new Error('connection is closed'));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    closed,
    close: () => connection.close(),
  };
}

const utf8 = new TextEncoder();

/** The handshake's first frame, as JSON text, the way a client in any language writes it. */
export function authRequestFrame(codec: string, token = ''): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      type: 'AuthRequest',
      requestId: 'auth-1',
      timestamp: 1_767_225_600_000,
      metadata: {},
      instanceId: 'raw-client',
      token,
      clientVersion: '0.0.1',
      clientType: 'process',
      codec,
      extraParams: {},
    }),
  );
}

export function parseJsonFrame(frame: Uint8Array): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(frame)) as Record<string, unknown>;
}
