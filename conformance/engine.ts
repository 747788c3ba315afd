import { createKernel, invoke, registeredTransports } from 'spear-comm';
import { CaseNotApplicable, clip, ConformanceFailure, show, within } from './assert.js';
import { defaultAddress } from './addresses.js';
import { ALL_CASES } from './cases/index.js';
import { CaseContext } from './context.js';
import { describeResources, startTracking, stopTracking, waitForRelease } from './leaks.js';
import {
  CATEGORIES,
  type CaseFailure,
  type CaseResult,
  type Category,
  type ConformanceReport,
  type ConformanceTarget,
  type ResolvedTarget,
  type SuiteReport,
  type SuiteSummary,
} from './types.js';
import type { ConformanceCase } from './case.js';
import { KIT_VERSION } from './version.js';

const DEFAULT_CASE_TIMEOUT_MS = 20_000;
const DEFAULT_WAIT_MS = 10_000;
/** How long after teardown resources may take to disappear before they count as leaked. */
const LEAK_SETTLE_MS = 3_000;

export interface RunOptions {
  /** Run only these categories (intersected with the target's `only`). */
  only?: Category[];
  /** Run only cases whose name includes one of these strings. */
  names?: string[];
  /** The cases to run (default: the whole kit). */
  cases?: readonly ConformanceCase[];
  /** Stop at the first failed case. */
  bail?: boolean;
  /** Called when a suite's target is resolved and its cases are about to run. */
  onSuiteStart?(target: ResolvedTarget): void;
  /** Called as each case finishes (progress output). */
  onResult?(result: CaseResult): void;
}

