import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ConformanceReport } from 'spear-comm/conformance';

// The built CLI, as a user runs it (npm test builds dist/ before vitest runs).
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'spear-conformance-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/bin/spear-comm.js', 'conformance', ...args],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const control = 'dist/conformance/mutants/control.js';

describe('spear-comm conformance (CLI)', () => {
  it('runs the chosen categories against the transports a module registers and prints a JSON report; exit 0 when all pass', async () => {
    const { code, stdout, stderr } = await cli(control, '--only', 'isolation,request-response', '--reporter', 'json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as ConformanceReport;
    expect(report.ok).toBe(true);
    expect(report.suites.map((s) => s.transport)).toEqual(['mutant-control']);
    const results = report.suites[0]!.results;
    expect(new Set(results.map((r) => r.category))).toEqual(new Set(['isolation', 'request-response']));
    expect(results.length).toBeGreaterThanOrEqual(8);
    expect(results.every((r) => r.status === 'passed')).toBe(true);
    // Progress went to stderr so that stdout stays parseable.
    expect(stderr).toContain('✓');
  }, 60_000);

  it('writes a JUnit report with the failures of a broken transport to --out, and exits 1', async () => {
    const out = join(work, 'report.xml');
    const { code, stdout } = await cli(
      'dist/conformance/mutants/cross-talk.js',
      '--only',
      'isolation',
      '--reporter',
      'junit',
      '--out',
      out,
      '--wait-ms',
      '2000',
      '--bail',
    );
    expect(code).toBe(1);
    const xml = readFileSync(out, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1.0"/);
    expect(xml).toContain('<testsuite name="mutant-cross-talk"');
    expect(xml).toMatch(
      /<testcase classname="conformance\.mutant-cross-talk\.isolation" name="two connections to one listener[^"]*" time="[\d.]+">\s*<failure message="[^"]+"/,
    );
    expect(stdout).toContain('failed');
    expect(stdout).toContain(out);
  }, 60_000);

  it('ends even when a broken transport leaves timers running, naming where they were created', async () => {
    const { code, stdout } = await cli('dist/conformance/mutants/leak-timer.js', '--only', 'lifecycle', '--bail', '--wait-ms', '1500');
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /\[leak\] still active 1500 ms after everything was closed: \d+ × Timeout created at .*dist\/conformance\/mutants\/leak-timer\.js:\d+:\d+/,
    );
  }, 60_000);

  it('prints a readable report by default, grouped by category, ending with the verdict', async () => {
    const { code, stdout } = await cli(control, '--only', 'lifecycle');
    expect(code).toBe(0);
    expect(stdout).toContain('mutant-control');
    expect(stdout).toMatch(/\n {2}lifecycle\n {4}✓ /);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/1 transport\(s\): \d+ passed, 0 failed, 0 unsupported — PASSED$/);
  }, 60_000);

  it('reports a transport the kit cannot reach as failed, saying what to export', async () => {
    const { code, stdout } = await cli('conformance/fixtures/unknown-scheme-transport.mjs', '--reporter', 'json');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as ConformanceReport;
    expect(report.ok).toBe(false);
    expect(report.suites[0]!.transport).toBe('carrier-pigeon');
    expect(report.suites[0]!.error).toMatch(/pigeon:\/\/.*export `conformance = \{ "carrier-pigeon"/);
  }, 60_000);

  it('refuses bad usage with exit code 2 and a message that says what is wrong', async () => {
    // In-process: these fail before any transport runs, so a child process per case buys nothing.
    const { runConformanceCommand } = await import('../bin/conformance-command.js');
    const cases: Array<[string[], string]> = [
      [[], 'give at least one module'],
      [
        [control, '--only', 'framing,speed'],
        'unknown category speed; choose from framing, timeout, isolation, request-response, lifecycle, bad-input, backpressure',
      ],
      [['dist/core/index.js'], 'registered no transport'],
      [[control, '--reporter', 'xml'], '--reporter must be one of pretty, json, junit'],
      [['./no/such/module.js'], 'could not load module "./no/such/module.js"'],
      [[control, '--transport', 'nope'], '--transport nope: not registered by the given modules (they registered: mutant-control)'],
      [[control, '--wait-ms', 'soon'], '--wait-ms must be a positive number of milliseconds, not "soon"'],
      [[control, '--colour'], "Unknown option '--colour'"],
    ];
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const cwd = process.cwd();
    process.chdir(root);
    try {
      for (const [args, message] of cases) {
        written.length = 0;
        expect(await runConformanceCommand(args), args.join(' ')).toBe(2);
        expect(written.join('')).toContain(message);
      }
    } finally {
      process.chdir(cwd);
      spy.mockRestore();
    }
  });
});
