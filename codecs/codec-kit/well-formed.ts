// Binary codecs write strings as UTF-8, which cannot hold a lone UTF-16 surrogate (e.g. a string
// cut in the middle of an emoji). Written as is, it becomes bytes that strict decoders in other
// languages reject; these replace it with U+FFFD, as TextEncoder does.

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

function isWellFormed(value: unknown): boolean {
  return typeof value !== 'string' || (value as unknown as WellFormedString).isWellFormed();
}

/** `value`, with each lone surrogate replaced by U+FFFD (the same string when there is none). */
export function wellFormed(value: string): string {
  return isWellFormed(value) ? value : (value as unknown as WellFormedString).toWellFormed();
}

/** `map` with well-formed keys and values; the same object when nothing needed replacing. */
export function wellFormedMap(map: Record<string, string>): Record<string, string> {
  const keys = Object.keys(map);
  if (keys.every((key) => isWellFormed(key) && isWellFormed(map[key]))) return map;
  const out: Record<string, string> = {};
  for (const key of keys) {
    Object.defineProperty(out, wellFormed(key), { value: wellFormed(map[key]!), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
