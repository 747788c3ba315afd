import type { Capabilities, CaseResult, ConformanceReport, SuiteReport } from '../types.js';

export interface PrettyOptions {
  /** ANSI colours (default off; the CLI turns them on for a terminal). */
  color?: boolean;
}

type Paint = (code: number, text: string) => string;
const painter =
  (color: boolean): Paint =>
  (code, text) =>
    color ? `\u001b[${code}m${text}\u001b[0m` : text;

const MARK = { passed: '✓', failed: '✗', unsupported: '○' } as const;

export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return bytes % size === 0 ? `${bytes / size} ${unit}` : `${(bytes / size).toFixed(1)} ${unit}`;
  }
  return `${bytes} B`;
}

export function describeCapabilities(caps: Capabilities): string {
  return [
    `maxFrameSize ${formatSize(caps.maxFrameSize)}`,
    caps.ordered ? 'ordered' : 'unordered',
    caps.reliable ? 'reliable' : 'unreliable',
    caps.localOnly ? 'local only' : 'network',
    ...(caps.tls ? ['tls'] : []),
  ].join(' · ');
}

/** The failures of one case as indented lines (used by vitest's error message too). */
export function describeFailures(result: CaseResult): string {
  return (result.failures ?? []).map((f) => `[${f.phase}] ${f.message}`).join('\n');
}

/** One line for a finished case, for live progress. */
export function formatResultLine(result: CaseResult, options: PrettyOptions = {}): string {
  const paint = painter(options.color ?? false);
  const time = paint(
    90,
    `(${result.durationMs < 1000 ? `${result.durationMs.toFixed(0)} ms` : `${(result.durationMs / 1000).toFixed(1)} s`})`,
  );
  switch (result.status) {
    case 'passed':
      return `    ${paint(32, MARK.passed)} ${result.name} ${time}`;
    case 'unsupported':
      return `    ${paint(33, MARK.unsupported)} ${result.name} ${paint(33, `— unsupported: ${result.reason}`)}`;
    case 'failed':
      return [
        `    ${paint(31, MARK.failed)} ${result.name} ${time}`,
        ...describeFailures(result)
          .split('\n')
          .map((l) => `        ${paint(31, l)}`),
      ].join('\n');
  }
}

export function formatSuiteHeader(
  suite: Pick<SuiteReport, 'transport' | 'address' | 'capabilities' | 'schemes'>,
  options: PrettyOptions = {},
): string {
  const paint = painter(options.color ?? false);
  return `${paint(1, suite.transport)}  ${paint(90, `${suite.address}  ${describeCapabilities(suite.capabilities)}`)}`;
}

function summaryLine(s: { passed: number; failed: number; unsupported: number }, paint: Paint): string {
  return [
    paint(32, `${s.passed} passed`),
    s.failed > 0 ? paint(31, `${s.failed} failed`) : `${s.failed} failed`,
    paint(33, `${s.unsupported} unsupported`),
  ].join(', ');
}

/** The whole report as a human reads it: per transport, per category, failures in full. */
export function formatPretty(report: ConformanceReport, options: PrettyOptions = {}): string {
  const paint = painter(options.color ?? false);
  const out: string[] = [`${report.tool} ${report.version}`, ''];
  for (const suite of report.suites) {
    if (suite.error) {
      out.push(`${paint(1, suite.transport)}  ${paint(31, `could not run: ${suite.error}`)}`, '');
      continue;
    }
    out.push(formatSuiteHeader(suite, options));
    let category = '';
    for (const result of suite.results) {
      if (result.category !== category) {
        category = result.category;
        out.push(`  ${category}`);
      }
      out.push(formatResultLine(result, options));
      for (const note of result.notes ?? []) out.push(`        ${paint(90, `note: ${note}`)}`);
    }
    out.push(`  ${summaryLine(suite.summary, paint)} ${paint(90, `(${(suite.durationMs / 1000).toFixed(1)} s)`)}`, '');
  }
  const verdict = report.ok ? paint(32, 'PASSED') : paint(31, 'FAILED');
  out.push(`${report.suites.length} transport(s): ${summaryLine(report.summary, paint)} — ${verdict}`);
  return `${out.join('\n')}\n`;
}
