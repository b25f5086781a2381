/**
 * Every timed check of cases-A can fail (issue 11, point 4): a gateway out of
 * bounds by a realistic margin, over a REAL WebSocket, fails the case with the
 * rule it breaks, and the same gateway within bounds passes the same case.
 *
 * The out-of-bounds gateways are the reference GatewayServer run with one
 * timer changed while the target describes the gateway as configured (a
 * `--config` saying 15 s heartbeats for a gateway that sends them every 18 s),
 * and, for WS-16, the coordinator's naive gateway with its deltas unpaced.
 *
 * Scales: a timed check tells apart an overshoot larger than about
 * REAL_NOISE_MS x timeScale + 5% of the span (src/conformance/tolerances.ts),
 * so these run at timeScale <= 5 (HB-1: 15 s bound, tolerance 1500 at x5,
 * 18 s fails) and one at timeScale 1 (an undescribed ping interval: the
 * spec default 15 s applies in real ms, so OpenClaw's 25 s pings fail).
 * Wall time: the checks run concurrently (they mostly wait), about 25 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HB_CASES } from '../../src/conformance/cases/heartbeat.ts';
import { PROTOCOL_CASES } from '../../src/conformance/cases/protocol.ts';
import { QUEUE_CASES } from '../../src/conformance/cases/queue.ts';
import { runSuite } from '../../src/conformance/runner.ts';
import { websocketTarget, scaleConfig, type Liveness } from '../../src/conformance/targets/websocket.ts';
import { REAL_NOISE_MS, pacingViolation } from '../../src/conformance/tolerances.ts';
import type { CaseResult, ConformanceCase, ConformanceTarget, GatewayFacts } from '../../src/conformance/types.ts';
import { startFakeModel } from '../../src/fake-model/server.ts';
import type { ConfigInput } from '../../src/model/config-types.ts';
import { parseConfig } from '../../src/model/config.ts';
import { Prng } from '../../src/model/prng.ts';
import { HttpModelRuntime } from '../../src/reference-impl/http-model-runtime.ts';
import { ToolRegistry } from '../../src/reference-impl/tool-validator.ts';
import { GatewayServer } from '../../src/reference-impl/ws-server.ts';
import { startNaive, type NaiveUnderTest } from '../naive-gateway/harness.ts';

const TOKEN = 'timed-checks-token';

interface Variant {
  target: ConformanceTarget;
  stop(): Promise<void>;
}

const running = new Set<Variant>();
afterAll(async () => {
  await Promise.all([...running].map((v) => v.stop()));
});

/**
 * The reference gateway living `actual` (durations divided by `scale`, as
 * startReferenceOverWebSocket does), described to the suite as `described`
 * (default: the same) with the given liveness and facts.
 */
async function referenceVariant(o: {
  scale: number; actual: ConfigInput; described?: ConfigInput; liveness: Liveness; facts?: Partial<GatewayFacts>; handshakeTimeoutRealMs?: number;
}): Promise<Variant> {
  const model = await startFakeModel({ script: 'default', seed: 1, timeScale: o.scale });
  const tools = new ToolRegistry();
  const server = await GatewayServer.start({
    config: scaleConfig(parseConfig(o.actual), o.scale),
    runtime: new HttpModelRuntime({ baseUrl: model.url, tools }),
    tools,
    token: TOKEN,
    port: 0,
    handshakeTimeoutMs: o.handshakeTimeoutRealMs ?? 15_000 / o.scale,
  });
  const variant: Variant = {
    target: websocketTarget({
      url: server.url, token: TOKEN, modelControlUrl: model.url, timeScale: o.scale,
      config: parseConfig(o.described ?? o.actual), liveness: o.liveness,
      ...(o.facts !== undefined ? { facts: o.facts } : {}),
      requestTimeoutMs: 15_000, connectTimeoutMs: 15_000,
    }),
    stop: async () => {
      running.delete(variant);
      await server.stop({ abortRunning: true, drainTimeoutMs: 200 });
      await model.close();
    },
  };
  running.add(variant);
  return variant;
}

function caseOf(id: string): ConformanceCase {
  const c = [...HB_CASES, ...PROTOCOL_CASES].find((x) => x.id === id);
  if (c === undefined) throw new Error(`no case ${id}`);
  return c;
}

async function runOne(variant: Variant, id: string): Promise<CaseResult> {
  try {
    const report = await runSuite({ target: variant.target, cases: [caseOf(id)], caseTimeoutMs: 60_000 });
    return report.results[0]!;
  } finally {
    await variant.stop();
  }
}

const show = (r: CaseResult): string => `${r.status}: ${r.reason} ${JSON.stringify(r.checks)} ${r.notes.join(' | ')}`;

/** The configuration both HB-1 gateways are described with: 15 s heartbeats. */
const HB15: ConfigInput = { gateway: { heartbeat: { intervalMs: 15_000 } } };

