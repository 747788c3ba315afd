import b from 'benny';
import type { CaseResult as BennyCaseResult } from 'benny/lib/internal/common-types.js';
import type { CaseMeta, RoundFigures } from './model.js';
import type { Workload } from './workloads.js';

/** The part of benchmark.js's Suite this module uses (benchmark ships no types). */
interface BenchmarkSuite {
  on(event: string, listener: () => void): unknown;
  abort(): unknown;
}

export interface SuiteCase {
  meta: CaseMeta;
  workload: Workload;
}

export interface SuiteOptions {
  /** benny `maxTime` per case, seconds. */
  maxTime: number;
  minSamples: number;
  /** A case whose operations stop completing for this long fails the run. */
  stallSeconds: number;
  /** Anything that should abort the suite when it rejects (e.g. the server process dying). */
  abort?: Promise<never>;
  /** The far process's CPU time so far (µs), to charge each case its share of the server's work. */
  serverCpuMicros?: () => Promise<number>;
  /** Called as each case finishes, in order (server CPU figures are filled in when the suite ends). */
  onCase?(meta: CaseMeta, figures: RoundFigures): void;
}

/**
 * A case of the suite failed (it threw, rejected or stalled); `caseName` says which, so a caller
 * can record that case as failed and go on with the others.
 */
export class CaseFailure extends Error {
  constructor(
    readonly caseName: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CaseFailure';
  }
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Runs cases as one benny suite and returns each case's figures, in order.
 *
 * Works around two benny traps: benny calls every case function once or twice while it works
 * out whether the case is async, so cases stay disarmed (no-ops) until the suite starts; and an
 * async case that rejects never finishes, so a failed operation never resolves, records the
 * error, and the suite is abandoned with that error instead.
 */
export async function runSuite(title: string, cases: readonly SuiteCase[], options: SuiteOptions): Promise<RoundFigures[]> {
  let armed = false;
  let completedOps = 0;
  let finished = 0;
  /** Set on the first failure: every case becomes a no-op and the benny suite is aborted, so nothing keeps running behind the caller's back. */
  let broken = false;
  let suiteRef: BenchmarkSuite | undefined;
  let rejectFailed!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => {});
  const fail = (error: Error) => {
    if (broken) return;
    broken = true;
    armed = false;
    rejectFailed(error);
    try {
      suiteRef?.abort();
    } catch {
      // Aborting is best effort; the cases are no-ops from now on either way.
    }
  };

  const opsPerCase = cases.map(() => 0);
  const adds = cases.map(({ meta, workload }, index) => {
    const failCase = (err: unknown): Promise<void> => {
      const reason = err instanceof Error ? err.message : String(err);
      fail(new CaseFailure(meta.name, `case "${meta.name}" in "${title}" failed: ${reason}`, { cause: err }));
      return new Promise<void>(() => {});
    };
    if (workload.async) {
      const op = workload.op;
      const tick = () => {
        completedOps++;
        opsPerCase[index]!++;
      };
      return b.add(meta.name, () => (armed ? op().then(tick, failCase) : Promise.resolve()));
    }
    const op = workload.op;
    return b.add(meta.name, () => {
      if (!armed) return;
      try {
        op();
        completedOps++;
        opsPerCase[index]!++;
      } catch (err) {
        void failCase(err);
      }
    });
  });

  const figures: RoundFigures[] = [];
  // CPU marks at the suite's start and after each case: case i used mark[i+1] - mark[i].
  let clientMark = 0;
  const serverMarks: Array<Promise<number>> = [];
  const markServer = () => {
    if (!options.serverCpuMicros) return;
    const mark = options.serverCpuMicros();
    mark.catch(() => {});
    serverMarks.push(mark);
  };
  // benchmark.js emits 'start' when the suite begins running, after benny's type detection.
  const arm = async () => (suite: BenchmarkSuite) => {
    suiteRef = suite;
    suite.on('start', () => {
      if (broken) return;
      armed = true;
      clientMark = cpuMicros();
      markServer();
    });
    return suite;
  };
  const collect = b.cycle((result: BennyCaseResult) => {
    if (broken) return undefined;
    const index = finished++;
    const now = cpuMicros();
    markServer();
    const { meta, workload } = cases[index]!;
    const summary = workload.latency?.summary();
    const units = opsPerCase[index]! * workload.unitsPerOp;
    const f: RoundFigures = {
      rate: workload.unitsPerOp / result.details.median,
      bennyOps: result.ops * workload.unitsPerOp,
      rme: result.margin,
      samples: result.samples,
      ...(summary && summary.count > 0 ? { p50Us: summary.p50 * 1000, p99Us: summary.p99 * 1000 } : {}),
      ...(units > 0 ? { clientCpuUs: (now - clientMark) / units } : {}),
    };
    clientMark = now;
    figures.push(f);
    options.onCase?.(meta, f);
    return undefined;
  });

  let lastSeen = -1;
  let stalledFor = 0;
  const watchdog = setInterval(() => {
    if (!armed) return;
    if (completedOps !== lastSeen) {
      lastSeen = completedOps;
      stalledFor = 0;
      return;
    }
    if (++stalledFor >= options.stallSeconds) {
      const name = cases[finished]?.meta.name ?? '(unknown)';
      fail(
        new CaseFailure(
          name,
          `case "${name}" in "${title}" completed no operation for ${options.stallSeconds} s; a message was lost or a peer hung`,
        ),
      );
    }
  }, 1000);

  try {
    await Promise.race([
      b.suite(title, ...adds, arm, collect, b.configure({ cases: { maxTime: options.maxTime, minSamples: options.minSamples } })),
      failed,
      ...(options.abort ? [options.abort] : []),
    ]);
  } finally {
    clearInterval(watchdog);
  }
  if (figures.length !== cases.length) throw new Error(`suite "${title}" finished ${figures.length} of ${cases.length} cases`);
  if (serverMarks.length === cases.length + 1) {
    const marks = await Promise.race([Promise.all(serverMarks), ...(options.abort ? [options.abort] : [])]);
    figures.forEach((f, i) => {
      const units = opsPerCase[i]! * cases[i]!.workload.unitsPerOp;
      if (units > 0) f.serverCpuUs = (marks[i + 1]! - marks[i]!) / units;
    });
  }
  return figures;
}
