/**
 * The reference gateway, without a transport: connections, chat.send /
 * chat.abort / chat.history, runs through the session router and the lane
 * scheduler, tool-call validation, lane.status, heartbeats and the server
 * tick. A WebSocket server wraps it for real clients; the simulator drives it
 * directly with modelled clients. Time comes only from the Clock.
 */
import { globalClock, type Clock, type TimerHandle } from '../model/clock.ts';
import type { LanesimConfig } from '../model/config-types.ts';
import { BROADCAST_CONN, type LaneStatusPayload, type MessageOutcome, type TraceSink } from '../model/events.ts';
import {
  DELTA_THROTTLE_MS, ErrorCodes, Events,
  type AgentStream, type ChatHistoryParams, type ChatSendParams, type ChatSendResult, type ChatState,
} from '../model/protocol.ts';
import { headUtf8, resolveLimits, tailUtf8, type GatewayLimits } from './bounds.ts';
import { Deque } from './deque.ts';
import { HeartbeatMonitor, type HeartbeatPayload } from './heartbeat.ts';
import { REFERENCE_PROFILE, type GatewayProfile } from './profile.ts';
import { Run, type InboundMessage } from './run.ts';
import { SessionRouter, type Receipt } from './session-router.ts';
import type { Completion, TaskContext, TaskOutcome } from './task.ts';
import { ToolRegistry, type ToolCallInput, type ToolErrorResult } from './tool-validator.ts';

// ---------------------------------------------------------------- runtime side

/**
 * What an agent runtime sees of the run it drives. Call its methods on the
 * object (`io.delta(text)`): they are methods, not bound functions.
 */
export interface RunIO {
  readonly run: Run;
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  /** Calls `callback` once when the run is aborted (cheaper than listening on `signal`). */
  onAbort(callback: () => void): void;
  now(): number;
  /** Streamed model output. */
  delta(text: string): void;
  /** QUEUE-3: the runtime is streaming model output (steers are taken at its next boundary). */
  setStreaming(streaming: boolean): void;
  /** Messages steered into this run since the last call. */
  takeSteers(): readonly InboundMessage[];
  /** A tool call from the model; the gateway validates it (TOOL-*). */
  toolCall(call: ToolCallInput): ToolCallOutcome;
  /** A tool finished executing (for the `agent` tool stream). */
  toolResult(callId: string, name: string, ok: boolean): void;
  /** Agent-to-agent call (LANE-20/21); `done` runs when the parent holds its lanes again. */
  callNested(request: NestedRequest, done: (outcome: TaskOutcome, text: string) => void): void;
  /** A sub-agent run in its own session, bounded by the `subagent` lane (LANE-24). */
  spawn(request: NestedRequest, done: (outcome: TaskOutcome, text: string) => void): void;
  finish(text?: string): void;
  fail(message: string): void;
}

export type ToolCallOutcome =
  | { delivered: true; ok: true; args: Record<string, unknown> }
  /** TOOL-1: the error tool_result the agent gets back. */
  | { delivered: true; ok: false; result: ToolErrorResult }
  /** Today's OpenClaw (profile toolFailFast off): the error was only logged; the agent hears nothing. */
  | { delivered: false; ok: false };

export interface NestedRequest {
  targetSessionKey: string;
  agentId: string | null;
  prompt: string;
  /** Opaque to the gateway; handed to the runtime with the nested run. */
  data?: unknown;
}

export interface AgentRuntime {
  start(io: RunIO): void;
}

// ---------------------------------------------------------------- transport side

/** How the gateway reaches one client. */
export interface ClientTransport {
  /** Returns false when the frame was dropped (slow consumer, droppable event). */
  send(event: string, payload: unknown, seq: number): boolean;
  /**
   * false: the transport ignores payloads (a modelled client in a huge
   * simulation), so the gateway need not build them for it. Default true.
   */
  readonly wantsPayload?: boolean;
  /**
   * false: the connection never receives session events, so chat.send does
   * not subscribe it (the HTTP hook's connection: one subscription per hooked
   * session would grow without bound, BOUND-5). Default true.
   */
  readonly listens?: boolean;
  close(code: number, reason: string): void;
  ping?(): void;
}

export class GatewayRequestError extends Error {
  readonly code: string;
  readonly details: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'GatewayRequestError';
    this.code = code;
    this.details = details;
  }
}

export interface GatewayOptions {
  config: LanesimConfig;
  runtime: AgentRuntime;
  profile?: GatewayProfile;
  clock?: Clock;
  trace?: TraceSink | null;
  tools?: ToolRegistry;
  /** Keep per-session transcripts for chat.history (off in huge simulations). Default true. */
  keepHistory?: boolean;
  /** Log sink for diagnostics lines (`lane wait exceeded`, tool errors in the baseline). */
  log?: (line: string) => void;
  /** Deterministic ids: runs are `<prefix><n>` (unless newRunId is given). */
  runIdPrefix?: string;
  /**
   * Where run ids come from (AUTH-6). Default: `<runIdPrefix><n>`, deterministic
   * for simulations; a gateway on a network gives unguessable ids
   * (GatewayServer: crypto.randomUUID).
   */
  newRunId?: () => string;
  /** Memory bounds (BOUND-*); absent keys take DEFAULT_GATEWAY_LIMITS. */
  limits?: Partial<GatewayLimits>;
  /** Trace WebSocket pings and pongs (HB-5). Default true; huge simulations turn it off. */
  traceLiveness?: boolean;
  /**
   * The transports never drop a broadcast (true in the simulator): a tick is
   * traced once, as a frame to `*`, instead of once per connection.
   */
  lossless?: boolean;
}

