/**
 * The message side of the reference gateway (docs/SPEC.md QUEUE-*, STATUS-*,
 * LANE-20..24): turns inbound messages into runs according to the session's
 * queue mode, applies cap and drop policy, merges collect batches, injects
 * overflow summaries, routes nested agent calls, and says what a session's
 * lane looks like (lane.status) whenever it changes.
 *
 * Every accepted message settles exactly once (INV-NOTHING-LOST): ran,
 * merged, steered, summarized, rejected (with a code its sender sees) or
 * aborted.
 */
import { globalClock, type Clock, type TimerHandle } from '../model/clock.ts';
import { LaneError, LaneErrorCode, QueueErrorCode } from '../model/codes.ts';
import { queueModeForChannel } from '../model/config.ts';
import type { LanesimConfig, QueueMode } from '../model/config-types.ts';
import type { LaneStatusPayload, LaneStatusReason, LaneStatusWaiting, MessageOutcome, TraceSink } from '../model/events.ts';
import { LaneScheduler, laneConcurrencyFromConfig, type SchedulerHooks } from './lane-scheduler.ts';
import { WaitWarnings } from './wait-warnings.ts';
import { nestedLaneName, sessionLaneName } from './lane.ts';
import { collectPrompt, gistOf, overflowSummary, withOverflowSummary } from './queue-texts.ts';
import { Run, type InboundMessage, type RunKind } from './run.ts';
import type { Completion, TaskContext, TaskOutcome } from './task.ts';

/** Does the work of a run once it holds its lanes. */
export interface RunExecutor {
  /** Settle through `completion`; watch `ctx.signal` / `ctx.aborted` (LANE-12: an aborted run must settle). */
  start(run: Run, ctx: TaskContext, completion: Completion): void;
  /** QUEUE-3: is the run at a point where a steer can be injected (streaming model output)? */
  isStreaming(run: Run): boolean;
  /** QUEUE-3: inject the message at the next model boundary. */
  steer(run: Run, message: InboundMessage): void;
}

export interface RouterEvents {
  /** STATUS-1: what subscribers of the session should be sent as `lane.status`. */
  status?(sessionKey: string, status: LaneStatusPayload): void;
  /** A message's one terminal outcome (QUEUE-20). */
  settle?(message: InboundMessage, outcome: MessageOutcome, runId: string | null, code: string | null, detail: string | null): void;
  runQueued?(run: Run): void;
  runStarted?(run: Run): void;
  runEnded?(run: Run, outcome: TaskOutcome, value: unknown): void;
}

export interface Receipt {
  /** started: holds its lanes now; queued: waits in a lane or the collect buffer; steered: injected. */
  status: 'started' | 'queued' | 'steered' | 'rejected';
  runId: string;
  mode: QueueMode;
  code: string | null;
  message: string | null;
}

export interface SessionRouterOptions {
  config: LanesimConfig;
  executor: RunExecutor;
  clock?: Clock;
  trace?: TraceSink | null;
  events?: RouterEvents;
  /** STATUS-*: emit lane.status (off models today's OpenClaw). Default true. */
  laneStatus?: boolean;
  /** Lane for top-level message runs. Default `main`. */
  messageLane?: string;
  /** Passed to the scheduler (e.g. onLaneWait for the `lane wait exceeded` log line). */
  laneHooks?: SchedulerHooks;
}

interface Pending {
  readonly msg: InboundMessage;
  readonly seq: number;
  readonly acceptedAt: number;
  readonly queueAhead: number;
  warned: boolean;
  done: boolean;
}

class SessionState {
  readonly key: string;
  readonly lane: string;
  /** Live runs of this session: queued, running, parked. */
  readonly runs = new Set<Run>();
  /** Message runs waiting in the session lane, in order. */
  readonly waiting: Run[] = [];
  /** collect: messages waiting for the quiet window after the active run. */
  readonly buffer: Pending[] = [];
  lastBufferedAt = 0;
  drainTimer: TimerHandle | null = null;
  /** QUEUE-15: messages dropped under `summarize`, waiting to ride on the next run. */
  overflow: Pending[] = [];
  /** Runs started since the session was last idle. */
  busyIndex = 0;
  /** >0 while an operation on this session is under way: idle handling waits for its end. */
  holds = 0;
  lastStatusKey = '';

  constructor(key: string) {
    this.key = key;
    this.lane = sessionLaneName(key);
  }
}

