/**
 * The conformance suite's vocabulary: cases, targets, outcomes.
 *
 * A case checks a few rules of docs/SPEC.md through what a gateway exposes
 * (its lane queue, its protocol, its tool validator), never through the
 * gateway's own account of itself: the harness observes from the outside
 * (task functions it wrote, frames its clients received, requests its
 * scripted model saw). Cases are graded like Autobahn|Testsuite grades
 * WebSocket servers: MUST, SHOULD, INFORMATIONAL.
 */
import type { LanesimConfig } from '../model/config-types.ts';
import type { EventFrame, ResponseFrame } from '../model/protocol.ts';
import type { FakeModelScript } from '../fake-model/script.ts';
import type { RequestLogEntry } from '../fake-model/server.ts';
import type { GatewaySupport, SupportNeed } from './support.ts';
import type { CaseTranscript } from './transcript.ts';

export type Level = 'MUST' | 'SHOULD' | 'INFORMATIONAL';
export const LEVELS: readonly Level[] = ['MUST', 'SHOULD', 'INFORMATIONAL'];

/** n/a: the target does not expose what the case needs (never counted as a pass). */
export type CaseStatus = 'pass' | 'fail' | 'n/a' | 'error';

/**
 * What a target can do for the harness.
 * - lanes: a lane queue to drive directly (LaneQueueUnderTest)
 * - gateway: clients that speak the protocol's methods and receive its events
 * - model-script: the harness scripts the model side (timing, tool calls) and reads the requests it got
 * - raw-socket: a real WebSocket the harness can send anything on (handshake and bad-input cases)
 * - tools: the tool-call validator, called directly
 * - virtual-time: time is a fake clock (cases may wait minutes of it for free)
 */
export type Capability = 'lanes' | 'gateway' | 'model-script' | 'raw-socket' | 'tools' | 'virtual-time';

// ------------------------------------------------------------------ lanes

export interface LaneWaitRecord {
  lane: string;
  waitedMs: number;
  queueAhead: number;
  activeAhead?: number;
  activeNow?: number;
  queueBehind?: number;
}

/**
 * A lane queue with OpenClaw's command-queue semantics (BRIEF §1), as a
 * gateway author wraps theirs. Runs under fake timers installed by the
 * harness: it must use the global setTimeout/Date.now.
 */
export interface LaneQueueUnderTest {
  /** Run `task` in `lane` when a slot is free; settles with the task's result or error. */
  enqueue<T>(lane: string, task: () => Promise<T> | T, options?: { signal?: AbortSignal }): Promise<T>;
  setConcurrency(lane: string, maxConcurrent: number): void;
  /** Rejects every queued (not running) entry of the lane; returns how many. */
  clear(lane: string): number;
  /** New enqueues are refused from now on (LANE-13). */
  drain?(): void;
  /** Forget the lane's running tasks (LANE-14). */
  resetLane?(lane: string): void;
  /** The lane-wait diagnostics emitted so far (DIAG-1/2). */
  laneWaits?(): LaneWaitRecord[];
  /** Supports aborting a queued entry through options.signal (LANE-12). */
  readonly abortQueued?: boolean;
  dispose?(): void | Promise<void>;
}

// ------------------------------------------------------------------ gateway

export interface ReceivedEvent extends EventFrame {
  /** When the client got it, in the session's time units (virtual ms in-process, scaled ms over WebSocket). */
  at: number;
}

export interface TestClient {
  readonly name: string;
  /** Every event received, in order. */
  readonly events: ReceivedEvent[];
  request(method: string, params?: unknown): Promise<ResponseFrame>;
  /** The first event (already received or arriving within `withinMs`) that matches, else null. */
  waitFor(predicate: (event: ReceivedEvent) => boolean, withinMs: number): Promise<ReceivedEvent | null>;
  close(): Promise<void>;
  readonly closed: boolean;
}