interface Connection {
  readonly id: string;
  readonly transport: ClientTransport;
  readonly wantsPayload: boolean;
  readonly listens: boolean;
  seq: number;
  readonly sessions: Set<string>;
  /** Of `sessions`, those asked for with sessions.subscribe (the rest came with a chat.send): kept past an eviction (BOUND-5). */
  readonly explicit: Set<string>;
  open: boolean;
}

/** What a LiveRun calls back into: the gateway's run handling (internal, not API). */
interface RunHost {
  readonly clock: Clock;
  readonly router: SessionRouter;
  runDelta(live: LiveRun, text: string): void;
  runToolCall(live: LiveRun, call: ToolCallInput): ToolCallOutcome;
  runToolResult(live: LiveRun, callId: string, name: string, ok: boolean): void;
  settleRun(live: LiveRun, outcome: 'ok' | 'error', value: string | null): void;
}

/**
 * A run in flight: the gateway's record of it and the RunIO its runtime
 * drives, in one object with prototype methods (a simulated hour starts
 * 60,000 runs; a dozen closures each was a tenth of its allocation).
 */
class LiveRun implements RunIO {
  text = '';
  pendingDelta = '';
  lastDeltaAt = -Infinity;
  deltaTimer: TimerHandle | null = null;
  streaming = false;
  steers: InboundMessage[] = [];
  chatSeq = 0;
  agentSeq = 0;
  settled = false;

  constructor(
    private readonly host: RunHost,
    readonly run: Run,
    readonly completion: Completion,
    readonly ctx: TaskContext,
  ) {}

  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  get aborted(): boolean {
    return this.ctx.aborted;
  }

  onAbort(callback: () => void): void {
    this.ctx.onAbort(callback);
  }

  now(): number {
    return this.host.clock.now();
  }

  delta(text: string): void {
    this.host.runDelta(this, text);
  }

  setStreaming(streaming: boolean): void {
    this.streaming = streaming;
  }

  takeSteers(): readonly InboundMessage[] {
    // Asked at every model chunk; nearly always nothing: no new array for that.
    return this.steers.length === 0 ? NO_STEERS : this.steers.splice(0);
  }

  toolCall(call: ToolCallInput): ToolCallOutcome {
    return this.host.runToolCall(this, call);
  }

  toolResult(callId: string, name: string, ok: boolean): void {
    this.host.runToolResult(this, callId, name, ok);
  }

  callNested(request: NestedRequest, done: (outcome: TaskOutcome, text: string) => void): void {
    this.host.router.callNested(this.run, request, (outcome, value) => done(outcome, resultText(outcome, value)));
  }

  spawn(request: NestedRequest, done: (outcome: TaskOutcome, text: string) => void): void {
    const spawn = { sessionKey: request.targetSessionKey, agentId: request.agentId, prompt: request.prompt, data: request.data };
    this.host.router.spawn(this.run, spawn, (outcome, value) => done(outcome, resultText(outcome, value)));
  }

  finish(text?: string): void {
    this.host.settleRun(this, 'ok', text ?? null);
  }

  fail(message: string): void {
    this.host.settleRun(this, 'error', message);
  }
}

/** takeSteers() with nothing steered (frozen: one array shared by every call). */
const NO_STEERS: readonly InboundMessage[] = Object.freeze([]);

function resultText(outcome: TaskOutcome, value: unknown): string {
  return typeof value === 'string' ? value : outcome === 'ok' ? '' : errorText(value);
}

interface MessageInfo {
  readonly msg: InboundMessage;
  /** The runId its sender was told. */
  readonly toldRunId: string;
  readonly acceptedAt: number;
  /** Its key in `idempotency`, released when the sender's wait ends (BOUND-1). */
  readonly idemKey: string;
}

/** A remembered chat.send (WS-14): its answer, and when it may be forgotten (Infinity while its message is live). */
interface IdempotencyEntry {
  result: ChatSendResult | null;
  expiresAt: number;
}

interface HistoryEntry {
  readonly role: 'user' | 'assistant';
  readonly runId: string;
  readonly text: string;
  /** UTF-8 bytes of text. */
  readonly bytes: number;
  /** The text was cut to a quarter of historyMaxBytes when remembered. */
  readonly truncated: boolean;
}

/** What the gateway keeps of one session between runs (BOUND-2, BOUND-3). */
interface SessionMemory {
  readonly entries: HistoryEntry[];
  /** Sum of entries' bytes. */
  bytes: number;
  /** Index (since the session was first seen) of entries[0]: chat.history's `before` cursor counts in it. */
  firstIndex: number;
  lastActiveAt: number;
}

export interface HistoryMessage {
  role: 'user' | 'assistant';
  runId: string;
  text: string;
  truncated?: true;
}

export interface ChatHistoryReply {
  sessionKey: string;
  messages: HistoryMessage[];
  partial: { runId: string; text: string; elapsedMs: number; truncated?: true } | null;
  /** Older entries exist: ask again with `before: nextBefore` (BOUND-4). */
  nextBefore?: number;
}

/** A reply's UTF-8 overhead per entry beyond its text (role, runId, keys, quotes), for the reply budget. */
const ENTRY_OVERHEAD_BYTES = 64;
/** Connections per slice of a tick (broadcastTick). */
const TICK_SLICE = 500;

