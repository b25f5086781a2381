/**
 * disconnect-reconnect: two clients watch a long run; one drops its
 * connection mid-run and comes back 20 s later as a new connection, one
 * stops answering pings and is declared dead (HB-6). Messages still settle
 * (nothing lost), silence is only measured while connected, and the client
 * that comes back hears the session's lane.status at once on subscribing.
 */
import { REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { Scenario } from '../sim/scenario.ts';
import { longTurn, quickTurn } from './scripts.ts';

const SESSION = 'agent:main:webchat';
const FIRST = 'Draft the quarterly report.';

export const disconnectReconnect: Scenario = {
  name: 'disconnect-reconnect',
  title: 'Clients that disconnect mid-run and reconnect; a hung client declared dead',
  description: 'A long run; client A disconnects at 10 s and reconnects at 30 s; client B stops answering pings at 5 s.',
  defaultSeed: 14,
  defaultEngine: 'fake-timers',
  limitMs: 10 * 60_000,
  config: { messages: { queue: { mode: 'followup' } } },
  variants: [{ name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE }],
  script(run, prng) {
    return run.messages[0]?.text === FIRST ? longTurn(prng, 6_000) : quickTurn(prng);
  },
  setup(ctx) {
    const a = ctx.client('tab-a');
    const b = ctx.client('tab-b');
    ctx.at(0, () => a.send(SESSION, FIRST));
    ctx.at(2_000, () => b.send(SESSION, 'me too: add the churn numbers'));
    ctx.at(5_000, () => {
      b.answersPings = false;
    });
    ctx.at(10_000, () => a.disconnect());
    ctx.at(30_000, () => {
      a.connect();
      a.subscribe(SESSION);
      a.send(SESSION, 'back again: what did I miss?');
    });
  },
};
