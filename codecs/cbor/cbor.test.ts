import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuntimeMessage } from 'spear-comm';
import { CborCodec } from 'spear-comm/codecs/cbor';
import { JsonCodec } from 'spear-comm/codecs/json';
import { anyMessage } from '../test-support/arbitraries.js';
import { comparable, readFixture, toHex } from '../test-support/codecs.js';
import { GOLDEN_MESSAGES } from '../test-support/golden-messages.js';
import { readStrictCbor } from '../test-support/strict-cbor.js';

const cbor = new CborCodec();

describe('cbor codec writes plain RFC 8949 that any CBOR library reads', () => {
  it.each(GOLDEN_MESSAGES)(
    '$name: the golden vector decodes with an independent strict reader to the message fields',
    ({ name, message }) => {
      expect(comparable(readStrictCbor(readFixture(name, 'cbor')) as RuntimeMessage)).toStrictEqual(comparable(message));
    },
  );

  it('every encoded message passes the strict reader (no tags, text keys, shortest lengths and integers, float64)', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        expect(comparable(readStrictCbor(cbor.encode(message)) as RuntimeMessage)).toStrictEqual(comparable(message));
      }),
      { numRuns: 300 },
    );
  });

  it('writes its map keys in the json codec’s field order', () => {
    const json = new JsonCodec();
    for (const { message } of GOLDEN_MESSAGES) {
      const jsonOrder = Object.keys(JSON.parse(new TextDecoder().decode(json.encode(message))) as object);
      expect(Object.keys(readStrictCbor(cbor.encode(message)) as object)).toEqual(jsonOrder);
    }
  });

  it('writes integral numbers as integers in the shortest form, and fractions as float64', () => {
    const beat = (timestamp: number, sequence: number) =>
      toHex(cbor.encode({ type: 'Heartbeat', requestId: '', timestamp, metadata: {}, sequence }));
    // …"timestamp" then the number, …"sequence" then the number
    expect(beat(0, 23)).toMatch(/74696d657374616d7000.*73657175656e636517$/);
    expect(beat(24, 255)).toMatch(/74696d657374616d701818.*73657175656e636518ff$/);
    expect(beat(65_535, 65_536)).toMatch(/74696d657374616d7019ffff.*73657175656e63651a00010000$/);
    expect(beat(1_767_225_600_000, Number.MAX_SAFE_INTEGER)).toMatch(
      /74696d657374616d701b0000019b76daa800.*73657175656e63651b001fffffffffffff$/,
    );
    expect(beat(-1, 0)).toMatch(/74696d657374616d7020/);
    expect(beat(-1_767_225_600_000, 0)).toMatch(/74696d657374616d703b0000019b76daa7ff/);
    expect(beat(1.5, 0)).toMatch(/74696d657374616d70fb3ff8000000000000/);
    expect(beat(2 ** 60, 0)).toMatch(/74696d657374616d70fb43b0000000000000/); // past 2^53: a float, as the number is
    for (const timestamp of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, -(2 ** 32) - 1]) {
      expect(cbor.decode(cbor.encode({ type: 'Ack', requestId: '', timestamp, metadata: {} })).timestamp).toBe(timestamp);
    }
  });

  it('reads what other encoders may write: longer-than-needed heads, float16 and float32', () => {
    const golden = readFixture('heartbeat', 'cbor');
    const hex = toHex(golden);
    // The golden heartbeat with its sequence (42) behind an 8-byte head, then its timestamp replaced by 1.5 as float16 and float32.
    const longHead = hex.replace(/182a$/, '1b000000000000002a');
    expect(cbor.decode(Buffer.from(longHead, 'hex'))).toMatchObject({ type: 'Heartbeat', sequence: 42 });
    const halfFloat = hex.replace('1b0000019b76daa81e', 'f93e00'); // timestamp 1.5 as float16
    expect(cbor.decode(Buffer.from(halfFloat, 'hex'))).toMatchObject({ timestamp: 1.5 });
    const singleFloat = hex.replace('1b0000019b76daa81e', 'fa3fc00000'); // 1.5 as float32
    expect(cbor.decode(Buffer.from(singleFloat, 'hex'))).toMatchObject({ timestamp: 1.5 });
  });
});
