import {
  type CommunicationError,
  decodeHandshake,
  encodeHandshake,
  ErrorCode,
  invoke,
  Messages,
  type CommunicationChannel,
  type Listener,
} from 'spear-comm';
import { check, checkNearLimit, expectRejection, fail, show, within } from '../assert.js';
import { pattern } from '../bytes.js';
import type { RawEnd } from '../collector.js';
import type { CaseContext } from '../context.js';
import type { ConformanceCase } from '../case.js';
import { sendAll } from './frames.js';

const AUTH_TIMEOUT_MS = 200;

/** A listener serving `ping`, recording the connections it turned away. */
async function guardedListener(
  ctx: CaseContext,
  options: { authTimeoutMs?: number; maxFrameSize?: number } = {},
): Promise<{ listener: Listener; rejected: CommunicationError[] }> {
  const rejected: CommunicationError[] = [];
  const listener = await ctx.listen({ handlers: { ping: (input) => input }, ...options });
  listener.on('rejected', (error) => rejected.push(error));
  return { listener, rejected };
}

/** A well-behaved client must still be served. */
async function stillServes(ctx: CaseContext, url: string, what: string, client?: CommunicationChannel): Promise<void> {
  try {
    const channel =
      client ?? (await within(ctx.connect(url, { timeoutMs: ctx.waitMs }), ctx.waitMs + 500, `a good client to connect ${what}`));
    const echoed = await invoke(channel, 'ping', new Uint8Array([7, 7]), { timeoutMs: ctx.waitMs });
    check(echoed.length === 2 && echoed[0] === 7, 'it got a wrong answer');
  } catch (err) {
    fail(
      `a good client ${what} was not served (${err instanceof Error ? err.message : String(err)}); the listener must keep serving everyone else`,
    );
  }
}

/** Waits until the listener closes the raw connection; answers it may send first (a refusal) are allowed. */
async function closedByServer(end: RawEnd, what: string, ms: number): Promise<void> {
  await end.sink.waitClose(ms, `the listener to close the connection that sent ${what}`);
}

const GARBAGE: Array<{ what: string; frame: () => Uint8Array; codes: string[] }> = [
  { what: 'bytes that are not UTF-8', frame: () => new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28]), codes: [ErrorCode.DecodeFailed] },
  {
    what: 'text that is not JSON',
    frame: () => new Uint8Array(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
    codes: [ErrorCode.DecodeFailed],
  },
  { what: 'an empty frame', frame: () => new Uint8Array(0), codes: [ErrorCode.DecodeFailed] },
  {
    what: 'a JSON message that is not an AuthRequest',
    frame: () => new Uint8Array(Buffer.from(JSON.stringify({ ...Messages.heartbeat({ sequence: 1 }) }))),
    codes: [ErrorCode.DecodeFailed],
  },
  {
    what: 'a JSON AuthRequest with fields missing',
    frame: () => new Uint8Array(Buffer.from('{"type":"AuthRequest","token":"x"}')),
    codes: [ErrorCode.DecodeFailed],
  },
];

