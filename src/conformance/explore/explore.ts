/**
 * The explorer: N random workloads (workload.ts, from the target's declared
 * support) played on the target and on the reference gateway in process on
 * a fake clock (play.ts), each judged two ways:
 *   (a) the target's observation rebuilt into lanesim's trace and run through
 *       the invariant checkers (trace.ts), and
 *   (b) the target's outcome compared with the reference's (equivalence.ts).
 * A failing workload is shrunk by fast-check (keeping the rule it broke) to
 * a small one, printed as a timeline (report.ts) with the command that
 * replays exactly it.
 *
 * Workload i of a run with seed S is generated from its own seed
 * (workloadSeed(S, i)), so one failing workload is replayed by that seed
 * alone (`--replay <seed>`), and its shrunk form by `<seed>:<path>` or the
 * JSON file written for it.
 */
import fc from 'fast-check';
import type { Violation } from '../../model/invariants/index.ts';
import { FULL_SUPPORT, type GatewaySupport } from '../support.ts';
import { referenceTarget } from '../targets/reference.ts';
import type { ConformanceTarget } from '../types.ts';
import { ABORT_GRACE_MS, compareOutcomes, outcomeOf, type Divergence } from './equivalence.ts';
import { PAYLOADS, payloadProblem, type PayloadKind } from '../schemas.ts';
import { pacingViolation, REAL_NOISE_MS } from '../tolerances.ts';
import { gatewayStopper, openFor, operatorClearQueue, playWorkload, type Observation } from './play.ts';
import { checkObservation } from './trace.ts';
import { arbExploreWorkload, unsupportedIn, type ExploreWorkload } from './workload.ts';

export interface Finding {
  /** `invariant`: the target's own trace breaks a rule; `divergence`: it differs from the reference. */
  kind: 'invariant' | 'divergence';
  rule: string;
  /** The invariant (INV-...) or where the outcomes differ. */
  what: string;
  expected: string;
  observed: string;
  t: number | null;
}

export interface Judgement {
  workload: ExploreWorkload;
  target: Observation;
  reference: Observation;
  findings: Finding[];
  /** The reference broke an invariant on this workload: a harness or reference bug, not the target's. */
  referenceProblems: Finding[];
}

export interface JudgeOptions {
  /** Lateness allowed to timed invariants (default: 0 on a virtual-time target, else REAL_NOISE_MS x time scale). */
  toleranceMs?: number;
  /** Real clock: how far (gateway ms) steps are kept from the gateway's own decisions (default REAL_NOISE_MS x time scale; spaceForWire). */
  marginMs?: number;
}

/** Over the wire, how much longer than the reference the target may take to settle every wait (gateway ms; QUEUE-20). */
export const QUIESCENCE_SLACK_MS = 30_000;

function violationFinding(v: Violation): Finding {
  return { kind: 'invariant', rule: v.rule, what: v.invariant, expected: `${v.invariant} holds (${v.rule})`, observed: v.message, t: v.t };
}

function divergenceFinding(d: Divergence): Finding {
  return { kind: 'divergence', rule: d.rule, what: d.where, expected: d.expected, observed: d.observed, t: d.t ?? null };
}

/**
 * The instants of an observation at which the gateway decided something on its own (not in answer to a
 * step): model requests and their ends, every chat frame but deltas, every lane.status, and the end of
 * each collect debounce. A step that lands within the timing noise of one of these is a race on a real
 * clock: the SPEC lets the gateway see the step on either side of it.
 */
