import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** Subcommands register here; each lives in its own module and is loaded only when used. */
const commands: Record<string, Command> = {
  demo: {
    summary: 'Start a host, talk to instances over several transports, print per-instance stats',
    run: async (args) => (await import('./demo.js')).runDemo(args),
  },
  conformance: {
    summary: 'Run the conformance kit against the transports that modules register',
    run: async (args) => (await import('./conformance-command.js')).runConformanceCommand(args),
  },
  bench: {
    summary: 'Benchmark every transport × codec against raw sockets; writes JSON, CSV, HTML and markdown reports',
    run: async (args) => (await import('../bench/cli.js')).runBenchCommand(args),
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`);
  return `Usage: spear-comm <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nOptions:\n  --help         Show help (also: spear-comm <command> --help)\n  --version      Print the version\n`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`spear-comm: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`spear-comm ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

export { parseArgs };