export class SessionRouter {
  readonly scheduler: LaneScheduler;
  readonly config: LanesimConfig;
  private readonly clock: Clock;
  private readonly trace: TraceSink | null;
  private readonly executor: RunExecutor;
  private readonly events: RouterEvents;
  private readonly laneStatus: boolean;
  private readonly messageLane: string;
  private readonly sessions = new Map<string, SessionState>();
  private readonly runsById = new Map<string, Run>();
  /** Waiting messages by msgId (queued run or collect buffer). */
  private readonly pendingById = new Map<string, Pending>();
  private readonly runOf = new Map<string, Run>();
  private nextSeq = 0;
  private nextRun = 0;
  /** STATUS-4: when a waiting message crosses warnThresholdMs. */
  private readonly waits: WaitWarnings<Pending>;
  private stopped = false;

  constructor(options: SessionRouterOptions) {
    this.config = options.config;
    this.clock = options.clock ?? globalClock;
    this.trace = options.trace ?? null;
    this.executor = options.executor;
    this.events = options.events ?? {};
    this.laneStatus = options.laneStatus ?? true;
    this.messageLane = options.messageLane ?? 'main';
    this.scheduler = new LaneScheduler({
      clock: this.clock,
      trace: this.trace,
      concurrency: laneConcurrencyFromConfig(this.config),
      laneWaitWarnMs: this.config.diagnostics.laneWaitWarnMs,
      // Users wait on messages, not tasks: the router tracks message waits itself (STATUS-4).
      warnThresholdMs: null,
      hooks: options.laneHooks ?? {},
    });
    this.waits = new WaitWarnings<Pending>({
      clock: this.clock,
      thresholdMs: this.config.agents.defaults.lane.warnThresholdMs,
      startOf: (p) => p.acceptedAt,
      stillWaiting: (p) => !p.done && !p.warned,
      warn: (crossed) => this.onWaitsCrossed(crossed),
    });
  }

  // ------------------------------------------------------------ inbound

  /** QUEUE-1..QUEUE-19: take a message into its session. */
  accept(msg: InboundMessage): Receipt {
    if (this.stopped || this.scheduler.isDraining) return this.acceptIn(null, msg);
    const session = this.session(msg.sessionKey);
    return this.hold(session, () => this.acceptIn(session, msg));
  }

  private acceptIn(session: SessionState | null, msg: InboundMessage): Receipt {
    const now = this.clock.now();
    const mode = queueModeForChannel(this.config.messages.queue, msg.channel ?? undefined);
    this.trace?.({ type: 'message', t: now, msgId: msg.msgId, runId: msg.runId, sessionKey: msg.sessionKey, connId: msg.connId, mode });
    if (session === null) {
      this.settle(msg, 'rejected', null, QueueErrorCode.SHUTDOWN, 'gateway is shutting down: message not accepted');
      return receipt('rejected', msg, mode, QueueErrorCode.SHUTDOWN, 'gateway is shutting down: message not accepted');
    }
    if (!this.isBusy(session)) {
      // QUEUE-2: an idle session runs the message now, whatever the mode.
      const run = this.queueRun(session, 'message', [this.pending(msg, now, 0)], msg.text, msg.runId);
      this.touch(session, run.state === 'running' ? 'start' : 'enqueue');
      return receipt(run.state === 'running' ? 'started' : 'queued', msg, mode, null, null);
    }
    switch (mode) {
      case 'interrupt': {
        // QUEUE-6: abort the active run, clear the queue, then run the newest message.
        this.interrupt(session, msg);
        const run = this.queueRun(session, 'message', [this.pending(msg, now, this.waitingCount(session))], msg.text, msg.runId);
        this.touch(session, 'enqueue');
        return receipt(run.state === 'running' ? 'started' : 'queued', msg, mode, null, null);
      }
      case 'steer':
      case 'steer-backlog': {
        const active = this.streamingRun(session);
        if (active !== null) {
          this.executor.steer(active, msg);
          if (mode === 'steer') {
            // QUEUE-3: injected into the active run; that is this message's outcome.
            this.settle(msg, 'steered', active.runId, null, null);
            this.touch(session, 'enqueue');
            return receipt('steered', msg, mode, null, null);
          }
          // QUEUE-5: steer now and keep it for a followup.
          this.trace?.({ type: 'steer', t: now, msgId: msg.msgId, runId: active.runId });
        }
        return this.followup(session, msg, mode, now);
      }
      case 'collect':
        return this.collect(session, msg, mode, now);
      case 'followup':
        return this.followup(session, msg, mode, now);
    }
  }

