// fast-check generators of what a hostile peer sends: frames (payloads) and raw stream bytes.
import fc from 'fast-check';
import { type Codec, type RuntimeMessage } from 'spear-comm';
import { encodeFrameHeader } from 'spear-comm/transport-kit';
import { authRequest } from './raw-peer.js';

export const FUZZ_SECRET = 'fuzz-secret-0123456789';

const HANDSHAKE_FIELDS = [
  'type',
  'requestId',
  'timestamp',
  'metadata',
  'instanceId',
  'token',
  'clientVersion',
  'clientType',
  'codec',
  'extraParams',
] as const;

/** Names that reach for a prototype instead of a served function. */
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

/** Texts that are nearly a handshake, or exploit JSON parsers. */
const CRAFTED_TEXTS = [
  '{"__proto__":{"type":"AuthRequest","success":true},"type":"AuthRequest"}',
  '{"type":"AuthRequest","constructor":{"prototype":{"polluted":true}}}',
  `{"type":"AuthRequest","requestId":"1","timestamp":0,"metadata":{"__proto__":"x"},"instanceId":"a","token":"${FUZZ_SECRET}","clientVersion":"1","clientType":"process","codec":"json","extraParams":{}}`,
  '{"type":"AuthRequest","timestamp":1e999}',
  '[{"type":"AuthRequest"}]',
  '"AuthRequest"',
  'null',
  '{"type":"AuthResponse","success":true,"sessionId":"x","requestId":"1","timestamp":0,"metadata":{}}',
  '\uFEFF{"type":"AuthRequest"}',
  '{"type":"AuthRequest",'.repeat(200),
].map(utf8);

/** An AuthRequest with fields removed, replaced by any JSON value, or made up, as a JSON payload. */
export const hostileHandshake: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...HANDSHAKE_FIELDS), { maxLength: 4 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...HANDSHAKE_FIELDS), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 2 }), {
        maxKeys: 3,
      }),
      fc.constantFrom(FUZZ_SECRET, '', 'wrong'),
    )
    .map(([removed, replaced, token]) => {
      const request = authRequest({ token, instanceId: 'fuzz' });
      for (const field of removed) delete request[field];
      return utf8(JSON.stringify(Object.assign(request, replaced)));
    }),
  fc.json({ maxDepth: 3 }).map(utf8),
  fc.string({ maxLength: 64 }).map(utf8),
  fc.constantFrom(...CRAFTED_TEXTS),
);

/** A handshake that the fuzz listener accepts, for the codec given. */
export function validHandshake(codec: string): Uint8Array {
  return utf8(JSON.stringify(authRequest({ token: FUZZ_SECRET, codec, instanceId: 'fuzz' })));
}

const metadata = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor')),
  fc.string({ maxLength: 16 }),
  { maxKeys: 3 },
);
const requestId = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', '__proto__', '0'));
const anyNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Well-formed messages with hostile contents: prototype names, wild numbers, answers to nothing, a second handshake. */
export const hostileMessage: fc.Arbitrary<RuntimeMessage> = fc.oneof(
  fc.record({
    type: fc.constant('ExecutionRequest' as const),
    requestId,
    timestamp: anyNumber,
    metadata,
    functionName: fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, 'echo'), fc.string({ maxLength: 16 })),
    input: fc.uint8Array({ maxLength: 64 }),
    timeoutMs: anyNumber,
  }),
  fc.record({
    type: fc.constant('ExecutionResponse' as const),
    requestId,
    timestamp: anyNumber,
    metadata,
    success: fc.boolean(),
    output: fc.uint8Array({ maxLength: 32 }),
    durationMs: anyNumber,
  }),
  fc.record({ type: fc.constant('Heartbeat' as const), requestId, timestamp: anyNumber, metadata, sequence: anyNumber }),
  fc.record({ type: fc.constant('HealthCheck' as const), requestId, timestamp: anyNumber, metadata }),
  fc.record({ type: fc.constant('Ack' as const), requestId, timestamp: anyNumber, metadata }),
  fc.record({
    type: fc.constant('AuthRequest' as const),
    requestId,
    timestamp: anyNumber,
    metadata,
    instanceId: fc.string({ maxLength: 8 }),
    token: fc.string({ maxLength: 8 }),
    clientVersion: fc.string({ maxLength: 4 }),
    clientType: fc.constantFrom('process' as const, 'wasm' as const),
    codec: fc.constantFrom('json', 'cbor'),
    extraParams: fc.constant({}),
  }),
  fc.record({
    type: fc.constant('AuthResponse' as const),
    requestId,
    timestamp: anyNumber,
    metadata,
    success: fc.boolean(),
    sessionId: fc.string({ maxLength: 8 }),
  }),
);

