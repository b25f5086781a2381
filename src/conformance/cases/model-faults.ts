/**
 * What a gateway does when its model misbehaves, seen from the outside: a
 * stream cut mid-way (an SSE error frame, or the connection dropped with the
 * body unterminated) and a model that goes silent for longer than any
 * reasonable timeout. SPEC names no model timeout; what it does require is
 * that every run that started ends with exactly one terminal frame (WS-15:
 * `final` with the full answer, or `error` with `errorMessage` for a run that
 * failed), that a failure stays local and frees the run's slots (LANE-8,
 * LANE-9), and that a waiting sender keeps hearing something (HB-1).
 *
 * The model is the harness's scripted model (capability model-script):
 * src/fake-model/script.ts `error: {afterTokens, message, mode}` and
 * `stall: {afterTokens, ms}`. Durations are gateway ms (gateway-support.ts).
 */
import { checkRule, precondition, type ConformanceCase } from '../types.ts';
import {
  DEFAULT_HEARTBEAT_MS, GATEWAY, chats, declaredQueue, heard, isTerminal, marker, modelLog, on, openGateway, requestsWith, script, send, silences, slack, turn,
  waitAllEnded, waitRequests, type Sent, type WaitEnd,
} from './gateway-support.ts';

/** The words the cut and stalled answers are made of (the full answer a final must carry). */
const ANSWER = Array.from({ length: 12 }, (_, i) => `part${i}`).join(' ');

function describeEnd(end: WaitEnd | undefined): string {
  if (end === undefined) return 'no end';
  return `${end.kind} ${end.state}${end.errorCode !== null ? ` (${end.errorCode})` : ''} via ${end.runId} at ${end.at}, text ${JSON.stringify(end.text.slice(0, 60))}`;
}

/** How long a cut run may take to end: past a retry window of 90 s (and each retry's own cut) with room for a loaded machine. */
const CUT_SETTLE_MS = 150_000;

/** The errorMessage of the terminal frame that ended `s`'s run, if any. */
function errorMessageOf(s: Sent): unknown {
  const frame = chats(s.client, s.runId).find((e) => isTerminal(e.payload.state) && e.payload.seq !== 0);
  return frame?.payload.errorMessage;
}

