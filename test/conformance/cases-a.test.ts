/**
 * cases-A's cases (status, heartbeat, and the new agent-event, diagnostics
 * and lifecycle cases) against the in-process reference: every case passes,
 * and the payload schemas turn a malformed payload into a failure of the rule
 * that defines it (never a harness error), with every other failed check of
 * the case reported too.
 */
import { describe, expect, it } from 'vitest';
import { AGENT_EVENT_CASES } from '../../src/conformance/cases/agent-events.ts';
import { DIAGNOSTICS_CASES } from '../../src/conformance/cases/diagnostics.ts';
import { HB_CASES } from '../../src/conformance/cases/heartbeat.ts';
import { LIFECYCLE_CASES } from '../../src/conformance/cases/lifecycle.ts';
import { STATUS_CASES } from '../../src/conformance/cases/status.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { targetFromAdapter } from '../../src/conformance/in-process.ts';
import { createReferenceAdapter, referenceTarget } from '../../src/conformance/targets/reference.ts';
import type { CaseResult, ConformanceCase } from '../../src/conformance/types.ts';
import { PROTOCOL_CASES } from '../../src/conformance/cases/protocol.ts';
import type { GatewayAdapter, InProcessGateway } from '../../src/conformance/adapter.ts';

const NEW_CASES: readonly ConformanceCase[] = [...AGENT_EVENT_CASES, ...DIAGNOSTICS_CASES, ...LIFECYCLE_CASES];
const CASES: readonly ConformanceCase[] = [...STATUS_CASES, ...HB_CASES, ...NEW_CASES];

