import { beforeAll, describe, it } from 'vitest';
import { runCase, unsupportedReason, warmUp } from './engine.js';
import { describeFailures } from './report/pretty.js';
import type { ConformanceCase } from './case.js';
import { CATEGORIES, type ResolvedTarget } from './types.js';

/** Teardown closes with bounds of its own and the leak check waits up to a few seconds; vitest's limit must cover them. */
const TEARDOWN_BUDGET_MS = 30_000;

export function registerSuite(target: ResolvedTarget, cases: readonly ConformanceCase[], knownFailures: Record<string, string> = {}): void {
  // The leak check compares process-wide resource counts, so these cases never run concurrently.
  describe.sequential(`conformance: ${target.transport}${target.tls ? ' over TLS' : ''}`, () => {
    beforeAll(() => warmUp(target), 60_000);
    for (const category of CATEGORIES) {
      const selected = cases.filter((c) => c.category === category);
      if (selected.length === 0) continue;
      describe(category, () => {
        for (const kase of selected) {
          const reason = unsupportedReason(kase, target);
          const known = knownFailures[kase.name];
          if (reason !== undefined) {
            if (known !== undefined) {
              it(`${kase.name} — stale knownFailures entry`, () => {
                throw new Error(
                  `knownFailures lists this case ("${known}"), but it does not apply to ${target.transport} (${reason}): remove the entry`,
                );
              });
            } else {
              // Skipped, not passed: the capability manifest rules it out.
              it.skip(`${kase.name} — not applicable: ${reason}`, () => {});
            }
            continue;
          }
          const timeout = (kase.timeoutMs ?? target.caseTimeoutMs) + TEARDOWN_BUDGET_MS;
          if (known !== undefined) {
            it(
              `${kase.name} — known failure: ${known}`,
              async (t) => {
                const result = await runCase(kase, target);
                if (result.status === 'passed')
                  throw new Error(
                    `Stale knownFailures entry: this case was declared a known failure ("${known}") but it passes now: remove it from knownFailures`,
                  );
                if (result.status === 'unsupported')
                  throw new Error(
                    `Stale knownFailures entry: this case was declared a known failure ("${known}") but it does not apply (${result.reason}): remove it from knownFailures`,
                  );
                await t.annotate(`known failure: ${describeFailures(result)}`, 'known-failure');
              },
              timeout,
            );
            continue;
          }
          it(
            kase.name,
            async (t) => {
              const result = await runCase(kase, target);
              for (const note of result.notes ?? []) await t.annotate(note, 'notice');
              if (result.status === 'failed') throw new Error(describeFailures(result));
              // Found not to apply while running (e.g. an optional method missing): skipped, with the reason.
              if (result.status === 'unsupported') t.skip(`not applicable: ${result.reason}`);
            },
            timeout,
          );
        }
      });
    }
  });
}
