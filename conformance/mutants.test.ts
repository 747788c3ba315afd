import { describe, expect, it } from 'vitest';
import { ALL_CASES, runSuite, type SuiteReport } from 'spear-comm/conformance';
import './mutants/all.js';
import { MUTANTS } from './mutants/index.js';

/** An ordinary call: a subtle mutant must get this right, so its failure elsewhere is the kit finding its bug. */
const SMOKE = 'an unknown function fails with RemoteError UnknownFunction naming what is served';

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
const caseNamed = (name: string) => ALL_CASES.find((c) => c.name === name);

describe('the conformance kit catches every deliberately broken transport with the case named for it', () => {
  for (const mutant of MUTANTS) {
    it(`${mutant.transport} (${mutant.bug}) fails "${mutant.kills}"`, async () => {
      const kase = caseNamed(mutant.kills);
      expect(kase, `no kit case is named "${mutant.kills}"`).toBeDefined();
      const report = await runSuite(target(mutant.transport), { cases: [kase!] });
      expect(
        report.results.map((r) => r.status),
        `the case did not fail:\n${explain(report)}`,
      ).toEqual(['failed']);
      if (mutant.subtle) {
        const smoke = await runSuite(target(mutant.transport), { cases: [caseNamed(SMOKE)!] });
        expect(smoke.summary, `the mutant should work for an ordinary call:\n${explain(smoke)}`).toEqual({
          passed: 1,
          failed: 0,
          unsupported: 0,
        });
      }
    }, 60_000);
  }

  it('every mutant is a different broken transport, and the smoke case exists', () => {
    expect(new Set(MUTANTS.map((m) => m.file)).size).toBe(MUTANTS.length);
    expect(caseNamed(SMOKE)).toBeDefined();
  });

  it('the control (the same wrapper with no bug) passes every case', async () => {
    const report = await runSuite({ transport: 'mutant-control', address: () => 'mutant-control://' });
    expect(report.summary.failed, explain(report)).toBe(0);
    expect(report.summary.passed).toBeGreaterThan(45);
  }, 180_000);
});
