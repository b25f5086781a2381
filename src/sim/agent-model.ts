/**
 * Modelled agents: a run follows a script of steps (think, stream, tool,
 * nested call, stall, fail) whose timing comes from a model profile and a
 * seeded PRNG, on the engine's clock. Nothing sleeps: every wait is a timer.
 *
 *   think(inputTokens)   time to first token: ttftBaseMs + inputTokens / prefillTokensPerSec
 *   stream(tokens)       deltas every chunkMs at tokensPerSec (both jittered)
 *   tool(name, args)     the gateway validates; the tool runs for durationMs;
 *                        an error that reaches the agent makes it think again
 *                        and retry with retryArgs (TOOL-7); an error that only
 *                        reached a log leaves the agent going on without it
 *   nested(target, ...)  an agent-to-agent call (LANE-20/21) running its own script
 *   spawn(agents)        sub-agents in their own sessions (LANE-24); waits for all
 *   stall(ms)            the model stream stops producing for ms
 *   fail(message)        the run errors
 */
import type { Clock, TimerHandle } from '../model/clock.ts';
import type { Prng } from '../model/prng.ts';
import type { AgentRuntime, RunIO } from '../reference-impl/gateway.ts';
import type { Run } from '../reference-impl/run.ts';

export interface ModelProfile {
  /** Fixed latency before the first token. */
  ttftBaseMs: number;
  /** Prompt processing speed (input tokens per second). */
  prefillTokensPerSec: number;
  /** Output speed. */
  tokensPerSec: number;
  /** Relative jitter applied to every duration (0.2 = ±20%). */
  jitter: number;
  /** How often streamed output is handed to the gateway. */
  chunkMs: number;
}

export type Step =
  | { kind: 'think'; inputTokens: number }
  | { kind: 'stream'; tokens: number }
  | { kind: 'tool'; name: string; args: unknown; durationMs: number; retryArgs?: unknown }
  | { kind: 'nested'; targetSessionKey: string; agentId: string; prompt: string; script: AgentScript }
  | { kind: 'spawn'; agents: readonly { sessionKey: string; agentId: string; prompt: string; script: AgentScript }[] }
  | { kind: 'stall'; ms: number }
  | { kind: 'fail'; message: string };

export interface AgentScript {
  agentId: string;
  model: ModelProfile;
  steps: readonly Step[];
}

export const DEFAULT_MODEL: ModelProfile = Object.freeze({
  ttftBaseMs: 1_200,
  prefillTokensPerSec: 2_500,
  tokensPerSec: 120,
  jitter: 0.2,
  chunkMs: 100,
});

/** Chooses the script of a top-level run (message, collect or summary run). */
export type ScriptChooser = (run: Run) => AgentScript;

export interface AgentStats {
  runs: number;
  tokensOut: number;
  toolCalls: number;
  toolRetries: number;
  toolErrorsUnseen: number;
  nestedCalls: number;
  steersTaken: number;
  aborted: number;
}

const WORD = 'lorem ';

/** The AgentRuntime the simulator gives the reference gateway. */
export class SimulatedAgents implements AgentRuntime {
  readonly stats: AgentStats = { runs: 0, tokensOut: 0, toolCalls: 0, toolRetries: 0, toolErrorsUnseen: 0, nestedCalls: 0, steersTaken: 0, aborted: 0 };
  private nextCall = 0;

  constructor(
    private readonly clock: Clock,
    private readonly prng: Prng,
    private readonly choose: ScriptChooser,
    /** Keep the streamed text small in huge runs: one word per chunk instead of per token. */
    private readonly compactText = false,
  ) {}

  start(io: RunIO): void {
    const script = (io.run.data as AgentScript | null) ?? this.choose(io.run);
    this.stats.runs++;
    new AgentRun(this, io, script).next();
  }

  /** @internal */
  timer(callback: () => void, ms: number): TimerHandle {
    return this.clock.setTimeout(callback, Math.max(0, Math.round(ms)));
  }

  /** @internal */
  cancel(handle: TimerHandle): void {
    this.clock.clearTimeout(handle);
  }

  /** @internal */
  duration(ms: number, model: ModelProfile): number {
    return Math.max(0, this.prng.jitter(ms, model.jitter));
  }

  /** @internal */
  callId(): string {
    return `call_${++this.nextCall}`;
  }

  /** @internal */
  text(tokens: number): string {
    return this.compactText ? WORD : WORD.repeat(Math.max(1, Math.round(tokens)));
  }
}