  /** QUEUE-4: one later turn per message, queued in the session lane now. */
  private followup(session: SessionState, msg: InboundMessage, mode: QueueMode, now: number): Receipt {
    const refused = this.admit(session, msg, mode);
    if (refused !== null) return refused;
    this.queueRun(session, 'message', [this.pending(msg, now, this.waitingCount(session))], msg.text, msg.runId);
    this.touch(session, 'enqueue');
    return receipt('queued', msg, mode, null, null);
  }

  /** QUEUE-7/8: buffer until the session's runs are done and debounceMs of quiet has passed. */
  private collect(session: SessionState, msg: InboundMessage, mode: QueueMode, now: number): Receipt {
    const refused = this.admit(session, msg, mode);
    if (refused !== null) return refused;
    const pending = this.pending(msg, now, this.waitingCount(session));
    session.buffer.push(pending);
    session.lastBufferedAt = now;
    this.scheduleDrain(session);
    this.touch(session, 'enqueue');
    return receipt('queued', msg, mode, null, null);
  }

  /** QUEUE-12..15: make room under the cap, or refuse the newcomer. Returns a receipt when refused. */
  private admit(session: SessionState, msg: InboundMessage, mode: QueueMode): Receipt | null {
    const queue = this.config.messages.queue;
    while (this.waitingCount(session) >= queue.cap) {
      if (queue.drop === 'new') {
        const text = `session ${session.key} queue is full (cap ${queue.cap}): message refused`;
        this.settle(msg, 'rejected', null, QueueErrorCode.FULL, text);
        return receipt('rejected', msg, mode, QueueErrorCode.FULL, text);
      }
      this.dropOldest(session, queue.drop);
    }
    return null;
  }

  private dropOldest(session: SessionState, policy: 'old' | 'summarize'): void {
    const now = this.clock.now();
    const headRun = session.waiting[0];
    const headBuffered = session.buffer[0];
    // A summary run (no messages) stands for messages dropped earlier: the oldest. Dropping it drops no
    // gist: the overflow stays in session.overflow and rides on the next run (QUEUE-16).
    const runSeq = headRun === undefined ? Infinity
      : headRun.messages.length === 0 ? -Infinity
      : this.pendingById.get(headRun.messages[0]!.msgId)?.seq ?? Infinity;
    const bufSeq = headBuffered === undefined ? Infinity : headBuffered.seq;
    let victims: Pending[];
    if (runSeq <= bufSeq && headRun !== undefined) {
      victims = headRun.messages.map((m) => this.pendingById.get(m.msgId)!).filter((p) => p !== undefined);
      // The run leaves the lane; its messages settle below, not as 'aborted'.
      for (const p of victims) p.done = true;
      this.removeWaiting(session, headRun);
      this.scheduler.abortTask(headRun.task!, 'dropped: queue cap');
    } else {
      victims = [session.buffer.shift()!];
    }
    for (const victim of victims) {
      victim.done = false;
      this.trace?.({ type: 'drop', t: now, msgId: victim.msg.msgId, sessionKey: session.key, policy, gist: gistOf(victim.msg.text) });
      if (policy === 'old') {
        this.settlePending(victim, 'rejected', null, QueueErrorCode.DROPPED, `session ${session.key} queue is full: message dropped (oldest first)`);
      } else {
        // QUEUE-15: accounted for in the summary the next run carries; settled when that run starts.
        victim.done = true;
        this.pendingById.delete(victim.msg.msgId);
        session.overflow.push(victim);
      }
    }
    this.touch(session, 'drop');
  }

  /** QUEUE-6: abort what runs, clear what waits (its senders are told), keep any overflow summary. */
  private interrupt(session: SessionState, newcomer: InboundMessage): void {
    // Clear first: an aborted run may settle at once, and the next waiting run must not start in its place.
    this.clearWaiting(session, 'aborted', QueueErrorCode.INTERRUPTED, `interrupted by a newer message in session ${session.key}`);
    for (const run of [...session.runs]) {
      if (run.state === 'running' || run.state === 'parked') this.abortRunTree(run, `interrupted by ${newcomer.msgId}`);
    }
  }

  // ------------------------------------------------------------ control

  /** chat.abort (QUEUE-18): a queued run or buffered message is removed; a running one is signalled (LANE-12). */
  abort(sessionKey: string, runId?: string): { aborted: string[] } {
    const session = this.sessions.get(sessionKey);
    if (session === undefined) return { aborted: [] };
    return this.hold(session, () => this.abortIn(session, runId));
  }

