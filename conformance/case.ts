import type { CaseContext } from './context.js';
import type { Capabilities, Category, ResolvedTarget } from './types.js';

/** One test of the kit: plain data plus a function, so vitest and the CLI run the very same cases. */
export interface ConformanceCase {
  category: Category;
  name: string;
  /** Why this case does not apply to a transport with these capabilities; `undefined` when it does. */
  requires?(caps: Capabilities, target: ResolvedTarget): string | undefined;
  /** Overrides the target's case timeout (for cases that wait on purpose). */
  timeoutMs?: number;
  run(ctx: CaseContext): Promise<void>;
}
