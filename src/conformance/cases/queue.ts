/**
 * QUEUE-* (and WS-13..WS-19 where a client can see them): what happens to a
 * message sent while its session is busy, seen from the outside only: the
 * chat.send answers, the chat frames each sender hears, and the requests the
 * scripted model receives (a collect prompt, an overflow summary and a steer
 * are all visible in the model's request log).
 *
 * Cases that need a queue mode pass it as config (in-process targets honour
 * it); a target that runs its own configuration must expose it as
 * `session.config`, and a case whose needs it does not meet is n/a with the
 * reason. Durations are gateway ms (see gateway-support.ts).
 */
import { Prng } from '../../model/prng.ts';
import { abortedRunIds, payloadProblem } from '../schemas.ts';
import { noise, pacingViolation } from '../tolerances.ts';
import { NotApplicable, checkRule, expectRule, precondition, type ConformanceCase } from '../types.ts';
import {
  ABORT_GRACE_MS, DELTA_PACING_FLOOR_MS, DELTA_THROTTLE_MS, GATEWAY, abortBound, gatewayMs, judgesAbortTiming,
  asks, asksExactly, bystander, chats, describeBystander, describeRequests, expectBufferedWhileBusy, fail, heard, isTerminal, marker, modelLog, needQueue, observes, on, openGateway,
  declaredQueue, modelLogWhen, operatorClearQueue, requestsWith, requireConfig, script, send, sendOrRefusedAsRequest, slack, terminals, turn, uniqueKey, userTexts, waitAllEnded, waitChat, waitEnd, waitRequests, waitUntil, waitedBehind, isVirtual, nowOf,
  type Sent, type WaitEnd,
} from './gateway-support.ts';

const COLLECT_HEADER = '[Queued messages while agent was busy]';
/** Longest stretch of real time a case waits to watch a gateway's memory (idempotency keys). */
const MEMORY_WATCH_REAL_MS = 30_000;

function collectPrompt(texts: readonly string[]): string {
  return COLLECT_HEADER + texts.map((t, i) => `\n\n---\nQueued #${i + 1}\n${t}`).join('');
}

/** A run that thinks silently for `ms`, then streams 4 words over 300 ms. */
const hold = (ms: number) => turn({ ttftMs: ms, streamMs: 300, tokens: 4 });
/** A run that streams `tokens` words over `ms` after 300 ms. */
const stream = (ms: number, tokens = 30) => turn({ ttftMs: 300, streamMs: ms, tokens });

/** The text of a transcript entry: WS-19's `text`, or a `content` string or list of text parts (other gateways' entries). */
function entryText(m: Record<string, unknown>): string {
  if (typeof m.text === 'string') return m.text;
  const c = m.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((part) => (part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '')).join('');
  return '';
}

function endOf(ends: Map<Sent, WaitEnd>, s: Sent): WaitEnd {
  const end = ends.get(s);
  if (end === undefined) fail('QUEUE-20', `message ${s.runId} settles`, 'no wait end');
  return end;
}

function describeEnd(end: WaitEnd): string {
  return `${end.kind} (${end.state}${end.status !== null ? `, ${end.status}` : ''}${end.errorCode !== null ? `, ${end.errorCode}` : ''}) via ${end.runId} at ${end.at}`;
}

/** The refusal frame (chat error/aborted, seq 0) a sender got for its message, if any. */
function refusalOf(s: Sent) {
  return chats(s.client, s.runId).find((e) => (e.payload.state === 'error' || e.payload.state === 'aborted') && typeof e.payload.errorCode === 'string') ?? null;
}

/**
 * Precondition of a busy-session case: `first`'s run had not ended (its
 * sender heard no terminal frame) when the last of `later` was answered, so
 * every one of them really arrived while the session was busy.
 */
function precondBusy(first: Sent, later: readonly Sent[]): void {
  const last = Math.max(...later.map((s) => s.at));
  const ended = terminals(first.client, first.runId).find((e) => e.at <= last);
  precondition(ended === undefined, () => `the session was busy when the later messages came: ${first.runId} had already ended at ${ended!.at} (the last answer came at ${last})`);
}

/**
 * The sender of `s` heard its refusal: a chat `state` frame with errorCode
 * `code` (and errorMessage `message` when given). Soft: records what is wrong
 * and returns whether it all held.
 */
function expectRefused(s: Sent, rule: string, state: 'error' | 'aborted', code: string, message: string | null): boolean {
  const frame = refusalOf(s);
  if (frame === null) {
    // What it heard for its own runId first (a refusal without errorCode is named as such), then everything.
    const own = () => chats(s.client, s.runId).map((e) => `${e.at}:chat ${s.runId} ${e.payload.state}${isTerminal(e.payload.state) ? ' (no errorCode)' : ''}`);
    checkRule(false, 'QUEUE-21', `the sender of ${s.runId} gets a chat ${state} frame with errorCode ${code}`, () => `for ${s.runId} it heard [${own().join(', ')}]; in all ${heard(s.client)}`);
    return false;
  }
  let held = checkRule(frame.payload.state === state && frame.payload.errorCode === code, rule,
    `chat ${state} for ${s.runId} with errorCode ${code}`, `chat ${frame.payload.state} with errorCode ${String(frame.payload.errorCode)}`);
  if (message !== null) {
    held = checkRule(frame.payload.errorMessage === message, rule, `errorMessage ${JSON.stringify(message)}`, JSON.stringify(frame.payload.errorMessage)) && held;
  }
  return held;
}

/**
 * chat.abort with its WS-18 checks: the request answers ok with
 * `{aborted: [<runId>...]}`. The list, or null when the answer is not in that
 * shape (the failure is recorded; a case may go on without the list).
 */
async function chatAbort(client: Sent['client'], params: Record<string, unknown>): Promise<string[] | null> {
  const res = await client.request('chat.abort', params);
  if (!checkRule(res.ok, 'WS-18', `chat.abort ${JSON.stringify(params)} answers ok`, JSON.stringify(res.error))) return null;
  // The answer's shape (schemas.ts, WS-18): a malformed one fails WS-18 naming the field.
  const problem = payloadProblem('chatAbort', res.payload);
  if (!checkRule(problem === null, 'WS-18', `chat.abort ${JSON.stringify(params)} answers {aborted: [<runId>...]} (or {aborted: true|false, runIds: [...]}, DEP-9)`, problem ?? '')) return null;
  return abortedRunIds(res.payload);
}

