// Fuzzes the websocket and grpc listeners: raw `ws` clients sending random binary and text
// messages, and raw grpc calls writing random bytes as the Frame message itself (malformed
// protobuf included) or well-formed Frames with hostile handshakes and codec frames, in any
// order. Throughout, an honest client keeps getting correct answers; afterwards only its
// connection is left.
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import WebSocket from 'ws';
import type { Codec, Listener } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { testBed } from '../support/test-bed.js';
import { collectUncaughtExceptions, fuzzListener } from './fuzz-checks.js';
import { FUZZ_SECRET, hostileCodecFrame, hostileHandshake, validHandshake } from './hostile-input.js';
import { pause } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

/** Runs per category per transport; 4 categories x 2 transports. */
const RUNS = 50;
const uncaught = collectUncaughtExceptions();
const codecs = () => bed.kernel.codecs().map((name) => bed.kernel.codec(name));

/** One message as a peer sends it: its bytes, and for websocket whether it goes as text. */
interface Message {
  payload: Uint8Array;
  text: boolean;
}
interface Script {
  messages: Message[];
  /** Leave politely (close / end the call) or abruptly (terminate / cancel). */
  abrupt: boolean;
  /** grpc: write the payloads as the Frame message itself instead of inside one (malformed protobuf). */
  raw: boolean;
}

function scripts(codecs: Codec[]): Record<string, fc.Arbitrary<Script>> {
  const message = (payload: fc.Arbitrary<Uint8Array>) => fc.record({ payload, text: fc.nat({ max: 4 }).map((n) => n === 0) });
  const script = (messages: fc.Arbitrary<Message[]>, raw: fc.Arbitrary<boolean> = fc.constant(false)) =>
    fc.record({ messages, abrupt: fc.boolean(), raw });
  const anyCodecFrame = fc.constantFrom(...codecs).chain((codec) => hostileCodecFrame(codec));
  return {
    'random bytes': script(fc.array(message(fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 4 }), fc.boolean()),
    'hostile handshakes': script(fc.array(message(hostileHandshake), { minLength: 1, maxLength: 3 })),
    'valid handshake, then hostile frames': script(
      fc
        .constantFrom(...codecs)
        .chain((codec) =>
          fc
            .array(hostileCodecFrame(codec), { maxLength: 6 })
            .map((frames) => [validHandshake(codec.name), ...frames].map((payload) => ({ payload, text: false }))),
        ),
    ),
    'any frames in any order': script(
      fc.array(message(fc.oneof(fc.constantFrom(...codecs.map((c) => validHandshake(c.name))), hostileHandshake, anyCodecFrame)), {
        maxLength: 6,
      }),
    ),
  };
}

/** Waits for `done`, failing the case if the listener keeps the connection open. */
async function settledWithin(done: Promise<unknown>, what: string): Promise<void> {
  const outcome = await Promise.race([done.then(() => 'done'), pause(10_000).then(() => 'open')]);
  if (outcome !== 'done') throw new Error(`the listener kept ${what} open after its peer left`);
}

async function playWebSocket(listener: Listener, { messages, abrupt }: Script): Promise<void> {
  const socket = new WebSocket(listener.url);
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const opened = await Promise.race([new Promise((resolve) => socket.once('open', () => resolve(true))), closed.then(() => false)]);
  if (opened) {
    for (const { payload, text } of messages) {
      if (socket.readyState !== WebSocket.OPEN) break;
      socket.send(text ? Buffer.from(payload).toString('latin1') : payload, { binary: !text });
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (abrupt) socket.terminate();
    else socket.close();
  }
  await settledWithin(closed, 'a websocket');
}

/** A `spear.v1.Frame { bytes data = 1; }` encoded by hand, so that the fuzzer can also send bytes that are not one. */
function frameMessage(data: Uint8Array): Buffer {
  const length: number[] = [];
  let n = data.byteLength;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...length]), data]);
}

async function playGrpc(client: Client, { messages, abrupt, raw }: Script): Promise<void> {
  const call: ClientDuplexStream<Buffer, Buffer> = client.makeBidiStreamRequest(
    '/spear.v1.SpearTransport/Connect',
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  call.on('data', () => {});
  call.on('error', () => {});
  const ended = new Promise((resolve) => call.on('status', resolve));
  for (const { payload } of messages) {
    if (call.destroyed || call.writableEnded) break;
    // Mostly well-formed Frames; with `raw`, the payload itself goes as the message (malformed protobuf).
    call.write(raw ? Buffer.from(payload) : frameMessage(payload));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (abrupt) call.cancel();
  else call.end();
  await settledWithin(ended, 'a grpc call');
}

describe('fuzzing the message listeners', () => {
  it('websocket: survives every category, keeps serving an honest client, and leaves no connection open', async () => {
    const listener = await bed.kernel.listen('ws://127.0.0.1:0/spear', {
      secret: FUZZ_SECRET,
      handlers: { echo: (input) => input },
      authTimeoutMs: 2_000,
      maxFrameSize: 64 * 1024,
    });
    bed.defer(() => listener.close());
    await fuzzListener(bed.kernel, listener, FUZZ_SECRET, scripts(codecs()), RUNS, (script) => playWebSocket(listener, script), uncaught);
  });

  it('grpc: survives every category, raw non-Frame messages included, keeps serving an honest client, and leaves no call open', async () => {
    const listener = await bed.kernel.listen('grpc://127.0.0.1:0', {
      secret: FUZZ_SECRET,
      handlers: { echo: (input) => input },
      authTimeoutMs: 2_000,
      maxFrameSize: 64 * 1024,
    });
    bed.defer(() => listener.close());
    const client = new Client(new URL(listener.url).host, credentials.createInsecure());
    bed.defer(() => client.close());
    await fuzzListener(bed.kernel, listener, FUZZ_SECRET, scripts(codecs()), RUNS, (script) => playGrpc(client, script), uncaught);
  });
});
