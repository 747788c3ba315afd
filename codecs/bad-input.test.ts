import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, validateMessage, type Codec, type RuntimeMessage } from 'spear-comm';
import { CODECS, fromHex, readFixture } from './test-support/codecs.js';
import { GOLDEN_MESSAGES } from './test-support/golden-messages.js';

/** Decodes, and fails the test unless the result is a valid message or a DecodeFailed with a message. */
function outcome(codec: Codec, bytes: Uint8Array): 'message' | 'DecodeFailed' {
  let message: RuntimeMessage;
  try {
    message = codec.decode(bytes);
  } catch (err) {
    if (!CommunicationError.is(err, ErrorCode.DecodeFailed))
      throw new Error(`${codec.name} threw something other than DecodeFailed: ${String(err)}`, { cause: err });
    expect(err.message.length).toBeGreaterThan(20);
    return 'DecodeFailed';
  }
  expect(() => validateMessage(message, { bytes: (v) => v as Uint8Array })).not.toThrow();
  return 'message';
}

function decodeError(codec: Codec, bytes: Uint8Array): CommunicationError {
  try {
    codec.decode(bytes);
  } catch (err) {
    if (CommunicationError.is(err, ErrorCode.DecodeFailed)) return err;
    throw new Error(`${codec.name} threw something other than DecodeFailed: ${String(err)}`, { cause: err });
  }
  throw new Error(`${codec.name} decoded bytes it should have refused`);
}

const codec = (name: string): Codec => CODECS.find((c) => c.name === name)!;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const hex = (text: string): Uint8Array => fromHex(text);
/** A plain CBOR writer, for maps a spear-comm encoder would never write. */
const rawCbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true, tagUint8Array: false });
const cbor = (value: unknown): Uint8Array => new Uint8Array(rawCbor.encode(value));
const ack = { type: 'Ack', requestId: 'r', timestamp: 1, metadata: {} };

describe.each(CODECS)('$name codec on bad input', (c) => {
  it('refuses every truncation of every golden vector with DecodeFailed', () => {
    for (const { name } of GOLDEN_MESSAGES) {
      const whole = readFixture(name, c.name);
      for (let length = 0; length < whole.length; length++) {
        expect(outcome(c, whole.subarray(0, length)), `${name} cut to ${length} of ${whole.length} bytes`).toBe('DecodeFailed');
      }
    }
  });

  it('gives a valid message or DecodeFailed for random bytes, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void outcome(c, bytes)),
      { numRuns: 1_000 },
    );
  });

  it('gives a valid message or DecodeFailed for golden vectors with bytes changed, inserted or removed', () => {
    const vectors = GOLDEN_MESSAGES.map(({ name }) => readFixture(name, c.name));
    const mutated = fc
      .tuple(fc.constantFrom(...vectors), fc.nat(), fc.nat(255), fc.constantFrom('set', 'insert', 'remove'))
      .map(([bytes, at, value, how]) => {
        const i = at % bytes.length;
        const out = Array.from(bytes);
        if (how === 'set') out[i] = value;
        else if (how === 'insert') out.splice(i, 0, value);
        else out.splice(i, 1);
        return Uint8Array.from(out);
      });
    fc.assert(
      fc.property(mutated, (bytes) => void outcome(c, bytes)),
      { numRuns: 1_000 },
    );
  });
});

/** [what, input, what the error message must say] */
type Hostile = [string, Uint8Array, RegExp];

