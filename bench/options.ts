import { parseArgs } from 'node:util';
import { MODES, type Mode } from './model.js';
import { parseSize } from './units.js';

export interface BenchOptions {
  /** Transports to measure (default: every installed one plus the raw baselines of tcp, unix, websocket, grpc). */
  transports?: string[];
  /** Codecs to measure (default: every installed one). */
  codecs?: string[];
  sizes: number[];
  modes: Mode[];
  quick: boolean;
  rounds: number;
  /** benny maxTime per case and round, seconds. */
  caseSeconds: number;
  minSamples: number;
  out: string;
  plugins: string[];
  /** Listen URL per transport name, for transports the bench has no default for. */
  urls: Record<string, string>;
  pin: boolean;
  help: boolean;
}

export const FULL_SIZES = [64, 1024, 64 * 1024, 1024 * 1024];
export const QUICK_SIZES = [64, 64 * 1024];

export const USAGE = `Usage: spear-comm bench [options]

Measures every transport × codec against raw sockets in the same run (server and client in
separate processes; in-process transports such as memory in this one, against the codec alone)
and writes report.json, report.csv, report.html and report.md. A case that fails is reported
as a failed row and the run goes on; the exit code is then 1.
\`spear-comm bench pool --help\`: the InstancePool mode (1, 2, 4 members vs one channel).

Options:
  --transports a,b   Transports to measure (default: all installed; the raw baselines of
                     tcp, unix, websocket and grpc always run)
  --codecs a,b       Codecs to measure (default: all installed)
  --sizes a,b        Payload sizes, e.g. 64,1KiB,64KiB,1MiB (default: those four;
                     --quick: 64,64KiB)
  --modes a,b        rr1 (1 in flight), rr64 (64 in flight), oneway, codec (default: all)
  --quick            One short round per case: a smoke test that takes under 3 minutes
  --rounds N         Rounds per case; figures are medians over rounds (default 3, quick 1)
  --time SECONDS     benny time per case and round (default 2, quick 0.25)
  --out DIR          Where the reports go (default bench-results)
  --plugins m,n      Extra plugin modules to load (a third-party transport or codec)
  --url name=URL     Listen URL for a transport the bench has no default for
  --no-pin           Do not pin the server to CPU 0 and the client to CPU 1
  --help             Show this help
`;

function list(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  const items = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}

function positiveNumber(text: string, what: string, integer: boolean): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${what} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  }
  return value;
}

export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      transports: { type: 'string', multiple: true },
      codecs: { type: 'string', multiple: true },
      sizes: { type: 'string', multiple: true },
      modes: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      time: { type: 'string' },
      out: { type: 'string', default: 'bench-results' },
      plugins: { type: 'string', multiple: true },
      url: { type: 'string', multiple: true },
      'no-pin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const sizes = list(values.sizes)?.map(parseSize) ?? (quick ? QUICK_SIZES : FULL_SIZES);
  const modes = list(values.modes) ?? [...MODES];
  for (const mode of modes) {
    if (!MODES.includes(mode as Mode)) throw new Error(`unknown mode "${mode}"; use ${MODES.join(', ')}`);
  }
  const urls: Record<string, string> = {};
  for (const entry of values.url ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`--url wants name=URL (e.g. --url quic=quic://127.0.0.1:0), got "${entry}"`);
    urls[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const transports = list(values.transports);
  const codecs = list(values.codecs);
  return {
    ...(transports ? { transports } : {}),
    ...(codecs ? { codecs } : {}),
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    modes: MODES.filter((m) => modes.includes(m)),
    quick,
    rounds: values.rounds ? positiveNumber(values.rounds, '--rounds', true) : quick ? 1 : 3,
    caseSeconds: values.time ? positiveNumber(values.time, '--time', false) : quick ? 0.25 : 2,
    minSamples: quick ? 3 : 5,
    out: values.out,
    plugins: list(values.plugins) ?? [],
    urls,
    pin: !values['no-pin'],
    help: values.help,
  };
}
