import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MESSAGE_TYPES, type RuntimeMessage } from 'spear-comm';
import { anyMessage, messageOf } from './test-support/arbitraries.js';
import { CODECS, comparable, readFixture, toHex } from './test-support/codecs.js';
import { GOLDEN_MESSAGES } from './test-support/golden-messages.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe.each(CODECS)('$name codec round trip', (codec) => {
  it.each(MESSAGE_TYPES)('%s: decodes what it encodes to the same message, and encodes that to the same bytes', (type) => {
    fc.assert(
      fc.property(messageOf(type), (message) => {
        const bytes = codec.encode(message);
        const back = codec.decode(bytes);
        expect(comparable(back)).toStrictEqual(comparable(message));
        expect(sameBytes(codec.encode(back), bytes)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('round-trips a 4 MiB input with 10 000 metadata entries', () => {
    const input = new Uint8Array(4 << 20);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7) & 0xff;
    const metadata = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key-${i}-ключ`, `value-${i}-😀`]));
    const message: RuntimeMessage = {
      type: 'ExecutionRequest',
      requestId: 'big',
      timestamp: 1_767_225_600_000,
      metadata,
      functionName: 'f',
      input,
      timeoutMs: 0,
    };
    expect(comparable(codec.decode(codec.encode(message)))).toStrictEqual(comparable(message));
  });

  it('leaves an encoded frame intact while later messages are encoded (transports may still be sending it)', () => {
    const { name, message } = GOLDEN_MESSAGES[0]!;
    const frame = codec.encode(message);
    for (let i = 0; i < 2_000; i++)
      codec.encode({ type: 'Heartbeat', requestId: `x${i}`.repeat(i % 40), timestamp: i, metadata: {}, sequence: i });
    expect(toHex(frame)).toBe(toHex(readFixture(name, codec.name)));
  });

  it('gives decoded bytes fields as plain Uint8Arrays that later decodes do not overwrite', () => {
    const first = codec.decode(
      codec.encode({
        type: 'ExecutionRequest',
        requestId: 'a',
        timestamp: 1,
        metadata: {},
        functionName: 'f',
        input: new Uint8Array([1, 2, 3]),
        timeoutMs: 0,
      }),
    );
    codec.decode(
      codec.encode({
        type: 'ExecutionRequest',
        requestId: 'b',
        timestamp: 2,
        metadata: {},
        functionName: 'g',
        input: new Uint8Array([9, 9, 9]),
        timeoutMs: 0,
      }),
    );
    expect(first.type === 'ExecutionRequest' && first.input).toStrictEqual(new Uint8Array([1, 2, 3]));
    expect(Object.getPrototypeOf(first.type === 'ExecutionRequest' ? first.input : null)).toBe(Uint8Array.prototype);
  });

  it('encodes a large StreamChunk as parts (if it does) that concatenate to encode(), its data not copied', () => {
    const sizes = fc.constantFrom(16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65_536, 1 << 20, 300_000);
    fc.assert(
      fc.property(messageOf('StreamChunk'), sizes, (message, size) => {
        const chunk = { ...message, data: new Uint8Array(size).fill(size & 0xff) } as RuntimeMessage;
        const parts = codec.encodeParts?.(chunk);
        // cbor and protobuf split chunks of 16 KiB and more; json (base64) never does.
        expect(parts !== undefined).toBe(codec.name !== 'json' && size >= 16 * 1024);
        if (!parts) return;
        expect(parts[parts.length - 1]).toBe((chunk as { data: Uint8Array }).data);
        expect(sameBytes(Buffer.concat(parts), codec.encode(chunk))).toBe(true);
      }),
      { numRuns: 60 },
    );
    const small: RuntimeMessage = { type: 'StreamChunk', requestId: 's', timestamp: 1, metadata: {}, data: new Uint8Array(100) };
    const heartbeat: RuntimeMessage = { type: 'Heartbeat', requestId: 'h', timestamp: 1, metadata: {}, sequence: 1 };
    expect(codec.encodeParts?.(small)).toBeUndefined();
    expect(codec.encodeParts?.(heartbeat)).toBeUndefined();
  });

  it('keeps metadata keys that look like Object.prototype members', () => {
    const metadata: Record<string, string> = {};
    for (const key of ['__proto__', 'constructor', 'toString'])
      Object.defineProperty(metadata, key, { value: `v-${key}`, enumerable: true, writable: true, configurable: true });
    const back = codec.decode(codec.encode({ type: 'Ack', requestId: 'r', timestamp: 0, metadata }));
    expect(Object.entries(back.metadata).sort()).toEqual([
      ['__proto__', 'v-__proto__'],
      ['constructor', 'v-constructor'],
      ['toString', 'v-toString'],
    ]);
    expect(Object.getPrototypeOf(back.metadata)).toBe(Object.prototype);
  });
});

describe('all codecs agree', () => {
  it('decode each other’s messages to the same value', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const [first, ...rest] = CODECS.map((codec) => comparable(codec.decode(codec.encode(message))));
        for (const other of rest) expect(other).toStrictEqual(first);
      }),
      { numRuns: 100 },
    );
  });

  it('send a lone UTF-16 surrogate as U+FFFD in the binary codecs, whose strings are UTF-8 (json keeps it as a \\u escape)', () => {
    const broken = 'cut😀'.slice(0, 4); // "cut\ud83d"
    const message: RuntimeMessage = {
      type: 'ExecutionResponse',
      requestId: broken,
      timestamp: 1,
      metadata: { [broken]: broken },
      success: false,
      output: new Uint8Array(0),
      error: { code: broken, message: `\udc00${broken}` },
      durationMs: 0,
    };
    const fixed = 'cut\ufffd';
    for (const codec of CODECS) {
      const back = codec.decode(codec.encode(message));
      if (back.type !== 'ExecutionResponse') throw new Error('wrong kind');
      const expected = codec.name === 'json' ? broken : fixed;
      expect([back.requestId, Object.keys(back.metadata)[0], back.metadata[expected], back.error?.code], codec.name).toEqual([
        expected,
        expected,
        expected,
        expected,
      ]);
      expect(back.error?.message, codec.name).toBe(codec.name === 'json' ? `\udc00${broken}` : `\ufffd${fixed}`);
    }
  });
});
