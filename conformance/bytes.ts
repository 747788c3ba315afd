/** Deterministic pseudo-random bytes (xorshift32), so a frame's content depends only on its seed and length. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = x >>> 24;
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A frame whose first 4 bytes are its index (big-endian), then `length - 4` pattern bytes seeded by the index. */
export function tagged(index: number, length: number): Uint8Array {
  const frame = new Uint8Array(Math.max(4, length));
  new DataView(frame.buffer).setUint32(0, index);
  frame.set(pattern(frame.length - 4, index), 4);
  return frame;
}

export function tagOf(frame: Uint8Array): number {
  return frame.byteLength < 4 ? -1 : new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}

/** Every byte value 0..255, `repeat` times over. */
export function allByteValues(repeat = 1): Uint8Array {
  const out = new Uint8Array(256 * repeat);
  for (let i = 0; i < out.length; i++) out[i] = i & 0xff;
  return out;
}

/** `undefined` when equal, else where and how they differ. */
export function describeDifference(actual: Uint8Array, expected: Uint8Array): string | undefined {
  if (
    Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    )
  )
    return undefined;
  const shorter = Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < shorter; i++) {
    if (actual[i] !== expected[i]) {
      return `byte ${i} of ${expected.byteLength} differs (expected 0x${hex(expected[i]!)}, got 0x${hex(actual[i]!)})${actual.byteLength !== expected.byteLength ? `, and the length is ${actual.byteLength} instead of ${expected.byteLength}` : ''}`;
    }
  }
  if (actual.byteLength !== expected.byteLength) return `length is ${actual.byteLength} bytes instead of ${expected.byteLength}`;
  return undefined;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
