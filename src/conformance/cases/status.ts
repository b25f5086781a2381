/**
 * STATUS-*: the `lane.status` event, as subscribed clients receive it: a
 * waiting message is listed when it starts to wait, warned at the crossing of
 * warnThresholdMs (not at its dequeue), statuses go out on changes only, with
 * the payload of STATUS-2, processing counts, actions a client can perform,
 * the idle status at the end, and the nested agent's id while it generates.
 */
import type { LaneStatusPayload } from '../../model/events.ts';
import { checkRule, expectRule, NotApplicable, precondition, type ConformanceCase, type GatewaySession, type TestClient } from '../types.ts';
import { abortedRunIds } from '../schemas.ts';
import {
  GATEWAY,
  checkPayload, expectBufferedWhileBusy, expectPayload, fail, gatewayMs, heard, isStatus, isTerminal, marker, needQueue, on, openGateway, requestsWith, script, send, slack, statuses, turn, waitAllEnded,
  waitRequests, waitStatus, waitedBehind, chats,
  type Sent,
} from './gateway-support.ts';

/**
 * A message to a busy session that was not answered `queued` may still wait:
 * OpenClaw 2026.9.6 (followup mode) answers `started`, closes it with an empty
 * final and runs it later (DEP-3). Whether it waited is read from the model's
 * side: its first request (marker `laterTag`) came only after the run ahead
 * (marker `aheadTag`) had ended. Returns how long it waited when it did;
 * throws NotApplicable when it did not wait (it was steered into the running
 * run, say) or never reached the model: then the case has nothing to judge.
 */
async function waitedAnyway(session: GatewaySession, b: Sent, aheadTag: string, laterTag: string, withinMs: number): Promise<{ aheadEnd: number; laterStart: number; text: string }> {
  const w = await waitedBehind(session, aheadTag, laterTag, withinMs);
  if (w === null) throw new NotApplicable(`the message was answered ${b.status}, and the model's log does not tell whether it waited (no request for it within ${withinMs})`);
  if (!w.waited) throw new NotApplicable(`the message was answered ${b.status} and did not wait: its model request (at ${w.laterStart}) came while the run ahead still ran (until ${w.aheadEnd})`);
  return { ...w, text: `answered ${b.status} at ${b.at}, but it waited: its run reached the model only at ${w.laterStart}, after the run ahead ended at ${w.aheadEnd} (DEP-3)` };
}

/** What a client heard, saying first when it got no lane.status for the session at all (DEP-8). */
function heardOf(client: TestClient, sessionKey: string, from = -Infinity): string {
  return `${statuses(client, sessionKey).length === 0 ? 'no lane.status event at all (DEP-8); ' : ''}heard ${heard(client, from)}`;
}

/** Fails STATUS-3: a message that waited was never listed. */
function neverListed(client: TestClient, b: Sent, why: string): never {
  fail('STATUS-3', `${client.name} gets a lane.status listing ${b.runId} in waiting when it starts to wait (${why})`,
    `no lane.status lists it${statuses(client, b.sessionKey).length === 0 ? ' (no lane.status event at all, DEP-8)' : ''}; heard ${heard(client, b.at - 1)}`);
}

const hold = (ms: number) => turn({ ttftMs: ms, streamMs: 300, tokens: 4 });

/**
 * STATUS-5's key: what makes two statuses the same for a subscriber. Only
 * built from payloads that passed the STATUS-2 schema (statuses() and
 * waitStatus() return no other), so no field of it is ever missing.
 */
export function statusKey(s: LaneStatusPayload): string {
  let key = `${s.state}|${s.active?.runId ?? ''}|${s.active?.agentId ?? ''}|${s.active?.waitingFor ?? ''}|${s.queued}|${s.processing.index}/${s.processing.total}|${s.warning}`;
  for (const w of s.waiting) key += `|${w.runId}:${w.position}:${w.warning ? 1 : 0}`;
  return key;
}

/**
 * STATUS-2's rules beyond the field types (the schema, src/conformance/schemas.ts,
 * has checked those before the payload got here): what each field must say.
 * Soft checks: every one that breaks is reported.
 */
