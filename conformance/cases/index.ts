import type { ConformanceCase } from '../case.js';
import {
  contractBackpressureCases,
  contractBadInputCases,
  contractFramingCases,
  contractLifecycleCases,
  contractTimeoutCases,
} from './contract.js';
import { backpressureCases } from './backpressure.js';
import { badInputCases } from './bad-input.js';
import { framingCases } from './framing.js';
import { isolationCases } from './isolation.js';
import { lifecycleCases } from './lifecycle.js';
import { requestResponseCases } from './request-response.js';
import { streamCases } from './streams.js';
import { timeoutCases } from './timeout.js';

/** The whole kit, in category order. */
export const ALL_CASES: readonly ConformanceCase[] = [
  ...framingCases,
  ...contractFramingCases,
  ...timeoutCases,
  ...contractTimeoutCases,
  ...isolationCases,
  ...requestResponseCases,
  ...lifecycleCases,
  ...contractLifecycleCases,
  ...badInputCases,
  ...contractBadInputCases,
  ...backpressureCases,
  ...contractBackpressureCases,
  ...streamCases,
];
