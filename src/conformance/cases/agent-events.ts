/**
 * WS-20: the `agent` event's lifecycle stream, as a session's subscribers see
 * it: a run that starts says `start`, and ends with exactly one `end`,
 * `error` or `aborted` (the reference's: the one that says how it ended), `seq` per run from 1
 * and increasing; a message aborted while it waits never started, so it has
 * no agent events at all (WS-15: only runs that start produce them).
 *
 * Every agent payload read passed the WS-20 schema first (gateway-support's
 * agentEvents()); a malformed one is a WS-20 failure naming the field.
 */
import { checkRule, expectRule, precondition, type ConformanceCase, type TestClient } from '../types.ts';
import { abortedRunIds } from '../schemas.ts';
import {
  GATEWAY, agentEvents, chats, expectPayload, heard, isTerminal, marker, on, openGateway, script, send, turn, waitAllEnded, waitUntil,
  type AgentEvent, type Sent,
} from './gateway-support.ts';

/** How a run's terminal chat state maps to its lifecycle end phase. */
const END_PHASE: Record<string, string> = { final: 'end', error: 'error', aborted: 'aborted' };

/** WS-20: the phases that end a run's lifecycle. */
const END_PHASES: ReadonlySet<string> = new Set(['end', 'error', 'aborted']);
/** WS-20: the streams of the run itself, which come after its lifecycle start. */
const RUN_STREAMS: ReadonlySet<string> = new Set(['lifecycle', 'tool', 'assistant', 'usage']);

function lifecycle(client: TestClient, runId: string): AgentEvent[] {
  return agentEvents(client, runId).filter((e) => e.payload.stream === 'lifecycle');
}

function describe(events: readonly AgentEvent[]): string {
  return `[${events.map((e) => `${e.at}:${e.payload.stream}/${String(e.payload.data['phase'] ?? '-')}#${e.payload.seq}`).join(', ')}]`;
}

/**
 * WS-20 for one run that started and ended: start its first lifecycle
 * event and before its tool / assistant / usage events, exactly one end
 * phase (end, error or aborted) as its last, the gateway's own phases
 * between, seq from 1 increasing. Returns the
 * end phase (null when there was not exactly one).
 */
function checkRunLifecycle(client: TestClient, s: Sent): string | null {
  const all = agentEvents(client, s.runId);
  const life = lifecycle(client, s.runId);
  const starts = life.filter((e) => e.payload.data['phase'] === 'start');
  const ends = life.filter((e) => END_PHASES.has(String(e.payload.data['phase'])));
  checkRule(starts.length === 1, 'WS-20', `${client.name}: exactly one lifecycle start for ${s.runId}`, () => describe(all));
  checkRule(ends.length === 1, 'WS-20', `${client.name}: exactly one lifecycle end (end, error or aborted) for ${s.runId}`, () => describe(all));
  if (starts.length === 1 && ends.length === 1) {
    const start = all.indexOf(starts[0]!);
    const end = all.indexOf(ends[0]!);
    checkRule(starts[0]!.payload.seq <= ends[0]!.payload.seq && start < end, 'WS-20', 'the start comes before the end', () => describe(all));
    // The gateway's own phases (OpenClaw: model, finishing) come between them; start is the first lifecycle event, end the last.
    checkRule(life[0] === starts[0] && life[life.length - 1] === ends[0], 'WS-20', 'start is the run\'s first lifecycle event and the end its last (other phases between them)', () => describe(all));
    // Only a stream of the gateway's own (OpenClaw's run_status: preparing_workspace ...) may come before the start.
    const early = all.slice(0, start).filter((e) => RUN_STREAMS.has(e.payload.stream));
    checkRule(early.length === 0, 'WS-20', `the start comes before the run's ${[...RUN_STREAMS].join(', ')} events`, () => describe(all));
  }
  const seqs = all.map((e) => e.payload.seq);
  checkRule(seqs.length === 0 || (seqs[0]! >= 1 && seqs.every((q, i) => i === 0 || q > seqs[i - 1]!)), 'WS-20', 'agent seq numbers the run\'s events from 1, increasing', `seq ${seqs.join(',')}`);
  checkRule(all.every((e) => e.payload.sessionKey === s.sessionKey), 'WS-20', `every agent event names the session ${s.sessionKey}`, () => describe(all.filter((e) => e.payload.sessionKey !== s.sessionKey)));
  return ends.length === 1 ? String(ends[0]!.payload.data['phase']) : null;
}

