// A hostile or careless peer that speaks raw bytes to a listener: no spear-comm on its side.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { LengthPrefixDecoder, encodeFrameHeader } from 'spear-comm/transport-kit';

export interface RawPeer {
  socket: Socket;
  /** Resolves when the socket has closed, whoever closed it. */
  closed: Promise<void>;
  /** Frames the listener sent, decoded from the raw stream. */
  frames: Uint8Array[];
  /** Resolves with the next frame the listener sends. */
  nextFrame(): Promise<Uint8Array>;
}

/** Where a `tcp://host:port` or `unix:///path` listener URL can be reached by node:net. */
export function netTarget(url: string): { host: string; port: number } | { path: string } {
  const parsed = new URL(url);
  if (parsed.protocol === 'unix:') return { path: decodeURIComponent(parsed.pathname) };
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** Opens a raw socket to `url` and waits until it is connected. */
export async function rawPeer(url: string): Promise<RawPeer> {
  const socket = connect(netTarget(url));
  socket.setNoDelay?.(true);
  // A reset from a listener that turns us away is expected here, not a test failure.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const frames: Uint8Array[] = [];
  const waiting: Array<(frame: Uint8Array) => void> = [];
  const decoder = new LengthPrefixDecoder({
    maxFrameSize: 1 << 20,
    onFrame: (frame) => {
      const waiter = waiting.shift();
      if (waiter) waiter(frame);
      else frames.push(frame);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk);
    } catch {
      socket.destroy();
    }
  });
  await Promise.race([
    once(socket, 'connect'),
    closed.then(() => {
      throw new Error(`raw peer could not connect to ${url}`);
    }),
  ]);
  return {
    socket,
    closed,
    frames,
    nextFrame: () => {
      const ready = frames.shift();
      if (ready) return Promise.resolve(ready);
      return Promise.race([
        new Promise<Uint8Array>((resolve) => waiting.push(resolve)),
        closed.then(() => {
          throw new Error('the listener closed the connection instead of answering');
        }),
      ]);
    },
  };
}

/** A length-prefixed frame as bytes on the wire. */
export function wire(payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([encodeFrameHeader(body.byteLength), body]);
}

/** A well-formed AuthRequest (JSON, as every session starts), with `overrides` applied. */
export function authRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'AuthRequest',
    requestId: 'raw-1',
    timestamp: Date.now(),
    metadata: {},
    instanceId: 'raw-peer',
    token: '',
    clientVersion: 'raw',
    clientType: 'process',
    codec: 'json',
    extraParams: {},
    ...overrides,
  };
}

/** Opens a raw peer and completes the handshake with `overrides`; resolves once the listener accepted it. */
export async function authenticatedRawPeer(url: string, overrides: Record<string, unknown> = {}): Promise<RawPeer> {
  const peer = await rawPeer(url);
  peer.socket.write(wire(JSON.stringify(authRequest(overrides))));
  const answer = JSON.parse(Buffer.from(await peer.nextFrame()).toString('utf8')) as { success: boolean; errorMessage?: string };
  if (!answer.success) throw new Error(`raw handshake refused: ${answer.errorMessage}`);
  return peer;
}

/** Resolves after `ms` (used only to pace a trickling peer, never to wait for an outcome). */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