function checkShape(session: GatewaySession, s: LaneStatusPayload, sessionKey: string, warnThresholdMs: number): void {
  const show = (): string => JSON.stringify(s).slice(0, 400);
  checkRule(s.lane === `session:${sessionKey}` && s.sessionKey === sessionKey, 'STATUS-2', `lane session:${sessionKey}, sessionKey ${sessionKey}`, `${s.lane}, ${s.sessionKey}`);
  checkRule(s.state === (s.active !== null ? 'active' : s.waiting.length > 0 ? 'waiting' : 'idle'), 'STATUS-2', 'state: active if active, else waiting if waiting is non-empty, else idle', show);
  s.waiting.forEach((w, i) => {
    checkRule(w.position === i + 1, 'STATUS-2', 'positions are 1-based places in the list', `entry ${i + 1} has position ${w.position}`);
    checkRule(w.warning === (w.waitedMs >= s.warnThresholdMs), 'STATUS-2', `an entry's warning is waitedMs >= warnThresholdMs (${s.warnThresholdMs})`, JSON.stringify(w));
  });
  checkRule(s.warning === s.waiting.some((w) => w.warning), 'STATUS-2', 'warning is true iff some entry has warning', show);
  checkRule(Math.abs(gatewayMs(session, s.warnThresholdMs) - warnThresholdMs) <= session.timeScale, 'STATUS-2',
    `warnThresholdMs is the configured ${warnThresholdMs}${session.timeScale !== 1 ? ` (${warnThresholdMs / session.timeScale} gateway ms at time scale ${session.timeScale})` : ''}`, String(s.warnThresholdMs));
  checkRule(s.processing.total === s.processing.index + s.waiting.length, 'STATUS-6',
    'processing.total = processing.index + the number of waiting entries', JSON.stringify(s.processing));
  const a = s.active;
  const cancel = a === null ? null : { method: 'chat.abort', params: { sessionKey, runId: a.runId } };
  const view = a === null ? null : { method: 'chat.history', params: { sessionKey, runId: a.runId } };
  checkRule(JSON.stringify(s.actions) === JSON.stringify({ cancel, viewPartial: view }), 'STATUS-7',
    `actions ${JSON.stringify({ cancel, viewPartial: view })}`, JSON.stringify(s.actions));
}

