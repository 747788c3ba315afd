import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LatencyRecorder } from 'spear-comm';

describe('LatencyRecorder', () => {
  it('reports zeros before anything is recorded', () => {
    expect(new LatencyRecorder().summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });

  it('keeps percentiles ordered, never above the max, and within 0.1 % of the exact value', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 }), (values) => {
        const recorder = new LatencyRecorder();
        for (const v of values) recorder.recordMs(v);
        const s = recorder.summary();
        expect(s.count).toBe(values.length);
        expect(s.p50).toBeLessThanOrEqual(s.p95);
        expect(s.p95).toBeLessThanOrEqual(s.p99);
        expect(s.p99).toBeLessThanOrEqual(s.max);
        const sorted = values.map((v) => Math.max(1, Math.round(v * 1000)) / 1000).sort((a, b) => a - b);
        const exactP50 = sorted[Math.ceil(0.5 * sorted.length) - 1]!;
        expect(Math.abs(s.p50 - exactP50)).toBeLessThanOrEqual(exactP50 * 0.001 + 0.001);
        expect(Math.abs(s.max - sorted[sorted.length - 1]!)).toBeLessThanOrEqual(sorted[sorted.length - 1]! * 0.001 + 0.001);
      }),
      { numRuns: 200 },
    );
  });
});
