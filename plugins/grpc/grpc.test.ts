import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  Server,
  ServerCredentials,
  credentials,
  loadPackageDefinition,
  status as Status,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, invoke, type CommunicationChannel } from 'spear-comm';
import { selfSignedCert } from '../../test/support/certs.js';
import { trackCleanups } from '../../test/support/cleanups.js';
import { Arrivals } from '../../conformance/arrivals.js';
import { authRequest, executionRequest, parseJson } from '../../test/support/json-wire.js';
import { statusToError } from './status-codes.js';

const SECRET = 'grpc-secret-9012';
const { defer, kernel } = trackCleanups();

interface ForeignFrame {
  data: Buffer;
}
type ForeignCall = ClientDuplexStream<ForeignFrame, ForeignFrame>;

/** A client generated from the shipped .proto by @grpc/proto-loader; it knows nothing of spear-comm. */
function foreignClient(url: string) {
  const definition = loadSync(fileURLToPath(new URL('../../proto/spear/v1/transport.proto', import.meta.url)), {});
  const spear = loadPackageDefinition(definition) as unknown as {
    spear: {
      v1: {
        SpearTransport: new (
          address: string,
          creds: ReturnType<typeof credentials.createInsecure>,
        ) => { Connect(): ForeignCall; close(): void };
      };
    };
  };
  const client = new spear.spear.v1.SpearTransport(new URL(url).host, credentials.createInsecure());
  defer(() => client.close());
  const call = client.Connect();
  const frames = new Arrivals<Buffer>();
  call.on('data', (frame: ForeignFrame) => frames.push(frame.data));
  call.on('error', () => {});
  const status = new Promise<StatusObject>((resolve) => call.on('status', resolve));
  return { call, frames, status };
}

describe('grpc listener', () => {
  it('serves a client generated from the shipped .proto: JSON handshake, then a JSON invoke', async () => {
    const k = await kernel();
    const channels: CommunicationChannel[] = [];
    const listener = await k.listen('grpc://127.0.0.1:0', {
      secret: SECRET,
      maxFrameSize: 65536,
      onChannel: (c) => channels.push(c),
      handlers: { reverse: (input) => Uint8Array.from(input).reverse() },
    });
    expect(listener.url).toMatch(/^grpc:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const { call, frames, status } = foreignClient(listener.url);
    call.write({ data: authRequest({ requestId: 'auth-1', instanceId: 'foreign-grpc', token: SECRET }) });
    expect(parseJson(await frames.next())).toMatchObject({
      type: 'AuthResponse',
      requestId: 'auth-1',
      success: true,
      metadata: { maxFrameSize: '65536' },
    });

    call.write({ data: executionRequest({ requestId: 'call-1', functionName: 'reverse', input: new Uint8Array([1, 2, 3, 250, 0]) }) });
    const answer = parseJson(await frames.next());
    expect(answer).toMatchObject({ type: 'ExecutionResponse', requestId: 'call-1', success: true });
    expect([...Buffer.from(answer['output'] as string, 'base64')]).toEqual([0, 250, 3, 2, 1]);
    expect(channels.map((c) => c.instanceId.instanceId)).toEqual(['foreign-grpc']);

    // Ending the call is an orderly close on both sides.
    const ended = new Promise<CommunicationError | undefined>((resolve) => channels[0]!.on('close', resolve));
    call.end();
    expect((await status).code).toBe(Status.OK);
    expect((await ended)?.message).toMatch(/closed by the peer/);
  });

  it('answers a wrong token with success: false and ends the call with UNAUTHENTICATED "AuthFailed: …"', async () => {
    const k = await kernel();
    const listener = await k.listen('grpc://127.0.0.1:0', { secret: SECRET });
    const { call, frames, status } = foreignClient(listener.url);
    call.write({ data: authRequest({ requestId: 'auth-2', instanceId: 'intruder', token: 'wrong' }) });
    expect(parseJson(await frames.next())).toMatchObject({ type: 'AuthResponse', requestId: 'auth-2', success: false });
    const ended = await status;
    expect(ended.code).toBe(Status.UNAUTHENTICATED);
    expect(ended.details).toMatch(/^AuthFailed: invalid token/);
  });

  it('ends a call whose frame exceeds maxFrameSize with RESOURCE_EXHAUSTED and drops the session', async () => {
    const k = await kernel();
    const channels: CommunicationChannel[] = [];
    const listener = await k.listen('grpc://127.0.0.1:0', {
      secret: SECRET,
      maxFrameSize: 1024,
      handlers: {},
      onChannel: (c) => channels.push(c),
    });
    const { call, frames, status } = foreignClient(listener.url);
    call.write({ data: authRequest({ requestId: 'a', instanceId: 'big', token: SECRET }) });
    await frames.next();
    const ended = new Promise<CommunicationError | undefined>((resolve) => channels[0]!.on('close', resolve));
    call.write({ data: Buffer.alloc(1024, 0x20) }); // exactly the limit passes the transport (and fails to decode as JSON)
    const second = foreignClient(listener.url);
    second.call.write({ data: authRequest({ requestId: 'b', instanceId: 'bigger', token: SECRET }) });
    await second.frames.next();
    second.call.write({ data: Buffer.alloc(1025) });
    const refused = await second.status;
    expect(refused.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(statusToError(refused, 'test', true).code).toBe(ErrorCode.FrameTooLarge);
    expect((await ended)?.code).toBe(ErrorCode.DecodeFailed);
    expect((await status).code).not.toBe(Status.RESOURCE_EXHAUSTED);
  });

  it('reports ConnectionRefused when nothing listens and ChannelCreationFailed for a gRPC server without SpearTransport', async () => {
    const k = await kernel();
    const other = new Server();
    defer(() => other.forceShutdown());
    const port = await new Promise<number>((resolve, reject) =>
      other.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    await expect(k.connect(`grpc://127.0.0.1:${port}`, { token: SECRET })).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/UNIMPLEMENTED.*spear\.v1\.SpearTransport/),
    });
    other.forceShutdown();
    await expect(k.connect(`grpc://127.0.0.1:${port}`, { token: SECRET })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringMatching(/UNAVAILABLE/),
    });
  });

  it('listens on a free port when the URL names none, wants a port to connect to, and checks keepalive settings', async () => {
    const k = await kernel();
    expect((await k.listen('grpc://127.0.0.1')).url).toMatch(/^grpc:\/\/127\.0\.0\.1:[1-9]\d*$/);
    await expect(k.connect('grpc://127.0.0.1')).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/names no port/),
    });
    await expect(k.listen('grpc://127.0.0.1:0', { extra: { keepaliveTimeMs: -5 } })).rejects.toMatchObject({
      message: expect.stringMatching(/keepaliveTimeMs/),
    });
  });

  it('detects a silent peer with keepalive pings and closes the channel', async () => {
    const k = await kernel();
    const extra = { keepaliveTimeMs: 50, keepaliveTimeoutMs: 100 };
    const listener = await k.listen('grpc://127.0.0.1:0', { secret: SECRET, handlers: { echo: (i) => i } });
    const proxy = await freezableProxy(Number(new URL(listener.url).port));
    const channel = await k.connect(`grpc://127.0.0.1:${proxy.port}`, { token: SECRET, extra });
    expect(await invoke(channel, 'echo', new Uint8Array([1]))).toEqual(new Uint8Array([1]));
    const closed = new Promise<CommunicationError | undefined>((resolve) => channel.on('close', resolve));
    // The network goes quiet without a FIN or RST: only keepalive can notice.
    proxy.freeze();
    const reason = await closed;
    expect(reason?.code).toBe(ErrorCode.ChannelClosed);
    expect(reason?.message).toMatch(/UNAVAILABLE/);
  });
});

