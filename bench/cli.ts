import { parseBenchArgs, USAGE } from './options.js';
import { writeReports } from './report/write.js';
import { runBench } from './run.js';

/** `spear-comm bench`: runs the matrix, prints progress, writes the reports. Exit code 0 only if every case ran; a failed case is a row in the reports and exit code 1. */
export async function runBenchCommand(args: string[]): Promise<number> {
  if (args[0] === 'streams') return (await import('./streams.js')).runStreamBench(args.slice(1));
  const options = parseBenchArgs(args);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const report = await runBench(options, { log: (line) => process.stdout.write(`${line}\n`) });
  const paths = await writeReports(report, options.out);
  process.stdout.write(`\nReports:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
  const failed = report.results.filter((r) => r.failed !== undefined);
  if (failed.length > 0) {
    process.stderr.write(`\n${failed.length} case${failed.length > 1 ? 's' : ''} failed (see the reports):\n`);
    for (const r of failed) process.stderr.write(`  ${r.name} ${r.mode} ${r.size} B: ${r.failed}\n`);
    return 1;
  }
  return 0;
}