/** Fills in a target's defaults from the registry: the transport's name, schemes, capabilities and a listen-URL function. */
export async function resolveTarget(target: ConformanceTarget): Promise<ResolvedTarget> {
  const plugins = target.plugins ?? [];
  // Building (and closing) a kernel loads the built-ins and the target's plugin modules.
  const kernel = await createKernel({ plugins });
  try {
    const entry = registeredTransports().find((e) =>
      typeof target.transport === 'string' ? e.meta.name === target.transport : e.plugin === target.transport,
    );
    if (!entry) {
      const names =
        registeredTransports()
          .map((e) => e.meta.name)
          .join(', ') || '(none)';
      throw new ConformanceFailure(
        typeof target.transport === 'string'
          ? `No transport named "${target.transport}" is registered (registered: ${names}); pass the module that registers it in \`plugins\``
          : `Class ${target.transport.name} is not a registered transport; decorate it with @Transport({ name, schemes })`,
      );
    }
    const name = entry.meta.name;
    const declared = kernel.transport(name).capabilities;
    const tls = target.tls !== undefined;
    const address = target.address ?? defaultAddress(entry.meta.schemes, tls);
    if (!address) {
      throw new ConformanceFailure(
        `The kit does not know how to listen on ${entry.meta.schemes.map((s) => `${s}://`).join(', ')} (transport "${name}"); give the target an \`address\` function returning a fresh listen URL, or export \`conformance = { "${name}": { address: () => '…' } }\` from the plugin module`,
      );
    }
    return {
      transport: name,
      schemes: [...entry.meta.schemes],
      plugins,
      capabilities: { ...declared, ...target.capabilities },
      address,
      ...(target.deadAddress ? { deadAddress: target.deadAddress } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
      extra: target.extra ?? {},
      codec: target.codec ?? 'json',
      only: target.only ?? [...CATEGORIES],
      caseTimeoutMs: target.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS,
      waitMs: target.waitMs ?? DEFAULT_WAIT_MS,
    };
  } finally {
    await kernel.close();
  }
}

/** The cases a run selects, in category order. */
export function selectCases(target: ResolvedTarget, options: RunOptions = {}): ConformanceCase[] {
  const categories = new Set(target.only.filter((c) => !options.only || options.only.includes(c)));
  const cases = (options.cases ?? ALL_CASES).filter(
    (c) => categories.has(c.category) && (!options.names || options.names.some((n) => c.name.includes(n))),
  );
  return CATEGORIES.flatMap((category) => cases.filter((c) => c.category === category));
}

/** Why a case does not apply to the target, or undefined when it does. */
export function unsupportedReason(kase: ConformanceCase, target: ResolvedTarget): string | undefined {
  return kase.requires?.(target.capabilities, target);
}

/**
 * Runs one case: a fresh kernel, the case, teardown of everything it opened, then the leak
 * check. Process-wide resource counts are compared, so cases must run one at a time.
 */
export async function runCase(kase: ConformanceCase, target: ResolvedTarget): Promise<CaseResult> {
  const base = { transport: target.transport, category: kase.category, name: kase.name };
  const reason = unsupportedReason(kase, target);
  if (reason !== undefined) return { ...base, status: 'unsupported', durationMs: 0, reason };

  const started = performance.now();
  const failures: CaseFailure[] = [];
  const record = (phase: CaseFailure['phase'], err: unknown, prefix = '') =>
    failures.push({
      phase,
      message: prefix + (err instanceof ConformanceFailure ? err.message : show(err)),
      ...(err instanceof Error && err.stack && !(err instanceof ConformanceFailure) ? { stack: err.stack } : {}),
    });
  const onRejection = (err: unknown) => record('run', err, 'unhandled promise rejection: ');
  const onException = (err: unknown) => record('run', err, 'uncaught exception: ');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);

  startTracking();
  let ctx: CaseContext | undefined;
  let notApplicable: string | undefined;
  try {
    ctx = await CaseContext.create(target);
    const timeoutMs = kase.timeoutMs ?? target.caseTimeoutMs;
    await within(kase.run(ctx), timeoutMs, 'the case', `the case did not finish within its ${timeoutMs} ms time limit`);
  } catch (err) {
    if (err instanceof CaseNotApplicable) notApplicable = err.message;
    else record('run', err);
  }
  if (ctx) failures.push(...(await ctx.teardown()));
  const settleMs = Math.min(LEAK_SETTLE_MS, target.waitMs);
  const leaked = await waitForRelease(settleMs);
  stopTracking();
  if (leaked) {
    failures.push({
      phase: 'leak',
      message: `still active ${settleMs} ms after everything was closed: ${describeResources(leaked)} (timers, sockets, servers or child processes that were not released)`,
    });
  }
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);

  const durationMs = performance.now() - started;
  const notes = ctx?.notes.length ? { notes: condenseNotes(ctx.notes) } : {};
  if (failures.length > 0) return { ...base, status: 'failed', durationMs, failures: condenseFailures(failures), ...notes };
  if (notApplicable !== undefined) return { ...base, status: 'unsupported', durationMs, reason: notApplicable, ...notes };
  return { ...base, status: 'passed', durationMs, ...notes };
}

/** At most this many distinct failures per case are kept; the rest are counted. */
const MAX_FAILURES = 8;
/** Longest message and stack kept per failure. */
const MAX_MESSAGE = 1_500;
const MAX_STACK = 1_200;

/**
 * Keeps a failing case's report to a few KB: identical messages collapsed into one with a count,
 * long messages and stacks cut (start and end kept), and only the first few distinct failures.
 */
export function condenseFailures(failures: readonly CaseFailure[]): CaseFailure[] {
  const distinct = new Map<string, { failure: CaseFailure; count: number }>();
  for (const f of failures) {
    const key = `${f.phase}\u0000${f.message}`;
    const seen = distinct.get(key);
    if (seen) seen.count++;
    else distinct.set(key, { failure: f, count: 1 });
  }
  const out: CaseFailure[] = [];
  for (const { failure, count } of [...distinct.values()].slice(0, MAX_FAILURES)) {
    out.push({
      phase: failure.phase,
      message: clip(failure.message, MAX_MESSAGE) + (count > 1 ? ` (×${count}: the same failure ${count} times)` : ''),
      ...(failure.stack ? { stack: clip(failure.stack, MAX_STACK) } : {}),
    });
  }
  if (distinct.size > MAX_FAILURES) {
    const left = [...distinct.values()].slice(MAX_FAILURES).reduce((n, d) => n + d.count, 0);
    out.push({ phase: 'run', message: `…and ${left} more failure(s) of ${distinct.size - MAX_FAILURES} other kind(s), not shown` });
  }
  return out;
}

