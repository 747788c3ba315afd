// spear-comm/conformance: the suite every transport must pass, for vitest and for the CLI.
export { runConformance } from './run-conformance.js';
export type { RunConformanceOptions } from './run-conformance.js';
export { resolveTarget, runCase, runSuite, runSuites, selectCases, summarize, unsupportedReason, warmUp } from './engine.js';
export type { RunOptions } from './engine.js';
export { ALL_CASES } from './cases/index.js';
export { CaseContext } from './context.js';
export type { ChannelPair, RawListener } from './context.js';
export { FrameCollector } from './collector.js';
export type { RawEnd } from './collector.js';
export { ConformanceFailure } from './assert.js';
export { defaultAddress } from './addresses.js';
export { describeCapabilities, describeFailures, formatReport, formatResultLine, formatSuiteHeader, REPORTERS } from './report/index.js';
export type { PrettyOptions } from './report/pretty.js';
export type { ReporterName } from './report/index.js';
export { CATEGORIES } from './types.js';
export type {
  Capabilities,
  CaseFailure,
  CaseResult,
  CaseStatus,
  Category,
  ConformanceHints,
  ConformanceReport,
  ConformanceTarget,
  ResolvedTarget,
  SuiteReport,
  SuiteSummary,
} from './types.js';
export type { ConformanceCase } from './case.js';
