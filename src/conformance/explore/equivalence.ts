/**
 * THE one place that says what "the same observable outcome" means between a
 * target and the reference on the same workload (docs/SPEC.md), and where
 * the SPEC allows freedom.
 *
 * An observation is reduced to its *outcome*: what each chat.send was
 * answered, how each message ended (ran, merged, steered, summarized,
 * rejected or aborted, with code and text), how each run that answered
 * messages ended (and its text), what each chat.abort aborted, which prompts
 * (and tool results) reached the model, in order, per session lane, and the
 * lane.status values each session's subscribers were sent. Two outcomes are
 * compared entry by entry; the first difference is a divergence, reported
 * with the rule it breaks.
 *
 * Everything the outcome leaves out is a freedom the SPEC grants, each listed
 * in FREEDOMS with the rule that grants it. Nothing else is left out.
 */
import type { RequestLogEntry } from '../../fake-model/server.ts';
import type { LaneStatusPayload } from '../../model/events.ts';
import { payloadProblem } from '../schemas.ts';
import type { Observation, SendRecord } from './play.ts';

/** LANE-12's grace for an aborted run to settle (INV-ABORT-SETTLES). */
export const ABORT_GRACE_MS = 1_000;

/** What the comparison deliberately ignores, and the rule that allows it. */
export const FREEDOMS: readonly { what: string; rule: string }[] = [
  { what: 'run ids (a run is named by the messages it carries: w<k>, collect runs by their messages)', rule: 'WS-13' },
  { what: 'session keys (named s<i>; texts that quote a key are compared with the key replaced)', rule: 'WS-13' },
  { what: 'every time: frame times, elapsedMs, waitedMs (timing is judged by the invariant checkers, within their bounds)', rule: 'STATUS-5' },
  { what: 'lane.status `reason` (informative)', rule: 'STATUS-2' },
  { what: 'how many deltas a run streams and their seq numbers (pacing; only the terminal text counts)', rule: 'WS-16' },
  { what: 'the text of a run aborted while running (the output so far depends on when the abort landed)', rule: 'WS-15' },
  { what: 'heartbeats and ticks (their bound is INV-SILENCE)', rule: 'HB-2' },
  { what: 'agent events other than lifecycle (tool, assistant, usage streams are SHOULD/MAY)', rule: 'WS-20' },
  { what: 'the wording of WS-level error responses (codes are compared)', rule: 'WS-7' },
  { what: 'on a real clock (over WebSocket): the lane.status sequence (changes that share an instant on the fake clock come apart and may each be sent, STATUS-5), and an aborted run\'s settle within the grace plus the timing tolerance', rule: 'STATUS-5' },
  { what: 'the status of a repeated chat.send: `in_flight` or `ok` (with the first call\'s runId) are one answer, "a repeat"', rule: 'WS-14' },
  { what: 'the `message` of a run that failed (its output so far, sent or not: WS-15 gives the `error` state an errorMessage only)', rule: 'WS-15' },
  { what: 'the output of a tool call that passed validation (the tool\'s own result; only error results have SPEC texts)', rule: 'TOOL-1' },
  { what: 'the errorMessage of a message aborted before its run started (QUEUE-18 fixes its code, LANE_ABORTED; the reference words it as LANE-12\'s task text, `aborted while queued` also conforms)', rule: 'QUEUE-18' },
  { what: 'the errorMessage of a run that failed (the model\'s error in the transport\'s words; its `error` state is compared)', rule: 'WS-15' },
];

export interface Divergence {
  /** The SPEC rule the target's difference breaks. */
  rule: string;
  /** Which part of the outcome differs (e.g. `message w3`, `prompts of s0 #2`). */
  where: string;
  /** What the reference did (what the SPEC requires here). */
  expected: string;
  /** What the target did. */
  observed: string;
  /** When (gateway ms) the first of the two differing entries happened. */
  t?: number | null;
}

export interface RunEnd { state: string; text: string | null; error: string | null }

