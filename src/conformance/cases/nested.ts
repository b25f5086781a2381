/**
 * LANE-21..LANE-24: nested agents with `agents.defaults.lane.nestedAgentParallel:
 * true` and sub-agent spawns, through the gateway (capability gateway +
 * model-script). The harness scripts the model: a run's first request answers
 * with an agent-to-agent tool call (`sessions_send {targetSessionKey,
 * message}`, OpenClaw's tool; the reference's agent loop turns it into a
 * nested run) or a spawn (`sessions_spawn {targetSessionKey, message}`), and
 * the nested/spawned run's message is marked so its request is found in the
 * model's log.
 *
 * What is observed: only when each run's requests reached the model and how
 * long they lasted (the model log), and what each sender heard. Lane
 * occupancy follows from that: with `main` at cap 1, two message runs whose
 * model requests overlap in time held `main` together.
 *
 * Preconditions are checked, never assumed: a nested or spawned run that
 * never reached the model (the gateway has no such tool, or named it
 * otherwise) makes the case n/a with that reason, not a failure of the rule
 * it would have judged.
 */
import type { RequestLogEntry } from '../../fake-model/server.ts';
import { checkRule, precondition, type ConformanceCase } from '../types.ts';
import {
  GATEWAY, declaredQueue, heard, marker, modelLog, on, openGateway, script, send, turn, waitAllEnded, waitRequests, waitUntil,
  type ConfigNeed, type Sent, type WaitEnd,
} from './gateway-support.ts';

const NEEDS_PARALLEL: ConfigNeed = (config) =>
  config.agents.defaults.lane.nestedAgentParallel ? null : 'needs agents.defaults.lane.nestedAgentParallel true; the gateway runs false';

const NEEDS_MAIN_1: ConfigNeed = (config) =>
  config.agents.defaults.maxConcurrent === 1 ? null : `needs agents.defaults.maxConcurrent 1 (main at cap 1); the gateway runs ${config.agents.defaults.maxConcurrent}`;

/** A run that thinks `ms`, then streams 4 words over 200 ms. */
const hold = (ms: number) => turn({ ttftMs: ms, streamMs: 200, tokens: 4 });
const QUICK = turn({ ttftMs: 150, streamMs: 150, tokens: 3 });

/** The requests answered by the rule `name`. */
function byRule(log: readonly RequestLogEntry[], name: string): RequestLogEntry[] {
  return log.filter((e) => e.rule === name);
}

/** [start, end] of a request in session units (end Infinity while it runs). */
function span(e: RequestLogEntry): [number, number] {
  return [e.t, e.t + (e.durationMs ?? Infinity)];
}

function show(e: RequestLogEntry | undefined): string {
  if (e === undefined) return 'never';
  const [a, b] = span(e);
  return `${Math.round(a)}-${Number.isFinite(b) ? Math.round(b) : '…'}`;
}

/** Whether two requests ran at the same time (touching ends do not count: `eps` of slack). */
function overlap(x: RequestLogEntry, y: RequestLogEntry, eps: number): boolean {
  const [a0, a1] = span(x);
  const [b0, b1] = span(y);
  return a0 < b1 - eps && b0 < a1 - eps;
}

function describeEnd(end: WaitEnd | undefined): string {
  return end === undefined ? 'no end' : `${end.kind} ${end.state} via ${end.runId} at ${end.at}`;
}

/** LANE-23 (d): every message ended once, with a final (its sender heard it). */
function checkAllFinal(ends: Map<Sent, WaitEnd>, sent: readonly Sent[]): void {
  for (const s of sent) {
    const end = ends.get(s);
    checkRule(end !== undefined && end.state === 'final' && end.text !== '', 'LANE-23', `${s.runId} (${JSON.stringify(s.text.slice(0, 30))}) settles once with its answer (a final)`, describeEnd(end));
  }
}