  private abortIn(session: SessionState, runId: string | undefined): { aborted: string[] } {
    const sessionKey = session.key;
    const aborted: string[] = [];
    if (runId === undefined) {
      // QUEUE-18: the runs active NOW; a queued run that starts because of these aborts is not one of them.
      const active = [...session.runs].filter((run) => run.state === 'running' || run.state === 'parked');
      for (const run of active) {
        this.abortRunTree(run, 'chat.abort');
        aborted.push(run.runId);
      }
      return { aborted };
    }
    const buffered = session.buffer.findIndex((p) => p.msg.runId === runId);
    if (buffered >= 0) {
      const [p] = session.buffer.splice(buffered, 1);
      this.settlePending(p!, 'aborted', null, LaneErrorCode.ABORTED, 'aborted while queued');
      aborted.push(runId);
      this.afterChange(session, 'abort');
      return { aborted };
    }
    // A message's runId finds the run carrying it (a collect merge runs under its own id).
    const run = this.runsById.get(runId) ?? this.runOf.get(runId);
    if (run !== undefined && run.sessionKey === sessionKey && run.state !== 'done') {
      this.abortRunTree(run, 'chat.abort');
      aborted.push(runId);
    }
    return { aborted };
  }

  /** QUEUE-11 (LANE-11 for a session): every waiting message is refused; the active run goes on. */
  clear(sessionKey: string): number {
    const session = this.sessions.get(sessionKey);
    if (session === undefined) return 0;
    return this.hold(session, () => {
      const count = this.waitingCount(session);
      this.clearWaiting(session, 'aborted', LaneErrorCode.CLEARED, `session ${sessionKey} queue cleared`);
      this.afterChange(session, 'clear');
      return count;
    });
  }

  /**
   * Graceful stop (QUEUE-19, LANE-13): refuse new messages, tell every waiting sender,
   * and either let running runs finish or abort them.
   */
  shutdown(options: { abortRunning: boolean }): void {
    this.stopped = true;
    this.scheduler.startDraining();
    for (const session of [...this.sessions.values()]) this.hold(session, () => this.shutdownSession(session, options));
  }

  private shutdownSession(session: SessionState, options: { abortRunning: boolean }): void {
    this.clearWaiting(session, 'rejected', QueueErrorCode.SHUTDOWN, 'gateway is shutting down: queued message not run');
    if (session.drainTimer !== null) {
      this.clock.clearTimeout(session.drainTimer);
      session.drainTimer = null;
    }
    for (const p of session.overflow) {
      this.settlePending(p, 'rejected', null, QueueErrorCode.SHUTDOWN, 'gateway is shutting down: dropped message not summarized');
    }
    session.overflow = [];
    if (options.abortRunning) {
      for (const run of [...session.runs]) if (run.state !== 'done') this.abortRunTree(run, 'shutdown');
    }
    this.afterChange(session, 'clear');
  }

  whenIdle(): Promise<void> {
    return this.scheduler.whenIdle();
  }

  /**
   * Clears the router's own timers (the STATUS-4 wait-warning timer, collect
   * drains) without touching runs: after a stop nothing of it holds the event
   * loop (a gateway process exits at once instead of up to warnThresholdMs later).
   */
  stopTimers(): void {
    this.waits.close();
    for (const session of this.sessions.values()) {
      if (session.drainTimer !== null) this.clock.clearTimeout(session.drainTimer);
      session.drainTimer = null;
    }
  }

  // ------------------------------------------------------------ nested agents (LANE-20..24)

