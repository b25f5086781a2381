/**
 * HB-1..HB-4: what a client waiting on its message hears. (HB-5 pings and
 * HB-6 dead peers are WebSocket-level: the WebSocket cases cover them.)
 *
 * The bound is the gateway's advertised `heartbeatIntervalMs` (facts), else
 * the spec default 15000. Scenarios are scaled to it: a run thinks silently
 * for 2.5 intervals while a second client's message waits behind it.
 */
import { checkRule, expectRule, precondition, type CaseContext, type ConformanceCase } from '../types.ts';
import {
  DEFAULT_HEARTBEAT_MS, GATEWAY, agentEvents, chats, gatewayMs,
  bystander as watch, configOf, describeBystander, heard, heartbeats, marker, observes, on, openGateway, realWaitEnd, script, send, silences, slack, turn, waitAllEnded, waitChat,
  type HeartbeatEvent, type HeartbeatPayload, type Sent, type WaitEnd,
} from './gateway-support.ts';
import type { GatewaySession, TestClient } from '../types.ts';

function intervalOf(session: GatewaySession): number {
  return session.facts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
}

/**
 * How early a heartbeat may come: HB-2 says exactly at the interval; a
 * gateway may aim a little early so that a late timer still keeps HB-1 (the
 * reference: a tenth of the interval, at most 1 s).
 */
function earlyLead(interval: number): number {
  return Math.min(1_000, Math.floor(interval / 10));
}

/** Silence of one waiting sender over its wait: the longest gap between frames. */
function longestSilence(s: Sent, end: WaitEnd): { gap: number; after: number } {
  let worst = { gap: 0, after: s.at };
  for (const g of silences(s.client, s.at, end.at)) if (g.gap > worst.gap) worst = g;
  return worst;
}

function expectBounded(ctx: CaseContext, session: GatewaySession, s: Sent, end: WaitEnd, interval: number, rule = 'HB-1'): void {
  const tol = slack(ctx, session, interval);
  const worst = longestSilence(s, end);
  checkRule(worst.gap <= interval + tol, rule,
    `${s.client.name}, waiting on ${s.runId} from ${s.at} to ${end.at}, hears a frame at least every ${interval} ms${tol > 0 ? ` (+${Math.round(tol)})` : ''}`,
    () => `silent for ${Math.round(worst.gap)} ms after ${worst.after}; heard ${heard(s.client, worst.after - 1, 6)}`);
}

async function lineUp(ctx: CaseContext, holdFactor: number): Promise<{ session: GatewaySession; interval: number; alice: TestClient; bob: TestClient; a: Sent; b: Sent; key: string }> {
  const { session } = await openGateway(ctx, {});
  const interval = intervalOf(session);
  await script(session, [on('hold', turn({ ttftMs: Math.round(interval * holdFactor), streamMs: 300, tokens: 4 }))]);
  const alice = await session.connect('alice');
  const bob = await session.connect('bob');
  const key = session.sessionKey('hb');
  const a = await send(session, alice, key, `think long ${marker('hold')}`);
  await session.sleep(500);
  const b = await send(session, bob, key, `waiting behind it ${marker('hb-behind')}`);
  return { session, interval, alice, bob, a, b, key };
}

const heartbeatPayload = (e: HeartbeatEvent): HeartbeatPayload => e.payload;

/**
 * HB-4: the fields and their types ({runId, elapsedMs, queued, sessionKey},
 * exactly) were checked by the schema before heartbeats() returned the event;
 * here: sessionKey names the run's session, or is null.
 */
function expectPayloadShape(p: HeartbeatPayload, sessionKey: string): void {
  checkRule(p.sessionKey === null || p.sessionKey === sessionKey, 'HB-4', `sessionKey names the run's session (${sessionKey}) or is null`, JSON.stringify(p.sessionKey));
}

