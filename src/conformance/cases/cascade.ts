/**
 * The seed-004 incident end to end: a coordinator's run hands work to the
 * coding agent through the gateway's own agent-to-agent tool; the coder reads
 * ~18k tokens, makes the malformed `read {}`, retries after the error and
 * streams ~6k tokens; two more users write to the coordinator's session
 * meanwhile.
 *
 * Preconditions, then checks:
 * - the coder must have run (a model request of the coder's conversation):
 *   a hand-off the gateway did not carry out leaves nothing of the incident to
 *   judge, so the case is n/a "precondition not met" with the tool result the
 *   coordinator got, never a failure of an unrelated rule;
 * - then (soft checks, each naming its rule): every message answered and none
 *   lost (QUEUE-20), no waiting client silent longer than the heartbeat bound
 *   (HB-1), the waiting messages listed and warned in time (STATUS-3/4), the
 *   overlay names the coder while it works (STATUS-9), the tool error reaches
 *   the coder (TOOL-1) in the seed's words (TOOL-2), and its retry succeeds.
 *
 * The hand-off call is configurable (`cascadeCase(handoff)`): the gateway's
 * tool name and parameters. lanesim's reference takes `sessions_send
 * {targetSessionKey, message}` (src/reference-impl/http-model-runtime.ts, which
 * also reads `sessionKey`); OpenClaw 2026.9.6 takes `sessions_send {sessionKey
 * | label | agentId, message, timeoutSeconds}` (OPENCLAW_HANDOFF). The script is
 * the fake model's built-in `cascade` (src/fake-model/script.ts) with the
 * hand-off call replaced and one more retry trigger: OpenClaw 2026.9.6 words
 * the error `Validation failed for tool "read": ...`, which has no `Error:`.
 *
 * The seed's measures are noted as one `cascade-measures {json}` line (read by
 * scripts/gen-peers.ts): longest lane wait, longest client silence, time to
 * first feedback, tool errors returned / swallowed, messages lost.
 */
import {
  CASCADE_MARKER, CASCADE_READ_PATH, CASCADE_SCRIPT, CODER_MARKER, CODER_SESSION_KEY,
  type FakeModelScript, type MatchSpec, type Rule,
} from '../../fake-model/script.ts';
import type { RequestLogEntry } from '../../fake-model/server.ts';
import { checkRule, expectRule, precondition, type ConformanceCase, type TestClient } from '../types.ts';
import {
  DEFAULT_HEARTBEAT_MS, GATEWAY,
  asks, heard, modelLog, openGateway, realWaitEnd, send, silences, slack, statuses, toolResultOf, waitEnd, waitRequestsDone, waitUntil,
  type Sent, type WaitEnd,
} from './gateway-support.ts';

const READ_EMPTY = "Error: read tool requires 'path' parameter. Received: {}";

/** The gateway's agent-to-agent tool as the coordinator's model calls it. */
export interface CascadeHandoff {
  /** Shown in notes and reports (`lanesim`, `openclaw`). */
  readonly name: string;
  /** The tool's name. */
  readonly tool: string;
  /** The call's arguments for a message to the coder (JSON-serialisable). */
  params(message: string): Record<string, unknown>;
}

/** lanesim's reference: `sessions_send {targetSessionKey, message}`. */
export const LANESIM_HANDOFF: CascadeHandoff = {
  name: 'lanesim',
  tool: 'sessions_send',
  params: (message) => ({ targetSessionKey: CODER_SESSION_KEY, message }),
};

/**
 * OpenClaw 2026.9.6's `sessions_send` (dist/sessions-spawn-tool-*.mjs,
 * `SessionsSendToolSchema`): `sessionKey` (or `label`, or `agentId` for a
 * configured agent's main session), `message`, `timeoutSeconds` (default 30;
 * the coder streams 30-60+ s, so the coordinator waits up to 10 min for the
 * reply, as the seed's coordinator waits for its coding agent). The target
 * agent `coder` must be configured (scripts/openclaw-peer.ts does).
 */
export const OPENCLAW_HANDOFF: CascadeHandoff = {
  name: 'openclaw',
  tool: 'sessions_send',
  params: (message) => ({ sessionKey: CODER_SESSION_KEY, message, timeoutSeconds: 600 }),
};

