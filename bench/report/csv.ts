import { MODE_UNITS, type BenchReport } from '../model.js';

const COLUMNS = [
  'mode',
  'family',
  'case',
  'kind',
  'transport',
  'codec',
  'payload_bytes',
  'in_flight',
  'unit',
  'rate',
  'payload_MBps',
  'baseline',
  'ratio',
  'alt_baseline',
  'alt_ratio',
  'p50_us',
  'p99_us',
  'p99_ratio',
  'cpu_us_per_unit',
  'cpu_ratio',
  'rounds',
  'median_rme_pct',
  'samples',
  'in_process',
  'failed',
  'cpu',
  'cores',
  'node',
  'pinning',
  'started_at',
] as const;

/** RFC 4180: quote a field that holds a comma, quote or line break; double the quotes inside. */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(Math.round(value * 1e4) / 1e4) : '') : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per case; the machine is repeated on every row so that any row stands on its own. */
export function renderCsv(report: BenchReport): string {
  const m = report.machine;
  const lines = [COLUMNS.join(',')];
  for (const r of report.results) {
    const rmes = r.rounds.map((x) => x.rme).sort((a, b) => a - b);
    const row: Array<string | number | undefined> = [
      r.mode,
      r.family,
      r.name,
      r.kind,
      r.transport,
      r.codec,
      r.size,
      r.inFlight,
      MODE_UNITS[r.mode],
      r.rate,
      r.payloadMBps,
      r.baseline,
      r.ratio,
      r.altBaseline,
      r.altRatio,
      r.p50Us,
      r.p99Us,
      r.p99Ratio,
      r.cpuUs,
      r.cpuRatio,
      r.rounds.length,
      rmes[rmes.length >> 1],
      r.rounds.reduce((n, x) => n + x.samples, 0),
      r.inProcess ? 'yes' : 'no',
      r.failed,
      m.cpu,
      m.cores,
      m.node,
      m.pinning,
      report.startedAt,
    ];
    lines.push(row.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
