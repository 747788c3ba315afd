import { afterEach, describe, expect, it } from 'vitest';
import {
  CommunicationError,
  createKernel,
  invoke,
  Messages,
  serve,
  type CommunicationChannel,
  type FrameConnection,
  type Kernel,
  type RuntimeMessage,
} from 'spear-comm';
import { failOnUnhandledRejections, until } from './support.js';

failOnUnhandledRejections();

let k: Kernel;
afterEach(async () => {
  await k?.close();
});

/** A listener and a connected client; `server()` resolves to the server side of the channel. */
async function pair(options: Parameters<Kernel['listen']>[1] = {}, connect: Parameters<Kernel['connect']>[1] = {}) {
  k = await createKernel();
  let resolveServer!: (c: CommunicationChannel) => void;
  const serverSide = new Promise<CommunicationChannel>((r) => (resolveServer = r));
  const listener = await k.listen('memory://', { ...options, onChannel: resolveServer });
  const client = await k.connect(listener.url, connect);
  return { listener, client, server: await serverSide };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof CommunicationError ? e.code : String(e)),
  );

describe('channel: receive, iteration, flow control', () => {
  it('delivers unsolicited messages to receive() and async iteration, in order', async () => {
    const { client, server } = await pair();
    await server.send(Messages.heartbeat({ sequence: 1 })); // consumed by the channel, never queued
    for (let i = 0; i < 5; i++) await server.send(Messages.ack({ requestId: `m${i}` }));
    expect((await client.receive()).requestId).toBe('m0');
    const rest: string[] = [];
    for await (const message of client) {
      rest.push(message.requestId);
      if (rest.length === 4) break;
    }
    expect(rest).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('ends async iteration when the channel closes', async () => {
    const { client, server } = await pair();
    const seen: RuntimeMessage[] = [];
    const loop = (async () => {
      for await (const m of client) seen.push(m);
    })();
    await server.send(Messages.ack({ requestId: 'only' }));
    await until(() => seen.length === 1, 'first message');
    await server.close();
    await loop;
    expect(seen.map((m) => m.requestId)).toEqual(['only']);
  });

  it('times out receive() with Timeout and honours an AbortSignal', async () => {
    const { client } = await pair();
    expect(await code(client.receive({ timeoutMs: 30 }))).toBe('Timeout');
    const controller = new AbortController();
    const waiting = code(client.receive({ signal: controller.signal }));
    controller.abort();
    expect(await waiting).toBe('Aborted');
    expect(await code(client.receive({ signal: AbortSignal.abort(new CommunicationError('Timeout', 'given up')) }))).toBe('Timeout');
    // The channel still works after abandoned waits.
    expect(client.isConnected()).toBe(true);
  });

  it('slows a producer that outruns its consumer instead of buffering without limit', async () => {
    const { client, server } = await pair({ receiveQueueLimit: 16 });
    const total = 20_000;
    let sent = 0;
    const producer = (async () => {
      for (let i = 0; i < total; i++) {
        await client.send(Messages.ack({ requestId: String(i) }));
        sent = i + 1;
      }
    })();
    // Wait until the producer stops making progress: its sends are pending on the full pipe.
    let last = -1;
    let still = 0;
    await until(() => {
      still = sent === last ? still + 1 : 0;
      last = sent;
      return still > 200;
    }, 'producer to stall');
    expect(sent).toBeLessThan(total);
    expect(server.stats().messagesIn).toBeLessThanOrEqual(16);
    // Draining lets it finish, and nothing is lost or reordered.
    for (let i = 0; i < total; i++) expect((await server.receive()).requestId).toBe(String(i));
    await producer;
    expect(sent).toBe(total);
  });

  it('answers HealthCheck automatically and counts messages and bytes both ways', async () => {
    const { client, server } = await pair();
    const answer = await client.request(Messages.healthCheck());
    expect(answer).toMatchObject({ type: 'HealthCheck', status: 'SERVING' });
    const c = client.stats();
    const s = server.stats();
    expect(c.messagesOut).toBe(1);
    expect(c.messagesIn).toBe(1);
    expect(s.messagesIn).toBe(1);
    expect(s.messagesOut).toBe(1);
    expect(c.bytesOut).toBe(s.bytesIn);
    expect(c.bytesIn).toBe(s.bytesOut);
    expect(c.bytesOut).toBeGreaterThan(0);
    expect(c.requests).toBe(1);
  });

  it('hands an unmatched answer to receive() and never answers an answer', async () => {
    const { client, server } = await pair();
    await server.send(Messages.healthCheck({ requestId: 'not-asked', status: 'SERVING' }));
    expect(await client.receive()).toMatchObject({ type: 'HealthCheck', requestId: 'not-asked', status: 'SERVING' });
    await server.send(Messages.healthCheck({ requestId: 'asked' }));
    await until(() => server.stats().messagesIn === 1, 'health answer');
    expect(client.stats().messagesOut).toBe(1); // one answer to the question, none to the unmatched answer
    expect(client.stats().lateResponses).toBe(0);
  });

  it('drops a response that arrives after its request timed out, counting it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { client } = await pair({
      handlers: {
        late: async () => {
          await gate;
          return Buffer.from('late');
        },
      },
    });
    expect(await code(invoke(client, 'late', new Uint8Array(), { timeoutMs: 20 }))).toBe('Timeout');
    release();
    await until(() => client.stats().lateResponses === 1, 'late response to arrive');
    expect(client.stats().pendingRequests).toBe(0);
    const received = code(client.receive({ timeoutMs: 20 }));
    expect(await received).toBe('Timeout'); // the late answer never reaches receive()
  });

  it('aborts a request through its signal', async () => {
    const { client } = await pair({ handlers: { hang: () => new Promise<Uint8Array>(() => {}) } });
    const controller = new AbortController();
    const p = code(invoke(client, 'hang', new Uint8Array(), { signal: controller.signal }));
    controller.abort();
    expect(await p).toBe('Aborted');
    expect(client.stats().pendingRequests).toBe(0);
    expect(await code(invoke(client, 'hang', new Uint8Array(), { signal: AbortSignal.timeout(10) }))).toBe('Timeout');
  });

  it('refuses a duplicate in-flight requestId', async () => {
    const { client } = await pair({ handlers: { hang: () => new Promise<Uint8Array>(() => {}) } });
    const request = Messages.executionRequest({ functionName: 'hang', input: new Uint8Array(), timeoutMs: 1000, requestId: 'same' });
    const first = code(client.request(request, { timeoutMs: 1000 }));
    await expect(client.request(request)).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringMatching(/already in flight/),
    });
    await client.close();
    expect(await first).toBe('ChannelClosed');
  });
});

