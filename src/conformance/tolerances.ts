/**
 * Every real-clock tolerance of the conformance suite, in one place.
 *
 * On a fake clock (in-process targets) every check is exact: all of these are
 * 0. On a real clock a case allows for noise that is not the gateway's fault:
 * event-loop stalls of the gateway and of the harness, socket delivery, a
 * loaded machine. The noise is an absolute amount of REAL milliseconds, turned
 * into session units by the target's timeScale (one real ms is `timeScale`
 * session units), plus a small relative drift of long timers.
 *
 * The rule these numbers keep (issue 11, point 4): no tolerance is as large as
 * the quantity it checks. A check whose quantity is smaller than the noise of
 * a single observation (WS-16's 75 ms pacing against 150 ms of noise) is not
 * judged frame by frame but on a statistic that the noise cannot swamp
 * (pacingViolation: counts over a window). test/conformance/timed-checks.test.ts
 * runs gateways that are out of bounds by a realistic margin over real
 * WebSockets and shows each timed check failing them.
 *
 * What a scaled target can tell apart: a session unit is 1/timeScale real ms,
 * so the noise in session units grows with the scale. At timeScale s a timer
 * check distinguishes an overshoot larger than about
 * REAL_NOISE_MS x s + TIMER_DRIFT x span (HB-1 at s = 10: 2250 of 15000, so
 * heartbeats 18 s apart fail; at s = 25, 4500: they would pass, which is why
 * the tests of the timed checks run at s <= 10).
 */
import type { CaseContext, GatewaySession } from './types.ts';

/** Real ms of timing noise a real-time target is allowed for one observed instant (event-loop stalls, a loaded machine). */
export const REAL_NOISE_MS = 150;

/** Relative drift a gateway timer may show on a real clock (5% of its period). */
export const TIMER_DRIFT = 0.05;

/** Real ms a gateway's timer-driven event (a ping, a handshake-timeout close, a tick) may come late, on top of the drift. */
export const TIMER_LATE_REAL_MS = 500;

/** Real ms a gateway's timer-driven event may come early (a timer that rounds down, clocks read apart). */
export const TIMER_EARLY_REAL_MS = 50;

/** INV-ABORT-SETTLES: an aborted running task settles within this (LANE-12), session units. */
export const ABORT_GRACE_MS = 1_000;

/** The longest a protocol case watches a gateway timer that it has no reason to believe is long, in real ms. */
export const OBSERVE_REAL_MS = 25_000;

/** The longest the ping case watches for pings, in real ms (two of the default 15 s interval, with their tolerance, fit). */
export const PING_WATCH_REAL_MS = 35_000;

/** Real-time budget of the tick case (two ticks of OpenClaw's 30 s period, first at an arbitrary offset). */
export const TICK_BUDGET_REAL_MS = 70_000;

/**
 * HB-6: how long `ws.heartbeat.dead-peer` waits for a silent peer to be
 * closed when the gateway announces no dead-peer timeout (real ms; OpenClaw
 * 2026.9.6 closes a silent peer after 50-75 s). Overridden by the target's
 * `liveness.deadPeerWaitMs` (session units; `lanesim conform --dead-peer-wait-ms`).
 */
export const DEAD_PEER_DEFAULT_WAIT_REAL_MS = 90_000;

/** HB-6: with a known deadAfterMs D the case waits up to this many times D for the close. */
export const DEAD_PEER_WAIT_FACTOR = 2;

/** WS-10: the slow consumer is pushed until the gateway acts or this many bytes of responses are owed to it. */
export const SLOW_CONSUMER_MAX_BYTES = 64 * 1024 * 1024;

/** WS-10: ... or this many real ms have passed. */
export const SLOW_CONSUMER_MAX_REAL_MS = 30_000;

function isVirtual(ctx: CaseContext): boolean {
  return ctx.target.capabilities.has('virtual-time');
}

/** Real milliseconds as session units. */
export function realToSession(session: GatewaySession, realMs: number): number {
  return realMs * session.timeScale;
}

/** Session units as real milliseconds. */
export function sessionToReal(session: GatewaySession, ms: number): number {
  return ms / session.timeScale;
}

/** The noise of one observed instant, in session units: 0 on a fake clock. */
export function noise(ctx: CaseContext, session: GatewaySession): number {
  return isVirtual(ctx) ? 0 : REAL_NOISE_MS * session.timeScale;
}