const HOSTILE: Record<string, Hostile[]> = {
  json: [
    ['empty frame', new Uint8Array(0), /not UTF-8 JSON/],
    ['invalid UTF-8', hex('7b22ff227d'), /not UTF-8 JSON/],
    ['a million open brackets', utf8('['.repeat(1_000_000)), /not UTF-8 JSON/],
    ['deeply nested, balanced', utf8(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), /DecodeFailed|not UTF-8 JSON|expected an object/],
    [
      'a number instead of a string',
      utf8('{"type":"Ack","requestId":5,"timestamp":1,"metadata":{}}'),
      /"requestId" must be a string, got number/,
    ],
    [
      'bytes that are not base64',
      utf8('{"type":"ExecutionRequest","requestId":"r","timestamp":1,"metadata":{},"functionName":"f","input":"@@@@","timeoutMs":0}'),
      /"input" must be a standard base64 string/,
    ],
    [
      'a timestamp too large for a double',
      utf8('{"type":"Ack","requestId":"r","timestamp":1e400,"metadata":{}}'),
      /"timestamp" must be a finite number/,
    ],
    [
      'a metadata value that is not a string',
      utf8('{"type":"Ack","requestId":"r","timestamp":1,"metadata":{"a":1}}'),
      /"metadata.a" must be a string/,
    ],
    ['an unknown kind', utf8('{"type":"Nope","requestId":"r","timestamp":1,"metadata":{}}'), /unknown message type "Nope"/],
  ],
  cbor: [
    ['empty frame', new Uint8Array(0), /empty frame/],
    ['a byte string declaring 4 GiB', hex('5b000000010000000000'), /byte string declares 4294967296 bytes but only 1 byte remain/],
    ['a text string declaring 4 GiB - 1', hex('7affffffff41'), /text string declares 4294967295 bytes but only 1 byte remain/],
    ['an array declaring 2^32 - 1 items', hex('9affffffff00'), /array declares 4294967295 entries/],
    ['a map declaring 2^32 - 1 entries', hex('baffffffff6161'), /map declares 4294967295 entries/],
    ['a count past 2^53', hex('9bffffffffffffffff00'), /array declares \d+ entries/],
    ['100 000 nested arrays', hex(`${'81'.repeat(100_000)}00`), /nested more than 16 deep/],
    ['100 000 nested maps', hex(`${'a16161'.repeat(100_000)}00`), /nested more than 16 deep/],
    ['a cbor-x record (tag 0xdfff)', hex('d9dfff8200a0'), /tag 57343; spear-comm messages use no CBOR tags/],
    ['a typed array (tag 64)', hex('d84043010203'), /tag 64;/],
    ['a shared reference (tag 29)', hex('d81d00'), /tag 29;/],
    ['a date (tag 1)', hex('c11a514b67b0'), /tag 1;/],
    ['an indefinite-length map', hex('bf61616162ff'), /indefinite-length map/],
    ['an indefinite-length byte string', hex('5f4101ff'), /indefinite-length byte string/],
    ['a lone break code', hex('ff'), /break code 0xff/],
    ['an integer map key', hex('a10102'), /map key of major type 0/],
    ['a byte-string map key', hex('a1410102'), /map key of major type 2/],
    ['invalid UTF-8 text', hex('a1616162ff41'), /text string is not valid UTF-8/],
    ['an unassigned simple value', hex('f820'), /simple value 32/],
    ['reserved additional information', hex('1c'), /reserved additional information 28/],
    ['bytes after the message', hex(`${'a0'}00`), /1 byte follow the end of the message/],
    ['a number instead of a string', cbor({ ...ack, requestId: 5 }), /"requestId" must be a string, got number/],
    [
      'text instead of bytes',
      cbor({ type: 'ExecutionRequest', requestId: 'r', timestamp: 1, metadata: {}, functionName: 'f', input: 'hi', timeoutMs: 0 }),
      /"input" must be a CBOR byte string \(major type 2\), got string/,
    ],
    ['a timestamp of 2^53', cbor({ ...ack, timestamp: 2n ** 53n }), /integer 9007199254740992 is beyond ±\(2\^53-1\)/],
    ['a timestamp of -(2^53 + 1)', cbor({ ...ack, timestamp: -(2n ** 53n) - 1n }), /integer -9007199254740993 is beyond ±\(2\^53-1\)/],
    ['the largest 64-bit integer', cbor({ ...ack, timestamp: 2n ** 64n - 1n }), /integer 18446744073709551615 is beyond/],
    ['a metadata value that is not a string', cbor({ ...ack, metadata: { a: 1 } }), /"metadata.a" must be a string, got number/],
    [
      'an unknown runtime type',
      cbor({
        ...ack,
        type: 'AuthRequest',
        instanceId: 'i',
        token: '',
        clientVersion: '1',
        clientType: 'browser',
        codec: 'cbor',
        extraParams: {},
      }),
      /"clientType" must be one of process, kubernetes, wasm/,
    ],
  ],
  protobuf: [
    ['empty frame', new Uint8Array(0), /no message kind is set/],
    ['a string declaring 4 GiB - 1', hex('0affffffff0f41'), /not a spear.v1.RuntimeMessage/],
    ['a kind declaring 2^28 bytes', hex('5280808080016a00'), /not a spear.v1.RuntimeMessage/],
    ['100 000 nested groups', hex('a301'.repeat(100_000)), /max depth exceeded/],
    ['a varint of 11 bytes', hex(`720c08${'ff'.repeat(10)}01`), /not a spear.v1.RuntimeMessage \(invalid varint encoding\)/],
    ['wire type 7', hex('0f'), /invalid wire type 7/],
    ['field number 0', hex('0000'), /illegal tag/],
    ['invalid UTF-8', hex('0a02ff416a00'), /not a spear.v1.RuntimeMessage/],
    ['invalid UTF-8 in a map key', hex('1a060a02ff4112006a00'), /not a spear.v1.RuntimeMessage/],
    ['only an unknown field', hex('9a0600'), /no message kind is set/],
    ['the kind as a varint', hex('5001'), /no message kind is set/],
    ['a sequence past 2^53', hex('720a08ffffffffffffffff7f'), /"sequence" is over 2\^53-1/],
    [
      'an unknown runtime type',
      codec('protobuf').encode({
        type: 'AuthRequest',
        requestId: 'r',
        timestamp: 1,
        metadata: {},
        instanceId: 'i',
        token: '',
        clientVersion: '1',
        clientType: 'browser' as 'process',
        codec: 'cbor',
        extraParams: {},
      }),
      /"clientType" must be one of/,
    ],
    [
      'a negative timeout',
      codec('protobuf').encode({
        type: 'ExecutionRequest',
        requestId: 'r',
        timestamp: 1,
        metadata: {},
        functionName: 'f',
        input: new Uint8Array(0),
        timeoutMs: -1,
      }),
      /"timeoutMs" must be >= 0, got -1/,
    ],
    ['NaN', hex('110000000000f8ff7f6a00'), /"timestamp" must be a finite number/],
  ],
};

describe.each(CODECS)('$name codec on hostile input', (c) => {
  it.each(HOSTILE[c.name]!)('%s: DecodeFailed saying what is wrong', (_what, bytes, pattern) => {
    expect(decodeError(c, bytes).message).toMatch(pattern);
  });

  it('allocates nothing near what a hostile input declares', () => {
    const declaring = HOSTILE[c.name]!.filter(([what]) => /declaring|past 2\^53|nested/.test(what));
    const before = process.memoryUsage().arrayBuffers;
    for (const [, bytes] of declaring) decodeError(c, bytes);
    // A decoder that believed any one of these lengths would hold gigabytes here.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });
});