function problems(report: SuiteReport): string[] {
  return report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id} ${r.status}: ${r.reason}`);
}

describe('cases-A against the in-process reference', () => {
  it('the reference passes every status, heartbeat, agent-event, diagnostics and lifecycle case', async () => {
    const report = await runSuite({ target: referenceTarget(), cases: CASES, caseTimeoutMs: 30_000 });
    expect(problems(report)).toEqual([]);
  });
});

describe('a malformed lane.status is a STATUS-2 failure naming the field, not a harness error', () => {
  it('lane.status without waiting/actions: every status case fails (none errors), STATUS-2 names /waiting', async () => {
    const adapter = createReferenceAdapter({
      name: 'status-without-waiting',
      wrapGateway: (inner) => ({
        ...inner,
        open(connId, send) {
          inner.open(connId, (event, payload, seq) => {
            if (event === 'lane.status' && payload !== null && typeof payload === 'object') {
              const { waiting: _w, actions: _a, ...rest } = payload as Record<string, unknown>;
              send(event, rest, seq);
            } else send(event, payload, seq);
          });
        },
      }),
    });
    const report = await runSuite({ target: targetFromAdapter(adapter), cases: STATUS_CASES, caseTimeoutMs: 30_000 });
    const errors = report.results.filter((r) => r.status === 'error').map((r) => `${r.id}: ${r.reason}`);
    expect(errors).toEqual([]);
    for (const r of report.results) {
      if (r.id === 'status.agent.nested') continue;
      expect(r.status, `${r.id}: ${r.reason}`).toBe('fail');
      expect(r.checks.some((c) => c.rule === 'STATUS-2' && /\/waiting is required/.test(c.observed)), `${r.id}: ${JSON.stringify(r.checks.slice(0, 3))}`).toBe(true);
    }
  });
});

// ------------------------------------------------------------------ the new cases catch what they check


function wrapped(name: string, wrap: (inner: InProcessGateway) => InProcessGateway, extra: Partial<GatewayAdapter> = {}): GatewayAdapter {
  return { ...createReferenceAdapter({ name, wrapGateway: (inner) => wrap(inner) }), ...extra };
}

/** inner with its events passed through `map` (null: dropped). */
function mapEvents(inner: InProcessGateway, map: (event: string, payload: unknown) => unknown | null): InProcessGateway {
  return {
    ...inner,
    open(connId, send) {
      inner.open(connId, (event, payload, seq) => {
        const out = map(event, payload);
        if (out !== null) send(event, out, seq);
      });
    },
  };
}

/** inner with the answers of `method` passed through `map`. */
function mapAnswers(inner: InProcessGateway, method: string, map: (payload: unknown, params: unknown) => unknown): InProcessGateway {
  return {
    ...inner,
    request(connId, m, params) {
      const payload = inner.request(connId, m, params);
      return m === method ? map(payload, params) : payload;
    },
  };
}

async function runCase(adapter: GatewayAdapter, id: string): Promise<CaseResult> {
  const all = [...CASES, ...PROTOCOL_CASES];
  const report = await runSuite({ target: targetFromAdapter(adapter), cases: all, only: [id], caseTimeoutMs: 30_000 });
  expect(report.results).toHaveLength(1);
  return report.results[0]!;
}

const describeResult = (r: CaseResult): string => `${r.status}: ${r.reason} ${JSON.stringify(r.checks)}`;

describe('the new cases fail a gateway that breaks their rule (in process)', () => {
  it('WS-20: no lifecycle "aborted" for an aborted run fails agent.lifecycle.end-and-abort', async () => {
    const r = await runCase(wrapped('no-aborted-phase', (inner) => mapEvents(inner, (event, p) =>
      (event === 'agent' && (p as { data?: { phase?: unknown } }).data?.phase === 'aborted' ? null : p))), 'agent.lifecycle.end-and-abort');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.rule).toBe('WS-20');
    expect(r.expected).toMatch(/exactly one lifecycle end/);
  });

  it('WS-20: a lifecycle start without seq is a WS-20 failure naming /seq, not a harness error', async () => {
    const r = await runCase(wrapped('agent-no-seq', (inner) => mapEvents(inner, (event, p) => {
      if (event !== 'agent') return p;
      const { seq: _seq, ...rest } = p as Record<string, unknown>;
      return rest;
    })), 'agent.lifecycle.end-and-abort');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.checks.some((c) => c.rule === 'WS-20' && /agent event payload \/seq is required/.test(c.observed))).toBe(true);
  });

  it('DIAG-3: diagnostics.lanes without blockedBy fails diag.lanes.snapshot naming the field', async () => {
    const r = await runCase(wrapped('diag-no-blocked-by', (inner) => mapAnswers(inner, 'diagnostics.lanes', (p) => ({
      lanes: (p as { lanes: Record<string, unknown>[] }).lanes.map(({ blockedBy: _b, ...rest }) => rest),
    }))), 'diag.lanes.snapshot');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.rule).toBe('DIAG-3');
    expect(r.observed).toMatch(/diagnostics\.lanes answer \/lanes\/0\/blockedBy is required/);
  });

  it('DIAG-3: queuedCount always 0 fails diag.lanes.snapshot', async () => {
    const r = await runCase(wrapped('diag-queued-zero', (inner) => mapAnswers(inner, 'diagnostics.lanes', (p) => ({
      lanes: (p as { lanes: Record<string, unknown>[] }).lanes.map((l) => ({ ...l, queuedCount: 0, blockedBy: [] })),
    }))), 'diag.lanes.snapshot');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.rule).toBe('DIAG-3');
    expect(r.checks.map((c) => c.expected).join(' ')).toMatch(/queuedCount >= 1/);
  });

  it('DIAG-3: a gateway declaring supports.diagnostics false gets n/a', async () => {
    const r = await runCase({ ...createReferenceAdapter(), supports: { diagnostics: false } }, 'diag.lanes.snapshot');
    expect(r.status).toBe('n/a');
    expect(r.reason).toMatch(/supports\.diagnostics/);
  });

  it('QUEUE-19: a stop that aborts the running run although abortRunning is false fails lifecycle.shutdown.finish-running; the other variant passes', async () => {
    const adapter = wrapped('stop-always-aborts', (inner) => ({ ...inner, stop: () => inner.stop!({ abortRunning: true }) }));
    const r = await runCase(adapter, 'lifecycle.shutdown.finish-running');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.checks.some((c) => c.rule === 'QUEUE-19' && /finishes/.test(c.expected))).toBe(true);
    // The same gateway told the truth about abortRunning: false in its shutdown event? No: it said true. WS-23 names it too.
    expect(r.checks.some((c) => c.rule === 'WS-23' && /abortRunning is false/.test(c.expected))).toBe(true);
    expect((await runCase(adapter, 'lifecycle.shutdown.abort-running')).status).toBe('pass');
  });

  it('WS-23: no shutdown event fails both shutdown cases, every client named', async () => {
    const adapter = wrapped('no-shutdown-event', (inner) => mapEvents(inner, (event, p) => (event === 'shutdown' ? null : p)));
    for (const id of ['lifecycle.shutdown.finish-running', 'lifecycle.shutdown.abort-running']) {
      const r = await runCase(adapter, id);
      expect(r.status, describeResult(r)).toBe('fail');
      expect(r.checks.filter((c) => c.rule === 'WS-23' && /receives a shutdown event/.test(c.expected))).toHaveLength(3);
    }
  });

  it('WS-23: an adapter without stop() makes the shutdown cases n/a, naming what would enable them', async () => {
    const r = await runCase(wrapped('no-stop', (inner) => { const { stop: _s, ...rest } = inner; return rest; }), 'lifecycle.shutdown.finish-running');
    expect(r.status).toBe('n/a');
    expect(r.reason).toMatch(/InProcessGateway\.stop/);
  });

  it('WS-14: a key reused in another session answered with the first session\'s runId fails ws.chat.idempotency-across-sessions', async () => {
    const seen = new Map<string, unknown>();
    const r = await runCase(wrapped('keys-gateway-wide-silently', (inner) => ({
      ...inner,
      request(connId, method, params) {
        const p = params as { idempotencyKey?: string } | undefined;
        if (method === 'chat.send' && p?.idempotencyKey !== undefined) {
          const first = seen.get(p.idempotencyKey) as { runId: string } | undefined;
          if (first !== undefined) return { runId: first.runId, status: 'in_flight' };
          const answer = inner.request(connId, method, params);
          seen.set(p.idempotencyKey, answer);
          return answer;
        }
        return inner.request(connId, method, params);
      },
    })), 'ws.chat.idempotency-across-sessions');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.rule).toBe('WS-14');
  });

  it('WS-13: a chat.send without idempotencyKey accepted anyway fails ws.chat.missing-idempotency-key', async () => {
    let n = 0;
    const r = await runCase(wrapped('fills-missing-key', (inner) => ({
      ...inner,
      request(connId, method, params) {
        const p = params as Record<string, unknown> | undefined;
        if (method === 'chat.send' && p !== undefined && p['idempotencyKey'] === undefined) return inner.request(connId, method, { ...p, idempotencyKey: `filled-${++n}` });
        return inner.request(connId, method, params);
      },
    })), 'ws.chat.missing-idempotency-key');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.rule).toBe('WS-13');
    // Both of its checks: the missing error, and the run that followed.
    expect(r.checks.map((c) => c.expected)).toEqual([expect.stringMatching(/INVALID_REQUEST/), expect.stringMatching(/no chat frame/)]);
  });

  it('status.agent.nested is n/a on a gateway declaring no nested agents (not a STATUS-2 failure)', async () => {
    const r = await runCase({ ...createReferenceAdapter(), supports: { nestedAgents: false } }, 'status.agent.nested');
    expect(r.status).toBe('n/a');
    expect(r.reason).toMatch(/supports\.nestedAgents/);
  });

  it('status.changes.only-then never builds a key from missing fields: a status without processing fails STATUS-2, not STATUS-5', async () => {
    const r = await runCase(wrapped('status-without-processing', (inner) => mapEvents(inner, (event, p) => {
      if (event !== 'lane.status') return p;
      const { processing: _p, ...rest } = p as Record<string, unknown>;
      return rest;
    })), 'status.changes.only-then');
    expect(r.status, describeResult(r)).toBe('fail');
    expect(r.rule).toBe('STATUS-2');
    expect(r.observed).toMatch(/\/processing is required/);
    expect(r.checks.some((c) => c.rule === 'STATUS-5' && /undefined/.test(c.observed))).toBe(false);
  });
});

function parseFrame(text: string): { type?: unknown; id?: unknown; method?: unknown } | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as { type?: unknown; id?: unknown; method?: unknown }) : null;
  } catch {
    return null;
  }
}

/**
 * A gateway that answers connect with hello-ok, ignores a frame that is not
 * JSON even before hello-ok (WS-4 wants a close 1008 there), and answers
 * every other request at once, however much it already owes a reader that
 * stopped reading (WS-10 wants it cut off). Loopback only.
 */
async function ignoringGateway(): Promise<{ url: string; close(): Promise<void> }> {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n', ts: Date.now() } }));
    ws.on('message', (data) => {
      const frame = parseFrame(String(data));
      if (frame === null) return; // ignored: the fault under test
      if (frame.type === 'req' && frame.method === 'connect') {
        ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: { type: 'hello-ok', protocol: 4, server: { version: '0', connId: 'c' }, features: { methods: [], events: [] }, snapshot: {}, policy: { maxPayload: 2 * 1024 * 1024, maxBufferedBytes: 4 * 1024 * 1024, tickIntervalMs: 30000 } } }));
      } else if (frame.type === 'req' && typeof frame.id === 'string') {
        // Every other request: an error echoing its id, sent whatever the socket has buffered (no slow-consumer handling).
        ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: false, error: { code: 'UNKNOWN_METHOD', message: `unknown method: ${String(frame.method)}` } }));
      }
    });
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }),
  };
}


describe('ws.handshake.invalid-json-first over a real WebSocket', () => {
  it('fails WS-4 on a gateway that ignores invalid JSON sent as the first frame; the reference passes', async () => {
    const { websocketTarget, startReferenceOverWebSocket } = await import('../../src/conformance/targets/websocket.ts');
    const bad = await ignoringGateway();
    const ref = await startReferenceOverWebSocket({ scale: 25 });
    try {
      const only = ['ws.handshake.invalid-json-first'];
      const [broken, good] = await Promise.all([
        runSuite({ target: websocketTarget({ url: bad.url, connectTimeoutMs: 5_000 }), cases: PROTOCOL_CASES, only, caseTimeoutMs: 30_000 }),
        runSuite({ target: ref.target, cases: PROTOCOL_CASES, only, caseTimeoutMs: 30_000 }),
      ]);
      const r = broken.results[0]!;
      expect(r.status, describeResult(r)).toBe('fail');
      expect(r.rule).toBe('WS-4');
      expect(r.observed).toMatch(/still open/);
      expect(good.results[0]!.status, describeResult(good.results[0]!)).toBe('pass');
    } finally {
      await Promise.all([bad.close(), ref.stop()]);
    }
  });
});

describe('ws.handshake.gateway-starting over a real WebSocket', () => {
  it('fails WS-6 on a gateway that lets clients in while it starts; passes the reference; n/a where the harness cannot start gateways', async () => {
    const { websocketTarget, startReferenceOverWebSocket } = await import('../../src/conformance/targets/websocket.ts');
    const { GatewayServer } = await import('../../src/reference-impl/ws-server.ts');
    const { parseConfig } = await import('../../src/model/config.ts');
    const ref = await startReferenceOverWebSocket({ scale: 25 });
    const started: { stop(o: { drainTimeoutMs: number }): Promise<void> }[] = [];
    try {
      const only = ['ws.handshake.gateway-starting'];
      // Broken: whatever it is asked, the gateway it starts is ready at once (no UNAVAILABLE while starting).
      const eager = websocketTarget({
        url: ref.server.url, token: ref.token, timeScale: 25, connectTimeoutMs: 5_000,
        startGateway: async () => {
          const own = await GatewayServer.start({ config: parseConfig({}), runtime: { start: () => {} } as never, token: ref.token, port: 0, ready: true });
          started.push(own);
          return { url: own.url, markReady: () => own.markReady(), stop: () => own.stop({ drainTimeoutMs: 200 }) };
        },
      });
      const plain = websocketTarget({ url: ref.server.url, token: ref.token, timeScale: 25, connectTimeoutMs: 5_000 });
      const [broken, good, none] = await Promise.all([
        runSuite({ target: eager, cases: PROTOCOL_CASES, only, caseTimeoutMs: 30_000 }),
        runSuite({ target: ref.target, cases: PROTOCOL_CASES, only, caseTimeoutMs: 30_000 }),
        runSuite({ target: plain, cases: PROTOCOL_CASES, only, caseTimeoutMs: 30_000 }),
      ]);
      const r = broken.results[0]!;
      expect(r.status, describeResult(r)).toBe('fail');
      expect(r.rule).toBe('WS-6');
      expect(r.checks.map((c) => c.expected)).toEqual([expect.stringMatching(/UNAVAILABLE/), expect.stringMatching(/retryable/), expect.stringMatching(/1013/)]);
      expect(good.results[0]!.status, describeResult(good.results[0]!)).toBe('pass');
      expect(none.results[0]!.status).toBe('n/a');
      expect(none.results[0]!.reason).toMatch(/startGateway/);
    } finally {
      await Promise.all(started.map((g) => g.stop({ drainTimeoutMs: 200 })));
      await ref.stop();
    }
  });
});

describe('ws.backpressure.slow-consumer over a real WebSocket', () => {
  it('fails WS-10 on a gateway that buffers for a reader that stopped reading past the bound (64 MiB); the reference (50 MiB maxBufferedBytes) passes', async () => {
    const { websocketTarget, startReferenceOverWebSocket } = await import('../../src/conformance/targets/websocket.ts');
    const bad = await ignoringGateway();
    const ref = await startReferenceOverWebSocket({ scale: 25 });
    try {
      const only = ['ws.backpressure.slow-consumer'];
      const broken = await runSuite({ target: websocketTarget({ url: bad.url, connectTimeoutMs: 5_000 }), cases: PROTOCOL_CASES, only, caseTimeoutMs: 60_000 });
      const r = broken.results[0]!;
      expect(r.status, describeResult(r)).toBe('fail');
      expect(r.rule).toBe('WS-10');
      expect(r.observed).toMatch(/stayed open and delivered all \d+ responses/);
      const good = await runSuite({ target: ref.target, cases: PROTOCOL_CASES, only, caseTimeoutMs: 60_000 });
      expect(good.results[0]!.status, describeResult(good.results[0]!)).toBe('pass');
    } finally {
      await Promise.all([bad.close(), ref.stop()]);
    }
  }, 120_000);
});
