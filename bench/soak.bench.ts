/**
 * `npm run bench -- soak [--minutes N] [--clients N] [--sessions N] [--json out.json]`
 *
 * The reference gateway over real sockets for N minutes (default 5) of
 * continuous traffic, then under memory attacks, with its heap sampled after
 * a forced GC (docs/SPEC.md §11 BOUND-*, issue 15):
 *
 * 1. Soak. Closed-loop clients (default 100) send continuously into rotating
 *    sessions (default 50 live at a time; the keys change every 20 s, so old
 *    sessions go idle) with a fresh idempotency key per message. The gateway
 *    lives SCALE times faster than the wall (its clock and its modelled
 *    agents), so its 5-minute idempotency window and its idle-session horizon
 *    pass in 30 s: after the horizon every message remembered is matched by
 *    one forgotten. The heap slope is taken from the moment every record is
 *    at its steady state (past the horizon, the record of evicted sessions at
 *    its cap, and the second half of the run, after the JIT's warm-up) and
 *    reported with its noise (2 standard errors); flat means the slope is
 *    within it, or the growth over the window is under 1 % of the heap.
 * 2. Attacks, with the soak clients still sending: sockets holding unfinished
 *    60 KiB pre-handshake fragments (BOUND-6), clients that never read and
 *    keep asking for 64 KiB history pages (BOUND-9), 1 MiB messages into
 *    fresh sessions (BOUND-2). Each is reported against its bound.
 * 3. Per-item costs: bytes per connection, per session, per remembered key.
 *
 * Bounds used: the reference defaults but for sessionIdleMs (5 gateway
 * minutes instead of 30, so sessions turn over within the soak),
 * evictedKeysRemembered (500 instead of 10,000, so that record reaches its
 * cap within the soak), maxBufferedBytes (4 MiB, so never-reading clients
 * fill it in seconds on loopback) and historyReplyMaxBytes (64 KiB pages).
 *
 * The clients run in a worker thread (bench/soak/clients.ts), so the main
 * thread's heap is the gateway's.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { globalClock } from '../src/model/clock.ts';
import { parseConfig } from '../src/model/config.ts';
import { Prng } from '../src/model/prng.ts';
import { table } from '../src/report/format.ts';
import { DEFAULT_GATEWAY_LIMITS } from '../src/reference-impl/bounds.ts';
import { REFERENCE_PROFILE } from '../src/reference-impl/profile.ts';
import { ToolRegistry } from '../src/reference-impl/tool-validator.ts';
import { GatewayServer, PRE_HANDSHAKE_MAX_BYTES } from '../src/reference-impl/ws-server.ts';
import { quickTurn } from '../src/scenarios/scripts.ts';
import { SimulatedAgents } from '../src/sim/agent-model.ts';
import { scaledClock } from '../src/sim/scaled-clock.ts';
import { heapAndExternal, measureItemCosts } from './soak/costs.ts';
import { startSoakClients, type SoakClients } from './soak/clients.ts';
import { forceGc } from './support/memory.ts';

/** Gateway time runs this many times faster than the wall. */
const SCALE = 10;
const SAMPLE_MS = 5_000;
const EPOCH_MS = 20_000;
/** The soak's maxBufferedBytes (advertised in hello-ok): small enough to fill on loopback in seconds. */
const SOAK_MAX_BUFFERED = 4 * 1024 * 1024;
const IDLE_MS = 300_000;
const EVICTED_REMEMBERED = 500;

const MiB = 1024 * 1024;

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

interface Sample {
  tSec: number;
  /** heapUsed + external (the figure the slope is taken on). */
  heapMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  rssMiB: number;
  keys: number;
  sessions: number;
  historyMiB: number;
  subscribed: number;
  evicted: number;
}

function sampleOf(server: GatewayServer, t0: number): Sample {
  forceGc();
  const counts = server.gateway.memoryCounts();
  const m = process.memoryUsage();
  return {
    tSec: (Date.now() - t0) / 1000,
    heapMiB: heapAndExternal() / MiB,
    heapUsedMiB: m.heapUsed / MiB,
    externalMiB: m.external / MiB,
    rssMiB: process.memoryUsage.rss() / MiB,
    keys: counts.idempotencyKeys,
    sessions: counts.sessions,
    historyMiB: counts.historyBytes / MiB,
    subscribed: counts.subscribedSessions,
    evicted: counts.evictedKeys,
  };
}