export function decisionTimes(o: Observation): { at: number; key: string }[] {
  const out: { at: number; key: string }[] = [];
  o.model.forEach((m, i) => {
    out.push({ at: m.t, key: `model ${i} start` });
    if (m.durationMs !== null) out.push({ at: m.t + m.durationMs, key: `model ${i} end` });
  });
  for (const c of o.connections) {
    c.events.forEach((e, i) => {
      if (e.event === 'lane.status') out.push({ at: e.at, key: `${c.connId} ${i} status` });
      else if (e.event === 'chat' && (e.payload as { state?: string }).state !== 'delta') out.push({ at: e.at, key: `${c.connId} ${i} chat` });
    });
  }
  for (const s of o.sends) if (s.mode === 'collect' && o.workload.config.debounceMs > 0) out.push({ at: s.sentAt + o.workload.config.debounceMs, key: `debounce w${s.k}` });
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The workload with its steps moved later, where needed, so that none lands within `marginMs` of an
 * instant at which the reference decides something on its own (decisionTimes): over the wire the
 * gateway may see such a step before or after that instant (the noise of a real clock, REAL_NOISE_MS x
 * the time scale), and the two orders have different outcomes, each allowed. Step i is placed against
 * the reference playing only the steps before it (what happens without step i), skipping the instants
 * that step i-1 itself caused at its own time (they are its answer: the client waits for it). Only
 * gaps grow; the workload stays the same list of steps. Deterministic: the same workload and margin
 * give the same spaced workload.
 */
export async function spaceForWire(reference: ConformanceTarget, w: ExploreWorkload, marginMs: number): Promise<ExploreWorkload> {
  if (!(marginMs > 0) || (w.steps.length < 2 && (w.ending ?? null) === null)) return w;
  const steps = w.steps.map((s) => ({ ...s }));
  let previousAt = steps[0]!.gap;
  let before = new Set<string>();
  for (let i = 1; i < steps.length; i++) {
    const prefix = await playWorkload(reference, { ...w, steps: steps.slice(0, i), ending: null });
    const events = decisionTimes(prefix);
    const nominal = previousAt + steps[i]!.gap;
    let at = nominal;
    for (const e of events) {
      // What step i-1 caused at its own instant is its answer, ordered before step i.
      if (e.at === previousAt && !before.has(`${e.at}|${e.key}`)) continue;
      if (e.at <= at - marginMs) continue;
      if (e.at < at + marginMs) at = e.at + marginMs;
    }
    steps[i]!.gap = at - previousAt;
    previousAt = at;
    before = new Set(events.filter((e) => e.at <= at).map((e) => `${e.at}|${e.key}`));
  }
  // The shutdown ending is placed like one more step, against the reference playing every step.
  const ending = w.ending ?? null;
  if (ending === null) return { ...w, steps };
  const all = await playWorkload(reference, { ...w, steps, ending: null });
  let at = previousAt + ending.gap;
  for (const e of decisionTimes(all)) {
    if (e.at === previousAt && !before.has(`${e.at}|${e.key}`)) continue;
    if (e.at <= at - marginMs) continue;
    if (e.at < at + marginMs) at = e.at + marginMs;
  }
  return { ...w, steps, ending: { ...ending, gap: at - previousAt } };
}

/** WS-16's floor: at most one delta per run per 75 ms of real time (pacing is never scaled). */
export const DELTA_PACING_FLOOR_REAL_MS = 75;

/**
 * WS-16 on the target's own frames: every run's deltas, as each connection got them, paced at least
 * DELTA_PACING_FLOOR_REAL_MS apart (x the time scale in gateway ms). On a fake clock every gap is judged;
 * on a real one, deltas are counted per window against the arrival noise (tolerances.ts pacingViolation),
 * so noise can neither hide deltas sent at once nor fail 75 ms pacing. A last delta sent with the
 * terminal frame (within the floor) to deliver the rest of the text is not counted (DEP-9).
 */
export function pacingFindings(o: Observation, virtual: boolean): Finding[] {
  const floor = DELTA_PACING_FLOOR_REAL_MS * o.timeScale;
  const noiseMs = virtual ? 0 : REAL_NOISE_MS * o.timeScale;
  const out: Finding[] = [];
  for (const c of o.connections) {
    const byRun = new Map<string, { at: number; state: string }[]>();
    for (const e of c.events) {
      if (e.event !== 'chat') continue;
      const p = e.payload as { runId?: unknown; state?: unknown; seq?: unknown };
      if (typeof p.runId !== 'string' || p.seq === 0 || (p.state !== 'delta' && p.state !== 'final' && p.state !== 'error' && p.state !== 'aborted')) continue;
      const list = byRun.get(p.runId) ?? [];
      list.push({ at: e.at, state: p.state });
      byRun.set(p.runId, list);
    }
    for (const [runId, frames] of byRun) {
      let deltas = frames.filter((f) => f.state === 'delta');
      const last = deltas.at(-1);
      const end = frames.find((f) => f.state !== 'delta');
      if (last !== undefined && end !== undefined && frames[frames.indexOf(end) - 1] === last && end.at - last.at < floor) deltas = deltas.slice(0, -1);
      const unpaced = pacingViolation(deltas.map((d) => d.at), floor, noiseMs);
      if (unpaced === null) continue;
      const send = o.sends.find((s) => s.runId === runId);
      out.push({
        kind: 'invariant', rule: 'WS-16', what: 'INV-DELTA-PACING',
        expected: `at most one delta per ${DELTA_PACING_FLOOR_REAL_MS} real ms per run (WS-16)`,
        observed: `${c.connId}, run ${send !== undefined ? `of w${send.k}` : runId}: ${unpaced}`, t: deltas[0]?.at ?? null,
      });
    }
  }
  return out;
}

/**
 * The workload without its operator clears, each clear's gap carried to the next step (the times of the
 * other steps are unchanged): for a target whose sessions offer no operator hook. QUEUE-11 names no
 * protocol method, so a black box cannot be asked to clear a queue; the catalogue's QUEUE-11 case is n/a
 * for it, and the explorer plays its workloads without clears on both sides (judging the hook's absence
 * would fail a correct gateway).
 */
export function withoutClears(w: ExploreWorkload): ExploreWorkload {
  if (!w.steps.some((s) => s.kind === 'clear')) return w;
  const steps: ExploreWorkload['steps'] = [];
  let carried = 0;
  for (const s of w.steps) {
    if (s.kind === 'clear') carried += s.gap;
    else {
      steps.push({ ...s, gap: s.gap + carried });
      carried = 0;
    }
  }
  return { ...w, steps };
}

/**
 * The in-process reference (and any in-process target) runs on a fake clock installed GLOBALLY
 * (in-process.ts: setTimeout, Date, ... are faked while its session is open), so it must never run while
 * a real-time workload is in flight in this process: that workload's timers would be faked, then dropped.
 * Fake-clock plays take the lock exclusively (one at a time: one in-process session at a time anyway);
 * real-clock plays share it (any number at once, on disjoint gateways). Writers are served in arrival
 * order, and a waiting writer holds back new readers, so concurrent explorers alternate: a batch of wire
 * workloads, then the reference plays of the next ones.
 */
class PhaseLock {
  private readers = 0;
  private writer = false;
  private readonly waiting: { exclusive: boolean; grant: () => void }[] = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await fn();
    } finally {
      this.readers--;
      this.pump();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.pump();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push({ exclusive, grant: resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.waiting.length > 0 && !this.writer) {
      const next = this.waiting[0]!;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.writer = true;
      } else this.readers++;
      this.waiting.shift();
      next.grant();
    }
  }
}