describe('serve and invoke', () => {
  it('reports a throwing handler and an unknown function as RemoteError with the remote code', async () => {
    const { client } = await pair({
      handlers: {
        boom: () => {
          throw new Error('disk on fire');
        },
        coded: () => {
          throw Object.assign(new Error('quota'), { code: 'QuotaExceeded' });
        },
        wrongType: () => 'not bytes' as unknown as Uint8Array,
      },
    });
    const boom = await invoke(client, 'boom', new Uint8Array()).catch((e: CommunicationError) => e);
    expect(boom).toMatchObject({ code: 'RemoteError', remoteCode: 'HandlerError' });
    expect((boom as Error).message).toContain('disk on fire');
    await expect(invoke(client, 'coded', new Uint8Array())).rejects.toMatchObject({ code: 'RemoteError', remoteCode: 'QuotaExceeded' });
    await expect(invoke(client, 'wrongType', new Uint8Array())).rejects.toMatchObject({ remoteCode: 'InvalidOutput' });
    const missing = await invoke(client, 'missing', new Uint8Array()).catch((e: CommunicationError) => e);
    expect(missing).toMatchObject({ code: 'RemoteError', remoteCode: 'UnknownFunction' });
    expect((missing as Error).message).toContain('boom, coded, wrongType');
    // Names inherited from Object.prototype are not functions of the instance.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      await expect(invoke(client, name, new Uint8Array())).rejects.toMatchObject({ remoteCode: 'UnknownFunction' });
    }
  });

  it('lets both sides serve and invoke on one channel at once', async () => {
    const { client, server } = await pair(
      { handlers: { side: () => Buffer.from('server') } },
      { handlers: { side: () => Buffer.from('client') } },
    );
    const [fromServer, fromClient] = await Promise.all([
      invoke(client, 'side', new Uint8Array()),
      invoke(server, 'side', new Uint8Array()),
    ]);
    expect(Buffer.from(fromServer).toString()).toBe('server');
    expect(Buffer.from(fromClient).toString()).toBe('client');
  });

  it('passes context to handlers and aborts their signal when the channel closes', async () => {
    let seen: { functionName: string; metadata: Record<string, string>; timeoutMs: number; instance: string } | undefined;
    let aborted = false;
    const { client } = await pair(
      {
        handlers: {
          ctx: (_input, ctx) => {
            seen = {
              functionName: ctx.functionName,
              metadata: ctx.metadata,
              timeoutMs: ctx.timeoutMs,
              instance: ctx.instanceId.instanceId,
            };
            return new Uint8Array();
          },
          wait: (_input, ctx) =>
            new Promise<Uint8Array>((_, reject) =>
              ctx.signal.addEventListener('abort', () => {
                aborted = true;
                reject(ctx.signal.reason as unknown);
              }),
            ),
        },
      },
      { instanceId: 'inst-7' },
    );
    await invoke(client, 'ctx', new Uint8Array(), { metadata: { trace: 't-1' }, timeoutMs: 1234 });
    expect(seen).toEqual({ functionName: 'ctx', metadata: { trace: 't-1' }, timeoutMs: 1234, instance: 'inst-7' });
    const pending = code(invoke(client, 'wait', new Uint8Array()));
    await until(() => client.stats().messagesOut === 2, 'request sent');
    await client.close();
    expect(await pending).toBe('ChannelClosed');
    await until(() => aborted, 'handler signal aborted');
  });

  it('stops serving when serve() is undone: requests go to receive() again', async () => {
    const { client, server } = await pair();
    const stop = serve(server, { echo: (i) => i });
    expect(await invoke(client, 'echo', Buffer.from('x'))).toEqual(new Uint8Array(Buffer.from('x')));
    stop();
    const pending = invoke(client, 'echo', Buffer.from('y'), { timeoutMs: 5000 });
    const got = await server.receive();
    expect(got).toMatchObject({ type: 'ExecutionRequest', functionName: 'echo' });
    await client.close();
    await expect(pending).rejects.toMatchObject({ code: 'ChannelClosed' });
  });
});

