import { resolveTarget, selectCases } from './engine.js';
import type { Category, ConformanceTarget } from './types.js';

export interface RunConformanceOptions {
  /** Register only these categories. */
  only?: Category[];
  /** Register only cases whose name contains one of these strings. */
  names?: string[];
  /**
   * Cases this transport is known to fail, by case name, with the reason. Each still runs, and its
   * test passes only while the case fails (named "… — known failure: <reason>", with the failure
   * as an annotation): a gap stays visible, and the test turns red when it is fixed, so the entry
   * gets removed. A name that matches no case is an error.
   */
  knownFailures?: Record<string, string>;
}

/**
 * Registers the kit in the calling vitest file: one `describe` per transport and category, one
 * `it` per case. Await it at the top level of a test file of its own.
 *
 * Cases the transport's capabilities rule out are registered as passing tests named
 * "… — unsupported: <reason>" and annotated, so they show in every report instead of vanishing.
 * vitest is imported only here, lazily, so the CLI runs the kit without it
 * (`npx spear-comm conformance ./dist/my-transport.js` runs the same cases outside vitest).
 *
 * @example
 * ```ts
 * // my-transport.conformance.test.ts
 * import { runConformance } from 'spear-comm/conformance';
 *
 * await runConformance({
 *   transport: 'my-transport',               // the name registered with @Transport
 *   plugins: ['./dist/my-transport.js'],     // modules to import first
 *   address: () => 'mine://127.0.0.1:0',     // a fresh URL to listen on
 * });
 * ```
 */
export async function runConformance(target: ConformanceTarget, options: RunConformanceOptions = {}): Promise<void> {
  const [{ registerSuite }, resolved] = await Promise.all([import('./vitest-suite.js'), resolveTarget(target)]);
  const cases = selectCases(resolved, options);
  const unknown = Object.keys(options.knownFailures ?? {}).filter((name) => !cases.some((c) => c.name === name));
  if (unknown.length > 0) throw new Error(`knownFailures names no selected case: ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  registerSuite(resolved, cases, options.knownFailures ?? {});
}
