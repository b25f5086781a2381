/**
 * A tiny deterministic RunExecutor for tests. Each run follows a RunScript:
 * it works for `durationMs` (a timer on the injected, fake clock), may fail,
 * may make one nested agent call (router.callNested) part-way and wait for
 * it, reports isStreaming() during its [streamFromMs, streamToMs) window,
 * records steers, and honours an abort by settling promptly: inside the
 * signal's abort event (`sync`) or on the next timer step (`timer`).
 *
 * Runs take scripts in the order they start, cycling through the list, so a
 * workload replays identically.
 */
import type { Clock, TimerHandle } from '../../src/model/clock.ts';
import type { InboundMessage, Run, RunKind } from '../../src/reference-impl/run.ts';
import type { RunExecutor, SessionRouter } from '../../src/reference-impl/session-router.ts';
import type { Completion, TaskContext, TaskOutcome } from '../../src/reference-impl/task.ts';
import type { RunScript } from '../arbitraries/workload.ts';

export type { RunScript };

export interface StartedRun {
  t: number;
  runId: string;
  kind: RunKind;
  sessionKey: string;
  prompt: string;
  msgIds: string[];
  summarized: string[];
  script: RunScript;
}

export interface SteerRecord { t: number; runId: string; msgId: string; text: string }
export interface NestedRecord { t: number; parentRunId: string; nestedRunId: string; outcome: TaskOutcome | null; resumedAt: number | null }
export interface SettledRun { t: number; runId: string; how: 'done' | 'error' | 'aborted' }

/** A script that just takes `durationMs`. */
export function plainScript(durationMs: number, extra: Partial<RunScript> = {}): RunScript {
  return { durationMs, error: false, nested: null, streamFromMs: 0, streamToMs: durationMs, abortSettle: 'sync', ...extra };
}

interface LiveRun {
  run: Run;
  ctx: TaskContext;
  completion: Completion;
  script: RunScript;
  /** Own work done before the current segment. */
  workedMs: number;
  /** Start of the current work segment, or null while waiting on a nested call. */
  segmentStart: number | null;
  timer: TimerHandle | null;
  settled: boolean;
}

export type ScriptSource = readonly RunScript[] | ((run: Run, index: number) => RunScript);

export class ScriptedExecutor implements RunExecutor {
  /** Set after the router is built (it needs the executor first). Needed for nested calls. */
  router: SessionRouter | null = null;
  readonly started: StartedRun[] = [];
  readonly steers: SteerRecord[] = [];
  readonly nestedCalls: NestedRecord[] = [];
  readonly settled: SettledRun[] = [];
  /** A run settled twice or started twice: always a test failure. */
  readonly anomalies: string[] = [];
  private readonly live = new Map<Run, LiveRun>();
  private readonly startedIds = new Set<string>();
  private startCount = 0;

  constructor(
    private readonly clock: Clock,
    private readonly scripts: ScriptSource,
  ) {
    if (Array.isArray(scripts) && scripts.length === 0) throw new RangeError('ScriptedExecutor needs at least one script');
  }

  private scriptFor(run: Run): RunScript {
    const index = this.startCount++;
    if (typeof this.scripts === 'function') return this.scripts(run, index);
    const list = this.scripts as readonly RunScript[];
    return list[index % list.length]!;
  }

  start(run: Run, ctx: TaskContext, completion: Completion): void {
    const now = this.clock.now();
    if (this.startedIds.has(run.runId)) this.anomalies.push(`run ${run.runId} started twice (t=${now})`);
    this.startedIds.add(run.runId);
    const script = this.scriptFor(run);
    this.started.push({
      t: now, runId: run.runId, kind: run.kind, sessionKey: run.sessionKey, prompt: run.prompt,
      msgIds: run.messages.map((m) => m.msgId), summarized: run.summarized.map((m) => m.msgId), script,
    });
    const live: LiveRun = { run, ctx, completion, script, workedMs: 0, segmentStart: now, timer: null, settled: false };
    this.live.set(run, live);
    if (ctx.aborted) {
      this.onAbort(live);
      return;
    }
    ctx.signal.addEventListener('abort', () => this.onAbort(live), { once: true });
    const nested = script.nested;
    if (nested !== null && this.router !== null && run.kind !== 'nested' && run.kind !== 'subagent' && nested.atMs < script.durationMs) {
      live.timer = this.clock.setTimeout(() => this.callNested(live, nested.target), nested.atMs);
    } else {
      live.timer = this.clock.setTimeout(() => this.finish(live), script.durationMs);
    }
  }

  isStreaming(run: Run): boolean {
    const live = this.live.get(run);
    if (live === undefined || live.settled || live.segmentStart === null) return false;
    const worked = live.workedMs + (this.clock.now() - live.segmentStart);
    return worked >= live.script.streamFromMs && worked < live.script.streamToMs;
  }

  steer(run: Run, message: InboundMessage): void {
    this.steers.push({ t: this.clock.now(), runId: run.runId, msgId: message.msgId, text: message.text });
  }

  /** Runs still working (started, not settled). */
  get liveRuns(): number {
    return this.live.size;
  }

  private callNested(live: LiveRun, target: number): void {
    live.timer = null;
    if (live.settled) return;
    const now = this.clock.now();
    live.workedMs += now - (live.segmentStart ?? now);
    live.segmentStart = null;
    const record: NestedRecord = { t: now, parentRunId: live.run.runId, nestedRunId: '', outcome: null, resumedAt: null };
    this.nestedCalls.push(record);
    const nested = this.router!.callNested(
      live.run,
      { targetSessionKey: `s${target}`, agentId: `agent-s${target}`, prompt: `nested from ${live.run.runId}` },
      (outcome) => {
        record.outcome = outcome;
        record.resumedAt = this.clock.now();
        if (live.settled) return;
        live.segmentStart = this.clock.now();
        live.timer = this.clock.setTimeout(() => this.finish(live), live.script.durationMs - live.workedMs);
      },
    );
    record.nestedRunId = nested.runId;
  }

  private finish(live: LiveRun): void {
    live.timer = null;
    if (live.settled) return;
    this.settle(live, live.script.error ? 'error' : 'done');
  }

  private onAbort(live: LiveRun): void {
    if (live.settled) return;
    if (live.timer !== null) {
      this.clock.clearTimeout(live.timer);
      live.timer = null;
    }
    if (live.script.abortSettle === 'sync') this.settle(live, 'aborted');
    else live.timer = this.clock.setTimeout(() => this.settle(live, 'aborted'), 0);
  }

  private settle(live: LiveRun, how: SettledRun['how']): void {
    if (live.settled) {
      this.anomalies.push(`run ${live.run.runId} settled twice`);
      return;
    }
    live.settled = true;
    if (live.timer !== null) {
      this.clock.clearTimeout(live.timer);
      live.timer = null;
    }
    this.live.delete(live.run);
    this.settled.push({ t: this.clock.now(), runId: live.run.runId, how });
    if (how === 'done') live.completion.done(`output of ${live.run.runId}`);
    else if (how === 'error') live.completion.fail(new Error(`scripted failure in ${live.run.runId}`));
    else live.completion.fail(live.ctx.signal.reason);
  }
}