export interface Outcome {
  /** k -> chat.send answer: `started`, `queued`, `rejected QUEUE_FULL`, `error {...}`. */
  answers: string[];
  /** k -> how its sender's wait ended (WS-17) or `unheard` (its sender left first). */
  ends: string[];
  /** run name -> how it ended. */
  runs: Map<string, RunEnd>;
  /** abort step -> what it aborted (run names, sorted). */
  aborts: string[];
  /** clear step -> what the operator hook answered (QUEUE-11). */
  clears: string[];
  /** resend step -> how the repeated chat.send was answered (WS-14). */
  resends: string[];
  /** The graceful stop after the last step (WS-23): whether it completed and who was told, or null. */
  shutdown: string | null;
  /** session name (s<i>, or `nested`) -> the model requests of its runs, in order. */
  prompts: Map<string, string[]>;
  /** s<i> -> the distinct lane.status payloads its subscribers were sent, normalized. */
  statuses: Map<string, string[]>;
  /**
   * Per message: the mode and session (for choosing the rule of a difference), and whether another
   * message's run of its session had started (answered `started`, or reached the model) and not ended
   * when it was sent (LANE-2).
   */
  meta: { mode: string; session: number; sessionBusy: boolean }[];
  /** When each entry happened (gateway ms): the first difference in time is reported. Keyed `answer:k`, `end:k`, `run:name`, `abort:i`, `prompt:g:i`, `status:s:i`. */
  times: Map<string, number>;
}

interface Chat { runId?: string; state?: string; seq?: number; status?: string; carriedBy?: string; errorCode?: string; errorMessage?: string; message?: { content?: { text?: string }[] } }

function textOf(p: Chat): string {
  return (p.message?.content ?? []).map((c) => c.text ?? '').join('');
}

function terminal(state: string | undefined): boolean {
  return state === 'final' || state === 'error' || state === 'aborted';
}

/** Replaces the session keys of `o` in a text by s<i>. */
function keyNormalizer(o: Observation): (text: string) => string {
  const pairs = o.sessionKeys.map((key, i) => [key, `s${i}`] as const).sort((a, b) => b[0].length - a[0].length);
  return (text) => {
    let out = text;
    for (const [key, name] of pairs) out = out.split(key).join(name);
    return out;
  };
}

/** Names runs by the messages they carry (run ids are free, WS-13). */
export class RunNames {
  private readonly byRunId = new Map<string, string>();
  constructor(o: Observation) {
    const own = new Map<string, number[]>();
    const merged = new Map<string, number[]>();
    const riders = new Map<string, number[]>();
    const sendByRunId = new Map<string, SendRecord>();
    for (const s of o.sends) if (s.runId !== null) sendByRunId.set(s.runId, s);
    for (const s of o.sends) if (s.runId !== null && s.status !== 'rejected') push(own, s.runId, s.k);
    for (const c of o.connections) {
      for (const e of c.events) {
        if (e.event !== 'chat') continue;
        const p = e.payload as Chat;
        if (p.state !== 'status' || typeof p.carriedBy !== 'string' || typeof p.runId !== 'string') continue;
        const s = sendByRunId.get(p.runId);
        if (s === undefined) continue;
        if (p.status === 'merged') push(merged, p.carriedBy, s.k);
        else push(riders, p.carriedBy, s.k);
      }
    }
    const carriers = new Set([...merged.keys(), ...riders.keys()]);
    for (const runId of carriers) {
      if (own.has(runId)) continue;
      const ks = merged.get(runId);
      this.byRunId.set(runId, ks !== undefined ? `collect(${uniq(ks).map((k) => `w${k}`).join('+')})` : `summary(${uniq(riders.get(runId)!).map((k) => `w${k}`).join('+')})`);
    }
    for (const [runId, ks] of own) this.byRunId.set(runId, `w${ks[0]}`);
  }

  /** A text with every run id it quotes replaced by the run's name (LANE-12's `task <taskId> aborted: ...`). */
  inText(text: string): string {
    let out = text;
    // Longest first: `run-1` is a prefix of `run-10`.
    for (const [runId, name] of [...this.byRunId].sort((a, b) => b[0].length - a[0].length)) if (out.includes(runId)) out = out.split(runId).join(name);
    return out;
  }

  name(runId: string | null | undefined): string {
    if (runId === null || runId === undefined) return '-';
    return this.byRunId.get(runId) ?? 'unknown-run';
  }
}

function push(map: Map<string, number[]>, key: string, k: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [k]);
  else list.push(k);
}