  /**
   * An agent-to-agent call from inside `parent` (which holds its lanes). The
   * nested run's outcome comes back through `onDone`, called while the parent
   * holds its lanes again.
   *
   * nestedAgentParallel false (LANE-20, today's OpenClaw): the nested run
   * waits in the global `nested` lane while the parent keeps its session slot.
   * nestedAgentParallel true (LANE-21): the parent parks (frees its session
   * and global slots), the nested run goes through `nested:<target>` and the
   * global `subagent` lane, and the parent queues again at the front of its
   * lanes when the nested run settles.
   */
  callNested(
    parent: Run,
    request: { targetSessionKey: string; agentId: string | null; prompt: string; data?: unknown },
    onDone: (outcome: TaskOutcome, value: unknown) => void,
  ): Run {
    const parallel = this.config.agents.defaults.lane.nestedAgentParallel;
    const lanes = parallel ? [nestedLaneName(request.targetSessionKey), 'subagent'] : ['nested'];
    const runId = `${parent.runId}>n${++this.nextRun}`;
    const now = this.clock.now();
    const nested = new Run({
      runId, sessionKey: request.targetSessionKey, agentId: request.agentId, kind: 'nested',
      prompt: request.prompt, messages: [], parent, lanes, enqueuedAt: now,
    });
    nested.data = request.data ?? null;
    parent.nested = nested;
    const session = this.sessions.get(parent.sessionKey);
    let resume: ((continuation: () => void) => void) | null = null;
    if (parallel && parent.task !== null) {
      resume = parent.task.park(lanes[0]!);
      parent.state = 'parked';
    }
    const settled = (outcome: TaskOutcome, value: unknown): void => {
      parent.nested = null;
      if (resume !== null) {
        resume(() => {
          parent.state = 'running';
          if (session !== undefined) this.touch(session, 'start');
          onDone(outcome, value);
        });
      } else {
        onDone(outcome, value);
      }
      if (session !== undefined) this.touch(session, 'end');
    };
    try {
      this.submit(nested, settled);
    } catch (error) {
      // Refused at the door (LANE-13: draining): that is the nested call's outcome; the parent carries on.
      this.runsById.delete(nested.runId);
      settled('error', error);
    }
    if (session !== undefined) this.touch(session, parallel ? 'park' : 'start');
    return nested;
  }

  /** A background sub-agent run in its own session, bounded by `subagent` (LANE-24). */
  spawn(
    parent: Run | null,
    request: { sessionKey: string; agentId: string | null; prompt: string; data?: unknown },
    onDone?: (outcome: TaskOutcome, value: unknown) => void,
  ): Run {
    const run = new Run({
      runId: `${parent?.runId ?? 'spawn'}>s${++this.nextRun}`, sessionKey: request.sessionKey, agentId: request.agentId,
      kind: 'subagent', prompt: request.prompt, messages: [], parent,
      lanes: [sessionLaneName(request.sessionKey), 'subagent'], enqueuedAt: this.clock.now(),
    });
    run.data = request.data ?? null;
    const session = this.session(request.sessionKey);
    session.runs.add(run);
    try {
      this.submit(run, (outcome, value) => {
        session.runs.delete(run);
        onDone?.(outcome, value);
        this.afterChange(session, 'end');
      });
    } catch (error) {
      // Refused at the door (the gateway drains): no phantom run stays behind; the refusal is the outcome.
      session.runs.delete(run);
      this.runsById.delete(run.runId);
      run.state = 'done';
      this.maybeForget(session);
      onDone?.('error', error);
    }
    return run;
  }

  // ------------------------------------------------------------ reading

  getRun(runId: string): Run | undefined {
    return this.runsById.get(runId);
  }

  /** The run that carries (or carried) a message, by the message's runId. */
  runForMessage(messageRunId: string): Run | undefined {
    return this.runOf.get(messageRunId);
  }

  /** STATUS-2: the session's lane as a lane.status payload, now. */
  status(sessionKey: string, reason: LaneStatusReason = 'subscribe'): LaneStatusPayload {
    const session = this.sessions.get(sessionKey) ?? new SessionState(sessionKey);
    return this.buildStatus(session, reason);
  }

