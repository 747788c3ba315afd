import { describe, expect, it } from 'vitest';
import { runSuite, type SuiteReport } from 'spear-comm/conformance';
import './mutants/all.js';
import { MUTANTS } from './mutants/index.js';

/** An ordinary call: a subtle mutant must get this right, so its failure elsewhere is the kit finding its bug. */
const SMOKE = 'an unknown function fails with RemoteError';

function explain(report: SuiteReport): string {
  return (
    report.error ??
    report.results
      .map((r) => `${r.status} ${r.category} / ${r.name}${r.failures ? `\n    ${r.failures.map((f) => f.message).join('\n    ')}` : ''}`)
      .join('\n')
  );
}

// In-process transports answer in microseconds: short waits keep a broken one from taking long to fail.
const target = (transport: string) => ({ transport, address: () => `${transport}://`, waitMs: 1_500, caseTimeoutMs: 5_000 });

describe('the conformance kit catches every deliberately broken transport', () => {
  for (const mutant of MUTANTS) {
    it(`${mutant.transport} (${mutant.bug}) fails ${mutant.category}`, async () => {
      const report = await runSuite(target(mutant.transport), { only: [mutant.category], bail: true });
      const failed = report.results.filter((r) => r.status === 'failed');
      expect(failed.length, `no ${mutant.category} case failed:\n${explain(report)}`).toBeGreaterThan(0);
      if (mutant.subtle) {
        const smoke = await runSuite(target(mutant.transport), { only: ['request-response'], names: [SMOKE] });
        expect(smoke.summary, `the mutant should work for an ordinary call:\n${explain(smoke)}`).toEqual({
          passed: 1,
          failed: 0,
          unsupported: 0,
        });
      }
    }, 120_000);
  }

  it('the control (the same wrapper with no bug) passes every case', async () => {
    const report = await runSuite({ transport: 'mutant-control', address: () => 'mutant-control://' });
    expect(report.summary.failed, explain(report)).toBe(0);
    expect(report.summary.passed).toBeGreaterThan(30);
  }, 120_000);
});
