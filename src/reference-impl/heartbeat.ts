/**
 * Keepalive for the reference gateway (seed 004, proposal 4): heartbeat events
 * for connections that are watching a run, WebSocket pings for every
 * connection, and dead-peer detection. Pure timer logic over a Clock: the
 * owner does the I/O (sends the frames, closes the sockets) through the
 * callbacks it passes in.
 *
 * Rules (docs/SPEC.md):
 * - HB-1: a connection watching at least one run (its message's run is
 *   active, or its message waits in a lane) receives some frame at least every
 *   `intervalMs`.
 * - HB-2: the monitor meets HB-1 by sending a `heartbeat` event whenever a
 *   watching connection has had no frame for `intervalMs`. Any frame counts.
 * - HB-3: heartbeats stop when the connection watches nothing; the first
 *   heartbeat after watching begins comes `intervalMs` after watching began or
 *   after the last frame, whichever is later.
 * - HB-4: the heartbeat payload `{ runId, elapsedMs, queued }` (decision 3);
 *   hello-ok's policy carries `heartbeatIntervalMs`.
 * - HB-5: a WebSocket ping every `pingIntervalMs` to every connection.
 * - HB-6: a connection with no inbound frame (pong or anything else) for
 *   `deadAfterMs` is dead: `onDead` once, then the connection is forgotten.
 *
 * Decisions:
 *
 * 1. Lazy heartbeat timers. `noteSent` is called for every outgoing frame
 *    (~7/s per streaming connection, 19,000 connections in the load bench), so
 *    it only stores the time: O(1), no timer is cleared or created. Each
 *    watching connection has one timer armed for its deadline
 *    `max(lastSent, watchStart) + intervalMs`. When it fires and a frame went
 *    out since it was armed, it re-arms for the new deadline instead of
 *    sending. Deadlines only move later, so the timer is never late: a
 *    heartbeat goes out exactly when the silence reaches `intervalMs` (plus
 *    whatever lateness the clock itself has). A streaming connection costs one
 *    timer wake-up per `intervalMs`, not one timer per frame.
 *
 * 2. First heartbeat (HB-3): `intervalMs` after watching began, or after the
 *    last frame if one went out later (the deadline formula above). Silence
 *    before watching began does not count: an idle connection that starts
 *    watching is not sent an immediate heartbeat.
 *
 * 3. Payload (HB-4): `{ runId, elapsedMs, queued }`. Of the runs the
 *    connection watches, the one that started earliest, with the time elapsed
 *    since its start and `queued: false` (it tells the user "something is
 *    running for you, for this long"). If none of them has started yet (all
 *    are waiting in lanes), the one the connection enqueued earliest, with
 *    the time since its enqueue and `queued: true` ("your message has waited
 *    this long"). Ties go to the run the connection began watching first.
 *    `elapsedMs` is never negative. `runId` is a string whenever a heartbeat
 *    is sent (heartbeats only go to watching connections); the `null` in the
 *    type is kept for the wire format.
 *
 * 4. Pings: one liveness timer per connection, not a shared sweep. It is armed
 *    for `min(nextPingAt, lastInbound + deadAfterMs)` and, like the heartbeat
 *    timer, is lazy: `noteInbound`/`notePong` only store the time. So a
 *    connection costs at most two timers (liveness always, heartbeat while
 *    watching), dead-peer detection is exact (a peer is declared dead exactly
 *    `deadAfterMs` after its last inbound frame, never before, never a sweep
 *    period late), and pings are spread over the interval by connect time
 *    instead of 19,000 pings going out in one event-loop turn. Node keeps
 *    timers of equal duration in one list (O(1) insert/remove), so tens of
 *    thousands of them are cheap. A ping schedule is fixed per connection:
 *    first ping `pingIntervalMs` after `addConnection`, then every
 *    `pingIntervalMs` whatever the traffic.
 *
 * 5. Pings do not count as frames for HB-1 (the owner should not call
 *    `noteSent` for them): a browser page cannot see WebSocket control frames,
 *    and HB-1 is about what the page sees.
 *
 * 6. Pongs: `notePong` records liveness and emits a `pong` trace event;
 *    `noteInbound` records liveness for any other inbound frame without a
 *    trace event (a `pong` event per chat request would be noise).
 *
 * 7. Callbacks (`sendHeartbeat`, `sendPing`, `onDead`, and the trace sink)
 *    that throw are caught and counted in `stats().callbackErrors`; the
 *    monitor goes on for that connection and every other one. Callbacks may
 *    call back into the monitor (e.g. `sendPing` answering with `notePong`,
 *    `sendHeartbeat` calling `noteSent` or `removeConnection`). A heartbeat
 *    counts as sent (the silence clock restarts) even if `sendHeartbeat`
 *    throws, so a failing owner gets one attempt per `intervalMs`, not a tight
 *    loop.
 *
 * 8. Calls naming a connection the monitor does not know (never added,
 *    removed, or already declared dead) are no-ops: the monitor forgets dead
 *    peers on its own, so the owner may race it. After `close()` every method
 *    is a no-op and no timer is ever armed again.
 *
 * 9. Runs: `runStarted` is recorded even when nobody watches the run yet, so a
 *    connection that begins watching an active run reports it as started. The
 *    record of a started run is kept until `unwatchRun` (the run settled); the
 *    record of a run that never started goes away with its last watcher.
 *    `stats().runs` shows how many are held. `watch` of a run the connection
 *    already watches keeps the first `enqueuedAt`; a second `runStarted` for
 *    the same run keeps the first `startedAt`.
 */
