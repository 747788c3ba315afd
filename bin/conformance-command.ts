import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILTIN_PLUGINS, registeredTransports } from 'spear-comm';
import {
  CATEGORIES,
  describeFailures,
  formatReport,
  formatResultLine,
  formatSuiteHeader,
  REPORTERS,
  runSuites,
  type Category,
  type ConformanceHints,
  type ConformanceTarget,
  type ReporterName,
} from 'spear-comm/conformance';

const USAGE = `Usage: spear-comm conformance <module...> [options]

Loads each module, finds every transport it registers with @Transport, runs the
conformance kit against each one and prints a report. Exit code 0 only if every
applicable case passed (1: a case failed, 2: bad usage or a module did not load).

A module may export \`conformance\` = { "<transport name>": { address: () => "<fresh listen URL>", ... } }
for transports whose URL scheme the kit does not know (tcp, unix, ws, grpc and memory it knows).

Options:
  --reporter pretty|json|junit   Report format (default pretty)
  --out FILE                     Write the report to FILE (pretty progress still goes to stdout)
  --only CATEGORIES              Comma-separated categories to run: ${CATEGORIES.join(', ')}
  --transport NAME               Test only this registered transport (repeatable)
  --bail                         Stop a transport's suite at its first failure
  --wait-ms N                    How long a case waits for something that should happen (default 10000)
  --help                         Show this help

Examples:
  spear-comm conformance ./dist/my-transport.js
  spear-comm conformance spear-comm/plugins/tcp --only framing,timeout --reporter junit --out conformance.xml
`;

class UsageError extends Error {}

function parseCategories(value: string | undefined): Category[] | undefined {
  if (value === undefined) return undefined;
  const wanted = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((c) => !(CATEGORIES as readonly string[]).includes(c));
  if (unknown.length > 0 || wanted.length === 0)
    throw new UsageError(
      `--only: unknown categor${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ') || '(none given)'}; choose from ${CATEGORIES.join(', ')}`,
    );
  return wanted as Category[];
}

/** Imports a module the way the user means it: files relative to the working directory, package names from its node_modules. */
async function importModule(specifier: string): Promise<Record<string, unknown>> {
  if (specifier.startsWith('.') || isAbsolute(specifier) || existsSync(specifier))
    return (await import(pathToFileURL(resolve(specifier)).href)) as Record<string, unknown>;
  let resolved: string | undefined;
  try {
    resolved = createRequire(pathToFileURL(resolve('noop.js')).href).resolve(specifier);
  } catch {
    // Not resolvable with require conditions (import-only exports): let import() resolve it.
  }
  return (await import(resolved ? pathToFileURL(resolved).href : specifier)) as Record<string, unknown>;
}

/** Imports the modules one by one and collects the transports each one registers, plus their `conformance` hints. */
async function loadTargets(modules: string[]): Promise<{ names: string[]; hints: ConformanceHints }> {
  const names: string[] = [];
  const hints: ConformanceHints = {};
  // Built-ins a module imports along the way (a wrapper around memory, say) are not what it registers;
  // loading them first keeps them out of the diff. A built-in named on the command line is tested.
  await Promise.all(BUILTIN_PLUGINS.filter((b) => !modules.includes(b)).map((b) => import(b).catch(() => {})));
  for (const module of [...new Set(modules)]) {
    const before = new Set(registeredTransports().map((t) => t.meta.name));
    let namespace: Record<string, unknown>;
    try {
      namespace = await importModule(module);
    } catch (err) {
      throw new UsageError(`could not load module "${module}": ${err instanceof Error ? err.message : String(err)}`);
    }
    const added = registeredTransports()
      .map((t) => t.meta.name)
      .filter((n) => !before.has(n));
    if (added.length === 0)
      throw new UsageError(
        `module "${module}" registered no transport that was not loaded already; a transport registers itself with @Transport({ name, schemes }) when its module is imported (to test a built-in, name it as spear-comm/plugins/<name>)`,
      );
    names.push(...added);
    const exported = namespace.conformance;
    if (exported && typeof exported === 'object') Object.assign(hints, exported as ConformanceHints);
  }
  return { names, hints };
}

export async function runConformanceCommand(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`spear-comm conformance: ${err.message}\n\n${USAGE}`);
    return 2;
  }
}

async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        reporter: { type: 'string', default: 'pretty' },
        out: { type: 'string' },
        only: { type: 'string' },
        transport: { type: 'string', multiple: true },
        bail: { type: 'boolean', default: false },
        'wait-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('give at least one module that registers a transport');
  const reporter = values.reporter as ReporterName;
  if (!REPORTERS.includes(reporter)) throw new UsageError(`--reporter must be one of ${REPORTERS.join(', ')}, not "${values.reporter}"`);
  const only = parseCategories(values.only);
  const waitMs = values['wait-ms'] === undefined ? undefined : Number(values['wait-ms']);
  if (waitMs !== undefined && !(Number.isFinite(waitMs) && waitMs > 0))
    throw new UsageError(`--wait-ms must be a positive number of milliseconds, not "${values['wait-ms']}"`);

  const { names, hints } = await loadTargets(positionals);
  const selected = values.transport ?? names;
  const missing = selected.filter((n) => !names.includes(n));
  if (missing.length > 0)
    throw new UsageError(`--transport ${missing.join(', ')}: not registered by the given modules (they registered: ${names.join(', ')})`);
  const targets: ConformanceTarget[] = selected.map((name) => ({
    ...hints[name],
    transport: name,
    ...(waitMs !== undefined ? { waitMs } : {}),
  }));

  const color = reporter === 'pretty' && !values.out && process.stdout.isTTY === true && !process.env.NO_COLOR;
  // Pretty progress goes to stdout; with a machine-readable report on stdout, progress goes to stderr.
  const progress = reporter === 'pretty' ? process.stdout : values.out ? process.stdout : process.stderr;
  let category = '';
  let transport = '';
  const report = await runSuites(targets, {
    ...(only ? { only } : {}),
    bail: values.bail ?? false,
    onSuiteStart: (target) => progress.write(`\n${formatSuiteHeader({ ...target, address: target.address() }, { color })}\n`),
    onResult: (result) => {
      if (result.category !== category || result.transport !== transport) progress.write(`  ${result.category}\n`);
      [category, transport] = [result.category, result.transport];
      progress.write(`${formatResultLine(result, { color })}\n`);
    },
  });

  const rendered = formatReport(report, reporter, { color });
  if (values.out) {
    writeFileSync(values.out, rendered);
    progress.write(
      `\n${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.unsupported} unsupported — report written to ${values.out}\n`,
    );
  } else if (reporter === 'pretty') {
    // The cases were printed as they ran; end with the summary (and failures again, where they are easy to find).
    const failures = report.suites.flatMap((s) =>
      s.error
        ? [`  ✗ ${s.transport}: could not run: ${s.error}`]
        : s.results
            .filter((r) => r.status === 'failed')
            .map(
              (r) =>
                `  ✗ ${s.transport} › ${r.category} › ${r.name}\n${describeFailures(r)
                  .split('\n')
                  .map((l) => `      ${l}`)
                  .join('\n')}`,
            ),
    );
    process.stdout.write(
      `\n${failures.length > 0 ? `Failures:\n${failures.join('\n')}\n\n` : ''}${rendered.split('\n').filter(Boolean).at(-1)}\n`,
    );
  } else {
    process.stdout.write(rendered);
  }
  // A broken transport can leave timers or sockets behind that would keep this process alive
  // forever; the report is out, so make sure the process ends.
  setTimeout(() => process.exit(), 1_000).unref();
  return report.ok ? 0 : 1;
}