export const badInputCases: ConformanceCase[] = [
  {
    category: 'bad-input',
    name: 'garbage instead of a handshake closes that connection; the listener keeps serving',
    async run(ctx) {
      const { listener, rejected } = await guardedListener(ctx);
      const early = await ctx.connect(listener.url);
      for (const [i, garbage] of GARBAGE.entries()) {
        const bad = await ctx.rawConnect(listener.url, { label: `client sending ${garbage.what}` });
        await sendAll(bad, [garbage.frame()]);
        await closedByServer(bad, garbage.what, ctx.waitMs);
        await stillServes(ctx, listener.url, `after a client sent ${garbage.what}`);
        check(rejected.length >= i + 1, `the listener did not report ${garbage.what} as a 'rejected' connection`);
        const code = rejected[i]!.code;
        check(garbage.codes.includes(code), `${garbage.what} was rejected with ${code}; expected ${garbage.codes.join(' or ')}`);
      }
      await stillServes(ctx, listener.url, 'connected before the garbage', early);
    },
  },
  {
    category: 'bad-input',
    name: "a first frame over the listener's maxFrameSize is refused before the handshake; the listener keeps serving",
    requires: (caps) =>
      caps.maxFrameSize > 70_000 ? undefined : `needs frames over 64 KiB; capabilities.maxFrameSize is ${caps.maxFrameSize}`,
    async run(ctx) {
      const { listener, rejected } = await guardedListener(ctx, { maxFrameSize: 65_536 });
      const bad = await ctx.rawConnect(listener.url, { label: 'client sending an oversized first frame' });
      await bad.connection.send(pattern(70_000, 1)).catch(() => {});
      await closedByServer(bad, 'a 70,000-byte frame to a 64 KiB listener', ctx.waitMs);
      await stillServes(ctx, listener.url, 'after an oversized frame');
      check(
        rejected.some((e) => e.code === ErrorCode.FrameTooLarge),
        `the listener reported ${rejected.map((e) => e.code).join(', ') || 'nothing'}; expected a FrameTooLarge rejection`,
      );
    },
  },
  {
    category: 'bad-input',
    name: 'garbage after a successful handshake closes only that connection',
    async run(ctx) {
      const { listener } = await guardedListener(ctx);
      const bystander = await ctx.connect(listener.url);
      const raw = await ctx.rawConnect(listener.url, { label: 'hand-made client' });
      const hello = Messages.authRequest({
        instanceId: 'raw-client',
        token: ctx.secret,
        clientVersion: 'conformance',
        clientType: 'process',
        codec: ctx.target.codec,
        extraParams: {},
      });
      await raw.connection.send(encodeHandshake(hello));
      const [answer] = await raw.sink.waitFrames(1, ctx.waitMs, 'the AuthResponse to a valid hand-made AuthRequest');
      let response;
      try {
        response = decodeHandshake(answer!, 'AuthResponse');
      } catch (err) {
        fail(`the listener's first frame is not a JSON AuthResponse: ${show(err)}`);
      }
      check(response.success, `the hand-made AuthRequest was refused: ${response.errorMessage}`);
      await raw.connection.send(new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x01])).catch(() => {});
      await closedByServer(raw, 'garbage after its handshake', ctx.waitMs);
      await stillServes(ctx, listener.url, 'connected before the garbage', bystander);
      await stillServes(ctx, listener.url, 'after the garbage');
    },
  },
  {
    category: 'bad-input',
    name: 'a wrong token is refused with AuthFailed; the listener keeps serving',
    async run(ctx) {
      const { listener, rejected } = await guardedListener(ctx);
      await expectRejection(
        ctx.connect(listener.url, { token: `${ctx.secret}-wrong` }),
        ErrorCode.AuthFailed,
        'connect() with a wrong token',
      );
      await expectRejection(ctx.connect(listener.url, { token: '' }), ErrorCode.AuthFailed, 'connect() with an empty token');
      check(
        rejected.filter((e) => e.code === ErrorCode.AuthFailed).length === 2,
        `the listener reported ${rejected.map((e) => e.code).join(', ') || 'nothing'}; expected two AuthFailed rejections`,
      );
      check(!rejected.some((e) => e.message.includes(ctx.secret)), 'a rejection message contains the secret');
      await stillServes(ctx, listener.url, 'after two wrong tokens');
    },
  },
  {
    category: 'bad-input',
    name: 'a client that sends no handshake is closed after the auth timeout; others are served meanwhile',
    async run(ctx) {
      const { listener, rejected } = await guardedListener(ctx, { authTimeoutMs: AUTH_TIMEOUT_MS });
      const started = performance.now();
      const silent = await ctx.rawConnect(listener.url, { label: 'silent client' });
      await stillServes(ctx, listener.url, 'while a silent client is connected');
      await silent.sink.waitClose(AUTH_TIMEOUT_MS + 5_000, 'the listener to close a client that sent no handshake');
      checkNearLimit(performance.now() - started, AUTH_TIMEOUT_MS, 'the silent client was closed', 3_000);
      check(
        rejected.some((e) => e.code === ErrorCode.AuthFailed),
        `the listener reported ${rejected.map((e) => e.code).join(', ') || 'nothing'}; expected an AuthFailed rejection for the auth timeout`,
      );
      await stillServes(ctx, listener.url, 'after the auth timeout');
    },
  },
  {
    category: 'bad-input',
    name: '20 misbehaving clients at once do not disturb 5 good ones',
    async run(ctx) {
      const { listener } = await guardedListener(ctx, { authTimeoutMs: AUTH_TIMEOUT_MS });
      const good = await Promise.all(Array.from({ length: 5 }, () => ctx.connect(listener.url)));
      const bad = await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.rawConnect(listener.url, { label: `bad client #${i}` })));
      await Promise.all([
        ...bad.map(async (b, i) => {
          if (i % 4 !== 3) await b.connection.send(GARBAGE[i % GARBAGE.length]!.frame()).catch(() => {});
          if (i % 4 === 1) await b.connection.close();
          else await closedByServer(b, i % 4 === 3 ? 'nothing' : GARBAGE[i % GARBAGE.length]!.what, AUTH_TIMEOUT_MS + ctx.waitMs);
        }),
        ...good.map(async (g, i) => {
          for (let n = 0; n < 20; n++) await stillServes(ctx, listener.url, `#${i} amid bad clients`, g);
        }),
      ]);
      for (const [i, g] of good.entries()) check(g.isConnected(), `good client #${i} was disconnected`);
      await stillServes(ctx, listener.url, 'after the bad clients');
    },
  },
  {
    category: 'bad-input',
    name: 'a client that does not trust the server certificate is refused; the listener keeps serving',
    requires: (_caps, target) => (target.tls ? undefined : 'the target has no TLS material (ConformanceTarget.tls)'),
    async run(ctx) {
      const { listener } = await guardedListener(ctx);
      await expectRejection(
        ctx.connect(listener.url, { tls: { rejectUnauthorized: true }, timeoutMs: 5_000 }),
        ErrorCode.AuthFailed,
        'connect() without trusting the server certificate',
        8_000,
      );
      await stillServes(ctx, listener.url, 'after a TLS client refused the certificate');
    },
  },
];