const phases = new PhaseLock();

/** What the explorer learns about a target from one session opened on it (cached per target). */
interface TargetProbe { timeScale: number; clearHook: boolean; stopHook: boolean }
const probes = new WeakMap<ConformanceTarget, TargetProbe>();

/**
 * Opens one session (with the workload's configuration, as every workload does) to learn the target's
 * time scale and whether its sessions offer an operator clear.
 */
async function probe(target: ConformanceTarget, w: ExploreWorkload): Promise<TargetProbe> {
  const known = probes.get(target);
  if (known !== undefined) return known;
  const open = async (): Promise<TargetProbe> => {
    const session = await openFor(target, w);
    try {
      return { timeScale: session.timeScale, clearHook: operatorClearQueue(session) !== null, stopHook: gatewayStopper(session) !== null };
    } finally {
      await session.close();
    }
  };
  const found = target.capabilities.has('virtual-time') ? await phases.exclusive(open) : await phases.shared(open);
  probes.set(target, found);
  return found;
}

/**
 * LANE-2 on what the model saw: a session's runs never overlap (its lane's cap is 1), so no model
 * request of a session's run starts while a request of another run of that session is still streaming.
 * Requests are attributed to the message of their lowest marker (a collect prompt carries several, of one
 * session). Causal on any clock: the fake model logs a request's start and end on one clock, and a
 * gateway can only send the next run's request after it heard the previous one end.
 */
