// nats rows of `spear-comm bench`: spear-comm over nats and its raw baseline (plain NATS request/reply
// with the same client) through one nats-server the run starts. Needs `npm run build` (the bench server runs from dist/).
import { expect, it } from 'vitest';
import { describeNats } from '../test/nats/support.js';

// The bench server runs from dist/, so the run does too (the bench's own tests use in-process transports only).
const dist = (file: string) => new URL(`../dist/bench/${file}`, import.meta.url).href;
const { parseBenchArgs } = (await import(dist('options.js'))) as typeof import('./options.js');
const { runBench } = (await import(dist('run.js'))) as typeof import('./run.js');

describeNats('bench: nats rows', () => {
  it('measures nats with raw NATS request/reply as its baseline in the same run', async () => {
    const saved = process.env.SPEAR_NATS_URL;
    delete process.env.SPEAR_NATS_URL;
    try {
      const options = parseBenchArgs([
        '--transports',
        'nats',
        '--codecs',
        'json',
        '--sizes',
        '64',
        '--modes',
        'rr1,rr64',
        '--time',
        '0.05',
        '--no-pin',
      ]);
      const report = await runBench({ ...options, minSamples: 2 }, { log: () => {} });
      const rows = report.results.map((r) => `${r.name} ${r.mode}`);
      expect(rows).toEqual(expect.arrayContaining(['raw nats rr1', 'nats/json rr1', 'raw nats rr64', 'nats/json rr64']));
      for (const row of report.results) {
        expect(row.failed, `${row.name} ${row.mode}`).toBeUndefined();
        expect(row.rate).toBeGreaterThan(0);
      }
      expect(report.results.find((r) => r.name === 'nats/json')!.baseline).toBe('raw nats');
      expect(report.notes.join(' ')).toMatch(/one nats-server/);
      // The run's own nats-server is gone and the environment is as it was.
      expect(process.env.SPEAR_NATS_URL).toBeUndefined();
    } finally {
      if (saved !== undefined) process.env.SPEAR_NATS_URL = saved;
    }
  });
});