export const NESTED_CASES: readonly ConformanceCase[] = [
  {
    id: 'nested.parallel.parks',
    title: 'nestedAgentParallel: a parent awaiting its nested run frees main, and resumes at the head of main once the nested run settled',
    rules: ['LANE-21', 'LANE-22', 'LANE-23'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'nestedAgents' }, { feature: 'nestedAgentParallel' }],
    procedure:
      'Config maxConcurrent 1 (main at cap 1), nestedAgentParallel true. P (session s) calls sessions_send to agent:helper:<t>; the nested run thinks 3 s. ' +
      'At +0.5 s Q (session r) holds main for 6 s; at +0.7 s X (session r2) waits for main. ' +
      'LANE-21: Q reaches the model while the nested run runs (the parent parked and freed main; the nested run is not in main); ' +
      "the parent's next request comes only after Q ended (it got main back before the nested outcome was handed to it). " +
      "LANE-22: the parent resumes at the head of main: its next request comes before X's although X joined main earlier. " +
      'LANE-23: main-lane requests (P, Q, X) never overlap; every message ends once with a final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1, lane: { nestedAgentParallel: true } } }, messages: { queue: { mode: declaredQueue(ctx.supports).mode } } },
        NEEDS_PARALLEL, NEEDS_MAIN_1);
      const target = `agent:helper:${session.sessionKey('nested-target')}`;
      await script(session, [
        { name: 'parent-resumed', match: { marker: marker('parent'), afterToolResult: true }, respond: QUICK },
        on('parent', { ttftMs: 200, toolCalls: [{ name: 'sessions_send', arguments: JSON.stringify({ targetSessionKey: target, message: `work ${marker('nested-work')}` }) }] }),
        on('nested-work', hold(3_000)),
        on('other', hold(6_000)),
        on('late', QUICK),
      ]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const p = await send(session, alice, session.sessionKey('parent'), `ask the helper ${marker('parent')}`);
      const nestedLog = await waitRequests(session, ['nested-work'], 5_000);
      precondition(nestedLog !== null, () => `the parent's sessions_send {targetSessionKey, message} started a nested run (its message reached the model); alice heard ${heard(alice)}`);
      await session.sleep(300);
      const q = await send(session, bob, session.sessionKey('other'), `hold main ${marker('other')}`);
      await session.sleep(200);
      const x = await send(session, bob, session.sessionKey('late'), `after q ${marker('late')}`);
      const ends = await waitAllEnded(session, [p, q, x], 60_000, 'LANE-23');
      const log = await waitUntil(session, async () => {
        const l = await modelLog(session);
        return l.every((e) => e.durationMs !== null) ? l : null;
      }, 10_000) ?? await modelLog(session);
      const nested = byRule(log, 'nested-work')[0]!;
      const first = byRule(log, 'parent')[0];
      const resumed = byRule(log, 'parent-resumed')[0];
      const qReq = byRule(log, 'other')[0];
      const xReq = byRule(log, 'late')[0];
      const eps = session.timeScale;
      precondition(first !== undefined && qReq !== undefined, 'the parent and Q reached the model');
      // LANE-21: the parked parent freed main: Q ran while the nested run did.
      checkRule(qReq.t < span(nested)[1] - eps, 'LANE-21',
        'while the parent awaits its nested run it holds no slot (parked): Q (another session) gets main before the nested run ends',
        `Q reached the model at ${Math.round(qReq.t)}, the nested run ran ${show(nested)} (the parent kept main while it waited: LANE-20's behaviour)`);
      checkRule(overlap(nested, qReq, eps), 'LANE-21', 'the nested run is not in main (path [nested:<target>, subagent]): it runs while Q holds main (cap 1)',
        `nested ${show(nested)}, Q ${show(qReq)}`);
      checkRule(resumed !== undefined && resumed.t >= span(nested)[1] - eps, 'LANE-21', "the parent's next request comes after the nested run settled",
        `nested ${show(nested)}, parent resumed ${show(resumed)}`);
      checkRule(resumed !== undefined && resumed.t >= span(qReq)[1] - eps, 'LANE-21',
        'the nested outcome is handed to the parent only once it holds its lanes again: its next request comes after Q released main',
        `Q held main ${show(qReq)}, the parent's next request ${show(resumed)}`);
      // LANE-22: the resume joins main at the head, ahead of X who joined earlier.
      checkRule(resumed !== undefined && xReq !== undefined && resumed.t <= xReq.t + eps, 'LANE-22',
        `the resuming parent joins main at the head: its next request comes before X's (X joined main at ${Math.round(x.at)}, the parent resumed at ${Math.round(span(nested)[1])})`,
        `parent resumed ${show(resumed)}, X ${show(xReq)}`);
      // LANE-23 (b): main never over its cap: the message runs' requests never overlap.
      const mainRequests = [first, resumed, qReq, xReq].filter((e): e is RequestLogEntry => e !== undefined);
      for (let i = 0; i < mainRequests.length; i++) {
        for (let j = i + 1; j < mainRequests.length; j++) {
          checkRule(!overlap(mainRequests[i]!, mainRequests[j]!, eps), 'LANE-23', 'main (cap 1) never runs two message runs at once',
            `${mainRequests[i]!.rule} ${show(mainRequests[i])} and ${mainRequests[j]!.rule} ${show(mainRequests[j])}`);
        }
      }
      checkAllFinal(ends, [p, q, x]);
    },
  },
  {
    id: 'nested.parallel.session-exclusive',
    title: "nestedAgentParallel: a newer message may run in the parked parent's session, but never at the same time as the resumed parent",
    rules: ['LANE-23', 'LANE-21'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'nestedAgents' }, { feature: 'nestedAgentParallel' }, { queueMode: 'followup' }],
    procedure:
      'Config followup, maxConcurrent 4, nestedAgentParallel true. P (session s) calls sessions_send; the nested run thinks 3 s. At +0.5 s M (same session s) thinks 4 s. ' +
      "M may run while P is parked (LANE-23 a); when the nested run settles P waits for M: P's next request never overlaps M's. " +
      'Every message ends once with a final, within 60 s (no deadlock).',
    async run(ctx) {
      const { session } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 4, lane: { nestedAgentParallel: true } } }, messages: { queue: { mode: 'followup' } } },
        NEEDS_PARALLEL);
      const target = `agent:helper:${session.sessionKey('nested-target')}`;
      await script(session, [
        { name: 'parent-resumed', match: { marker: marker('parent'), afterToolResult: true }, respond: QUICK },
        on('parent', { ttftMs: 200, toolCalls: [{ name: 'sessions_send', arguments: JSON.stringify({ targetSessionKey: target, message: `work ${marker('nested-work')}` }) }] }),
        on('nested-work', hold(3_000)),
        on('newer', hold(4_000)),
      ]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('parent');
      const p = await send(session, alice, key, `ask the helper ${marker('parent')}`);
      precondition((await waitRequests(session, ['nested-work'], 5_000)) !== null, "the parent's sessions_send {targetSessionKey, message} started a nested run (its message reached the model)");
      await session.sleep(300);
      const m = await send(session, bob, key, `newer message ${marker('newer')}`);
      const ends = await waitAllEnded(session, [p, m], 60_000, 'LANE-23');
      const log = await modelLog(session);
      const nested = byRule(log, 'nested-work')[0]!;
      const resumed = byRule(log, 'parent-resumed')[0];
      const mReq = byRule(log, 'newer')[0];
      const eps = session.timeScale;
      precondition(mReq !== undefined && resumed !== undefined, 'both the newer message and the resumed parent reached the model');
      checkRule(!overlap(resumed, mReq, eps), 'LANE-23', "at most one task runs per session lane: the resumed parent and the newer message of its session never run together",
        `parent resumed ${show(resumed)}, newer message ${show(mReq)}`);
      checkRule(resumed.t >= span(nested)[1] - eps, 'LANE-21', "the parent's next request comes after its nested run settled", `nested ${show(nested)}, parent ${show(resumed)}`);
      ctx.note(mReq.t < span(nested)[1] ? `the newer message ran while the parent was parked (${show(mReq)}); the parent resumed after it (${show(resumed)})`
        : `the newer message waited for the parent (${show(mReq)}); allowed (MAY)`);
      checkAllFinal(ends, [p, m]);
    },
  },
  {
    id: 'nested.spawn.session-lane',
    title: "A sub-agent spawn into session T waits for T's run, is bounded by subagent, and makes T busy; the spawner does not wait",
    rules: ['LANE-24', 'QUEUE-2'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'subagents' }],
    procedure:
      'Config subagents.maxConcurrent 1. A message to T1 thinks 4 s. P calls sessions_spawn {targetSessionKey, message} for T1 and T2 (one call each). ' +
      "P's next request comes at once (it does not wait for its spawns); the spawn into T1 reaches the model only after T1's run ended (path [session:T1, subagent]); " +
      'the two spawns never run together (subagent cap 1); a message to T2 while its spawned run is live is answered queued (T2 is busy) and runs after it. ' +
      'Precondition: the spawns reached the model (the gateway has a sessions_spawn tool).',
    async run(ctx) {
      const { session } = await openGateway(ctx, { agents: { defaults: { subagents: { maxConcurrent: 1 } } }, messages: { queue: { mode: declaredQueue(ctx.supports).mode } } },
        (config) => (config.agents.defaults.subagents.maxConcurrent === 1 ? null : `needs agents.defaults.subagents.maxConcurrent 1; the gateway runs ${config.agents.defaults.subagents.maxConcurrent}`));
      const t1 = session.sessionKey('spawn-t1');
      const t2 = session.sessionKey('spawn-t2');
      await script(session, [
        { name: 'spawner-after', match: { marker: marker('spawner'), afterToolResult: true }, respond: hold(1_000) },
        on('spawner', {
          ttftMs: 200,
          toolCalls: [
            { name: 'sessions_spawn', arguments: JSON.stringify({ targetSessionKey: t1, message: `spawned one ${marker('spawn-1')}` }) },
            { name: 'sessions_spawn', arguments: JSON.stringify({ targetSessionKey: t2, message: `spawned two ${marker('spawn-2')}` }) },
          ],
        }),
        on('t1-run', hold(4_000)),
        on('spawn-1', hold(2_000)),
        on('spawn-2', hold(2_000)),
        on('t2-msg', QUICK),
      ]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const r1 = await send(session, bob, t1, `busy first ${marker('t1-run')}`);
      await session.sleep(200);
      const p = await send(session, alice, session.sessionKey('spawner'), `spawn two helpers ${marker('spawner')}`);
      const spawned = await waitRequests(session, ['spawn-2'], 10_000);
      precondition(spawned !== null, 'the model\'s sessions_spawn {targetSessionKey, message} call started a sub-agent run in T2 (its message reached the model); the gateway has no such tool or names it otherwise');
      // T2 is busy while its spawned run is live: a message to it waits.
      const m2 = await send(session, bob, t2, `to T2 ${marker('t2-msg')}`);
      const spawnLive = byRule(await modelLog(session), 'spawn-2')[0];
      const ends = await waitAllEnded(session, [r1, p, m2], 60_000, 'LANE-24');
      const log = await waitUntil(session, async () => {
        const l = await modelLog(session);
        return byRule(l, 'spawn-1').length > 0 && l.every((e) => e.durationMs !== null) ? l : null;
      }, 30_000) ?? await modelLog(session);
      const eps = session.timeScale;
      const t1Run = byRule(log, 't1-run')[0];
      const spawnReq = byRule(log, 'spawn-1')[0];
      const spawn2Req = byRule(log, 'spawn-2')[0]!;
      const after = byRule(log, 'spawner-after')[0];
      const first = byRule(log, 'spawner')[0];
      const m2Req = byRule(log, 't2-msg')[0];
      precondition(first !== undefined && t1Run !== undefined, 'the spawner and the run in T1 reached the model');
      checkRule(after !== undefined && after.t <= span(first)[1] + 1_000 * eps && (spawnReq === undefined || after.t < span(spawnReq)[1]), 'LANE-24',
        "the spawning run does not wait for its spawns: its next request follows its tool calls at once",
        `tool calls ended ${Math.round(span(first)[1])}, next request ${show(after)}, spawn into T1 ${show(spawnReq)}`);
      checkRule(spawnReq !== undefined && spawnReq.t >= span(t1Run)[1] - eps, 'LANE-24',
        "the spawn into T1 takes T1's session lane: it reaches the model only after T1's run ended", `T1's run ${show(t1Run)}, spawn ${show(spawnReq)}`);
      checkRule(spawnReq === undefined || !overlap(spawnReq, spawn2Req, eps), 'LANE-24', 'spawned runs are bounded by subagent (cap 1): the two never run together',
        `spawn into T1 ${show(spawnReq)}, into T2 ${show(spawn2Req)}`);
      if (spawnLive !== undefined && spawnLive.durationMs === null) {
        checkRule(m2.status === 'queued', 'QUEUE-2', `a message to T2 while its spawned run is live is answered queued (T2 is busy)`, `answered ${m2.status}`);
      }
      checkRule(m2Req === undefined || m2Req.t >= span(spawn2Req)[1] - eps, 'LANE-24', "a message to T2 is serialized with the spawned run in T2 (after it)",
        `spawn ${show(spawn2Req)}, message ${show(m2Req)}`);
      for (const s of [r1, p, m2]) {
        const end = ends.get(s);
        checkRule(end !== undefined && end.state === 'final', 'LANE-24', `${s.runId} ends with a final`, describeEnd(end));
      }
    },
  },
];