export function sessionLockFindings(o: Observation): Finding[] {
  const out: Finding[] = [];
  const sessionOf = new Map(o.sends.map((s) => [s.k, s.session]));
  const open: { session: number; k: number; end: number }[] = [];
  for (const entry of [...o.model].sort((a, b) => a.t - b.t)) {
    const ks = [...(entry.userMessages ?? [entry.lastUserMessage]).join(' ').matchAll(/\[w(\d+)\]/g)].map((m) => Number(m[1]));
    if (ks.length === 0) continue;
    const k = Math.min(...ks);
    const session = sessionOf.get(k);
    if (session === undefined) continue;
    const other = open.find((x) => x.session === session && x.k !== k && x.end > entry.t);
    if (other !== undefined && !ks.includes(other.k)) {
      out.push({
        kind: 'invariant', rule: 'LANE-2', what: 'INV-SESSION-EXCLUSIVE (model requests)', expected: `one run at a time in session s${session} (LANE-2)`,
        observed: `the run of w${k} reached the model at t=${Math.round(entry.t)} while the run of w${other.k} was still streaming (until t=${Math.round(other.end)})`, t: entry.t,
      });
      break;
    }
    // Only a stream the model finished counts: one the gateway cut (abort, interrupt) may be logged as ended
    // after the gateway already moved on (it stopped reading first), and a failed one ends as it fails.
    if (entry.outcome === 'completed' && entry.durationMs !== null) open.push({ session, k, end: entry.t + entry.durationMs });
  }
  return out;
}

/** The events whose payloads are checked against their SPEC schema (schemas.ts), by event name. */
const EVENT_SCHEMAS: Readonly<Record<string, PayloadKind>> = { 'lane.status': 'laneStatus', heartbeat: 'heartbeat', chat: 'chat' };

/**
 * Every event payload of a shape its rule defines (STATUS-2, HB-4, WS-15), checked against the schema
 * of schemas.ts: the first malformed payload of each kind is a finding (a malformed status is left out
 * of the rebuilt trace and of the comparison's values).
 */
export function shapeFindings(o: Observation): Finding[] {
  const out: Finding[] = [];
  const reported = new Set<string>();
  for (const c of o.connections) {
    for (const e of c.events) {
      const kind = EVENT_SCHEMAS[e.event];
      if (kind === undefined || reported.has(kind)) continue;
      const problem = payloadProblem(kind, e.payload);
      if (problem === null) continue;
      reported.add(kind);
      out.push({ kind: 'invariant', rule: PAYLOADS[kind].rule, what: `${PAYLOADS[kind].what} shape`, expected: `every ${PAYLOADS[kind].what} as ${PAYLOADS[kind].rule} defines it`, observed: `${c.connId}: ${problem}`, t: e.at });
    }
  }
  return out;
}

