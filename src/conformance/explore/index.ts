/**
 * The explorer's public surface (for `lanesim/conformance`): generative
 * conformance against a gateway (explore, replay) and against a lane queue
 * (exploreLanes), the workload format and the report renderers.
 */
export {
  explore, judgeWorkload, primary, replayWorkload, shrinkFailure, workloadFromSeed, workloadSeed,
  type ExploreFailure, type ExploreOptions, type ExploreResult, type Finding, type JudgeOptions, type Judgement,
} from './explore.ts';
export { exploreLanes, laneWorkloadFromSeed, replayLanes, type LaneExploreResult, type LaneFinding, type LaneWorkload } from './lanes.ts';
export { EXPLORE_CHANNELS, TOOL_CALLS, WorkloadFileError, arbExploreWorkload, parseWorkload, type ExploreWorkload, type Step } from './workload.ts';
export { FREEDOMS, compareOutcomes, outcomeOf, type Divergence, type Outcome } from './equivalence.ts';
export { formatFailure, formatResult, timeline } from './report.ts';