export class Gateway {
  readonly router: SessionRouter;
  readonly config: LanesimConfig;
  readonly profile: GatewayProfile;
  readonly clock: Clock;
  private readonly trace: TraceSink | null;
  private readonly runtime: AgentRuntime;
  private readonly tools: ToolRegistry;
  private readonly keepHistory: boolean;
  private readonly log: (line: string) => void;
  private readonly runIdPrefix: string;
  private readonly heartbeat: HeartbeatMonitor | null;
  private readonly conns = new Map<string, Connection>();
  private readonly subscribers = new Map<string, Set<string>>();
  private readonly live = new Map<string, LiveRun>();
  readonly limits: GatewayLimits;
  private readonly newRunId: () => string;
  /** WS-14 / BOUND-1: by `<sessionKey>\0<idempotencyKey>`. */
  private readonly idempotency = new Map<string, IdempotencyEntry>();
  /** Released keys in order of expiry (the window is constant and time only moves forward). */
  private readonly idempotencyExpiry = new Deque<{ key: string; at: number }>(16);
  /** Keys of messages steered or summarized into a run: released when that run ends. */
  private readonly keysByCarrier = new Map<string, string[]>();
  /** Sessions evicted while idle (BOUND-3), oldest first, at most limits.evictedKeysRemembered. */
  private readonly evicted = new Map<string, number>();
  private readonly messages = new Map<string, MessageInfo>();
  /** DEP-3 only: the runId a sender was told -> the runId its message runs under. */
  private readonly toldToRouter = new Map<string, string>();
  /** Per-session memory, least recently active first (a Map keeps insertion order; touching re-inserts). */
  private readonly history = new Map<string, SessionMemory>();
  private nextRun = 0;
  private nextMsg = 0;
  private tickTimer: TimerHandle | null = null;
  /** The next slice of a tick still going out (broadcastTick). */
  private tickSliceTimer: TimerHandle | null = null;
  private closed = false;
  private readonly lossless: boolean;

  constructor(options: GatewayOptions) {
    this.config = options.config;
    this.profile = options.profile ?? REFERENCE_PROFILE;
    this.clock = options.clock ?? globalClock;
    this.trace = options.trace ?? null;
    this.runtime = options.runtime;
    this.tools = options.tools ?? new ToolRegistry();
    this.keepHistory = options.keepHistory ?? true;
    this.log = options.log ?? (() => {});
    this.runIdPrefix = options.runIdPrefix ?? 'run-';
    this.limits = resolveLimits(options.limits);
    this.newRunId = options.newRunId ?? (() => `${this.runIdPrefix}${++this.nextRun}`);
    this.lossless = options.lossless ?? false;
    const trace = this.trace;
    const traceLiveness = options.traceLiveness ?? true;
    const heartbeatTrace: TraceSink | undefined =
      trace === null ? undefined : traceLiveness ? trace : (e) => {
        if (e.type !== 'ping' && e.type !== 'pong') trace(e);
      };
    this.router = new SessionRouter({
      config: this.config,
      clock: this.clock,
      trace: this.trace,
      laneStatus: this.profile.laneStatus,
      laneHooks: {
        onLaneWait: (i) =>
          this.log(`lane wait exceeded: lane=${i.lane} waitedMs=${i.waitedMs} queueAhead=${i.queueAhead} activeAhead=${i.activeAhead} activeNow=${i.activeNow} queueBehind=${i.queueBehind}`),
      },
      executor: {
        start: (run, ctx, completion) => this.startRun(run, ctx, completion),
        isStreaming: (run) => this.live.get(run.runId)?.streaming ?? false,
        steer: (run, message) => this.live.get(run.runId)?.steers.push(message),
      },
      events: {
        status: (sessionKey, status) => this.onLaneStatus(sessionKey, status),
        settle: (message, outcome, runId, code, detail) => this.onSettle(message, outcome, runId, code, detail),
      },
    });
    this.heartbeat = this.profile.heartbeat
      ? new HeartbeatMonitor({
          clock: this.clock,
          config: this.config.gateway.heartbeat,
          trace: heartbeatTrace,
          // HB-2: aim a little early so a late timer on a busy event loop still keeps the bound.
          marginMs: heartbeatMarginMs(this.config.gateway.heartbeat.intervalMs),
          sendHeartbeat: (connId, payload) => this.sendHeartbeat(connId, payload),
          sendPing: (connId) => this.conns.get(connId)?.transport.ping?.(),
          onDead: (connId) => this.conns.get(connId)?.transport.close(1001, 'no pong'),
        })
      : null;
    this.scheduleTick();
  }

  // ------------------------------------------------------------ connections

  connect(connId: string, transport: ClientTransport): void {
    if (this.closed) throw new GatewayRequestError(ErrorCodes.SHUTTING_DOWN, 'gateway is shutting down');
    if (this.conns.has(connId)) throw new GatewayRequestError(ErrorCodes.INVALID_REQUEST, `connection ${connId} already exists`);
    this.conns.set(connId, {
      id: connId, transport, wantsPayload: transport.wantsPayload !== false, listens: transport.listens !== false, seq: 0, sessions: new Set(), explicit: new Set(), open: true,
    });
    this.trace?.({ type: 'conn', t: this.clock.now(), connId, state: 'open' });
    this.heartbeat?.addConnection(connId);
  }

