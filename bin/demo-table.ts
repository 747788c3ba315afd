export interface DemoRow {
  instance: string;
  runtime: string;
  transport: string;
  codec: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

const COLUMNS: Array<{ title: string; value: (row: DemoRow) => string; right?: boolean }> = [
  { title: 'instance', value: (r) => r.instance },
  { title: 'runtime', value: (r) => r.runtime },
  { title: 'transport', value: (r) => r.transport },
  { title: 'codec', value: (r) => r.codec },
  { title: 'requests', value: (r) => String(r.requests), right: true },
  { title: 'errors', value: (r) => String(r.errors), right: true },
  { title: 'p50 ms', value: (r) => r.p50Ms.toFixed(3), right: true },
  { title: 'p99 ms', value: (r) => r.p99Ms.toFixed(3), right: true },
];

/** A plain-text table, one row per instance. */
export function renderTable(rows: DemoRow[]): string {
  const cells = [COLUMNS.map((c) => c.title), ...rows.map((row) => COLUMNS.map((c) => c.value(row)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  const format = (line: string[]) =>
    line
      .map((cell, i) => (COLUMNS[i]!.right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const [header, ...body] = cells;
  return [format(header!), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(format)].join('\n') + '\n';
}
