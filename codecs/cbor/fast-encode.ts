import type { Metadata, RuntimeMessage } from 'spear-comm';

/**
 * The fast path of the cbor codec's encode: writes a message straight into bytes, field by field,
 * byte for byte what cbor-x writes for `messageFields(message, CBOR_FIELDS)` (the golden vectors
 * and the round-trip tests hold it to that): map heads and lengths in their shortest form, text
 * keys in the wire order, integers in their shortest form (those beyond 32 bits as 8-byte
 * integers), other numbers as float64, strings made well-formed (lone surrogates as U+FFFD).
 * A field of an unexpected type returns `undefined`, and the codec takes the cbor-x path, which
 * encodes or refuses it as it always has.
 */

/** Small frames are written one after another into a shared chunk and handed out as views of it. */
const CHUNK = 16 * 1024;
/** Frames that may need more than this get a buffer of their own. */
const OWN_BUFFER_ABOVE = 4 * 1024;

let chunk = new Uint8Array(CHUNK);
let used = 0;

// Module state for the frame being written (encoding is synchronous and not re-entrant).
let out: Uint8Array = chunk;
let pos = 0;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

function head(major: number, n: number): void {
  const m = major << 5;
  if (n < 24) out[pos++] = m | n;
  else if (n < 0x100) {
    out[pos++] = m | 24;
    out[pos++] = n;
  } else if (n < 0x10000) {
    out[pos++] = m | 25;
    out[pos++] = n >> 8;
    out[pos++] = n & 0xff;
  } else if (n < 0x1_0000_0000) {
    out[pos++] = m | 26;
    out[pos++] = n >>> 24;
    out[pos++] = (n >> 16) & 0xff;
    out[pos++] = (n >> 8) & 0xff;
    out[pos++] = n & 0xff;
  } else {
    out[pos++] = m | 27;
    const high = Math.floor(n / 0x1_0000_0000);
    const low = n >>> 0;
    out[pos++] = high >>> 24;
    out[pos++] = (high >> 16) & 0xff;
    out[pos++] = (high >> 8) & 0xff;
    out[pos++] = high & 0xff;
    out[pos++] = low >>> 24;
    out[pos++] = (low >> 16) & 0xff;
    out[pos++] = (low >> 8) & 0xff;
    out[pos++] = low & 0xff;
  }
}

/** A text string, UTF-8 (the caller has reserved 5 + 3 × length bytes). */
function text(value: string): void {
  const s = (value as unknown as WellFormed).isWellFormed() ? value : (value as unknown as WellFormed).toWellFormed();
  const n = s.length;
  // Most strings here are short ASCII (a UUID is 36 characters): write them in place behind their head.
  if (n < 256) {
    const start = pos;
    if (n < 24) out[pos++] = 0x60 | n;
    else {
      out[pos++] = 0x78;
      out[pos++] = n;
    }
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[pos++] = c;
    }
    if (i === n) return;
    pos = start;
  }
  const length = Buffer.byteLength(s, 'utf8');
  head(3, length);
  const view = Buffer.from(out.buffer, out.byteOffset + pos, length);
  view.write(s, 0, length, 'utf8');
  pos += length;
}

function number(n: number): void {
  if (n >>> 0 === n) head(0, n);
  else if (n >> 0 === n) head(1, -1 - n);
  else if (Number.isSafeInteger(n) || (n < 0 && n >= -0x1_0000_0000 && Math.floor(n) === n)) {
    if (n >= 0) head(0, n);
    else head(1, -1 - n);
  } else {
    out[pos++] = 0xfb;
    f64[0] = n;
    if (LITTLE_ENDIAN) for (let i = 7; i >= 0; i--) out[pos++] = f64Bytes[i]!;
    else for (let i = 0; i < 8; i++) out[pos++] = f64Bytes[i]!;
  }
}

/** A byte string whose head alone is written (encodeFastParts hands out the bytes themselves). */
let deferred: Uint8Array | undefined;

function bytes(value: Uint8Array): void {
  head(2, value.byteLength);
  if (value === deferred) return;
  out.set(value, pos);
  pos += value.byteLength;
}

/** The `error` field of a response or a stream end: a map of code and message. */
function failure(error: { code: string; message: string }): void {
  key('error');
  out[pos++] = 0xa2;
  key('code');
  text(error.code);
  key('message');
  text(error.message);
}

