// What a foreign peer sees on the wire when a listener ends its connection, read with raw clients
// (the `ws` package; node:http2 speaking gRPC by hand): the WebSocket close code and reason, the
// gRPC status and message, and that the HTTP/2 connection itself closes (docs/wire-format.md).
import { once } from 'node:events';
import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { authRequest, executionRequest, parseJson } from '../support/json-wire.js';
import { trackCleanups } from '../support/cleanups.js';

const SECRET = 'wire-secret-1';
const { defer, kernel } = trackCleanups();

// ---- WebSocket ----

interface RawWs {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  next(): Promise<Buffer>;
}

async function rawWs(url: string): Promise<RawWs> {
  const ws = new WebSocket(url, { maxPayload: 64 << 20 });
  ws.on('error', () => {});
  const queue: Buffer[] = [];
  const waiting: Array<(b: Buffer) => void> = [];
  ws.on('message', (data: Buffer) => {
    const w = waiting.shift();
    if (w) w(data);
    else queue.push(data);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(ws, 'open');
  defer(() => ws.terminate());
  return { ws, closed, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r))) };
}

describe('websocket: a refused peer reads why in the close frame', () => {
  it('auth timeout: 1008 "AuthFailed: …"', async () => {
    const listener = await (await kernel()).listen('ws://127.0.0.1:0/spear', { secret: SECRET, authTimeoutMs: 200 });
    const peer = await rawWs(listener.url);
    const close = await peer.closed;
    expect(close.code).toBe(1008);
    expect(close.reason).toMatch(/^AuthFailed: .*did not complete the handshake within 200 ms/);
  });

  it('a first frame that is no AuthRequest: 1007 "DecodeFailed: …"', async () => {
    const listener = await (await kernel()).listen('ws://127.0.0.1:0/spear', { secret: SECRET });
    const peer = await rawWs(listener.url);
    peer.ws.send(Buffer.from([0xff, 0x00, 0x13]));
    const close = await peer.closed;
    expect(close.code).toBe(1007);
    expect(close.reason).toMatch(/^DecodeFailed: /);
    expect(Buffer.byteLength(close.reason)).toBeLessThanOrEqual(123);
  });

  it('a frame over 64 KiB before the handshake: 1009, though the listener takes 1 MiB afterwards', async () => {
    const listener = await (
      await kernel()
    ).listen('ws://127.0.0.1:0/spear', {
      secret: SECRET,
      maxFrameSize: 1 << 20,
      handlers: { echo: (input) => input },
    });
    const early = await rawWs(listener.url);
    early.ws.send(Buffer.alloc(100_000));
    expect((await early.closed).code).toBe(1009);

    const honest = await rawWs(listener.url);
    honest.ws.send(authRequest({ requestId: 'a', instanceId: 'big', token: SECRET }));
    expect(parseJson(await honest.next())).toMatchObject({ type: 'AuthResponse', success: true });
    honest.ws.send(executionRequest({ requestId: 'r', functionName: 'echo', input: new Uint8Array(100_000) }));
    expect(parseJson(await honest.next())).toMatchObject({ type: 'ExecutionResponse', requestId: 'r', success: true });
  });

  it('a frame begun and not completed within frameTimeoutMs: 1008 "Timeout: …"', async () => {
    const listener = await (
      await kernel()
    ).listen('ws://127.0.0.1:0/spear', { secret: SECRET, authTimeoutMs: 20_000, frameTimeoutMs: 300 });
    const peer = await rawWs(listener.url);
    // A masked binary frame header announcing 1000 bytes, then 10 of them, then nothing.
    const header = Buffer.from([0x82, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4]);
    (peer.ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat([header, Buffer.alloc(10)]));
    const close = await peer.closed;
    expect(close.code).toBe(1008);
    expect(close.reason).toMatch(/^Timeout: .*did not complete it within 300 ms/);
  });

  it('a full listener: HTTP 503 "ConnectionRefused: …" before the upgrade', async () => {
    const listener = await (await kernel()).listen('ws://127.0.0.1:0/spear', { secret: SECRET, maxConnections: 1 });
    await rawWs(listener.url); // holds the only slot, silently
    const refused = new WebSocket(listener.url);
    refused.on('error', () => {});
    const [, res] = (await once(refused, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
    expect(res.statusCode).toBe(503);
    let body = '';
    for await (const chunk of res) body += String(chunk);
    expect(body).toMatch(/^ConnectionRefused: connection limit of 1 reached/);
    refused.terminate();
  });
});

describe('websocket on a shared http.Server', () => {
  it('counts the WebSockets upgraded to its path and answers more with 503, leaving other requests to the server', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('app'));
    defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const listener = await (await kernel()).listen('ws://127.0.0.1:0/spear', { secret: SECRET, maxConnections: 1, extra: { server } });
    await rawWs(listener.url);
    const refused = new WebSocket(listener.url);
    refused.on('error', () => {});
    const [, res] = (await once(refused, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
    expect(res.statusCode).toBe(503);
    refused.terminate();
    const plain = await fetch(listener.url.replace('ws:', 'http:').replace('/spear', '/'));
    expect(await plain.text()).toBe('app');
  });
});

// ---- gRPC, by hand over node:http2 ----

const CONNECT_PATH = '/spear.v1.SpearTransport/Connect';

/** One gRPC message carrying a spear.v1.Frame whose field 1 (bytes) is `data`. */
function grpcFrame(data: Uint8Array): Buffer {
  const varint: number[] = [];
  for (let n = data.byteLength; ; n >>>= 7) {
    if (n < 0x80) {
      varint.push(n);
      break;
    }
    varint.push((n & 0x7f) | 0x80);
  }
  const message = Buffer.concat([Buffer.from([0x0a, ...varint]), data]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([header, message]);
}

interface RawCall {
  session: ClientHttp2Session;
  stream: ClientHttp2Stream;
  /** grpc-status and grpc-message from the trailers (or headers, for a trailers-only answer). */
  status: Promise<{ code: number; message: string }>;
  sessionClosed: Promise<void>;
}

function rawSession(url: string): { session: ClientHttp2Session; sessionClosed: Promise<void> } {
  const session = http2Connect(`http://${new URL(url).host}`);
  session.on('error', () => {});
  const sessionClosed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  defer(() => session.destroy());
  return { session, sessionClosed };
}

function rawCall(url: string): RawCall {
  const { session, sessionClosed } = rawSession(url);
  const stream = session.request({ ':method': 'POST', ':path': CONNECT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => {});
  stream.on('data', () => {});
  const status = new Promise<{ code: number; message: string }>((resolve) => {
    const take = (headers: Record<string, string | string[] | undefined>) => {
      const message = headers['grpc-message'];
      if (headers['grpc-status'] === undefined) return;
      stream.close(); // as a gRPC client does once the status is in
      resolve({ code: Number(headers['grpc-status']), message: decodeURIComponent(typeof message === 'string' ? message : '') });
    };
    stream.on('response', take);
    stream.on('trailers', take);
  });
  return { session, stream, status, sessionClosed };
}

describe('grpc: a refused peer reads why in the status, and its HTTP/2 connection closes', () => {
  it('auth timeout: UNAUTHENTICATED (16) "AuthFailed: …"', async () => {
    const listener = await (await kernel()).listen('grpc://127.0.0.1:0', { secret: SECRET, authTimeoutMs: 200 });
    const call = rawCall(listener.url);
    const status = await call.status;
    expect(status.code).toBe(16);
    expect(status.message).toMatch(/^AuthFailed: .*did not complete the handshake within 200 ms/);
    await call.sessionClosed;
  });

  it('a first frame that is no AuthRequest: INVALID_ARGUMENT (3) "DecodeFailed: …"', async () => {
    const listener = await (await kernel()).listen('grpc://127.0.0.1:0', { secret: SECRET });
    const call = rawCall(listener.url);
    call.stream.write(grpcFrame(Buffer.from([0xff, 0x00, 0x13])));
    const status = await call.status;
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/^DecodeFailed: /);
    await call.sessionClosed;
  });

  it('a frame over 64 KiB before the handshake: RESOURCE_EXHAUSTED (8)', async () => {
    const listener = await (await kernel()).listen('grpc://127.0.0.1:0', { secret: SECRET, maxFrameSize: 1 << 20 });
    const call = rawCall(listener.url);
    call.stream.write(grpcFrame(new Uint8Array(100_000)));
    expect((await call.status).code).toBe(8);
  });

  it('a frame begun and not completed within frameTimeoutMs: DEADLINE_EXCEEDED (4) "Timeout: …"', async () => {
    const listener = await (await kernel()).listen('grpc://127.0.0.1:0', { secret: SECRET, authTimeoutMs: 20_000, frameTimeoutMs: 300 });
    const call = rawCall(listener.url);
    // A gRPC message prefix announcing 1000 bytes, then 10 of them, then nothing.
    call.stream.write(grpcFrame(new Uint8Array(1000)).subarray(0, 15));
    const status = await call.status;
    expect(status.code).toBe(4);
    expect(status.message).toMatch(/^Timeout: .*did not complete it within 300 ms/);
    await call.sessionClosed;
  });

  it('an HTTP/2 connection that opens no call is closed at the auth timeout', async () => {
    const listener = await (await kernel()).listen('grpc://127.0.0.1:0', { secret: SECRET, authTimeoutMs: 200 });
    const { sessionClosed } = rawSession(listener.url);
    await sessionClosed;
  });

  it('a full listener closes a second connection at once', async () => {
    const listener = await (await kernel()).listen('grpc://127.0.0.1:0', { secret: SECRET, maxConnections: 1 });
    const first = rawSession(listener.url);
    await once(first.session, 'connect');
    const second = rawSession(listener.url);
    await second.sessionClosed;
    expect(first.session.closed).toBe(false);
  });
});
