/**
 * WS-23 / QUEUE-19: a graceful stop, as the gateway's clients see it. The
 * harness must be able to stop the gateway: in process through the adapter's
 * `InProcessGateway.stop` (src/conformance/adapter.ts); over the wire only
 * when the target provisions the gateway and offers `session.stopGateway`
 * (a `--url` gateway the harness did not start cannot be stopped by it).
 * Otherwise the case is n/a, saying what would enable it. A gateway that
 * declares `supports.shutdown: false` gets n/a before the case runs.
 */
import { CloseCodes } from '../../model/protocol.ts';
import { NotApplicable, checkRule, expectRule, precondition, type ConformanceCase, type GatewaySession, type ReceivedEvent, type TestClient } from '../types.ts';
import {
  GATEWAY, chats, conforms, heard, marker, on, openGateway, script, send, terminals, turn, waitUntil,
} from './gateway-support.ts';

type Stop = (options: { abortRunning: boolean }) => Promise<void>;

/** How the harness stops this session's gateway, or why it cannot. */
function stopperOf(session: GatewaySession): Stop {
  const own = (session as { stopGateway?: unknown }).stopGateway;
  if (typeof own === 'function') return (options) => Promise.resolve((own as Stop).call(session, options));
  const gateway = (session as { gateway?: { stop?: unknown } }).gateway;
  if (gateway !== undefined && typeof gateway.stop === 'function') {
    const stop = gateway.stop as (o: { abortRunning: boolean }) => unknown;
    return (options) => Promise.resolve(stop.call(gateway, options)).then(() => undefined);
  }
  if (gateway !== undefined) throw new NotApplicable('the adapter\'s gateway has no stop(): implement InProcessGateway.stop (src/conformance/adapter.ts) to have graceful shutdown checked');
  throw new NotApplicable('the harness cannot stop this gateway: shutdown is checked in process (an adapter with InProcessGateway.stop) or over the wire on a gateway the target provisions with session.stopGateway; a --url gateway it did not start cannot be stopped (declare supports.shutdown: false to say so)');
}

function shutdownEvents(client: TestClient): ReceivedEvent[] {
  return client.events.filter((e) => e.event === 'shutdown');
}

