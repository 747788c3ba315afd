import { isUtf8 } from 'node:buffer';

/**
 * The fast path of the cbor codec's decode: one walk over the bytes that checks and builds the
 * plain object a message frame holds — a map with text keys whose values are integers, float64s,
 * byte strings, text strings, false/true/null/undefined, or one level of nested map of those
 * (metadata, error). It accepts a strict subset of what `checkCbor` + cbor-x accept and builds
 * the same value for it. For anything else — a tag, an array, an indefinite length, float16/32, a
 * "__proto__" key, an integer beyond 2^53, invalid UTF-8, deeper nesting, truncation, trailing
 * bytes — it returns `undefined` and the codec takes the careful path, which gives the canonical
 * `DecodeFailed` (or decodes what is valid but unusual). So every hostile-input guarantee of the
 * careful path holds: a length is only ever used after it is checked against the bytes that
 * remain, and no error thrown here reaches the caller (there are none to throw).
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// Module state for the walk in progress (decoding is synchronous and not re-entrant).
let src: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;
/** Set when the input is outside the fast path; every reader checks it after reading. */
let bail = false;

// float64, big-endian on the wire, read through a scratch buffer in the machine's order.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8 = new TextDecoder('utf-8');

/** Keys of every message kind, returned without building a new string. */
const KNOWN_KEYS = [
  'type',
  'requestId',
  'timestamp',
  'metadata',
  'functionName',
  'input',
  'timeoutMs',
  'success',
  'output',
  'error',
  'durationMs',
  'status',
  'sequence',
  'instanceId',
  'token',
  'clientVersion',
  'clientType',
  'codec',
  'extraParams',
  'sessionId',
  'errorMessage',
  'code',
  'message',
  'ExecutionRequest',
  'ExecutionResponse',
  'HealthCheck',
  'Ack',
  'Heartbeat',
  'AuthRequest',
  'AuthResponse',
].map((key) => ({ key, bytes: Buffer.from(key, 'latin1') }));
/** By length and first byte: the known strings that could match (almost always one). */
const KNOWN_BY_HEAD: Array<Array<{ key: string; bytes: Uint8Array }> | undefined> = [];
const headOf = (length: number, first: number): number => (length << 7) | (first & 0x7f);
for (const k of KNOWN_KEYS) (KNOWN_BY_HEAD[headOf(k.bytes.length, k.bytes[0]!)] ??= []).push(k);
const LONGEST_KNOWN = Math.max(...KNOWN_KEYS.map((k) => k.bytes.length));

function known(from: number, length: number): string | undefined {
  if (length === 0 || length > LONGEST_KNOWN) return undefined;
  const candidates = KNOWN_BY_HEAD[headOf(length, src[from]!)];
  if (candidates === undefined) return undefined;
  outer: for (const c of candidates) {
    const b = c.bytes;
    for (let i = 1; i < length; i++) if (src[from + i] !== b[i]) continue outer;
    // The first byte may only have matched in its low 7 bits.
    if (src[from] === b[0]) return c.key;
  }
  return undefined;
}

/** A short ASCII string from src[from, to): eight characters per call, then the rest. */
function ascii(from: number, to: number): string {
  let s = '';
  let i = from;
  for (; i + 8 <= to; i += 8)
    s += String.fromCharCode(src[i]!, src[i + 1]!, src[i + 2]!, src[i + 3]!, src[i + 4]!, src[i + 5]!, src[i + 6]!, src[i + 7]!);
  for (; i < to; i++) s += String.fromCharCode(src[i]!);
  return s;
}

