import { parseBenchArgs, USAGE } from './options.js';
import { writeReports } from './report/write.js';

/**
 * benny (benchmark.js underneath) is a development tool of ~9 MB with its dependencies, so it is an
 * optional peer dependency rather than something every user of spear-comm installs: `spear-comm
 * bench` asks for it in one line when it is missing.
 */
async function bennyMissing(): Promise<boolean> {
  try {
    await import('benny');
    return false;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes("'benny'")) return true;
    throw err;
  }
}

/** `spear-comm bench`: runs the matrix, prints progress, writes the reports. Exit code 0 only if every case ran; a failed case is a row in the reports and exit code 1. */
export async function runBenchCommand(args: string[]): Promise<number> {
  if (args[0] === 'pool') return (await import('./pool/run.js')).runPoolBench(args.slice(1));
  if (args[0] === 'streams') return (await import('./streams.js')).runStreamBench(args.slice(1));
  const options = parseBenchArgs(args);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (await bennyMissing()) {
    process.stderr.write('spear-comm bench needs the package "benny", which is not installed: npm install --save-dev benny@3\n');
    return 2;
  }
  const { runBench } = await import('./run.js');
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
