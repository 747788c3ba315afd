import { describe, expect, it } from 'vitest';
import type { BenchReport, CaseResult } from './model.js';
import { csvField, renderCsv } from './report/csv.js';
import { renderHtml } from './report/html.js';
import { renderMarkdown } from './report/markdown.js';

function result(fields: Partial<CaseResult> & Pick<CaseResult, 'name' | 'kind' | 'mode' | 'size' | 'rate'>): CaseResult {
  return {
    family: 'tcp',
    inFlight: fields.mode === 'rr64' ? 64 : 1,
    payloadMBps: (fields.rate * fields.size) / 1e6,
    rounds: [{ rate: fields.rate, bennyOps: fields.rate, rme: 1.5, samples: 7 }],
    ...fields,
  };
}

const REPORT: BenchReport = {
  tool: 'spear-comm bench',
  startedAt: '2026-11-23T08:00:00.000Z',
  durationSeconds: 95.2,
  machine: {
    cpu: 'AMD EPYC 7B13, 64-Core',
    cores: 2,
    node: 'v20.20.2',
    v8: '11.3',
    platform: 'linux 6.1 x64',
    totalMemoryGiB: 8,
    loadAverageStart: 1.2,
    loadAverageEnd: 1.4,
    pinning: 'server on CPU 0, client on CPU 1 (taskset)',
    spearCommVersion: '0.1.0',
  },
  settings: {
    transports: ['tcp', 'memory'],
    codecs: ['json', 'cbor'],
    sizes: [64, 1024],
    modes: ['rr1', 'rr64', 'codec'],
    rounds: 3,
    caseSeconds: 2,
    minSamples: 5,
    quick: false,
    plugins: [],
  },
  results: [
    result({ name: 'raw tcp', kind: 'raw', transport: 'tcp', mode: 'rr1', size: 64, rate: 16500, p50Us: 60, p99Us: 90 }),
    result({
      name: 'tcp/cbor',
      kind: 'spear',
      transport: 'tcp',
      codec: 'cbor',
      baseline: 'raw tcp',
      mode: 'rr1',
      size: 64,
      rate: 14900,
      ratio: 0.903,
      p50Us: 66,
      p99Us: 120,
      p99Ratio: 1.333,
    }),
    result({ name: 'raw tcp', kind: 'raw', transport: 'tcp', mode: 'rr1', size: 1024, rate: 15000, p50Us: 64, p99Us: 95 }),
    result({
      name: 'tcp/cbor',
      kind: 'spear',
      transport: 'tcp',
      codec: 'cbor',
      baseline: 'raw tcp',
      mode: 'rr1',
      size: 1024,
      rate: 13000,
      ratio: 0.867,
      p50Us: 70,
      p99Us: 130,
      p99Ratio: 1.37,
    }),
    result({ name: 'raw tcp', kind: 'raw', transport: 'tcp', mode: 'rr64', size: 64, rate: 178000, cpuUs: 11.2 }),
    result({ name: 'raw tcp (batched)', kind: 'raw', transport: 'tcp', mode: 'rr64', size: 64, rate: 614000, cpuUs: 3.2 }),
    result({
      name: 'tcp/cbor',
      kind: 'spear',
      transport: 'tcp',
      codec: 'cbor',
      baseline: 'raw tcp',
      altBaseline: 'raw tcp (batched)',
      mode: 'rr64',
      size: 64,
      rate: 190000,
      ratio: 1.067,
      altRatio: 0.309,
      cpuUs: 10.4,
      cpuRatio: 0.929,
    }),
    result({ family: 'codec', name: 'json', kind: 'codec', codec: 'json', mode: 'codec', size: 64, rate: 300000 }),
    result({
      family: 'codec',
      name: 'cbor <fast>',
      kind: 'codec',
      codec: 'cbor',
      baseline: 'json',
      mode: 'codec',
      size: 64,
      rate: 900000,
      ratio: 3,
    }),
  ],
  notes: ['The grpc transport is not installed: only its raw baseline was measured.'],
};

/** Splits one CSV record per RFC 4180 (quoted fields may hold commas and doubled quotes). */
function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (line[quote + 1] === '"') {
          value += line.slice(i, quote + 1);
          i = quote + 2;
        } else {
          value += line.slice(i, quote);
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

describe('CSV report', () => {
  it('has one record per result, each with as many fields as the header, machine on every row', () => {
    const lines = renderCsv(REPORT).trimEnd().split('\r\n');
    const header = parseCsvLine(lines[0]!);
    expect(lines).toHaveLength(REPORT.results.length + 1);
    for (const line of lines.slice(1)) {
      const fields = parseCsvLine(line);
      expect(fields).toHaveLength(header.length);
      const row = Object.fromEntries(header.map((h, i) => [h, fields[i]]));
      expect(row['cpu']).toBe('AMD EPYC 7B13, 64-Core');
      expect(row['pinning']).toBe('server on CPU 0, client on CPU 1 (taskset)');
      expect(row['node']).toBe('v20.20.2');
    }
    const cbor = Object.fromEntries(header.map((h, i) => [h, parseCsvLine(lines[2]!)[i]]));
    expect(cbor).toMatchObject({
      case: 'tcp/cbor',
      mode: 'rr1',
      payload_bytes: '64',
      ratio: '0.903',
      baseline: 'raw tcp',
      p99_ratio: '1.333',
      unit: 'round trips/s',
    });
    const rr64 = Object.fromEntries(header.map((h, i) => [h, parseCsvLine(lines[7]!)[i]]));
    expect(rr64).toMatchObject({
      case: 'tcp/cbor',
      mode: 'rr64',
      in_flight: '64',
      alt_baseline: 'raw tcp (batched)',
      alt_ratio: '0.309',
      cpu_us_per_unit: '10.4',
      cpu_ratio: '0.929',
    });
  });

  it('quotes fields with commas, quotes and line breaks', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
  });
});

