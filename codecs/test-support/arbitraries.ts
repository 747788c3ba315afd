import fc from 'fast-check';
import { MESSAGE_TYPES, RUNTIME_TYPES, type MessageType, type RuntimeMessage } from 'spear-comm';

/** Any Unicode text: UTF-16 units, full code points, grapheme clusters (never a lone surrogate). */
const text = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

/** Now and then a long string (up to ~20 k characters), made cheaply from a repeated piece. */
const anyString = fc.oneof(
  { weight: 20, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc
      .tuple(text, fc.integer({ min: 1_000, max: 20_000 }))
      .map(([piece, n]) => (piece || 'ü😀').repeat(Math.ceil(n / Math.max(1, piece.length)))),
  },
);

/** Keys that trip up careless object handling, among ordinary ones. */
const key = fc.oneof(
  { weight: 10, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '0', '-1') },
);

/** Builds the map with own properties (a plain assignment to "__proto__" would not create the key). */
function toMap(entries: Array<[string, string]>): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [k, v] of entries) Object.defineProperty(map, k, { value: v, enumerable: true, writable: true, configurable: true });
  return map;
}

const stringMap = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(key, text), { maxLength: 8 }).map(toMap) },
  { weight: 3, arbitrary: fc.constant({}) },
  // Large metadata: hundreds to a few thousand entries.
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 200, max: 2_000 })
      .chain((n) => fc.tuple(fc.constant(n), text))
      .map(([n, prefix]) => toMap(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `${i}-${prefix}`]))),
  },
);

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed) & 0xff;
  return out;
}

/** Empty, small, and now and then large (64 KiB to 512 KiB) byte arrays. */
const bytes = fc.oneof(
  { weight: 3, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 12, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 65_536, max: 512 * 1024 }), fc.nat(255)).map(([n, seed]) => pattern(n, seed)),
  },
);

/** Any finite number (json has no NaN or ±Infinity, and messages refuse them). */
const finite = fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const nonNegative = fc.oneof(fc.maxSafeNat(), fc.nat(), fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }));

const envelope = { requestId: anyString, timestamp: finite, metadata: stringMap };

const KINDS: { [K in MessageType]: fc.Arbitrary<Extract<RuntimeMessage, { type: K }>> } = {
  ExecutionRequest: fc.record({
    type: fc.constant('ExecutionRequest'),
    ...envelope,
    functionName: anyString,
    input: bytes,
    timeoutMs: nonNegative,
  }),
  ExecutionResponse: fc.record(
    {
      type: fc.constant('ExecutionResponse'),
      ...envelope,
      success: fc.boolean(),
      output: bytes,
      error: fc.record({ code: anyString, message: anyString }),
      durationMs: nonNegative,
    },
    { requiredKeys: ['type', 'requestId', 'timestamp', 'metadata', 'success', 'output', 'durationMs'] },
  ),
  HealthCheck: fc.record(
    { type: fc.constant('HealthCheck'), ...envelope, status: anyString },
    { requiredKeys: ['type', 'requestId', 'timestamp', 'metadata'] },
  ),
  Ack: fc.record({ type: fc.constant('Ack'), ...envelope }),
  Heartbeat: fc.record({ type: fc.constant('Heartbeat'), ...envelope, sequence: fc.oneof(fc.nat(), fc.maxSafeNat()) }),
  AuthRequest: fc.record({
    type: fc.constant('AuthRequest'),
    ...envelope,
    instanceId: anyString,
    token: anyString,
    clientVersion: anyString,
    clientType: fc.constantFrom(...RUNTIME_TYPES),
    codec: anyString,
    extraParams: stringMap,
  }),
  AuthResponse: fc.record(
    { type: fc.constant('AuthResponse'), ...envelope, success: fc.boolean(), sessionId: anyString, errorMessage: anyString },
    { requiredKeys: ['type', 'requestId', 'timestamp', 'metadata', 'success', 'sessionId'] },
  ),
  StreamOpen: fc.record({
    type: fc.constant('StreamOpen'),
    ...envelope,
    functionName: anyString,
    timeoutMs: nonNegative,
    credit: fc.oneof(fc.nat(), fc.maxSafeNat()),
  }),
  StreamChunk: fc.record({ type: fc.constant('StreamChunk'), ...envelope, data: bytes }),
  StreamCredit: fc.record({ type: fc.constant('StreamCredit'), ...envelope, credit: fc.oneof(fc.nat(), fc.maxSafeNat()) }),
  StreamEnd: fc.record(
    { type: fc.constant('StreamEnd'), ...envelope, error: fc.record({ code: anyString, message: anyString }) },
    { requiredKeys: ['type', 'requestId', 'timestamp', 'metadata'] },
  ),
  StreamCancel: fc.record(
    { type: fc.constant('StreamCancel'), ...envelope, reason: anyString },
    { requiredKeys: ['type', 'requestId', 'timestamp', 'metadata'] },
  ),
};

/** Arbitrary valid messages of one kind. */
export function messageOf<K extends MessageType>(type: K): fc.Arbitrary<Extract<RuntimeMessage, { type: K }>> {
  return KINDS[type];
}

export const anyMessage: fc.Arbitrary<RuntimeMessage> = fc.oneof(
  ...MESSAGE_TYPES.map((type) => KINDS[type] as fc.Arbitrary<RuntimeMessage>),
);
