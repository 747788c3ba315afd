import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { generate } from 'selfsigned';
import { beforeAll, describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, invoke, type ListenOptions, type TlsOptions } from 'spear-comm';
import { testBed } from '../../test/support/test-bed.js';

const bed = testBed();

async function listen(url: string, options: ListenOptions = {}) {
  const listener = await bed.kernel.listen(url, { handlers: { echo: (input) => input }, ...options });
  bed.defer(() => listener.close());
  return listener;
}

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  bed.defer(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

describe('tcp://', () => {
  it('binds to loopback by default and reports the real port for port 0', async () => {
    for (const url of ['tcp://', 'tcp://127.0.0.1:0']) {
      const listener = await listen(url);
      expect(listener.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(listener.url).not.toMatch(/:0$/);
      const channel = await bed.kernel.connect(listener.url);
      expect(await invoke(channel, 'echo', Uint8Array.of(1, 2))).toEqual(Uint8Array.of(1, 2));
      await channel.close();
    }
  });

  it('binds to another host when the URL names one', async () => {
    const listener = await listen('tcp://0.0.0.0:0');
    expect(listener.url).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
  });

  it('answers 64 concurrent requests on one channel', async () => {
    const listener = await listen('tcp://127.0.0.1:0');
    const channel = await bed.kernel.connect(listener.url);
    const inputs = Array.from({ length: 64 }, (_, i) => Uint8Array.of(i, 255 - i));
    expect(await Promise.all(inputs.map((input) => invoke(channel, 'echo', input)))).toEqual(inputs);
    await channel.close();
  });

  it('fails with ConnectionRefused naming the address when nothing listens', async () => {
    const port = await freePort();
    const error = await bed.kernel.connect(`tcp://127.0.0.1:${port}`, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).toMatchObject({ code: ErrorCode.ConnectionRefused, message: expect.stringContaining(`tcp://127.0.0.1:${port}`) });
    expect((error as Error).message).toContain('Start the listener');
  });

  it('refuses a port that is in use, saying so', async () => {
    const listener = await listen('tcp://127.0.0.1:0');
    await expect(bed.kernel.listen(listener.url)).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringContaining('already in use'),
    });
  });

  it('needs a port to connect to', async () => {
    await expect(bed.kernel.connect('tcp://127.0.0.1')).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('names no port'),
    });
  });

  it('gives up connecting after timeoutMs, and on abort', async () => {
    const port = await silentServer();
    // A TLS handshake that is never answered keeps the connect pending until the timeout.
    await expect(bed.kernel.connect(`tls://127.0.0.1:${port}`, { timeoutMs: 200 })).rejects.toMatchObject({
      code: ErrorCode.Timeout,
      message: expect.stringContaining(`tls://127.0.0.1:${port} within 200 ms`),
    });
    const controller = new AbortController();
    const pending = bed.kernel.connect(`tls://127.0.0.1:${port}`, { timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ message: expect.stringContaining('aborted') });
  });
});

describe('tls://', () => {
  let server: TlsOptions;
  let trusting: TlsOptions;

  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    server = { cert: pems.cert, key: pems.private };
    trusting = { ca: pems.cert };
  });

  it('serves requests over TLS to a client that trusts the certificate', async () => {
    const listener = await listen('tls://127.0.0.1:0', { tls: server });
    expect(listener.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const channel = await bed.kernel.connect(listener.url, { tls: trusting });
    expect(channel.transport).toBe('tcp');
    expect(await invoke(channel, 'echo', Uint8Array.of(4, 2))).toEqual(Uint8Array.of(4, 2));
    await channel.close();
  });

  it('fails with AuthFailed and says what to do when the client does not trust the certificate', async () => {
    const listener = await listen('tls://127.0.0.1:0', { tls: server });
    const error = await bed.kernel.connect(listener.url, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).toMatchObject({ code: ErrorCode.AuthFailed, message: expect.stringContaining('does not trust') });
    expect((error as Error).message).toContain('tls.ca');
    expect((error as Error).message).toContain(listener.url);
  });

  it('needs a certificate to listen', async () => {
    await expect(bed.kernel.listen('tls://127.0.0.1:0')).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('tls: { cert, key }'),
    });
  });

  it('fails clearly when a TLS client meets a plain tcp listener', async () => {
    const listener = await listen('tcp://127.0.0.1:0');
    const url = listener.url.replace('tcp:', 'tls:');
    await expect(bed.kernel.connect(url, { timeoutMs: 5_000, tls: trusting })).rejects.toMatchObject({
      code: ErrorCode.AuthFailed,
      message: expect.stringContaining('is a TLS listener there'),
    });
  });
});
