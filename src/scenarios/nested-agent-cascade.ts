/**
 * nested-agent-cascade: the incident from seed 004, replayed.
 *
 * A coordinator agent (session agent:main:webchat) takes a request from the
 * webchat and hands the work to a coding sub-agent ("CC", session
 * agent:coder:main) twice: each time an ~18k-token request and a ~6k-token
 * reply streamed over 30-60+ s, with tool calls, some of them malformed
 * (`read` with no `path`). Meanwhile the user keeps typing in two browser
 * tabs: "are you there?", "status?", ...
 *
 * Variants:
 * - baseline: today's OpenClaw (nested runs serialized on the parent's session
 *   lane, `lane wait exceeded` only in a log, a 30 s tick and nothing else,
 *   followups answered by an empty final, malformed tool calls only logged).
 *   Expect lane waits of 120-250 s and clients silent for up to 30 s at a
 *   time, with no feedback about their message for minutes.
 * - fixed: lanesim's reference (lane.status, 15 s heartbeat, fail-fast tool
 *   errors the agent retries), nested runs still serialized.
 * - fixed-parallel: the same with nestedAgentParallel: the coordinator parks
 *   while CC works, so the user's messages are answered at once.
 */
import type { Prng } from '../model/prng.ts';
import { OPENCLAW_TODAY_PROFILE, REFERENCE_PROFILE } from '../reference-impl/profile.ts';
import type { Run } from '../reference-impl/run.ts';
import type { AgentScript, ModelProfile, Step } from '../sim/agent-model.ts';
import type { Scenario } from '../sim/scenario.ts';

export const COORDINATOR_SESSION = 'agent:main:webchat';
export const CODER_SESSION = 'agent:coder:main';
const CASCADE_PROMPT = 'Refactor the config loader with CC and report back when the tests pass.';

/** Opus-class model: slow first token on big prompts, ~100-190 tokens/s out. */
function opus(prng: Prng): ModelProfile {
  return { ttftBaseMs: 1_500, prefillTokensPerSec: 3_000, tokensPerSec: prng.range(100, 190), jitter: 0.25, chunkMs: 150 };
}

/** One exchange: CC reads an ~18k-token request and streams a ~6k-token reply, with tools. */
function coderExchange(prng: Prng, round: number): AgentScript {
  const outTokens = Math.round(prng.range(5_500, 6_500));
  const part = (share: number): number => Math.round(outTokens * share);
  const steps: Step[] = [
    { kind: 'think', inputTokens: Math.round(prng.range(17_500, 18_500)) },
    { kind: 'stream', tokens: part(0.3) },
    // The malformed call of the incident: `read` with no path (TOOL-2); retried when the error reaches the agent.
    { kind: 'tool', name: 'read', args: {}, durationMs: 400, retryArgs: { path: `src/config/loader-${round}.ts` } },
    { kind: 'stream', tokens: part(0.25) },
    { kind: 'tool', name: 'edit', args: { path: 'src/config/loader.ts', oldText: 'parse(', newText: 'parseStrict(' }, durationMs: 600 },
    { kind: 'tool', name: 'exec', args: { command: 'npm test' }, durationMs: prng.range(15_000, 35_000) },
    { kind: 'stream', tokens: part(0.25) },
    { kind: 'tool', name: 'exec', args: { command: 'npm run lint' }, durationMs: prng.range(4_000, 9_000) },
    { kind: 'tool', name: 'read', args: { file_path: '' }, durationMs: 300, retryArgs: { file_path: 'test/loader.test.ts' } },
    { kind: 'stream', tokens: part(0.2) },
  ];
  return { agentId: 'claude-code', model: opus(prng), steps };
}

function coordinatorCascade(prng: Prng): AgentScript {
  return {
    agentId: 'main',
    model: opus(prng),
    steps: [
      { kind: 'think', inputTokens: 4_000 },
      { kind: 'stream', tokens: 220 },
      { kind: 'nested', targetSessionKey: CODER_SESSION, agentId: 'claude-code', prompt: 'round 1: refactor (18k tokens of context)', script: coderExchange(prng, 1) },
      { kind: 'think', inputTokens: 11_000 },
      { kind: 'stream', tokens: 350 },
      { kind: 'nested', targetSessionKey: CODER_SESSION, agentId: 'claude-code', prompt: 'round 2: fix review notes (18k tokens of context)', script: coderExchange(prng, 2) },
      { kind: 'think', inputTokens: 12_000 },
      { kind: 'stream', tokens: 600 },
    ],
  };
}

function quickReply(prng: Prng): AgentScript {
  return {
    agentId: 'main',
    model: opus(prng),
    steps: [
      { kind: 'think', inputTokens: Math.round(prng.range(5_000, 9_000)) },
      { kind: 'stream', tokens: Math.round(prng.range(120, 400)) },
    ],
  };
}

export const nestedAgentCascade: Scenario = {
  name: 'nested-agent-cascade',
  title: 'Nested-agent cascade (seed 004): 18k-token requests, 6k-token streamed replies, a waiting webchat',
  description:
    'A coordinator hands work to a coding sub-agent twice (~18k tokens in, ~6k streamed out, malformed read calls) while the user sends more messages from two tabs. Baseline = today\'s OpenClaw; fixed = lanesim\'s reference; fixed-parallel adds nestedAgentParallel.',
  defaultSeed: 4,
  defaultEngine: 'fake-timers',
  limitMs: 30 * 60_000,
  config: { messages: { queue: { mode: 'followup', cap: 20, drop: 'summarize' } } },
  variants: [
    { name: 'baseline', title: "today's OpenClaw", profile: OPENCLAW_TODAY_PROFILE, baseline: true },
    { name: 'fixed', title: 'lanesim fix', profile: REFERENCE_PROFILE },
    {
      name: 'fixed-parallel',
      title: 'fix + nestedAgentParallel',
      profile: REFERENCE_PROFILE,
      config: { agents: { defaults: { lane: { nestedAgentParallel: true } } } },
    },
  ],
  script(run: Run, prng: Prng): AgentScript {
    return run.messages[0]?.text === CASCADE_PROMPT ? coordinatorCascade(prng) : quickReply(prng);
  },
  setup(ctx) {
    const tab1 = ctx.client('webchat-tab1');
    const tab2 = ctx.client('webchat-tab2');
    tab2.subscribe(COORDINATOR_SESSION);
    ctx.at(0, () => tab1.send(COORDINATOR_SESSION, CASCADE_PROMPT));
    // The user waits, then keeps asking (queueAhead = 1, then more).
    ctx.at(ctx.prng.int(8_000, 14_000), () => tab1.send(COORDINATOR_SESSION, 'are you there?'));
    ctx.at(ctx.prng.int(35_000, 50_000), () => tab2.send(COORDINATOR_SESSION, 'status? the page looks frozen'));
    ctx.at(ctx.prng.int(70_000, 90_000), () => tab1.send(COORDINATOR_SESSION, 'hello??'));
  },
};
