import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuntimeMessage } from 'spear-comm';
import { messageFields, wellFormed, wellFormedMap, type FieldWriters } from 'spear-comm/codec-kit';
import { anyMessage } from '../test-support/arbitraries.js';
import { readFixture } from '../test-support/codecs.js';
import { GOLDEN_MESSAGES } from '../test-support/golden-messages.js';
import { checkCbor } from './check-cbor.js';
import { decodeFast } from './fast-decode.js';
import { encodeFast } from './fast-encode.js';
import { CborCodec } from './index.js';

const careful = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  int64AsNumber: true,
} as never);
const plain = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true, tagUint8Array: false });
const codec = new CborCodec();

/** What the careful path (the strict pre-check, then cbor-x) makes of the bytes: a value, or 'refused'. */
function carefulValue(bytes: Uint8Array): unknown {
  const input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (checkCbor(input)) return 'proto';
    return careful.decode(input);
  } catch {
    return 'refused';
  }
}

/** Byte strings as base64 with their class (deep-comparing 512 KiB arrays element by element takes seconds). */
function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { [value.constructor.name]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
}

/** The fast path either steps aside or gives exactly the careful path's value (never a value the careful path refuses). */
function agrees(bytes: Uint8Array): boolean {
  const fast = decodeFast(bytes);
  if (fast === undefined) return false;
  const reference = carefulValue(bytes);
  expect(reference).not.toBe('refused');
  expect(comparable(fast)).toStrictEqual(comparable(reference));
  return true;
}