  disconnect(connId: string): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    conn.open = false;
    this.conns.delete(connId);
    for (const sessionKey of conn.sessions) {
      const set = this.subscribers.get(sessionKey);
      if (set === undefined) continue;
      set.delete(connId);
      // BOUND-5: an empty set is not kept for a session nobody watches. (conn.explicit goes with conn.)
      if (set.size === 0) this.subscribers.delete(sessionKey);
    }
    this.heartbeat?.removeConnection(connId);
    this.trace?.({ type: 'conn', t: this.clock.now(), connId, state: 'closed' });
  }

  /** Inbound traffic from a client (any frame or a pong) keeps it alive (HB-6). */
  noteInbound(connId: string, pong = false): void {
    if (pong) this.heartbeat?.notePong(connId);
    else this.heartbeat?.noteInbound(connId);
  }

  /** Subscribes a connection to a session's events; a busy session's lane.status is sent at once (STATUS-1). */
  subscribe(connId: string, sessionKey: string, explicit = true): LaneStatusPayload {
    const conn = this.requireConn(connId);
    if (!conn.sessions.has(sessionKey) && conn.sessions.size >= this.limits.maxSubscriptionsPerConnection) {
      throw new GatewayRequestError(ErrorCodes.INVALID_REQUEST, `too many subscriptions: a connection may watch at most ${this.limits.maxSubscriptionsPerConnection} sessions`, {
        code: 'SUBSCRIPTION_LIMIT', limit: this.limits.maxSubscriptionsPerConnection,
      });
    }
    if (explicit) conn.explicit.add(sessionKey);
    const status = this.router.status(sessionKey, 'subscribe');
    if (conn.sessions.has(sessionKey)) return status;
    conn.sessions.add(sessionKey);
    let set = this.subscribers.get(sessionKey);
    if (set === undefined) this.subscribers.set(sessionKey, (set = new Set()));
    set.add(connId);
    if (this.profile.laneStatus && status.state !== 'idle') this.sendTo(conn, Events.LANE_STATUS, status, status.active?.runId ?? null, null);
    return status;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  // ------------------------------------------------------------ methods

  /** chat.send (WS-*): idempotent per (sessionKey, idempotencyKey). */
  chatSend(connId: string, params: ChatSendParams): ChatSendResult {
    const conn = this.requireConn(connId);
    const now = this.clock.now();
    this.sweep(now);
    const key = `${params.sessionKey}\u0000${params.idempotencyKey}`;
    const seen = this.idempotency.get(key)?.result;
    if (seen !== undefined && seen !== null) return { ...seen, status: seen.status === 'rejected' ? 'rejected' : 'in_flight' };
    if (conn.listens) this.subscribe(conn.id, params.sessionKey, false);
    const toldRunId = this.newRunId();
    // DEP-3 (today's OpenClaw): a message for a busy session is answered with an empty final and runs later under a new runId.
    const silent = this.profile.silentFollowups && this.router.isSessionBusy(params.sessionKey);
    const routerRunId = silent ? this.newRunId() : toldRunId;
    const msg: InboundMessage = {
      msgId: `m${++this.nextMsg}`,
      runId: routerRunId,
      sessionKey: params.sessionKey,
      text: params.message,
      connId,
      channel: params.channel ?? null,
      route: params.route ?? params.channel ?? null,
      // OpenClaw's default agent; a gateway with several agents would route by session key.
      agentId: 'main',
    };
    this.messages.set(msg.msgId, { msg, toldRunId, acceptedAt: now, idemKey: key });
    // Set before accept: a message refused at the door releases its key inside accept (onSettle).
    const entry: IdempotencyEntry = { result: null, expiresAt: Infinity };
    this.idempotency.set(key, entry);
    this.evicted.delete(params.sessionKey);
    if (silent) this.toldToRouter.set(toldRunId, routerRunId);
    if (this.keepHistory) this.remember(params.sessionKey, 'user', toldRunId, params.message);
    if (this.heartbeat !== null) this.heartbeat.watch(connId, routerRunId, { enqueuedAt: now });
    const receipt: Receipt = this.router.accept(msg);
    const result: ChatSendResult = {
      runId: toldRunId,
      status: receipt.status,
      ...(receipt.code !== null ? { code: receipt.code } : {}),
    };
    entry.result = result;
    if (silent && receipt.status === 'queued') {
      this.sendTo(conn, Events.CHAT, this.chatPayload(toldRunId, params.sessionKey, 0, 'final', { message: assistantMessage('') }), toldRunId, 'final');
    }
    return result;
  }

  /** chat.abort: a given run (queued or running), or the session's active run. */
  chatAbort(connId: string, params: { sessionKey: string; runId?: string }): { aborted: string[] } {
    this.requireConn(connId);
    const runId = params.runId === undefined ? undefined : this.resolveRunId(params.runId);
    if (runId !== undefined) this.requireRunInSession(runId, params.sessionKey, params.runId!);
    this.touchSession(params.sessionKey);
    return this.router.abort(params.sessionKey, runId);
  }

  /**
   * chat.history: the transcript, and the partial output of a running run
   * ("View partial output"), paged (BOUND-4): at most `limit` entries and
   * historyReplyMaxBytes of text per reply, newest last; `before` asks for
   * the page ending before an entry index a previous reply gave as `nextBefore`.
   */
  chatHistory(connId: string, params: ChatHistoryParams & { before?: number }): ChatHistoryReply {
    this.requireConn(connId);
    const sessionKey = params.sessionKey;
    const wanted = params.runId === undefined ? undefined : this.resolveRunId(params.runId);
    if (wanted !== undefined) this.requireRunInSession(wanted, sessionKey, params.runId!);
    const memory = this.history.get(sessionKey);
    if (memory === undefined && this.evicted.has(sessionKey) && !this.sessionHasRun(sessionKey)) {
      throw new GatewayRequestError(
        ErrorCodes.INVALID_REQUEST,
        `session ${sessionKey.slice(0, 200)} was evicted after ${this.limits.sessionIdleMs} ms idle: its transcript is gone`,
        { code: 'SESSION_EVICTED', idleMs: this.limits.sessionIdleMs },
      );
    }
    const reply: ChatHistoryReply = { sessionKey, messages: [], partial: null };
    if (memory !== undefined) {
      this.touchSession(sessionKey);
      this.pageHistory(memory, params.limit ?? this.limits.historyMaxMessages, params.before, reply);
    }
    let partial: { run: Run; live: LiveRun } | null = null;
    for (const live of this.live.values()) {
      const run = live.run;
      const matches = wanted !== undefined
        ? (run.runId === wanted && run.sessionKey === sessionKey) || (run.parent?.runId === wanted && run.parent.sessionKey === sessionKey)
        : run.sessionKey === sessionKey;
      if (!matches) continue;
      // The deepest running descendant is what is being generated now.
      if (partial === null || run.parent !== null) partial = { run, live };
    }
    if (partial !== null) {
      const full = partial.live.text + partial.live.pendingDelta;
      const text = tailUtf8(full, this.limits.partialMaxBytes);
      reply.partial = { runId: partial.run.runId, text, elapsedMs: this.clock.now() - partial.run.startedAt, ...(text.length < full.length ? { truncated: true as const } : {}) };
    }
    return reply;
  }

  private pageHistory(memory: SessionMemory, limit: number, before: number | undefined, reply: ChatHistoryReply): void {
    const entries = memory.entries;
    const end = before === undefined ? entries.length : Math.max(0, Math.min(entries.length, before - memory.firstIndex));
    let budget = this.limits.historyReplyMaxBytes;
    let start = end;
    const page: HistoryMessage[] = [];
    while (start > 0 && page.length < limit) {
      const entry = entries[start - 1]!;
      const cost = entry.bytes + ENTRY_OVERHEAD_BYTES;
      if (cost > budget) {
        // Always make progress: an entry larger than a whole reply is sent cut, alone.
        if (page.length > 0) break;
        page.push({ role: entry.role, runId: entry.runId, text: headUtf8(entry.text, Math.max(0, budget - ENTRY_OVERHEAD_BYTES)), truncated: true });
        start--;
        break;
      }
      budget -= cost;
      page.push(entry.truncated ? { role: entry.role, runId: entry.runId, text: entry.text, truncated: true } : { role: entry.role, runId: entry.runId, text: entry.text });
      start--;
    }
    page.reverse();
    reply.messages = page;
    if (start > 0) reply.nextBefore = memory.firstIndex + start;
  }

  diagnosticsLanes(): ReturnType<SessionRouter['scheduler']['diagnostics']> {
    return this.router.scheduler.diagnostics();
  }

  /** Graceful stop (QUEUE-19): refuse new work, tell waiting senders, finish or abort runs. */
  async shutdown(options: { abortRunning: boolean } = { abortRunning: true }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.broadcast(Events.SHUTDOWN, { reason: 'gateway stopping', abortRunning: options.abortRunning });
    this.router.shutdown(options);
    await this.router.whenIdle();
    this.stopTimers();
  }

  /** Stops every timer (tick, heartbeats) without touching runs; for tests and the end of a simulation. */
  stopTimers(): void {
    if (this.tickTimer !== null) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if (this.tickSliceTimer !== null) this.clock.clearTimeout(this.tickSliceTimer);
    this.tickSliceTimer = null;
    this.heartbeat?.close();
    this.router.stopTimers();
    for (const live of this.live.values()) {
      if (live.deltaTimer !== null) this.clock.clearTimeout(live.deltaTimer);
      live.deltaTimer = null;
    }
  }

  // ------------------------------------------------------------ runs

  private startRun(run: Run, ctx: TaskContext, completion: Completion): void {
    const live = new LiveRun(this, run, completion, ctx);
    this.live.set(run.runId, live);
    this.heartbeat?.runStarted(run.runId, this.clock.now());
    if (this.isUserRun(run)) this.agentEvent(live, 'lifecycle', { phase: 'start', kind: run.kind });
    try {
      this.runtime.start(live);
    } catch (error) {
      live.fail(error instanceof Error ? error.message : String(error));
    }
  }

  private isUserRun(run: Run): boolean {
    return run.kind === 'message' || run.kind === 'collect' || run.kind === 'summary';
  }

  /** @internal LiveRun.delta */
  runDelta(live: LiveRun, text: string): void {
    if (live.settled || text === '') return;
    live.pendingDelta += text;
    if (!this.isUserRun(live.run)) return;
    const now = this.clock.now();
    // WS-*: at most one delta per DELTA_THROTTLE_MS per run; the rest is coalesced.
    if (now - live.lastDeltaAt >= DELTA_THROTTLE_MS) this.flushDelta(live);
    else if (live.deltaTimer === null) this.armDeltaTimer(live, now);
  }

  private armDeltaTimer(live: LiveRun, now: number): void {
    live.deltaTimer = this.clock.setTimeout(() => {
      live.deltaTimer = null;
      // Real timers may fire a millisecond early by Date.now(): never send before the throttle allows (WS-16).
      const at = this.clock.now();
      if (at - live.lastDeltaAt < DELTA_THROTTLE_MS) this.armDeltaTimer(live, at);
      else this.flushDelta(live);
    }, Math.max(1, live.lastDeltaAt + DELTA_THROTTLE_MS - now));
  }

  private flushDelta(live: LiveRun): void {
    if (live.pendingDelta === '' || live.settled) return;
    const deltaText = live.pendingDelta;
    live.text += deltaText;
    live.pendingDelta = '';
    const run = live.run;
    this.toSession(run.sessionKey, Events.CHAT, () =>
      this.chatPayload(run.runId, run.sessionKey, ++live.chatSeq, 'delta', { deltaText, message: assistantMessage(live.text) }), run.runId, 'delta');
    // WS-16 is about what clients see: count the 150 ms from when this delta went out (serializing it to
    // many subscribers can take a millisecond or two on a busy loop), not from when it was cut.
    live.lastDeltaAt = this.clock.now();
  }

  /** @internal LiveRun.toolResult */
  runToolResult(live: LiveRun, callId: string, name: string, ok: boolean): void {
    if (this.isUserRun(live.run)) this.agentEvent(live, 'tool', { phase: 'result', callId, name, ok });
  }

  /** @internal LiveRun.toolCall */
  runToolCall(live: LiveRun, call: ToolCallInput): ToolCallOutcome {
    const run = live.run;
    const validation = this.tools.validate(call);
    const now = this.clock.now();
    this.trace?.({ type: 'tool_call', t: now, runId: run.runId, callId: call.id, tool: String(call.name), valid: validation.ok });
    if (this.isUserRun(run)) this.agentEvent(live, 'tool', { phase: 'call', callId: call.id, name: String(call.name), valid: validation.ok });
    if (validation.ok) return { delivered: true, ok: true, args: validation.args };
    const text = validation.result.content;
    if (this.profile.toolFailFast) {
      // TOOL-1: the agent gets the error as the call's tool_result and can retry.
      this.trace?.({ type: 'tool_result', t: now, runId: run.runId, callId: call.id, tool: String(call.name), isError: true, delivery: 'returned', text });
      return { delivered: true, ok: false, result: validation.result };
    }
    // Today's OpenClaw in the incident: the failure reached only the log.
    this.trace?.({ type: 'tool_result', t: now, runId: run.runId, callId: call.id, tool: String(call.name), isError: true, delivery: 'logged', text });
    this.log(`[tools] ${String(call.name)} failed: ${text}`);
    return { delivered: false, ok: false };
  }

  /** @internal LiveRun.finish / fail */
  settleRun(live: LiveRun, outcome: 'ok' | 'error', value: string | null): void {
    if (live.settled) return;
    if (live.deltaTimer !== null) {
      this.clock.clearTimeout(live.deltaTimer);
      live.deltaTimer = null;
    }
    const run = live.run;
    if (outcome === 'ok' && value !== null && value !== '' && live.text + live.pendingDelta === '') live.pendingDelta = value;
    live.text += live.pendingDelta;
    live.pendingDelta = '';
    live.settled = true;
    live.streaming = false;
    this.live.delete(run.runId);
    if (this.isUserRun(run)) {
      const aborted = live.ctx.aborted;
      const state: ChatState = aborted ? 'aborted' : outcome === 'ok' ? 'final' : 'error';
      this.agentEvent(live, 'lifecycle', { phase: aborted ? 'aborted' : outcome === 'ok' ? 'end' : 'error' });
      const extra = outcome === 'ok' || aborted ? { message: assistantMessage(live.text) } : { errorMessage: value ?? 'run failed' };
      this.toSession(run.sessionKey, Events.CHAT, () => this.chatPayload(run.runId, run.sessionKey, ++live.chatSeq, state, extra), run.runId, state);
      if (this.keepHistory) this.remember(run.sessionKey, 'assistant', run.runId, live.text);
    }
    this.heartbeat?.unwatchRun(run.runId);
    const now = this.clock.now();
    for (const m of run.messages) {
      const info = this.messages.get(m.msgId);
      if (info !== undefined && info.toldRunId !== run.runId) this.toldToRouter.delete(info.toldRunId);
      if (info !== undefined) this.releaseKey(info.idemKey, now);
      this.messages.delete(m.msgId);
    }
    const carried = this.keysByCarrier.get(run.runId);
    if (carried !== undefined) {
      this.keysByCarrier.delete(run.runId);
      for (const key of carried) this.releaseKey(key, now);
    }
    if (this.isUserRun(run)) this.touchSession(run.sessionKey);
    if (outcome === 'ok') live.completion.done(live.text);
    else live.completion.fail(new Error(value ?? 'run failed'));
  }

  // ------------------------------------------------------------ router events

  private onSettle(message: InboundMessage, outcome: MessageOutcome, runId: string | null, code: string | null, detail: string | null): void {
    const info = this.messages.get(message.msgId);
    const conn = message.connId === null ? undefined : this.conns.get(message.connId);
    const told = info?.toldRunId ?? message.runId;
    if (outcome === 'rejected' || outcome === 'aborted') {
      this.messages.delete(message.msgId);
      if (info !== undefined) this.releaseKey(info.idemKey, this.clock.now());
      this.heartbeat?.unwatch(message.connId ?? '', message.runId);
      if (conn !== undefined && this.profile.notifyRejected) {
        // QUEUE-21: the sender hears what happened to its message.
        const state: ChatState = outcome === 'aborted' ? 'aborted' : 'error';
        this.sendTo(conn, Events.CHAT, this.chatPayload(message.runId, message.sessionKey, 0, state, {
          errorCode: code ?? 'UNKNOWN', errorMessage: detail ?? outcome,
        }), message.runId, state);
      }
      return;
    }
    if (runId !== null && runId !== message.runId && message.connId !== null) {
      // merged / steered / summarized: the sender now waits on the carrying run.
      this.heartbeat?.unwatch(message.connId, message.runId);
      this.heartbeat?.watch(message.connId, runId, { enqueuedAt: info?.acceptedAt ?? this.clock.now() });
      if (outcome === 'steered' || outcome === 'summarized') {
        this.messages.delete(message.msgId);
        // Its sender waits on the carrying run: the key is released when that run ends.
        if (info !== undefined) {
          const keys = this.keysByCarrier.get(runId);
          if (keys === undefined) this.keysByCarrier.set(runId, [info.idemKey]);
          else keys.push(info.idemKey);
        }
      }
      if (conn !== undefined && this.profile.laneStatus) {
        this.sendTo(conn, Events.CHAT, this.chatPayload(told, message.sessionKey, 0, 'status', { status: outcome, carriedBy: runId }), told, 'status');
      }
    }
  }

  private onLaneStatus(sessionKey: string, status: LaneStatusPayload): void {
    this.toSession(sessionKey, Events.LANE_STATUS, () => status, status.active?.runId ?? null, null);
  }

  // ------------------------------------------------------------ frames

  private sendHeartbeat(connId: string, payload: HeartbeatPayload): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    // HB-4: name the session too, so a page can match the heartbeat to its lane.status overlay.
    const runId = payload.runId;
    const run = runId === null ? undefined : (this.router.getRun(runId) ?? this.router.runForMessage(runId));
    const sessionKey = run?.sessionKey ?? null;
    this.sendTo(conn, Events.HEARTBEAT, conn.wantsPayload ? { ...payload, sessionKey } : undefined, runId, null);
  }

  private agentEvent(live: LiveRun, stream: AgentStream, data: Record<string, unknown>): void {
    const run = live.run;
    this.toSession(run.sessionKey, Events.AGENT, () => ({ runId: run.runId, sessionKey: run.sessionKey, seq: ++live.agentSeq, stream, data }), run.runId, null);
  }

  private chatPayload(runId: string, sessionKey: string, seq: number, state: ChatState, extra: Record<string, unknown>): Record<string, unknown> {
    const payload: Record<string, unknown> = { runId, sessionKey, seq, state };
    for (const key in extra) payload[key] = extra[key];
    return payload;
  }

  /** Sends to every subscriber of the session; the payload is built once, and only if some transport wants it. */
  private toSession(sessionKey: string, event: string, payload: () => unknown, runId: string | null, state: string | null): void {
    const set = this.subscribers.get(sessionKey);
    if (set === undefined || set.size === 0) return;
    let body: unknown;
    let built = false;
    for (const connId of set) {
      const conn = this.conns.get(connId);
      if (conn === undefined) continue;
      if (conn.wantsPayload && !built) {
        body = payload();
        built = true;
      }
      this.sendTo(conn, event, conn.wantsPayload ? body : undefined, runId, state);
    }
  }

  private broadcast(event: string, payload: unknown): void {
    if (!this.lossless) {
      for (const conn of this.conns.values()) this.sendTo(conn, event, payload, null, null);
      return;
    }
    // Every connection in `conns` is open (disconnect removes it first), and lossless sends cannot fail.
    for (const conn of this.conns.values()) conn.transport.send(event, payload, ++conn.seq);
    this.heartbeat?.noteSentAll();
    if (this.conns.size > 0) this.trace?.({ type: 'frame', t: this.clock.now(), connId: BROADCAST_CONN, event, runId: null, state: null });
  }

  private sendTo(conn: Connection, event: string, payload: unknown, runId: string | null, state: string | null): void {
    if (!conn.open) return;
    const seq = ++conn.seq;
    if (!conn.transport.send(event, payload, seq)) return;
    this.trace?.({ type: 'frame', t: this.clock.now(), connId: conn.id, event, runId, state });
    this.heartbeat?.noteSent(conn.id);
  }

  private scheduleTick(): void {
    const interval = this.config.gateway.tickIntervalMs;
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = null;
      if (this.closed) return;
      // BOUND-1/3: forgetting rides on the tick, so an idle gateway forgets too (no timer of its own).
      this.sweep(this.clock.now());
      this.broadcastTick({ ts: this.clock.now() });
      this.scheduleTick();
    }, interval);
  }

  /**
   * WS-12 over real sockets: a tick to more than TICK_SLICE connections goes
   * out in slices of TICK_SLICE, one slice per timer turn. Sent in one go,
   * a tick to 19,000 sockets blocked the event loop for up to a second and,
   * because any frame restarts each connection's silence clock (HB-2), lined
   * every waiting connection's next heartbeat up on the same millisecond:
   * the burst then pushed the last heartbeats past the bound (load bench,
   * bench/load/). Sliced, the loop serves timers and I/O between slices and
   * the heartbeat deadlines spread out with the slices. The simulator
   * (lossless transports) keeps one synchronous broadcast.
   */
  private broadcastTick(payload: { ts: number }): void {
    if (this.lossless || this.conns.size <= TICK_SLICE) {
      this.broadcast(Events.TICK, payload);
      return;
    }
    if (this.tickSliceTimer !== null) this.clock.clearTimeout(this.tickSliceTimer);
    const ids = [...this.conns.keys()];
    let next = 0;
    const slice = (): void => {
      this.tickSliceTimer = null;
      if (this.closed) return;
      const end = Math.min(ids.length, next + TICK_SLICE);
      for (; next < end; next++) {
        const conn = this.conns.get(ids[next]!);
        if (conn !== undefined) this.sendTo(conn, Events.TICK, payload, null, null);
      }
      if (next < ids.length) this.tickSliceTimer = this.clock.setTimeout(slice, 0);
    };
    slice();
  }

  // ------------------------------------------------------------ helpers

  private requireConn(connId: string): Connection {
    const conn = this.conns.get(connId);
    if (conn === undefined) throw new GatewayRequestError(ErrorCodes.INVALID_REQUEST, `unknown connection ${connId}`);
    return conn;
  }

  /** A runId the client knows: its told runId maps to the run that carries the message now. */
  private resolveRunId(runId: string): string {
    return this.toldToRouter.get(runId) ?? runId;
  }

  /** A run id is resolved only within its own session (AUTH-5): another session's live run is an error, never data. */
  private requireRunInSession(runId: string, sessionKey: string, asked: string): void {
    const run = this.router.getRun(runId) ?? this.router.runForMessage(runId);
    if (run !== undefined && run.sessionKey !== sessionKey) {
      throw new GatewayRequestError(ErrorCodes.INVALID_REQUEST, `run ${asked.slice(0, 200)} is not a run of session ${sessionKey.slice(0, 200)}`, { code: 'RUN_NOT_IN_SESSION' });
    }
  }

  private sessionHasRun(sessionKey: string): boolean {
    if (this.router.isSessionBusy(sessionKey)) return true;
    for (const live of this.live.values()) if (live.run.sessionKey === sessionKey) return true;
    return false;
  }

  private remember(sessionKey: string, role: 'user' | 'assistant', runId: string, text: string): void {
    const now = this.clock.now();
    let memory = this.history.get(sessionKey);
    if (memory === undefined) memory = { entries: [], bytes: 0, firstIndex: 0, lastActiveAt: now };
    else this.history.delete(sessionKey);
    memory.lastActiveAt = now;
    this.history.set(sessionKey, memory);
    // BOUND-2: one entry holds at most a quarter of historyMaxBytes (so a cut message and its answer fit
    // together); the session at most historyMaxMessages entries and historyMaxBytes.
    const maxBytes = this.limits.historyMaxBytes;
    const kept = headUtf8(text, Math.max(1, Math.floor(maxBytes / 4)));
    const bytes = Buffer.byteLength(kept);
    memory.entries.push({ role, runId, text: kept, bytes, truncated: kept.length !== text.length });
    memory.bytes += bytes;
    let drop = 0;
    let dropped = 0;
    while (memory.entries.length - drop > this.limits.historyMaxMessages || memory.bytes - dropped > maxBytes) {
      dropped += memory.entries[drop]!.bytes;
      drop++;
    }
    if (drop > 0) {
      memory.entries.splice(0, drop);
      memory.bytes -= dropped;
      memory.firstIndex += drop;
    }
  }

  /** The session was used now: it moves to the back of the eviction order (BOUND-3). */
  private touchSession(sessionKey: string): void {
    const memory = this.history.get(sessionKey);
    if (memory === undefined) return;
    this.history.delete(sessionKey);
    memory.lastActiveAt = this.clock.now();
    this.history.set(sessionKey, memory);
  }

  private releaseKey(key: string, now: number): void {
    const entry = this.idempotency.get(key);
    if (entry === undefined || entry.expiresAt !== Infinity) return;
    entry.expiresAt = now + this.limits.idempotencyWindowMs;
    this.idempotencyExpiry.push({ key, at: entry.expiresAt });
  }

  /**
   * BOUND-1 and BOUND-3: forgets idempotency keys whose window has passed and
   * sessions idle for sessionIdleMs. Amortized O(1) per key and per session
   * forgotten: both are kept in the order they expire.
   */
  private sweep(now: number): void {
    let head: { key: string; at: number } | undefined;
    while ((head = this.idempotencyExpiry.peek()) !== undefined && head.at <= now) {
      this.idempotencyExpiry.shift();
      const entry = this.idempotency.get(head.key);
      if (entry !== undefined && entry.expiresAt === head.at) this.idempotency.delete(head.key);
    }
    const idleMs = this.limits.sessionIdleMs;
    // Each session is looked at once per sweep at most: a busy one goes to the back.
    let budget = this.history.size;
    for (const [sessionKey, memory] of this.history) {
      if (budget-- <= 0 || memory.lastActiveAt + idleMs > now) break;
      if (this.sessionHasRun(sessionKey)) {
        this.touchSession(sessionKey);
        continue;
      }
      this.history.delete(sessionKey);
      this.dropImplicitSubscriptions(sessionKey);
      this.evicted.delete(sessionKey);
      this.evicted.set(sessionKey, now);
      if (this.evicted.size > this.limits.evictedKeysRemembered) {
        const oldest = this.evicted.keys().next();
        if (oldest.done !== true) this.evicted.delete(oldest.value);
      }
    }
  }

  /**
   * BOUND-5: an evicted session keeps the subscriptions asked for with
   * sessions.subscribe (a watcher still hears its later events) and loses
   * those that came with a chat.send (the sender subscribes again with its
   * next one): a connection sending to ever new sessions holds no more of
   * them than the sessions the gateway remembers.
   */
  private dropImplicitSubscriptions(sessionKey: string): void {
    const set = this.subscribers.get(sessionKey);
    if (set === undefined) return;
    for (const connId of [...set]) {
      const conn = this.conns.get(connId);
      if (conn === undefined || conn.explicit.has(sessionKey)) continue;
      conn.sessions.delete(sessionKey);
      set.delete(connId);
    }
    if (set.size === 0) this.subscribers.delete(sessionKey);
  }

  /** What the gateway holds, for the bounds tests and the soak bench (counts, not bytes). */
  memoryCounts(): { idempotencyKeys: number; sessions: number; historyEntries: number; historyBytes: number; evictedKeys: number; subscribedSessions: number; liveMessages: number } {
    let historyEntries = 0;
    let historyBytes = 0;
    for (const m of this.history.values()) {
      historyEntries += m.entries.length;
      historyBytes += m.bytes;
    }
    return {
      idempotencyKeys: this.idempotency.size,
      sessions: this.history.size,
      historyEntries,
      historyBytes,
      evictedKeys: this.evicted.size,
      subscribedSessions: this.subscribers.size,
      liveMessages: this.messages.size,
    };
  }
}

/** HB-2: the reference gateway's heartbeat lead: a tenth of the interval, at most 1 s. */
export function heartbeatMarginMs(intervalMs: number): number {
  return Math.min(1000, Math.floor(intervalMs / 10));
}

function assistantMessage(text: string): { role: 'assistant'; content: { type: 'text'; text: string }[] } {
  return { role: 'assistant', content: [{ type: 'text', text }] };
}

function errorText(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