/** Text keys as pre-encoded bytes. */
const KEYS = new Map<string, Uint8Array>();
function key(name: string): void {
  let k = KEYS.get(name);
  if (k === undefined) {
    const b = Buffer.from(name, 'utf8');
    k = new Uint8Array(b.length + 1);
    k[0] = 0x60 | b.length;
    k.set(b, 1);
    KEYS.set(name, k);
  }
  out.set(k, pos);
  pos += k.length;
}

function map(m: Metadata): void {
  const keys = Object.keys(m);
  head(5, keys.length);
  for (const k of keys) {
    text(k);
    text(m[k]!);
  }
}

// Upper bounds of what each kind of field takes.
const strMax = (s: unknown): number => (typeof s === 'string' ? 5 + 3 * s.length : NaN);
const numMax = (n: unknown): number => (typeof n === 'number' ? 9 : NaN);
const bytesMax = (b: unknown): number => (b instanceof Uint8Array ? 9 + b.byteLength : NaN);
function mapMax(m: unknown): number {
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m instanceof Uint8Array) return NaN;
  let size = 9;
  for (const k of Object.keys(m)) size += strMax(k) + strMax((m as Record<string, unknown>)[k]);
  return size;
}

/** The most bytes `m` can take, or NaN when some field has a type this path does not write. */
function maxSize(m: RuntimeMessage): number {
  // The head, four keys of at most 10 bytes, and the envelope.
  let size = 64 + strMax(m.requestId) + numMax(m.timestamp) + mapMax(m.metadata);
  switch (m.type) {
    case 'ExecutionRequest':
      return size + 48 + strMax(m.functionName) + bytesMax(m.input) + numMax(m.timeoutMs);
    case 'ExecutionResponse':
      size += 48 + bytesMax(m.output) + numMax(m.durationMs) + (typeof m.success === 'boolean' ? 1 : NaN);
      if (m.error) size += 32 + strMax(m.error.code) + strMax(m.error.message);
      return size;
    case 'HealthCheck':
      return m.status === undefined ? size : size + 16 + strMax(m.status);
    case 'Ack':
      return size;
    case 'Heartbeat':
      return size + 16 + numMax(m.sequence);
    case 'AuthRequest':
      return (
        size +
        96 +
        strMax(m.instanceId) +
        strMax(m.token) +
        strMax(m.clientVersion) +
        // Written as is by the cbor-x path (not made well-formed), so only a well-formed one is taken here.
        (typeof m.clientType === 'string' && (m.clientType as unknown as WellFormed).isWellFormed() ? strMax(m.clientType) : NaN) +
        strMax(m.codec) +
        mapMax(m.extraParams)
      );
    case 'AuthResponse':
      return (
        size +
        48 +
        strMax(m.sessionId) +
        (typeof m.success === 'boolean' ? 1 : NaN) +
        (m.errorMessage === undefined ? 0 : strMax(m.errorMessage))
      );
    case 'StreamOpen':
      return size + 48 + strMax(m.functionName) + numMax(m.timeoutMs) + numMax(m.credit);
    case 'StreamChunk':
      return size + 16 + bytesMax(m.data);
    case 'StreamCredit':
      return size + 16 + numMax(m.credit);
    case 'StreamEnd':
      return m.error ? size + 48 + strMax(m.error.code) + strMax(m.error.message) : size;
    case 'StreamCancel':
      return m.reason === undefined ? size : size + 16 + strMax(m.reason);
    default:
      return NaN;
  }
}