/** Least-squares slope (MiB per minute) and its standard error. */
export function slopeOf(samples: readonly { tSec: number; heapMiB: number }[]): { perMin: number; stdErrPerMin: number } {
  const n = samples.length;
  if (n < 3) return { perMin: NaN, stdErrPerMin: NaN };
  const mx = samples.reduce((s, p) => s + p.tSec, 0) / n;
  const my = samples.reduce((s, p) => s + p.heapMiB, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of samples) {
    sxx += (p.tSec - mx) ** 2;
    sxy += (p.tSec - mx) * (p.heapMiB - my);
  }
  const b = sxy / sxx;
  let sse = 0;
  for (const p of samples) sse += (p.heapMiB - (my + b * (p.tSec - mx))) ** 2;
  const se = Math.sqrt(sse / (n - 2) / sxx);
  return { perMin: b * 60, stdErrPerMin: se * 60 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startGateway(logs: string[]): Promise<GatewayServer> {
  const clock = scaledClock(globalClock, SCALE);
  const prng = new Prng(15);
  return GatewayServer.start({
    config: parseConfig({ messages: { queue: { mode: 'followup' } } }),
    runtime: new SimulatedAgents(clock, prng, () => quickTurn(prng)),
    profile: REFERENCE_PROFILE,
    tools: new ToolRegistry(),
    clock,
    maxBufferedBytes: SOAK_MAX_BUFFERED,
    // evictedKeysRemembered: 500 instead of 10,000, so that its cap is reached within a short soak.
    limits: { sessionIdleMs: IDLE_MS, historyReplyMaxBytes: 65_536, evictedKeysRemembered: EVICTED_REMEMBERED },
    // Only the lines the bench reads are kept: keeping every `lane wait exceeded` line grew the heap it measures.
    log: (line) => {
      if (line.startsWith('slow consumer') && logs.length < 1_000) logs.push(line);
    },
  });
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export async function soakMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { minutes: { type: 'string' }, clients: { type: 'string' }, sessions: { type: 'string' }, json: { type: 'string' } } }));
  } catch (error) {
    process.stderr.write(`bench soak: ${(error as Error).message}\n`);
    return 2;
  }
  const num = (name: string, raw: string | undefined, dflt: number, min: number): number | null => {
    const n = raw === undefined ? dflt : Number(raw);
    if (!Number.isFinite(n) || n < min) {
      process.stderr.write(`bench soak: --${name} must be a number >= ${min}, got ${JSON.stringify(raw)}\n`);
      return null;
    }
    return n;
  };
  const minutes = num('minutes', values.minutes, 5, 1.5);
  const clientsN = num('clients', values.clients, 100, 1);
  const sessionsN = num('sessions', values.sessions, 50, 1);
  if (minutes === null || clientsN === null || sessionsN === null) return 2;

  const logs: string[] = [];
  const server = await startGateway(logs);
  const clients: SoakClients = startSoakClients();
  const report: Record<string, unknown> = { node: process.version, minutes, clients: clientsN, sessions: sessionsN, scale: SCALE };
  try {
    // ------------------------------------------------ per-connection cost first, on a quiet gateway
    forceGc();
    const quiet = heapAndExternal();
    await clients.call('idle', { url: server.url, n: 1_000, group: 'measure' });
    forceGc();
    const bytesPerConnection = (heapAndExternal() - quiet) / 1_000;
    await clients.call('closeGroup', { group: 'measure' });
    await waitFor(() => server.connections === 0, 10_000);

    // ------------------------------------------------ 1. soak
    const horizonSec = Math.max(DEFAULT_GATEWAY_LIMITS.idempotencyWindowMs, IDLE_MS) / SCALE / 1000 + EPOCH_MS / 1000 + 10;
    process.stderr.write(`soak: ${clientsN} clients, ${sessionsN} sessions at a time, ${minutes} min; eviction horizon ${fmt(horizonSec)} s (gateway time x${SCALE})\n`);
    const t0 = Date.now();
    await clients.call('steady', { url: server.url, clients: clientsN, sessions: sessionsN, epochMs: EPOCH_MS, thinkMs: 50 });
    const samples: Sample[] = [];
    const endAt = t0 + minutes * 60_000;
    while (Date.now() < endAt) {
      await sleep(Math.min(SAMPLE_MS, Math.max(0, endAt - Date.now())));
      const s = sampleOf(server, t0);
      samples.push(s);
      process.stderr.write(`  t=${fmt(s.tSec)} s heap+external ${fmt(s.heapMiB, 2)} MiB (heap ${fmt(s.heapUsedMiB, 2)}, external ${fmt(s.externalMiB, 2)}), rss ${fmt(s.rssMiB)} MiB, keys ${fmt(s.keys)}, sessions ${fmt(s.sessions)}, history ${fmt(s.historyMiB, 2)} MiB, subscribed sessions ${fmt(s.subscribed)}, evicted remembered ${fmt(s.evicted)}\n`);
    }
    // The window starts once every record is at its steady state: past the eviction horizon, once the
    // record of evicted sessions has reached its cap, and not before the run's second half (JIT warm-up).
    const capReached = samples.find((s) => s.evicted >= EVICTED_REMEMBERED)?.tSec ?? Infinity;
    const windowStart = Math.max(horizonSec, Number.isFinite(capReached) ? capReached : horizonSec, (minutes * 60) / 2);
    const after = samples.filter((s) => s.tSec >= windowStart);
    const slope = slopeOf(after);
    const meanHeap = after.reduce((n, s) => n + s.heapMiB, 0) / Math.max(1, after.length);
    const windowMin = after.length > 1 ? (after.at(-1)!.tSec - after[0]!.tSec) / 60 : 0;
    const flat = Number.isFinite(slope.perMin) && (Math.abs(slope.perMin) <= 2 * slope.stdErrPerMin || Math.abs(slope.perMin * windowMin) < 0.01 * meanHeap);
    const peakKeys = Math.max(...samples.map((s) => s.keys));
    const peakSessions = Math.max(...samples.map((s) => s.sessions));

    // ------------------------------------------------ 2. attacks (the soak clients keep sending)
    forceGc();
    const base = heapAndExternal();
    const preN = 200;
    await clients.call('preHandshake', { port: server.port, n: preN });
    await sleep(500);
    forceGc();
    const preDelta = heapAndExternal() - base;
    await clients.call('closeGroup', { group: 'pre' });
    // A session with a fat transcript for the never-readers to page through (64 KiB pages).
    await clients.call('big', { url: server.url, n: 16, bytes: 8_000, sessionKey: 'fat' });
    const connectionsBefore = server.connections;
    const neverN = 5;
    const cutBefore = logs.filter((l) => l.startsWith('slow consumer')).length;
    await clients.call('neverRead', { url: server.url, n: neverN, sessionKey: 'fat', requests: 2_000 });
    await waitFor(() => logs.filter((l) => l.startsWith('slow consumer')).length >= cutBefore + neverN, 30_000);
    const cuts = logs.filter((l) => l.startsWith('slow consumer')).slice(cutBefore).map((l) => Number(/: (\d+) bytes unread/.exec(l)?.[1] ?? NaN));
    await clients.call('closeGroup', { group: 'never' });
    // Their backlogs are freed when the server has dropped the sockets.
    await waitFor(() => server.connections <= connectionsBefore, 10_000);
    await sleep(2_500);
    forceGc();
    const bigBase = heapAndExternal();
    const bigN = 50;
    const bigResult = await clients.call<{ sent: number; finals: number }>('big', { url: server.url, n: bigN, bytes: 1_048_000 });
    forceGc();
    const bigDelta = heapAndExternal() - bigBase;
    await clients.call('closeGroup', { group: 'big' });
    const steadyCounts = await clients.call<{ sent: number; finals: number; errors: number }>('stopSteady');

    // ------------------------------------------------ 3. per-item costs
    process.stderr.write('soak: per-item costs (20,000 sessions, 100,000 keys on the gateway core) ...\n');
    const costs = await measureItemCosts();

    // ------------------------------------------------ report
    console.log(`\nsoak: ${clientsN} clients over ${fmt(minutes, 1)} min, ${fmt(steadyCounts.sent)} messages sent, ${fmt(steadyCounts.finals)} finals, ${fmt(steadyCounts.errors)} errors; gateway time x${SCALE}`);
    console.log(table([
      ['measure', 'value', 'bound / criterion', 'result'],
      [`heap+external slope from t=${fmt(windowStart)} s (horizon ${fmt(horizonSec)} s, evicted-record cap at ${Number.isFinite(capReached) ? `${fmt(capReached)} s` : 'never'}; ${after.length} samples, ${fmt(windowMin, 1)} min)`, `${fmt(slope.perMin, 3)} MiB/min +- ${fmt(2 * slope.stdErrPerMin, 3)}`, 'within 2 SE, or < 1 % of the heap over the window', flat ? 'FLAT' : 'GROWING'],
      ['heap+external after GC, mean over the window', `${fmt(meanHeap, 2)} MiB`, '-', '-'],
      ['heap+external after GC, first sample past the horizon / last sample', `${fmt(samples.find((s) => s.tSec >= horizonSec)?.heapMiB ?? NaN, 2)} / ${fmt(samples.at(-1)?.heapMiB ?? NaN, 2)} MiB`, '-', '-'],
      ['idempotency keys remembered, peak', fmt(peakKeys), 'messages of the last 5 gateway-min (BOUND-1)', '-'],
      ['sessions remembered, peak', fmt(peakSessions), 'sessions active in the last 5 gateway-min (BOUND-3)', '-'],
      [`${preN} sockets with an unfinished 60 KiB pre-handshake fragment`, `${fmt(preDelta / preN / 1024, 1)} KiB each`, `<= 64 KiB + ${fmt(bytesPerConnection / 1024, 1)} KiB (connection)`, preDelta / preN <= PRE_HANDSHAKE_MAX_BYTES + bytesPerConnection * 1.5 ? 'HELD' : 'OVER'],
      [`${neverN} never-reading clients, unsent bytes when cut`, cuts.map((c) => fmt(c / MiB, 2)).join(' / ') + ' MiB', `<= maxBufferedBytes ${fmt(SOAK_MAX_BUFFERED / MiB)} MiB`, cuts.length === neverN && cuts.every((c) => c <= SOAK_MAX_BUFFERED) ? 'HELD' : 'OVER'],
      [`${bigResult.finals}/${bigN} 1 MiB messages into fresh sessions, heap kept`, `${fmt(bigDelta / MiB, 1)} MiB (${fmt(bigDelta / bigN / 1024)} KiB each)`, `<= ${bigN} x (historyMaxBytes / 4 = ${fmt(DEFAULT_GATEWAY_LIMITS.historyMaxBytes / 4096)} KiB + 16 KiB)`, bigDelta / bigN <= DEFAULT_GATEWAY_LIMITS.historyMaxBytes / 4 + 16 * 1024 ? 'HELD' : 'OVER'],
    ]));
    console.log('\nper-item costs (heap + external after GC)');
    console.log(table([
      ['item', 'bytes', 'measured on'],
      ['connection past hello-ok (server side)', fmt(bytesPerConnection), '1,000 idle connections, real sockets'],
      ['session (one 100-char message and its 100-char answer remembered)', fmt(costs.bytesPerSession), `${fmt(costs.sessions)} sessions, gateway core`],
      ['remembered idempotency key', fmt(costs.bytesPerKey), `${fmt(costs.keys)} keys, gateway core`],
    ]));
    Object.assign(report, {
      steady: steadyCounts, horizonSec, windowStart, capReached, samples, slope, meanHeapMiB: meanHeap, flat, peakKeys, peakSessions,
      attacks: { preHandshake: { sockets: preN, bytesEach: preDelta / preN }, neverRead: { clients: neverN, cutAtBytes: cuts }, big: { ...bigResult, bytesEach: bigDelta / bigN } },
      costs: { ...costs, bytesPerConnection },
    });
    if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    await clients.close();
    await server.stop({ abortRunning: true, drainTimeoutMs: 1_000 });
  }
}
