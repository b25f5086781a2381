/**
 * Runs one scenario variant on one engine from one seed: builds the reference
 * gateway on the engine's clock, lets the scenario schedule its clients,
 * streams the trace through the invariant checkers and the metrics, and
 * stops once the workload is done and everything has settled.
 */
import { createHash } from 'node:crypto';
import type { ConfigInput, LanesimConfig } from '../model/config-types.ts';
import { mergeConfig, parseConfig } from '../model/config.ts';
import type { TraceEvent, TraceSink } from '../model/events.ts';
import { TraceFanout } from '../model/invariants/fanout.ts';
import { checkerSuite, finishCheckers, type TraceChecker, type Violation } from '../model/invariants/index.ts';
import { SilenceChecker, type SilenceGap } from '../model/invariants/silence.ts';
import { ToolResultChecker } from '../model/invariants/tool-results.ts';
import { Prng, assertSeed } from '../model/prng.ts';
import { Gateway } from '../reference-impl/gateway.ts';
import { SimulatedAgents, type AgentStats } from './agent-model.ts';
import { DiscreteEventEngine } from './discrete-event-engine.ts';
import type { EngineName, SimEngine } from './engine.ts';
import { FakeTimersEngine } from './fake-timers-engine.ts';
import { MetricsObserver, type LaneSample, type Metrics } from './metrics.ts';
import type { Scenario, ScenarioContext, ScenarioVariant } from './scenario.ts';
import { SimClient } from './sim-client.ts';

export interface SimulationOptions {
  scenario: Scenario;
  variant: ScenarioVariant;
  seed?: number;
  engine?: EngineName;
  /** Applied last, on top of the scenario's and the variant's config. */
  config?: ConfigInput;
  /** Keep every trace event in memory (tests, HTML, JSONL). */
  keepTrace?: boolean;
  /** SHA-256 of the trace as JSON lines. Default: on unless the scenario is large. */
  hashTrace?: boolean;
  /** Receives every event as it happens (e.g. a JSONL writer). */
  onEvent?: TraceSink;
  /** Lane occupancy samples for the HTML timeline. */
  timeline?: boolean;
  /** Lines the gateway would log (`lane wait exceeded`, swallowed tool errors). */
  log?: (line: string) => void;
}

export interface SimulationResult {
  scenario: string;
  variant: string;
  baseline: boolean;
  profile: string;
  seed: number;
  engine: EngineName;
  config: LanesimConfig;
  /** Virtual time at the end. */
  endMs: number;
  stopReason: string;
  engineEvents: number;
  /** Discrete-event engine only: timers scheduled, and how many joined a time already queued. */
  engineQueue: { pushes: number; joined: number } | null;
  traceEvents: number;
  traceHash: string | null;
  wallMs: number;
  /** The violations kept (the first 50 per checker), in time order. */
  violations: Violation[];
  /** All violations found, kept or not. */
  violationCount: number;
  metrics: Metrics;
  silence: { worstGapMs: number; worstConnId: string | null; firstFeedbackMs: number[]; noFeedback: number };
  tools: { returned: number; swallowed: number };
  agents: AgentStats;
  logLines: number;
  trace: TraceEvent[] | null;
  timeline: Map<string, LaneSample[]> | null;
  /** Per connection, each silence it had while waiting (with `timeline`). */
  gaps: Map<string, SilenceGap[]> | null;
  clients: SimClient[];
}

/** How often the runner checks whether the workload has settled (virtual ms). */
const QUIESCENCE_POLL_MS = 250;

export function effectiveConfig(scenario: Scenario, variant: ScenarioVariant, override?: ConfigInput): LanesimConfig {
  let input: ConfigInput = scenario.config ?? {};
  if (variant.config !== undefined) input = mergeConfig(input, variant.config);
  if (override !== undefined) input = mergeConfig(input, override);
  return parseConfig(input, { source: `${scenario.name}/${variant.name}` });
}

