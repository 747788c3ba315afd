import { Encoder, type Options } from 'cbor-x';
import { Codec, CommunicationError, ErrorCode, validateMessage, type RuntimeMessage } from 'spear-comm';
import { messageFields, wellFormed, wellFormedMap, type FieldWriters } from 'spear-comm/codec-kit';
import { checkCbor } from './check-cbor.js';
import { decodeFast } from './fast-decode.js';
import { encodeFast, encodeFastParts } from './fast-encode.js';

// Plain RFC 8949: maps with text keys, byte strings, integers, float64 — no record extension,
// no tags (not even 64 for Uint8Array), no shared structures or packed strings — so that any
// CBOR library decodes what this writes. Map lengths in their shortest form.
const PLAIN: Options & { int64AsNumber: boolean } = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  largeBigIntToFloat: false,
  // 64-bit integers as numbers, not BigInt: checkCbor has already refused any beyond ±(2^53-1).
  // (cbor-x reads this option, but its type declarations lack it.)
  int64AsNumber: true,
};

const cbor = new Encoder(PLAIN);
/** Decodes maps as Map objects: only for the rare input with a "__proto__" key, which cbor-x would rename. */
const cborWithMaps = new Encoder({ ...PLAIN, mapsAsObjects: false });

/**
 * Integral numbers are CBOR integers in their shortest form; cbor-x writes those beyond 32 bits
 * as float64 unless they are handed over as BigInt. Everything else (fractions, magnitudes past
 * 2^53, NaN, ±Infinity) stays a float64.
 */
function int(n: number): number | bigint {
  return Number.isSafeInteger(n) && (n > 0xffff_ffff || n < -0x1_0000_0000) ? BigInt(n) : n;
}

/** CBOR values for the message's fields; strings well-formed (see wellFormed), since CBOR text is UTF-8. */
const CBOR_FIELDS: FieldWriters = {
  string: wellFormed,
  number: int,
  bytes: bytesOf,
  map: wellFormedMap,
};

function bytesOf(value: Uint8Array, field: string): Uint8Array {
  // Anything else would go out as some other CBOR type and fail on the receiving side instead of here.
  if (!(value instanceof Uint8Array))
    throw new CommunicationError(ErrorCode.DecodeFailed, `cbor codec: field "${field}" must be a Uint8Array to be encoded`);
  return value;
}

/** Turns decoded Map objects into plain objects, keeping a "__proto__" key as an own property. */
function mapsToObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mapsToObjects);
  if (!(value instanceof Map)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of value) {
    Object.defineProperty(out, key as string, { value: mapsToObjects(entry), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const bytesField = (value: unknown, field: string): Uint8Array => {
  if (value instanceof Uint8Array) return value;
  throw new CommunicationError(
    ErrorCode.DecodeFailed,
    `Malformed RuntimeMessage: field "${field}" must be a CBOR byte string (major type 2), got ${value === null ? 'null' : typeof value}`,
  );
};

/** CBOR (RFC 8949): the fields of a RuntimeMessage as a map with text keys in the json codec's order, bytes as byte strings. */
@Codec({ name: 'cbor', contentType: 'application/cbor' })
export class CborCodec implements Codec {
  readonly name = 'cbor';
  readonly contentType = 'application/cbor';

  encode(message: RuntimeMessage): Uint8Array {
    // Straight into bytes for the fixed message shapes; a field of an unexpected type takes the cbor-x path.
    const fast = encodeFast(message);
    if (fast !== undefined) return fast;
    const buf = cbor.encode(messageFields(message, CBOR_FIELDS));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A large StreamChunk as its head and its data, not copied; anything else `undefined` (use encode). */
  encodeParts(message: RuntimeMessage): Uint8Array[] | undefined {
    return encodeFastParts(message);
  }

  decode(bytes: Uint8Array): RuntimeMessage {
    // One pass over the bytes for the fixed message shapes; anything else takes the careful path below.
    const fast = decodeFast(bytes);
    if (fast !== undefined) return validateMessage(fast, { bytes: bytesField });
    // A fresh plain view: cbor-x caches a DataView on its input object, and byte strings then come back as Uint8Array, not Buffer.
    const input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const hasProtoKey = checkCbor(input);
    let value: unknown;
    try {
      value = hasProtoKey ? mapsToObjects(cborWithMaps.decode(input)) : cbor.decode(input);
    } catch (err) {
      // checkCbor has accepted the input, so this is not expected; still never let it escape as anything but DecodeFailed.
      throw new CommunicationError(
        ErrorCode.DecodeFailed,
        `cbor codec: frame of ${bytes.byteLength} bytes could not be decoded (${(err as Error).message})`,
        { cause: err },
      );
    }
    return validateMessage(value, { bytes: bytesField });
  }
}
