// Verdicts with hysteresis: the public surface of src/domain/verdict.
export { createVerdictTracker, TRANSITION_HISTORY_LIMIT, type VerdictTracker } from './tracker.js';
export {
  DEFAULT_VERDICT_POLICY,
  requiredTargets,
  verdictPolicySchema,
  type VerdictPolicy,
  type VerdictPolicyInput,
} from './policy.js';
export type { NodeVerdict, VerdictCode, VerdictState, VerdictTransition } from './types.js';
export { binomialTail, falseUnhealthyBound, type FalsePositiveBound, type FalsePositiveScenario } from './false-positive.js';
