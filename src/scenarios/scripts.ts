/** Building blocks for scenario scripts: model profiles and common turns. */
import type { Prng } from '../model/prng.ts';
import type { AgentScript, ModelProfile, Step } from '../sim/agent-model.ts';

/** A mid-size model: quick first token, ~60-150 tokens/s. */
export function sonnet(prng: Prng, chunkMs = 150): ModelProfile {
  return { ttftBaseMs: 800, prefillTokensPerSec: 4_000, tokensPerSec: prng.range(60, 150), jitter: 0.2, chunkMs };
}

/** A short answer: read the context, stream a few hundred tokens. */
export function quickTurn(prng: Prng, agentId = 'main', extra: Step[] = []): AgentScript {
  return {
    agentId,
    model: sonnet(prng),
    steps: [
      { kind: 'think', inputTokens: Math.round(prng.range(2_000, 6_000)) },
      { kind: 'stream', tokens: Math.round(prng.range(80, 300)) },
      ...extra,
    ],
  };
}

/** A long turn: streams `tokens` (seconds of output at the model's speed). */
export function longTurn(prng: Prng, tokens: number, agentId = 'main'): AgentScript {
  return {
    agentId,
    model: sonnet(prng),
    steps: [
      { kind: 'think', inputTokens: 8_000 },
      { kind: 'stream', tokens: Math.round(tokens / 2) },
      { kind: 'tool', name: 'read', args: { path: 'README.md' }, durationMs: 300 },
      { kind: 'stream', tokens: Math.round(tokens / 2) },
    ],
  };
}
