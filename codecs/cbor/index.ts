import { Encoder, type Options } from 'cbor-x';
import { Codec, CommunicationError, ErrorCode, validateMessage, wellFormed, wellFormedMap, type RuntimeMessage } from 'spear-comm';
import { checkCbor } from './check-cbor.js';

// Plain RFC 8949: maps with text keys, byte strings, integers, float64 — no record extension,
// no tags (not even 64 for Uint8Array), no shared structures or packed strings — so that any
// CBOR library decodes what this writes. Map lengths in their shortest form.
const PLAIN: Options = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  largeBigIntToFloat: false,
};

const cbor = new Encoder(PLAIN);
/** Decodes maps as Map objects: only for the rare input with a "__proto__" key, which cbor-x would rename. */
const cborWithMaps = new Encoder({ ...PLAIN, mapsAsObjects: false });

const NUMBER_FIELDS = ['timestamp', 'timeoutMs', 'durationMs', 'sequence'] as const;

/**
 * Integral numbers are CBOR integers in their shortest form; cbor-x writes those beyond 32 bits
 * as float64 unless they are handed over as BigInt. Everything else (fractions, magnitudes past
 * 2^53, NaN, ±Infinity) stays a float64.
 */
function int(n: number): number | bigint {
  return Number.isSafeInteger(n) && (n > 0xffff_ffff || n < -0x1_0000_0000) ? BigInt(n) : n;
}

/**
 * The message as a CBOR map in the same fixed field order as the json codec; absent optional
 * fields are left out. Strings go out well-formed (see wellFormed), since CBOR text is UTF-8.
 */
function toCborMap(m: RuntimeMessage): Record<string, unknown> {
  const head = { type: m.type, requestId: wellFormed(m.requestId), timestamp: int(m.timestamp), metadata: wellFormedMap(m.metadata) };
  switch (m.type) {
    case 'ExecutionRequest':
      return { ...head, functionName: wellFormed(m.functionName), input: bytesOf(m.input, 'input'), timeoutMs: int(m.timeoutMs) };
    case 'ExecutionResponse':
      return {
        ...head, success: m.success, output: bytesOf(m.output, 'output'),
        ...(m.error ? { error: { code: wellFormed(m.error.code), message: wellFormed(m.error.message) } } : {}),
        durationMs: int(m.durationMs),
      };
    case 'HealthCheck':
      return m.status === undefined ? head : { ...head, status: wellFormed(m.status) };
    case 'Ack':
      return head;
    case 'Heartbeat':
      return { ...head, sequence: int(m.sequence) };
    case 'AuthRequest':
      return {
        ...head, instanceId: wellFormed(m.instanceId), token: wellFormed(m.token), clientVersion: wellFormed(m.clientVersion),
        clientType: m.clientType, codec: wellFormed(m.codec), extraParams: wellFormedMap(m.extraParams),
      };
    case 'AuthResponse':
      return { ...head, success: m.success, sessionId: wellFormed(m.sessionId), ...(m.errorMessage !== undefined ? { errorMessage: wellFormed(m.errorMessage) } : {}) };
    default:
      throw new CommunicationError(ErrorCode.DecodeFailed, `cbor codec: cannot encode unknown message type ${JSON.stringify((m as { type?: unknown }).type)}`);
  }
}

function bytesOf(value: Uint8Array, field: string): Uint8Array {
  // Anything else would go out as some other CBOR type and fail on the receiving side instead of here.
  if (!(value instanceof Uint8Array)) throw new CommunicationError(ErrorCode.DecodeFailed, `cbor codec: field "${field}" must be a Uint8Array to be encoded`);
  return value;
}

/** Integers past 32 bits come back from cbor-x as BigInt; messages hold them as numbers when that is exact. */
function toNumbers(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const fields = value as Record<string, unknown>;
  for (const field of NUMBER_FIELDS) {
    const v = fields[field];
    if (typeof v !== 'bigint') continue;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new CommunicationError(ErrorCode.DecodeFailed, `Malformed RuntimeMessage: field "${field}" is ${v}, outside the integers a JavaScript number holds exactly (±(2^53-1))`);
    }
    fields[field] = Number(v);
  }
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
  throw new CommunicationError(ErrorCode.DecodeFailed, `Malformed RuntimeMessage: field "${field}" must be a CBOR byte string (major type 2), got ${value === null ? 'null' : typeof value}`);
};

/** CBOR (RFC 8949): the fields of a RuntimeMessage as a map with text keys, bytes as byte strings. */
@Codec({ name: 'cbor', contentType: 'application/cbor' })
export class CborCodec implements Codec {
  readonly name = 'cbor';
  readonly contentType = 'application/cbor';

  encode(message: RuntimeMessage): Uint8Array {
    const buf = cbor.encode(toCborMap(message));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  decode(bytes: Uint8Array): RuntimeMessage {
    // A fresh plain view: cbor-x caches a DataView on its input object, and byte strings then come back as Uint8Array, not Buffer.
    const input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const hasProtoKey = checkCbor(input);
    let value: unknown;
    try {
      value = hasProtoKey ? mapsToObjects(cborWithMaps.decode(input)) : cbor.decode(input);
    } catch (err) {
      // checkCbor has accepted the input, so this is not expected; still never let it escape as anything but DecodeFailed.
      throw new CommunicationError(ErrorCode.DecodeFailed, `cbor codec: frame of ${bytes.byteLength} bytes could not be decoded (${(err as Error).message})`, { cause: err });
    }
    return validateMessage(toNumbers(value), { bytes: bytesField });
  }
}