class AgentRun {
  private index = 0;
  private pending: TimerHandle | null = null;
  private afterWait: (() => void) | null = null;
  private done = false;
  /** The one timer callback of this run: it runs `afterWait` (a run waits on one timer at a time). */
  private readonly fire = (): void => {
    const then = this.afterWait!;
    this.pending = null;
    this.afterWait = null;
    then();
  };
  private readonly nextStep = (): void => this.next();
  constructor(
    private readonly agents: SimulatedAgents,
    private readonly io: RunIO,
    private readonly script: AgentScript,
  ) {
    io.onAbort(() => this.abort());
  }

  next(): void {
    if (this.done) return;
    if (this.io.aborted) return this.abort();
    const step = this.script.steps[this.index++];
    if (step === undefined) return this.finish();
    const model = this.script.model;
    switch (step.kind) {
      case 'think': {
        const ms = model.ttftBaseMs + (step.inputTokens / model.prefillTokensPerSec) * 1000;
        this.wait(this.agents.duration(ms, model), this.nextStep);
        return;
      }
      case 'stream':
        return this.stream(step.tokens);
      case 'stall':
        this.io.setStreaming(false);
        this.wait(step.ms, this.nextStep);
        return;
      case 'fail':
        return this.settle(() => this.io.fail(step.message));
      case 'tool':
        return this.tool(step.name, step.args, step.durationMs, step.retryArgs, false);
      case 'spawn': {
        this.io.setStreaming(false);
        let left = step.agents.length;
        if (left === 0) return this.next();
        for (const agent of step.agents) {
          this.io.spawn({ targetSessionKey: agent.sessionKey, agentId: agent.agentId, prompt: agent.prompt, data: agent.script }, () => {
            if (--left === 0) this.next();
          });
        }
        return;
      }
      case 'nested':
        this.agents.stats.nestedCalls++;
        this.io.setStreaming(false);
        this.io.callNested(
          { targetSessionKey: step.targetSessionKey, agentId: step.agentId, prompt: step.prompt, data: step.script },
          (outcome) => {
            if (outcome === 'aborted' || this.io.aborted) return this.abort();
            this.next();
          },
        );
        return;
    }
  }

  private stream(tokens: number): void {
    const model = this.script.model;
    this.io.setStreaming(true);
    let left = tokens;
    const chunk = (): void => {
      if (this.done) return;
      if (this.io.aborted) return this.abort();
      // QUEUE-3: a steer is taken at a model boundary: the agent answers it too.
      const steers = this.io.takeSteers();
      if (steers.length > 0) {
        this.agents.stats.steersTaken += steers.length;
        left += 40 * steers.length;
      }
      const perChunk = Math.max(1, (model.tokensPerSec * model.chunkMs) / 1000);
      const emit = Math.min(left, perChunk);
      left -= emit;
      this.agents.stats.tokensOut += emit;
      this.io.delta(this.agents.text(emit));
      if (left <= 0) {
        this.io.setStreaming(false);
        this.next();
        return;
      }
      this.wait(this.agents.duration(model.chunkMs, model), chunk);
    };
    this.wait(this.agents.duration(model.chunkMs, model), chunk);
  }

  private tool(name: string, args: unknown, durationMs: number, retryArgs: unknown, isRetry: boolean): void {
    const id = this.agents.callId();
    this.agents.stats.toolCalls++;
    const outcome = this.io.toolCall({ id, name, arguments: args });
    if (outcome.ok) {
      this.wait(this.agents.duration(durationMs, this.script.model), () => {
        this.io.toolResult(id, name, true);
        this.next();
      });
      return;
    }
    if (!outcome.delivered) {
      // Today's behaviour: the error went to a log; the agent goes on without the data.
      this.agents.stats.toolErrorsUnseen++;
      this.next();
      return;
    }
    // TOOL-1/TOOL-7: the agent read the error tool_result; it thinks briefly and retries, corrected.
    if (isRetry || retryArgs === undefined) {
      this.next();
      return;
    }
    this.agents.stats.toolRetries++;
    const model = this.script.model;
    this.wait(this.agents.duration(model.ttftBaseMs, model), () => this.tool(name, retryArgs, durationMs, undefined, true));
  }

  private wait(ms: number, then: () => void): void {
    this.afterWait = then;
    this.pending = this.agents.timer(this.fire, ms);
  }

  private abort(): void {
    if (this.done) return;
    this.agents.stats.aborted++;
    this.settle(() => this.io.finish());
  }

  private finish(): void {
    this.settle(() => this.io.finish());
  }

  private settle(action: () => void): void {
    if (this.done) return;
    this.done = true;
    if (this.pending !== null) {
      this.agents.cancel(this.pending);
      this.pending = null;
      this.afterWait = null;
    }
    action();
  }
}