describe.concurrent('timed checks fail a gateway out of bounds over a real WebSocket, and pass it within bounds', () => {
  it('HB-1: heartbeats 18 s apart (a 15 s bound) fail hb.waiting.silence-bound; 14 s apart pass', async () => {
    // intervalMs 19000: the reference heartbeats after 18 s of silence (margin 1 s, HB-2).
    const [late, ok] = await Promise.all([
      referenceVariant({ scale: 5, actual: { gateway: { heartbeat: { intervalMs: 19_000 } } }, described: HB15, liveness: {}, facts: { heartbeatIntervalMs: 15_000 } }),
      referenceVariant({ scale: 5, actual: HB15, liveness: {}, facts: { heartbeatIntervalMs: 15_000 } }),
    ]);
    const [bad, good] = await Promise.all([runOne(late, 'hb.waiting.silence-bound'), runOne(ok, 'hb.waiting.silence-bound')]);
    expect(bad.status, show(bad)).toBe('fail');
    expect(bad.rule).toBe('HB-1');
    expect(bad.observed).toMatch(/silent for 1[78]\d{3} ms/);
    expect(good.status, show(good)).toBe('pass');
  }, 60_000);

  it('HB-5: pings every 25 s where the configuration says 15 s fail ws.heartbeat.pings; 15 s pings pass', async () => {
    const [slow, ok] = await Promise.all([
      referenceVariant({ scale: 5, actual: { gateway: { heartbeat: { pingIntervalMs: 25_000, deadAfterMs: 90_000 } } }, liveness: { pingIntervalMs: 15_000, deadAfterMs: 90_000 } }),
      referenceVariant({ scale: 5, actual: {}, liveness: { pingIntervalMs: 15_000, deadAfterMs: 45_000 } }),
    ]);
    const [bad, good] = await Promise.all([runOne(slow, 'ws.heartbeat.pings'), runOne(ok, 'ws.heartbeat.pings')]);
    expect(bad.status, show(bad)).toBe('fail');
    expect(bad.rule).toBe('HB-5');
    expect(bad.observed).toMatch(/the first ping 2\d{4} ms after connecting/);
    expect(good.status, show(good)).toBe('pass');
  }, 60_000);

  it('HB-5: with no ping interval described, the spec default (15 s, real) applies: a gateway on its own clock pinging every 25 s fails', async () => {
    // timeScale 1: the gateway lives real time, as OpenClaw does; nothing describes its ping interval.
    const slow = await referenceVariant({ scale: 1, actual: { gateway: { heartbeat: { pingIntervalMs: 25_000, deadAfterMs: 90_000 } } }, liveness: {} });
    const bad = await runOne(slow, 'ws.heartbeat.pings');
    expect(bad.status, show(bad)).toBe('fail');
    expect(bad.rule).toBe('HB-5');
    expect(bad.expected).toMatch(/spec default 15000 ms/);
    expect(bad.observed).toMatch(/the first ping 2\d{4} ms after connecting/);
  }, 60_000);

  it('HB-6: a gateway that never closes a silent peer fails ws.heartbeat.dead-peer (described deadAfterMs, and undescribed with a bounded wait); one that closes it passes', async () => {
    const never: ConfigInput = { gateway: { heartbeat: { deadAfterMs: 3_600_000 } } };
    const [described, undescribed, ok] = await Promise.all([
      referenceVariant({ scale: 25, actual: never, liveness: { pingIntervalMs: 15_000, deadAfterMs: 45_000 } }),
      referenceVariant({ scale: 25, actual: never, liveness: { deadPeerWaitMs: 100_000 } }),
      referenceVariant({ scale: 25, actual: {}, liveness: { pingIntervalMs: 15_000, deadAfterMs: 45_000 } }),
    ]);
    const [bad1, bad2, good] = await Promise.all([runOne(described, 'ws.heartbeat.dead-peer'), runOne(undescribed, 'ws.heartbeat.dead-peer'), runOne(ok, 'ws.heartbeat.dead-peer')]);
    for (const bad of [bad1, bad2]) {
      expect(bad.status, show(bad)).toBe('fail');
      expect(bad.rule).toBe('HB-6');
      expect(bad.observed).toMatch(/still open \d+ ms after its connect frame/);
    }
    expect(bad1.expected).toMatch(/45000 ms after it/);
    expect(good.status, show(good)).toBe('pass');
  }, 60_000);

  it('WS-4: a gateway with no handshake timeout fails ws.handshake.timeout; `lanesim serve` at --time-scale 25 (15 s real, undescribed) passes', async () => {
    const [none, serveLike] = await Promise.all([
      referenceVariant({ scale: 25, actual: {}, liveness: { handshakeTimeoutMs: 15_000 }, handshakeTimeoutRealMs: 600_000 }),
      // As `lanesim serve`: its handshake timeout is 15 s of real time whatever --time-scale the suite runs with.
      referenceVariant({ scale: 25, actual: {}, liveness: {}, handshakeTimeoutRealMs: 15_000 }),
    ]);
    const [bad, good] = await Promise.all([runOne(none, 'ws.handshake.timeout'), runOne(serveLike, 'ws.handshake.timeout')]);
    expect(bad.status, show(bad)).toBe('fail');
    expect(bad.rule).toBe('WS-4');
    expect(bad.observed).toMatch(/still open/);
    expect(good.status, show(good)).toBe('pass');
    expect(good.notes.join(' ')).toMatch(/closed after 3[78]\d{4} ms .*WS-4's 15000 ms on the gateway's own clock/);
  }, 60_000);

  it('WS-16: deltas 50 ms apart, received over a real WebSocket, break the pacing and fail queue.chat-events.stream; 150 ms pacing passes', async () => {
    const naives: NaiveUnderTest[] = [];
    try {
      const unpaced = await startNaive('deltas-unpaced', 1);
      naives.push(unpaced);
      const paced = await startNaive(null, 1);
      naives.push(paced);
      const arrivals = async (target: ConformanceTarget): Promise<number[]> => {
        const session = await target.openGateway!({});
        try {
          const answer = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
          // 40 words over 2 s: one model chunk every ~51 ms.
          await session.setModel!({ rules: [{ name: 'pace', match: { marker: '[pace]' }, respond: { ttftMs: 200, text: answer, chunkTokens: 1, jitter: 0, tokensPerSec: 39_000 / 2_000 } }] });
          const client = await session.connect('pacing');
          const res = await client.request('chat.send', { sessionKey: session.sessionKey('pace'), message: 'stream [pace]', idempotencyKey: `pace-${Date.now()}` });
          const runId = (res.payload as { runId: string }).runId;
          await client.waitFor((e) => e.event === 'chat' && (e.payload as { runId?: string; state?: string }).runId === runId && (e.payload as { state?: string }).state === 'final', 20_000);
          return client.events.filter((e) => e.event === 'chat' && (e.payload as { runId?: string; state?: string }).runId === runId && (e.payload as { state?: string }).state === 'delta').map((e) => e.at);
        } finally {
          await session.close();
        }
      };
      const [fast, slow] = await Promise.all([arrivals(unpaced.target), arrivals(paced.target)]);
      expect(fast.length).toBeGreaterThan(30);
      expect(pacingViolation(fast, 75, REAL_NOISE_MS)).toMatch(/deltas within/);
      expect(slow.length).toBeGreaterThan(8);
      expect(pacingViolation(slow, 75, REAL_NOISE_MS)).toBeNull();
      // The case itself (queue.chat-events.stream judges WS-16 with pacingViolation): the unpaced gateway fails it, the paced one passes.
      const only = ['queue.chat-events.stream'];
      const [bad, good] = await Promise.all([
        runSuite({ target: unpaced.target, cases: QUEUE_CASES, only, caseTimeoutMs: 60_000 }),
        runSuite({ target: paced.target, cases: QUEUE_CASES, only, caseTimeoutMs: 60_000 }),
      ]);
      const r = bad.results[0]!;
      expect(r.status, show(r)).toBe('fail');
      expect(r.checks.some((c) => c.rule === 'WS-16' && /deltas within/.test(c.observed)), show(r)).toBe(true);
      expect(good.results[0]!.status, show(good.results[0]!)).toBe('pass');
    } finally {
      await Promise.all(naives.map((n) => n.stop()));
    }
  }, 60_000);
});