export function createEngine(name: EngineName): SimEngine {
  return name === 'fake-timers' ? new FakeTimersEngine() : new DiscreteEventEngine();
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { scenario, variant } = options;
  const seed = assertSeed(options.seed ?? scenario.defaultSeed);
  const engineName = options.engine ?? scenario.defaultEngine;
  const config = effectiveConfig(scenario, variant, options.config);
  const large = scenario.large ?? false;
  const wallStart = process.hrtime.bigint();

  const checkers: TraceChecker[] = checkerSuite({
    lanes: true,
    warnThresholdMs: config.agents.defaults.lane.warnThresholdMs,
    silenceBoundMs: null,
    senderMustHear: true,
    tools: false,
    abortGraceMs: 1000,
  });
  const silence = new SilenceChecker({ boundMs: config.gateway.heartbeat.intervalMs, recordGaps: options.timeline ?? false });
  const tools = new ToolResultChecker();
  checkers.push(silence, tools);
  const metrics = new MetricsObserver(options.timeline ?? false);
  const fanout = new TraceFanout([...checkers, metrics]);
  const hash = (options.hashTrace ?? !large) ? createHash('sha256') : null;
  const kept: TraceEvent[] | null = options.keepTrace ? [] : null;
  let traceEvents = 0;
  const onEvent = options.onEvent;
  const sink: TraceSink = (event) => {
    traceEvents++;
    fanout.observe(event);
    if (hash !== null) hash.update(`${JSON.stringify(event)}\n`);
    if (kept !== null) kept.push(event);
    if (onEvent !== undefined) onEvent(event);
  };

  const engine = createEngine(engineName);
  engine.start();
  let logLines = 0;
  const clients: SimClient[] = [];
  try {
    const clock = engine.clock;
    const prng = new Prng(seed);
    const agentPrng = prng.fork();
    const scenarioPrng = prng.fork();
    const agents = new SimulatedAgents(clock, agentPrng, (run) => scenario.script(run, agentPrng, variant), large);
    const gateway = new Gateway({
      config,
      runtime: agents,
      profile: variant.profile,
      clock,
      trace: sink,
      keepHistory: !large,
      lossless: true,
      traceLiveness: !large,
      log: (line) => {
        logLines++;
        options.log?.(line);
      },
    });
    let pendingActions = 0;
    const ctx: ScenarioContext = {
      clock,
      prng: scenarioPrng,
      gateway,
      config,
      variant,
      client: (name) => {
        const client = new SimClient(name, gateway, () => clock.now(), !large);
        clients.push(client);
        client.connect();
        return client;
      },
      at: (ms, action) => {
        pendingActions++;
        clock.setTimeout(() => {
          pendingActions--;
          action();
        }, Math.max(0, ms - clock.now()));
      },
    };
    scenario.setup(ctx);
    const poll = (): void => {
      if (pendingActions === 0 && gateway.router.scheduler.liveTasks === 0 && gateway.router.activeSessions === 0) {
        gateway.stopTimers();
        engine.stop();
        return;
      }
      clock.setTimeout(poll, QUIESCENCE_POLL_MS);
    };
    clock.setTimeout(poll, QUIESCENCE_POLL_MS);
    const run = await engine.run(scenario.limitMs);
    const endMs = run.endMs;
    gateway.stopTimers();
    const violations = finishCheckers(checkers, endMs);
    return {
      scenario: scenario.name,
      variant: variant.name,
      baseline: variant.baseline ?? false,
      profile: variant.profile.name,
      seed,
      engine: engineName,
      config,
      endMs,
      stopReason: run.reason,
      engineEvents: run.events,
      engineQueue: engine instanceof DiscreteEventEngine ? engine.queueStats : null,
      traceEvents,
      traceHash: hash === null ? null : hash.digest('hex'),
      wallMs: Number(process.hrtime.bigint() - wallStart) / 1e6,
      violations,
      violationCount: violations.length + checkers.reduce((n, c) => n + c.droppedCount(), 0),
      metrics: metrics.metrics,
      silence: { ...silence.stats },
      tools: { returned: tools.returned, swallowed: tools.swallowed },
      agents: { ...agents.stats },
      logLines,
      trace: kept,
      timeline: options.timeline ? metrics.timeline : null,
      gaps: silence.gaps,
      clients,
    };
  } finally {
    engine.dispose();
  }
}