/** A frame payload for a session in `codec`: random bytes, or a hostile message the codec could encode. */
export function hostileCodecFrame(codec: Codec): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 256 }),
    hostileMessage.map((message) => {
      try {
        return codec.encode(message);
      } catch {
        return utf8(JSON.stringify({ ...message, input: undefined, output: undefined }));
      }
    }),
    fc.jsonValue({ maxDepth: 2 }).map((value) => utf8(JSON.stringify(value ?? null))),
  );
}

/** What a peer writes on a stream transport, before it is cut into chunks. */
export interface StreamScript {
  bytes: Uint8Array;
  /** Cut points into `bytes` (taken modulo its length). */
  cuts: number[];
  /** How the peer leaves: a FIN, or a reset. */
  ending: 'end' | 'destroy';
}

/** Puts payloads on the wire; a `declared` length makes that prefix disagree with its payload. */
export function framed(payloads: Array<{ payload: Uint8Array; declared?: number }>): Uint8Array {
  return Buffer.concat(payloads.flatMap(({ payload, declared }) => [encodeFrameHeader(declared ?? payload.byteLength), payload]));
}

const declaredLength = fc.oneof(
  fc.nat({ max: 512 }),
  fc.constantFrom(0, 0xffff_ffff, 0x7fff_ffff, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1),
  fc.nat(),
);

function script(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<StreamScript> {
  return fc.record({ bytes, cuts: fc.array(fc.nat(), { maxLength: 12 }), ending: fc.constantFrom('end' as const, 'destroy' as const) });
}

/** The fuzz categories for a stream transport, by name. */
export function streamScripts(codecs: Codec[]): Record<string, fc.Arbitrary<StreamScript>> {
  const anyCodecFrame = fc.constantFrom(...codecs).chain((codec) => hostileCodecFrame(codec));
  return {
    'random bytes': script(fc.uint8Array({ maxLength: 600 })),
    'random frame lengths': script(
      fc
        .array(fc.record({ payload: fc.uint8Array({ maxLength: 200 }), declared: fc.option(declaredLength, { nil: undefined }) }), {
          maxLength: 5,
        })
        .map((frames) =>
          framed(frames.map((f) => (f.declared === undefined ? { payload: f.payload } : { payload: f.payload, declared: f.declared }))),
        ),
    ),
    'hostile handshakes': script(
      fc.array(hostileHandshake, { minLength: 1, maxLength: 3 }).map((payloads) => framed(payloads.map((payload) => ({ payload })))),
    ),
    'valid handshake, then hostile frames': script(
      fc
        .constantFrom(...codecs)
        .chain((codec) =>
          fc
            .array(hostileCodecFrame(codec), { maxLength: 8 })
            .map((frames) => framed([validHandshake(codec.name), ...frames].map((payload) => ({ payload })))),
        ),
    ),
    'any frames in any order': script(
      fc
        .array(fc.oneof(fc.constantFrom(...codecs.map((c) => validHandshake(c.name))), hostileHandshake, anyCodecFrame), { maxLength: 6 })
        .map((payloads) => framed(payloads.map((payload) => ({ payload })))),
    ),
  };
}

/** Cuts `bytes` at `cuts` (modulo its length), each chunk its own buffer as a socket delivers them. */
export function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.byteLength]) {
    if (point > from) chunks.push(bytes.slice(from, point));
    from = Math.max(from, point);
  }
  return chunks;
}
