import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from 'spear-comm';
import { SPEAR_TRANSPORT_SERVICE, deserializeFrame, serializeFrame, transportProtoPath } from 'spear-comm/plugins/grpc';

// The plugin does not parse the shipped .proto at run time; these tests prove its hand-written
// definition is the one @grpc/proto-loader builds from that file, so generated clients interoperate.

const shipped = fileURLToPath(new URL('../../proto/spear/v1/transport.proto', import.meta.url));
const definition = loadSync(shipped, {});
const loaded = (
  definition['spear.v1.SpearTransport'] as Record<
    string,
    {
      path: string;
      requestStream: boolean;
      responseStream: boolean;
      originalName?: string;
      requestSerialize(value: object): Buffer;
      responseDeserialize(bytes: Buffer): { data?: Buffer };
    }
  >
)['Connect']!;

/** A key for field `field` with wire type `wire`, as a varint. */
function key(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** One unknown field of any wire type proto3 readers must skip. */
const unknownField = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 5000 }), fc.nat()).map(([f, v]) => [...key(f, 0), ...varint(v)]),
  fc.tuple(fc.integer({ min: 2, max: 5000 }), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([f, b]) => [...key(f, 1), ...b]),
  fc.tuple(fc.integer({ min: 2, max: 5000 }), fc.uint8Array({ maxLength: 40 })).map(([f, b]) => [...key(f, 2), ...varint(b.length), ...b]),
  fc.tuple(fc.integer({ min: 2, max: 5000 }), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([f, b]) => [...key(f, 5), ...b]),
);
const dataField = fc.uint8Array({ maxLength: 300 }).map((b) => [...key(1, 2), ...varint(b.length), ...b]);

describe('spear.v1.Frame and SpearTransport', () => {
  it('transportProtoPath() finds the shipped file', () => {
    expect(transportProtoPath()).toBe(shipped);
  });

  it('declares the same method as the shipped .proto', () => {
    const ours = SPEAR_TRANSPORT_SERVICE.Connect;
    expect({
      path: ours.path,
      requestStream: ours.requestStream,
      responseStream: ours.responseStream,
      originalName: ours.originalName,
    }).toEqual({
      path: loaded.path,
      requestStream: loaded.requestStream,
      responseStream: loaded.responseStream,
      originalName: loaded.originalName,
    });
    expect(loaded.path).toBe('/spear.v1.SpearTransport/Connect');
    const frameType = definition['spear.v1.Frame'] as {
      type: { field: Array<{ name: string; number: number; type: string; label: string }> };
    };
    expect(frameType.type.field.map(({ name, number, type, label }) => ({ name, number, type, label }))).toEqual([
      { name: 'data', number: 1, type: 'TYPE_BYTES', label: 'LABEL_OPTIONAL' },
    ]);
  });

  it('serializes byte for byte as proto-loader does, across varint length boundaries', () => {
    for (const length of [0, 1, 127, 128, 300, 16_383, 16_384, 70_000, 2_097_152]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31) & 255);
      expect(serializeFrame(data).equals(loaded.requestSerialize({ data: Buffer.from(data) })), `length ${length}`).toBe(true);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        expect(serializeFrame(data).equals(loaded.requestSerialize({ data: Buffer.from(data) }))).toBe(true);
      }),
    );
  });

  it('reads what proto-loader reads: its own output, unknown fields, repeated data (last wins), no data', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(unknownField, dataField), { maxLength: 8 }), (fields) => {
        const message = Buffer.from(fields.flat());
        const expected = loaded.responseDeserialize(message).data ?? Buffer.alloc(0);
        expect(Buffer.from(deserializeFrame(message)).equals(expected)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const message = loaded.requestSerialize({ data: Buffer.from(data) });
        expect(deserializeFrame(message)).toEqual(Buffer.from(data));
      }),
    );
  });

  it('refuses truncated or malformed messages with DecodeFailed, as proto-loader refuses them', () => {
    const malformed = [
      [0x0a, 0x05, 1, 2], // data shorter than its length
      [0x0a], // key without length
      [0x0a, 0x80], // truncated length varint
      [0x10], // varint field without value
      [0x09, 1, 2, 3], // fixed64 cut short
      [0x17, 0x00], // wire type 7 (field 2)
    ];
    for (const bytes of malformed) {
      const message = Buffer.from(bytes);
      expect(() => loaded.responseDeserialize(message), `proto-loader on ${message.toString('hex')}`).toThrow();
      expect(() => deserializeFrame(message), `ours on ${message.toString('hex')}`).toThrow(
        expect.objectContaining({ code: ErrorCode.DecodeFailed }),
      );
    }
    // Field number 0 is invalid protobuf; protobufjs lets it pass, stricter readers (and ours) refuse it.
    expect(() => deserializeFrame(Buffer.from([0x00, 0x01]))).toThrow(/field number 0/);
  });
});