function fields(m: RuntimeMessage): void {
  const n = 4 + fieldCount(m);
  out[pos++] = 0xa0 | n;
  key('type');
  text(m.type);
  key('requestId');
  text(m.requestId);
  key('timestamp');
  number(m.timestamp);
  key('metadata');
  map(m.metadata);
  switch (m.type) {
    case 'ExecutionRequest':
      key('functionName');
      text(m.functionName);
      key('input');
      bytes(m.input);
      key('timeoutMs');
      number(m.timeoutMs);
      return;
    case 'ExecutionResponse':
      key('success');
      out[pos++] = m.success ? 0xf5 : 0xf4;
      key('output');
      bytes(m.output);
      if (m.error) failure(m.error);
      key('durationMs');
      number(m.durationMs);
      return;
    case 'HealthCheck':
      if (m.status !== undefined) {
        key('status');
        text(m.status);
      }
      return;
    case 'Ack':
      return;
    case 'Heartbeat':
      key('sequence');
      number(m.sequence);
      return;
    case 'AuthRequest':
      key('instanceId');
      text(m.instanceId);
      key('token');
      text(m.token);
      key('clientVersion');
      text(m.clientVersion);
      key('clientType');
      text(m.clientType);
      key('codec');
      text(m.codec);
      key('extraParams');
      map(m.extraParams);
      return;
    case 'AuthResponse':
      key('success');
      out[pos++] = m.success ? 0xf5 : 0xf4;
      key('sessionId');
      text(m.sessionId);
      if (m.errorMessage !== undefined) {
        key('errorMessage');
        text(m.errorMessage);
      }
      return;
    case 'StreamOpen':
      key('functionName');
      text(m.functionName);
      key('timeoutMs');
      number(m.timeoutMs);
      key('credit');
      number(m.credit);
      return;
    case 'StreamChunk':
      key('data');
      bytes(m.data);
      return;
    case 'StreamCredit':
      key('credit');
      number(m.credit);
      return;
    case 'StreamEnd':
      if (m.error) failure(m.error);
      return;
    case 'StreamCancel':
      if (m.reason !== undefined) {
        key('reason');
        text(m.reason);
      }
      return;
  }
}

/** How many fields the kind adds to the four of the envelope (all below 20: the map head is one byte). */
function fieldCount(m: RuntimeMessage): number {
  switch (m.type) {
    case 'ExecutionRequest':
      return 3;
    case 'ExecutionResponse':
      return m.error ? 4 : 3;
    case 'HealthCheck':
      return m.status !== undefined ? 1 : 0;
    case 'Ack':
      return 0;
    case 'Heartbeat':
      return 1;
    case 'AuthRequest':
      return 6;
    case 'AuthResponse':
      return m.errorMessage !== undefined ? 3 : 2;
    case 'StreamOpen':
      return 3;
    case 'StreamChunk':
    case 'StreamCredit':
      return 1;
    case 'StreamEnd':
      return m.error ? 1 : 0;
    case 'StreamCancel':
      return m.reason !== undefined ? 1 : 0;
  }
}

/** The encoded frame, or `undefined` when a field has a type this path does not write. */
export function encodeFast(m: RuntimeMessage): Uint8Array | undefined {
  return write(m, maxSize(m));
}

/** Stream chunks of at least this many bytes are encoded as a head and the data itself (see encodeFastParts). */
export const PARTS_ABOVE = 16 * 1024;

/**
 * A StreamChunk with at least PARTS_ABOVE bytes of data as `[head, data]`: `data` is its last field,
 * so the head (everything up to and including the byte string's own head) followed by the data
 * is byte for byte what encodeFast writes, and the data is not copied. Otherwise `undefined`.
 */
export function encodeFastParts(m: RuntimeMessage): Uint8Array[] | undefined {
  if (m.type !== 'StreamChunk' || !(m.data instanceof Uint8Array) || m.data.byteLength < PARTS_ABOVE) return undefined;
  deferred = m.data;
  try {
    const head = write(m, maxSize(m) - m.data.byteLength);
    return head && [head, m.data];
  } finally {
    deferred = undefined;
  }
}

function write(m: RuntimeMessage, max: number): Uint8Array | undefined {
  // NaN (a field of another type) fails this test too.
  if (!(max >= 0)) return undefined;
  if (max > OWN_BUFFER_ABOVE) {
    // Not zero-filled first (a stream chunk would be written twice): what is written is all that is handed out.
    const b = Buffer.allocUnsafeSlow(max);
    const own = new Uint8Array(b.buffer, b.byteOffset, max);
    out = own;
    pos = 0;
    fields(m);
    out = chunk;
    own.fill(0, pos);
    return own.subarray(0, pos);
  }
  if (used + max > CHUNK) {
    chunk = new Uint8Array(CHUNK);
    used = 0;
  }
  out = chunk;
  pos = used;
  fields(m);
  const frame = chunk.subarray(used, pos);
  used = pos;
  return frame;
}
