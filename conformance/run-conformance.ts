import { resolveTarget, selectCases } from './engine.js';
import type { Category, ConformanceTarget } from './types.js';

export interface RunConformanceOptions {
  /** Register only these categories. */
  only?: Category[];
  /** Register only cases whose name contains one of these strings. */
  names?: string[];
}

/**
 * Registers the kit in the calling vitest file: one `describe` per transport and category, one
 * `it` per case. Await it at the top level of a test file:
 *
 *   await runConformance({ transport: 'my-transport', plugins: ['./dist/my-transport.js'] });
 *
 * Cases the transport's capabilities rule out are registered as passing tests named
 * "… — unsupported: <reason>" and annotated, so they show in every report instead of vanishing.
 * vitest is imported only here, lazily, so the CLI runs the kit without it.
 */
export async function runConformance(target: ConformanceTarget, options: RunConformanceOptions = {}): Promise<void> {
  const [{ registerSuite }, resolved] = await Promise.all([import('./vitest-suite.js'), resolveTarget(target)]);
  registerSuite(resolved, selectCases(resolved, options));
}
