import { MODE_TITLES, MODE_UNITS, MODES, type BenchReport, type CaseKind, type CaseResult } from '../model.js';
import { formatMicros, formatRate, formatRatio, formatSize } from '../units.js';
import { machineLine, reportTables, settingsLine, type Table } from './tables.js';

// A single self-contained page: inline SVG and CSS, no script and no network (benny's own chart
// page loads Chart.js from a CDN and shows nothing offline).

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const COLORS: Record<CaseKind, string> = { raw: '#8a8f98', 'codec-loop': '#8a8f98', frames: '#9db7e8', spear: '#2f6fdf', codec: '#2f9d6a' };
const FAILED_COLOR = '#c0392b';

const ROW = 22;
const HEADER_ROW = 20;
const LABEL_WIDTH = 200;
const BAR_WIDTH = 420;
const VALUE_WIDTH = 230;
const TOP = 28;
const AXIS = 18;

/** A log10 axis from a decade below half the smallest value to the decade above the largest. */
export interface LogAxis {
  min: number;
  max: number;
  /** x offset (0..BAR_WIDTH) of a value. */
  x(value: number): number;
  decades: number[];
}

export function logAxis(values: readonly number[]): LogAxis {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  // At least log10(2) of a decade below the smallest value, so that its bar is never a sliver.
  const lo = positive.length > 0 ? Math.floor(Math.log10(Math.min(...positive) / 2)) : 0;
  let hi = positive.length > 0 ? Math.ceil(Math.log10(Math.max(...positive))) : 1;
  if (hi <= lo) hi = lo + 1;
  const decades: number[] = [];
  for (let d = lo; d <= hi; d++) decades.push(10 ** d);
  return {
    min: 10 ** lo,
    max: 10 ** hi,
    x: (value) => (value > 0 ? Math.max(0, Math.min(1, (Math.log10(value) - lo) / (hi - lo))) * BAR_WIDTH : 0),
    decades,
  };
}

/** The cases of one chart, grouped by family in run order. */
function byFamily(cases: readonly CaseResult[]): Array<{ family: string; inProcess: boolean; cases: CaseResult[] }> {
  const groups = new Map<string, { family: string; inProcess: boolean; cases: CaseResult[] }>();
  for (const c of cases) {
    let g = groups.get(c.family);
    if (!g) {
      g = { family: c.family, inProcess: c.inProcess === true, cases: [] };
      groups.set(c.family, g);
    }
    g.cases.push(c);
  }
  return [...groups.values()];
}

function familyTitle(family: string, inProcess: boolean): string {
  if (family === 'codec') return 'codecs, no transport';
  return inProcess ? `${family} — in one process (client and server in the bench process)` : `${family} — two processes`;
}

/** A bar that is one row of a chart: the case name, the bar (or "failed"), and its text. */
interface BarRow {
  c: CaseResult;
  /** [value, class, colour] from back to front: the first is drawn first (longest). */
  bars: Array<[number, string]>;
  text: string;
  tooltip: string;
}

/**
 * One horizontal bar chart, grouped per family (transport): each group in a band with its name,
 * its baselines first (grey) and a dashed line at the baseline's value running through the
 * group, so every bar is read against the baseline it is compared with. The axis is
 * logarithmic so that in-process figures (~100k) and cross-process ones (~10k) are all readable.
 */
