/**
 * global-cap-fairness: 40 sessions share a global `main` lane of 2 (LANE-3,
 * LANE-4). Every session sends three messages in the first minute; runs
 * take 5-20 s. FIFO across sessions means nobody starves: the longest wait
 * is bounded by the work queued ahead, and every waiting client hears
 * lane.status and heartbeats (fixed) or nothing but ticks (baseline).
 * Look for: max and p50 session waits, lane.status counts, silence.
 */
import { OPENCLAW_TODAY_PROFILE, REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { Scenario } from '../sim/scenario.ts';
import { quickTurn } from './scripts.ts';

const SESSIONS = 40;

export const globalCapFairness: Scenario = {
  name: 'global-cap-fairness',
  title: '40 sessions against a global cap of 2: starvation and fairness',
  description: '40 sessions, 3 messages each in the first minute, main maxConcurrent 2, runs of 5-20 s.',
  defaultSeed: 11,
  defaultEngine: 'discrete-event',
  limitMs: 60 * 60_000,
  config: { agents: { defaults: { maxConcurrent: 2 } }, messages: { queue: { mode: 'followup' } } },
  variants: [
    { name: 'baseline', title: "today's OpenClaw", profile: OPENCLAW_TODAY_PROFILE, baseline: true },
    { name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE },
  ],
  script(_run, prng) {
    const turn = quickTurn(prng);
    return { ...turn, steps: [...turn.steps, { kind: 'stream', tokens: Math.round(prng.range(300, 1_500)) }] };
  },
  setup(ctx) {
    for (let s = 0; s < SESSIONS; s++) {
      const client = ctx.client(`user-${s}`);
      const session = `agent:main:dm-${s}`;
      for (let m = 0; m < 3; m++) ctx.at(ctx.prng.int(0, 60_000), () => client.send(session, `question ${m} from user ${s}`));
    }
  },
};
