/**
 * The load bench's server process: the reference gateway (GatewayServer with
 * modelled agents on the wall clock) or the `bare-ws` reference point (a
 * minimal `ws` server that only sends a heartbeat to every client every
 * bound-ms). Runs in its own process so the bench's clients do not share its
 * event loop; it reports memory and event-loop delay over IPC and exits when
 * told to, or when the coordinator goes away.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { globalClock } from '../../src/model/clock.ts';
import { parseConfig } from '../../src/model/config.ts';
import { Prng } from '../../src/model/prng.ts';
import { OPENCLAW_TODAY_PROFILE, REFERENCE_PROFILE } from '../../src/reference-impl/profile.ts';
import type { Run } from '../../src/reference-impl/run.ts';
import { ToolRegistry } from '../../src/reference-impl/tool-validator.ts';
import { GatewayServer, LOOPBACK } from '../../src/reference-impl/ws-server.ts';
import { SimulatedAgents, type AgentScript, type ModelProfile } from '../../src/sim/agent-model.ts';
import {
  LONG_RUN_MS, MARK_HOLD, MARK_STREAM, STREAM_CHUNK_MS, STREAM_TOKENS_PER_SEC,
  fdLimitOf, lagOf, type FromServer, type ServerInit, type ToServer,
} from './shared.ts';

function send(message: FromServer): void {
  if (process.connected) process.send?.(message);
}

// The coordinator owns this process: if it goes away, so do we.
process.on('disconnect', () => process.exit(0));

const lagAll = monitorEventLoopDelay({ resolution: 10 });
const lagWindow = monitorEventLoopDelay({ resolution: 10 });
lagAll.enable();
lagWindow.enable();
let lagConnect = lagOf(lagAll);

interface Running {
  port: number;
  connections: () => number;
  logLines: () => number;
}

const STREAM_MODEL: ModelProfile = { ttftBaseMs: 300, prefillTokensPerSec: 1e9, tokensPerSec: STREAM_TOKENS_PER_SEC, jitter: 0.1, chunkMs: STREAM_CHUNK_MS };
const SHORT_MODEL: ModelProfile = { ttftBaseMs: 200, prefillTokensPerSec: 1e9, tokensPerSec: 60, jitter: 0.1, chunkMs: 100 };

/** The modelled agent of a run, chosen by the marker its first message starts with. */
function chooseScript(run: Run): AgentScript {
  const text = run.messages[0]?.text ?? '';
  if (text.startsWith(MARK_STREAM)) {
    return { agentId: 'main', model: STREAM_MODEL, steps: [{ kind: 'think', inputTokens: 0 }, { kind: 'stream', tokens: (STREAM_TOKENS_PER_SEC * LONG_RUN_MS) / 1000 }] };
  }
  // Active, but silent: the agent thinks (a model that has not sent its first token yet).
  if (text.startsWith(MARK_HOLD)) return { agentId: 'main', model: SHORT_MODEL, steps: [{ kind: 'stall', ms: LONG_RUN_MS }] };
  return { agentId: 'main', model: SHORT_MODEL, steps: [{ kind: 'think', inputTokens: 0 }, { kind: 'stream', tokens: 12 }] };
}

async function startReference(init: ServerInit): Promise<Running> {
  const hb = init.heartbeatMs;
  const scale = hb / 15_000;
  const scaled = (ms: number): number => Math.max(1, Math.round(ms * scale));
  // Every keepalive figure scales with the bound: pings as often as heartbeats, the tick twice as
  // rarely (30 s vs 15 s by default), lane warnings as in the defaults. Dead-peer detection keeps a
  // floor so a briefly stalled client worker is not cut.
  const config = parseConfig({
    agents: { defaults: { maxConcurrent: init.maxConcurrent, lane: { warnThresholdMs: scaled(30_000) } } },
    diagnostics: { laneWaitWarnMs: scaled(2_000) },
    gateway: {
      heartbeat: { intervalMs: hb, pingIntervalMs: hb, deadAfterMs: Math.max(3 * hb, 20_000) },
      tickIntervalMs: 2 * hb,
    },
  });
  let logLines = 0;
  const server = await GatewayServer.start({
    config,
    runtime: new SimulatedAgents(globalClock, new Prng(init.seed), chooseScript, true),
    profile: init.profile === 'openclaw-today' ? OPENCLAW_TODAY_PROFILE : REFERENCE_PROFILE,
    token: init.token,
    tools: new ToolRegistry(),
    log: () => {
      logLines++;
    },
  });
  return { port: server.port, connections: () => server.connections, logLines: () => logLines };
}