/** Plays one workload on both and judges the target. */
export async function judgeWorkload(target: ConformanceTarget, reference: ConformanceTarget, original: ExploreWorkload, options: JudgeOptions = {}): Promise<Judgement> {
  const virtual = target.capabilities.has('virtual-time');
  const { timeScale, clearHook, stopHook } = await probe(target, original);
  let w = clearHook ? original : withoutClears(original);
  // A gateway the harness cannot stop (a --url gateway it did not start) gets no shutdown ending (the
  // catalogue's lifecycle cases are n/a for it the same way).
  // Over the wire the stop is not played either (yet): measured against the fake-clock reference, 7 of 200
  // workloads differed by the stop's own races (with abortRunning, a run that got `main` as the runs ahead of
  // it were aborted reached the model in the reference and not on the wire; a run still live after the
  // provisioned gateway's drain timeout, in real ms, never ended), which a comparison must allow first.
  if ((!stopHook || !target.capabilities.has('virtual-time')) && (w.ending ?? null) !== null) w = { ...w, ending: null };
  let tgt: Observation;
  let ref: Observation;
  if (virtual) {
    [ref, tgt] = await phases.exclusive(async () => [await playWorkload(reference, w), await playWorkload(target, w)] as const);
  } else {
    // A real clock: steps are kept out of the timing noise of the gateway's own decisions (spaceForWire).
    [w, ref] = await phases.exclusive(async () => {
      const spaced = await spaceForWire(reference, w, options.marginMs ?? REAL_NOISE_MS * timeScale);
      return [spaced, await playWorkload(reference, spaced)] as const;
    });
    // QUEUE-20 over the wire: as long as the reference needed to settle everything, plus its slack.
    const refTail = ref.endAt - w.steps.reduce((sum, s) => sum + s.gap, 0);
    const quiescenceLimitMs = Math.max(0, refTail) + QUIESCENCE_SLACK_MS;
    const spaced = w;
    tgt = await phases.shared(() => playWorkload(target, spaced, { absoluteSchedule: true, quiescenceLimitMs }));
  }
  // Real clock: the noise of one observed instant (tolerances.ts), in gateway ms.
  const tolerance = options.toleranceMs ?? (virtual ? 0 : REAL_NOISE_MS * timeScale);
  const findings = [...checkObservation(tgt, { toleranceMs: tolerance }).map(violationFinding), ...pacingFindings(tgt, virtual), ...shapeFindings(tgt), ...sessionLockFindings(tgt)];
  const divergence = compareOutcomes(outcomeOf(ref), outcomeOf(tgt), { statusSequence: virtual, abortGraceMs: ABORT_GRACE_MS + tolerance });
  if (divergence !== null) findings.push(divergenceFinding(divergence));
  if (!tgt.quiet) findings.push({ kind: 'invariant', rule: 'QUEUE-20', what: 'quiescence', expected: 'every accepted message\'s wait ends', observed: `still waiting ${Math.round((tgt.endAt) / 1000)} s into the workload`, t: tgt.endAt });
  const referenceProblems = [...checkObservation(ref).map(violationFinding), ...pacingFindings(ref, true), ...shapeFindings(ref), ...sessionLockFindings(ref)];
  return { workload: w, target: tgt, reference: ref, findings, referenceProblems };
}

/** Workload i's own seed (a 32-bit mix of the run's seed and i). */
export function workloadSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

export interface ExploreOptions {
  target: ConformanceTarget;
  /** Default: the reference gateway in process. */
  reference?: ConformanceTarget;
  /** Workloads to run. */
  runs: number;
  seed: number;
  /** Steps per workload (default 14). */
  maxSteps?: number;
  /** Executions fast-check may spend shrinking a failure (default 400). */
  shrinkBudget?: number;
  /** Stop at the first failing workload (default true). */
  stopAtFirst?: boolean;
  toleranceMs?: number;
  /** Real clock: how far steps are kept from the gateway's own decisions (JudgeOptions.marginMs). */
  marginMs?: number;
  /**
   * More targets equivalent to `target` (same gateway and configuration, each its own gateway process or
   * server and its own fake model): workloads run concurrently, one per target at a time. Real-clock
   * targets only. Workloads never share a gateway: sessions of one gateway share its `main` lane (LANE-7),
   * so workloads on disjoint sessions of ONE gateway would interfere through main's cap, and one fake model
   * plays one workload's script.
   */
  pool?: readonly ConformanceTarget[];
  onProgress?: (done: number, total: number) => void;
}