/** A TCP relay whose traffic can be stopped dead while both connections stay open. */
async function freezableProxy(target: number): Promise<{ port: number; freeze(): void }> {
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((inbound) => {
    const outbound = connect(target, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => {});
    outbound.on('error', () => {});
    pairs.push([inbound, outbound]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      for (const [a, b] of pairs) {
        a.unpipe();
        b.unpipe();
        a.pause();
        b.pause();
      }
    },
  };
}

describe('gRPC status codes', () => {
  it('map to CommunicationError codes through one table', () => {
    const cases: Array<[Status, boolean, ErrorCode]> = [
      [Status.UNAVAILABLE, false, ErrorCode.ConnectionRefused],
      [Status.UNAVAILABLE, true, ErrorCode.ChannelClosed],
      [Status.DEADLINE_EXCEEDED, true, ErrorCode.Timeout],
      [Status.RESOURCE_EXHAUSTED, true, ErrorCode.FrameTooLarge],
      [Status.UNAUTHENTICATED, false, ErrorCode.AuthFailed],
      [Status.PERMISSION_DENIED, false, ErrorCode.AuthFailed],
      [Status.UNIMPLEMENTED, false, ErrorCode.ChannelCreationFailed],
      [Status.INVALID_ARGUMENT, true, ErrorCode.DecodeFailed],
      [Status.CANCELLED, true, ErrorCode.ChannelClosed],
      [Status.INTERNAL, true, ErrorCode.ChannelClosed],
    ];
    for (const [code, established, expected] of cases) {
      const error = statusToError({ code, details: 'detail text' }, 'test call', established);
      expect(error.code, Status[code]).toBe(expected);
      expect(error.message).toContain(`${Status[code]}: detail text`);
    }
  });
});

describe('grpcs://', () => {
  it('serves a client that trusts the certificate and refuses one that does not, with a clear error', async () => {
    const k = await kernel();
    const { cert, key } = await selfSignedCert();
    const listener = await k.listen('grpcs://127.0.0.1:0', { secret: SECRET, tls: { cert, key }, handlers: { echo: (i) => i } });
    expect(listener.url).toMatch(/^grpcs:\/\/127\.0\.0\.1:\d+$/);
    expect(k.transport('grpc').capabilities.tls).toBe(true);

    // By name: grpc-js would send the IP as the TLS server name, which Node warns about (RFC 6066).
    const byName = listener.url.replace('127.0.0.1', 'localhost');
    const trusted = await k.connect(byName, { token: SECRET, tls: { ca: cert } });
    expect(await invoke(trusted, 'echo', new Uint8Array([7]))).toEqual(new Uint8Array([7]));

    await expect(k.connect(byName, { token: SECRET })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringMatching(/self-signed certificate/),
    });
    await expect(k.connect(listener.url.replace('grpcs:', 'grpc:'), { token: SECRET, timeoutMs: 3000 })).rejects.toBeInstanceOf(
      CommunicationError,
    );
  });

  it('needs a certificate and key to listen, and grpcs:// to use TLS options', async () => {
    const k = await kernel();
    await expect(k.listen('grpcs://127.0.0.1:0', {})).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/tls\.cert and tls\.key/),
    });
    await expect(k.listen('grpc://127.0.0.1:0', { tls: { cert: 'x', key: 'y' } })).rejects.toMatchObject({
      message: expect.stringMatching(/grpcs:\/\//),
    });
  });
});