describe('pacingViolation (WS-16 on a real clock)', () => {
  /** Deltas sent every `every` ms for `n` deltas, each received up to `jitter` ms late (seeded). */
  function received(every: number, n: number, jitter: number, seed: number): number[] {
    const prng = new Prng(seed);
    return Array.from({ length: n }, (_, i) => i * every + prng.range(0, jitter));
  }

  it('fails 50 ms pacing and passes 75 and 150 ms pacing, under up to 150 ms of arrival noise (seeds 1..50)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      expect(pacingViolation(received(50, 40, 150, seed), 75, 150), `seed ${seed}`).not.toBeNull();
      expect(pacingViolation(received(75, 27, 150, seed), 75, 150), `seed ${seed}`).toBeNull();
      expect(pacingViolation(received(150, 14, 150, seed), 75, 150), `seed ${seed}`).toBeNull();
    }
  });

  it('is exact on a fake clock: one gap under the floor fails', () => {
    expect(pacingViolation([0, 150, 300, 374, 524], 75, 0)).toMatch(/two deltas 74 apart/);
    expect(pacingViolation([0, 75, 150, 225], 75, 0)).toBeNull();
  });

  it('a burst within an otherwise slow stream fails', () => {
    const burst = [0, 300, 600, 900, ...Array.from({ length: 30 }, (_, i) => 1_000 + i * 10), 1_400, 1_700];
    expect(pacingViolation(burst, 75, 150)).not.toBeNull();
  });
});