export const STATUS_CASES: readonly ConformanceCase[] = [
  {
    id: 'status.enqueue.lists-waiting',
    title: 'A message that waits is listed in the lane.status sent when it is accepted; subscribers of a busy session get the status at once',
    rules: ['STATUS-3', 'STATUS-1', 'WS-11'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'While a run thinks, bob sends a message (answered queued): bob and alice (both subscribed by chat.send) get, at that moment, a lane.status listing it in waiting. ' +
      'A message answered otherwise (started) that still waits (its model request comes only after the run ahead ended, as OpenClaw\'s followups do) must be listed just the same; ' +
      'one that did not wait is n/a. Carol then subscribes: the answer carries the status (reason subscribe) and she is sent it at once; subscribing again sends nothing.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const carol = await session.connect('carol');
      const key = session.sessionKey('status-enqueue');
      const a = await send(session, alice, key, `think ${marker('hold')}`);
      await session.sleep(500);
      const b = await send(session, bob, key, `second ${marker('status-b')}`);
      const tol = slack(ctx, session, 500);
      for (const client of [bob, alice]) {
        const listed = await waitStatus(session, client, key, (s) => s.waiting.some((w) => w.runId === b.runId), 1_000);
        if (listed === null) {
          // Answered other than queued: it is owed a listing only if it really waited (else the case has nothing to judge: n/a).
          const why = b.status === 'queued' ? 'answered queued' : (await waitedAnyway(session, b, 'hold', 'status-b', 60_000)).text;
          checkRule(false, 'STATUS-3', `${client.name} gets a lane.status listing ${b.runId} in waiting when it starts to wait (${why})`, () => heardOf(client, key, b.at - 1));
          continue;
        }
        checkRule(listed.at <= b.at + tol, 'STATUS-3', `${client.name} is sent it at its acceptance (${b.at}${tol > 0 ? ` +${Math.round(tol)}` : ''})`, `at ${listed.at}`);
        checkRule(listed.payload.reason === 'enqueue', 'STATUS-3', 'with reason enqueue', listed.payload.reason);
      }
      const sub = await carol.request('sessions.subscribe', { sessionKey: key });
      const payload = expectPayload<{ sessionKey: string; status: LaneStatusPayload }>('subscribe', sub, 'sessions.subscribe {sessionKey}');
      if (checkPayload('laneStatus', payload.status, 'the status in the sessions.subscribe answer')) {
        checkRule(payload.sessionKey === key && payload.status.reason === 'subscribe' && payload.status.state !== 'idle', 'WS-11',
          'it answers {sessionKey, status} with the current status, reason subscribe', JSON.stringify(payload).slice(0, 300));
      }
      const pushed = await waitStatus(session, carol, key, (s) => s.reason === 'subscribe', Math.max(tol, 1));
      checkRule(pushed !== null, 'STATUS-1', 'a newcomer to a busy session is sent its lane.status at once (reason subscribe)', () => heard(carol));
      const subscribeStatuses = (): number => statuses(carol, key).filter((e) => e.payload.reason === 'subscribe').length;
      const before = subscribeStatuses();
      const again = await carol.request('sessions.subscribe', { sessionKey: key });
      checkRule(again.ok, 'WS-11', 'subscribing again answers ok', JSON.stringify(again.error));
      await session.sleep(Math.max(tol, 1));
      checkRule(subscribeStatuses() === before, 'WS-11', 'subscribing again changes nothing (no second subscribe status)', `${subscribeStatuses() - before} more`);
      await waitAllEnded(session, [a, b], 60_000, 'QUEUE-20');
    },
  },
  {
    id: 'status.payload.shape',
    title: 'lane.status carries exactly the STATUS-2 payload, actions for the active run, and waitingFor main for a run holding its session slot',
    rules: ['STATUS-2', 'STATUS-6', 'STATUS-7'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Config main cap 1. A run thinks in session S; a second message waits in S (answered queued, or answered otherwise but waiting all the same: see status.enqueue.lists-waiting); ' +
      'in session T a message waits for main. Every status received has the exact fields (schema) and says what STATUS-2 says; ' +
      'S lists the waiting message at position 1 with queued 1, processing 1 of 2, the actions for the active run; T shows its run active with waitingFor main and lists it.',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1 } } });
      const warn = session.facts.warnThresholdMs;
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const s = session.sessionKey('shape-s');
      const a = await send(session, alice, s, `think ${marker('hold')}`);
      await session.sleep(300);
      const b = await send(session, bob, s, `waiting ${marker('shape-b')}`);
      const listed = await waitStatus(session, alice, s, (p) => p.waiting.some((w) => w.runId === b.runId), 1_000);
      if (listed === null && b.status !== 'queued') neverListed(alice, b, (await waitedAnyway(session, b, 'hold', 'shape-b', 60_000)).text);
      if (checkRule(listed !== null, 'STATUS-3', `a status lists ${b.runId}`, () => heardOf(alice, s))) {
        const p = listed!.payload;
        checkRule(p.state === 'active' && p.active?.runId === a.runId && p.active.waitingFor === null, 'STATUS-2', `active is the running ${a.runId}, waitingFor null`, JSON.stringify(p.active));
        checkRule(p.waiting.length === 1 && p.waiting[0]!.runId === b.runId && p.waiting[0]!.position === 1, 'STATUS-2', `waiting is [${b.runId} at position 1]`, JSON.stringify(p.waiting));
        checkRule(p.queued === 1, 'STATUS-2', 'queued is 1', String(p.queued));
        checkRule(p.processing.index === 1 && p.processing.total === 2, 'STATUS-6', 'processing 1 of 2', JSON.stringify(p.processing));
      }
      let checkedT = false;
      if (config !== null && config.agents.defaults.maxConcurrent === 1) {
        const t = session.sessionKey('shape-t');
        const c = await send(session, bob, t, 'needs main');
        checkRule(c.status === 'queued', 'QUEUE-2', 'with main full, a message to an idle session is answered queued', c.status);
        const st = await waitStatus(session, bob, t, (q) => q.active?.runId === c.runId, 1_000);
        if (checkRule(st !== null, 'STATUS-2', `session T's status shows ${c.runId} (holding its session slot, waiting for main) as active`, () => heard(bob))) {
          checkRule(st!.payload.active!.waitingFor === 'main' && st!.payload.active!.elapsedMs === 0, 'STATUS-2', 'its waitingFor is main and elapsedMs 0 (not started)', JSON.stringify(st!.payload.active));
          checkRule(st!.payload.waiting.some((w) => w.runId === c.runId), 'STATUS-2', 'it is listed in waiting too (its message still waits)', JSON.stringify(st!.payload.waiting));
        }
        checkedT = true;
        await waitAllEnded(session, [c], 60_000, 'QUEUE-20');
      }
      await waitAllEnded(session, [a, b], 60_000, 'QUEUE-20');
      // Every status either client got: the schema (statuses() records a malformed one as a STATUS-2 failure), then what each field says.
      for (const client of [alice, bob]) for (const e of client.events) if (isStatus(e)) checkShape(session, e.payload, e.payload.sessionKey, warn);
      if (!checkedT) ctx.note('main cap unknown or not 1: the waitingFor main part was skipped');
    },
  },
  {
    id: 'status.warn.at-crossing',
    title: 'A message still waiting at warnThresholdMs is warned at that instant, not at its dequeue',
    rules: ['STATUS-4', 'DEP-4'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Config warnThresholdMs 5000 (or the gateway\'s W). A run thinks for W + 4 s; a message sent 500 ms in waits (answered queued, or answered otherwise but reaching the model only after the run ahead: it waited). At exactly its acceptance + W a lane.status with reason warn ' +
      'marks its entry warning: true (and the payload), before the run ahead ends; earlier statuses have it unwarned.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { agents: { defaults: { lane: { warnThresholdMs: 5_000 } } } });
      const w = session.facts.warnThresholdMs;
      await script(session, [on('hold', hold(w + 4_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('warn');
      const a = await send(session, alice, key, `long ${marker('hold')}`);
      await session.sleep(500);
      const b = await send(session, bob, key, `waiting long ${marker('warn-b')}`);
      const due = b.at + w;
      const tol = slack(ctx, session, w);
      const warned = await waitStatus(session, bob, key, (s) => s.waiting.some((x) => x.runId === b.runId && x.warning), w + tol + 1_000);
      const endA = chats(alice, a.runId).find((e) => isTerminal(e.payload.state));
      precondition(!(warned === null && endA !== undefined && endA.at < due), 'the run ahead ended before the threshold: nothing waited that long');
      if (warned === null && b.status !== 'queued') {
        const waited = await waitedAnyway(session, b, 'hold', 'warn-b', 2 * w + 60_000);
        precondition(waited.laterStart >= due, `the message was answered ${b.status} and started at ${waited.laterStart}, before the threshold (${due})`);
        fail('STATUS-4', `a lane.status marks ${b.runId} warning: true at ${due} (acceptance + ${w}), while it still waits (${waited.text})`,
          `none${statuses(bob, key).length === 0 ? ' (no lane.status event at all, DEP-8)' : `; statuses: ${statuses(bob, key).map((e) => `${e.at}:${e.payload.reason}/${e.payload.warning}`).join(', ')}`}`);
      }
      expectRule(warned !== null, 'STATUS-4', `a lane.status marks ${b.runId} warning: true by ${due}${tol > 0 ? ` +${Math.round(tol)}` : ''} (acceptance + ${w})`,
        () => `none by then; statuses: ${statuses(bob, key).map((e) => `${e.at}:${e.payload.reason}/${e.payload.warning}`).join(', ')}`);
      checkRule(Math.abs(warned.at - due) <= tol, 'STATUS-4', `the warning is sent at the crossing, ${due}${tol > 0 ? ` ±${Math.round(tol)}` : ''}`, `at ${warned.at} (reason ${warned.payload.reason})`);
      checkRule(warned.payload.reason === 'warn' && warned.payload.warning, 'STATUS-4', 'with reason warn and payload warning: true', `reason ${warned.payload.reason}, warning ${warned.payload.warning}`);
      const endNow = chats(alice, a.runId).find((e) => isTerminal(e.payload.state));
      checkRule(endNow === undefined || endNow.at > warned.at, 'DEP-4', 'while the message still waits (before the run ahead ends)', `run ahead ended at ${endNow?.at}`);
      for (const e of statuses(bob, key)) {
        if (e.at >= due - tol) break;
        const entry = e.payload.waiting.find((x) => x.runId === b.runId);
        if (entry !== undefined) checkRule(!entry.warning, 'STATUS-4', 'before the crossing the entry is not warned', `at ${e.at}: ${JSON.stringify(entry)}`);
      }
      await waitAllEnded(session, [a, b], 120_000, 'QUEUE-20');
    },
  },
  {
    id: 'status.changes.only-then',
    title: 'lane.status is sent on every change and only then',
    rules: ['STATUS-5', 'STATUS-8'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'A run thinks, two more messages arrive, everything runs to the end. Only well-formed statuses are compared (a malformed one fails STATUS-2, naming the field, and is left out: ' +
      'no key is built from missing fields). In what alice receives for the session, no status repeats the previous one\'s key (state, active runId/agentId/waitingFor, queued, processing, warning, entries) unless its reason is warn; ' +
      'each run that started was shown active; the last status is idle.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('changes');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(300);
      const b = await send(session, bob, key, `second ${marker('hold')}`);
      await session.sleep(300);
      const c = await send(session, bob, key, 'third');
      await waitAllEnded(session, [a, b, c], 60_000, 'QUEUE-20');
      await waitStatus(session, alice, key, (s) => s.state === 'idle', 2_000);
      const list = statuses(alice, key);
      expectRule(list.length > 0, 'STATUS-5', 'well-formed statuses are sent', () => heardOf(alice, key));
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1]!.payload;
        const cur = list[i]!.payload;
        if (cur.reason === 'warn' || cur.reason === 'subscribe') continue;
        checkRule(statusKey(prev) !== statusKey(cur), 'STATUS-5', 'a status is sent only when its key changed (or reason warn)',
          `statuses ${i} and ${i + 1} (at ${list[i - 1]!.at}, ${list[i]!.at}, reasons ${prev.reason}, ${cur.reason}) share the key ${statusKey(cur)}`);
      }
      const activeRuns = new Set(list.map((e) => e.payload.active?.runId).filter((r): r is string => r !== undefined));
      checkRule(activeRuns.has(a.runId), 'STATUS-5', `the first run ${a.runId} was shown active`, [...activeRuns].join(', '));
      const last = list.at(-1)!.payload;
      checkRule(last.state === 'idle' && last.active === null && last.waiting.length === 0 && last.queued === 0, 'STATUS-8',
        'when the session drained, an idle status (active null, waiting [], queued 0)', JSON.stringify(last));
      checkRule(last.processing.index === last.processing.total, 'STATUS-8', 'the idle status keeps the busy period\'s counts (index = total)', JSON.stringify(last.processing));
    },
  },
  {
    id: 'status.processing.counts',
    title: '"2 of 3 messages processing": processing counts runs started in the busy period plus those waiting',
    rules: ['STATUS-6', 'STATUS-8'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }],
    procedure: 'Config followup. A run thinks, two followups wait: processing 1 of 3; the second starts: 2 of 3; the third: 3 of 3; idle keeps 3 of 3; the next busy period starts again at 1.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } }, needQueue({ mode: 'followup' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('processing');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, alice, key, `second ${marker('hold')}`);
      const c = await send(session, alice, key, `third ${marker('hold')}`);
      const pr = (s: LaneStatusPayload): string => `${s.processing.index} of ${s.processing.total}`;
      const both = await waitStatus(session, alice, key, (s) => s.waiting.some((w) => w.runId === c.runId), 1_000);
      if (checkRule(both !== null, 'STATUS-3', 'the third message is listed', () => heardOf(alice, key))) {
        checkRule(pr(both!.payload) === '1 of 3', 'STATUS-6', 'with one run started and two waiting: processing 1 of 3', pr(both!.payload));
      }
      await waitAllEnded(session, [a, b, c], 60_000, 'QUEUE-20');
      const list = statuses(alice, key);
      const startOf = (runId: string) => list.find((e) => e.payload.active?.runId === runId && e.payload.active.elapsedMs >= 0 && !e.payload.waiting.some((w) => w.runId === runId));
      const sb = startOf(b.runId);
      const sc = startOf(c.runId);
      checkRule(sb !== undefined && pr(sb.payload) === '2 of 3', 'STATUS-6', 'when the second starts: 2 of 3', sb === undefined ? 'not shown active' : pr(sb.payload));
      checkRule(sc !== undefined && pr(sc.payload) === '3 of 3', 'STATUS-6', 'when the third starts: 3 of 3', sc === undefined ? 'not shown active' : pr(sc.payload));
      const idle = await waitStatus(session, alice, key, (s) => s.state === 'idle', 2_000);
      checkRule(idle !== null && pr(idle.payload) === '3 of 3', 'STATUS-8', 'the idle status keeps 3 of 3', idle === null ? 'no idle status' : pr(idle.payload));
      const d = await send(session, alice, key, `again ${marker('hold')}`);
      const next = await waitStatus(session, alice, key, (s) => s.active?.runId === d.runId, 1_000);
      checkRule(next !== null && next.payload.processing.index === 1, 'STATUS-8', 'the next busy period counts from 1', next === null ? 'not shown' : pr(next.payload));
      await waitAllEnded(session, [d], 60_000, 'QUEUE-20');
    },
  },
  {
    id: 'status.collect.quiet-window',
    title: 'During a collect quiet window with no run the state is waiting, not idle',
    rules: ['STATUS-8', 'STATUS-3'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'collect' }],
    procedure: 'Config collect, debounceMs 2000. A 1.5 s run ends while a message is buffered: the status at its end is waiting (active null, the message listed); no idle status before the merge runs.',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { messages: { queue: { mode: 'collect', debounceMs: 2_000 } } }, needQueue({ mode: 'collect' }));
      if (config !== null && config.messages.queue.debounceMs < 200) throw new NotApplicable(`debounceMs ${config.messages.queue.debounceMs} leaves no quiet window to observe`);
      await script(session, [on('short', turn({ ttftMs: 1_000, streamMs: 500, tokens: 3 }))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('quiet');
      const a = await send(session, alice, key, `quick ${marker('short')}`);
      await session.sleep(200);
      const b = await send(session, alice, key, 'buffered');
      expectBufferedWhileBusy(a, [b]);
      const ends = await waitAllEnded(session, [a, b], 30_000, 'QUEUE-20');
      const endA = ends.get(a)!;
      const list = statuses(alice, key);
      const afterA = list.filter((e) => e.at >= endA.at && e.at < ends.get(b)!.at);
      const gap = afterA.find((e) => e.payload.active === null);
      if (checkRule(gap !== undefined, 'STATUS-8', 'between the run\'s end and the merge a status shows no active run', list.map((e) => `${e.at}:${e.payload.state}`).join(', '))) {
        checkRule(gap!.payload.state === 'waiting' && gap!.payload.waiting.some((w) => w.runId === b.runId), 'STATUS-8',
          `it is waiting (not idle), listing ${b.runId}`, JSON.stringify(gap!.payload).slice(0, 300));
      }
      const idleEarly = afterA.find((e) => e.payload.state === 'idle');
      checkRule(idleEarly === undefined || idleEarly.at >= ends.get(b)!.at, 'STATUS-8', 'no idle status while the message is buffered', `idle at ${idleEarly?.at}`);
    },
  },
  {
    id: 'status.actions.perform',
    title: "A client performs a status's actions by sending exactly that request",
    rules: ['STATUS-7', 'WS-18', 'WS-19'],
    level: 'MUST',
    requires: GATEWAY,
    procedure: 'While a run streams and a message waits, bob sends actions.viewPartial (chat.history: partial of the active run) then actions.cancel (chat.abort: the run ends aborted, the waiting message runs).',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      await script(session, [on('stream', turn({ ttftMs: 300, streamMs: 10_000, tokens: 60 }))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('actions');
      const a = await send(session, alice, key, `long ${marker('stream')}`);
      await session.sleep(1_500);
      const b = await send(session, bob, key, 'waiting for the overlay');
      const shown = await waitStatus(session, bob, key, (s) => s.active !== null, 1_000);
      expectRule(shown !== null, 'STATUS-3', `bob's message waits behind ${a.runId}: bob gets a lane.status for the session (showing the active run)`, () => heardOf(bob, key));
      const st = statuses(bob, key).find((e) => e.payload.active !== null && e.payload.actions.cancel !== null) ?? null;
      expectRule(st !== null, 'STATUS-7', 'a status with an active run carries its actions', () => JSON.stringify(shown.payload.actions));
      const { cancel, viewPartial } = st.payload.actions;
      expectRule(viewPartial !== null && cancel !== null, 'STATUS-7', 'both actions are set while a run is active', JSON.stringify(st.payload.actions));
      const view = await bob.request(viewPartial.method, viewPartial.params);
      if (checkRule(view.ok, 'STATUS-7', `${viewPartial.method} ${JSON.stringify(viewPartial.params)} answers ok`, JSON.stringify(view.error)) &&
        checkPayload('chatHistory', view.payload, 'the viewPartial answer')) {
        const p = view.payload as { partial?: { runId?: string; text?: string } | null; inFlightRun?: { runId?: string; text?: string } };
        const partial = p.partial ?? p.inFlightRun ?? null;
        checkRule(partial !== null && partial.runId === a.runId && typeof partial.text === 'string' && partial.text !== '', 'WS-19',
          `viewPartial shows the active run's output so far (${a.runId})`, JSON.stringify(partial));
      }
      const res = await bob.request(cancel.method, cancel.params);
      const abortAnswer = abortedRunIds(expectPayload('chatAbort', res, `${cancel.method} ${JSON.stringify(cancel.params)}`, 'STATUS-7'));
      checkRule(abortAnswer.includes(a.runId), 'WS-18', `cancel aborts the active run ${a.runId}`, JSON.stringify(res.payload));
      const ends = await waitAllEnded(session, [a, b], 30_000, 'QUEUE-20');
      checkRule(ends.get(a)!.state === 'aborted', 'STATUS-7', 'the cancelled run ends aborted', ends.get(a)!.state);
      checkRule(ends.get(b)!.state === 'final', 'STATUS-7', 'the waiting message then runs', ends.get(b)!.state);
      const idle = await waitStatus(session, bob, key, (s) => s.state === 'idle', 2_000);
      if (checkRule(idle !== null, 'STATUS-8', 'an idle status when the session drained', () => heard(bob))) {
        checkRule(idle!.payload.actions.cancel === null && idle!.payload.actions.viewPartial === null, 'STATUS-7', 'with no active run both actions are null', JSON.stringify(idle!.payload.actions));
      }
    },
  },
  {
    id: 'status.agent.nested',
    title: "During a nested agent call, active.agentId names the nested agent",
    rules: ['STATUS-9', 'STATUS-5'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'nestedAgents' }],
    procedure:
      'A run calls sessions_send to agent:coder:<key>, whose run thinks 3 s. Precondition: the nested agent really ran (its request, marked coder-work, reached the model); ' +
      'a gateway that refused the hand-off (e.g. "Tool sessions_send not found") makes the case n/a with that reason, not a STATUS failure. ' +
      'Then: a status shows the parent active with agentId coder while it runs; after the call it shows the parent\'s own agentId again.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      const target = `agent:coder:${session.sessionKey('coder')}`;
      await script(session, [
        { name: 'parent-done', match: { marker: marker('nest'), afterToolResult: true }, respond: turn({ ttftMs: 2_000, streamMs: 100, tokens: 3 }) },
        on('nest', { ttftMs: 1_000, toolCalls: [{ name: 'sessions_send', arguments: JSON.stringify({ targetSessionKey: target, message: `do it ${marker('coder-work')}` }) }] }),
        on('coder-work', hold(3_000)),
      ]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('nested-status');
      const a = await send(session, alice, key, `delegate ${marker('nest')}`);
      const first = await waitStatus(session, alice, key, (s) => s.active?.runId === a.runId, 1_000);
      const log = await waitRequests(session, ['coder-work'], 15_000);
      if (log === null) {
        const parent = requestsWith(await waitRequests(session, ['nest'], 1_000) ?? [], 'nest');
        const toolResult = parent.map((e) => (e as { lastToolResult?: unknown }).lastToolResult).find((r) => typeof r === 'string');
        precondition(false, `the nested agent never ran: no model request carried ${marker('coder-work')} within 15000${toolResult !== undefined ? `; the parent's sessions_send got ${JSON.stringify(String(toolResult).slice(0, 120))}` : ''}`);
      }
      expectRule(first !== null, 'STATUS-5', 'a lane.status shows the run active when it starts', () => heardOf(alice, key));
      const own = first.payload.active!.agentId;
      const nested = await waitStatus(session, alice, key, (s) => s.active?.runId === a.runId && s.active.agentId === 'coder', 15_000);
      expectRule(nested !== null, 'STATUS-9', `while the nested call to ${target} runs, active.agentId is coder`,
        () => statuses(alice, key).map((e) => `${e.at}:${e.payload.active?.agentId}`).join(', '));
      const back = await waitStatus(session, alice, key, (s, e) => e.at > nested.at && s.active?.runId === a.runId && s.active.agentId !== 'coder', 15_000);
      checkRule(back !== null && back.payload.active!.agentId === own, 'STATUS-9', `after the nested call, the parent's own agentId ${String(own)} again`,
        () => statuses(alice, key).map((e) => `${e.at}:${e.payload.active?.agentId}`).join(', '));
      await waitAllEnded(session, [a], 60_000, 'QUEUE-20');
    },
  },
];
