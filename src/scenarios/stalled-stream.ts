/**
 * stalled-stream: the model stops producing mid-stream for 45 s (a provider
 * hiccup) while a second message waits. Today the client hears only the
 * 30 s tick; with the fix it hears a heartbeat at least every 15 s (HB-1)
 * and a lane.status warning when its wait crosses warnThresholdMs (STATUS-4).
 */
import { OPENCLAW_TODAY_PROFILE, REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { Scenario } from '../sim/scenario.ts';
import { quickTurn, sonnet } from './scripts.ts';

const SESSION = 'agent:main:webchat';
const FIRST = 'Summarize the incident timeline.';

export const stalledStream: Scenario = {
  name: 'stalled-stream',
  title: 'A model stream that stalls for 45 s mid-run',
  description: 'The first run streams, stalls 45 s, then finishes; a second message waits behind it.',
  defaultSeed: 13,
  defaultEngine: 'fake-timers',
  limitMs: 10 * 60_000,
  config: { messages: { queue: { mode: 'followup' } } },
  variants: [
    { name: 'baseline', title: "today's OpenClaw", profile: OPENCLAW_TODAY_PROFILE, baseline: true },
    { name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE },
  ],
  script(run, prng) {
    if (run.messages[0]?.text !== FIRST) return quickTurn(prng);
    return {
      agentId: 'main',
      model: sonnet(prng),
      steps: [
        { kind: 'think', inputTokens: 4_000 },
        { kind: 'stream', tokens: 300 },
        { kind: 'stall', ms: 45_000 },
        { kind: 'stream', tokens: 500 },
      ],
    };
  },
  setup(ctx) {
    const user = ctx.client('webchat');
    ctx.at(0, () => user.send(SESSION, FIRST));
    ctx.at(6_000, () => user.send(SESSION, 'is it stuck?'));
  },
};