const HANDOFF_MESSAGE = `${CODER_MARKER} Refactor the config loader (${CASCADE_READ_PATH}) to use parseStrict, run the tests and report back with the full diff.`;

/** Texts a tool result carries when the gateway returned the malformed read's error (the seed's, OpenClaw's older and 2026.9.6 words). */
const ERROR_TEXTS = ['Error:', 'Missing required parameter', 'Validation failed for tool'];

function withExtraRetryTexts(match: Rule['match']): Rule['match'] {
  const specs = (match === undefined ? [] : Array.isArray(match) ? match : [match]) as readonly MatchSpec[];
  return specs.map((s) => ({ ...s, toolResultContains: ERROR_TEXTS }));
}

/** The built-in cascade script with `handoff` as the coordinator's call (and OpenClaw's error words as a retry trigger). */
export function cascadeScript(handoff: CascadeHandoff): FakeModelScript {
  const rules: Rule[] = CASCADE_SCRIPT.rules.map((rule): Rule => {
    if (rule.name === 'coordinator-handoff') {
      return { ...rule, respond: { ...rule.respond, toolCalls: [{ name: handoff.tool, arguments: JSON.stringify(handoff.params(HANDOFF_MESSAGE)) }] } };
    }
    if (rule.name === 'coder-retry-read' && rule.match !== undefined) return { ...rule, match: withExtraRetryTexts(rule.match) };
    return rule;
  });
  return { ...(CASCADE_SCRIPT.models === undefined ? {} : { models: CASCADE_SCRIPT.models }), rules, ...(CASCADE_SCRIPT.default === undefined ? {} : { default: CASCADE_SCRIPT.default }) };
}

/** The seed's measures of one cascade run (session time units, ms). */
export interface CascadeMeasures {
  handoff: string;
  /** Per sender: acceptance -> its message's first model request (null: never reached the model). */
  laneWaitMs: Record<string, number | null>;
  longestLaneWaitMs: number | null;
  /** Per sender: the longest gap between frames it heard from acceptance to the real end of its wait. */
  silenceMs: Record<string, number>;
  longestSilenceMs: number;
  /** Per sender: acceptance -> the first frame naming its own run (chat of its runId but an empty final, or a lane.status listing it); null: none before its wait ended. */
  firstFeedbackMs: Record<string, number | null>;
  /** The coder's malformed reads, and what the coder's next request carried for each. */
  toolErrors: { calls: number; returned: number; swallowed: number; text: string | null; retried: boolean };
  /** Accepted messages that never reached the model and were not refused to their sender. */
  messagesLost: number;
  /** Per sender: how its wait ended (ran / carried / refused; `empty-final` when closed by an empty final and answered later). */
  ends: Record<string, string>;
  coderRequests: number;
  modelRequests: number;
}

/**
 * Acceptance -> the first frame naming the sender's own run (other than the
 * chat.send answer): a chat frame of its runId (any state but an empty final,
 * which tells nothing; read without the payload schema, which OpenClaw's
 * `status` frames with a `phase` do not meet: they are feedback all the
 * same), or a lane.status listing it. A frame that came before the answer
 * (the runId is new with the request) counts as 0.
 */
