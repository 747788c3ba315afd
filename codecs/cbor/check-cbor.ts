import { isUtf8 } from 'node:buffer';
import { CommunicationError, ErrorCode } from 'spear-comm';

/**
 * Deepest nesting of arrays and maps accepted. A message needs 2 (the message map, then its
 * metadata or error map); the headroom is for peers that add fields, not for hostile input.
 */
export const MAX_CBOR_DEPTH = 16;

// One walk at a time (decoding is synchronous), so the stack is allocated once and reused.
/** Items still to read in each open array or map (a map counts its keys and values). */
const left = new Float64Array(MAX_CBOR_DEPTH);
const isMap = new Uint8Array(MAX_CBOR_DEPTH);

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"
const MAJOR_NAMES = ['unsigned integer', 'negative integer', 'byte string', 'text string', 'array', 'map', 'tag', 'simple value or float'];

function fail(detail: string, offset: number): never {
  throw new CommunicationError(ErrorCode.DecodeFailed, `cbor codec: ${detail} (at byte ${offset})`);
}

function bytes(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

function readArgument(src: Uint8Array, pos: number, size: number): number {
  let value = 0;
  // Exact up to 2^53; beyond that only the magnitude matters (lengths that large are refused anyway).
  for (let i = 0; i < size; i++) value = value * 256 + src[pos + i]!;
  return value;
}

/** The exact value of an integer item with an 8-byte argument (only for error messages). */
function exactInteger(src: Uint8Array, start: number, major: number): bigint {
  let value = 0n;
  for (let i = 1; i <= 8; i++) value = value * 256n + BigInt(src[start + i]!);
  return major === 1 ? -1n - value : value;
}

function isAscii(src: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (src[i]! >= 0x80) return false;
  return true;
}

function isProtoKey(src: Uint8Array, pos: number, length: number): boolean {
  if (length !== PROTO.length) return false;
  for (let i = 0; i < length; i++) if (src[pos + i] !== PROTO[i]) return false;
  return true;
}

/**
 * Walks one encoded CBOR data item without building it and throws `DecodeFailed` unless it is
 * well-formed (RFC 8949) and within the profile spear-comm messages use: definite lengths only,
 * no tags, no simple values other than false/true/null/undefined, text-string map keys, valid
 * UTF-8 text, integers within ±(2^53-1), at most MAX_CBOR_DEPTH levels, nothing after the item. Every declared length and
 * count is checked against the bytes that remain, so the decoder that runs afterwards never
 * allocates for a length the input does not back and never recurses deeper than the limit.
 *
 * Returns whether some map has the key "__proto__" (which needs the careful decoding path).
 */
export function checkCbor(src: Uint8Array): boolean {
  const end = src.length;
  if (end === 0) fail('empty frame; expected one CBOR data item', 0);
  let pos = 0;
  let depth = 0;
  let protoKey = false;
  do {
    if (pos >= end) fail('input ends inside an item (truncated)', pos);
    const start = pos;
    const initial = src[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    const isKey = depth > 0 && isMap[depth - 1] === 1 && left[depth - 1]! % 2 === 0;
    if (isKey && major !== 3) fail(`map key of major type ${major} (${MAJOR_NAMES[major]}); keys must be text strings`, start);
    let arg = info;
    if (info >= 24) {
      if (info === 31) {
        fail(
          major === 7
            ? 'break code 0xff outside an indefinite-length item'
            : `indefinite-length ${MAJOR_NAMES[major]}; spear-comm uses definite lengths only`,
          start,
        );
      }
      if (info > 27) fail(`reserved additional information ${info} in the initial byte 0x${initial.toString(16)}`, start);
      const size = 1 << (info - 24);
      if (end - pos < size) fail('input ends inside an item header (truncated)', start);
      arg = readArgument(src, pos, size);
      pos += size;
    }
    switch (major) {
      case 2:
      case 3:
        if (arg > end - pos) fail(`${MAJOR_NAMES[major]} declares ${bytes(arg)} but only ${bytes(end - pos)} remain`, start);
        if (major === 3) {
          if (!isAscii(src, pos, pos + arg) && !isUtf8(src.subarray(pos, pos + arg))) fail('text string is not valid UTF-8', start);
          if (isKey && isProtoKey(src, pos, arg)) protoKey = true;
        }
        pos += arg;
        break;
      case 4:
      case 5: {
        const items = major === 5 ? arg * 2 : arg;
        // Every item takes at least one byte: a count the input cannot back is refused before anything is allocated for it.
        if (items > end - pos) fail(`${MAJOR_NAMES[major]} declares ${arg} entries but only ${bytes(end - pos)} remain`, start);
        if (items > 0) {
          if (depth === MAX_CBOR_DEPTH) fail(`arrays and maps nested more than ${MAX_CBOR_DEPTH} deep`, start);
          left[depth] = items;
          isMap[depth] = major === 5 ? 1 : 0;
          depth++;
          continue;
        }
        break;
      }
      case 6:
        fail(`tag ${arg}; spear-comm messages use no CBOR tags`, start);
      // falls through (fail() throws)
      case 7:
        if (info < 20 || info === 24) fail(`simple value ${arg}; only false, true, null, undefined and floats are used`, start);
        break;
      default: // 0 and 1: integers, which a message holds as JavaScript numbers
        if (arg > Number.MAX_SAFE_INTEGER - major) {
          fail(`integer ${exactInteger(src, start, major)} is beyond ±(2^53-1), the integers a JavaScript number holds exactly`, start);
        }
        break;
    }
    // The item is complete: count it in its container, and close every container it completes.
    while (depth > 0) {
      const rest = left[depth - 1]! - 1;
      left[depth - 1] = rest;
      if (rest > 0) break;
      depth--;
    }
  } while (depth > 0);
  if (pos !== end) fail(`${bytes(end - pos)} follow the end of the message`, pos);
  return protoKey;
}