export interface RawSocket {
  /** The first frame the server sent (e.g. connect.challenge), if any within the timeout. */
  readonly received: unknown[];
  send(data: string | Buffer): void;
  /** Resolves with the close code and reason, or null if it stays open `withinMs`. */
  waitClose(withinMs: number): Promise<{ code: number; reason: string } | null>;
  waitFrame(predicate: (frame: unknown) => boolean, withinMs: number): Promise<unknown | null>;
  close(): void;
}

/** What a case may rely on about the gateway's configuration. */
export interface GatewayFacts {
  heartbeatIntervalMs: number | null;
  warnThresholdMs: number;
  tickIntervalMs: number | null;
  maxPayload: number | null;
  /** The token, when the target needs one. */
  token: string | null;
}

/** One fresh gateway (or a fresh slice of one) for one case. */
export interface GatewaySession {
  readonly facts: GatewayFacts;
  /** Scripted durations are divided by this before the gateway lives them (1 on a fake clock). */
  readonly timeScale: number;
  /** Connect and complete the handshake. */
  connect(name: string): Promise<TestClient>;
  /** A WebSocket before any handshake (capability raw-socket). */
  raw?(): Promise<RawSocket>;
  /** Script the model side (capability model-script). */
  setModel?(script: FakeModelScript): Promise<void>;
  /** Requests the model got since the session began (capability model-script). */
  modelRequests?(): Promise<RequestLogEntry[]>;
  /** Let `ms` of the gateway's time pass (virtual: instant; real: ms / timeScale). */
  sleep(ms: number): Promise<void>;
  /** Session keys unique to this case (a shared gateway is reused across cases). */
  sessionKey(name: string): string;
  close(): Promise<void>;
}

export interface ToolValidatorUnderTest {
  validate(call: { id: string; name: string; arguments: unknown }): { ok: boolean; content?: string; toolUseId?: string; isError?: boolean };
}

export interface ConformanceTarget {
  readonly name: string;
  readonly kind: 'in-process' | 'websocket';
  readonly capabilities: ReadonlySet<Capability>;
  /** A fresh lane queue for one case; the harness has installed fake timers. */
  createLaneQueue?(): Promise<LaneQueueUnderTest>;
  /** A fresh gateway session for one case. */
  openGateway?(options: { config?: Partial<LanesimConfig> }): Promise<GatewaySession>;
  readonly tools?: ToolValidatorUnderTest;
  /**
   * What the gateway declares it supports (src/conformance/support.ts);
   * undefined means everything (FULL_SUPPORT): nothing is assumed away.
   */
  readonly supports?: GatewaySupport;
  dispose?(): Promise<void>;
}

// ------------------------------------------------------------------ cases

export interface CaseContext {
  readonly target: ConformanceTarget;
  /** Seeded per case (replayable); cases draw any randomness from it. */
  readonly seed: number;
  /** Available on targets with capability `lanes`, created fresh for this case, fake timers installed. */
  lanes(): Promise<LaneQueueUnderTest>;
  /** Advance the fake clock of a lane case (virtual ms), running timers and microtasks. */
  advance(ms: number): Promise<void>;
  /** Current virtual time of a lane case. */
  now(): number;
  gateway(options?: { config?: Partial<LanesimConfig> }): Promise<GatewaySession>;
  /** A note for the report (kept with the result, shown with --verbose). */
  note(text: string): void;
  /** The target's declared support (FULL_SUPPORT when it declares nothing). */
  readonly supports: GatewaySupport;
}

export interface ConformanceCase {
  /** Stable, hierarchical (`lane.session.exclusive`): --only / --skip take ids or prefixes. */
  readonly id: string;
  readonly title: string;
  /** The docs/SPEC.md rules it checks. */
  readonly rules: readonly string[];
  readonly level: Level;
  readonly requires: readonly Capability[];
  /**
   * What the case needs of the gateway's declared support (support.ts): a
   * target that declares one of them unsupported gets n/a before the case runs,
   * with the declaration named. Cases that adapt to the configuration may also
   * call requireSupport(ctx.supports, ...) as they go.
   */
  readonly needs?: readonly SupportNeed[];
  /**
   * The case must run alone (runner --concurrency): it changes or measures
   * the whole gateway (shutdown, connection caps, megabytes through the event
   * loop), so no other case may run beside it.
   */
  readonly exclusive?: true;
  /**
   * The case only opens connections and sends requests that start no agent
   * run (no chat.send that is accepted, no model script): over WebSocket it
   * may run beside a case that uses the gateway's runs (runner scheduleClass).
   * Cases that need `gateway` are otherwise assumed to use runs.
   */
  readonly connectionOnly?: true;
  /** What is done, step by step (shown by `conform --list --verbose` and in failures). */
  readonly procedure: string;
  run(ctx: CaseContext): Promise<void>;
}