export const HB_CASES: readonly ConformanceCase[] = [
  {
    id: 'hb.waiting.silence-bound',
    title: 'A client waiting on its message hears a frame at least every heartbeat interval, in a lane as much as while its run thinks',
    rules: ['HB-1', 'DEP-2'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'A run thinks silently for 2.5 heartbeat intervals; a second client\'s message waits behind it. From each sender\'s acceptance to the end of its wait, ' +
      'no gap between the frames it receives is longer than the interval.',
    async run(ctx) {
      const { session, interval, a, b } = await lineUp(ctx, 2.5);
      const ends = await waitAllEnded(session, [a, b], interval * 10, 'QUEUE-20');
      // The scenario: a wait long enough to need heartbeats (the run thinks 2.5 intervals). A run that ended sooner leaves nothing to judge.
      precondition(ends.get(a)!.at - a.at >= 2 * interval, () => `${a.runId}'s wait lasted ${Math.round(ends.get(a)!.at - a.at)} ms (it ended ${ends.get(a)!.state}), under the 2 intervals (${2 * interval} ms) the case needs`);
      // A message closed by an empty final at once still waits for its answer (DEP-3): judge its whole wait.
      const endB = await realWaitEnd(session, ends.get(b)!, 'hb-behind', interval * 10);
      expectBounded(ctx, session, a, ends.get(a)!, interval);
      expectBounded(ctx, session, b, endB, interval);
      ctx.note(`interval ${interval} ms; waits ${ends.get(a)!.at - a.at} and ${endB.at - b.at} ms${endB.emptyFinal ? ' (the second closed by an empty final at once, answered later: DEP-3)' : ''}`);
    },
  },
  {
    id: 'hb.timing.silence-driven',
    title: 'Heartbeats come when a waiting connection has been silent for the interval, and never to a streaming one',
    rules: ['HB-2'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'As above; every heartbeat to the waiting client comes when its silence reaches the interval (a lead of up to a tenth of it, at most 1 s, is allowed). ' +
      'Then a run streams for 3 intervals with a chunk every 250 ms: its sender gets no heartbeat while it streams.',
    async run(ctx) {
      const { session, interval, alice, bob, a, b } = await lineUp(ctx, 2.5);
      const ends = await waitAllEnded(session, [a, b], interval * 10, 'QUEUE-20');
      const lead = earlyLead(interval);
      const tol = slack(ctx, session, interval);
      let seen = 0;
      for (const s of [a, b]) {
        const end = ends.get(s)!;
        const frames = s.client.events.filter((e) => e.at >= s.at && e.at <= end.at);
        let prev = s.at;
        for (const e of frames) {
          if (e.event === 'heartbeat') {
            seen++;
            const silence = e.at - prev;
            checkRule(silence >= interval - lead - tol, 'HB-2', `a heartbeat to ${s.client.name} comes only after ${interval} ms of silence${lead > 0 ? ` (at most ${lead} ms early)` : ''}`,
              `a heartbeat at ${e.at}, ${silence} ms after the previous frame or the start of the wait (${prev})`);
            checkRule(silence <= interval + tol, 'HB-2', `and no later than ${interval} ms of silence`, `${silence} ms`);
          }
          prev = e.at;
        }
      }
      checkRule(seen > 0, 'HB-2', 'the silent waits (2.5 intervals) are filled with heartbeats', `${heard(alice)} / ${heard(bob)}`);
      // A streaming connection gets no heartbeats.
      await script(session, [on('stream', turn({ ttftMs: 200, streamMs: interval * 3, tokens: Math.ceil((interval * 3) / 250) + 1 }))]);
      const carol = await session.connect('carol');
      const c = await send(session, carol, session.sessionKey('hb-stream'), `stream ${marker('stream')}`);
      const firstDelta = await waitChat(session, carol, c.runId, ['delta'], 5_000);
      precondition(firstDelta !== null, () => `the streaming run never streamed (no delta within 5000): ${heard(carol)}`);
      const endsC = await waitAllEnded(session, [c], interval * 10, 'QUEUE-20');
      const during = heartbeats(carol).filter((e) => e.at > firstDelta.at && e.at < endsC.get(c)!.at);
      checkRule(during.length === 0, 'HB-2', 'a connection that receives frames (a streaming run) gets no heartbeats: any frame restarts the silence clock',
        `${during.length} heartbeats while streaming, at ${during.map((e) => e.at).join(', ')}`);
    },
  },
  {
    id: 'hb.waiting.start-stop',
    title: 'Heartbeats go only to waiting connections: the first one an interval after the wait began, none after it ended',
    rules: ['HB-3'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'An idle connection and a bystander of the session (sessions.subscribe {sessionKey}; refused but hearing the session\'s events anyway is accepted) hear no heartbeat. ' +
      'A client idle for 2 intervals then sends a message that waits silently for 2.5 intervals: its heartbeats start (one by an interval of silence), and none comes before ' +
      'an interval after its wait began. After its wait ended (the session keeps working for someone else), it hears no heartbeat for 3 intervals.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      const interval = intervalOf(session);
      const lead = earlyLead(interval);
      const tol = slack(ctx, session, interval);
      await script(session, [on('hold', turn({ ttftMs: Math.round(interval * 2.5), streamMs: 300, tokens: 4 }))]);
      const idle = await session.connect('idle');
      const bystander = await session.connect('bystander');
      const bob = await session.connect('bob');
      const alice = await session.connect('alice');
      const key = session.sessionKey('hb-startstop');
      const watcher = await watch(bystander, key);
      await session.sleep(interval * 2);
      const a = await send(session, alice, key, `think ${marker('hold')}`);
      await session.sleep(500);
      const b = await send(session, bob, key, `after a long idle time ${marker('hb-late')}`);
      const ends = await waitAllEnded(session, [a, b], interval * 10, 'QUEUE-20');
      // A message closed by an empty final at once still waits for its answer (DEP-3): its wait ends with that answer.
      const endB = await realWaitEnd(session, ends.get(b)!, 'hb-late', interval * 10);
      if (endB.emptyFinal) ctx.note(`bob's message was closed by an empty final at once and answered later (DEP-3): its wait is taken to last until ${endB.at}`);
      const early = heartbeats(bob).find((e) => e.at < b.at + interval - lead - tol);
      checkRule(early === undefined, 'HB-3', `the first heartbeat comes an interval (${interval} ms) after the wait began (${b.at}); silence before the wait does not count`,
        `a heartbeat at ${early?.at}`);
      // Start: a wait silent for longer than an interval gets its heartbeats (the first is due an interval into the silence).
      const worst = silences(bob, b.at, endB.at).reduce((w, g) => (g.gap > w.gap ? g : w), { gap: 0, after: b.at });
      const during = heartbeats(bob).filter((e) => e.at >= b.at && e.at <= endB.at);
      checkRule(worst.gap <= interval + tol || during.length > 0, 'HB-3',
        `heartbeats start for a waiting connection: bob, waiting from ${b.at} to ${endB.at}, gets one an interval (${interval} ms) into a silence`,
        () => `no heartbeat during its wait; silent for ${Math.round(worst.gap)} ms after ${worst.after}; heard ${heard(bob, worst.after - 1, 6)}`);
      // The session keeps working for alice; bob waits on nothing.
      const a2 = await send(session, alice, key, `more ${marker('hold')}`);
      await session.sleep(interval * 3);
      const after = heartbeats(bob).filter((e) => e.at > endB.at);
      checkRule(after.length === 0, 'HB-3', `after its wait ended (${endB.at}), bob hears no heartbeat`, `heartbeats at ${after.map((e) => e.at).join(', ')}`);
      checkRule(heartbeats(idle).length === 0, 'HB-3', 'an idle connection gets no heartbeats', `${heartbeats(idle).length} heartbeats`);
      if (watcher.subscribed || observes(watcher)) {
        checkRule(heartbeats(bystander).length === 0, 'HB-3', 'a subscriber that sent nothing gets no heartbeats', `${heartbeats(bystander).length} heartbeats`);
      }
      if (!watcher.subscribed) ctx.note(`bystander: ${describeBystander(watcher)}${observes(watcher) ? '' : '; its part is not checked'}`);
      await waitAllEnded(session, [a2], interval * 10, 'QUEUE-20');
    },
  },
  {
    id: 'hb.payload.fields',
    title: 'heartbeat payload {runId, elapsedMs, queued, sessionKey}: the waiting message (queued) or the started run',
    rules: ['HB-4', 'WS-22'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'As in hb.waiting: the thinking run\'s sender gets {runId: its run, queued: false, elapsedMs: since its start}; the waiting sender gets ' +
      '{runId: its message, queued: true, elapsedMs: since it was sent}, each with sessionKey the session (or null) and no other field. ' +
      'heartbeat and lane.status are events like any other (WS-22): each carries its connection\'s next seq (WS-9). (collect) Two messages merged into a run that thinks 2.5 intervals: ' +
      'their sender\'s heartbeats name the carrying run (queued false, elapsed since it started).',
    async run(ctx) {
      const { session, interval, alice, bob, a, b, key } = await lineUp(ctx, 3);
      const ends = await waitAllEnded(session, [a, b], interval * 10, 'QUEUE-20');
      const tol = slack(ctx, session, interval);
      const running = heartbeats(alice).filter((e) => e.at < ends.get(a)!.at);
      const queued = heartbeats(bob).filter((e) => e.at < ends.get(a)!.at);
      checkRule(running.length > 0, 'HB-2', `${alice.name} (its run thinking silently for 3 intervals) gets heartbeats`, heard(alice));
      checkRule(queued.length > 0, 'HB-2', `${bob.name} (waiting in the queue for 3 intervals) gets heartbeats`, heard(bob));
      // The running run started when it was accepted (the session was idle): its agent lifecycle start, else its acceptance.
      const startEvent = agentEvents(alice, a.runId).find((e) => e.payload.stream === 'lifecycle' && e.payload.data['phase'] === 'start');
      const startedAt = startEvent?.at ?? a.at;
      for (const e of running) {
        const p = heartbeatPayload(e);
        expectPayloadShape(p, key);
        checkRule(p.runId === a.runId && p.queued === false, 'HB-4', `for the running run: runId ${a.runId}, queued false`, JSON.stringify(p));
        checkRule(Math.abs(gatewayMs(session, p.elapsedMs) - (e.at - startedAt)) <= tol, 'HB-4', `elapsedMs since the run started (${e.at - startedAt} at ${e.at})`, JSON.stringify(p));
      }
      for (const e of queued) {
        const p = heartbeatPayload(e);
        expectPayloadShape(p, key);
        checkRule(p.runId === b.runId && p.queued === true, 'HB-4', `for the waiting message: runId ${b.runId}, queued true`, JSON.stringify(p));
        checkRule(Math.abs(gatewayMs(session, p.elapsedMs) - (e.at - b.at)) <= tol, 'HB-4', `elapsedMs since it was sent (${e.at - b.at} at ${e.at})`, JSON.stringify(p));
      }
      // WS-22: heartbeat and lane.status events are numbered with the connection's other events (WS-9): seq +1 each.
      for (const client of [alice, bob]) {
        const events = client.events;
        const broken = events.findIndex((e, i) => (e.event === 'heartbeat' || e.event === 'lane.status') && !(typeof e.seq === 'number' && e.seq === (i === 0 ? 1 : (events[i - 1]!.seq ?? NaN) + 1)));
        checkRule(broken < 0, 'WS-22', `${client.name}: heartbeat and lane.status events carry the connection's seq like any other event (the previous one + 1)`,
          () => `${events[broken]!.event} with seq ${String(events[broken]!.seq)} after ${broken === 0 ? 'nothing' : `${events[broken - 1]!.event} seq ${String(events[broken - 1]!.seq)}`}`);
      }
      // After a status frame naming carriedBy, the sender waits on the carrying run.
      const config = configOf(session);
      if (config === null || config.messages.queue.mode !== 'collect') {
        ctx.note('the carried part needs messages.queue.mode collect: skipped');
        return;
      }
      await script(session, [
        on('hold', turn({ ttftMs: 500, streamMs: 300, tokens: 4 })),
        on('carrier-hold', turn({ ttftMs: Math.round(interval * 2.5), streamMs: 300, tokens: 4 })),
      ]);
      const key2 = session.sessionKey('hb-carried');
      const a2 = await send(session, alice, key2, `short ${marker('hold')}`);
      await session.sleep(100);
      const b2 = await send(session, bob, key2, `one ${marker('carrier-hold')}`);
      const c2 = await send(session, bob, key2, 'two');
      const ends2 = await waitAllEnded(session, [a2, b2, c2], interval * 10, 'QUEUE-20');
      const end2 = ends2.get(b2)!;
      if (end2.kind !== 'carried') {
        ctx.note(`the two messages were not merged (${end2.kind}): the carried part is skipped`);
        return;
      }
      const merged = chats(bob, b2.runId).find((e) => e.payload.state === 'status')!;
      const carried = heartbeats(bob).filter((e) => e.at > merged.at && e.at < end2.at);
      checkRule(carried.length > 0, 'HB-2', `${bob.name}, waiting on the carrying run ${end2.runId} (thinking 2.5 intervals), gets heartbeats`, heard(bob, merged.at));
      for (const e of carried) {
        const p = heartbeatPayload(e);
        expectPayloadShape(p, key2);
        checkRule(p.runId === end2.runId && p.queued === false, 'HB-4', `after the status frame naming carriedBy ${end2.runId}: runId ${end2.runId}, queued false`, JSON.stringify(p));
        checkRule(Math.abs(gatewayMs(session, p.elapsedMs) - (e.at - merged.at)) <= tol, 'HB-4',
          `elapsedMs since the carrying run started (${e.at - merged.at} at ${e.at})`, JSON.stringify(p));
      }
    },
  },
];