export const MODEL_FAULT_CASES: readonly ConformanceCase[] = [
  {
    id: 'model.stream.cut',
    title: 'A model stream cut mid-way ends the run with one error frame (not a final), and the session goes on',
    rules: ['WS-15', 'LANE-9', 'LANE-8'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      `The model streams 4 of 12 words, then the stream is cut: (1) an SSE error frame (stream_cut), (2) the connection closed with the body unterminated. ` +
      'For each, in its own session: the sender hears exactly one terminal frame for its runId, state error with a non-empty errorMessage ' +
      '(a cut answer is not a final); then a new message to the same session runs to a non-empty final (the failure freed the session, LANE-9). ' +
      'Precondition: the model really sent part of the answer and was cut (its request log says cut).',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      await script(session, [
        on('cut-chunk', { ...turn({ ttftMs: 300, streamMs: 1_100, text: ANSWER }), error: { afterTokens: 4, message: 'upstream died', mode: 'chunk' } }),
        on('cut-close', { ...turn({ ttftMs: 300, streamMs: 1_100, text: ANSWER }), error: { afterTokens: 4, message: 'upstream died', mode: 'close' } }),
      ]);
      const alice = await session.connect('alice');
      // Both cuts side by side, each in its own session: a gateway that never ends a cut run is judged within one settle
      // window plus one turn (210 s), inside any case timeout the CLI gives over the wire (300 s).
      const cut = async (mode: 'chunk' | 'close'): Promise<void> => {
        const tag = `cut-${mode}`;
        const key = session.sessionKey(tag);
        const a = await send(session, alice, key, `write it ${marker(tag)}`);
        // SPEC names no model timeout, and a gateway may retry a failed stream before it gives up (OpenClaw 2026.9.6 retries it as a
        // transient error, up to 8 times with backoff within 90 s: failover-retry-controller maybeRetryTransient): wait beyond that.
        const ends = await waitAllEnded(session, [a], CUT_SETTLE_MS, 'WS-15');
        const log = requestsWith(await modelLog(session), tag);
        precondition(log.length > 0 && log.some((e) => e.outcome === 'cut'), () => `the model's stream was cut (${mode}): requests ${log.map((e) => e.outcome).join(', ') || 'none'}`);
        const end = ends.get(a);
        const frames = chats(alice, a.runId).filter((e) => isTerminal(e.payload.state) && e.payload.seq !== 0);
        checkRule(frames.length === 1, 'WS-15', `the run cut mid-stream (${mode}) ends with exactly one terminal frame for ${a.runId}`,
          () => `${frames.length}: [${frames.map((e) => `${e.at}:${e.payload.state}#${e.payload.seq}${typeof e.payload.errorMessage === 'string' ? ` ${JSON.stringify(e.payload.errorMessage.slice(0, 80))}` : ''}`).join(', ')}]`);
        checkRule(end !== undefined && end.kind === 'ran' && end.state === 'error', 'WS-15',
          `a run whose model stream was cut (${mode}) failed: it ends with chat state error (errorMessage), not a final with the partial answer`, describeEnd(end));
        const message = errorMessageOf(a);
        checkRule(typeof message === 'string' && message.trim() !== '', 'WS-15', `the error frame of the cut run (${mode}) carries an errorMessage`, JSON.stringify(message));
        // LANE-9: the failure is local; the session takes the next message.
        const b = await send(session, alice, key, `and now? ${marker(`after-${tag}`)}`);
        const after = await waitAllEnded(session, [b], 60_000, 'LANE-9');
        const endB = after.get(b);
        checkRule(endB !== undefined && endB.kind === 'ran' && endB.state === 'final' && endB.text !== '', 'LANE-9',
          `after the cut run failed, the next message to the session (${b.runId}) runs to a non-empty final`, describeEnd(endB));
      };
      const outcomes = await Promise.allSettled([cut('chunk'), cut('close')]);
      // Every soft check of both is recorded; the first hard stop (failed expectation, unmet precondition) is the case's.
      const stopped = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (stopped !== undefined) throw stopped.reason;
    },
  },
  {
    id: 'model.stall.past-timeout',
    title: 'A model that goes silent for a minute mid-stream: the sender keeps hearing frames, the run ends with one terminal frame, the session goes on',
    rules: ['HB-1', 'WS-15', 'LANE-8', 'QUEUE-20'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'The model streams 3 of 12 words, then stalls 60 s (four heartbeat intervals), then streams the rest. ' +
      'A second message to the same session waits behind the run. SPEC names no model timeout, so either ending conforms: the run ends with exactly one terminal frame, ' +
      'a final with the full answer (the gateway waited) or an error with errorMessage (it gave up); never silence. While the model is silent both senders keep hearing ' +
      'a frame at least every heartbeat interval (HB-1). Once the run ended, the waiting message runs to a final (the run released the session, LANE-8).',
    async run(ctx) {
      // b waits behind a: in process, a mode in which a message waits (the first the gateway declares).
      const { session } = await openGateway(ctx, { messages: { queue: { mode: declaredQueue(ctx.supports).mode } } },
        (config) => (config.messages.queue.mode === 'interrupt' ? 'needs a queue mode in which a second message waits (not interrupt); the gateway runs interrupt' : null));
      // Four heartbeat intervals of silence (HB-1 is judged across it); SPEC names no model timeout, so a gateway may wait or give up.
      const stallMs = 60_000;
      await script(session, [
        on('stall', { ...turn({ ttftMs: 300, streamMs: 1_100, text: ANSWER }), stall: { afterTokens: 3, ms: stallMs } }),
        on('behind', turn({ ttftMs: 200, streamMs: 300, tokens: 4 })),
      ]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const key = session.sessionKey('stall');
      const a = await send(session, alice, key, `think hard ${marker('stall')}`);
      precondition((await waitRequests(session, ['stall'], 10_000)) !== null, 'the stalling run reaches the model');
      const b = await send(session, bob, key, `me next ${marker('behind')}`);
      const ends = await waitAllEnded(session, [a, b], stallMs + 60_000, 'WS-15');
      const log = requestsWith(await modelLog(session), 'stall');
      const stalled = log[0];
      // The stall began: the request outlived the words streamed before it (300 ms to the first, 100 ms apart); the gateway may end it any time after.
      precondition(stalled !== undefined && stalled.durationMs !== null && stalled.durationMs >= 1_000,
        () => `the model reached its stall (its request lasted ${stalled?.durationMs ?? '?'} ms, outcome ${stalled?.outcome ?? '?'})`);
      const endA = ends.get(a);
      const frames = chats(alice, a.runId).filter((e) => isTerminal(e.payload.state) && e.payload.seq !== 0);
      checkRule(frames.length === 1, 'WS-15', `the stalled run ends with exactly one terminal frame for ${a.runId}`, () => `${frames.length}: ${heard(alice)}`);
      if (endA !== undefined && endA.state === 'final') {
        checkRule(endA.text === ANSWER, 'WS-15', 'a final after the stall carries the full answer (the gateway waited for the model)', JSON.stringify(endA.text));
        ctx.note(`the gateway waited out the ${stallMs / 1000} s stall: final at ${endA.at}`);
      } else if (endA !== undefined) {
        checkRule(endA.state === 'error' && typeof errorMessageOf(a) === 'string' && String(errorMessageOf(a)).trim() !== '', 'WS-15',
          'a run the gateway gave up on ends with chat state error and an errorMessage', describeEnd(endA));
        ctx.note(`the gateway gave up on the stalled model: ${describeEnd(endA)} (${String(errorMessageOf(a))})`);
      }
      const endB = ends.get(b);
      checkRule(endB !== undefined && endB.kind === 'ran' && endB.state === 'final' && endB.text !== '', 'LANE-8',
        `the message waiting behind the stalled run (${b.runId}) runs to a final once it ended`, describeEnd(endB));
      // HB-1: while each sender waited (from its answer to its wait's end), no silence longer than the interval.
      const interval = session.facts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
      const tol = slack(ctx, session, interval);
      for (const [s, end] of [[a, endA], [b, endB]] as const) {
        if (end === undefined) continue;
        const longest = silences(s.client, s.at, end.at).reduce((m, g) => (g.gap > m.gap ? g : m), { gap: 0, after: s.at });
        checkRule(longest.gap <= interval + tol, 'HB-1', `${s.client.name} hears a frame at least every ${interval} ms while it waits on ${s.runId} (the model silent for ${stallMs / 1000} s)`,
          `${Math.round(longest.gap)} ms of silence after ${Math.round(longest.after)}`);
      }
    },
  },
];