function condenseNotes(notes: readonly string[]): string[] {
  const kept = notes.slice(0, 10).map((n) => clip(n, 500));
  if (notes.length > 10) kept.push(`…and ${notes.length - 10} more note(s)`);
  return kept;
}

/**
 * One listen, connect, request and close before the cases, unchecked: modules and process-wide
 * pools a transport creates on first use (and keeps) must not count as the first case's leak.
 */
export async function warmUp(target: ResolvedTarget): Promise<void> {
  let ctx: CaseContext | undefined;
  try {
    ctx = await CaseContext.create(target);
    const { client } = await ctx.channelPair({ handlers: { ping: (input) => input } });
    await invoke(client, 'ping', new Uint8Array([1]), { timeoutMs: 5_000 });
  } catch {
    // The cases will report whatever is wrong, with context.
  } finally {
    await ctx?.teardown();
  }
}

export function summarize(results: readonly CaseResult[]): SuiteSummary {
  const summary: SuiteSummary = { passed: 0, failed: 0, unsupported: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}

/** Runs the kit against one target and returns a structured report. Never throws for a failing transport. */
export async function runSuite(target: ConformanceTarget | ResolvedTarget, options: RunOptions = {}): Promise<SuiteReport> {
  const started = performance.now();
  let resolved: ResolvedTarget;
  try {
    resolved = isResolved(target) ? target : await resolveTarget(target);
  } catch (err) {
    const name = typeof target.transport === 'string' ? target.transport : target.transport.name;
    return {
      transport: name,
      schemes: [],
      capabilities: { maxFrameSize: 0, ordered: false, reliable: false, localOnly: false },
      address: '',
      durationMs: performance.now() - started,
      error: err instanceof Error ? err.message : String(err),
      results: [],
      summary: { passed: 0, failed: 1, unsupported: 0 },
    };
  }
  const cases = selectCases(resolved, options);
  options.onSuiteStart?.(resolved);
  if (cases.some((c) => unsupportedReason(c, resolved) === undefined)) await warmUp(resolved);
  const results: CaseResult[] = [];
  for (const kase of cases) {
    const result = await runCase(kase, resolved);
    results.push(result);
    options.onResult?.(result);
    if (options.bail && result.status === 'failed') break;
  }
  return {
    transport: resolved.transport,
    schemes: resolved.schemes,
    capabilities: resolved.capabilities,
    address: resolved.address(),
    durationMs: performance.now() - started,
    results,
    summary: summarize(results),
  };
}

/** Runs several targets one after another and combines their reports. */
export async function runSuites(
  targets: ReadonlyArray<ConformanceTarget | ResolvedTarget>,
  options: RunOptions = {},
): Promise<ConformanceReport> {
  const startedAt = new Date();
  const started = performance.now();
  const suites: SuiteReport[] = [];
  for (const target of targets) suites.push(await runSuite(target, options));
  const summary: SuiteSummary = { passed: 0, failed: 0, unsupported: 0 };
  for (const s of suites) {
    summary.passed += s.summary.passed;
    summary.failed += s.summary.failed;
    summary.unsupported += s.summary.unsupported;
  }
  return {
    tool: 'spear-comm conformance',
    version: KIT_VERSION,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    suites,
    summary,
    ok: summary.failed === 0 && suites.length > 0,
  };
}

function isResolved(target: ConformanceTarget | ResolvedTarget): target is ResolvedTarget {
  return (
    typeof target.transport === 'string' &&
    'schemes' in target &&
    Array.isArray(target.schemes) &&
    typeof target.address === 'function' &&
    'caseTimeoutMs' in target
  );
}