  /** A message for this session now would not start at once (QUEUE-2). */
  isSessionBusy(sessionKey: string): boolean {
    const session = this.sessions.get(sessionKey);
    return session !== undefined && this.isBusy(session);
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  // ------------------------------------------------------------ runs

  private pending(msg: InboundMessage, now: number, queueAhead: number): Pending {
    const p: Pending = { msg, seq: this.nextSeq++, acceptedAt: now, queueAhead, warned: false, done: false };
    this.pendingById.set(msg.msgId, p);
    if (this.laneStatus) this.waits.track(p);
    return p;
  }

  private queueRun(session: SessionState, kind: RunKind, items: Pending[], prompt: string, runId: string): Run {
    const messages = items.map((p) => p.msg);
    const run = new Run({
      runId, sessionKey: session.key, agentId: messages[0]?.agentId ?? null, kind, prompt, messages, parent: null,
      lanes: [session.lane, this.messageLane], enqueuedAt: this.clock.now(),
    });
    run.queueAhead = session.waiting.length;
    for (const m of messages) this.runOf.set(m.runId, run);
    session.runs.add(run);
    session.waiting.push(run);
    this.submit(run, (outcome, value) => this.onRunSettled(session, run, outcome, value));
    return run;
  }

  private submit(run: Run, onSettled: (outcome: TaskOutcome, value: unknown) => void): void {
    this.runsById.set(run.runId, run);
    this.events.runQueued?.(run);
    run.task = this.scheduler.submit(run.lanes, (ctx) => this.startRun(run, ctx), {
      id: run.runId,
      meta: run,
      onSettled: (outcome, value) => {
        run.state = 'done';
        run.endedAt = this.clock.now();
        this.runsById.delete(run.runId);
        for (const m of run.messages) if (this.runOf.get(m.runId) === run) this.runOf.delete(m.runId);
        this.events.runEnded?.(run, outcome, value);
        onSettled(outcome, value);
      },
    });
  }

  private startRun(run: Run, ctx: TaskContext): void {
    const completion = ctx.detach();
    run.state = 'running';
    run.startedAt = this.clock.now();
    const session = run.kind === 'nested' || run.kind === 'subagent' ? undefined : this.sessions.get(run.sessionKey);
    if (session !== undefined) {
      this.removeWaiting(session, run);
      // STATUS-6 counts messages: a merged run carries several, a summary run stands for one turn.
      session.busyIndex += Math.max(1, run.messages.length);
      run.ordinal = session.busyIndex;
      // QUEUE-16: an overflow summary rides on the next run that starts.
      if (session.overflow.length > 0) {
        const carried = session.overflow;
        session.overflow = [];
        run.summarized = carried.map((p) => p.msg);
        const summary = overflowSummary(carried.map((p) => gistOf(p.msg.text)));
        run.prompt = run.kind === 'summary' ? summary : withOverflowSummary(summary, run.prompt);
        for (const p of carried) this.settle(p.msg, 'summarized', run.runId, null, null);
      }
      const outcome: MessageOutcome = run.kind === 'collect' ? 'merged' : 'ran';
      for (const m of run.messages) {
        const p = this.pendingById.get(m.msgId);
        if (p !== undefined) this.settlePending(p, outcome, run.runId, null, null);
      }
      this.touch(session, 'start');
    }
    this.events.runStarted?.(run);
    this.executor.start(run, ctx, completion);
  }

  private onRunSettled(session: SessionState, run: Run, outcome: TaskOutcome, value: unknown): void {
    session.runs.delete(run);
    if (run.startedAt < 0) {
      // Never started: removed while queued (abort, clear, interrupt, drop).
      this.removeWaiting(session, run);
      const code = value instanceof LaneError ? value.code : LaneErrorCode.ABORTED;
      for (const m of run.messages) {
        const p = this.pendingById.get(m.msgId);
        if (p !== undefined && !p.done) this.settlePending(p, 'aborted', null, code, errorText(value));
      }
    }
    this.afterChange(session, outcome === 'ok' || outcome === 'error' ? 'end' : 'abort');
  }

  private abortRunTree(run: Run, reason: string): void {
    if (run.nested !== null) this.abortRunTree(run.nested, reason);
    if (run.task !== null) this.scheduler.abortTask(run.task, reason);
  }

  private clearWaiting(session: SessionState, outcome: 'aborted' | 'rejected', code: string, detail: string): void {
    for (const run of [...session.waiting]) {
      for (const m of run.messages) {
        const p = this.pendingById.get(m.msgId);
        if (p !== undefined) this.settlePending(p, outcome, null, code, detail);
      }
      this.removeWaiting(session, run);
      if (run.task !== null) this.scheduler.abortTask(run.task, detail);
    }
    for (const p of session.buffer.splice(0)) this.settlePending(p, outcome, null, code, detail);
  }

  private removeWaiting(session: SessionState, run: Run): void {
    const index = session.waiting.indexOf(run);
    if (index >= 0) session.waiting.splice(index, 1);
  }

  /** After runs end or waiting messages go: drain collect, deliver a stranded summary, or go idle. */
  private afterChange(session: SessionState, reason: LaneStatusReason): void {
    if (session.holds === 0) this.settleIdle(session);
    this.touch(session, reason);
    if (session.holds === 0) this.maybeForget(session);
  }

  private settleIdle(session: SessionState): void {
    if (session.runs.size > 0) return;
    if (session.buffer.length > 0) this.scheduleDrain(session);
    else if (session.overflow.length > 0 && !this.stopped) {
      // QUEUE-16: nothing left to carry the summary: it becomes its own turn.
      this.queueRun(session, 'summary', [], '', `${session.key}#summary${++this.nextRun}`);
      this.touch(session, 'enqueue');
    }
  }

  /** Runs `operation` with idle handling deferred to its end, so a session is never forgotten mid-operation. */
  private hold<T>(session: SessionState, operation: () => T): T {
    session.holds++;
    try {
      return operation();
    } finally {
      if (--session.holds === 0) {
        this.settleIdle(session);
        this.maybeForget(session);
      }
    }
  }

  private scheduleDrain(session: SessionState): void {
    if (session.runs.size > 0 || this.stopped) return; // drained when the last run settles
    const due = Math.max(this.clock.now(), session.lastBufferedAt + this.config.messages.queue.debounceMs);
    if (session.drainTimer !== null) {
      this.clock.clearTimeout(session.drainTimer);
      session.drainTimer = null;
    }
    if (due <= this.clock.now()) {
      // QUEUE-8: the quiet window is already over (the run outlasted it): drain now, not a timer step later.
      this.drain(session);
      return;
    }
    session.drainTimer = this.clock.setTimeout(() => {
      session.drainTimer = null;
      this.drain(session);
      // The buffer may have emptied (clear, abort) while the timer was armed: nothing keeps the session then.
      this.maybeForget(session);
    }, due - this.clock.now());
  }

  /** QUEUE-9/10: one run per route, in order of first arrival; one message runs as itself. */
  private drain(session: SessionState): void {
    if (session.runs.size > 0 || session.buffer.length === 0) return;
    const quietUntil = session.lastBufferedAt + this.config.messages.queue.debounceMs;
    if (this.clock.now() < quietUntil) {
      this.scheduleDrain(session);
      return;
    }
    const groups = new Map<string, Pending[]>();
    for (const p of session.buffer.splice(0)) {
      const route = p.msg.route ?? '';
      let group = groups.get(route);
      if (group === undefined) groups.set(route, (group = []));
      group.push(p);
    }
    for (const group of groups.values()) {
      if (group.length === 1) {
        const only = group[0]!;
        this.queueRun(session, 'message', group, only.msg.text, only.msg.runId);
      } else {
        const runId = `${session.key}#collect${++this.nextRun}`;
        this.trace?.({ type: 'merge', t: this.clock.now(), runId, msgIds: group.map((p) => p.msg.msgId) });
        this.queueRun(session, 'collect', group, collectPrompt(group.map((p) => p.msg.text)), runId);
      }
    }
    this.touch(session, 'merge');
  }

  // ------------------------------------------------------------ settle

  private settlePending(p: Pending, outcome: MessageOutcome, runId: string | null, code: string | null, detail: string | null): void {
    p.done = true;
    this.pendingById.delete(p.msg.msgId);
    this.settle(p.msg, outcome, runId, code, detail);
  }

  private settle(msg: InboundMessage, outcome: MessageOutcome, runId: string | null, code: string | null, detail: string | null): void {
    this.trace?.({ type: 'settle', t: this.clock.now(), msgId: msg.msgId, outcome, runId, code });
    this.events.settle?.(msg, outcome, runId, code, detail);
  }

  // ------------------------------------------------------------ sessions

  private session(key: string): SessionState {
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = new SessionState(key);
      this.sessions.set(key, session);
    }
    return session;
  }