export interface ExploreFailure {
  /** Index of the failing workload in the run, and its seed. */
  index: number;
  workloadSeed: number;
  /** The rule the original failure broke (shrinking keeps it). */
  rule: string;
  original: Judgement;
  /** The shrunk workload, judged again. */
  shrunk: Judgement;
  /** fast-check's replay path of the shrunk counterexample (`<workloadSeed>:<path>`). */
  replayToken: string;
  shrinks: number;
}

export interface ExploreResult {
  target: string;
  seed: number;
  runs: number;
  durationMs: number;
  failures: ExploreFailure[];
  /** Workloads on which the reference itself broke an invariant (counted, never a target failure). */
  referenceProblems: number;
  support: GatewaySupport;
  /** Workloads run at once (1 + the pool). */
  concurrency: number;
}

function arbFor(target: ConformanceTarget, maxSteps: number | undefined) {
  return arbExploreWorkload({ support: target.supports ?? FULL_SUPPORT, ...(maxSteps !== undefined ? { maxSteps } : {}) });
}

/** The workload a seed generates for a target (what `--replay <seed>` plays). */
export function workloadFromSeed(target: ConformanceTarget, seed: number, maxSteps?: number): ExploreWorkload {
  return fc.sample(arbFor(target, maxSteps), { seed, numRuns: 1 })[0]!;
}

/**
 * The primary finding: the earliest in time (the cause; what follows is
 * mostly its consequences); at one instant an invariant violation first.
 */
export function primary(j: Judgement): Finding | null {
  let best: Finding | null = null;
  for (const f of j.findings) {
    if (best === null) best = f;
    else if ((f.t ?? Infinity) < (best.t ?? Infinity)) best = f;
  }
  return best;
}

/**
 * Shrinks the failure of the workload generated by `seed` (or replays a path),
 * keeping `rule` broken. Returns the smallest failing workload found.
 */
export async function shrinkFailure(
  target: ConformanceTarget, reference: ConformanceTarget, seed: number, rule: string,
  options: { maxSteps?: number; budget?: number; path?: string; toleranceMs?: number } = {},
): Promise<{ workload: ExploreWorkload; path: string; shrinks: number } | null> {
  const budget = options.budget ?? 400;
  let executions = 0;
  let failedOnce = false;
  const property = fc.asyncProperty(arbFor(target, options.maxSteps), async (w) => {
    // Past the budget, every candidate "passes": fast-check stops with the smallest failure so far.
    if (failedOnce && executions >= budget) return true;
    executions++;
    const j = await judgeWorkload(target, reference, w, options.toleranceMs !== undefined ? { toleranceMs: options.toleranceMs } : {});
    const fails = j.findings.some((f) => f.rule === rule);
    if (fails) failedOnce = true;
    return !fails;
  });
  const result = await fc.check(property, { seed, numRuns: 1, ...(options.path !== undefined ? { path: options.path } : {}) });
  if (!result.failed || result.counterexample === null) return null;
  return { workload: result.counterexample[0], path: result.counterexamplePath ?? '0', shrinks: result.numShrinks };
}