export const QUEUE_CASES: readonly ConformanceCase[] = [
  {
    id: 'queue.idle.starts',
    title: 'A message to an idle session runs at once under the runId its sender was told',
    rules: ['QUEUE-2', 'WS-13', 'WS-17'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Send one message to an idle session: answered started, the model gets its text, the sender hears a final for its runId. ' +
      'Then (when the main cap is known) fill main with holding runs of other sessions: a message to another idle session is answered queued and later runs under its told runId ' +
      '(answered otherwise, it fails only if it did wait: its model request came after a holder ended).',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1 } } });
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const text = `hello there ${marker('idle')}`;
      const a = await send(session, alice, session.sessionKey('idle'), text);
      checkRule(a.status === 'started', 'QUEUE-2', 'a message to an idle session with free lanes is answered started', `answered ${a.status}`);
      const ends = await waitAllEnded(session, [a], 30_000, 'QUEUE-2');
      const end = endOf(ends, a);
      checkRule(end.kind === 'ran' && end.state === 'final' && end.runId === a.runId, 'QUEUE-2',
        `its own run ends with a final frame for the told runId ${a.runId}`, describeEnd(end));
      checkRule(end.text !== '', 'QUEUE-2', 'the final frame carries the answer', 'an empty answer');
      const log = await modelLog(session);
      checkRule(log.some((e) => asks(e, text)), 'QUEUE-2', `the model is asked the message's own text ${JSON.stringify(text)} (whole, possibly wrapped by the gateway)`,
        () => `user turns: ${describeRequests(log)}`);
      if (config === null) {
        ctx.note('the main cap is unknown (no session.config): the queued-for-main part is skipped');
        return;
      }
      const cap = config.agents.defaults.maxConcurrent;
      const holders: Sent[] = [];
      for (let i = 0; i < cap; i++) holders.push(await send(session, alice, session.sessionKey(`holder${i}`), `hold ${marker('hold')}`));
      const bob = await session.connect('bob');
      const b = await send(session, bob, session.sessionKey('late'), `after the holders ${marker('late')}`);
      if (b.status !== 'queued') {
        // Answered otherwise: right if it did not wait; if it did wait for main, its sender was told it started while it waited.
        const w = await waitedBehind(session, 'hold', 'late', 60_000, 'first');
        if (w !== null && w.waited) {
          fail('QUEUE-2', `with main full (cap ${cap}), a message to an idle session is answered queued (it waits for main)`,
            `answered ${b.status}, yet it waited: its run reached the model only at ${w.laterStart}, after a run holding main ended (${w.aheadEnd}); the sender is not told it waits (DEP-8)`);
        }
        ctx.note(`with ${cap} holders, the message to an idle session was answered ${b.status} and ${w === null ? 'the model log does not tell whether it waited' : `did not wait (it reached the model at ${w.laterStart}, the first holder ended at ${w.aheadEnd})`}`);
      }
      const ends2 = await waitAllEnded(session, [...holders, b], 60_000, 'QUEUE-2');
      const endB = endOf(ends2, b);
      checkRule(endB.kind === 'ran' && endB.state === 'final' && endB.runId === b.runId, 'QUEUE-2',
        `the queued message runs under its told runId ${b.runId}`, describeEnd(endB));
    },
  },
  {
    id: 'queue.mode.by-channel',
    title: "A message's mode is its channel's byChannel override, else messages.queue.mode",
    rules: ['QUEUE-1', 'QUEUE-4', 'QUEUE-7'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }, { queueMode: 'collect' }, { feature: 'channels' }],
    procedure:
      'Config mode followup, byChannel {burst: collect}. While a run holds the session: two messages on channel burst and two without a channel. ' +
      'The burst pair is merged into one collect run; the other two run as their own followups.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup', byChannel: { burst: 'collect' } } } },
        needQueue({ mode: 'followup', byChannel: { burst: 'collect' } }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('channels');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, alice, key, 'burst one', { channel: 'burst' });
      const c = await send(session, alice, key, 'burst two', { channel: 'burst' });
      const d = await send(session, alice, key, 'plain one');
      const e = await send(session, alice, key, 'plain two');
      precondBusy(a, [b, c, d, e]);
      const ends = await waitAllEnded(session, [a, b, c, d, e], 60_000, 'QUEUE-1');
      for (const s of [b, c]) {
        const end = endOf(ends, s);
        checkRule(end.kind === 'carried' && end.status === 'merged', 'QUEUE-1', `${s.runId} (channel burst -> collect) is merged into a collect run`, describeEnd(end));
      }
      checkRule(endOf(ends, b).runId === endOf(ends, c).runId, 'QUEUE-1', 'both burst messages ride on one collect run', `${endOf(ends, b).runId} vs ${endOf(ends, c).runId}`);
      for (const s of [d, e]) {
        const end = endOf(ends, s);
        checkRule(end.kind === 'ran' && end.runId === s.runId, 'QUEUE-1', `${s.runId} (no channel -> followup) runs as its own run`, describeEnd(end));
      }
      const merged = collectPrompt(['burst one', 'burst two']);
      // A sender's wait may end before its message reaches the model (OpenClaw's empty final, DEP-3): wait on the model's side
      // until the merged prompt came, or every text did (then nothing was merged).
      const texts = [b, c, d, e].map((s) => s.text);
      const log = await modelLogWhen(session, (l) => l.some((r) => asks(r, merged)) || texts.every((t) => l.some((r) => asks(r, t))), 60_000);
      checkRule(log.some((r) => asks(r, merged)), 'QUEUE-1', `one model request with the collect prompt ${JSON.stringify(merged)}`,
        () => describeRequests(log, 8, 80));
    },
  },
  {
    id: 'queue.steer.injects',
    title: 'steer: a message to a streaming run is injected at its next model boundary; otherwise it is a followup',
    rules: ['QUEUE-3', 'QUEUE-4', 'WS-17'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'steer' }],
    procedure:
      'Config mode steer. While a run streams, send a message: answered steered, the sender gets a status frame (steered, carriedBy the run) and the run\'s final; ' +
      'the model gets it as a user message of the same conversation. While a run only thinks (no output yet), a message is a followup with its own run.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'steer' } } }, needQueue({ mode: 'steer' }));
      await script(session, [on('stream', stream(10_000, 40)), on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('steer');
      const a = await send(session, alice, key, `write it ${marker('stream')}`);
      const streaming = await waitChat(session, alice, a.runId, ['delta'], 10_000);
      expectRule(streaming !== null, 'QUEUE-3', 'the run streams (a delta frame)', heard(alice));
      await session.sleep(500);
      const steerText = 'also check the tests [steered-in]';
      const b = await send(session, bob, key, steerText);
      checkRule(b.status === 'steered', 'QUEUE-3', 'a message to a session whose run streams is answered steered', `answered ${b.status}`);
      const ends = await waitAllEnded(session, [a, b], 60_000, 'QUEUE-3');
      const endB = endOf(ends, b);
      checkRule(endB.kind === 'carried' && endB.status === 'steered' && endB.runId === a.runId, 'WS-17',
        `bob hears a status frame (steered, carriedBy ${a.runId}) then that run's terminal frame`, describeEnd(endB));
      const log = await modelLog(session);
      const first = requestsWith(log, 'stream')[0];
      const injected = log.filter((r) => asks(r, steerText));
      checkRule(injected.length === 1, 'QUEUE-3', 'the steered text reaches the model exactly once', `${injected.length} requests`);
      checkRule(first !== undefined && injected.length > 0 && injected[0]!.messageCount > first.messageCount, 'QUEUE-3',
        "it is a user message of the running conversation (the run's next request is longer than its first)",
        () => `first request ${first?.messageCount} messages, steered request ${injected[0]?.messageCount}`);
      // Not streaming: a followup.
      const key2 = session.sessionKey('steer-idle');
      const c = await send(session, alice, key2, `think first ${marker('hold')}`);
      await session.sleep(500);
      const d = await send(session, bob, key2, 'while it thinks');
      checkRule(d.status === 'queued', 'QUEUE-3', 'when no run streams, the message is handled as followup (answered queued)', `answered ${d.status}`);
      const ends2 = await waitAllEnded(session, [c, d], 60_000, 'QUEUE-4');
      const endD = endOf(ends2, d);
      checkRule(endD.kind === 'ran' && endD.runId === d.runId && endD.state === 'final', 'QUEUE-4', `the followup runs under its own runId ${d.runId}`, describeEnd(endD));
    },
  },
  {
    id: 'queue.followup.own-run',
    title: 'followup: a message to a busy session is answered later by its own run, under the runId its sender was told',
    rules: ['QUEUE-4', 'WS-17', 'DEP-3'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }],
    procedure:
      'Config mode followup. While a run thinks, a second client sends a message: answered queued; it hears no terminal frame for its runId before the first run ended, ' +
      'then a non-empty final for its runId from its own run (the model gets its text).',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } }, needQueue({ mode: 'followup' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('followup');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(500);
      const text = 'second, while busy';
      const b = await send(session, bob, key, text);
      precondBusy(a, [b]);
      checkRule(b.status === 'queued', 'QUEUE-4', 'a message to a busy session (followup) is answered queued', `answered ${b.status}`);
      const ends = await waitAllEnded(session, [a, b], 60_000, 'QUEUE-4');
      const endA = endOf(ends, a);
      const endB = endOf(ends, b);
      checkRule(endB.kind === 'ran' && endB.runId === b.runId && endB.state === 'final', 'QUEUE-4', `bob's wait ends with the final of its own runId ${b.runId}`, describeEnd(endB));
      checkRule(endB.at >= endA.at, 'QUEUE-4',
        `no terminal frame for ${b.runId} before the run ahead ended (${endA.at}): its answer comes from its own later run (DEP-3)`,
        `a ${endB.state} for ${b.runId} at ${endB.at} (text ${JSON.stringify(endB.text.slice(0, 40))})`);
      checkRule(endB.text !== '', 'QUEUE-4', 'the followup\'s final carries its answer', 'an empty final');
      const log = await modelLog(session);
      checkRule(log.some((r) => asks(r, text)), 'QUEUE-4', `the model is asked ${JSON.stringify(text)} in a run of its own`, () => `no such request: ${describeRequests(log)}`);
    },
  },
  {
    id: 'queue.steer-backlog.both',
    title: 'steer-backlog: the message is injected into the streaming run and also kept as a followup',
    rules: ['QUEUE-5'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'steer-backlog' }],
    procedure: 'Config mode steer-backlog. While a run streams, send a message: answered queued; the model sees it injected into the running conversation, and later as its own run; its sender hears its own final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'steer-backlog' } } }, needQueue({ mode: 'steer-backlog' }));
      await script(session, [on('stream', stream(10_000, 40))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('backlog');
      const a = await send(session, alice, key, `write it ${marker('stream')}`);
      expectRule((await waitChat(session, alice, a.runId, ['delta'], 10_000)) !== null, 'QUEUE-5', 'the run streams', heard(alice));
      await session.sleep(500);
      const text = 'and the docs [backlog]';
      const b = await send(session, alice, key, text);
      checkRule(b.status === 'queued', 'QUEUE-5', 'answered queued (handled as followup after the injection)', `answered ${b.status}`);
      const ends = await waitAllEnded(session, [a, b], 60_000, 'QUEUE-5');
      const endB = endOf(ends, b);
      checkRule(endB.kind === 'ran' && endB.runId === b.runId, 'QUEUE-5', `its followup runs under its told runId ${b.runId}`, describeEnd(endB));
      const log = await modelLog(session);
      const first = requestsWith(log, 'stream')[0];
      const withText = log.filter((r) => asks(r, text));
      checkRule(first !== undefined && withText.some((r) => r.messageCount > first.messageCount), 'QUEUE-5', 'the running conversation gets the message injected (a longer request ending with it)',
        () => `requests with it: ${withText.map((r) => r.messageCount).join(', ')} messages; first request ${first?.messageCount}`);
      checkRule(first !== undefined && withText.some((r) => r.messageCount === first.messageCount), 'QUEUE-5', 'and it runs again as its own turn (a fresh conversation ending with it)',
        () => `requests with it: ${withText.map((r) => r.messageCount).join(', ')} messages`);
    },
  },
  {
    id: 'queue.interrupt.aborts-and-clears',
    title: 'interrupt: the running run is aborted, waiting messages are told QUEUE_INTERRUPTED, the newcomer runs',
    rules: ['QUEUE-6', 'QUEUE-17', 'QUEUE-21', 'QUEUE-1'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }, { queueMode: 'interrupt' }, { feature: 'channels' }],
    procedure:
      'Config mode followup, byChannel {urgent: interrupt}. A run thinks, a followup waits, then a message on channel urgent: ' +
      'the run ends aborted at once, the waiting sender gets chat aborted (QUEUE_INTERRUPTED, exact text), the urgent message runs to a final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup', byChannel: { urgent: 'interrupt' } } } },
        needQueue({ mode: 'followup', byChannel: { urgent: 'interrupt' } }));
      await script(session, [on('hold', hold(30_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const carol = await session.connect('carol');
      const key = session.sessionKey('interrupt');
      const a = await send(session, alice, key, `long job ${marker('hold')}`);
      // "A run thinks": its request reached the model (a gateway may take seconds to prepare a run; interrupting it then is another case).
      precondition((await waitRequests(session, ['hold'], 10_000)) !== null, () => `the first run ${a.runId} reaches the model (it thinks) within 10000 ms: alice heard ${heard(alice)}`);
      await session.sleep(300);
      const b = await send(session, bob, key, 'waiting behind');
      await session.sleep(300);
      const cAt = nowOf(session);
      precondBusy(a, [b]);
      const c = await send(session, carol, key, 'stop, do this instead', { channel: 'urgent' });
      checkRule(c.status === 'started' || c.status === 'queued', 'QUEUE-6', 'the interrupting message is accepted (started or queued)', `answered ${c.status}`);
      const ends = await waitAllEnded(session, [a, b, c], 60_000, 'QUEUE-6');
      const endA = endOf(ends, a);
      checkRule(endA.kind === 'ran' && endA.state === 'aborted', 'QUEUE-6', `the running run ${a.runId} ends aborted`, describeEnd(endA));
      checkRule(!judgesAbortTiming(ctx, session) || endA.at - cAt <= abortBound(ctx, session), 'QUEUE-6', `at once (within ${ABORT_GRACE_MS} ms of the interrupt at ${cAt})`,
        () => `${endA.at - cAt} ms later; alice heard ${heard(alice, cAt - 1, 8)}`);
      expectRefused(b, 'QUEUE-17', 'aborted', 'QUEUE_INTERRUPTED', `interrupted by a newer message in session ${key}`);
      const endC = endOf(ends, c);
      checkRule(endC.kind === 'ran' && endC.runId === c.runId && endC.state === 'final', 'QUEUE-6', `the interrupting message runs under ${c.runId} to a final`, describeEnd(endC));
      checkRule(endC.at >= endA.at, 'QUEUE-6', 'it runs once the aborted run has settled', `final at ${endC.at}, abort at ${endA.at}`);
    },
  },
  {
    id: 'queue.collect.merge',
    title: 'collect: messages sent while busy are buffered and merged into one run with the exact collect prompt',
    rules: ['QUEUE-7', 'QUEUE-9', 'WS-17'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'collect' }],
    procedure:
      'Config mode collect. While a run thinks, send "a" then "b c": both answered queued; the model gets exactly the collect prompt of QUEUE-9; ' +
      'both senders hear status merged with the same carriedBy (not their own runIds), then its final. Later a single buffered message runs as itself.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'collect' } } }, needQueue({ mode: 'collect' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('collect');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(300);
      const b = await send(session, alice, key, 'a');
      await session.sleep(100);
      const c = await send(session, bob, key, 'b c');
      expectBufferedWhileBusy(a, [b, c]);
      const ends = await waitAllEnded(session, [a, b, c], 60_000, 'QUEUE-9');
      const endB = endOf(ends, b);
      const endC = endOf(ends, c);
      for (const [s, end] of [[b, endB], [c, endC]] as const) {
        checkRule(end.kind === 'carried' && end.status === 'merged', 'WS-17', `${s.runId} hears status merged (carriedBy the collect run), then its terminal frame`, describeEnd(end));
      }
      checkRule(endB.runId === endC.runId && endB.runId !== b.runId && endB.runId !== c.runId, 'QUEUE-9',
        'both ride on one collect run with a new runId', `${endB.runId} / ${endC.runId}`);
      const log = await modelLog(session);
      const expected = collectPrompt(['a', 'b c']);
      checkRule(log.some((r) => asks(r, expected)), 'QUEUE-9', `the model gets exactly ${JSON.stringify(expected)} (whole, possibly wrapped by the gateway)`,
        () => `user turns: ${describeRequests(log, 8, 120)}`);
      checkRule(!log.some((r) => asksExactly(r, 'a') || asksExactly(r, 'b c')), 'QUEUE-7', 'the buffered messages do not run on their own', 'a request with one of them alone');
      // A group of one runs as itself.
      const a2 = await send(session, alice, key, `again ${marker('hold')}`);
      await session.sleep(300);
      const d = await send(session, bob, key, 'only one [single]');
      const ends2 = await waitAllEnded(session, [a2, d], 60_000, 'QUEUE-9');
      const endD = endOf(ends2, d);
      checkRule(endD.kind === 'ran' && endD.runId === d.runId, 'QUEUE-9', `a group of one message runs as itself, under ${d.runId}`, describeEnd(endD));
      const log2 = await modelLog(session);
      checkRule(log2.some((r) => asks(r, d.text) && !asks(r, COLLECT_HEADER)), 'QUEUE-9', `with its own text ${JSON.stringify(d.text)}`, () => `no such request: ${describeRequests(log2)}`);
    },
  },
  {
    id: 'queue.collect.debounce',
    title: 'collect drains at max(last run settled, last buffering + debounceMs)',
    rules: ['QUEUE-8'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'collect' }],
    procedure:
      'Config mode collect, debounceMs 4000 (or the gateway\'s D). (1) A short run (0.4 u, u = max(D, 4000)) ends; two messages buffered during it, the second at 0.2 u: the merge starts at max(run end, second + D). ' +
      '(2) A long run outlasts the quiet window: the merge starts when it ends.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'collect', debounceMs: 4_000 } } }, needQueue({ mode: 'collect' }));
      const debounce = requireConfig(session, 'messages.queue.debounceMs').messages.queue.debounceMs;
      const u = Math.max(debounce, 4_000);
      await script(session, [on('short', turn({ ttftMs: Math.round(0.3 * u), streamMs: Math.round(0.1 * u), tokens: 3 })), on('hold', hold(Math.max(4_000, debounce * 3)))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('debounce1');
      const a = await send(session, alice, key, `quick ${marker('short')}`);
      await session.sleep(Math.round(0.05 * u));
      const b = await send(session, alice, key, 'one');
      await session.sleep(Math.round(0.15 * u));
      const c = await send(session, alice, key, 'two');
      expectBufferedWhileBusy(a, [b, c]);
      const ends = await waitAllEnded(session, [a, b, c], 60_000, 'QUEUE-8');
      const endA = endOf(ends, a);
      const mergedAt = (s: Sent): number | null => chats(s.client, s.runId).find((e) => e.payload.state === 'status' && e.payload.status === 'merged')?.at ?? null;
      const m1 = mergedAt(c);
      expectRule(m1 !== null, 'QUEUE-8', 'the two buffered messages are merged (status merged)', heard(alice));
      const due1 = Math.max(endA.at, c.at + debounce);
      const tol = slack(ctx, session, debounce);
      checkRule(Math.abs(m1 - due1) <= tol, 'QUEUE-8',
        `the merge starts at max(run end ${endA.at}, last buffering ${c.at} + ${debounce}) = ${due1}${tol > 0 ? ` ±${Math.round(tol)}` : ''}`, `at ${m1}`);
      // (2) the run outlasts the quiet window.
      const key2 = session.sessionKey('debounce2');
      const a2 = await send(session, alice, key2, `long ${marker('hold')}`);
      await session.sleep(100);
      const b2 = await send(session, alice, key2, 'three');
      await session.sleep(100);
      const c2 = await send(session, alice, key2, 'four');
      const ends2 = await waitAllEnded(session, [a2, b2, c2], 120_000, 'QUEUE-8');
      const endA2 = endOf(ends2, a2);
      const m2 = mergedAt(c2);
      expectRule(m2 !== null, 'QUEUE-8', 'the two buffered messages are merged', heard(alice));
      const due2 = Math.max(endA2.at, c2.at + debounce);
      checkRule(Math.abs(m2 - due2) <= tol, 'QUEUE-8', `the merge starts when the run ends: max(${endA2.at}, ${c2.at + debounce}) = ${due2}`, `at ${m2}`);
    },
  },
  {
    id: 'queue.collect.routes',
    title: 'collect drains one run per route, in order of first arrival',
    rules: ['QUEUE-10'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'collect' }, { feature: 'routes' }],
    procedure: 'Config mode collect. While a run thinks: r1-first (route r1), r2-only (route r2), r1-second (route r1). The model gets the r1 merge first, then r2-only alone.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'collect' } } }, needQueue({ mode: 'collect' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('routes');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(100);
      const b = await send(session, alice, key, 'r1-first', { route: 'r1' });
      const c = await send(session, alice, key, 'r2-only', { route: 'r2' });
      const d = await send(session, alice, key, 'r1-second', { route: 'r1' });
      precondBusy(a, [b, c, d]);
      const ends = await waitAllEnded(session, [a, b, c, d], 60_000, 'QUEUE-10');
      const endB = endOf(ends, b);
      const endD = endOf(ends, d);
      const endC = endOf(ends, c);
      checkRule(endB.kind === 'carried' && endD.kind === 'carried' && endB.runId === endD.runId, 'QUEUE-10', 'the two r1 messages are merged into one run',
        `${describeEnd(endB)} / ${describeEnd(endD)}`);
      checkRule(endC.kind === 'ran' && endC.runId === c.runId, 'QUEUE-10', 'the lone r2 message runs as itself', describeEnd(endC));
      const log = await modelLog(session);
      const i1 = log.findIndex((r) => asks(r, collectPrompt(['r1-first', 'r1-second'])));
      const i2 = log.findIndex((r) => asks(r, 'r2-only') && !asks(r, COLLECT_HEADER));
      checkRule(i1 >= 0 && i2 >= 0 && i1 < i2, 'QUEUE-10', 'the r1 group (first arrival) reaches the model before r2',
        () => `request order: ${describeRequests(log, 8, 80)}`);
    },
  },
  ...(['followup', 'collect'] as const).map((mode): ConformanceCase => ({
    id: mode === 'followup' ? 'queue.clear.operator' : 'queue.collect.clear-operator',
    title: `Clearing a session's queue (${mode}): every waiting message is aborted LANE_CLEARED, the running run goes on`,
    rules: ['QUEUE-11', 'QUEUE-21', 'QUEUE-20'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: mode }, { feature: 'queueClear' }],
    procedure:
      `Config ${mode}. While a run thinks, b and c wait (${mode === 'collect' ? 'buffered' : 'queued followups'}); the operator clears the session's queue ` +
      '(SPEC names no protocol method: the target\'s operator hook, in process InProcessGateway.clearQueue). b\'s and c\'s senders get chat aborted LANE_CLEARED ' +
      '"session <key> queue cleared"; neither reaches the model; the running run ends final; afterwards a new message to the session runs at once.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode } } }, needQueue({ mode }));
      const clear = operatorClearQueue(session);
      if (clear === null) {
        throw new NotApplicable("the target offers no operator action to clear a session's queue (QUEUE-11 names no protocol method; in process: InProcessGateway.clearQueue)");
      }
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey(`clear-${mode}`);
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, bob, key, `${mode} waiting b`);
      const c = await send(session, bob, key, `${mode} waiting c`);
      const before = await modelLog(session);
      precondition([b, c].every((s) => waitEnd(s) === null && !before.some((r) => asks(r, s.text))) && waitEnd(a) === null,
        () => `b and c were still waiting behind the running ${a.runId} when the queue was cleared (${[a, b, c].map((s) => `${s.runId}: ${waitEnd(s)?.state ?? 'waiting'}`).join(', ')})`);
      const clearedAt = nowOf(session);
      const count = await clear(key);
      if (count !== null) ctx.note(`the operator action reported ${count} message(s) removed`);
      const grace = abortBound(ctx, session);
      await waitUntil(session, () => refusalOf(b) !== null && refusalOf(c) !== null, grace);
      const timed = judgesAbortTiming(ctx, session);
      for (const s of [b, c]) {
        if (expectRefused(s, 'QUEUE-11', 'aborted', 'LANE_CLEARED', `session ${key} queue cleared`)) {
          const frame = refusalOf(s)!;
          checkRule(!timed || frame.at - clearedAt <= grace, 'QUEUE-11', `${s.runId} is told at once (within ${ABORT_GRACE_MS} ms)`, `after ${frame.at - clearedAt} ms`);
        }
      }
      const ends = await waitAllEnded(session, [a], 60_000, 'QUEUE-11');
      const endA = ends.get(a);
      if (endA !== undefined) checkRule(endA.kind === 'ran' && endA.state === 'final' && endA.text !== '', 'QUEUE-11', `the running run ${a.runId} goes on to its final`, describeEnd(endA));
      // Their runs left the lanes: the session is idle again, a new message runs at once.
      await session.sleep(5_000);
      const d = await send(session, alice, key, `after the clear ${marker('after-clear')}`);
      checkRule(d.status === 'started', 'QUEUE-11', 'after the clear and the run\'s end the session is idle: a new message is answered started', `answered ${d.status}`);
      await waitAllEnded(session, [d], 60_000, 'QUEUE-11');
      const log = await modelLog(session);
      checkRule(![b, c].some((s) => log.some((r) => asks(r, s.text))), 'QUEUE-11', 'the cleared messages never reach the model', () => describeRequests(log, 6, 100));
    },
  })),
  ...(['followup', 'collect'] as const).map((mode): ConformanceCase => ({
    id: mode === 'followup' ? 'queue.cap.drop-new' : 'queue.collect.drop-new',
    title: `drop new (${mode}): at the cap the newcomer is refused with QUEUE_FULL, and its sender hears it`,
    rules: ['QUEUE-12', 'QUEUE-13', 'QUEUE-21', 'WS-13', mode === 'collect' ? 'QUEUE-7' : 'QUEUE-4'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: mode }, { dropPolicy: 'new' }],
    procedure:
      `Config ${mode}, cap 2, drop new. While a run thinks, two messages wait (${mode === 'collect' ? 'buffered' : 'as followups'}); a third is answered rejected QUEUE_FULL and gets a chat error with the exact text. ` +
      'Everything accepted still runs.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode, cap: 2, drop: 'new' } } }, needQueue({ mode, cap: 2, drop: 'new' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey(`dropnew-${mode}`);
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, alice, key, `${mode} b`);
      const c = await send(session, alice, key, `${mode} c`);
      const d = await send(session, bob, key, `${mode} d`);
      // Precondition: the queue was at the cap when d came: a's run had not ended (b and c still waited behind it).
      precondition(terminals(alice, a.runId).every((e) => e.at > d.at), () => `the first run was still running when b, c and d were sent (it ended at ${terminals(alice, a.runId)[0]?.at})`);
      if (mode === 'collect') expectBufferedWhileBusy(a, [b, c]);
      else checkRule(b.status === 'queued' && c.status === 'queued', 'QUEUE-4', 'below the cap messages to a busy session are queued (followup)', `${b.status}, ${c.status}`);
      if (checkRule(d.status === 'rejected' && d.code === 'QUEUE_FULL', 'QUEUE-13', `at the cap (${mode}) chat.send answers rejected with code QUEUE_FULL`, `${d.status} ${String(d.code)}`)) {
        await waitUntil(session, () => refusalOf(d), 1_000);
        expectRefused(d, 'QUEUE-13', 'error', 'QUEUE_FULL', `session ${key} queue is full (cap 2): message refused`);
      }
      await waitAllEnded(session, [a, b, c], 60_000, 'QUEUE-13');
      const log = await modelLog(session);
      checkRule(!log.some((r) => asks(r, `${mode} d`)), 'QUEUE-13', 'the refused message never reaches the model', () => describeRequests(log));
    },
  })),
  ...(['followup', 'collect'] as const).map((mode): ConformanceCase => ({
    id: mode === 'followup' ? 'queue.cap.drop-old' : 'queue.collect.drop-old',
    title: `drop old (${mode}): at the cap the oldest waiting message leaves with QUEUE_DROPPED, and its sender hears it`,
    rules: ['QUEUE-12', 'QUEUE-14', 'QUEUE-21', 'DEP-5', ...(mode === 'collect' ? ['QUEUE-7'] : [])],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: mode }, { dropPolicy: 'old' }],
    procedure:
      `Config ${mode}, cap 2, drop old. While a run thinks, b and c wait; d is queued and b is dropped: b's sender gets chat error QUEUE_DROPPED with the exact text; ` +
      `${mode === 'collect' ? 'c and d are merged' : 'c and d run'}; b never reaches the model.`,
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode, cap: 2, drop: 'old' } } }, needQueue({ mode, cap: 2, drop: 'old' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey(`dropold-${mode}`);
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, bob, key, `${mode} b`);
      const c = await send(session, alice, key, `${mode} c`);
      const d = await send(session, alice, key, `${mode} d`);
      precondition(terminals(alice, a.runId).every((e) => e.at > d.at), () => `the first run was still running when b, c and d were sent (it ended at ${terminals(alice, a.runId)[0]?.at})`);
      if (mode === 'collect') expectBufferedWhileBusy(a, [b, c, d]);
      checkRule(d.status === 'queued', 'QUEUE-14', `under drop old (${mode}) the newcomer is accepted (queued)`, `${d.status} ${String(d.code)}`);
      const ends = await waitAllEnded(session, [a, b, c, d], 60_000, 'QUEUE-14');
      expectRefused(b, 'QUEUE-14', 'error', 'QUEUE_DROPPED', `session ${key} queue is full: message dropped (oldest first)`);
      const endB = ends.get(b);
      if (endB !== undefined) checkRule(endB.kind === 'refused', 'QUEUE-14', `the dropped message ${b.runId} does not run`, describeEnd(endB));
      for (const s of [c, d]) {
        const end = ends.get(s);
        if (end !== undefined) checkRule(end.state === 'final' && end.kind !== 'refused', 'QUEUE-14', `${s.text} still runs`, describeEnd(end));
      }
      const log = await modelLog(session);
      checkRule(!log.some((r) => asks(r, `${mode} b`)), 'QUEUE-14', 'the dropped message never reaches the model', 'a request carries it');
      checkRule(log.some((r) => asks(r, `${mode} c`)) && log.some((r) => asks(r, `${mode} d`)), 'QUEUE-14', 'the messages still waiting reach the model', () => describeRequests(log));
    },
  })),
  {
    id: 'queue.cap.summarize',
    title: 'drop summarize: dropped messages ride as exact gists on the next run; a stranded summary runs on its own',
    rules: ['QUEUE-15', 'QUEUE-16', 'QUEUE-20', 'WS-17'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }, { dropPolicy: 'summarize' }],
    procedure:
      'Config followup, cap 1, drop summarize. While a run thinks, four messages arrive; each drops the one before (whitespace, blank, 170 characters; ' +
      'a blank message refused as a request error, DEP-9, is left out of the summary). ' +
      'The last one\'s run gets exactly "[Queue overflow] Dropped 3 message(s) due to cap.\\nSummary:\\n- ...\\n\\n<its text>" and the dropped senders hear status summarized, carriedBy it. ' +
      'Then a gist whose carrier is aborted becomes a summary run of its own (prompt: the summary alone).',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup', cap: 1, drop: 'summarize' } } },
        needQueue({ mode: 'followup', cap: 1, drop: 'summarize' }));
      const long = 'd'.repeat(170);
      const lastText = 'the one that stays [carry]';
      const expectedOf = (withBlank: boolean): string =>
        `[Queue overflow] Dropped ${withBlank ? 3 : 2} message(s) due to cap.\nSummary:\n- hello world\n${withBlank ? '- (empty message)\n' : ''}- ${'d'.repeat(159)}…\n\n${lastText}`;
      const standalone = '[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- lonely gist';
      await script(session, [
        on('hold', hold(6_000)),
        { name: 'summary-exact-3', match: { marker: expectedOf(true) }, respond: turn({ ttftMs: 100, streamMs: 100, tokens: 3 }) },
        { name: 'summary-exact-2', match: { marker: expectedOf(false) }, respond: turn({ ttftMs: 100, streamMs: 100, tokens: 3 }) },
      ]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('summarize');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, bob, key, '  hello \n\t world  ');
      // A blank message: the reference takes it (its gist is "(empty message)"); a gateway may refuse it as a request error
      // (DEP-9: OpenClaw's INVALID_REQUEST "message or attachment required"), and then the summary is judged without it.
      const c = await sendOrRefusedAsRequest(session, bob, key, '   ');
      if (c === null) ctx.note('the blank message was refused as a request error (DEP-9): the summary is judged without it (2 dropped)');
      const d = await send(session, bob, key, long);
      const e = await send(session, alice, key, lastText);
      const dropped = c === null ? [b, d] : [b, c, d];
      const expected = expectedOf(c !== null);
      precondBusy(a, [...dropped, e]);
      const ends = await waitAllEnded(session, [a, ...dropped, e], 60_000, 'QUEUE-16');
      const endE = endOf(ends, e);
      checkRule(endE.kind === 'ran' && endE.runId === e.runId, 'QUEUE-16', `the last message runs as ${e.runId}`, describeEnd(endE));
      for (const s of dropped) {
        const end = endOf(ends, s);
        checkRule(end.kind === 'carried' && end.status === 'summarized' && end.runId === e.runId, 'QUEUE-16',
          `${s.runId} hears status summarized (carriedBy ${e.runId}), then that run's terminal frame`, describeEnd(end));
      }
      const exactRule = c === null ? 'summary-exact-2' : 'summary-exact-3';
      // A dropped sender's wait may end before the carrier reaches the model (OpenClaw closes a followup with an empty final,
      // DEP-3): wait on the model's side for the carrying run.
      const carries = (r: Awaited<ReturnType<typeof modelLog>>[number]): boolean => r.rule === exactRule || asks(r, '[Queue overflow]') || asks(r, lastText);
      const log = await modelLogWhen(session, (l) => l.some(carries), 30_000);
      const carrier = log.find((r) => r.rule === exactRule) ?? log.find((r) => asks(r, '[Queue overflow]')) ?? log.find((r) => asks(r, lastText));
      expectRule(carrier !== undefined, 'QUEUE-16', 'the carrying run reaches the model', 'no request with its text');
      checkRule(carrier.rule === exactRule, 'QUEUE-15', `its prompt is exactly ${JSON.stringify(expected)}`,
        () => `its user turn is ${JSON.stringify(userTexts(carrier))}`);
      // A summary whose carrier goes away runs on its own.
      const key2 = session.sessionKey('summarize-alone');
      const a2 = await send(session, alice, key2, `first ${marker('hold')}`);
      await session.sleep(200);
      const b2 = await send(session, bob, key2, 'lonely gist');
      const c2 = await send(session, alice, key2, 'dropper');
      await chatAbort(alice, { sessionKey: key2, runId: c2.runId });
      const ends2 = await waitAllEnded(session, [a2, b2], 60_000, 'QUEUE-16');
      const endB2 = endOf(ends2, b2);
      checkRule(endB2.kind === 'carried' && endB2.status === 'summarized' && endB2.state === 'final', 'QUEUE-16',
        'with no run left to carry it, the gist rides on a summary run of its own (status summarized, then its final)', describeEnd(endB2));
      const log2 = await modelLogWhen(session, (l) => l.some((r) => asks(r, 'lonely gist')), 30_000);
      checkRule(log2.some((r) => asks(r, standalone) && !asks(r, 'dropper')), 'QUEUE-16', `the summary run's prompt is exactly ${JSON.stringify(standalone)}`,
        () => describeRequests(log2, 3, 200));
    },
  },
  {
    id: 'queue.abort.queued',
    title: 'chat.abort of a waiting followup removes it: answered {aborted: [its runId]}, its sender hears aborted, it never runs',
    rules: ['QUEUE-18', 'WS-18', 'QUEUE-21'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }],
    procedure:
      'Config followup. While a run thinks, b and c wait. chat.abort with an unknown runId answers {aborted: []}; chat.abort {runId: b} answers {aborted: [b]}; ' +
      "b's sender gets chat aborted LANE_ABORTED; b never reaches the model; the run ahead and c still end final.",
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } }, needQueue({ mode: 'followup' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('abort-queued');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, bob, key, 'to be aborted while queued');
      const c = await send(session, bob, key, 'next in line');
      const none = await chatAbort(alice, { sessionKey: key, runId: 'no-such-run' });
      if (none !== null) checkRule(none.length === 0, 'QUEUE-18', 'an unknown runId aborts nothing ({aborted: []})', JSON.stringify(none));
      const before = await modelLog(session);
      // Precondition: b was still waiting when it was aborted (its run had not reached the model, its sender's wait had not ended).
      precondition(!before.some((r) => asks(r, b.text)) && waitEnd(b) === null, () => `b (${b.runId}) was still waiting when aborted; it ${waitEnd(b) !== null ? `had ended: ${describeEnd(waitEnd(b)!)}` : 'had reached the model'}`);
      const abortedAt = nowOf(session);
      const ab = await chatAbort(alice, { sessionKey: key, runId: b.runId });
      if (ab !== null) checkRule(ab.length === 1 && ab[0] === b.runId, 'QUEUE-18', `aborting the queued ${b.runId} answers {aborted: [${b.runId}]}`, JSON.stringify(ab));
      await waitUntil(session, () => refusalOf(b), abortBound(ctx, session));
      expectRefused(b, 'QUEUE-18', 'aborted', 'LANE_ABORTED', null);
      const ends = await waitAllEnded(session, [a, c], 60_000, 'QUEUE-18');
      const endA = ends.get(a);
      if (endA !== undefined) checkRule(endA.kind === 'ran' && endA.state === 'final', 'QUEUE-18', `the run ahead (${a.runId}) is not affected: it ends final`, describeEnd(endA));
      const endC = ends.get(c);
      if (endC !== undefined) checkRule(endC.kind === 'ran' && endC.state === 'final' && endC.runId === c.runId, 'QUEUE-18', `the other waiting message (${c.runId}) still runs`, describeEnd(endC));
      const log = await modelLog(session);
      checkRule(!log.some((r) => asks(r, b.text) && r.t >= abortedAt - session.timeScale), 'QUEUE-18', `the aborted ${b.runId} never reaches the model`,
        () => `a request carries it: ${describeRequests(log.filter((r) => asks(r, b.text)))}`);
      // Its only frame is the aborted refusal (whatever its seq and errorCode, judged above): nothing else of b's runId.
      const own = chats(bob, b.runId).filter((e) => e.payload.state !== 'status');
      checkRule(own.length <= 1 && own.every((e) => e.payload.state === 'aborted'), 'QUEUE-18', `no run of ${b.runId} streams (its only frame is the aborted refusal)`,
        () => `${own.map((e) => `${e.at}:${e.payload.state}#${e.payload.seq}`).join(', ')}; bob heard ${heard(bob)}`);
    },
  },
  {
    id: 'queue.abort.running',
    title: 'chat.abort of a running run: it ends aborted at once and frees the session; without runId only the running run is aborted',
    rules: ['QUEUE-18', 'WS-18', 'LANE-12', 'WS-15'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }],
    procedure:
      'Config followup. A run streams, c and d wait. chat.abort {runId: a} answers {aborted: [a]}; a ends aborted within 1000 ms and c reaches the model within 1000 ms. ' +
      'chat.abort without runId answers {aborted: [c]}: c ends aborted, the waiting d still runs to a final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } }, needQueue({ mode: 'followup' }));
      await script(session, [on('stream', stream(40_000, 100)), on('hold', hold(5_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('abort-running');
      const a = await send(session, alice, key, `long answer ${marker('stream')}`);
      await session.sleep(200);
      const c = await send(session, bob, key, `next in line ${marker('hold')}`);
      const d = await send(session, bob, key, 'waits through an abort-all');
      precondition((await waitChat(session, alice, a.runId, ['delta'], 10_000)) !== null, () => `the first run streams (a delta frame): alice heard ${heard(alice)}`);
      await session.sleep(1_000);
      const abortAt = nowOf(session);
      const aa = await chatAbort(alice, { sessionKey: key, runId: a.runId });
      if (aa !== null) checkRule(aa.length === 1 && aa[0] === a.runId, 'QUEUE-18', `aborting the running ${a.runId} answers {aborted: [${a.runId}]}`, JSON.stringify(aa));
      const grace = abortBound(ctx, session);
      const endFrame = await waitUntil(session, () => terminals(alice, a.runId)[0] ?? null, grace);
      if (checkRule(endFrame !== null && (!judgesAbortTiming(ctx, session) || endFrame.at - abortAt <= grace), 'LANE-12',
        `the aborted run settles within ${ABORT_GRACE_MS} ms (a terminal frame for ${a.runId})`, () => (endFrame === null ? `nothing within ${grace} ms: ${heard(alice, abortAt)}` : `at +${endFrame.at - abortAt} ms`)) && endFrame !== null) {
        checkRule(endFrame.payload.state === 'aborted', 'QUEUE-18', 'the running run ends with a chat aborted frame', `state ${endFrame.payload.state}`);
      }
      const started = await waitUntil(session, async () => (await modelLog(session)).some((r) => asks(r, c.text)), grace);
      checkRule(started !== null, 'LANE-12', `the session lane is free again: the next followup (${c.runId}) starts within ${ABORT_GRACE_MS} ms of the abort`,
        `no model request for it within ${grace} ms`);
      // Abort without runId: only the running run.
      await session.sleep(500);
      const all = await chatAbort(alice, { sessionKey: key });
      if (all !== null) checkRule(all.length === 1 && all[0] === c.runId, 'QUEUE-18', `without a runId, the running run (${c.runId}) is aborted, the waiting ${d.runId} stays`, JSON.stringify(all));
      const ends = await waitAllEnded(session, [c, d], 60_000, 'QUEUE-18');
      const endC = ends.get(c);
      if (endC !== undefined) checkRule(endC.state === 'aborted', 'QUEUE-18', `${c.runId} ends aborted`, describeEnd(endC));
      const endD = ends.get(d);
      if (endD !== undefined) checkRule(endD.kind === 'ran' && endD.state === 'final', 'QUEUE-18', `the waiting ${d.runId} still runs`, describeEnd(endD));
    },
  },
  {
    id: 'queue.collect.abort-buffered',
    title: 'chat.abort of a buffered (collect) message removes it: "aborted while queued", never in a collect prompt',
    rules: ['QUEUE-18', 'WS-18', 'QUEUE-21'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'collect' }],
    procedure:
      'Config collect. While a run thinks, b is buffered; chat.abort {runId: b} answers {aborted: [b]}; b\'s sender gets chat aborted LANE_ABORTED "aborted while queued"; ' +
      'b never reaches the model; the run ahead ends final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'collect' } } }, needQueue({ mode: 'collect' }));
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('abort-buffered');
      const a = await send(session, alice, key, `first ${marker('hold')}`);
      await session.sleep(200);
      const b = await send(session, bob, key, 'buffered then aborted');
      expectBufferedWhileBusy(a, [b]);
      const ab = await chatAbort(alice, { sessionKey: key, runId: b.runId });
      if (ab !== null) checkRule(ab.length === 1 && ab[0] === b.runId, 'QUEUE-18', 'aborting a buffered message answers {aborted: [its runId]}', JSON.stringify(ab));
      await waitUntil(session, () => refusalOf(b), abortBound(ctx, session));
      expectRefused(b, 'QUEUE-18', 'aborted', 'LANE_ABORTED', 'aborted while queued');
      const ends = await waitAllEnded(session, [a], 60_000, 'QUEUE-18');
      const endA = ends.get(a);
      if (endA !== undefined) checkRule(endA.kind === 'ran' && endA.state === 'final', 'QUEUE-18', `the run ahead (${a.runId}) ends final`, describeEnd(endA));
      await session.sleep(5_000);
      const log = await modelLog(session);
      checkRule(!log.some((r) => asks(r, b.text)), 'QUEUE-18', 'the aborted message never reaches the model', () => describeRequests(log, 4, 120));
    },
  },
  {
    id: 'queue.abort.holding-session',
    title: 'chat.abort of a run that holds its session slot while it waits for main: removed, and the session slot is released',
    rules: ['QUEUE-18', 'LANE-12', 'LANE-7', 'QUEUE-21', 'WS-18'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Config maxConcurrent 1 (or the gateway\'s cap: that many holders). Holders fill main; b to an idle session s waits for main holding session:s (LANE-7); c to s waits behind it. ' +
      'chat.abort {runId: b} answers {aborted: [b]}; b\'s sender gets chat aborted LANE_ABORTED within 1000 ms; b never reaches the model; ' +
      'c is not stuck behind the slot b held: it reaches the model once main frees and ends final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1 } }, messages: { queue: { mode: declaredQueue(ctx.supports).mode } } },
        // c must wait behind b, not interrupt it (QUEUE-6).
        (config) => (config.messages.queue.mode === 'interrupt' ? 'needs a queue mode in which a second message waits (not interrupt); the gateway runs interrupt' : null));
      const cap = requireConfig(session, 'agents.defaults.maxConcurrent (how many runs fill main)').agents.defaults.maxConcurrent;
      precondition(cap <= 8, `main's cap (${cap}) is small enough to fill with holding runs (at most 8)`);
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const holders: Sent[] = [];
      for (let i = 0; i < cap; i++) holders.push(await send(session, alice, session.sessionKey(`holder${i}`), `hold ${i} ${marker('hold')}`));
      // Precondition: main is full (every holder reached the model).
      precondition((await waitRequests(session, ['hold'], 5_000)) !== null, 'the holding runs reach the model');
      await waitUntil(session, async () => requestsWith(await modelLog(session), 'hold').length >= cap, 5_000);
      const key = session.sessionKey('held');
      const b = await send(session, bob, key, 'waits for main holding the session');
      const c = await send(session, bob, key, 'waits behind it');
      await session.sleep(300);
      const before = await modelLog(session);
      precondition(!before.some((r) => asks(r, b.text)) && waitEnd(b) === null && holders.every((h) => waitEnd(h) === null),
        () => `b (${b.runId}) waits for main while every holder still runs (b ${before.some((r) => asks(r, b.text)) ? 'reached the model' : 'did not reach the model'}; holders ended: ${holders.filter((h) => waitEnd(h) !== null).length})`);
      const abortAt = nowOf(session);
      const ab = await chatAbort(bob, { sessionKey: key, runId: b.runId });
      if (ab !== null) checkRule(ab.length === 1 && ab[0] === b.runId, 'QUEUE-18', `aborting the waiting ${b.runId} answers {aborted: [${b.runId}]}`, JSON.stringify(ab));
      const grace = abortBound(ctx, session);
      // Settled: a terminal frame for b (its errorCode is QUEUE-21's, judged by expectRefused below).
      const refusal = await waitUntil(session, () => chats(bob, b.runId).find((e) => isTerminal(e.payload.state) && e.at >= abortAt) ?? null, grace);
      checkRule(refusal !== null && (!judgesAbortTiming(ctx, session) || refusal.at - abortAt <= grace), 'LANE-12', `the aborted waiting run settles at once (within ${ABORT_GRACE_MS} ms)`,
        () => (refusal === null ? `nothing within ${grace} ms: bob heard ${heard(bob, abortAt)}` : `at +${refusal.at - abortAt} ms`));
      expectRefused(b, 'QUEUE-18', 'aborted', 'LANE_ABORTED', null);
      const ends = await waitAllEnded(session, [...holders, c], 60_000, 'LANE-12');
      const endC = ends.get(c);
      if (endC !== undefined) checkRule(endC.kind === 'ran' && endC.state === 'final', 'LANE-12', `${c.runId}, waiting behind the aborted run for session:s, runs to a final (the slot b held was released)`, describeEnd(endC));
      // c's wait may end before it reaches the model (OpenClaw's empty final, DEP-3): wait on the model's side (main frees when a holder ends).
      const log = await modelLogWhen(session, (l) => l.some((r) => asks(r, c.text)), 30_000);
      checkRule(log.some((r) => asks(r, c.text)), 'LANE-12', `${c.runId} reaches the model (the slot b held was released)`, () => describeRequests(log));
      checkRule(!log.some((r) => asks(r, b.text)), 'QUEUE-18', `the aborted ${b.runId} never reaches the model`, () => describeRequests(log));
    },
  },
  {
    id: 'queue.nothing-lost.burst',
    title: 'A burst with drops and aborts: every message really settles once (its answer reached its sender, or a refusal it saw)',
    rules: ['QUEUE-20', 'QUEUE-21', 'QUEUE-18', 'WS-13', 'WS-17', 'WS-18'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Any queue mode (in-process: collect, cap 3, summarize, or the first mode and drop policy the gateway declares). Three clients send 24 messages to two sessions at seeded random times over 12 s (some runs think for seconds), ' +
      'and abort three of them (the first: the newest message still waiting, by its runId). Then the case waits until every message really settled: its text reached the model and its answer came back to its sender ' +
      '(own non-empty final, or status merged/steered/summarized then the carrier\'s final), or its sender saw a refusal with a code. An empty final is not an answer. ' +
      'Each abort answers {aborted: [...]}; an aborted waiting message never reaches the model and its sender hears aborted. ' +
      'Precondition: the burst made messages wait (some answered other than started).',
    async run(ctx) {
      // In process: collect with summarize at cap 3 when declared (the richest mix), else what the gateway declares.
      const { mode, drop } = declaredQueue(ctx.supports, ['collect', 'followup', 'steer-backlog', 'steer', 'interrupt']);
      const { session } = await openGateway(ctx, { messages: { queue: { mode, drop, cap: 3 } } });
      await script(session, [on('hold', hold(6_000)), on('stream', stream(1_500, 20))]);
      const prng = new Prng(ctx.seed);
      const clients = [await session.connect('alice'), await session.connect('bob'), await session.connect('carol')];
      const keys = [session.sessionKey('burst-a'), session.sessionKey('burst-b')];
      const sent: Sent[] = [];
      const aborts = new Set([5, 11, 17]);
      /** A waiting message aborted by runId: it must never reach the model after `at`, and its sender must hear aborted. */
      const abortedWaiting: { victim: Sent; at: number }[] = [];
      for (let i = 0; i < 24; i++) {
        await session.sleep(prng.int(50, 900));
        const client = clients[prng.int(0, clients.length - 1)]!;
        const key = keys[prng.int(0, keys.length - 1)]!;
        const kind = prng.next();
        // A unique, delimited label: containment checks must not confuse message 1 with 10..19.
        const text = `burst-${String(i).padStart(2, '0')}: ${kind < 0.3 ? marker('hold') : kind < 0.5 ? marker('stream') : 'quick'}`;
        sent.push(await send(session, client, key, text));
        if (aborts.has(i)) {
          const logBefore = await modelLog(session);
          // The first abort aims at the newest message still waiting (an abort of a queued run is what gateways get wrong); the others at random.
          const stillWaiting = sent.filter((s) => s.status !== 'rejected' && waitEnd(s) === null && !logBefore.some((r) => asks(r, s.text)));
          const aimed = i === 5 ? stillWaiting.at(-1) : undefined;
          const randomVictim = sent[prng.int(0, sent.length - 1)]!;
          const victim = aimed ?? randomVictim;
          const byRunId = prng.next() < 0.7 || aimed !== undefined;
          const waiting = victim.status !== 'rejected' && waitEnd(victim) === null && !logBefore.some((r) => asks(r, victim.text));
          const at = nowOf(session);
          const list = await chatAbort(client, byRunId ? { sessionKey: victim.sessionKey, runId: victim.runId } : { sessionKey: victim.sessionKey });
          if (list === null || !byRunId) continue;
          // A waiting message (never at the model, its wait not ended) that the abort lists was removed (QUEUE-18): judged below.
          // One it does not list may be a gist pending in a summary (neither buffered nor a run: nothing to abort); it must
          // then settle like any other (checked below); queue.abort.queued judges an abort of a plain waiting followup.
          if (waiting && list.includes(victim.runId)) abortedWaiting.push({ victim, at });
          else if (waiting) ctx.note(`chat.abort {runId: ${victim.runId}} of a message still waiting listed ${JSON.stringify(list)}`);
        }
      }
      precondition(sent.some((s) => s.status !== 'started'), () => `the burst made messages wait (all ${sent.length} were answered started: the sessions were never busy)`);
      const ends = await waitAllEnded(session, sent, 300_000, 'QUEUE-20');
      // Every accepted message that was not refused must have reached the model: wait for it (a gateway may end a wait
      // with an empty final first and run the message later, DEP-3), then for every request to end.
      const refusedOrRejected = (s: Sent): boolean => s.status === 'rejected' || (ends.get(s)?.kind === 'refused');
      const toReach = sent.filter((s) => !refusedOrRejected(s) && s.status !== 'in_flight');
      const log = await modelLogWhen(session, (l) => toReach.every((s) => l.some((r) => asks(r, s.text))) && l.every((r) => r.durationMs !== null), 120_000, 500);
      const runIds = new Set<string>();
      let answered = 0;
      let emptyFinals = 0;
      for (const s of sent) {
        if (s.status === 'rejected') {
          checkRule(typeof s.code === 'string' && s.code !== '', 'QUEUE-20', `a rejected message (${s.runId}) carries a code`, JSON.stringify(s.response.payload));
          await waitUntil(session, () => refusalOf(s), 1_000);
          if (s.code !== null) expectRefused(s, 'QUEUE-21', 'error', s.code, null);
          continue;
        }
        checkRule(!runIds.has(s.runId), 'WS-13', 'runIds are unique among live runs', `${s.runId} told twice`);
        runIds.add(s.runId);
        const own = chats(s.client, s.runId).filter((e) => isTerminal(e.payload.state));
        // Carried: a status frame naming the carrying run (WS-17). A gateway's own progress frames with
        // state "status" for a run that is answering itself (OpenClaw's) carry no carriedBy.
        const carried = chats(s.client, s.runId).filter((e) => e.payload.state === 'status' && typeof e.payload.carriedBy === 'string');
        checkRule(own.length <= 1, 'QUEUE-20', `${s.runId} settles once: at most one terminal frame for it`, () => `${own.length}: ${heard(s.client)}`);
        checkRule(!(own.length === 1 && carried.length > 0), 'QUEUE-20', `${s.runId} settles once: not both carried and ended on its own`, () => heard(s.client));
        for (const st of carried) {
          checkRule(['merged', 'steered', 'summarized'].includes(st.payload.status ?? ''), 'WS-17', 'a status frame says merged, steered or summarized', String(st.payload.status));
        }
        const end = ends.get(s);
        if (end === undefined) continue; // already failed by waitAllEnded
        if (end.kind === 'refused') {
          checkRule(end.errorCode !== null && end.errorCode !== '', 'QUEUE-20', `a refused message (${s.runId}) carries a code the sender sees`, describeEnd(end));
          continue;
        }
        const atModel = log.some((r) => asks(r, s.text));
        // Settled by its own answer: its text reached the model and the answer came back to its sender.
        checkRule(atModel, 'QUEUE-20', `${s.runId} (${JSON.stringify(s.text)}) really settles: its text reaches the model, or its sender hears a refusal with a code`,
          () => `its sender heard ${describeEnd(end)}, but no model request carries its text within 120 s (${describeRequests(log, 4)})`);
        if (end.state === 'final' && end.text === '') {
          emptyFinals++;
          checkRule(false, 'WS-17', `the wait of ${s.runId} ends with its answer (a non-empty final of its run or of the run carrying it)`,
            `an empty final for ${s.runId} at ${end.at}${atModel ? '; its text reached the model later and the answer went elsewhere (DEP-3)' : ' and its text never reached the model'}`);
        } else if (end.state === 'final') {
          answered++;
        }
      }
      for (const { victim, at } of abortedWaiting) {
        const end = ends.get(victim);
        checkRule(end !== undefined && end.state === 'aborted', 'QUEUE-18', `the aborted waiting message ${victim.runId} ends aborted for its sender`,
          () => (end === undefined ? 'no end' : describeEnd(end)));
        const late = log.filter((r) => asks(r, victim.text) && r.t > at + session.timeScale);
        checkRule(late.length === 0, 'QUEUE-18', `the aborted waiting message ${victim.runId} never reaches the model`, () => describeRequests(late));
      }
      ctx.note(`${sent.length} messages: ${sent.filter((s) => s.status === 'rejected').length} rejected at the door, ${[...ends.values()].filter((e) => e.kind === 'carried').length} carried, ` +
        `${[...ends.values()].filter((e) => e.kind === 'refused').length} refused later, ${answered} answered with a final, ${emptyFinals} empty finals; ${abortedWaiting.length} waiting message(s) aborted by runId`);
    },
  },
  {
    id: 'queue.idempotency.repeat',
    title: 'A repeated (sessionKey, idempotencyKey) is not accepted again: same runId, in_flight',
    rules: ['WS-14', 'WS-13'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Send a message with a key unique to this run; resend it with the same key while it runs, and again 4 min 50 s after it ended (on a real-time gateway where that would take over ' +
      `${MEMORY_WATCH_REAL_MS / 1000} s of real time: right after it ended, noted): same runId, status in_flight (after the end OpenClaw's "ok" is accepted, DEP-9), one model request, one terminal frame. ` +
      'Every key is unique (WS-14 scopes keys per session, a gateway may remember them gateway-wide: DEP-9).',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('idem');
      const text = `once only ${marker('hold')}`;
      const idem = uniqueKey('idem');
      const a = await send(session, alice, key, text, { idempotencyKey: idem });
      const again = await send(session, alice, key, text, { idempotencyKey: idem });
      checkRule(again.runId === a.runId && again.status === 'in_flight', 'WS-14', `a repeat answers the first runId ${a.runId} with status in_flight`, `${again.runId} ${again.status}`);
      await waitAllEnded(session, [a], 60_000, 'WS-14');
      const wait = 290_000;
      if (isVirtual(ctx) || wait / session.timeScale <= MEMORY_WATCH_REAL_MS) await session.sleep(wait);
      else {
        ctx.note(`the 5-minute memory is not watched: ${wait / session.timeScale / 1000} s of real time; the key was resent right after the run ended`);
        await session.sleep(500);
      }
      const late = await send(session, alice, key, text, { idempotencyKey: idem });
      checkRule(late.runId === a.runId && (late.status === 'in_flight' || late.status === 'ok'), 'WS-14',
        'a key is remembered for 5 minutes after its message settled: same runId, in_flight (OpenClaw answers "ok" once the run ended, DEP-9)', `${late.runId} ${late.status}`);
      if (late.status === 'ok') ctx.note('after the run ended the repeat was answered "ok" (OpenClaw\'s form, DEP-9)');
      await session.sleep(3_000);
      const log = await modelLog(session);
      const ran = log.filter((r) => asks(r, text));
      checkRule(ran.length === 1, 'WS-14', 'the message ran once (one model request)', () => `${ran.length} requests: ${describeRequests(ran)}`);
      checkRule(terminals(alice, a.runId).length === 1, 'WS-14', 'one terminal frame for the runId', `${terminals(alice, a.runId).length}`);
    },
  },
  {
    id: 'queue.idempotency.rejected',
    title: 'A refused message resent with the same idempotencyKey is refused again with the same runId and code',
    rules: ['WS-14', 'QUEUE-13'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ queueMode: 'followup' }, { dropPolicy: 'new' }],
    procedure: 'Config followup, cap 1, drop new. While a run thinks, one followup fills the queue; a third message is rejected; resent with its key it answers rejected, same runId, same code.',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { messages: { queue: { mode: 'followup', cap: 1, drop: 'new' } } }, needQueue({ mode: 'followup', drop: 'new' }));
      const cap = config!.messages.queue.cap;
      await script(session, [on('hold', hold(6_000))]);
      const alice = await session.connect('alice');
      const k2 = session.sessionKey('idem-full');
      const first = await send(session, alice, k2, `busy ${marker('hold')}`);
      const fillers: Sent[] = [];
      for (let i = 0; i < cap; i++) fillers.push(await send(session, alice, k2, `filler ${i}`));
      const refusedKey = uniqueKey('idem-refused');
      const refused = await send(session, alice, k2, 'refused', { idempotencyKey: refusedKey });
      precondition(terminals(alice, first.runId).length === 0, 'the first run was still running when the queue was full');
      expectRule(refused.status === 'rejected', 'QUEUE-13', `at the cap (${cap}) with drop new the message is rejected`, refused.status);
      const resent = await send(session, alice, k2, 'refused', { idempotencyKey: refusedKey });
      checkRule(resent.runId === refused.runId && resent.status === 'rejected' && resent.code === refused.code, 'WS-14',
        `a refused message resent answers rejected with the same runId and code ${String(refused.code)}`, `${resent.runId} ${resent.status} ${String(resent.code)}`);
      await waitAllEnded(session, [first, ...fillers], 60_000, 'WS-14');
    },
  },
  {
    id: 'queue.history.partial',
    title: 'chat.history shows the partial output of the running run (or of the nested run it awaits), and the transcript',
    rules: ['WS-19'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'history' }],
    procedure:
      'While a run streams: chat.history has partial {runId, text, elapsedMs} of that run with at least the text sent as deltas (the seed\'s "View partial output"), with or without runId; ' +
      'after it ended partial is null. The transcript must list the user message, then the answer (oldest first; limit 1 keeps the last); its entry shape {role, runId, text} is ' +
      'checked when the gateway uses it, otherwise only noted (OpenClaw keeps its own transcript entries). While a run awaits a streaming nested run (sessions_send): partial is the nested run\'s output.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      const nestedKey = `agent:helper:${session.sessionKey('nested')}`;
      await script(session, [
        on('stream', stream(6_000, 40)),
        { name: 'parent-done', match: { marker: marker('nest'), afterToolResult: true }, respond: turn({ ttftMs: 100, streamMs: 100, tokens: 3 }) },
        on('nest', { ttftMs: 200, toolCalls: [{ name: 'sessions_send', arguments: JSON.stringify({ targetSessionKey: nestedKey, message: `work ${marker('nested-work')}` }) }] }),
        on('nested-work', stream(6_000, 40)),
      ]);
      const alice = await session.connect('alice');
      const key = session.sessionKey('history');
      const a = await send(session, alice, key, `tell a story ${marker('stream')}`);
      const startedAt = a.at;
      expectRule((await waitChat(session, alice, a.runId, ['delta'], 10_000)) !== null, 'WS-19', 'the run streams', heard(alice));
      await session.sleep(2_000);
      type Partial = { runId: string; text: string; elapsedMs: number } | null;
      const forms = new Set<string>();
      /**
       * chat.history's partial in WS-19's form, or OpenClaw's `inFlightRun {runId, text, startedAt}`, present
       * while a run is in flight and left out when none is (DEP-9); undefined when the answer has neither form.
       */
      const partialOf = (payload: Record<string, unknown>): Partial | undefined => {
        if ('partial' in payload) return payload['partial'] as Partial;
        const run = payload['inFlightRun'];
        if (run === undefined || run === null) return forms.has('inFlightRun') ? null : undefined;
        if (typeof run !== 'object') return undefined;
        forms.add('inFlightRun');
        const r = run as { runId?: unknown; text?: unknown; startedAt?: unknown };
        return { runId: String(r.runId), text: typeof r.text === 'string' ? r.text : '', elapsedMs: typeof r.startedAt === 'number' ? Date.now() - r.startedAt : NaN };
      };
      let runIdRefused: string | null = null;
      const history = async (params: Record<string, unknown>) => {
        let res = await alice.request('chat.history', params);
        if (!res.ok && 'runId' in params && /runId/.test(res.error?.message ?? '')) {
          // OpenClaw's chat.history takes no runId (DEP-9): it shows the session's in-flight run.
          runIdRefused = JSON.stringify(res.error);
          const { runId: _named, ...rest } = params;
          res = await alice.request('chat.history', rest);
        }
        expectRule(res.ok, 'WS-19', `chat.history ${JSON.stringify(params)} answers ok`, JSON.stringify(res.error));
        const payload = (res.payload ?? {}) as Record<string, unknown>;
        return { raw: payload, messages: Array.isArray(payload['messages']) ? (payload['messages'] as Record<string, unknown>[]) : null, partial: partialOf(payload) };
      };
      const at = nowOf(session);
      // What was sent as deltas before the request: the partial holds at least that.
      const sentText = chats(alice, a.runId).filter((e) => e.payload.state === 'delta').map((e) => e.payload.deltaText ?? '').join('');
      const h1 = await history({ sessionKey: key });
      expectRule(h1.partial !== undefined, 'WS-19',
        `chat.history answers partial: the running run's output so far ("View partial output"; {runId, text, elapsedMs}, null when nothing runs), here of ${a.runId}`,
        () => `no partial field: the answer has ${Object.keys(h1.raw).join(', ') || 'no fields'}; the output of the running run (${sentText.length} characters sent as deltas so far) cannot be viewed`);
      expectRule(h1.partial !== null && typeof h1.partial === 'object' && h1.partial.runId === a.runId, 'WS-19', `partial is the running run ${a.runId}`, JSON.stringify(h1.partial));
      checkRule(typeof h1.partial.text === 'string' && h1.partial.text.startsWith(sentText) && sentText !== '', 'WS-19',
        'partial.text is the output so far: what was sent as deltas and any text not yet sent', `partial ${JSON.stringify(h1.partial.text)} vs deltas ${JSON.stringify(sentText)}`);
      const tol = slack(ctx, session, 2_000);
      checkRule(typeof h1.partial.elapsedMs === 'number' && Math.abs(gatewayMs(session, h1.partial.elapsedMs) - (at - startedAt)) <= tol, 'WS-19',
        `partial.elapsedMs is the time since the run started (${at - startedAt})`, `${h1.partial.elapsedMs}`);
      const h2 = await history({ sessionKey: key, runId: a.runId });
      checkRule(h2.partial !== null && h2.partial !== undefined && h2.partial.runId === a.runId, 'WS-19', 'with runId: the partial of that run', JSON.stringify(h2.partial));
      if (runIdRefused !== null) ctx.note(`chat.history refuses runId (${runIdRefused}): the session's in-flight run was read instead (DEP-9)`);
      const ends = await waitAllEnded(session, [a], 60_000, 'WS-19');
      const answer = ends.get(a)!.text;
      const h3 = await history({ sessionKey: key });
      checkRule(h3.partial === null, 'WS-19', 'partial is null when nothing runs', JSON.stringify(h3.partial));
      // The transcript: judged on its content; the entry shape is WS-19's only when the gateway uses it.
      expectRule(h3.messages !== null, 'WS-19', 'chat.history answers messages (a list)', JSON.stringify(h3.raw).slice(0, 200));
      const list = h3.messages;
      const userAt = list.findIndex((m) => m.role === 'user' && entryText(m).includes(a.text));
      const answerAt = list.findIndex((m, i) => i > userAt && m.role === 'assistant' && answer !== '' && entryText(m).includes(answer));
      checkRule(userAt >= 0 && answerAt > userAt, 'WS-19', 'the transcript lists the user message, then the answer, oldest first',
        () => JSON.stringify(list.map((m) => ({ role: m.role, text: entryText(m).slice(0, 60) }))));
      const wsShape = list.every((m) => typeof m.runId === 'string' && typeof m.text === 'string');
      if (wsShape) {
        const roles = list.map((m) => `${String(m.role)}:${String(m.runId)}`);
        checkRule(roles.join(',') === `user:${a.runId},assistant:${a.runId}`, 'WS-19', 'entries {role, runId, text}: the user message, then the answer when its run ended', roles.join(','));
        checkRule(list[1]?.text === answer, 'WS-19', 'the answer entry is the final text', JSON.stringify(String(list[1]?.text).slice(0, 80)));
      } else {
        ctx.note(`transcript entries are not {role, runId, text} but {${[...new Set(list.flatMap((m) => Object.keys(m)))].join(', ')}}: content checked, shape only noted`);
      }
      const h4 = await history({ sessionKey: key, limit: 1 });
      checkRule(h4.messages !== null && h4.messages.length === 1 && h4.messages[0]!.role === 'assistant', 'WS-19', 'limit 1 keeps the last entry',
        JSON.stringify(h4.messages?.map((m) => m.role)));
      if (forms.has('inFlightRun')) ctx.note('the partial output is chat.history\'s inFlightRun {runId, text, startedAt} (OpenClaw\'s form, DEP-9)');
      // Nested: only when the gateway runs the nested agent (its message reaches the model).
      const key2 = session.sessionKey('history-nested');
      const p = await send(session, alice, key2, `ask the helper ${marker('nest')}`);
      let lastPartial: unknown = null;
      let nestedRan = false;
      const nestedStreaming = await waitUntil(session, async () => {
        const h = await history({ sessionKey: key2, runId: p.runId });
        lastPartial = h.partial;
        nestedRan ||= requestsWith(await modelLog(session), 'nested-work').length > 0;
        return h.partial !== null && h.partial !== undefined && h.partial.runId !== p.runId && h.partial.text !== '' ? h : null;
      }, 15_000, 500);
      if (nestedStreaming === null && !nestedRan) {
        ctx.note(`the nested part is not observed: the model's sessions_send {targetSessionKey, message} call did not start a nested run (no model request for its message); the gateway's agent-to-agent tool differs or is off`);
        await waitAllEnded(session, [p], 60_000, 'WS-19');
        return;
      }
      checkRule(nestedStreaming !== null, 'WS-19', `while ${p.runId} awaits a streaming nested run, partial is the nested run's output so far (another runId, non-empty text)`,
        () => `partial ${JSON.stringify(lastPartial)}`);
      await waitAllEnded(session, [p], 60_000, 'WS-19');
    },
  },
  {
    id: 'queue.chat-events.stream',
    title: "A run's chat frames: seq from 1, deltas at most every 150 ms, one terminal frame to every subscriber",
    rules: ['WS-15', 'WS-16'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'A second client subscribes (sessions.subscribe {sessionKey}; a gateway that refuses it but sends every session\'s events to every operator connection is accepted); ' +
      'the first sends a message whose answer streams 40 words over 2 s. For both clients (the second only if it hears the session at all, else noted): seq from 1, increasing ' +
      '(1..n, or with gaps / a terminal frame repeating the last delta\'s seq, OpenClaw\'s form: DEP-9), deltas then exactly one final; deltas at least 75 ms apart (the reference: 150) but for a last ' +
      'delta sent with the terminal frame; their texts add up to the final text; each delta\'s message is the text so far.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      const answer = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
      await script(session, [on('stream', turn({ ttftMs: 300, streamMs: 2_000, text: answer }))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('events');
      const watcher = await bystander(bob, key);
      const a = await send(session, alice, key, `stream please ${marker('stream')}`);
      await waitAllEnded(session, [a], 30_000, 'WS-15');
      await waitUntil(session, () => terminals(bob, a.runId).length > 0, 1_000);
      const clients = [alice];
      if (watcher.subscribed || observes(watcher)) clients.push(bob);
      if (!watcher.subscribed) ctx.note(`bystander: ${describeBystander(watcher)}${clients.includes(bob) ? '' : '; only the sender\'s frames are checked'}`);
      // Pacing runs on the gateway's clock: at least 75 of its ms (the reference: 150; OpenClaw 2026.9.6: 75, DEP-9).
      const floor = gatewayMs(session, DELTA_PACING_FLOOR_MS);
      const tol = slack(ctx, session, floor);
      for (const client of clients) {
        const frames = chats(client, a.runId).filter((e) => e.payload.seq !== 0);
        expectRule(frames.length >= 2, 'WS-15', `${client.name} gets the run's frames`, heard(client));
        frames.forEach((e) => {
          expectRule(e.payload.sessionKey === key && e.payload.runId === a.runId, 'WS-15', 'chat payload names runId and sessionKey', JSON.stringify(e.payload).slice(0, 120));
        });
        // seq: the reference numbers the run's chat frames 1..n; a gateway may number them in the run's event
        // sequence shared with its agent events (gaps) and give its terminal frame the seq of a delta sent just
        // before it (OpenClaw, DEP-9). Either way it starts at 1 or more and never goes back.
        const seqs = frames.map((e) => e.payload.seq);
        const last = frames.length - 1;
        seqs.forEach((q, i) => {
          const prev = i === 0 ? 0 : seqs[i - 1]!;
          const flushRepeat = i === last && isTerminal(frames[i]!.payload.state) && frames[i - 1]?.payload.state === 'delta' && q === prev;
          expectRule(typeof q === 'number' && Number.isInteger(q) && (q > prev || flushRepeat), 'WS-15',
            `${client.name}: seq numbers the run's stream from 1, increasing (1..n; gaps from a sequence shared with agent events and a terminal frame repeating the last delta's seq also conform, DEP-9)`,
            `seq ${seqs.join(',')}`);
        });
        const gapless = seqs.every((q, i) => q === i + 1);
        if (!gapless) ctx.note(`${client.name}: chat seq ${seqs.join(',')} (not 1..n: OpenClaw's form, DEP-9)`);
        const terminal = frames.filter((e) => isTerminal(e.payload.state));
        expectRule(terminal.length === 1 && frames.at(-1) === terminal[0], 'WS-15', `${client.name}: exactly one terminal frame, the last one`, frames.map((e) => e.payload.state).join(','));
        checkRule(terminal[0]!.payload.state === 'final', 'WS-15', 'the run ends final', terminal[0]!.payload.state);
        const deltas = frames.filter((e) => e.payload.state === 'delta');
        // A flush: the last delta, sent together with the terminal frame (within the pacing) to deliver the rest of the text.
        const lastDelta = deltas.at(-1);
        const flush = lastDelta !== undefined && frames[last - 1] === lastDelta && terminal[0] !== undefined && terminal[0].at - lastDelta.at < floor ? lastDelta : null;
        let text = '';
        let closest = Infinity;
        for (let i = 0; i < deltas.length; i++) {
          const d = deltas[i]!;
          text += d.payload.deltaText ?? '';
          const so = (d.payload.message?.content ?? []).map((c) => c.text).join('');
          expectRule(so === text, 'WS-15', `${client.name}: a delta's message is the accumulated answer`, `${JSON.stringify(so.slice(-40))} vs ${JSON.stringify(text.slice(-40))}`);
          if (i > 0 && d !== flush) closest = Math.min(closest, d.at - deltas[i - 1]!.at);
        }
        // WS-16 (tolerances.ts, cases-A): every gap on a fake clock; on a real one, deltas counted per window, so that
        // arrival noise (150 ms real) cannot hide deltas 50 ms apart nor fail 75 ms pacing.
        const unpaced = pacingViolation(deltas.filter((d) => d !== flush).map((d) => d.at), floor, noise(ctx, session));
        checkRule(unpaced === null, 'WS-16', `${client.name}: deltas are paced, at most one per ${DELTA_PACING_FLOOR_MS} ms (the reference: ${DELTA_THROTTLE_MS})`, () => unpaced!);
        if (Number.isFinite(closest) && closest < gatewayMs(session, DELTA_THROTTLE_MS) - tol) ctx.note(`${client.name}: deltas as close as ${Math.round(closest)} ms (paced under ${DELTA_THROTTLE_MS} ms, at least ${DELTA_PACING_FLOOR_MS}: DEP-9)`);
        if (flush !== null) ctx.note(`${client.name}: a last delta came with the terminal frame (${Math.round(terminal[0]!.at - flush.at)} ms before it), delivering the rest of the text (DEP-9)`);
        const finalText = (terminal[0]!.payload.message?.content ?? []).map((c) => c.text).join('');
        checkRule(finalText === answer, 'WS-15', `${client.name}: the final frame's message is the full answer`, `${JSON.stringify(finalText.slice(-60))} (${finalText.length} chars, expected ${answer.length})`);
        checkRule(text !== '' && finalText.startsWith(text), 'WS-16', `${client.name}: the deltas are the answer's text in order (text produced between deltas is coalesced, none lost or reordered)`,
          `deltas ${JSON.stringify(text.slice(-40))} final ${JSON.stringify(finalText.slice(-40))}`);
        if (finalText !== text) ctx.note(`${client.name}: the last ${finalText.length - text.length} characters came only with the final frame (not as a delta)`);
      }
    },
  },
];