/** Both variants of the stop: the running run finishes (abortRunning false) or is aborted (true). */
function shutdownCase(abortRunning: boolean): ConformanceCase {
  const ending = abortRunning ? 'aborted' : 'final';
  return {
    id: `lifecycle.shutdown.${abortRunning ? 'abort-running' : 'finish-running'}`,
    title: `Graceful stop (abortRunning ${abortRunning}): every client told, waiting and new messages refused GATEWAY_SHUTDOWN, the running run ${abortRunning ? 'aborted' : 'finishes'}`,
    rules: ['WS-23', 'QUEUE-19', 'QUEUE-21'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'shutdown' }, { queueMode: 'followup' }],
    procedure:
      `Config followup. Run A thinks 20 s (precondition: still running when the stop begins); message B waits behind it (answered queued: precondition); a bystander client is connected. The harness stops the gateway with abortRunning ${abortRunning}. ` +
      'Every connection receives shutdown {reason, abortRunning} (WS-23); B settles rejected: its sender hears a chat error frame with errorCode GATEWAY_SHUTDOWN (QUEUE-19, QUEUE-21); ' +
      `a chat.send after the stop began is answered rejected with code GATEWAY_SHUTDOWN (or, once connections are refused, an error); A ends ${ending}; the stop completes once no run is live; ` +
      'a connection that exposes its close (over the wire) is closed with 1001.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } });
      const stop = stopperOf(session);
      await script(session, [on('stop-hold', turn({ ttftMs: 20_000, streamMs: 300, tokens: 4 }))]);
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const carol = await session.connect('carol');
      const key = session.sessionKey('shutdown');
      const a = await send(session, alice, key, `hold ${marker('stop-hold')}`);
      await session.sleep(300);
      const b = await send(session, bob, key, 'waits behind it');
      precondition(b.status === 'queued', `the second message was answered ${b.status}, not queued: nothing waits when the stop begins`);
      precondition(terminals(alice, a.runId).length === 0, `run ${a.runId} had already ended before the stop began: nothing runs to ${abortRunning ? 'abort' : 'finish'}`);
      let stopped = false;
      let stopError: unknown = null;
      void stop({ abortRunning }).then(() => void (stopped = true), (error: unknown) => {
        stopped = true;
        stopError = error;
      });
      // A message after the stop began: refused (QUEUE-19), as a rejected outcome or an error response. With no run
      // live any more the gateway may already have closed the connection (WS-23): then there is nothing to judge.
      const late = await alice.request('chat.send', { sessionKey: key, message: 'after the stop', idempotencyKey: `stop-late-${ctx.seed}-${abortRunning}` })
        .catch((error: unknown) => (alice.closed ? null : Promise.reject(error)));
      if (late === null) {
        ctx.note('the connection was closed before a message after the stop could be answered (no run was live any more)');
      } else if (late.ok) {
        const p = late.payload as { status?: unknown; code?: unknown } | null;
        checkRule(p !== null && p.status === 'rejected' && p.code === 'GATEWAY_SHUTDOWN', 'QUEUE-19', 'a message sent after the stop began is answered rejected with code GATEWAY_SHUTDOWN', JSON.stringify(p));
      } else {
        ctx.note(`a message after the stop began was answered with an error: ${JSON.stringify(late.error)}`);
      }
      await waitUntil(session, () => stopped, 60_000);
      expectRule(stopError === null, 'WS-23', 'the graceful stop completes', () => `it failed: ${String(stopError)}`);
      checkRule(stopped, 'WS-23', 'the graceful stop completes once no run is live', 'still stopping 60000 later');
      for (const client of [alice, bob, carol]) {
        const told = shutdownEvents(client);
        if (checkRule(told.length >= 1, 'WS-23', `${client.name} receives a shutdown event`, () => heard(client))) {
          if (conforms(told[0]!, 'shutdown')) {
            checkRule((told[0]!.payload as { abortRunning: boolean }).abortRunning === abortRunning, 'WS-23', `shutdown.abortRunning is ${abortRunning}`, JSON.stringify(told[0]!.payload));
          }
        }
      }
      const bEnd = chats(bob, b.runId).find((e) => e.payload.state === 'error' || e.payload.state === 'aborted' || e.payload.state === 'final');
      checkRule(bEnd !== undefined && bEnd.payload.state === 'error' && bEnd.payload.errorCode === 'GATEWAY_SHUTDOWN', 'QUEUE-19',
        `the waiting message ${b.runId} settles rejected: its sender hears a chat error frame with errorCode GATEWAY_SHUTDOWN`, () => (bEnd === undefined ? `nothing: ${heard(bob)}` : JSON.stringify(bEnd.payload)));
      const aEnd = terminals(alice, a.runId)[0];
      checkRule(aEnd !== undefined && aEnd.payload.state === ending, 'QUEUE-19', `the running run ${a.runId} ${abortRunning ? 'is aborted' : 'finishes'} (ends ${ending})`,
        () => (aEnd === undefined ? `no terminal frame: ${heard(alice)}` : aEnd.payload.state));
      // Over the wire a client can tell how its connection was closed.
      for (const client of [alice, bob, carol]) {
        const info = (client as { closeInfo?: { code: number; reason: string } | null }).closeInfo;
        if (info !== undefined && info !== null) checkRule(info.code === CloseCodes.GOING_AWAY, 'WS-23', `${client.name}'s connection is closed with 1001 once no run is live`, `closed ${info.code} ${JSON.stringify(info.reason)}`);
      }
    },
  };
}

export const LIFECYCLE_CASES: readonly ConformanceCase[] = [shutdownCase(false), shutdownCase(true)];