export const AGENT_EVENT_CASES: readonly ConformanceCase[] = [
  {
    id: 'agent.lifecycle.end-and-abort',
    title: 'agent lifecycle events: start, then exactly one end / aborted; nothing for a message aborted before it started',
    rules: ['WS-20', 'WS-15'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Config followup (asked; any mode will do). A short run ends: its sender hears lifecycle start, then exactly one lifecycle end (phase end, error or aborted; the phase the reference uses for the outcome is noted), seq from 1 increasing. ' +
      'Then run A streams for 60 s; message B waits behind it (answered queued; answered otherwise, the B part is skipped and noted). Precondition: A\'s lifecycle start was heard. B is aborted by its runId while it waits, then A by its runId: ' +
      'A\'s lifecycle still ends, with exactly one end phase after its start (the reference: aborted), and B, which never started, has no agent event at all.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } });
      await script(session, [
        on('short', turn({ ttftMs: 300, streamMs: 300, tokens: 4 })),
        // Long: it is aborted well before it could end (on a loaded machine too); the abort ends it, so its length costs nothing.
        on('long', turn({ ttftMs: 300, streamMs: 60_000, tokens: 120 })),
      ]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('agent-life');
      const quick = await send(session, alice, key, `quick ${marker('short')}`);
      const endsQuick = await waitAllEnded(session, [quick], 60_000, 'WS-15');
      await session.sleep(500);
      const quickPhase = checkRunLifecycle(alice, quick);
      const quickState = endsQuick.get(quick)!.state;

      const a = await send(session, alice, key, `long ${marker('long')}`);
      const started = await waitUntil(session, () => lifecycle(alice, a.runId).find((e) => e.payload.data['phase'] === 'start') ?? null, 10_000);
      precondition(started !== null, () => `run ${a.runId} never said it started (no lifecycle start within 10000); heard ${heard(alice, a.at)}`);
      const b = await send(session, alice, key, `behind ${marker('long')} ${marker('agent-b')}`);
      // The waiting part needs a message that waits (answered queued); a gateway that answers otherwise (OpenClaw: started, DEP-3) skips it.
      const waits = b.status === 'queued';
      if (waits) {
        const abortB = await alice.request('chat.abort', { sessionKey: key, runId: b.runId });
        const answerB = abortedRunIds(expectPayload('chatAbort', abortB, `chat.abort {sessionKey, runId: ${b.runId}}`, 'WS-18'));
        checkRule(answerB.includes(b.runId), 'WS-18', `aborting the waiting message lists ${b.runId}`, JSON.stringify(answerB));
      } else {
        ctx.note(`the message sent while ${a.runId} ran was answered ${b.status}, not queued: the aborted-while-waiting part is skipped`);
      }
      await session.sleep(500);
      precondition(chats(alice, a.runId).every((e) => !isTerminal(e.payload.state)), `run ${a.runId} had already ended before the case could abort it`);
      const abortA = await alice.request('chat.abort', { sessionKey: key, runId: a.runId });
      const answerA = abortedRunIds(expectPayload('chatAbort', abortA, `chat.abort {sessionKey, runId: ${a.runId}}`, 'WS-18'));
      expectRule(answerA.includes(a.runId), 'WS-18', `aborting the running run lists ${a.runId}`, JSON.stringify(answerA));
      const ends = await waitAllEnded(session, waits ? [a, b] : [a], 30_000, 'WS-15');
      await session.sleep(500);
      checkRule(ends.get(a)!.state === 'aborted', 'WS-15', `the aborted run ${a.runId} ends aborted`, ends.get(a)!.state);
      const abortedPhase = checkRunLifecycle(alice, a);
      // Which end phase names which outcome is the reference's form (SHOULD): noted, not failed.
      for (const [run, phase, state] of [[quick.runId, quickPhase, quickState], [a.runId, abortedPhase, 'aborted']] as const) {
        if (phase !== null && phase !== END_PHASE[state]) ctx.note(`${run} ended ${state} with lifecycle phase ${phase} (the reference says ${END_PHASE[state]})`);
      }
      if (waits) {
        const forB = agentEvents(alice, b.runId);
        checkRule(forB.length === 0, 'WS-20', `${b.runId}, aborted while it waited, never started: no agent event for it`, () => describe(forB));
      } else {
        // Not aborted while waiting: stop it too, so the case leaves nothing running.
        await alice.request('chat.abort', { sessionKey: key });
      }
      ctx.note(`quick run: ${describe(lifecycle(alice, quick.runId))}; aborted run: ${describe(lifecycle(alice, a.runId))}`);
    },
  },
];
