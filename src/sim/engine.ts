/**
 * A simulation engine supplies virtual time and runs the timers scheduled on
 * it until the scenario stops it, nothing is left, or a time limit passes.
 * Two engines, one API: fake-timers (real implementation code that calls
 * setTimeout/Date.now, promises included) and discrete-event (its own heap,
 * synchronous, for runs with millions of events).
 */
import type { Clock } from '../model/clock.ts';

export type EngineName = 'fake-timers' | 'discrete-event';
export const ENGINE_NAMES: readonly EngineName[] = ['fake-timers', 'discrete-event'];

export interface EngineRunResult {
  /** Virtual time when the run stopped. */
  endMs: number;
  /** Timer callbacks run. */
  events: number;
  reason: 'stopped' | 'idle' | 'time-limit' | 'event-limit';
}

export interface SimEngine {
  readonly name: EngineName;
  /** Valid between start() and dispose(). */
  readonly clock: Clock;
  /** Installs the engine's time (fake-timers: swaps the globals). */
  start(): void;
  /** Runs timers until stop(), no timer is left, `limitMs` of virtual time, or `maxEvents`. */
  run(limitMs: number, maxEvents?: number): Promise<EngineRunResult>;
  /** Ends run() after the current event. */
  stop(): void;
  /** Restores whatever start() changed; pending timers are dropped. */
  dispose(): void;
}
