import type { BenchReport } from '../model.js';
import { machineLine, reportTables, settingsLine, type Table } from './tables.js';

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(table: Table): string {
  const align = table.columns.map((_, i) => (table.numeric.includes(i) ? '--:' : '---'));
  const lines = [
    `| ${table.columns.map(escapeCell).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** The report as markdown: machine and settings, then one table per mode, then notes. */
export function renderMarkdown(report: BenchReport): string {
  const parts = ['# spear-comm benchmark', '', `**Machine:** ${machineLine(report)}  `, `**Run:** ${settingsLine(report)}`];
  for (const table of reportTables(report)) {
    parts.push('', `## ${table.title}`, '', table.caption, '', markdownTable(table));
  }
  if (report.notes.length > 0) {
    parts.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`));
  }
  return `${parts.join('\n')}\n`;
}
