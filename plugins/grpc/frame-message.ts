import type { ServiceDefinition } from './grpc-library.js';
import { CommunicationError, ErrorCode } from 'spear-comm';

// `message Frame { bytes data = 1; }` from proto/spear/v1/transport.proto, written by hand: a frame
// goes out as tag 0x0a (field 1, wire type 2), a varint length and the bytes, which is exactly what
// @grpc/proto-loader produces from the shipped file (plugins/grpc/frame-message.test.ts proves it),
// without building and walking a message object per frame.

const FRAME_DATA_TAG = 0x0a;
const EMPTY: Uint8Array = new Uint8Array(0);

export const CONNECT_PATH = '/spear.v1.SpearTransport/Connect';

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Serialized size of a Frame carrying `dataLength` bytes: what gRPC's message size limits count. */
export function frameMessageSize(dataLength: number): number {
  return 1 + varintSize(dataLength) + dataLength;
}

export function serializeFrame(data: Uint8Array): Buffer {
  const length = data.byteLength;
  const out = Buffer.allocUnsafe(frameMessageSize(length));
  out[0] = FRAME_DATA_TAG;
  let pos = 1;
  let value = length;
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  out.set(data, pos);
  return out;
}

function malformed(detail: string): never {
  throw new CommunicationError(ErrorCode.DecodeFailed, `Malformed spear.v1.Frame: ${detail}`);
}

/** Reads a varint at `pos`; returns [value, next position]. Values past 2^53 are refused. */
function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) malformed('truncated varint');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) malformed('varint out of range');
      return [value, pos];
    }
    scale *= 128;
  }
  return malformed('varint longer than 10 bytes');
}

/** Returns the position after the field with wire type `wireType` whose key ended at `pos`. */
function skipField(buf: Uint8Array, pos: number, wireType: number, fieldNumber: number): number {
  switch (wireType) {
    case 0:
      return readVarint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [length, start] = readVarint(buf, pos);
      return start + length;
    }
    case 3: {
      // A group (proto2): skip fields until its matching end-group key.
      for (;;) {
        if (pos >= buf.length) malformed(`unterminated group ${fieldNumber}`);
        const [key, next] = readVarint(buf, pos);
        const field = Math.floor(key / 8);
        if ((key & 7) === 4) {
          if (field !== fieldNumber) malformed(`group ${fieldNumber} closed by end-group ${field}`);
          return next;
        }
        pos = skipField(buf, next, key & 7, field);
      }
    }
    case 5:
      return pos + 4;
    default:
      return malformed(`invalid wire type ${wireType}`);
  }
}

/**
 * Parses a Frame as any protobuf reader would: fields in any order, unknown fields skipped, the
 * last `data` wins, a missing `data` is empty. Returns a view into `message` (no copy).
 */
export function deserializeFrame(message: Buffer): Uint8Array {
  let data: Uint8Array = EMPTY;
  let pos = 0;
  while (pos < message.length) {
    const [key, next] = readVarint(message, pos);
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 0) malformed('field number 0');
    if (field === 1) {
      if (wireType !== 2) malformed(`field 1 (data) has wire type ${wireType}, expected 2 (length-delimited)`);
      const [length, start] = readVarint(message, next);
      if (start + length > message.length) malformed(`data of ${length} bytes runs past the end of the message`);
      data = message.subarray(start, start + length);
      pos = start + length;
    } else {
      pos = skipField(message, next, wireType, field);
      if (pos > message.length) malformed(`field ${field} runs past the end of the message`);
    }
  }
  return data;
}

/** `service SpearTransport { rpc Connect(stream Frame) returns (stream Frame); }`, carrying frames as plain bytes. */
export const SPEAR_TRANSPORT_SERVICE = {
  Connect: {
    path: CONNECT_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializeFrame,
    requestDeserialize: deserializeFrame,
    responseSerialize: serializeFrame,
    responseDeserialize: deserializeFrame,
    originalName: 'connect',
  },
} satisfies ServiceDefinition;
