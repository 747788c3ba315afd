// An independent, deliberately minimal CBOR reader written from RFC 8949 alone (no cbor-x): it
// accepts only what docs/wire-format.md promises the cbor codec writes, and throws on anything
// else — a tag, an indefinite length, a non-text map key, a length or integer not in its shortest
// form, a float that is not float64. If cbor-x were ever configured with records, tags or packed
// strings, decoding the encoder's output with this would fail.

const text = new TextDecoder('utf-8', { fatal: true });

export function readStrictCbor(bytes: Uint8Array): unknown {
  let pos = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  function need(n: number): void {
    if (pos + n > bytes.length) throw new Error(`truncated at ${pos}`);
  }

  function argument(info: number, at: number): number {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new Error(`additional information ${info} not allowed at ${at}`);
    need(size);
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + bytes[pos + i]!;
    pos += size;
    const smallest = value < 24 ? 0 : value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x100000000 ? 4 : 8;
    if (smallest !== size) throw new Error(`argument ${value} at ${at} is not in its shortest form (${size} bytes)`);
    if (!Number.isSafeInteger(value)) throw new Error(`argument at ${at} is beyond 2^53`);
    return value;
  }

  function item(): unknown {
    need(1);
    const at = pos;
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 31;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 27) {
        need(8);
        const value = view.getFloat64(pos);
        pos += 8;
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) throw new Error(`integral ${value} written as a float at ${at}`);
        return value;
      }
      throw new Error(`major type 7 with additional information ${info} at ${at}`);
    }
    const arg = argument(info, at);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return -1 - arg;
      case 2:
        need(arg);
        return bytes.slice(pos, (pos += arg));
      case 3:
        need(arg);
        return text.decode(bytes.subarray(pos, (pos += arg)));
      case 4:
        return Array.from({ length: arg }, item);
      case 5: {
        const map: Record<string, unknown> = {};
        for (let i = 0; i < arg; i++) {
          const key = item();
          if (typeof key !== 'string') throw new Error(`map key ${String(key)} is not a text string`);
          Object.defineProperty(map, key, { value: item(), enumerable: true, writable: true, configurable: true });
        }
        return map;
      }
      default:
        throw new Error(`tag ${arg} at ${at}`);
    }
  }

  const value = item();
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} bytes after the item`);
  return value;
}
