/** Payload sizes: parsing what users type (`64`, `1KiB`, `64k`, `1MiB`) and printing them back. */

const SIZE = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i;
const MULTIPLIER: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 * 1024, mb: 1024 * 1024, mib: 1024 * 1024 };

export function parseSize(text: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a payload size; write e.g. 64, 64B, 1KiB, 64KiB or 1MiB`);
  const bytes = Number(match[1]) * MULTIPLIER[(match[2] ?? 'b').toLowerCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes > 64 * 1024 * 1024) throw new Error(`payload size ${text} is too large (at most 64 MiB)`);
  return bytes;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** 16500 -> "16.5k", 1234567 -> "1.23M", 950 -> "950". */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value >= 1e6) return `${trim(value / 1e6)}M`;
  if (value >= 1e3) return `${trim(value / 1e3)}k`;
  return value >= 100 ? value.toFixed(0) : trim(value);
}

function trim(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`;
}

/** Microseconds with a sensible number of digits. */
export function formatMicros(us: number | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return '—';
  return us >= 100 ? us.toFixed(0) : us.toFixed(1);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
