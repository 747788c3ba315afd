// Helpers for the stream transport tests: real loopback sockets and a recording FrameSink.
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { type FrameConnection } from 'spear-comm';
import { encodeFrameHeader } from 'spear-comm/transport-kit';

export interface Collected {
  frames: Uint8Array[];
  /** Resolves with the error given to onClose (undefined for an orderly close). */
  closed: Promise<Error | undefined>;
  closeCalls(): number;
}

/** Starts `connection` with a sink that records everything it is told. */
export function collect(connection: FrameConnection): Collected {
  const frames: Uint8Array[] = [];
  let calls = 0;
  let done!: (error: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((resolve) => (done = resolve));
  connection.start({
    onFrame: (frame) => frames.push(frame),
    onClose: (error) => {
      calls++;
      done(error);
    },
  });
  return { frames, closed, closeCalls: () => calls };
}

/** Polls `condition` until it holds (for states that raise no event, e.g. a kernel buffer filling up). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Two connected loopback TCP sockets; `close()` destroys both and the server. */
export async function socketPair(): Promise<{ a: Socket; b: Socket; close(): Promise<void> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const a = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [[b]] = await Promise.all([accepted, once(a, 'connect')]);
  return {
    a,
    b,
    close: async () => {
      a.destroy();
      b.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A frame as it goes on the wire. */
export function wireFrame(payload: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(payload.byteLength), payload]);
}

/** `n` bytes of a repeating pattern that a misplaced byte would break. */
export function patterned(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** Byte-for-byte equality that stays fast for megabytes (a deep toEqual takes seconds there). */
export function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array): boolean {
  return actual !== undefined && actual.byteLength === expected.byteLength && Buffer.compare(actual, expected) === 0;
}
