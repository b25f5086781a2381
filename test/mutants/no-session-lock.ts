/**
 * MUTANT (deliberately broken): the real LaneScheduler with ONE thing
 * broken: session lanes admit two holders instead of one (no session lock,
 * LANE-1). Everything else is the unmodified scheduler code.
 *
 * How: an onLaneChange hook raises `maxConcurrent` of every `session:` lane
 * to 2 when a task joins it, just before the lane is pumped. The trace
 * still announces the lane with maxConcurrent 1 (lane.open), as the real
 * configuration says, so INV-CAP and INV-SESSION-EXCLUSIVE must catch the
 * second holder.
 */
import { LaneScheduler, type LaneSchedulerOptions } from '../../src/reference-impl/lane-scheduler.ts';
import { LaneRank } from '../../src/reference-impl/lane.ts';

export function createNoSessionLockScheduler(options: LaneSchedulerOptions): LaneScheduler {
  const hooks = options.hooks ?? {};
  return new LaneScheduler({
    ...options,
    hooks: {
      ...hooks,
      onLaneChange(lane, reason, task) {
        if (lane.rank === LaneRank.Session && reason === 'enqueue') lane.maxConcurrent = 2; // the bug
        hooks.onLaneChange?.(lane, reason, task);
      },
    },
  });
}