/**
 * How far an observed time may be off a gateway timer of `spanMs` (session
 * units): 0 on a fake clock; on a real one the noise of an instant plus the
 * timer's drift (TIMER_DRIFT of the span). For a 15 s heartbeat bound at
 * timeScale 1 that is 900 ms, so heartbeats 18 s apart fail HB-1.
 */
export function slack(ctx: CaseContext, session: GatewaySession, spanMs: number): number {
  if (isVirtual(ctx)) return 0;
  return REAL_NOISE_MS * session.timeScale + TIMER_DRIFT * Math.max(0, spanMs);
}

/**
 * Whether LANE-12's "at once" (ABORT_GRACE_MS) can be judged on this target:
 * only while the real-clock tolerance (twice the noise of an instant) is
 * smaller than the grace itself; else a gateway taking twice the grace would
 * pass, so the timing is not judged and the case notes why (the abort itself
 * still is). On a fake clock always.
 */
export function judgesAbortTiming(ctx: CaseContext, session: GatewaySession): boolean {
  const tolerance = 2 * noise(ctx, session);
  if (tolerance < ABORT_GRACE_MS) return true;
  const maxScale = Math.max(1, Math.floor((ABORT_GRACE_MS / 2 - 1) / REAL_NOISE_MS));
  ctx.note(`LANE-12's ${ABORT_GRACE_MS} ms grace is not timed at time scale ${session.timeScale}: the real-clock tolerance (${tolerance}) is not smaller than it; ` +
    `run at --time-scale ${maxScale} or lower (or in process) to judge it`);
  return false;
}

/** How long an aborted run may take to settle: LANE-12's grace plus twice the noise of an instant. */
export function abortBound(ctx: CaseContext, session: GatewaySession): number {
  return ABORT_GRACE_MS + 2 * noise(ctx, session);
}

/** How late a timer-driven event may come (session units): the drift of the span plus TIMER_LATE_REAL_MS real. */
export function lateBy(session: GatewaySession, span: number): number {
  return TIMER_DRIFT * span + TIMER_LATE_REAL_MS * session.timeScale;
}

/** How early a timer-driven event may come (session units): the drift of the span plus TIMER_EARLY_REAL_MS real. */
export function earlyBy(session: GatewaySession, span: number): number {
  return TIMER_DRIFT * span + TIMER_EARLY_REAL_MS * session.timeScale;
}

/**
 * WS-16 judged on a real clock, where one gap between two received frames
 * tells little (two deltas sent 150 ms apart arrive together after a stall of
 * the reader): "at most one delta per `floor`" means that no window of length
 * W holds more than floor(W / floor) + 1 deltas. Arrival times move by up to
 * `noiseMs` each, so a window may gain the deltas of 2 x noiseMs at its edges:
 * the bound is floor((W + 2 x noiseMs) / floor) + 1. The window is the whole
 * stream and every window of `windowFloors` x floor; a gateway pacing at 50 ms
 * against a 75 ms floor puts 30 deltas in a 1500 ms window where at most 25
 * may be (noise 150 ms), one pacing at 75 ms puts 21.
 * With noiseMs 0 (a fake clock) this is exact: every gap >= floor.
 * Returns null when the times conform, else what broke the bound.
 */
export function pacingViolation(times: readonly number[], floor: number, noiseMs: number, windowFloors = 20): string | null {
  if (!(floor > 0)) throw new RangeError(`pacing floor must be > 0, got ${floor}`);
  const t = [...times].sort((a, b) => a - b);
  if (t.length < 2) return null;
  if (noiseMs === 0) {
    for (let i = 1; i < t.length; i++) {
      if (t[i]! - t[i - 1]! < floor) return `two deltas ${round(t[i]! - t[i - 1]!)} apart (at ${round(t[i - 1]!)} and ${round(t[i]!)})`;
    }
    return null;
  }
  const allowed = (w: number): number => Math.floor((w + 2 * noiseMs) / floor) + 1;
  const windows = [windowFloors * floor, t.at(-1)! - t[0]!];
  for (const w of windows) {
    let j = 0;
    for (let i = 0; i < t.length; i++) {
      while (t[j]! < t[i]! - w) j++;
      const count = i - j + 1;
      if (count > allowed(w)) {
        return `${count} deltas within ${round(t[i]! - t[j]!)} (from ${round(t[j]!)} to ${round(t[i]!)}), where pacing at ${round(floor)} allows at most ${allowed(w)} in ${round(w)} (arrival noise ${round(noiseMs)} each)`;
      }
    }
  }
  return null;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
