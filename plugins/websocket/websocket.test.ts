import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { CommunicationError, ErrorCode, invoke, type CommunicationChannel, type Listener } from 'spear-comm';
import { selfSignedCert } from '../../test/support/certs.js';
import { trackCleanups } from '../../test/support/cleanups.js';
import { Arrivals } from '../../conformance/arrivals.js';
import { authRequest, executionRequest, parseJson } from '../../test/support/json-wire.js';

const SECRET = 'ws-secret-5678';
const { defer, kernel } = trackCleanups();

/** A plain ws client that knows nothing of spear-comm; its messages and close land in inboxes. */
async function rawClient(url: string, options: ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  defer(() => ws.terminate());
  const messages = new Arrivals<{ data: Buffer; isBinary: boolean }>();
  ws.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  await once(ws, 'open');
  return { ws, messages, closed };
}

function rejections(listener: Listener): Arrivals<CommunicationError> {
  const inbox = new Arrivals<CommunicationError>();
  listener.on('rejected', (error) => inbox.push(error));
  return inbox;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('websocket listener', () => {
  it('binds loopback, reports the real port and path, and answers plain HTTP with 426', async () => {
    const k = await kernel();
    const listener = await k.listen('ws://127.0.0.1:0/spear/v1', { secret: SECRET });
    expect(listener.url).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/spear\/v1$/);
    const port = new URL(listener.url).port;
    const plain = await httpGet(`http://127.0.0.1:${port}/spear/v1`);
    expect(plain.status).toBe(426);
    // A client on the wrong path is told so instead of hanging.
    await expect(k.connect(`ws://127.0.0.1:${port}/elsewhere`, { token: SECRET })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringMatching(/HTTP 404.*path/),
    });
  });

  it('refuses a connection to a port where nothing listens with ConnectionRefused', async () => {
    const k = await kernel();
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(k.connect(`ws://127.0.0.1:${port}/spear`, { token: SECRET })).rejects.toMatchObject({ code: ErrorCode.ConnectionRefused });
  });

  it('serves a foreign client that speaks only DESIGN §5: JSON handshake, then a JSON invoke', async () => {
    const k = await kernel();
    const listener = await k.listen('ws://127.0.0.1:0/spear', {
      secret: SECRET,
      maxFrameSize: 65536,
      handlers: { reverse: (input) => Uint8Array.from(input).reverse() },
    });
    const { ws, messages } = await rawClient(listener.url);
    ws.send(authRequest({ requestId: 'auth-1', instanceId: 'foreign-ws', token: SECRET }));
    const auth = await messages.next();
    expect(auth.isBinary).toBe(true);
    expect(parseJson(auth.data)).toMatchObject({
      type: 'AuthResponse',
      requestId: 'auth-1',
      success: true,
      metadata: { maxFrameSize: '65536' },
    });

    ws.send(executionRequest({ requestId: 'call-1', functionName: 'reverse', input: new Uint8Array([1, 2, 3, 250, 0]) }));
    const answer = parseJson((await messages.next()).data);
    expect(answer).toMatchObject({ type: 'ExecutionResponse', requestId: 'call-1', success: true });
    expect([...Buffer.from(answer['output'] as string, 'base64')]).toEqual([0, 250, 3, 2, 1]);
    expect(listener.channels().map((c) => c.instanceId.instanceId)).toEqual(['foreign-ws']);
  });

  it('answers a wrong token with success: false and closes with 1008 "AuthFailed: …"', async () => {
    const k = await kernel();
    const listener = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET });
    const { ws, messages, closed } = await rawClient(listener.url);
    ws.send(authRequest({ requestId: 'auth-2', instanceId: 'intruder', token: 'not-the-secret' }));
    expect(parseJson((await messages.next()).data)).toMatchObject({ type: 'AuthResponse', requestId: 'auth-2', success: false });
    const close = await closed;
    expect(close.code).toBe(1008);
    expect(close.reason).toMatch(/^AuthFailed: invalid token/);
  });

  it('closes on a text message with code 1003 and reports DecodeFailed', async () => {
    const k = await kernel();
    const channels: CommunicationChannel[] = [];
    const listener = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET, onChannel: (c) => channels.push(c) });
    const refused = rejections(listener);
    // During the handshake.
    const first = await rawClient(listener.url);
    first.ws.send(JSON.stringify({ type: 'AuthRequest' }));
    const close = await first.closed;
    expect(close.code).toBe(1003);
    expect(close.reason).toMatch(/binary/);
    expect((await refused.next()).code).toBe(ErrorCode.DecodeFailed);

    // And inside an established session.
    const second = await rawClient(listener.url);
    second.ws.send(authRequest({ requestId: 'a', instanceId: 'texty', token: SECRET }));
    await second.messages.next();
    const ended = new Promise<CommunicationError | undefined>((resolve) => channels[0]!.on('close', resolve));
    second.ws.send('hello');
    expect((await second.closed).code).toBe(1003);
    const reason = await ended;
    expect(reason?.code).toBe(ErrorCode.DecodeFailed);
    expect(reason?.message).toMatch(/text WebSocket message/);
  });

  it('closes with 1009 and reports FrameTooLarge when a frame exceeds maxFrameSize', async () => {
    const k = await kernel();
    const channels: CommunicationChannel[] = [];
    const listener = await k.listen('ws://127.0.0.1:0/spear', {
      secret: SECRET,
      maxFrameSize: 1024,
      handlers: {},
      onChannel: (c) => channels.push(c),
    });
    const refused = rejections(listener);
    // An oversized first frame.
    const first = await rawClient(listener.url);
    first.ws.send(Buffer.alloc(1025, 0x7b));
    expect((await first.closed).code).toBe(1009);
    expect((await refused.next()).code).toBe(ErrorCode.FrameTooLarge);
    // An oversized frame inside a session; exactly the limit still passes.
    const second = await rawClient(listener.url);
    second.ws.send(authRequest({ requestId: 'a', instanceId: 'big', token: SECRET }));
    await second.messages.next();
    const ended = new Promise<CommunicationError | undefined>((resolve) => channels[0]!.on('close', resolve));
    const atLimit = executionRequest({ requestId: 'x'.repeat(10), functionName: 'f', input: new Uint8Array(0) });
    second.ws.send(
      Buffer.concat([
        atLimit.subarray(0, atLimit.length - 1),
        Buffer.alloc(1024 - atLimit.length, 0x20),
        atLimit.subarray(atLimit.length - 1),
      ]),
    );
    expect(parseJson((await second.messages.next()).data)).toMatchObject({
      type: 'ExecutionResponse',
      requestId: 'x'.repeat(10),
      success: false,
    });
    second.ws.send(Buffer.alloc(1025));
    expect((await second.closed).code).toBe(1009);
    expect((await ended)?.code).toBe(ErrorCode.FrameTooLarge);
  });

  it('leaves compression off unless configured', async () => {
    const k = await kernel();
    const plain = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET });
    expect((await rawClient(plain.url, { perMessageDeflate: true })).ws.extensions).toBe('');
    const deflating = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET, extra: { perMessageDeflate: true } });
    expect((await rawClient(deflating.url, { perMessageDeflate: true })).ws.extensions).toMatch(/permessage-deflate/);
    const channel = await k.connect(deflating.url, { token: SECRET, extra: { perMessageDeflate: true } });
    expect(channel.isConnected()).toBe(true);
  });

  it('drops a peer that stops answering pings and keeps one that answers', async () => {
    const k = await kernel();
    const listener = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET, extra: { pingIntervalMs: 40 } });
    const refused = rejections(listener);
    const deaf = await rawClient(listener.url, { autoPong: false });
    const reason = await refused.next();
    expect(reason.code).toBe(ErrorCode.Timeout);
    expect(reason.message).toMatch(/ping/);
    expect((await deaf.closed).code).toBe(1006);

    const lively = await rawClient(listener.url);
    lively.ws.send(authRequest({ requestId: 'a', instanceId: 'lively', token: SECRET }));
    await lively.messages.next();
    let pings = 0;
    await new Promise<void>((resolve) => lively.ws.on('ping', () => ++pings === 5 && resolve()));
    expect(lively.ws.readyState).toBe(WebSocket.OPEN);
    expect(listener.channels()).toHaveLength(1);
  });

  it('rejects bad extra options with a clear message', async () => {
    const k = await kernel();
    await expect(k.listen('ws://127.0.0.1:0/x', { extra: { pingIntervalMs: -1 } })).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/pingIntervalMs/),
    });
    await expect(k.listen('ws://127.0.0.1:0/x', { extra: { server: {} } })).rejects.toMatchObject({
      message: expect.stringMatching(/http\.Server/),
    });
  });
});

