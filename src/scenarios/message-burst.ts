/**
 * message-burst: a long run is streaming in one session when the user fires
 * eight more messages, one a second. One variant per queue mode and drop
 * policy (QUEUE-3..QUEUE-16), all on lanesim's reference:
 * - collect: the eight are merged into one turn after the run ends (QUEUE-9);
 * - followup: eight more turns, one after another (QUEUE-4);
 * - steer: injected into the streaming run (QUEUE-3);
 * - steer-backlog: injected and also run as followups (QUEUE-5);
 * - interrupt: each new message aborts the run and replaces the queue (QUEUE-6);
 * - overflow-summarize / overflow-old / overflow-new: followups with cap 3
 *   under each drop policy (QUEUE-13..QUEUE-16).
 * Look for: the settle outcomes per message, merged and summary prompts, and
 * that every sender heard about every message (nothing lost).
 */
import { REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { Scenario, ScenarioVariant } from '../sim/scenario.ts';
import { longTurn, quickTurn } from './scripts.ts';

const SESSION = 'agent:main:webchat';
const FIRST = 'Write the migration plan for the billing service.';

function variant(name: string, title: string, queue: Record<string, unknown>): ScenarioVariant {
  return { name, title, profile: REFERENCE_PROFILE, config: { messages: { queue } } };
}

export const messageBurst: Scenario = {
  name: 'message-burst',
  title: 'A burst of messages into one busy session, under each queue mode and drop policy',
  description:
    'One long run streams while 8 more messages arrive 1 s apart. Variants: collect, followup, steer, steer-backlog, interrupt, and followup with cap 3 under drop summarize / old / new.',
  defaultSeed: 7,
  defaultEngine: 'fake-timers',
  limitMs: 20 * 60_000,
  variants: [
    variant('collect', 'collect', { mode: 'collect', debounceMs: 1000 }),
    variant('followup', 'followup', { mode: 'followup' }),
    variant('steer', 'steer', { mode: 'steer' }),
    variant('steer-backlog', 'steer-backlog', { mode: 'steer-backlog' }),
    variant('interrupt', 'interrupt', { mode: 'interrupt' }),
    variant('overflow-summarize', 'cap 3, drop summarize', { mode: 'followup', cap: 3, drop: 'summarize' }),
    variant('overflow-old', 'cap 3, drop old', { mode: 'followup', cap: 3, drop: 'old' }),
    variant('overflow-new', 'cap 3, drop new', { mode: 'followup', cap: 3, drop: 'new' }),
  ],
  script(run, prng) {
    return run.messages[0]?.text === FIRST ? longTurn(prng, 3_000) : quickTurn(prng);
  },
  setup(ctx) {
    const user = ctx.client('webchat');
    ctx.at(0, () => user.send(SESSION, FIRST));
    for (let i = 1; i <= 8; i++) {
      ctx.at(4_000 + i * 1_000, () => user.send(SESSION, `follow-up ${i}: ${'and also '.repeat(i * 3)}check the invoices table`));
    }
  },
};
