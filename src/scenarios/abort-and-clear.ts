/**
 * abort-and-clear: a long run with four messages queued behind it; the user
 * aborts one queued message (LANE-12, QUEUE-18), then the running run, then
 * clears the session's queue (QUEUE-11). Every message settles (nothing
 * lost), each aborted sender hears `aborted`, and the lane never stays stuck
 * (INV-ABORT-SETTLES): a message sent after the clear runs at once.
 */
import { REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { Scenario } from '../sim/scenario.ts';
import { longTurn, quickTurn } from './scripts.ts';

const SESSION = 'agent:main:webchat';
const FIRST = 'Rewrite the onboarding guide.';

export const abortAndClear: Scenario = {
  name: 'abort-and-clear',
  title: 'Abort while queued, abort while running, and clear',
  description: 'One long run and 4 queued messages; abort one queued, abort the running one, clear the rest, then send again.',
  defaultSeed: 15,
  defaultEngine: 'fake-timers',
  limitMs: 10 * 60_000,
  config: { messages: { queue: { mode: 'followup' } } },
  variants: [{ name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE }],
  script(run, prng) {
    return run.messages[0]?.text === FIRST ? longTurn(prng, 8_000) : quickTurn(prng);
  },
  setup(ctx) {
    const user = ctx.client('webchat');
    ctx.at(0, () => user.send(SESSION, FIRST));
    for (let i = 1; i <= 4; i++) ctx.at(1_000 * i, () => user.send(SESSION, `queued ${i}`));
    ctx.at(8_000, () => {
      const second = user.results[2];
      if (second !== undefined) user.abort(SESSION, second.runId);
    });
    ctx.at(12_000, () => {
      const first = user.results[0];
      if (first !== undefined) user.abort(SESSION, first.runId);
    });
    ctx.at(12_500, () => ctx.gateway.router.clear(SESSION));
    ctx.at(14_000, () => user.send(SESSION, 'start over: just the FAQ section'));
  },
};