import { globalClock, type Clock, type TimerHandle } from '../model/clock.ts';
import { DEFAULT_CONFIG, type HeartbeatConfig } from '../model/config-types.ts';
import { discardTrace, type TraceEvent, type TraceSink } from '../model/events.ts';

/** The payload of the `heartbeat` WebSocket event (HB-4). */
export interface HeartbeatPayload {
  /** The watched run this heartbeat is about (see decision 3 above). */
  runId: string | null;
  /** Since the run started, or since it was enqueued when `queued` is true. */
  elapsedMs: number;
  /** True when none of the watched runs has started yet. */
  queued: boolean;
}

export interface HeartbeatMonitorOptions {
  /** Defaults to the global clock. */
  clock?: Clock;
  /** Missing keys take DEFAULT_CONFIG.gateway.heartbeat. */
  config?: Partial<HeartbeatConfig>;
  trace?: TraceSink;
  /** Send the `heartbeat` frame to the connection AND call `noteSent` (like for any frame). */
  sendHeartbeat: (connId: string, payload: HeartbeatPayload) => void;
  /** Send a WebSocket ping (not counted as a frame for HB-1). */
  sendPing: (connId: string) => void;
  /** HB-6: the peer is dead; the monitor has already forgotten it. Close the socket. */
  onDead: (connId: string, silentMs: number) => void;
  /**
   * HB-2: send the heartbeat this much before the silence reaches intervalMs,
   * so real timers that fire a little late still keep HB-1. Default 0 (exact).
   */
  marginMs?: number;
}

export interface HeartbeatStats {
  /** Connections tracked now. */
  connections: number;
  /** Of those, the ones watching at least one run. */
  watching: number;
  /** Run records held (watched runs, and started runs not yet settled by unwatchRun). */
  runs: number;
  heartbeats: number;
  pings: number;
  /** Peers declared dead (HB-6). */
  dead: number;
  /** Callbacks (and trace sink calls) that threw. */
  callbackErrors: number;
}

/** Largest delay a setTimeout honours (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

interface Conn {
  readonly id: string;
  /** Time of the last frame sent to it; -Infinity before the first. */
  lastSent: number;
  /** When it last went from watching nothing to watching something. */
  watchStart: number;
  /** runId -> enqueuedAt, in the order the connection began watching. */
  readonly watched: Map<string, number>;
  hbTimer: TimerHandle;
  hbArmed: boolean;
  /** Time of the last inbound frame (or of addConnection). */
  lastInbound: number;
  nextPingAt: number;
  liveTimer: TimerHandle;
  liveArmed: boolean;
  /** The two timer callbacks, made once per connection (they are re-armed all the time). */
  readonly onHeartbeat: () => void;
  readonly onLiveness: () => void;
}

interface Run {
  startedAt: number | null;
  readonly watchers: Set<string>;
}

function checkMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new RangeError(
      `HeartbeatMonitor: config.${name} must be an integer number of milliseconds in [1, ${MAX_TIMER_MS}], got ${String(value)}`,
    );
  }
  return value;
}

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new RangeError(`HeartbeatMonitor: option ${name} must be a function, got ${typeof value}`);
  }
}