function uniq(ks: number[]): number[] {
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** The session a model request belongs to: that of its lowest message marker, or `nested`. */
function requestGroup(o: Observation, entry: RequestLogEntry): string {
  const texts = entry.userMessages ?? [entry.lastUserMessage];
  let best: number | null = null;
  for (const t of texts) {
    for (const m of t.matchAll(/\[w(\d+)\]/g)) {
      const k = Number(m[1]);
      if (best === null || k < best) best = k;
    }
  }
  if (best !== null) {
    const s = o.sends.find((x) => x.k === best);
    if (s !== undefined) return `s${s.session}`;
  }
  return texts.some((t) => /\[n\d+\]/.test(t)) ? 'nested' : 'other';
}

function lowestMarker(text: string): number | null {
  let best: number | null = null;
  for (const m of text.matchAll(/\[w(\d+)\]/g)) if (best === null || Number(m[1]) < best) best = Number(m[1]);
  return best;
}

/** What a tool that ran returned: its own output, which no rule of the SPEC fixes (TOOL-1..7 fix the error results). */
export const TOOL_OUTPUT = '(the tool\'s output)';

function describeRequest(entry: RequestLogEntry): string {
  const user = (entry.userMessages ?? [entry.lastUserMessage]).map((t) => JSON.stringify(t)).join(' + ');
  return entry.lastToolResult === null ? user : `${user} <- tool result ${JSON.stringify(entry.lastToolResult)}`;
}

/**
 * A model request as the comparison sees it: an error result (TOOL-1..5, a nested run's failure: `Error...`)
 * or an empty one (TOOL-1) as its text; any other result is a tool's own output, free (FREEDOMS).
 */
function promptKey(described: string): string {
  const at = described.indexOf(' <- tool result "');
  if (at < 0) return described;
  const result = JSON.parse(described.slice(at + ' <- tool result '.length)) as string;
  return result === '' || result.startsWith('Error') ? described : `${described.slice(0, at)} <- tool result ${TOOL_OUTPUT}`;
}

function normalizeStatus(p: LaneStatusPayload, names: RunNames, keys: (t: string) => string): string {
  return JSON.stringify({
    state: p.state,
    active: p.active === null ? null : { run: names.name(p.active.runId), agentId: p.active.agentId === null ? null : keys(p.active.agentId), waitingFor: p.active.waitingFor === null ? null : keys(p.active.waitingFor) },
    waiting: p.waiting.map((w) => ({ run: names.name(w.runId), position: w.position, queueAhead: w.queueAhead, warning: w.warning })),
    queued: p.queued,
    processing: p.processing,
    warning: p.warning,
  });
}

/** The outcome of one observation (see the module comment). */
export function outcomeOf(o: Observation): Outcome {
  const names = new RunNames(o);
  const keys = keyNormalizer(o);
  const sendByRunId = new Map<string, SendRecord>();
  for (const s of o.sends) if (s.runId !== null) sendByRunId.set(s.runId, s);
  const times = new Map<string, number>();
  o.sends.forEach((s) => times.set(`answer:${s.k}`, s.sentAt));
  const answers = o.sends.map((s) => (s.error !== null ? `error ${keys(s.error)}` : `${s.status ?? '?'}${s.code !== null ? ` ${s.code}` : ''}`));

  // Per message: what its sender heard (its connection only: WS-17 frames go to the sender).
  const ends: string[] = o.sends.map((s) => {
    if (s.error !== null) return 'not accepted';
    if (s.status === 'rejected') return `rejected ${s.code ?? '-'}`;
    const conn = o.connections.find((c) => c.connId === s.connId);
    if (conn === undefined) return 'unheard';
    let carrier: { status: string; by: string } | null = null;
    for (const e of conn.events) {
      if (e.event !== 'chat' || e.at < s.sentAt) continue;
      const p = e.payload as Chat;
      if (p.runId === s.runId) {
        if (p.state === 'status' && typeof p.carriedBy === 'string') {
          carrier = { status: p.status ?? '?', by: p.carriedBy };
          continue;
        }
        if (terminal(p.state)) {
          times.set(`end:${s.k}`, e.at);
          if (p.seq === 0 && typeof p.errorCode === 'string') {
            // QUEUE-18 fixes the code of a message aborted before its run started, not its text (FREEDOMS).
            if (p.state === 'aborted' && p.errorCode === 'LANE_ABORTED') return 'aborted LANE_ABORTED';
            return `${p.state === 'aborted' ? 'aborted' : 'rejected'} ${p.errorCode}: ${names.inText(keys(p.errorMessage ?? ''))}`;
          }
          // WS-17: a wait ends with a run's terminal frame (seq >= 1) or a refusal with its code; a bare seq-0 final is neither (DEP-3).
          if (p.seq === 0) return `a ${p.state} frame outside any run (seq 0, no errorCode)`;
          // The answer its sender got (WS-17); a run aborted while running has only its output so far (FREEDOMS, WS-15).
          // A failed run's `message` is not the SPEC's (WS-15 gives `error` an errorMessage): its output so far is free (FREEDOMS).
          return p.state === 'aborted' ? 'ran (aborted)' : p.state === 'error' ? 'ran (error)' : `ran (${p.state} ${JSON.stringify(textOf(p))})`;
        }
      }
      if (carrier !== null && p.runId === carrier.by && terminal(p.state) && p.seq !== 0) {
        times.set(`end:${s.k}`, e.at);
        return `${carrier.status} into ${names.name(carrier.by)} (${p.state})`;
      }
    }
    times.set(`end:${s.k}`, o.endAt);
    if (conn.closedAt !== null) return 'unheard';
    return carrier === null ? 'no end heard' : `${carrier.status} into ${names.name(carrier.by)} (no end heard)`;
  });

  // How each run that answered messages ended, as any subscriber heard it.
  const runs = new Map<string, RunEnd>();
  for (const c of o.connections) {
    for (const e of c.events) {
      if (e.event !== 'chat') continue;
      const p = e.payload as Chat;
      if (!terminal(p.state) || p.seq === 0 || typeof p.runId !== 'string') continue;
      const name = names.name(p.runId);
      if (runs.has(name)) continue;
      times.set(`run:${name}`, e.at);
      runs.set(name, {
        state: p.state!,
        // WS-15: the output so far of an aborted run depends on when the abort landed (FREEDOMS).
        // WS-15: a failed run's `message` (its output so far, if sent at all) is free too (FREEDOMS).
        text: p.state === 'aborted' || p.state === 'error' ? null : textOf(p),
        // WS-15: a failed run's errorMessage is the model's error in the transport's words (FREEDOMS).
        error: null,
      });
    }
  }

  o.aborts.forEach((a, i) => times.set(`abort:${i}`, a.at));
  o.clears.forEach((c, i) => times.set(`clear:${i}`, c.at));
  const clears = o.clears.map((c) => c.result);
  o.resends.forEach((r, i) => times.set(`resend:${i}`, r.at));
  const resends = o.resends.map((r) => {
    if (r.of === null) return 'nothing to repeat';
    if (r.error !== null) return `error ${keys(r.error)}`;
    const first = o.sends[r.of]!;
    const same = r.runId !== null && r.runId === first.runId;
    // WS-14: the first call's runId with in_flight (or ok once settled, DEP-9), or the first refusal's code.
    if (same && (r.status === 'in_flight' || r.status === 'ok')) return `a repeat of w${r.of} (its runId)`;
    if (first.status === 'rejected' && r.status === 'rejected' && r.code === first.code) return `rejected ${r.code ?? '-'} as w${r.of} was`;
    return `${r.status ?? '?'}${r.code !== null ? ` ${r.code}` : ''} (${same ? `w${r.of}'s runId` : 'a new runId'})`;
  });
  const aborts = o.aborts.map((a) => (a.error !== null ? `error ${a.error}` : (a.aborted ?? []).map((id) => names.name(id)).sort().join(', ') || 'nothing'));

  const prompts = new Map<string, string[]>();
  for (const entry of o.model) {
    const group = requestGroup(o, entry);
    times.set(`prompt:${group}:${prompts.get(group)?.length ?? 0}`, entry.t);
    const list = prompts.get(group);
    // A nested run's failure quotes its session key (free, WS-13).
    const text = keys(describeRequest(entry));
    if (list === undefined) prompts.set(group, [text]);
    else list.push(text);
  }

  const statuses = new Map<string, string[]>();
  const seen = new Set<string>();
  const index = new Map<string, number>(o.sessionKeys.map((k, i) => [k, i]));
  const all: { at: number; order: number; session: number; text: string }[] = [];
  let order = 0;
  for (const c of o.connections) {
    for (const e of c.events) {
      order++;
      if (e.event !== 'lane.status') continue;
      const p = e.payload as LaneStatusPayload;
      const session = index.get(p.sessionKey);
      if (session === undefined) continue;
      const problem = payloadProblem('laneStatus', p);
      const text = problem === null ? normalizeStatus(p, names, keys) : JSON.stringify({ malformed: problem });
      // One status sent to several subscribers at once is one status.
      const id = `${session}|${e.at}|${text}`;
      if (seen.has(id)) continue;
      seen.add(id);
      all.push({ at: e.at, order, session, text });
    }
  }
  all.sort((a, b) => a.at - b.at || a.order - b.order);
  for (const s of all) {
    times.set(`status:s${s.session}:${statuses.get(`s${s.session}`)?.length ?? 0}`, s.at);
    const list = statuses.get(`s${s.session}`);
    if (list === undefined) statuses.set(`s${s.session}`, [s.text]);
    else list.push(s.text);
  }
  // When each message's run first reached the model (its lowest marker), for sessionBusy.
  // WS-23: the stop completes, and every connection open when it began is sent `shutdown` with its abortRunning.
  let shutdown: string | null = null;
  if (o.shutdown !== null) {
    const stop = o.shutdown;
    times.set('shutdown', stop.at);
    const open = o.connections.filter((c) => c.closedAt === null || c.closedAt > stop.at);
    const told = open.filter((c) => c.events.some((e) => e.event === 'shutdown' && (e.payload as { abortRunning?: unknown } | null)?.abortRunning === stop.abortRunning));
    shutdown = `stop (abortRunning ${stop.abortRunning}) ${stop.result}; ${told.length} of ${open.length} open connection(s) sent shutdown {abortRunning: ${stop.abortRunning}}`;
  }
  const firstRequest = new Map<number, number>();
  for (const entry of o.model) {
    const k = lowestMarker((entry.userMessages ?? [entry.lastUserMessage]).join(' '));
    if (k !== null && !firstRequest.has(k)) firstRequest.set(k, entry.t);
  }
  const sessionBusy = (s: SendRecord): boolean => o.sends.some((x) => x.k < s.k && x.session === s.session &&
    ((x.status === 'started' && x.at <= s.sentAt) || (firstRequest.get(x.k) ?? Infinity) <= s.sentAt) && (times.get(`end:${x.k}`) ?? Infinity) > s.sentAt);
  const meta = o.sends.map((s) => ({ mode: s.mode, session: s.session, sessionBusy: sessionBusy(s) }));
  return { answers, ends, runs, aborts, clears, resends, shutdown, prompts, statuses, meta, times };
}

// ------------------------------------------------------------------ rules of differences

function answerRule(mode: string, expected: string, observed: string): string {
  if (expected.startsWith('rejected') || observed.startsWith('rejected')) return expected.includes('GATEWAY_SHUTDOWN') ? 'QUEUE-19' : 'QUEUE-13';
  if (expected === 'steered' || observed === 'steered') return 'QUEUE-3';
  if (expected.startsWith('error') || observed.startsWith('error')) return 'WS-13';
  if (mode === 'collect') return 'QUEUE-7';
  if (mode === 'followup' || mode === 'steer-backlog' || mode === 'steer') return 'QUEUE-4';
  return 'QUEUE-2';
}

function endRule(expected: string, observed: string): string {
  if (observed.includes('outside any run')) return 'WS-17';
  // What the reference did is what the SPEC required here: its rule is the one broken.
  if (expected.includes('QUEUE_INTERRUPTED')) return 'QUEUE-17';
  if (expected.includes('QUEUE_FULL')) return 'QUEUE-13';
  if (expected.startsWith('summarized')) return 'QUEUE-16';
  if (expected.includes('QUEUE_DROPPED')) return 'QUEUE-14';
  if (expected.includes('LANE_CLEARED')) return 'QUEUE-11';
  if (expected.includes('LANE_ABORTED')) return 'QUEUE-18';
  // Refused by the stop while still pending (QUEUE-19) where the target never ended it at all: lost before the
  // stop; a pending summarized message (its summary owed, QUEUE-16) or any other (nothing lost, QUEUE-20).
  if (expected.includes('GATEWAY_SHUTDOWN') && observed === 'no end heard') return expected.includes('dropped message not summarized') ? 'QUEUE-16' : 'QUEUE-20';
  if (expected.includes('GATEWAY_SHUTDOWN')) return 'QUEUE-19';
  if (expected.startsWith('merged')) return 'QUEUE-9';
  if (expected.startsWith('steered')) return 'QUEUE-3';
  if (observed === 'no end heard' || observed.endsWith('(no end heard)')) return 'QUEUE-20';
  const both = `${expected} | ${observed}`;
  if (both.includes('summarized')) return 'QUEUE-16';
  if (both.includes('merged')) return 'QUEUE-9';
  if (both.includes('steered')) return 'QUEUE-3';
  if (observed.includes('QUEUE_DROPPED') || observed.includes('QUEUE_FULL')) return 'QUEUE-12';
  if (observed.includes('LANE_ABORTED')) return 'QUEUE-18';
  return 'WS-17';
}

function runRule(expected: RunEnd | undefined, observed: RunEnd | undefined): string {
  if (expected === undefined || observed === undefined) return 'WS-15';
  if (expected.state !== observed.state) return expected.state === 'aborted' || observed.state === 'aborted' ? 'QUEUE-18' : 'WS-15';
  return expected.text !== observed.text ? 'WS-16' : 'WS-15';
}

/** The TOOL rule a differing tool result breaks, from the reference's text. */
export function toolRule(expected: string, observed: string): string {
  if (!expected.includes('<- tool result') || !observed.includes('<- tool result')) return 'TOOL-1';
  const ref = expected.slice(expected.indexOf('<- tool result'));
  // The reference answered an error and the target an empty result: the agent never heard it (TOOL-1).
  if (ref.includes('"Error:') && observed.slice(observed.indexOf('<- tool result')).startsWith('<- tool result ""')) return 'TOOL-1';
  if (ref.includes('"Error: unknown tool')) return 'TOOL-4';
  if (ref.includes('not valid JSON') || ref.includes('must be a JSON object')) return 'TOOL-5';
  if (ref.includes("requires '")) return 'TOOL-2';
  if (ref.includes('must be ') || ref.includes('Error:')) return 'TOOL-3';
  return observed.includes('"Error:') ? 'TOOL-6' : 'TOOL-1';
}

function promptRule(group: string, expected: string | undefined, observed: string | undefined, sameSet: boolean): string {
  const both = `${expected ?? ''} | ${observed ?? ''}`;
  if (expected !== undefined && observed !== undefined && (expected.includes('<- tool result') || observed.includes('<- tool result'))) {
    const userE = expected.split(' <- tool result')[0];
    const userO = observed.split(' <- tool result')[0];
    if (userE === userO) return toolRule(expected, observed);
  }
  if (group === 'nested') return 'LANE-20';
  if (both.includes('[Queue overflow]')) return 'QUEUE-15';
  if (both.includes('[Queued messages while agent was busy]')) return 'QUEUE-9';
  if (sameSet) return 'LANE-4';
  if (expected === undefined || observed === undefined) return 'QUEUE-20';
  return 'LANE-5';
}

function statusRule(expected: string | undefined, observed: string | undefined): string {
  // A status the reference sent and the target did not: delivery (STATUS-1); one the target sent in excess: STATUS-5.
  if (expected === undefined) return 'STATUS-5';
  if (observed === undefined) return (JSON.parse(expected) as { waiting: unknown[] }).waiting.length > 0 ? 'STATUS-3' : 'STATUS-1';
  const e = JSON.parse(expected) as Record<string, unknown>;
  const o = JSON.parse(observed) as Record<string, unknown>;
  if ('malformed' in o || 'malformed' in e) return 'STATUS-2';
  const same = (k: string): boolean => JSON.stringify(e[k]) === JSON.stringify(o[k]);
  if (!same('processing')) return 'STATUS-6';
  if (!same('warning')) return 'STATUS-4';
  if (e['state'] !== o['state'] && (e['state'] === 'idle' || o['state'] === 'idle')) return 'STATUS-8';
  const ea = e['active'] as { agentId?: unknown } | null;
  const oa = o['active'] as { agentId?: unknown } | null;
  if (ea !== null && oa !== null && ea.agentId !== oa.agentId) return 'STATUS-9';
  const ew = e['waiting'] as unknown[];
  const ow = o['waiting'] as unknown[];
  if (ew.length !== ow.length) return 'STATUS-3';
  return 'STATUS-2';
}

/**
 * The first difference in time between the target's outcome and the
 * reference's (the earliest is the cause, what follows its consequences):
 * what senders were told, how messages and runs ended, aborts, what the
 * model got, lane.status.
 */
export interface CompareOptions {
  /** Compare the lane.status sequences (true on a fake clock; see FREEDOMS for a real one). Default true. */
  statusSequence?: boolean;
  /** How much later than the reference an aborted run may settle before that is a LANE-12 divergence. Default ABORT_GRACE_MS. */
  abortGraceMs?: number;
}

export function compareOutcomes(reference: Outcome, target: Outcome, options: CompareOptions = {}): Divergence | null {
  const grace = options.abortGraceMs ?? ABORT_GRACE_MS;
  const found: { t: number; d: Divergence }[] = [];
  const at = (key: string): number => Math.min(reference.times.get(key) ?? Infinity, target.times.get(key) ?? Infinity);
  for (let k = 0; k < reference.answers.length; k++) {
    const e = reference.answers[k]!;
    const o = target.answers[k] ?? '(not sent)';
    const m = reference.meta[k]!;
    // Started at once while another run of its session was running in the target: the session lock (LANE-2).
    const rule = e === 'queued' && o === 'started' && target.meta[k]?.sessionBusy === true ? 'LANE-2' : answerRule(m.mode, e, o);
    if (e !== o) found.push({ t: at(`answer:${k}`), d: { rule, where: `chat.send answer of w${k} (${m.mode}, s${m.session})`, expected: e, observed: o } });
  }
  for (let k = 0; k < reference.ends.length; k++) {
    const e = reference.ends[k]!;
    const o = target.ends[k] ?? '(not sent)';
    const m = reference.meta[k]!;
    if (e !== o) found.push({ t: at(`end:${k}`), d: { rule: endRule(e, o), where: `how w${k} ended for its sender (${m.mode}, s${m.session})`, expected: e, observed: o } });
  }
  for (const [name, e] of reference.runs) {
    const o = target.runs.get(name);
    if (o === undefined || JSON.stringify(o) !== JSON.stringify(e)) {
      found.push({ t: at(`run:${name}`), d: { rule: runRule(e, o), where: `end of run ${name}`, expected: JSON.stringify(e), observed: o === undefined ? 'no terminal frame for that run' : JSON.stringify(o) } });
    }
  }
  for (const [name, o] of target.runs) {
    if (!reference.runs.has(name)) found.push({ t: at(`run:${name}`), d: { rule: name === 'unknown-run' ? 'WS-17' : 'WS-15', where: `run ${name}`, expected: 'no such run (the reference ran none)', observed: JSON.stringify(o) } });
  }
  for (let i = 0; i < reference.aborts.length; i++) {
    const e = reference.aborts[i]!;
    const o = target.aborts[i] ?? '(not sent)';
    if (e !== o) found.push({ t: at(`abort:${i}`), d: { rule: 'QUEUE-18', where: `chat.abort #${i + 1} answer`, expected: e, observed: o } });
  }
  for (let i = 0; i < reference.clears.length; i++) {
    const e = reference.clears[i]!;
    const o = target.clears[i] ?? '(not done)';
    if (e !== o) found.push({ t: at(`clear:${i}`), d: { rule: 'QUEUE-11', where: `operator clear #${i + 1}`, expected: `removed ${e}`, observed: o === 'no operator hook' ? 'no operator hook (supports.queueClear is declared)' : `removed ${o}` } });
  }
  for (let i = 0; i < reference.resends.length; i++) {
    const e = reference.resends[i]!;
    const o = target.resends[i] ?? '(not sent)';
    if (e !== o) found.push({ t: at(`resend:${i}`), d: { rule: 'WS-14', where: `repeated chat.send #${i + 1} (same idempotency key)`, expected: e, observed: o } });
  }
  if (reference.shutdown !== target.shutdown) {
    found.push({ t: at('shutdown'), d: { rule: 'WS-23', where: 'the graceful stop after the last step', expected: reference.shutdown ?? 'no stop', observed: target.shutdown ?? 'no stop' } });
  }
  const groups = [...new Set([...reference.prompts.keys(), ...target.prompts.keys()])].sort();
  for (const g of groups) {
    const e = reference.prompts.get(g) ?? [];
    const o = target.prompts.get(g) ?? [];
    const sameSet = JSON.stringify(e.map(promptKey).sort()) === JSON.stringify(o.map(promptKey).sort());
    for (let i = 0; i < Math.max(e.length, o.length); i++) {
      if ((e[i] === undefined ? undefined : promptKey(e[i]!)) !== (o[i] === undefined ? undefined : promptKey(o[i]!))) {
        // The model got a request of a run the reference had aborted: the abort did not stop it (LANE-12).
        const k = lowestMarker(o[i] ?? '');
        const ranOnAfterAbort = k !== null && (reference.ends[k] ?? '').includes('aborted') && !e.slice(i).map(promptKey).includes(promptKey(o[i]!));
        found.push({
          t: at(`prompt:${g}:${i}`),
          d: {
            rule: ranOnAfterAbort ? 'LANE-12' : promptRule(g, e[i], o[i], sameSet), where: `model request #${i + 1} of ${g === 'nested' ? 'the nested runs' : `session ${g}`}`,
            expected: e[i] ?? '(no such request)', observed: o[i] ?? '(no such request)',
          },
        });
        break;
      }
    }
  }
  const sessions = options.statusSequence === false ? [] : [...new Set([...reference.statuses.keys(), ...target.statuses.keys()])].sort();
  for (const s of sessions) {
    const e = reference.statuses.get(s) ?? [];
    const o = target.statuses.get(s) ?? [];
    for (let i = 0; i < Math.max(e.length, o.length); i++) {
      if (e[i] !== o[i]) {
        found.push({ t: at(`status:${s}:${i}`), d: { rule: statusRule(e[i], o[i]), where: `lane.status #${i + 1} of session ${s}`, expected: e[i] ?? '(none sent)', observed: o[i] ?? '(none sent)' } });
        break;
      }
    }
  }
  // LANE-12 lets an aborted run settle within its grace; the reference settles at once. A target that
  // took longer shifts everything after it: a difference from then on is reported under LANE-12, saying so.
  let late: { name: string; at: number; delay: number } | null = null;
  for (const [name, e] of reference.runs) {
    const o = target.runs.get(name);
    if (e.state !== 'aborted' || o?.state !== 'aborted') continue;
    const refAt = reference.times.get(`run:${name}`);
    const tgtAt = target.times.get(`run:${name}`);
    if (refAt === undefined || tgtAt === undefined || tgtAt <= refAt) continue;
    if (late === null || refAt < late.at) late = { name, at: refAt, delay: tgtAt - refAt };
  }
  if (late !== null && late.delay > grace) {
    found.push({ t: late.at, d: { rule: 'LANE-12', where: `end of aborted run ${late.name}`, expected: `settled at once (t=${late.at})`, observed: `settled ${late.delay} ms later, beyond the ${grace} ms grace` } });
  }
  if (found.length === 0) return null;
  // Earliest first; at one instant, in the order above (answers, ends, runs, aborts, prompts, statuses).
  // A lane.status difference is reported only when nothing else differs: a status describes the queue, so
  // where a message's own outcome differs too (lost, merged otherwise, ...), the status is its symptom
  // (a lost collect message shows first as a wrong processing count, STATUS-6, but breaks QUEUE-9/20).
  const outcomes = found.filter((f) => !f.d.where.startsWith('lane.status'));
  const pool = outcomes.length > 0 ? outcomes : found;
  let best = pool[0]!;
  for (const f of pool) if (f.t < best.t) best = f;
  // A message the reference ran and the target never ended (QUEUE-20) is the cause of what differs after it
  // was accepted (the next message's prompt where its own should be, LANE-5): reported at its acceptance.
  for (let k = 0; k < reference.ends.length; k++) {
    const o = target.ends[k];
    if (o !== 'no end heard' || !(reference.ends[k] ?? '').startsWith('ran')) continue;
    const sentAt = at(`answer:${k}`);
    if (sentAt > best.t) continue;
    const lost = found.find((f) => f.d.where.startsWith(`how w${k} ended`));
    if (lost !== undefined) best = { t: sentAt, d: lost.d };
    break;
  }
  // A run chat.abort named that was still live in the target when the difference arose (its end came later or
  // was not heard), while the reference settles aborted runs at once: the same consequence of a slow abort.
  if (late === null || best.t < late.at) {
    target.aborts.forEach((list, i) => {
      const abortAt = target.times.get(`abort:${i}`);
      if (abortAt === undefined || !(best.t > abortAt)) return;
      for (const name of list.split(', ')) {
        if (!reference.aborts[i]?.split(', ').includes(name)) continue;
        // Evidence only: the target's end was heard, after the difference (and after the reference's, when heard).
        const endAt = target.times.get(`run:${name}`);
        const refEnd = reference.times.get(`run:${name}`);
        if (endAt === undefined || !(endAt > best.t) || (refEnd !== undefined && refEnd >= endAt)) continue;
        if (late === null || abortAt < late.at) late = { name, at: abortAt, delay: endAt - abortAt };
      }
    });
  }
  if (late !== null && best.t >= late.at && best.d.rule !== 'LANE-12') {
    return {
      ...best.d, rule: 'LANE-12', t: best.t === Infinity ? null : best.t,
      where: `${best.d.where}, while aborted run ${late.name} was still live in the target (it settled ${late.delay} ms after the abort; the reference settles it at once): ${best.d.rule} differs as a consequence; LANE-12 allows up to ${grace} ms, this comparison assumes the prompt settle`,
    };
  }
  return { ...best.d, t: best.t === Infinity ? null : best.t };
}