/** One failed check of a case: the rule, what the spec expects, what was observed. */
export interface FailedCheck {
  rule: string;
  expected: string;
  observed: string;
}

export interface CaseResult {
  id: string;
  title: string;
  level: Level;
  rules: readonly string[];
  status: CaseStatus;
  /** One line: why it failed, why n/a, or what passed. */
  reason: string;
  /** For failures: the first failed check's rule, what the spec expects and what was observed. */
  rule?: string;
  expected?: string;
  observed?: string;
  durationMs: number;
  seed: number;
  replay: string;
  notes: string[];
  /** Every failed check, in the order they failed (a case goes on after a soft check fails). */
  checks: FailedCheck[];
  /** What the case sent and received (transcript.ts): kept for failed cases, and for all with --transcript. */
  transcript?: CaseTranscript;
}

/** Thrown by a case (through `expectRule`) when the gateway breaks a rule. */
export class CaseFailure extends Error {
  readonly rule: string;
  readonly expected: string;
  readonly observed: string;
  constructor(rule: string, expected: string, observed: string, message?: string) {
    super(message ?? `${rule}: expected ${expected}; observed ${observed}`);
    this.name = 'CaseFailure';
    this.rule = rule;
    this.expected = expected;
    this.observed = observed;
  }
}

/** Thrown when the target lacks something the case needs (reported as n/a, never as a pass). */
export class NotApplicable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotApplicable';
  }
}

/**
 * Thrown when something the case's checks depend on did not happen (the
 * coding agent never ran, a burst message never reached the model, the slow
 * consumer built no backlog): the case cannot judge its rules, so it is n/a
 * with the reason (never a pass, never a failure of an unrelated rule). Checks
 * that had already failed still make the case fail.
 */
export class PreconditionNotMet extends NotApplicable {
  constructor(message: string) {
    super(`precondition not met: ${message}`);
    this.name = 'PreconditionNotMet';
  }
}

/** Stops the case as n/a unless `condition` holds (see PreconditionNotMet). */
export function precondition(condition: boolean, what: string | (() => string)): asserts condition {
  if (!condition) throw new PreconditionNotMet(typeof what === 'function' ? what() : what);
}

/**
 * Receives the soft failures of the case running in this async context (the
 * runner installs one per case; see checks.ts). Without a sink a soft check
 * throws like expectRule.
 */
export interface CheckSink {
  record(failure: CaseFailure): void;
}
let sinkOf: () => CheckSink | undefined = () => undefined;
/** Called once by checks.ts to plug in the per-case sink lookup. */
export function setCheckSinkLookup(lookup: () => CheckSink | undefined): void {
  sinkOf = lookup;
}

/**
 * A soft check (Playwright's expect.soft): when `condition` is false the
 * failure is recorded and the case goes on, so one run reports every broken
 * rule. Returns `condition`. Use expectRule instead where the checks after it
 * make no sense unless it holds.
 */
export function checkRule(condition: boolean, rule: string, expected: string, observed: string | (() => string)): boolean {
  if (condition) return true;
  const failure = new CaseFailure(rule, expected, typeof observed === 'function' ? observed() : observed);
  const sink = sinkOf();
  if (sink === undefined) throw failure;
  sink.record(failure);
  return false;
}

/** Fails the case with the rule, the expectation and the observation when `condition` is false (a hard check: the case stops). */
export function expectRule(condition: boolean, rule: string, expected: string, observed: string | (() => string)): asserts condition {
  if (!condition) throw new CaseFailure(rule, expected, typeof observed === 'function' ? observed() : observed);
}
