/**
 * subagent-fanout: a coordinator spawns 12 sub-agents at once while
 * `subagents.maxConcurrent` is 8 (LANE-3, LANE-24): 8 run, 4 wait in the
 * `subagent` lane, and the coordinator (holding its session slot) waits for
 * all of them. A second message to the coordinator waits meanwhile.
 * Look for: maxGlobalActive.subagent = 8, waits in the subagent lane, and the
 * waiting client hearing lane.status + heartbeats.
 */
import { OPENCLAW_TODAY_PROFILE, REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { AgentScript } from '../sim/agent-model.ts';
import type { Scenario } from '../sim/scenario.ts';
import { quickTurn, sonnet } from './scripts.ts';

const SESSION = 'agent:main:webchat';
const FANOUT = 'Audit all 12 services and summarize the risks.';

export const subagentFanout: Scenario = {
  name: 'subagent-fanout',
  title: 'Sub-agent fan-out beyond subagents.maxConcurrent (12 spawned, cap 8)',
  description: 'A coordinator spawns 12 sub-agents with subagents.maxConcurrent 8 and waits for all; the user asks again meanwhile.',
  defaultSeed: 12,
  defaultEngine: 'fake-timers',
  limitMs: 30 * 60_000,
  config: { agents: { defaults: { subagents: { maxConcurrent: 8 } } }, messages: { queue: { mode: 'followup' } } },
  variants: [
    { name: 'baseline', title: "today's OpenClaw", profile: OPENCLAW_TODAY_PROFILE, baseline: true },
    { name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE },
  ],
  script(run, prng) {
    if (run.messages[0]?.text !== FANOUT) return quickTurn(prng);
    const agents = Array.from({ length: 12 }, (_, i) => {
      const script: AgentScript = {
        agentId: `auditor-${i}`,
        model: sonnet(prng),
        steps: [
          { kind: 'think', inputTokens: 6_000 },
          { kind: 'tool', name: 'exec', args: { command: `audit service-${i}` }, durationMs: prng.range(5_000, 20_000) },
          { kind: 'stream', tokens: Math.round(prng.range(400, 1_200)) },
        ],
      };
      return { sessionKey: `agent:auditor-${i}:task`, agentId: `auditor-${i}`, prompt: `audit service-${i}`, script };
    });
    return {
      agentId: 'main',
      model: sonnet(prng),
      steps: [{ kind: 'think', inputTokens: 3_000 }, { kind: 'stream', tokens: 120 }, { kind: 'spawn', agents }, { kind: 'stream', tokens: 600 }],
    };
  },
  setup(ctx) {
    const user = ctx.client('webchat');
    ctx.at(0, () => user.send(SESSION, FANOUT));
    ctx.at(20_000, () => user.send(SESSION, 'how many are done?'));
  },
};