export async function explore(options: ExploreOptions): Promise<ExploreResult> {
  const reference = options.reference ?? referenceTarget();
  const support = options.target.supports ?? FULL_SUPPORT;
  if (!Number.isInteger(options.runs) || options.runs < 0) throw new RangeError(`explore: runs must be an integer >= 0, got ${options.runs}`);
  const lanes = [options.target, ...(options.pool ?? [])];
  if (lanes.length > 1 && lanes.some((t) => t.capabilities.has('virtual-time'))) throw new RangeError('explore: a pool is for real-clock targets (an in-process target runs one session at a time)');
  const started = performance.now();
  const failures: ExploreFailure[] = [];
  let referenceProblems = 0;
  let done = 0;
  const judgeOptions: JudgeOptions = {
    ...(options.toleranceMs !== undefined ? { toleranceMs: options.toleranceMs } : {}),
    ...(options.marginMs !== undefined ? { marginMs: options.marginMs } : {}),
  };
  const stopAtFirst = options.stopAtFirst ?? true;
  // Workload i is judged by whichever target of the pool is free (each its own gateway and model):
  // the outcome of workload i does not depend on which one, so the failures found are the same.
  const judged = new Map<number, Judgement>();
  let next = 0;
  let firstFailing = Infinity;
  await Promise.all(lanes.map(async (lane) => {
    while (next < options.runs && next < firstFailing) {
      const i = next++;
      const j = await judgeWorkload(lane, reference, workloadFromSeed(options.target, workloadSeed(options.seed, i), options.maxSteps), judgeOptions);
      judged.set(i, j);
      done++;
      options.onProgress?.(done, options.runs);
      if (stopAtFirst && primary(j) !== null) firstFailing = Math.min(firstFailing, i);
    }
  }));
  for (const i of [...judged.keys()].sort((a, b) => a - b)) {
    const j = judged.get(i)!;
    // Past the first failure (stopAtFirst), a workload a free lane had already started is not counted.
    if (i > firstFailing) {
      done--;
      continue;
    }
    if (j.referenceProblems.length > 0) referenceProblems++;
    const first = primary(j);
    if (first === null) continue;
    const ws = workloadSeed(options.seed, i);
    const budget = options.shrinkBudget ?? 400;
    // A budget of 0: no shrinking and no second judgement (over the wire each is a workload of real time).
    const shrunk = budget === 0 ? null : await shrinkFailure(options.target, reference, ws, first.rule, {
      ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}), budget, ...judgeOptions,
    });
    const again = budget === 0 ? j : await judgeWorkload(options.target, reference, shrunk?.workload ?? j.workload, judgeOptions);
    failures.push({
      index: i, workloadSeed: ws, rule: first.rule, original: j, shrunk: again,
      replayToken: shrunk === null ? `${ws}` : `${ws}:${shrunk.path}`, shrinks: shrunk?.shrinks ?? 0,
    });
    if (stopAtFirst) break;
  }
  return { target: options.target.name, seed: options.seed, runs: done, durationMs: performance.now() - started, failures, referenceProblems, support, concurrency: lanes.length };
}

/** A replay: a workload file, a seed, or `<seed>:<path>` (a shrunk counterexample). */
export async function replayWorkload(
  target: ConformanceTarget, what: { workload: ExploreWorkload } | { seed: number; path?: string },
  options: { reference?: ConformanceTarget; maxSteps?: number; toleranceMs?: number } = {},
): Promise<Judgement> {
  const reference = options.reference ?? referenceTarget();
  let w: ExploreWorkload;
  if ('workload' in what) w = what.workload;
  else if (what.path === undefined) w = workloadFromSeed(target, what.seed, options.maxSteps);
  else {
    // The counterexample at that path, without re-judging the shrink (fast-check replays the path directly).
    let found: ExploreWorkload | null = null;
    await fc.check(fc.property(arbFor(target, options.maxSteps), (x) => {
      found = x;
      return false;
    }), { seed: what.seed, path: what.path, numRuns: 1, endOnFailure: true });
    if (found === null) throw new Error(`replay: no workload at seed ${what.seed} path ${what.path}`);
    w = found;
  }
  const missing = unsupportedIn(w, target.supports ?? FULL_SUPPORT);
  if (missing.length > 0) throw new Error(`replay: the workload uses what ${target.name} declares unsupported: ${missing.join('; ')}`);
  return judgeWorkload(target, reference, w, options.toleranceMs !== undefined ? { toleranceMs: options.toleranceMs } : {});
}
