import type { ConformanceReport } from '../types.js';
import { formatJunit } from './junit.js';
import { formatPretty, type PrettyOptions } from './pretty.js';

export const REPORTERS = ['pretty', 'json', 'junit'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/** Renders a report as `pretty` text, `json` (the report object itself) or `junit` XML. */
export function formatReport(report: ConformanceReport, reporter: ReporterName, options: PrettyOptions = {}): string {
  switch (reporter) {
    case 'pretty':
      return formatPretty(report, options);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'junit':
      return formatJunit(report);
  }
}

export { describeCapabilities, describeFailures, formatResultLine, formatSuiteHeader } from './pretty.js';
