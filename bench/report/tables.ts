import { MODE_TITLES, MODE_UNITS, MODES, type BenchReport, type CaseResult, type Mode } from '../model.js';
import { formatMicros, formatRate, formatRatio, formatSize } from '../units.js';

/** A table both the markdown and the HTML writer render. */
export interface Table {
  title: string;
  /** One sentence under the title: what the numbers are. */
  caption: string;
  columns: string[];
  /** Columns (by index) that hold numbers and are right-aligned. */
  numeric: number[];
  rows: string[][];
}

/** Rows in run order, one per case name within each family. */
function rowsOf(results: readonly CaseResult[], mode: Mode): CaseResult[][] {
  const byRow = new Map<string, CaseResult[]>();
  for (const r of results) {
    if (r.mode !== mode) continue;
    const key = `${r.family}|${r.name}`;
    const row = byRow.get(key) ?? [];
    row.push(r);
    byRow.set(key, row);
  }
  return [...byRow.values()];
}

function sizesOf(results: readonly CaseResult[], mode: Mode): number[] {
  return [...new Set(results.filter((r) => r.mode === mode).map((r) => r.size))].sort((a, b) => a - b);
}

function baselineLabel(r: CaseResult): string {
  return r.inProcess ? `${r.baseline ?? '—'} (in one process)` : (r.baseline ?? '—');
}

function rateCell(r: CaseResult | undefined): string {
  if (!r) return '';
  if (r.failed !== undefined) return 'failed';
  let cell = formatRate(r.rate);
  const ratios: string[] = [];
  if (r.ratio !== undefined) ratios.push(formatRatio(r.ratio));
  if (r.altRatio !== undefined) ratios.push(`${formatRatio(r.altRatio)} batched`);
  if (ratios.length > 0) cell += ` (${ratios.join(', ')})`;
  return cell;
}

function latencyCell(r: CaseResult | undefined): string {
  if (r?.failed !== undefined) return 'failed';
  if (!r || r.p50Us === undefined) return '';
  const ratio = r.p99Ratio !== undefined ? ` (${formatRatio(r.p99Ratio)})` : '';
  return `${formatMicros(r.p50Us)} / ${formatMicros(r.p99Us)}${ratio}`;
}

function modeTable(results: readonly CaseResult[], mode: Mode): Table | undefined {
  const sizes = sizesOf(results, mode);
  if (sizes.length === 0) return undefined;
  const rows = rowsOf(results, mode).map((row) => {
    const first = row[0]!;
    return [first.name, baselineLabel(first), ...sizes.map((size) => rateCell(row.find((r) => r.size === size)))];
  });
  const vs = mode === 'codec' ? 'the json codec' : 'the baseline measured right next to it in the same round';
  return {
    title: MODE_TITLES[mode],
    caption: `${MODE_UNITS[mode]}, median over rounds; (n×) is the ratio to ${vs}${mode === 'rr64' || mode === 'oneway' ? '; "batched" compares with the raw client that writes the frames of one event-loop turn at once' : ''}.`,
    columns: ['case', 'compared with', ...sizes.map(formatSize)],
    numeric: sizes.map((_, i) => i + 2),
    rows,
  };
}

function latencyTable(results: readonly CaseResult[]): Table | undefined {
  const sizes = sizesOf(results, 'rr1');
  if (sizes.length === 0) return undefined;
  const rows = rowsOf(results, 'rr1')
    .filter((row) => row.some((r) => r.p50Us !== undefined || (r.failed !== undefined && r.kind !== 'codec-loop')))
    .map((row) => {
      const first = row[0]!;
      return [first.name, baselineLabel(first), ...sizes.map((size) => latencyCell(row.find((r) => r.size === size)))];
    });
  return {
    title: 'Latency, 1 in flight',
    caption:
      "p50 / p99 of single round trips in µs (HDR histogram), median over rounds; (n×) is p99 over the baseline's p99 in the same round.",
    columns: ['case', 'compared with', ...sizes.map(formatSize)],
    numeric: sizes.map((_, i) => i + 2),
    rows,
  };
}

const CPU_UNIT: Record<Mode, string> = { rr1: 'round trip', rr64: 'request', oneway: 'message', codec: 'encode+decode' };

function cpuCell(r: CaseResult | undefined): string {
  if (r?.failed !== undefined) return 'failed';
  if (!r || r.cpuUs === undefined) return '';
  return `${formatMicros(r.cpuUs)}${r.cpuRatio !== undefined ? ` (${formatRatio(r.cpuRatio)})` : ''}`;
}

function cpuTable(results: readonly CaseResult[], mode: Mode): Table | undefined {
  const sizes = sizesOf(results, mode);
  const rows = rowsOf(results, mode).filter((row) => row.some((r) => r.cpuUs !== undefined || r.failed !== undefined));
  if (sizes.length === 0 || rows.length === 0) return undefined;
  return {
    title: `CPU per ${CPU_UNIT[mode]}: ${MODE_TITLES[mode].toLowerCase()}`,
    caption:
      'µs of CPU time per unit, client and server process together (in-process cases: the one process), median over rounds; ' +
      "(n×) is the ratio to the baseline's CPU time in the same round. Waiting costs no CPU, so these figures suffer less from other load on the machine than rates do.",
    columns: ['case', 'compared with', ...sizes.map(formatSize)],
    numeric: sizes.map((_, i) => i + 2),
    rows: rows.map((row) => [row[0]!.name, baselineLabel(row[0]!), ...sizes.map((size) => cpuCell(row.find((r) => r.size === size)))]),
  };
}

export function reportTables(report: BenchReport): Table[] {
  const tables: Table[] = [];
  for (const mode of MODES) {
    const table = modeTable(report.results, mode);
    if (table) tables.push(table);
    if (mode === 'rr1') {
      const latency = latencyTable(report.results);
      if (latency) tables.push(latency);
    }
  }
  for (const mode of MODES) {
    if (mode === 'codec') continue;
    const table = cpuTable(report.results, mode);
    if (table) tables.push(table);
  }
  return tables;
}

export function machineLine(report: BenchReport): string {
  const m = report.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.totalMemoryGiB} GiB; Node ${m.node} (V8 ${m.v8}); ${m.platform}; ${m.pinning}`;
}

export function settingsLine(report: BenchReport): string {
  const s = report.settings;
  const commit = report.machine.gitCommit ? ` at ${report.machine.gitCommit}` : '';
  return (
    `spear-comm ${report.machine.spearCommVersion}${commit}; started ${report.startedAt}, took ${Math.round(report.durationSeconds)} s; ` +
    `${s.rounds} round${s.rounds > 1 ? 's' : ''} × ${s.caseSeconds} s per case (benny, min ${s.minSamples} samples)${s.quick ? ', --quick' : ''}; ` +
    `load average ${m1(report.machine.loadAverageStart)} → ${m1(report.machine.loadAverageEnd)}`
  );
}

function m1(n: number): string {
  return n.toFixed(2);
}
