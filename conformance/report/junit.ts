import type { CaseResult, ConformanceReport } from '../types.js';
import { describeFailures } from './pretty.js';

function xml(text: string): string {
  // XML 1.0 cannot carry most control characters at all, even escaped.

  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function testcase(transport: string, result: CaseResult): string {
  const open = `    <testcase classname="conformance.${xml(transport)}.${result.category}" name="${xml(result.name)}" time="${seconds(result.durationMs)}"`;
  if (result.status === 'passed') return `${open}/>`;
  if (result.status === 'unsupported')
    return `${open}>\n      <skipped message="${xml(`unsupported: ${result.reason ?? ''}`)}"/>\n    </testcase>`;
  const first = result.failures?.[0];
  return `${open}>\n      <failure message="${xml(first?.message ?? 'failed')}" type="${first?.phase ?? 'run'}">${xml(describeFailures(result))}</failure>\n    </testcase>`;
}

/**
 * JUnit XML: one <testsuite> per transport, one <testcase> per case (classname
 * `conformance.<transport>.<category>`). Unsupported cases are <skipped> with the reason.
 */
export function formatJunit(report: ConformanceReport): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${report.tool}" tests="${report.summary.passed + report.summary.failed + report.summary.unsupported}" failures="${report.summary.failed}" skipped="${report.summary.unsupported}" time="${seconds(report.durationMs)}" timestamp="${report.startedAt}">`,
  ];
  for (const suite of report.suites) {
    const total = suite.results.length + (suite.error ? 1 : 0);
    lines.push(
      `  <testsuite name="${xml(suite.transport)}" tests="${total}" failures="${suite.summary.failed}" errors="0" skipped="${suite.summary.unsupported}" time="${seconds(suite.durationMs)}">`,
    );
    lines.push('    <properties>');
    lines.push(`      <property name="address" value="${xml(suite.address)}"/>`);
    for (const [key, value] of Object.entries(suite.capabilities))
      lines.push(`      <property name="capabilities.${xml(key)}" value="${xml(String(value))}"/>`);
    lines.push('    </properties>');
    if (suite.error) {
      lines.push(
        `    <testcase classname="conformance.${xml(suite.transport)}" name="suite setup" time="0"><failure message="${xml(suite.error)}" type="setup"/></testcase>`,
      );
    }
    for (const result of suite.results) lines.push(testcase(suite.transport, result));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