describe('cbor fast decode path', () => {
  it('takes every golden vector and every encoded message (but those with a "__proto__" key), giving what the careful path gives', () => {
    for (const { name } of GOLDEN_MESSAGES) expect(agrees(readFixture(name, 'cbor')), name).toBe(true);
    fc.assert(
      fc.property(anyMessage, (m) => {
        // A "__proto__" key is the one shape it leaves to the careful path, which keeps it as an own property.
        const maps = [m.metadata, ...('extraParams' in m ? [m.extraParams] : [])];
        expect(agrees(codec.encode(m))).toBe(!maps.some((map) => Object.keys(map).includes('__proto__')));
      }),
      { numRuns: 300 },
    );
  });

  it('steps aside or agrees for golden vectors with bytes changed, inserted or removed, and for every truncation', () => {
    const vectors = GOLDEN_MESSAGES.map(({ name }) => readFixture(name, 'cbor'));
    for (const whole of vectors) for (let n = 0; n < whole.length; n++) expect(decodeFast(whole.subarray(0, n))).toBeUndefined();
    fc.assert(
      fc.property(
        fc.constantFrom(...vectors),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'remove')), {
          minLength: 1,
          maxLength: 4,
        }),
        (vector, edits) => {
          const bytes = [...vector];
          for (const [at, byte, how] of edits) {
            const i = at % (bytes.length + 1);
            if (how === 'set') bytes[i % bytes.length] = byte;
            else if (how === 'insert') bytes.splice(i, 0, byte);
            else bytes.splice(i % bytes.length, 1);
          }
          agrees(new Uint8Array(bytes));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('steps aside for what it does not handle: arrays, tags, float32, deep maps, "__proto__" keys, huge integers, bad UTF-8, trailing bytes', () => {
    const base = { type: 'Ack', requestId: 'r', timestamp: 1, metadata: {} };
    const cases: Uint8Array[] = [
      plain.encode({ ...base, extra: [1, 2] }),
      plain.encode({ ...base, metadata: { a: { b: 'c' } } }),
      new Uint8Array([0xa1, 0x61, 0x61, 0xc1, 0x01]), // tag 1
      new Uint8Array([0xa1, 0x61, 0x61, 0xfa, 0x3f, 0x80, 0, 0]), // float32
      new Uint8Array([0xa1, 0x61, 0x61, 0xf9, 0x3c, 0x00]), // float16
      new Uint8Array([0xa1, 0x69, ...Buffer.from('__proto__'), 0x01]),
      new Uint8Array([0xa1, 0x61, 0x61, 0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0]), // 2^53
      new Uint8Array([0xa1, 0x61, 0x61, 0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // -(2^53)
      new Uint8Array([0xa1, 0x61, 0x61, 0x62, 0xc3, 0x28]), // invalid UTF-8
      new Uint8Array([0xa1, 0x64, 0xf4, ...Buffer.from('ype'), 0x01]), // "type" with the first byte's high bit set: invalid UTF-8, not the key
      new Uint8Array([0xa1, 0x61, 0x61, 0x01, 0x00]), // trailing byte
      new Uint8Array([0xbf, 0x61, 0x61, 0x01, 0xff]), // indefinite map
      new Uint8Array([0xa1, 0x01, 0x01]), // integer key
      new Uint8Array([0xf6]), // not a map
    ];
    for (const bytes of cases) expect(decodeFast(bytes), Buffer.from(bytes).toString('hex')).toBeUndefined();
    // What it does take, with longer-than-needed heads: the same value as the careful path.
    expect(agrees(new Uint8Array([0xb8, 0x01, 0x78, 0x01, 0x61, 0x1a, 0x00, 0x00, 0x00, 0x05]))).toBe(true);
    expect(agrees(new Uint8Array([0xa1, 0x61, 0x61, 0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]))).toBe(true);
  });
});

/** The cbor-x encoding the codec used before its fast path (and still uses for fields of unexpected types). */
const cborX = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  largeBigIntToFloat: false,
});
const int = (n: number): number | bigint => (Number.isSafeInteger(n) && (n > 0xffff_ffff || n < -0x1_0000_0000) ? BigInt(n) : n);
const WRITERS: FieldWriters = { string: wellFormed, number: int, bytes: (b) => b, map: wellFormedMap };
const viaCborX = (m: RuntimeMessage): string => Buffer.from(cborX.encode(messageFields(m, WRITERS))).toString('hex');
const viaFast = (m: RuntimeMessage): string => Buffer.from(encodeFast(m)!).toString('hex');

describe('cbor fast encode path', () => {
  it('writes byte for byte what cbor-x writes, for any message (stream kinds included)', () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        expect(viaFast(m)).toBe(viaCborX(m));
      }),
      { numRuns: 300 },
    );
  });

  it('writes numbers at every integer boundary, fractions, NaN, ±Infinity, -0 and lone surrogates as cbor-x does', () => {
    const numbers = [
      0,
      -0,
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53 - 1,
      2 ** 53,
      1e20,
      -1,
      -24,
      -25,
      -256,
      -257,
      -65536,
      -65537,
      -(2 ** 31),
      -(2 ** 31) - 1,
      -(2 ** 32),
      -(2 ** 32) - 1,
      -(2 ** 53) + 1,
      0.5,
      -1.25,
      NaN,
      Infinity,
      -Infinity,
    ];
    for (const n of numbers) {
      const m: RuntimeMessage = { type: 'Heartbeat', requestId: 'r\ud800x', timestamp: n, metadata: { 'k\udc00': 'v\ud83d' }, sequence: n };
      expect(viaFast(m), String(n)).toBe(viaCborX(m));
    }
  });

  it('steps aside for a field of an unexpected type, and never hands out a frame a later encode overwrites', () => {
    const bad = { type: 'Ack', requestId: 7, timestamp: 1, metadata: {} } as unknown as RuntimeMessage;
    expect(encodeFast(bad)).toBeUndefined();
    expect(encodeFast({ type: 'Ack', requestId: 'r', timestamp: 1, metadata: { a: 1 as unknown as string } })).toBeUndefined();
    const frames = Array.from({ length: 2000 }, (_, i) =>
      encodeFast({ type: 'Heartbeat', requestId: `r${i}`, timestamp: i, metadata: {}, sequence: i })!,
    );
    const copies = frames.map((f) => Buffer.from(f).toString('hex'));
    frames.forEach((f, i) => expect(Buffer.from(f).toString('hex')).toBe(copies[i]));
    expect(
      frames
        .map(
          (f, i) =>
            Buffer.from(f).toString('hex') === viaCborX({ type: 'Heartbeat', requestId: `r${i}`, timestamp: i, metadata: {}, sequence: i }),
        )
        .every(Boolean),
    ).toBe(true);
  });
});