describe('markdown report', () => {
  const md = renderMarkdown(REPORT);

  it('records the machine and the run settings', () => {
    expect(md).toContain('AMD EPYC 7B13, 64-Core, 2 cores');
    expect(md).toContain('Node v20.20.2');
    expect(md).toContain('3 rounds × 2 s per case');
  });

  it('renders well-formed tables with a ratio next to every compared figure', () => {
    const tables = md.split('\n## ').slice(1);
    expect(tables.map((t) => t.split('\n')[0])).toEqual([
      'Request/response, 1 in flight',
      'Latency, 1 in flight',
      'Request/response, 64 in flight',
      'Codec encode+decode (no transport)',
      'CPU per request: request/response, 64 in flight',
      'Notes',
    ]);
    for (const table of tables.slice(0, 5)) {
      const rows = table.split('\n').filter((l) => l.startsWith('|'));
      const width = rows[0]!.split(' | ').length;
      expect(rows.length).toBeGreaterThan(2);
      for (const row of rows) expect(row.split(' | ')).toHaveLength(width);
      expect(rows[1]).toMatch(/^\| --- \| --- \|( --: \|)+$/);
    }
    expect(md).toContain('| tcp/cbor | raw tcp | 14.9k (0.90×) | 13.0k (0.87×) |');
    expect(md).toContain('| tcp/cbor | raw tcp | 190k (1.07×, 0.31× batched) |');
    expect(md).toContain('| tcp/cbor | raw tcp | 66.0 / 120 (1.33×) | 70.0 / 130 (1.37×) |');
    expect(md).toContain('| cbor <fast> | json | 900k (3.00×) |');
    expect(md).toContain('| tcp/cbor | raw tcp | 10.4 (0.93×) |');
    expect(md).toContain('| raw tcp (batched) | — | 3.2 |');
    expect(md).toContain('- The grpc transport is not installed');
  });
});

describe('HTML report', () => {
  const html = renderHtml(REPORT);

  it('works offline: no script and nothing loaded from the network', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)=/i);
    expect(html.match(/https?:\/\//g)).toEqual(Array(html.match(/<svg/g)!.length).fill('http://'));
    expect(html).toContain('xmlns="http://www.w3.org/2000/svg"');
  });

  it('draws one chart per mode and size with a bar per case, a latency chart per rr1 size, and escapes names', () => {
    const latencyCases = REPORT.results.filter((r) => r.p99Us !== undefined).length;
    expect(html.match(/<svg/g)).toHaveLength(4 + 2);
    // One bar per case in the rate charts, and a p99 and a p50 bar per case in the latency charts.
    expect(html.match(/class="bar"/g)).toHaveLength(REPORT.results.length + 2 * latencyCases);
    expect(html).toContain('Latency, 1 in flight · 64 B');
    expect(html).toContain('cbor &lt;fast&gt;');
    expect(html).not.toContain('cbor <fast>');
    expect(html).toContain('AMD EPYC 7B13, 64-Core');
  });

  it('uses a log scale, so an in-process rate 40 times a cross-process one still leaves the small bar readable', () => {
    const mixed: BenchReport = {
      ...REPORT,
      results: [
        result({ name: 'raw tcp', kind: 'raw', transport: 'tcp', mode: 'rr1', size: 64, rate: 10_000 }),
        result({ family: 'memory', inProcess: true, name: 'memory/cbor', kind: 'spear', mode: 'rr1', size: 64, rate: 400_000 }),
      ],
    };
    const page = renderHtml(mixed);
    const widths = [...page.matchAll(/class="bar" x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    // Linear, the small bar would be 1/40 of the big one; on the log axis (10^3..10^6) it is 1/3.
    expect(widths[0]! / widths[1]!).toBeGreaterThan(0.25);
    expect(page).toContain('memory — in one process');
    expect(page).toContain('tcp — two processes');
    expect(page).toContain('log scale');
  });

  it('ties each group to its baseline with a line at the baseline figure, and shows a failed case as failed', () => {
    const page = renderHtml({
      ...REPORT,
      results: [
        ...REPORT.results,
        result({
          name: 'tcp/json',
          kind: 'spear',
          codec: 'json',
          baseline: 'raw tcp',
          mode: 'rr1',
          size: 64,
          rate: 0,
          failed: 'peer went away',
        }),
      ],
    });
    expect(page).toMatch(/class="baseline"[^>]*><title>baseline: raw tcp<\/title>/);
    expect(page).toMatch(/class="failed">failed<title>tcp\/json: peer went away<\/title>/);
    const md = renderMarkdown({
      ...REPORT,
      results: [
        ...REPORT.results,
        result({ name: 'tcp/json', kind: 'spear', baseline: 'raw tcp', mode: 'rr1', size: 64, rate: 0, failed: 'x' }),
      ],
    });
    expect(md).toContain('| tcp/json | raw tcp | failed |');
  });
});