describe('websocket on a shared http.Server', () => {
  async function userServer(): Promise<Server> {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404);
      res.end(req.url === '/health' ? 'ok' : '');
    });
    defer(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return server;
  }

  it('answers only its own path, starts the server if needed, and never closes it', async () => {
    const server = await userServer(); // closed after the kernel: it waits for upgraded sockets
    const k = await kernel();
    // The user's own WebSocket endpoint on the same server, on another path.
    const theirs = new WebSocketServer({ noServer: true });
    defer(() => theirs.close());
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/chat') theirs.handleUpgrade(req, socket, head, (ws) => ws.send('welcome'));
    });
    const listener = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET, handlers: { echo: (i) => i }, extra: { server } });
    expect(server.listening).toBe(true);
    const { port } = server.address() as AddressInfo;
    expect(listener.url).toBe(`ws://127.0.0.1:${port}/spear`);

    const channel = await k.connect(listener.url, { token: SECRET });
    expect(await invoke(channel, 'echo', new Uint8Array([9, 8]))).toEqual(new Uint8Array([9, 8]));
    expect(await httpGet(`http://127.0.0.1:${port}/health`)).toEqual({ status: 200, body: 'ok' });
    const chat = await rawClient(`ws://127.0.0.1:${port}/chat`);
    expect((await chat.messages.next()).data.toString()).toBe('welcome');

    const ended = new Promise((resolve) => channel.on('close', resolve));
    await listener.close();
    await ended;
    expect(server.listening).toBe(true);
    expect(await httpGet(`http://127.0.0.1:${port}/health`)).toEqual({ status: 200, body: 'ok' });
    // After close, spear-comm no longer answers its path.
    expect(server.listenerCount('upgrade')).toBe(1);
  });

  it('works on a server the user already started', async () => {
    const server = await userServer(); // closed after the kernel: it waits for upgraded sockets
    const k = await kernel();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const listener = await k.listen('ws://127.0.0.1:0/spear', { secret: SECRET, handlers: { echo: (i) => i }, extra: { server } });
    expect(listener.url).toBe(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/spear`);
    const channel = await k.connect(listener.url, { token: SECRET });
    expect(await invoke(channel, 'echo', new Uint8Array([5]))).toEqual(new Uint8Array([5]));
  });
});

describe('wss://', () => {
  it('serves a client that trusts the certificate and refuses one that does not, with a clear error', async () => {
    const k = await kernel();
    const { cert, key } = await selfSignedCert();
    const listener = await k.listen('wss://127.0.0.1:0/spear', { secret: SECRET, tls: { cert, key }, handlers: { echo: (i) => i } });
    expect(listener.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/spear$/);
    expect(k.transport('websocket').capabilities.tls).toBe(true);

    const trusted = await k.connect(listener.url, { token: SECRET, tls: { ca: cert } });
    expect(await invoke(trusted, 'echo', new Uint8Array([7]))).toEqual(new Uint8Array([7]));

    const untrusted = k.connect(listener.url, { token: SECRET });
    // DESIGN §3: an untrusted certificate is AuthFailed, as on tls:// and grpcs://.
    await expect(untrusted).rejects.toMatchObject({
      code: ErrorCode.AuthFailed,
      message: expect.stringMatching(/TLS certificate.*self-signed certificate.*tls\.ca/),
    });
    // A plain ws:// client on a TLS port does not get a session either.
    await expect(k.connect(listener.url.replace('wss:', 'ws:'), { token: SECRET, timeoutMs: 3000 })).rejects.toBeInstanceOf(
      CommunicationError,
    );
  });

  it('works on a shared https.Server, which makes the URL wss://', async () => {
    const { cert, key } = await selfSignedCert();
    const server = createHttpsServer({ cert, key });
    defer(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const k = await kernel();
    const listener = await k.listen('wss://127.0.0.1:0/spear', { secret: SECRET, handlers: { echo: (i) => i }, extra: { server } });
    expect(listener.url).toBe(`wss://127.0.0.1:${(server.address() as AddressInfo).port}/spear`);
    const channel = await k.connect(listener.url, { token: SECRET, tls: { ca: cert } });
    expect(await invoke(channel, 'echo', new Uint8Array([6]))).toEqual(new Uint8Array([6]));
  });

  it('needs a certificate and key to listen', async () => {
    const k = await kernel();
    await expect(k.listen('wss://127.0.0.1:0/spear', {})).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/tls\.cert and tls\.key/),
    });
    await expect(k.listen('ws://127.0.0.1:0/spear', { tls: { cert: 'x', key: 'y' } })).rejects.toMatchObject({
      message: expect.stringMatching(/wss:\/\//),
    });
    await expect(k.connect('ws://127.0.0.1:1/spear', { tls: { ca: 'x' } })).rejects.toMatchObject({
      message: expect.stringMatching(/wss:\/\//),
    });
  });
});