function groupedChart(
  title: string,
  cases: readonly CaseResult[],
  axisUnit: string,
  rowOf: (c: CaseResult) => BarRow | undefined,
  baselineValue: (c: CaseResult) => number | undefined,
): string {
  const groups = byFamily(cases)
    .map((g) => ({ ...g, rows: g.cases.flatMap((c) => (rowOf(c) ? [rowOf(c)!] : [])) }))
    .filter((g) => g.rows.length > 0);
  const axis = logAxis(groups.flatMap((g) => g.rows.flatMap((r) => r.bars.map(([v]) => v))));
  const width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
  const parts: string[] = [];
  let y = TOP;
  groups.forEach((g, gi) => {
    const height = HEADER_ROW + g.rows.length * ROW + 4;
    parts.push(
      `<rect class="band" x="0" y="${y}" width="${width}" height="${height}" fill="${gi % 2 === 0 ? '#f3f5f9' : '#ffffff'}" stroke="#dde1e8"/>`,
    );
    parts.push(`<text x="6" y="${y + 14}" class="group-title">${escapeHtml(familyTitle(g.family, g.inProcess))}</text>`);
    const rowsTop = y + HEADER_ROW;
    g.rows.forEach((row, i) => {
      const ry = rowsTop + i * ROW;
      const compared = row.c.baseline !== undefined;
      const label = compared ? `${row.c.name} ↦` : row.c.name;
      parts.push(`<text x="${LABEL_WIDTH - 8}" y="${ry + 14}" text-anchor="end">${escapeHtml(label)}</text>`);
      if (row.c.failed !== undefined) {
        parts.push(
          `<text x="${LABEL_WIDTH}" y="${ry + 14}" fill="${FAILED_COLOR}" class="failed">failed<title>${escapeHtml(`${row.c.name}: ${row.c.failed}`)}</title></text>`,
        );
        return;
      }
      let end = 0;
      for (const [value, colour] of row.bars) {
        const length = Math.max(1, axis.x(value));
        end = Math.max(end, length);
        parts.push(
          `<rect class="bar" x="${LABEL_WIDTH}" y="${ry + 3}" width="${length.toFixed(1)}" height="${ROW - 6}" fill="${colour}"><title>${escapeHtml(row.tooltip)}</title></rect>`,
        );
      }
      parts.push(`<text x="${(LABEL_WIDTH + end + 6).toFixed(1)}" y="${ry + 14}">${escapeHtml(row.text)}</text>`);
    });
    // The baseline of the group, as a dashed line through the rows compared with it.
    const base = g.cases.find((c) => c.baseline === undefined && c.failed === undefined && baselineValue(c) !== undefined);
    const value = base ? baselineValue(base) : undefined;
    if (base && value !== undefined && g.rows.length > 1) {
      const x = LABEL_WIDTH + axis.x(value);
      parts.push(
        `<line class="baseline" x1="${x.toFixed(1)}" y1="${rowsTop}" x2="${x.toFixed(1)}" y2="${rowsTop + g.rows.length * ROW}" stroke="#555" stroke-dasharray="3 3"><title>${escapeHtml(`baseline: ${base.name}`)}</title></line>`,
      );
    }
    y += height + 4;
  });
  // The log axis: a tick and label at each decade.
  const ticks = axis.decades.map((d) => {
    const x = LABEL_WIDTH + axis.x(d);
    return `<line x1="${x.toFixed(1)}" y1="${TOP}" x2="${x.toFixed(1)}" y2="${y}" stroke="#c8ccd4" stroke-width="0.5"/><text x="${x.toFixed(1)}" y="${y + 13}" text-anchor="middle" class="axis">${escapeHtml(formatRate(d))}</text>`;
  });
  const height = y + AXIS;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="0" y="16" class="chart-title">${escapeHtml(title)}</text>${parts.join('')}${ticks.join('')}` +
    `<text x="${LABEL_WIDTH + BAR_WIDTH}" y="16" text-anchor="end" class="axis">${escapeHtml(`${axisUnit}, log scale`)}</text></svg>`
  );
}

/** Rates of one mode at one size, grouped per family, on a log scale, each with its ratio to its baseline. */
export function barChart(title: string, unit: string, cases: readonly CaseResult[]): string {
  return groupedChart(
    title,
    cases,
    unit,
    (c) => {
      const ratios: string[] = [];
      if (c.ratio !== undefined) ratios.push(`${formatRatio(c.ratio)} ${c.baseline}`);
      if (c.altRatio !== undefined) ratios.push(`${formatRatio(c.altRatio)} batched`);
      return {
        c,
        bars: [[c.rate, COLORS[c.kind]]],
        text: `${formatRate(c.rate)}${ratios.length > 0 ? ` · ${ratios.join(', ')}` : ''}`,
        tooltip: `${c.name}: ${Math.round(c.rate)} ${unit}`,
      };
    },
    (c) => c.rate,
  );
}

/** p50 (dark) in front of p99 (light) of 1-in-flight round trips, µs, grouped per family on a log scale. */
export function latencyChart(title: string, cases: readonly CaseResult[]): string {
  return groupedChart(
    title,
    cases,
    'µs',
    (c) => {
      if (c.failed === undefined && (c.p50Us === undefined || c.p99Us === undefined)) return undefined;
      const p50 = c.p50Us ?? 0;
      const p99 = c.p99Us ?? 0;
      const colour = COLORS[c.kind];
      return {
        c,
        bars: [
          [p99, `${colour}66`],
          [p50, colour],
        ],
        text: `${formatMicros(p50)} / ${formatMicros(p99)} µs${c.p99Ratio !== undefined ? ` · p99 ${formatRatio(c.p99Ratio)}` : ''}`,
        tooltip: `${c.name}: p50 ${formatMicros(p50)} µs, p99 ${formatMicros(p99)} µs`,
      };
    },
    (c) => c.p99Us,
  );
}

function htmlTable(table: Table): string {
  const head = table.columns.map((c, i) => `<th${table.numeric.includes(i) ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('');
  const body = table.rows
    .map(
      (row) =>
        `<tr>${row.map((cell, i) => `<td${table.numeric.includes(i) ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<h2>${escapeHtml(table.title)}</h2>\n<p>${escapeHtml(table.caption)}</p>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function renderHtml(report: BenchReport): string {
  const charts: string[] = [];
  for (const mode of MODES) {
    const sizes = [...new Set(report.results.filter((r) => r.mode === mode).map((r) => r.size))].sort((a, b) => a - b);
    for (const size of sizes) {
      const cases = report.results.filter((r) => r.mode === mode && r.size === size);
      charts.push(
        `<figure>${barChart(`${MODE_TITLES[mode]} · ${formatSize(size)} (${MODE_UNITS[mode]})`, MODE_UNITS[mode], cases)}</figure>`,
      );
    }
    if (mode === 'rr1') {
      for (const size of sizes) {
        const cases = report.results.filter((r) => r.mode === mode && r.size === size);
        if (cases.some((c) => c.p99Us !== undefined))
          charts.push(`<figure>${latencyChart(`Latency, 1 in flight · ${formatSize(size)} (p50 dark, p99 light)`, cases)}</figure>`);
      }
    }
  }
  const notes = report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>spear-comm benchmark ${escapeHtml(report.startedAt)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #1d2330; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #dde1e8; padding: 0.25rem 0.6rem; text-align: left; white-space: nowrap; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5rem 0 1rem; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2330; }
svg .chart-title, svg .group-title { font-weight: 600; }
svg .axis { fill: #5b6270; font-size: 11px; }
.legend span { display: inline-block; width: 0.8em; height: 0.8em; margin: 0 0.3em 0 1em; vertical-align: middle; }
</style>
</head>
<body>
<h1>spear-comm benchmark</h1>
<p><strong>Machine:</strong> ${escapeHtml(machineLine(report))}<br><strong>Run:</strong> ${escapeHtml(settingsLine(report))}</p>
<p class="legend"><span style="background:${COLORS.spear}"></span>spear-comm <span style="background:${COLORS.frames}"></span>transport plugin alone (frames) <span style="background:${COLORS.raw}"></span>baseline (raw socket, or the codec alone for memory) <span style="background:${COLORS.codec}"></span>codec <span style="background:${FAILED_COLOR}"></span>failed case<br>
Log scale; each band is one transport with its baselines, the dashed line marks the baseline its other rows are compared with (ratio after each figure).</p>
${charts.join('\n')}
${reportTables(report).map(htmlTable).join('\n')}
${notes ? `<h2>Notes</h2>\n<ul>\n${notes}\n</ul>` : ''}
</body>
</html>
`;
}
