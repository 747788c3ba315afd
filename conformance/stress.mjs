// Runs the whole conformance kit many times in a row against the built-in transports and reports
// the failures and the run time of one kit run per transport. Not part of `npm test`.
//
//   npm run build && node conformance/stress.mjs                 # 20 × memory, tcp; 5 × unix, websocket, grpc
//   node conformance/stress.mjs --runs 3 tcp unix                # 3 runs of each named transport
//   node conformance/stress.mjs --json stress.json               # also write the figures as JSON
//
// Exits 1 if any run had a failed case.
import { writeFileSync } from 'node:fs';

const { runSuite, ALL_CASES } = await import('../dist/conformance/index.js');

const DEFAULT_RUNS = { memory: 20, tcp: 20, unix: 5, websocket: 5, grpc: 5 };
/** As in conformance/builtin.test.ts: failures still expected, counted apart (and an entry that passes is reported as stale). */
const KNOWN_FAILURES = {};

const args = process.argv.slice(2);
let runsOverride;
let jsonOut;
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runsOverride = Number(args[++i]);
  else if (args[i] === '--json') jsonOut = args[++i];
  else names.push(args[i]);
}
const plan = Object.entries(DEFAULT_RUNS)
  .filter(([name]) => names.length === 0 || names.includes(name))
  .map(([name, runs]) => [name, runsOverride ?? runs]);

const fmt = (ms) => `${(ms / 1000).toFixed(1)} s`;
const summary = [];
const started = performance.now();
for (const [transport, runs] of plan) {
  const durations = [];
  const failures = [];
  const known = KNOWN_FAILURES[transport] ?? [];
  let knownFailed = 0;
  let stale = 0;
  let passed = 0;
  let unsupported = 0;
  for (let run = 1; run <= runs; run++) {
    const report = await runSuite({ transport });
    durations.push(report.durationMs);
    if (report.error) failures.push({ run, name: '(could not run)', message: report.error });
    for (const result of report.results) {
      if (known.includes(result.name)) {
        if (result.status === 'failed') knownFailed++;
        else stale++;
        continue;
      }
      if (result.status === 'failed')
        failures.push({ run, name: result.name, message: (result.failures ?? []).map((f) => `[${f.phase}] ${f.message}`).join(' | ') });
    }
    passed += report.summary.passed;
    unsupported += report.summary.unsupported;
    const failedNow = report.summary.failed;
    process.stderr.write(
      `${transport} run ${run}/${runs}: ${report.summary.passed} passed, ${failedNow} failed, ${report.summary.unsupported} unsupported (${fmt(report.durationMs)})\n`,
    );
    for (const f of failures.filter((x) => x.run === run)) process.stderr.write(`    ✗ ${f.name}: ${f.message.slice(0, 600)}\n`);
  }
  const sorted = [...durations].sort((a, b) => a - b);
  summary.push({
    transport,
    runs,
    failedRuns: new Set(failures.map((f) => f.run)).size,
    failedCases: failures.length,
    knownFailures: knownFailed,
    staleKnownFailures: stale,
    passedCases: passed,
    unsupportedCases: unsupported,
    minMs: Math.round(sorted[0]),
    medianMs: Math.round(sorted[Math.floor(sorted.length / 2)]),
    maxMs: Math.round(sorted.at(-1)),
    failures,
  });
}

console.log(`spear-comm conformance stress: ${ALL_CASES.length} cases per run, ${fmt(performance.now() - started)} in all`);
console.log('transport   runs  failed runs  failed cases  known failures  kit run time min / median / max');
for (const s of summary) {
  console.log(
    `${s.transport.padEnd(11)} ${String(s.runs).padStart(4)}  ${String(s.failedRuns).padStart(11)}  ${String(s.failedCases).padStart(12)}  ${String(s.knownFailures).padStart(14)}  ${fmt(s.minMs)} / ${fmt(s.medianMs)} / ${fmt(s.maxMs)}`,
  );
}
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ cases: ALL_CASES.length, summary }, null, 2)}\n`);
for (const s of summary.filter((x) => x.staleKnownFailures > 0))
  console.log(
    `${s.transport}: a known failure passed ${s.staleKnownFailures} time(s): remove it from KNOWN_FAILURES here and in builtin.test.ts`,
  );
process.exitCode = summary.some((s) => s.failedCases > 0 || s.staleKnownFailures > 0) ? 1 : 0;
