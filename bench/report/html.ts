import { MODE_TITLES, MODE_UNITS, MODES, type BenchReport, type CaseKind, type CaseResult } from '../model.js';
import { formatRate, formatRatio, formatSize } from '../units.js';
import { machineLine, reportTables, settingsLine, type Table } from './tables.js';

// A single self-contained page: inline SVG and CSS, no script and no network (benny's own chart
// page loads Chart.js from a CDN and shows nothing offline).

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const COLORS: Record<CaseKind, string> = { raw: '#8a8f98', 'codec-loop': '#8a8f98', frames: '#9db7e8', spear: '#2f6fdf', codec: '#2f9d6a' };

const ROW = 22;
const LABEL_WIDTH = 190;
const BAR_WIDTH = 420;
const VALUE_WIDTH = 190;

/** A horizontal bar chart of one mode at one size: every case, baselines in grey. */
export function barChart(title: string, unit: string, cases: readonly CaseResult[]): string {
  const max = Math.max(...cases.map((c) => c.rate), 1);
  const width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
  const height = 28 + cases.length * ROW + 6;
  const bars = cases.map((c, i) => {
    const y = 28 + i * ROW;
    const length = Math.max(1, (c.rate / max) * BAR_WIDTH);
    const ratio = c.ratio !== undefined ? ` · ${formatRatio(c.ratio)}` : '';
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${y + 14}" text-anchor="end">${escapeHtml(c.name)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 3}" width="${length.toFixed(1)}" height="${ROW - 6}" fill="${COLORS[c.kind]}"><title>${escapeHtml(`${c.name}: ${Math.round(c.rate)} ${unit}`)}</title></rect>`,
      `<text x="${(LABEL_WIDTH + length + 6).toFixed(1)}" y="${y + 14}">${escapeHtml(`${formatRate(c.rate)}${ratio}`)}</text>`,
    ].join('');
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="0" y="16" class="chart-title">${escapeHtml(title)}</text>${bars.join('')}</svg>`
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
svg .chart-title { font-weight: 600; }
.legend span { display: inline-block; width: 0.8em; height: 0.8em; margin: 0 0.3em 0 1em; vertical-align: middle; }
</style>
</head>
<body>
<h1>spear-comm benchmark</h1>
<p><strong>Machine:</strong> ${escapeHtml(machineLine(report))}<br><strong>Run:</strong> ${escapeHtml(settingsLine(report))}</p>
<p class="legend"><span style="background:${COLORS.spear}"></span>spear-comm <span style="background:${COLORS.frames}"></span>transport plugin alone (frames) <span style="background:${COLORS.raw}"></span>baseline (raw socket, or the codec alone for memory) <span style="background:${COLORS.codec}"></span>codec</p>
${charts.join('\n')}
${reportTables(report).map(htmlTable).join('\n')}
${notes ? `<h2>Notes</h2>\n<ul>\n${notes}\n</ul>` : ''}
</body>
</html>
`;
}