function firstOwnFeedback(client: TestClient, s: Sent, sessionKey: string, until: number): number | null {
  const own = client.events.find((e) => {
    const p = e.payload as { runId?: unknown; state?: unknown; message?: { content?: { text?: unknown }[] } } | null;
    if (e.event !== 'chat' || p === null || typeof p !== 'object' || p.runId !== s.runId || e.at > until) return false;
    const text = Array.isArray(p.message?.content) ? p.message.content.map((c) => (typeof c?.text === 'string' ? c.text : '')).join('') : '';
    return !(p.state === 'final' && text === '');
  });
  const listed = statuses(client, sessionKey).find((e) => e.at <= until && (e.payload.active?.runId === s.runId || e.payload.waiting.some((w) => w.runId === s.runId)));
  const times = [own?.at, listed?.at].filter((t): t is number => t !== undefined);
  return times.length === 0 ? null : Math.max(0, Math.min(...times) - s.at);
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

/**
 * A terminal chat frame of the sender's runId, read without its payload
 * schema: OpenClaw closes a followup with a `final` that has no `message` at
 * all (DEP-3), which the chat schema (WS-15, reported by the readers that
 * check it) does not take. Only runId and state are read.
 */
function bareEnd(s: Sent): WaitEnd | null {
  for (const e of s.client.events) {
    const p = e.payload as { runId?: unknown; state?: unknown } | null;
    if (e.event !== 'chat' || p === null || typeof p !== 'object' || p.runId !== s.runId) continue;
    if (p.state === 'final' || p.state === 'error' || p.state === 'aborted') {
      return { kind: 'ran', at: e.at, state: p.state, runId: s.runId, status: null, errorCode: null, text: '' };
    }
  }
  return null;
}

/** Waits until every sender's wait ended (WS-17, or a bare terminal frame of its runId); QUEUE-20 fails with the ones still waiting. */
async function waitEnded(session: Parameters<typeof waitUntil>[0], sent: readonly Sent[], withinMs: number): Promise<Map<Sent, WaitEnd>> {
  const endOf = (s: Sent): WaitEnd | null => waitEnd(s) ?? bareEnd(s);
  await waitUntil(session, () => sent.every((s) => endOf(s) !== null), withinMs, 250);
  const ends = new Map<Sent, WaitEnd>();
  const missing: string[] = [];
  for (const s of sent) {
    const end = endOf(s);
    if (end === null) missing.push(`${s.runId} (${JSON.stringify(s.text.slice(0, 40))}, answered ${s.status})`);
    else ends.set(s, end);
  }
  expectRule(missing.length === 0, 'QUEUE-20', `every accepted message's sender hears how it ended within ${withinMs} ms (a terminal frame of its runId, or a status naming carriedBy then that run's terminal)`,
    `still waiting: ${missing.join(', ')}`);
  return ends;
}

export function cascadeCase(handoff: CascadeHandoff = LANESIM_HANDOFF): ConformanceCase {
  return {
    id: 'cascade.seed-004.end-to-end',
    title: 'The nested-agent cascade: the coder runs, every message answered, no waiting client silent too long, lane.status in time, the tool error returned',
    rules: ['QUEUE-20', 'HB-1', 'STATUS-3', 'STATUS-4', 'STATUS-9', 'TOOL-1', 'TOOL-2', 'LANE-20'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'nestedAgents' }],
    procedure:
      `Model script \`cascade\`, hand-off \`${handoff.tool} ${JSON.stringify(handoff.params('…'))}\`. Alice sends the coordinator task; 5 s and 12 s later bob and carol write to the same session. Wait for every answer (up to 10 min). ` +
      'Precondition: the coder ran (a request of its conversation), else n/a. Checks: nothing lost; each sender hears a frame at least every heartbeat interval until its wait really ends; ' +
      'each waiting message is listed when it starts to wait and warned by acceptance + warnThresholdMs if it still waits then; a status names agent coder while it works; ' +
      'the coder\'s request after its malformed read carries the error (TOOL-1) in exactly the TOOL-2 words, and its retry succeeds. The seed\'s measures are noted (cascade-measures).',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      if (session.setModel === undefined) throw new Error('no model script (capability check failed)');
      await session.setModel(cascadeScript(handoff));
      const interval = session.facts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
      const warn = session.facts.warnThresholdMs;
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const carol = await session.connect('carol');
      const key = session.sessionKey('coordinator');
      const tags = { alice: 'cascade-alice', bob: 'cascade-bob', carol: 'cascade-carol' } as const;
      const a = await send(session, alice, key, `${CASCADE_MARKER} [${tags.alice}] Refactor the config loader with CC and report back.`);
      await session.sleep(5_000);
      const b = await send(session, bob, key, `[${tags.bob}] Is the refactor done yet?`);
      await session.sleep(7_000);
      const c = await send(session, carol, key, `[${tags.carol}] Also: please run the linter.`);
      const senders: [string, Sent, string][] = [['alice', a, tags.alice], ['bob', b, tags.bob], ['carol', c, tags.carol]];
      const ends = await waitEnded(session, [a, b, c], 600_000);

      // A wait closed by an empty final (OpenClaw's followups, DEP-3) really ends when the model answered the message.
      const real = new Map<Sent, WaitEnd & { emptyFinal: boolean }>();
      for (const [, s, tag] of senders) real.set(s, await realWaitEnd(session, ends.get(s)!, tag, 300_000));
      const log = (await waitRequestsDone(session, senders.map(([, , t]) => t), 120_000)) ?? (await modelLog(session));
      const rules = log.map((r) => r.rule);
      const coderLog = log.filter((r) => r.rule.startsWith('coder-') || asks(r, CODER_MARKER));

      // Precondition: the hand-off reached the coder.
      const handoffAnswer = (): string => {
        const i = log.findIndex((r) => r.rule === 'coordinator-handoff');
        if (i < 0) return `the coordinator's model was never asked (rules seen: ${rules.join(', ') || 'none'})`;
        const next = log.slice(i + 1).find((r) => asks(r, CASCADE_MARKER) && toolResultOf(r) !== null);
        return `the coordinator called ${handoff.tool} ${JSON.stringify(handoff.params('…'))}; ${next === undefined ? 'no coordinator request answered it' : `its tool result: ${JSON.stringify((toolResultOf(next) ?? '').slice(0, 300))}`}`;
      };
      precondition(coderLog.length > 0, () => `the coding agent never ran (no model request of the coder's conversation): ${handoffAnswer()}`);

      // The seed's measures.
      const laneWaitMs: Record<string, number | null> = {};
      const silenceMs: Record<string, number> = {};
      const firstFeedbackMs: Record<string, number | null> = {};
      const endsShown: Record<string, string> = {};
      let lost = 0;
      for (const [name, s, tag] of senders) {
        const reqs = log.filter((r) => asks(r, `[${tag}]`));
        laneWaitMs[name] = reqs.length === 0 ? null : round1(Math.min(...reqs.map((r) => r.t)) - s.at);
        const end = real.get(s)!;
        silenceMs[name] = round1(Math.max(0, ...silences(s.client, s.at, end.at).map((g) => g.gap)));
        const fb = firstOwnFeedback(s.client, s, key, end.at);
        firstFeedbackMs[name] = fb === null ? null : round1(fb);
        endsShown[name] = `${end.kind}${end.emptyFinal ? ' (empty-final, answered later)' : ''} after ${round1(end.at - s.at)} ms`;
        if (reqs.length === 0 && end.kind !== 'refused') lost++;
      }
      const malformedIdx = log.map((r, i) => (r.rule === 'coder-malformed-read' ? i : -1)).filter((i) => i >= 0);
      let returned = 0;
      let swallowed = 0;
      let errorText: string | null = null;
      for (const i of malformedIdx) {
        const next = log.slice(i + 1).find((r) => r.rule.startsWith('coder-') || asks(r, CODER_MARKER));
        const result = next === undefined ? null : toolResultOf(next);
        if (result !== null && result !== '') {
          returned++;
          errorText ??= result;
        } else swallowed++;
      }
      const waits = Object.values(laneWaitMs).filter((v): v is number => v !== null);
      const measures: CascadeMeasures = {
        handoff: handoff.name,
        laneWaitMs,
        longestLaneWaitMs: waits.length === 0 ? null : Math.max(...waits),
        silenceMs,
        longestSilenceMs: Math.max(...Object.values(silenceMs)),
        firstFeedbackMs,
        toolErrors: { calls: malformedIdx.length, returned, swallowed, text: errorText, retried: rules.includes('coder-retry-read') },
        messagesLost: lost,
        ends: endsShown,
        coderRequests: coderLog.length,
        modelRequests: log.length,
      };
      ctx.note(`cascade-measures ${JSON.stringify(measures)}`);

      // QUEUE-20: every message answered, none lost.
      const endA = real.get(a)!;
      checkRule(endA.state === 'final' && (endA.text !== '' || endA.emptyFinal), 'QUEUE-20', "the coordinator's task ends with a final answer", `${endA.kind} ${endA.state}`);
      checkRule(lost === 0, 'QUEUE-20', 'every accepted message reaches the model or is refused to its sender (nothing lost)',
        () => senders.filter(([n]) => laneWaitMs[n] === null).map(([n, s]) => `${n}'s ${s.runId} never reached the model (${endsShown[n]})`).join('; '));
      // HB-1 for every waiting sender, until its wait really ended.
      const tol = slack(ctx, session, interval);
      for (const [name, s] of senders) {
        const end = real.get(s)!;
        let worst = { gap: 0, after: s.at };
        for (const g of silences(s.client, s.at, end.at)) if (g.gap > worst.gap) worst = g;
        checkRule(worst.gap <= interval + tol, 'HB-1', `${name} (waiting ${round1(end.at - s.at)} ms) hears a frame at least every ${interval} ms`,
          () => `silent for ${round1(worst.gap)} ms after ${worst.after}; ${heard(s.client, worst.after - 1, 5)}`);
      }
      // STATUS-3 / STATUS-4 for the messages that waited.
      const wtol = slack(ctx, session, warn);
      for (const [name, s] of senders.slice(1)) {
        const waited = s.status === 'queued' || (laneWaitMs[name] ?? 0) > slack(ctx, session, 500);
        if (!waited) continue;
        const end = real.get(s)!;
        const list = statuses(s.client, key);
        const listed = list.find((e) => e.payload.waiting.some((w) => w.runId === s.runId));
        checkRule(listed !== undefined && listed.at <= s.at + slack(ctx, session, 500), 'STATUS-3', `${s.runId} (${name}, waited ${laneWaitMs[name] ?? '?'} ms for the model) is listed in a lane.status when it starts to wait (${s.at})`,
          () => (listed === undefined ? (list.length === 0 ? 'no lane.status event at all (DEP-8)' : 'never listed') : `first listed at ${listed.at}`));
        const stillWaitingAt = s.at + warn;
        const startedAt = list.find((e) => e.at > s.at && !e.payload.waiting.some((w) => w.runId === s.runId))?.at ?? (laneWaitMs[name] === null ? end.at : s.at + laneWaitMs[name]!);
        if (startedAt > stillWaitingAt + wtol) {
          const warned = list.find((e) => e.payload.waiting.some((w) => w.runId === s.runId && w.warning));
          checkRule(warned !== undefined && warned.at <= stillWaitingAt + wtol, 'STATUS-4',
            `${s.runId}, still waiting at ${stillWaitingAt} (acceptance + ${warn}), is warned by then`, () => (warned === undefined ? 'never warned' : `warned at ${warned.at}`));
        }
      }
      // STATUS-9: the overlay names the coder while it works.
      const coderShown = statuses(alice, key).find((e) => e.payload.active?.agentId === 'coder');
      checkRule(coderShown !== undefined, 'STATUS-9', 'a lane.status shows active.agentId coder while the coding agent generates',
        () => (statuses(alice, key).length === 0 ? 'no lane.status event at all (DEP-8)'
          : `agentIds shown: ${[...new Set(statuses(alice, key).map((e) => String(e.payload.active?.agentId)))].join(', ')}`));
      // TOOL-1/TOOL-2 through the model's eyes.
      const malformed = rules.indexOf('coder-malformed-read');
      expectRule(malformed >= 0, 'LANE-20', "the coder's conversation reached its malformed read (the script's first coder request)", rules.join(', '));
      const next = log.slice(malformed + 1).find((r) => r.rule.startsWith('coder-'));
      const nextResult = next === undefined ? null : toolResultOf(next);
      checkRule(next !== undefined && nextResult !== null && nextResult !== '', 'TOOL-1', "the coder's next request carries the malformed call's error result",
        () => (next === undefined ? 'no further coder request' : `${next.rule}: ${next.lastRole} ${JSON.stringify(next.lastMessage.slice(0, 120))}`));
      checkRule(nextResult === READ_EMPTY, 'TOOL-2', `exactly ${JSON.stringify(READ_EMPTY)}`, JSON.stringify(nextResult));
      checkRule(rules.includes('coder-retry-read') && rules.includes('coder-long-reply') && rules.includes('coordinator-summary'), 'TOOL-1',
        'the coder retried after the error, the retry succeeded and the work completed (coder retry, coder reply, coordinator summary)', rules.join(', '));
      ctx.note(`cascade: ${log.length} model requests (${coderLog.length} of the coder), alice waited ${round1(endA.at - a.at)} ms; bob ${endsShown['bob']}; carol ${endsShown['carol']}`);
    },
  };
}

/** Requests of the coder's conversation (rule or marker). */
export function coderRequests(log: readonly RequestLogEntry[]): RequestLogEntry[] {
  return log.filter((r) => r.rule.startsWith('coder-') || asks(r, CODER_MARKER));
}

export const CASCADE_CASES: readonly ConformanceCase[] = [cascadeCase()];