/** Reads an item head's argument (info < 28); sets `bail` when truncated or reserved. */
function argument(info: number): number {
  if (info < 24) return info;
  switch (info) {
    case 24:
      if (pos + 1 > end) break;
      return src[pos++]!;
    case 25:
      if (pos + 2 > end) break;
      pos += 2;
      return (src[pos - 2]! << 8) | src[pos - 1]!;
    case 26:
      if (pos + 4 > end) break;
      pos += 4;
      return src[pos - 4]! * 0x1000000 + ((src[pos - 3]! << 16) | (src[pos - 2]! << 8) | src[pos - 1]!);
    case 27: {
      if (pos + 8 > end) break;
      const high = src[pos]! * 0x1000000 + ((src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!);
      const low = src[pos + 4]! * 0x1000000 + ((src[pos + 5]! << 16) | (src[pos + 6]! << 8) | src[pos + 7]!);
      pos += 8;
      // Beyond 2^53 the careful path reports the exact integer (or refuses the length).
      if (high >= 0x200000) break;
      return high * 0x1_0000_0000 + low;
    }
  }
  bail = true;
  return 0;
}

function text(length: number, isKey: boolean): string {
  if (length > end - pos) {
    bail = true;
    return '';
  }
  const from = pos;
  pos += length;
  // Keys and type names first: a known string is ASCII, and is returned without building a new one.
  const k = known(from, length);
  if (k !== undefined) return k;
  let isAscii = true;
  for (let i = from; i < pos; i++) {
    if (src[i]! >= 0x80) {
      isAscii = false;
      break;
    }
  }
  if (isAscii) {
    if (isKey && length === 9 && known9Proto(from)) {
      bail = true;
      return '';
    }
    return length <= 48 ? ascii(from, pos) : utf8.decode(src.subarray(from, pos));
  }
  const bytes = src.subarray(from, pos);
  if (!isUtf8(bytes)) {
    bail = true;
    return '';
  }
  return utf8.decode(bytes);
}

const PROTO = Buffer.from('__proto__', 'latin1');
function known9Proto(from: number): boolean {
  for (let i = 0; i < 9; i++) if (src[from + i] !== PROTO[i]) return false;
  return true;
}

function float64(): number {
  if (pos + 8 > end) {
    bail = true;
    return 0;
  }
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) f64Bytes[7 - i] = src[pos + i]!;
  else for (let i = 0; i < 8; i++) f64Bytes[i] = src[pos + i]!;
  pos += 8;
  return f64[0]!;
}

/** One value; `nested` maps are allowed only when `depth` is 1 (the message's own fields). */
function value(depth: number): unknown {
  if (pos >= end) {
    bail = true;
    return undefined;
  }
  const initial = src[pos++]!;
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (major === 7) {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 27:
        return float64();
    }
    bail = true;
    return undefined;
  }
  if (info >= 28) {
    bail = true;
    return undefined;
  }
  const arg = argument(info);
  if (bail) return undefined;
  switch (major) {
    case 0:
      return arg;
    case 1:
      if (arg === MAX_SAFE) break;
      return -1 - arg;
    case 2:
      if (arg > end - pos) break;
      pos += arg;
      // A plain Uint8Array view (the frame may be a Buffer), as the careful path gives.
      return new Uint8Array(src.buffer, src.byteOffset + pos - arg, arg);
    case 3:
      return text(arg, false);
    case 5:
      if (depth > 1) break;
      return map(arg, depth + 1);
  }
  bail = true;
  return undefined;
}

function map(entries: number, depth: number): Record<string, unknown> | undefined {
  // Every entry takes at least two bytes.
  if (entries * 2 > end - pos) {
    bail = true;
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < entries; i++) {
    if (pos >= end) {
      bail = true;
      return undefined;
    }
    const initial = src[pos++]!;
    if (initial >> 5 !== 3 || (initial & 0x1f) >= 28) {
      bail = true;
      return undefined;
    }
    const length = argument(initial & 0x1f);
    if (bail) return undefined;
    const key = text(length, true);
    if (bail) return undefined;
    const v = value(depth);
    if (bail) return undefined;
    out[key] = v;
  }
  return out;
}

/** The message frame as a plain object, or `undefined` when it is outside the fast path. */
export function decodeFast(input: Uint8Array): Record<string, unknown> | undefined {
  src = input;
  pos = 0;
  end = input.length;
  bail = false;
  let result: Record<string, unknown> | undefined;
  if (end > 0 && input[0]! >> 5 === 5 && (input[0]! & 0x1f) < 28) {
    const entries = argument(input[pos++]! & 0x1f);
    if (!bail) result = map(entries, 1);
  }
  const ok = !bail && pos === end;
  src = EMPTY;
  return ok ? result : undefined;
}

const EMPTY = new Uint8Array(0);