describe('listener: limits and bad input', () => {
  it("refuses a send over the peer's frame limit locally with FrameTooLarge, keeping the channel", async () => {
    const { client } = await pair({ maxFrameSize: 1024, handlers: { echo: (i) => i } });
    await expect(invoke(client, 'echo', new Uint8Array(2000))).rejects.toMatchObject({ code: 'FrameTooLarge' });
    expect(client.isConnected()).toBe(true);
    expect(await invoke(client, 'echo', new Uint8Array(100))).toHaveLength(100);
  });

  it('closes a connection that sends garbage or nothing, and keeps serving others', async () => {
    k = await createKernel();
    const rejected: string[] = [];
    const listener = await k.listen('memory://guarded', { authTimeoutMs: 100, handlers: { ok: () => Buffer.from('ok') } });
    listener.on('rejected', (e) => rejected.push(e.code));
    const memory = k.transport('memory');
    const opts = { maxFrameSize: 1 << 20, timeoutMs: 1000 };
    const closed = (conn: FrameConnection) =>
      new Promise<Error | undefined>((resolve) => conn.start({ onFrame: () => {}, onClose: resolve }));

    const garbage = await memory.connect(new URL(listener.url), opts);
    const garbageClosed = closed(garbage);
    await garbage.send(new Uint8Array([0xff, 0x00, 0x13, 0x37]));
    await garbageClosed;

    const silent = await memory.connect(new URL(listener.url), opts);
    await closed(silent); // closed by the auth timeout, without ever sending

    expect(rejected).toEqual(['DecodeFailed', 'AuthFailed']);
    expect(listener.connectionCount).toBe(0);
    const client = await k.connect(listener.url);
    expect(Buffer.from(await invoke(client, 'ok', new Uint8Array())).toString()).toBe('ok');
  });

  it('closes a channel whose peer sends an undecodable frame after the handshake', async () => {
    const { client, server } = await pair();
    const errors: string[] = [];
    server.on('error', (e) => errors.push(e.code));
    const closedWith = new Promise<CommunicationError | undefined>((r) => server.on('close', r));
    // Reach under the channel: a frame that is not JSON, after a valid handshake.
    void (client as unknown as { connection: FrameConnection }).connection.send(Buffer.from('{not json'));
    expect((await closedWith)?.code).toBe('DecodeFailed');
    expect(errors).toEqual(['DecodeFailed']);
    await until(() => !client.isConnected(), 'client to see the close');
  });

  it('refuses connections over maxConnections', async () => {
    k = await createKernel();
    const listener = await k.listen('memory://limited', { maxConnections: 2 });
    const refused: string[] = [];
    listener.on('rejected', (e) => refused.push(e.code));
    await k.connect(listener.url);
    await k.connect(listener.url);
    await expect(k.connect(listener.url, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ConnectionRefused' });
    expect(refused).toEqual(['ConnectionRefused']);
  });
});