  private maybeForget(session: SessionState): void {
    if (session.runs.size === 0 && session.buffer.length === 0 && session.overflow.length === 0 && session.drainTimer === null) {
      this.sessions.delete(session.key);
    }
  }

  private isBusy(session: SessionState): boolean {
    return session.runs.size > 0 || session.buffer.length > 0 || session.drainTimer !== null;
  }

  private waitingCount(session: SessionState): number {
    let count = session.buffer.length;
    for (const run of session.waiting) count += Math.max(1, run.messages.length);
    return count;
  }

  /** The session's run that holds its lanes and is streaming, if any. */
  private streamingRun(session: SessionState): Run | null {
    for (const run of session.runs) {
      if (run.state === 'running' && run.nested === null && this.executor.isStreaming(run)) return run;
    }
    return null;
  }

  // ------------------------------------------------------------ lane.status (STATUS-*)

  private touch(session: SessionState, reason: LaneStatusReason): void {
    if (!this.laneStatus) return;
    const status = this.buildStatus(session, reason);
    const key = statusKey(status);
    if (key === session.lastStatusKey && reason !== 'warn') return;
    session.lastStatusKey = key;
    this.trace?.({ type: 'lane.status', t: this.clock.now(), sessionKey: session.key, status });
    this.events.status?.(session.key, status);
  }