function checkId(method: string, name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`HeartbeatMonitor.${method}: ${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

function checkTime(method: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`HeartbeatMonitor.${method}: ${name} must be a finite number of milliseconds, got ${String(value)}`);
  }
  return value;
}

export class HeartbeatMonitor {
  readonly intervalMs: number;
  /** Silence after which a heartbeat goes out: intervalMs - marginMs. */
  readonly sendAfterMs: number;
  readonly pingIntervalMs: number;
  readonly deadAfterMs: number;

  private readonly clock: Clock;
  private readonly trace: TraceSink;
  private readonly sendHeartbeat: HeartbeatMonitorOptions['sendHeartbeat'];
  private readonly sendPing: HeartbeatMonitorOptions['sendPing'];
  private readonly onDead: HeartbeatMonitorOptions['onDead'];

  private readonly conns = new Map<string, Conn>();
  private readonly runs = new Map<string, Run>();
  private watchingCount = 0;
  private closed = false;
  private heartbeats = 0;
  private pings = 0;
  private deadCount = 0;
  private callbackErrors = 0;

  constructor(options: HeartbeatMonitorOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RangeError('HeartbeatMonitor: options must be an object');
    }
    const clock = options.clock ?? globalClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function'
      || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
      throw new RangeError('HeartbeatMonitor: option clock must have now(), setTimeout() and clearTimeout() methods');
    }
    const config = options.config ?? {};
    if (typeof config !== 'object' || config === null) {
      throw new RangeError('HeartbeatMonitor: option config must be an object');
    }
    const defaults = DEFAULT_CONFIG.gateway.heartbeat;
    this.intervalMs = checkMs('intervalMs', config.intervalMs ?? defaults.intervalMs);
    const marginMs = options.marginMs ?? 0;
    if (!Number.isInteger(marginMs) || marginMs < 0 || marginMs >= this.intervalMs) {
      throw new RangeError(`HeartbeatMonitor: option marginMs must be an integer from 0 to intervalMs - 1 (${this.intervalMs - 1}), got ${String(options.marginMs)}`);
    }
    this.sendAfterMs = this.intervalMs - marginMs;
    this.pingIntervalMs = checkMs('pingIntervalMs', config.pingIntervalMs ?? defaults.pingIntervalMs);
    this.deadAfterMs = checkMs('deadAfterMs', config.deadAfterMs ?? defaults.deadAfterMs);
    if (this.deadAfterMs <= this.pingIntervalMs) {
      throw new RangeError(
        `HeartbeatMonitor: config.deadAfterMs (${this.deadAfterMs}) must be greater than config.pingIntervalMs `
        + `(${this.pingIntervalMs}): a peer must be pinged before it can be declared dead`,
      );
    }
    if (options.trace !== undefined) checkFunction('trace', options.trace);
    checkFunction('sendHeartbeat', options.sendHeartbeat);
    checkFunction('sendPing', options.sendPing);
    checkFunction('onDead', options.onDead);
    this.clock = clock;
    this.trace = options.trace ?? discardTrace;
    this.sendHeartbeat = options.sendHeartbeat;
    this.sendPing = options.sendPing;
    this.onDead = options.onDead;
  }

  // ------------------------------------------------------------ connections

  /** Starts ping and liveness tracking (HB-5, HB-6). Throws if the id is already tracked. */
  addConnection(connId: string): void {
    checkId('addConnection', 'connId', connId);
    if (this.closed) return;
    if (this.conns.has(connId)) {
      throw new Error(`HeartbeatMonitor.addConnection: connection ${JSON.stringify(connId)} is already tracked`);
    }
    const now = this.clock.now();
    const conn: Conn = {
      id: connId,
      lastSent: Number.NEGATIVE_INFINITY,
      watchStart: now,
      watched: new Map(),
      hbTimer: undefined,
      hbArmed: false,
      lastInbound: now, // the connection opening counts as hearing from the peer
      nextPingAt: now + this.pingIntervalMs,
      liveTimer: undefined,
      liveArmed: false,
      onHeartbeat: () => this.onHeartbeatTimer(conn),
      onLiveness: () => this.onLivenessTimer(conn),
    };
    this.conns.set(connId, conn);
    this.armLiveness(conn, now);
  }

  /** Stops everything for the connection and forgets it. Idempotent. */
  removeConnection(connId: string): void {
    const conn = this.conns.get(connId);
    if (conn !== undefined) this.forget(conn);
  }

  // ---------------------------------------------------------------- watching

  /**
   * The connection waits for `runId` (its message is queued in a lane or its
   * run is active). `enqueuedAt` is when its message was enqueued (clock ms).
   */
  watch(connId: string, runId: string, opts: { enqueuedAt: number }): void {
    checkId('watch', 'connId', connId);
    checkId('watch', 'runId', runId);
    const enqueuedAt = checkTime('watch', 'opts.enqueuedAt', opts?.enqueuedAt);
    if (this.closed) return;
    const conn = this.conns.get(connId);
    if (conn === undefined || conn.watched.has(runId)) return;
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = { startedAt: null, watchers: new Set() };
      this.runs.set(runId, run);
    }
    run.watchers.add(connId);
    conn.watched.set(runId, enqueuedAt);
    if (conn.watched.size === 1) {
      // HB-3: silence before watching began does not count; the first
      // heartbeat is due intervalMs after now, or after a later frame.
      this.watchingCount++;
      conn.watchStart = this.clock.now();
      this.armHeartbeat(conn, this.sendAfterMs);
    }
  }

  /** The run got its slot and started (for every connection watching it, now or later). */
  runStarted(runId: string, startedAt: number): void {
    checkId('runStarted', 'runId', runId);
    checkTime('runStarted', 'startedAt', startedAt);
    if (this.closed) return;
    const run = this.runs.get(runId);
    if (run === undefined) {
      this.runs.set(runId, { startedAt, watchers: new Set() });
    } else if (run.startedAt === null) {
      run.startedAt = startedAt;
    }
  }

  /** The connection no longer waits for `runId`. */
  unwatch(connId: string, runId: string): void {
    const conn = this.conns.get(connId);
    if (conn === undefined || !conn.watched.delete(runId)) return;
    const run = this.runs.get(runId);
    if (run !== undefined) {
      run.watchers.delete(connId);
      if (run.watchers.size === 0 && run.startedAt === null) this.runs.delete(runId);
    }
    if (conn.watched.size === 0) this.stopWatching(conn);
  }

  /** The run settled: every watcher stops watching it, and its record is dropped. */
  unwatchRun(runId: string): void {
    const run = this.runs.get(runId);
    if (run === undefined) return;
    this.runs.delete(runId);
    for (const connId of run.watchers) {
      const conn = this.conns.get(connId);
      if (conn === undefined || !conn.watched.delete(runId)) continue;
      if (conn.watched.size === 0) this.stopWatching(conn);
    }
  }

  // ----------------------------------------------------------------- traffic

  /** Any frame went out to the connection (HB-2: any frame counts). O(1), touches no timer. */
  noteSent(connId: string): void {
    const conn = this.conns.get(connId);
    if (conn !== undefined) conn.lastSent = this.clock.now();
  }

  /** noteSent for every connection: a frame went to all of them (a broadcast). */
  noteSentAll(): void {
    const now = this.clock.now();
    for (const conn of this.conns.values()) conn.lastSent = now;
  }

  /** Any inbound frame from the connection (HB-6: inbound traffic is liveness). O(1), touches no timer. */
  noteInbound(connId: string): void {
    const conn = this.conns.get(connId);
    if (conn !== undefined) conn.lastInbound = this.clock.now();
  }

  /** A WebSocket pong: liveness like noteInbound, plus a `pong` trace event. */
  notePong(connId: string): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    const now = this.clock.now();
    conn.lastInbound = now;
    this.emit({ type: 'pong', t: now, connId });
  }

  // -------------------------------------------------------------------- misc

  stats(): HeartbeatStats {
    return {
      connections: this.conns.size,
      watching: this.watchingCount,
      runs: this.runs.size,
      heartbeats: this.heartbeats,
      pings: this.pings,
      dead: this.deadCount,
      callbackErrors: this.callbackErrors,
    };
  }

  /** Clears every timer and forgets everything; the monitor stays inert afterwards. */
  close(): void {
    this.closed = true;
    for (const conn of [...this.conns.values()]) this.forget(conn);
    this.runs.clear();
  }

  // ---------------------------------------------------------------- internals

  private emit(event: TraceEvent): void {
    try {
      this.trace(event);
    } catch {
      this.callbackErrors++;
    }
  }

  private isCurrent(conn: Conn): boolean {
    return !this.closed && this.conns.get(conn.id) === conn;
  }

  private stopWatching(conn: Conn): void {
    // HB-3: a connection that watches nothing gets no heartbeats.
    this.watchingCount--;
    if (conn.hbArmed) {
      conn.hbArmed = false;
      this.clock.clearTimeout(conn.hbTimer);
    }
  }

  private forget(conn: Conn): void {
    if (conn.hbArmed) {
      conn.hbArmed = false;
      this.clock.clearTimeout(conn.hbTimer);
    }
    if (conn.liveArmed) {
      conn.liveArmed = false;
      this.clock.clearTimeout(conn.liveTimer);
    }
    if (conn.watched.size > 0) this.watchingCount--;
    for (const runId of conn.watched.keys()) {
      const run = this.runs.get(runId);
      if (run === undefined) continue;
      run.watchers.delete(conn.id);
      if (run.watchers.size === 0 && run.startedAt === null) this.runs.delete(runId);
    }
    conn.watched.clear();
    this.conns.delete(conn.id);
  }

  private armHeartbeat(conn: Conn, delayMs: number): void {
    conn.hbArmed = true;
    conn.hbTimer = this.clock.setTimeout(conn.onHeartbeat, delayMs);
  }

  private heartbeatDue(conn: Conn): number {
    // HB-3: counted from the last frame or from when watching began, whichever is later.
    return Math.max(conn.lastSent, conn.watchStart) + this.sendAfterMs;
  }

  private onHeartbeatTimer(conn: Conn): void {
    conn.hbArmed = false;
    if (!this.isCurrent(conn) || conn.watched.size === 0) return;
    const now = this.clock.now();
    const due = this.heartbeatDue(conn);
    if (due > now) {
      // Lazy rescheduling: a frame went out since this timer was armed.
      this.armHeartbeat(conn, due - now);
      return;
    }
    // HB-1 / HB-2: silent for intervalMs while watching: send a heartbeat.
    const payload = this.payloadFor(conn, now);
    conn.lastSent = now;
    this.heartbeats++;
    this.emit({ type: 'heartbeat', t: now, connId: conn.id, runId: payload.runId, elapsedMs: payload.elapsedMs });
    try {
      this.sendHeartbeat(conn.id, payload);
    } catch {
      this.callbackErrors++;
    }
    // The callback may have removed the connection, unwatched (and maybe
    // re-watched, which arms a fresh timer) or closed the monitor.
    if (this.isCurrent(conn) && conn.watched.size > 0 && !conn.hbArmed) {
      const delay = this.heartbeatDue(conn) - this.clock.now();
      this.armHeartbeat(conn, delay > 0 ? delay : this.sendAfterMs);
    }
  }

  /** HB-4 payload: earliest-started watched run, else earliest-enqueued (queued). */
  private payloadFor(conn: Conn, now: number): HeartbeatPayload {
    let startedRun: string | null = null;
    let startedAt = Number.POSITIVE_INFINITY;
    let queuedRun: string | null = null;
    let enqueuedAt = Number.POSITIVE_INFINITY;
    for (const [runId, runEnqueuedAt] of conn.watched) {
      const runStartedAt = this.runs.get(runId)?.startedAt ?? null;
      if (runStartedAt !== null) {
        if (startedRun === null || runStartedAt < startedAt) {
          startedRun = runId;
          startedAt = runStartedAt;
        }
      } else if (queuedRun === null || runEnqueuedAt < enqueuedAt) {
        queuedRun = runId;
        enqueuedAt = runEnqueuedAt;
      }
    }
    if (startedRun !== null) return { runId: startedRun, elapsedMs: Math.max(0, now - startedAt), queued: false };
    if (queuedRun !== null) return { runId: queuedRun, elapsedMs: Math.max(0, now - enqueuedAt), queued: true };
    return { runId: null, elapsedMs: 0, queued: false }; // unreachable: only watching connections get heartbeats
  }

  private armLiveness(conn: Conn, now: number): void {
    const at = Math.min(conn.nextPingAt, conn.lastInbound + this.deadAfterMs);
    conn.liveArmed = true;
    conn.liveTimer = this.clock.setTimeout(conn.onLiveness, Math.max(1, at - now));
  }

  private onLivenessTimer(conn: Conn): void {
    conn.liveArmed = false;
    if (!this.isCurrent(conn)) return;
    const now = this.clock.now();
    const silentMs = now - conn.lastInbound;
    if (silentMs >= this.deadAfterMs) {
      // HB-6: nothing heard for deadAfterMs: forget it first, then tell the owner once.
      this.forget(conn);
      this.deadCount++;
      this.emit({ type: 'peer.dead', t: now, connId: conn.id, silentMs });
      try {
        this.onDead(conn.id, silentMs);
      } catch {
        this.callbackErrors++;
      }
      return;
    }
    if (now >= conn.nextPingAt) {
      // HB-5: fixed cadence per connection; if the clock was very late, restart it from now.
      const next = conn.nextPingAt + this.pingIntervalMs;
      conn.nextPingAt = next > now ? next : now + this.pingIntervalMs;
      this.pings++;
      this.emit({ type: 'ping', t: now, connId: conn.id });
      try {
        this.sendPing(conn.id);
      } catch {
        this.callbackErrors++;
      }
      if (!this.isCurrent(conn)) return;
    }
    // Lazy: noteInbound only moved the dead-line later; re-arm for whichever comes first.
    if (!conn.liveArmed) this.armLiveness(conn, this.clock.now());
  }
}
