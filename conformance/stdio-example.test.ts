import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceReport } from 'spear-comm/conformance';

// The example is a package of its own that depends on spear-comm (file:../..). This does what
// `npm install && npm run build` do there, without the network: link spear-comm into its
// node_modules, and compile it with this repository's TypeScript. dist/ of spear-comm itself is
// built by `npm test` before vitest runs.
const root = fileURLToPath(new URL('..', import.meta.url));
const example = join(root, 'examples', 'stdio-transport');

function run(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function linkSpearComm(): void {
  mkdirSync(join(example, 'node_modules'), { recursive: true });
  const link = join(example, 'node_modules', 'spear-comm');
  try {
    if (lstatSync(link).isSymbolicLink()) return;
  } catch {
    // Not there yet.
  }
  symlinkSync(join('..', '..', '..'), link, 'dir');
}

beforeAll(async () => {
  linkSpearComm();
  const tsc = await run([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', example]);
  expect(tsc.code, `compiling the example failed:\n${tsc.stdout}${tsc.stderr}`).toBe(0);
}, 120_000);

describe('the stdio example transport (a separate package)', () => {
  it('passes the whole conformance kit through `spear-comm conformance`', async () => {
    const { code, stdout, stderr } = await run([
      'dist/bin/spear-comm.js',
      'conformance',
      'examples/stdio-transport/dist/index.js',
      '--reporter',
      'json',
    ]);
    const report = JSON.parse(stdout) as ConformanceReport;
    const failed = report.suites.flatMap((s) =>
      s.results.filter((r) => r.status === 'failed').map((r) => `${r.name}: ${r.failures?.map((f) => f.message).join('; ')}`),
    );
    expect(failed, stderr).toEqual([]);
    expect(code).toBe(0);
    expect(report.suites.map((s) => s.transport)).toEqual(['stdio']);
    expect(report.summary.passed).toBeGreaterThanOrEqual(40);
    // Only two cases may not apply: the example has no TLS and no optional sendParts().
    const unsupported = report.suites[0]!.results.filter((r) => r.status === 'unsupported').map((r) => r.name);
    expect(unsupported.sort()).toEqual([
      'a client that does not trust the server certificate is refused; the listener keeps serving',
      'sendParts() sends one frame, the concatenation of its parts; changing them after it resolves changes nothing',
    ]);
  }, 120_000);

  it("lets a host call functions in a worker process over the worker's stdin/stdout", async () => {
    const { code, stdout, stderr } = await run(['dist/host.js'], example);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^worker \(pid \d+\) answered: HELLO OVER STDIO\n$/);
  }, 60_000);
});