  private buildStatus(session: SessionState, reason: LaneStatusReason): LaneStatusPayload {
    const now = this.clock.now();
    const threshold = this.config.agents.defaults.lane.warnThresholdMs;
    let activeRun: Run | null = null;
    for (const run of session.runs) {
      if (run.state === 'running' || run.state === 'parked') {
        activeRun = run;
        break;
      }
    }
    if (activeRun === null) {
      // A run holding the session slot while it waits for its global lane.
      const holder = this.scheduler.getLane(session.lane)?.holders[0];
      if (holder !== undefined && holder.meta instanceof Run) activeRun = holder.meta;
    }
    const waiting: LaneStatusWaiting[] = [];
    let position = 0;
    let warning = false;
    const addWaiting = (runId: string, p: Pending | undefined, queueAhead: number, enqueuedAt: number): void => {
      const waitedMs = now - (p?.acceptedAt ?? enqueuedAt);
      const warned = waitedMs >= threshold;
      warning ||= warned;
      waiting.push({ runId, position: ++position, queueAhead, waitedMs, warning: warned });
    };
    for (const run of session.waiting) {
      // A run holding the session slot while it waits for its global lane is shown as `active`
      // (waitingFor) AND listed here: its messages still wait, and their warning is owed (STATUS-3/4).
      if (run.messages.length === 0) addWaiting(run.runId, undefined, run.queueAhead, run.enqueuedAt);
      // A merged (collect) run: each sender looks for its own runId, and each message's wait is owed a warning.
      for (const m of run.messages) addWaiting(m.runId, this.pendingById.get(m.msgId), run.queueAhead, run.enqueuedAt);
    }
    for (const p of session.buffer) addWaiting(p.msg.runId, p, p.queueAhead, p.acceptedAt);
    let active: LaneStatusPayload['active'] = null;
    if (activeRun !== null) {
      const nested = deepestNested(activeRun);
      const holdsLanes = activeRun.state === 'running';
      active = {
        runId: activeRun.runId,
        agentId: nested?.agentId ?? activeRun.agentId,
        elapsedMs: activeRun.startedAt >= 0 ? now - activeRun.startedAt : 0,
        waitingFor: holdsLanes ? (nested !== null && nested.state === 'queued' ? nested.lanes[0]! : null)
          : activeRun.state === 'parked' ? (nested?.state === 'queued' ? nested.lanes[0]! : null)
          : (activeRun.task?.waitingLane?.name ?? null),
      };
    }
    const queued = this.waitingCount(session);
    const state: LaneStatusPayload['state'] = active !== null ? 'active' : waiting.length > 0 ? 'waiting' : 'idle';
    return {
      lane: session.lane,
      sessionKey: session.key,
      state,
      reason,
      active,
      waiting,
      queued,
      processing: { index: session.busyIndex, total: session.busyIndex + waiting.length },
      warning,
      warnThresholdMs: threshold,
      actions: {
        cancel: active === null ? null : { method: 'chat.abort', params: { sessionKey: session.key, runId: active.runId } },
        viewPartial: active === null ? null : { method: 'chat.history', params: { sessionKey: session.key, runId: active.runId } },
      },
    };
  }

  // ------------------------------------------------------------ wait warnings (STATUS-4)

  private onWaitsCrossed(crossed: Pending[]): void {
    const touched = new Set<SessionState>();
    for (const p of crossed) {
      p.warned = true;
      const session = this.sessions.get(p.msg.sessionKey);
      if (session !== undefined) touched.add(session);
    }
    for (const session of touched) this.touch(session, 'warn');
  }
}

function receipt(status: Receipt['status'], msg: InboundMessage, mode: QueueMode, code: string | null, message: string | null): Receipt {
  return { status, runId: msg.runId, mode, code, message };
}

function deepestNested(run: Run): Run | null {
  let nested = run.nested;
  while (nested !== null && nested.nested !== null) nested = nested.nested;
  return nested;
}

/** What makes two statuses the same for subscribers (times excluded: they tick on their own). */
function statusKey(status: LaneStatusPayload): string {
  let key = `${status.state}|${status.active?.runId ?? ''}|${status.active?.agentId ?? ''}|${status.active?.waitingFor ?? ''}|${status.queued}|${status.processing.index}/${status.processing.total}|${status.warning}`;
  for (const w of status.waiting) key += `|${w.runId}:${w.position}:${w.warning ? 1 : 0}`;
  return key;
}

function errorText(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