/**
 * The `bare-ws` peer: what a plain `ws` server costs. It does the handshake
 * (challenge, hello-ok), answers every request `ok`, and sends one
 * `heartbeat` event to every connected client every `heartbeatMs` from one
 * server-wide timer: the reference point ("a bare ws server sending a
 * 15 s heartbeat").
 */
async function startBare(init: ServerInit): Promise<Running> {
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === 'GET' && req.url === '/health') return reply(200, { ok: true, ts: Date.now() });
    if (req.method === 'POST' && req.url === '/hooks/message') {
      req.resume();
      req.on('end', () => reply(202, { runId: `hook-${++runs}`, status: 'started' }));
      return;
    }
    if (!(req.headers.upgrade ?? '').toLowerCase().includes('websocket')) reply(404, { error: 'not found' });
  });
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  const open = new Set<WebSocket>();
  let runs = 0;
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('close', () => open.delete(ws));
    ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: randomBytes(16).toString('hex'), ts: Date.now() } }));
    ws.on('message', (data) => {
      let frame: { id?: unknown; method?: unknown; params?: { token?: unknown; auth?: { token?: unknown } } };
      try {
        frame = JSON.parse(String(data)) as typeof frame;
      } catch {
        ws.close(1008, 'invalid request frame');
        return;
      }
      const id = typeof frame.id === 'string' ? frame.id : '';
      if (frame.method === 'connect') {
        if (init.token !== null && frame.params?.auth?.token !== init.token) {
          ws.send(JSON.stringify({ type: 'res', id, ok: false, error: { code: 'INVALID_REQUEST', message: 'unauthorized' } }));
          ws.close(1008, 'unauthorized');
          return;
        }
        open.add(ws);
        ws.send(JSON.stringify({ type: 'res', id, ok: true, payload: { type: 'hello-ok', protocol: 4, server: { name: 'bare-ws' }, policy: { heartbeatIntervalMs: init.heartbeatMs } } }));
        return;
      }
      ws.send(JSON.stringify({ type: 'res', id, ok: true, payload: { runId: `run-${++runs}`, status: 'started' } }));
    });
  });
  let seq = 0;
  setInterval(() => {
    const text = JSON.stringify({ type: 'event', event: 'heartbeat', payload: { ts: Date.now() }, seq: ++seq });
    for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }, init.heartbeatMs);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, LOOPBACK, () => resolve());
  });
  return { port: (http.address() as AddressInfo).port, connections: () => open.size, logLines: () => 0 };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

let running: Running | null = null;

process.on('message', (message: ToServer) => {
  void (async () => {
    switch (message.type) {
      case 'init': {
        running = message.mode === 'bare-ws' ? await startBare(message) : await startReference(message);
        gc();
        const mem = process.memoryUsage();
        send({ type: 'ready', port: running.port, pid: process.pid, rss: mem.rss, heapUsed: mem.heapUsed, fdLimit: fdLimitOf('self') });
        const r = running;
        setInterval(() => {
          const m = process.memoryUsage();
          send({ type: 'sample', rss: m.rss, heapUsed: m.heapUsed, connections: r.connections(), lag: lagOf(lagWindow), logLines: r.logLines() });
          lagWindow.reset();
        }, 1_000).unref();
        return;
      }
      case 'measure':
        // The connect phase ends here: its event-loop delay is kept apart from the run's.
        lagConnect = lagOf(lagAll);
        lagAll.reset();
        return;
      case 'final': {
        const lagRun = lagOf(lagAll);
        const mem = process.memoryUsage();
        gc();
        const cpu = process.cpuUsage();
        send({
          type: 'final',
          rss: mem.rss,
          heapUsed: mem.heapUsed,
          heapUsedAfterGc: process.memoryUsage().heapUsed,
          connections: running?.connections() ?? 0,
          lagRun,
          lagConnect,
          logLines: running?.logLines() ?? 0,
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
        });
        return;
      }
      case 'exit':
        // process.exit writes a --cpu-prof profile; the kernel closes the sockets (server side first).
        process.exit(0);
    }
  })().catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
