/**
 * What a scenario is: a named, documented workload with a default seed, the
 * gateway configurations (variants) it runs under, the scripts its agents
 * follow, and the client actions it schedules on the virtual clock.
 */
import type { Clock } from '../model/clock.ts';
import type { ConfigInput, LanesimConfig } from '../model/config-types.ts';
import type { Prng } from '../model/prng.ts';
import type { Gateway } from '../reference-impl/gateway.ts';
import type { GatewayProfile } from '../reference-impl/profile.ts';
import type { Run } from '../reference-impl/run.ts';
import type { AgentScript } from './agent-model.ts';
import type { EngineName } from './engine.ts';
import type { SimClient } from './sim-client.ts';

export interface ScenarioVariant {
  name: string;
  title: string;
  profile: GatewayProfile;
  /** Config on top of the scenario's. */
  config?: ConfigInput;
  /**
   * A model of today's gateway: its violations are the point (they
   * reproduce the incident) and do not fail `lanesim simulate`.
   */
  baseline?: boolean;
}

export interface ScenarioContext {
  readonly clock: Clock;
  readonly prng: Prng;
  readonly gateway: Gateway;
  readonly config: LanesimConfig;
  readonly variant: ScenarioVariant;
  /** A modelled client, connected now. */
  client(name: string): SimClient;
  /** Runs `action` at virtual time `ms` (absolute, from the start). */
  at(ms: number, action: () => void): void;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** What it models and what to look for in its report. */
  readonly description: string;
  readonly defaultSeed: number;
  readonly defaultEngine: EngineName;
  /** Virtual time after which the run is cut off (a scenario normally ends earlier, when all is settled). */
  readonly limitMs: number;
  readonly config?: ConfigInput;
  readonly variants: readonly ScenarioVariant[];
  /** Huge scenarios: compact streamed text, no transcripts, no per-client frame lists. */
  readonly large?: boolean;
  /** The script of a top-level run. */
  script(run: Run, prng: Prng, variant: ScenarioVariant): AgentScript;
  /** Schedules the clients' actions. */
  setup(ctx: ScenarioContext): void;
}
