/**
 * large-hour: 10,000 sessions, one simulated hour of realistic traffic, on the
 * discrete-event engine. Each session's user writes on average every 10
 * minutes (Poisson arrivals, ~60,000 messages); most turns are short, some
 * call tools (a few malformed), some hand work to a nested agent, a few
 * stall or fail. The gateway has main = 160 and subagent = 64 slots (busy enough that peaks queue) and
 * nestedAgentParallel on: with OpenClaw's single global `nested` lane, 1,200
 * nested calls an hour would queue behind each other and stall the gateway.
 * Look for: zero invariant violations, the wait and silence distributions,
 * and the wall time (bench: under 10 s).
 */
import type { Prng } from '../model/prng.ts';
import { REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { AgentScript, ModelProfile, Step } from '../sim/agent-model.ts';
import type { Scenario } from '../sim/scenario.ts';

export const LARGE_SESSIONS = 10_000;
const HOUR_MS = 3_600_000;
const MEAN_GAP_MS = 10 * 60_000;

function model(prng: Prng): ModelProfile {
  // Deltas every second: the gateway coalesces them anyway (150 ms throttle), and an hour of 10,000 sessions stays fast.
  return { ttftBaseMs: 700, prefillTokensPerSec: 5_000, tokensPerSec: prng.range(50, 150), jitter: 0.2, chunkMs: 1_000 };
}

function turn(prng: Prng): AgentScript {
  const steps: Step[] = [
    { kind: 'think', inputTokens: Math.round(prng.range(1_500, 12_000)) },
    { kind: 'stream', tokens: Math.round(prng.range(60, 700)) },
  ];
  const roll = prng.next();
  if (roll < 0.06) {
    const malformed = prng.bool(0.2);
    steps.push(
      { kind: 'tool', name: 'read', args: malformed ? {} : { path: 'notes.md' }, durationMs: prng.range(100, 2_000), retryArgs: { path: 'notes.md' } },
      { kind: 'stream', tokens: Math.round(prng.range(50, 300)) },
    );
  } else if (roll < 0.08) {
    steps.push(
      {
        kind: 'nested',
        targetSessionKey: `agent:helper:${prng.int(0, 99)}`,
        agentId: 'helper',
        prompt: 'look this up',
        script: { agentId: 'helper', model: model(prng), steps: [{ kind: 'think', inputTokens: 3_000 }, { kind: 'stream', tokens: Math.round(prng.range(100, 600)) }] },
      },
      { kind: 'stream', tokens: Math.round(prng.range(50, 200)) },
    );
  } else if (roll < 0.09) {
    steps.push({ kind: 'stall', ms: prng.range(5_000, 25_000) }, { kind: 'stream', tokens: 100 });
  } else if (roll < 0.095) {
    steps.push({ kind: 'fail', message: 'provider returned 529 overloaded' });
  }
  return { agentId: 'main', model: model(prng), steps };
}

export const largeHour: Scenario = {
  name: 'large-hour',
  title: '10,000 sessions, one simulated hour (discrete-event engine)',
  description: '10,000 sessions, Poisson arrivals (mean 10 min per session), tools, nested calls, stalls and failures; main 160, subagent 64.',
  defaultSeed: 10_000,
  defaultEngine: 'discrete-event',
  limitMs: HOUR_MS + 15 * 60_000,
  large: true,
  config: {
    agents: { defaults: { maxConcurrent: 160, subagents: { maxConcurrent: 64 }, lane: { nestedAgentParallel: true } } },
    messages: { queue: { mode: 'collect', debounceMs: 500 } },
    // Modelled clients answer pings at once, so ping round trips carry no information here; at the
    // default 15 s they would be two thirds of all events. Heartbeats (HB-1) keep their 15 s.
    gateway: { heartbeat: { pingIntervalMs: 300_000, deadAfterMs: 900_000 } },
  },
  variants: [{ name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE }],
  script(_run, prng) {
    return turn(prng);
  },
  setup(ctx) {
    for (let s = 0; s < LARGE_SESSIONS; s++) {
      const client = ctx.client(`u${s}`);
      const session = `agent:main:s${s}`;
      let t = ctx.prng.exponential(MEAN_GAP_MS);
      let n = 0;
      while (t < HOUR_MS) {
        const text = `message ${++n}`;
        ctx.at(Math.round(t), () => client.send(session, text));
        t += ctx.prng.exponential(MEAN_GAP_MS);
      }
    }
  },
};
