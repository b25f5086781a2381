/**
 * The load bench coordinator: for each target (the reference gateway, the
 * `bare-ws` reference point, the real OpenClaw gateway, or a `--url`), it
 * starts the server in its own process, spreads the clients over worker
 * processes, waits until every client is connected and waiting, then runs
 * for the duration with autocannon driving the gateway's HTTP side and a
 * 1/s `GET /health` probe, and finally collects every worker's figures
 * (merged HDR histograms), the server's memory and event-loop delay, and
 * tears everything down. Every child is killed when the run ends, fails, or
 * the process exits.
 */
import { type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { forkChild } from './children.ts';
import { startOpenClaw, type OpenClawTarget } from './openclaw.ts';
import {
  LONG_RUN_MS, MARK_HOOK, cpuMsOf, fdLimitOf, distOf, mergeHists, newHist, recordMs, rssOf, streamingCount,
  type Dist, type FromServer, type FromWorker, type LoopLag, type ServerFinal, type ServerInit, type ServerSample, type ToServer, type ToWorker,
  type WorkerInit, type WorkerProgress, type WorkerResult, type WorstClient,
} from './shared.ts';

export type TargetKind = 'reference' | 'bare-ws' | 'openclaw' | 'url';

export interface LoadOptions {
  clients: number;
  streamingShare: number;
  durationMs: number;
  /** The silence bound (HB-1) the gateway is configured with and the clients are held to. */
  heartbeatMs: number;
  /** Pass if every client's longest gap <= heartbeatMs + toleranceMs. */
  toleranceMs: number;
  /** Targets, in order. */
  targets: TargetKind[];
  /** For target `url`. */
  url: string | null;
  token: string | null;
  /** autocannon requests/s against the HTTP side (0: none). */
  httpRate: number;
  /** Worker processes; null: one per 7,000 clients (each stays below 9,000 sockets). */
  workers: number | null;
  connectConcurrency: number;
  connectTimeoutMs: number;
  /** Waiting clients also queue a second message behind their first run. */
  queueSecond: boolean;
  seed: number;
  /** Write a V8 CPU profile of the reference gateway child here. */
  cpuProfDir: string | null;
  /** Extra node flags for the reference / bare-ws server child (e.g. --trace-gc). */
  serverNodeArgs: string[];
  /** Append the server child's stdout/stderr to this file. */
  serverLog: string | null;
  /** The reference gateway's profile (openclaw-today: no heartbeats, to see the harness fail it). */
  profile: 'reference' | 'openclaw-today';
  /** 'auto': a `\r` bar on a TTY, periodic lines otherwise. */
  progress: 'auto' | 'bar' | 'lines' | 'none';
  /** Where progress goes (default stderr). */
  out?: (text: string) => void;
}

export const DEFAULT_OPTIONS: LoadOptions = {
  clients: 1_000,
  streamingShare: 0.1,
  durationMs: 60_000,
  heartbeatMs: 15_000,
  toleranceMs: 250,
  targets: ['reference'],
  url: null,
  token: null,
  httpRate: 200,
  workers: null,
  connectConcurrency: 64,
  connectTimeoutMs: 30_000,
  queueSecond: true,
  seed: 1,
  cpuProfDir: null,
  serverNodeArgs: [],
  serverLog: null,
  profile: 'reference',
  progress: 'auto',
};

export interface HttpLoadResult {
  rate: number;
  paths: string[];
  requests: number;
  perSec: number;
  latency: { p50: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

export interface TargetResult {
  target: TargetKind;
  label: string;
  pass: boolean;
  failures: string[];
  boundMs: number;
  toleranceMs: number;
  clients: number;
  streaming: number;
  workers: number;
  connected: number;
  measured: number;
  failed: number;
  settledEarly: number;
  worst: (WorstClient & { secondsIntoRun: number }) | null;
  overBound: number;
  /** Distribution of each client's longest gap (ms). */
  clientMaxGap: Dist;
  /** The same, counting only frames about the client's own session or server-wide ones (what a one-session chat page sees). */
  clientMaxOwnGap: Dist;
  gapsWaiting: Dist;
  gapsStreaming: Dist;
  connect: Dist;
  accept: Dist;
  frames: number;
  bytes: number;
  framesPerSec: number;
  bytesPerSec: number;
  frameKinds: Record<string, number>;
  errors: Record<string, number>;
  errorCount: number;
  unexpectedCloses: Record<string, number>;
  closeCount: number;
  /** Handshakes tried again after "not now" (HTTP 503/429, UNAVAILABLE), by reason. */
  retries: Record<string, number>;
  server: {
    pid: number | null;
    fdLimit: number | null;
    rssStart: number | null;
    rssEnd: number | null;
    rssPeak: number | null;
    memoryPerConnection: number | null;
    heapUsedAfterGc: number | null;
    /** JS heap growth per connection, both ends after a forced GC: the live memory, without garbage (lanesim children only). */
    heapPerConnection: number | null;
    /** In-process event-loop delay (monitorEventLoopDelay), run phase and connect phase; null when not instrumentable. */
    lagRun: LoopLag | null;
    lagConnect: LoopLag | null;
    /** CPU time over the run phase / wall time (1 = one core). */
    cpuCoresRun: number | null;
    logLines: number | null;
  };
  /** 1/s `GET /health` from outside: a latency view that works for every target. */
  health: Dist & { errors: number };
  http: HttpLoadResult | null;
  workerLagMax: number;
  timings: { startMs: number; connectMs: number; runMs: number };
  notes: string[];
}

export interface LoadReport {
  startedAt: string;
  node: string;
  machine: string;
  options: Omit<LoadOptions, 'out'>;
  targets: TargetResult[];
}

// ------------------------------------------------------------------ children

/** Every child this process started: killed on exit, whatever happens. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killAllChildren);
  }
  return child;
}

/** Hard kills of process trees started outside `track` (OpenClaw's launcher and its children). */
const treeKills = new Set<() => void>();

/** Kills every child of the bench (SIGKILL), synchronously. */
export function killAllChildren(): void {
  for (const kill of treeKills) kill();
  treeKills.clear();
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Pids of the children alive now (for tests: none after a run). */
export function liveChildren(): number[] {
  return [...live].filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid ?? -1);
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function sendTo<T>(child: ChildProcess, message: T): void {
  if (child.connected) child.send(message as object);
}

function waitMessage<T>(child: ChildProcess, pick: (m: unknown) => T | undefined, timeoutMs: number, what: string, tail: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      const v = pick(m);
      if (v !== undefined) {
        cleanup();
        resolve(v);
      } else if ((m as { type?: unknown }).type === 'error') {
        cleanup();
        reject(new Error(`${what}: child reported: ${(m as { message?: string }).message ?? '?'}`));
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`${what}: child exited (${code ?? signal}) ${tail()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer after ${timeoutMs} ms ${tail()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

function keepTail(child: ChildProcess): () => string {
  let tail = '';
  const add = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => (tail === '' ? '' : `\n--- child output (tail) ---\n${tail}`);
}

// ------------------------------------------------------------------ targets

interface ServerHandle {
  label: string;
  wsUrl: string;
  httpBase: string;
  token: string | null;
  pid: number | null;
  fdLimit: number | null;
  /** Latest in-process sample (lanesim children only). */
  sample: ServerSample | null;
  /** JS heap after a forced GC before any client connected (lanesim children only). */
  heapStartAfterGc: number | null;
  measure(): void;
  final(): Promise<ServerFinal | null>;
  stop(): Promise<void>;
  notes: string[];
  /** Notes known only at the end of the run. */
  lateNotes(): string[];
}

const BENCH_TOKEN = 'lanesim-load-bench';
/** Descriptors the server keeps beyond the clients' sockets: autocannon (<= 48), the probe, listener, IPC, stdio, epoll. */
const FD_RESERVE = 100;

async function startChildServer(mode: 'reference' | 'bare-ws', options: LoadOptions): Promise<ServerHandle> {
  const execArgv = ['--expose-gc', '--max-old-space-size=8192', ...options.serverNodeArgs];
  if (mode === 'reference' && options.cpuProfDir !== null) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const child = track(await forkChild('server-child', { execArgv }));
  const tail = keepTail(child);
  if (options.serverLog !== null) {
    const log = createWriteStream(options.serverLog, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const init: ServerInit = {
    type: 'init',
    mode,
    heartbeatMs: options.heartbeatMs,
    token: BENCH_TOKEN,
    seed: options.seed,
    maxConcurrent: options.clients * 2 + 1_000,
    profile: options.profile,
  };
  sendTo<ToServer>(child, init);
  const ready = await waitMessage(child, (m) => ((m as FromServer).type === 'ready' ? (m as Extract<FromServer, { type: 'ready' }>) : undefined), 90_000, `${mode} server start`, tail);
  const handle: ServerHandle = {
    label: mode === 'reference' ? (options.profile === 'reference' ? 'lanesim reference' : 'lanesim (openclaw-today profile)') : 'bare ws',
    wsUrl: `ws://127.0.0.1:${ready.port}`,
    httpBase: `http://127.0.0.1:${ready.port}`,
    token: BENCH_TOKEN,
    pid: ready.pid,
    fdLimit: ready.fdLimit,
    sample: null,
    heapStartAfterGc: ready.heapUsed,
    measure: () => sendTo<ToServer>(child, { type: 'measure' }),
    final: async () => {
      sendTo<ToServer>(child, { type: 'final' });
      return waitMessage(child, (m) => ((m as FromServer).type === 'final' ? (m as ServerFinal) : undefined), 60_000, `${mode} server final`, tail).catch(() => null);
    },
    stop: async () => {
      sendTo<ToServer>(child, { type: 'exit' });
      await waitExit(child, 15_000);
    },
    notes: [],
    lateNotes: () => [],
  };
  child.on('message', (m: FromServer) => {
    if (m.type === 'sample') handle.sample = m;
  });
  return handle;
}

async function startOpenClawServer(options: LoadOptions, streamMs: number, out: (line: string) => void): Promise<ServerHandle> {
  let killTree: (() => void) | null = null;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killAllChildren);
  }
  let target: OpenClawTarget;
  try {
    target = await startOpenClaw({
      streamMs,
      maxConcurrent: options.clients * 2 + 100,
      log: out,
      onSpawn: (kill) => {
        killTree = kill;
        treeKills.add(kill);
      },
    });
  } catch (error) {
    // startOpenClaw stopped what it started.
    if (killTree !== null) treeKills.delete(killTree);
    throw error;
  }
  return {
    label: 'OpenClaw 2026.9.6',
    wsUrl: target.wsUrl,
    httpBase: target.httpBase,
    token: target.token,
    pid: target.pid,
    fdLimit: target.pid > 0 ? fdLimitOf(target.pid) : null,
    sample: null,
    heapStartAfterGc: null,
    measure: () => {},
    final: () => Promise.resolve(null),
    stop: async () => {
      await target.stop();
      if (killTree !== null) treeKills.delete(killTree);
    },
    notes: ['OpenClaw: no in-process event-loop figure (not instrumentable from outside); see the /health probe RTT'],
    lateNotes: () => [`model requests seen by the fake model, by kind: ${JSON.stringify(target.modelRequests)}`],
  };
}

function urlServer(options: LoadOptions): ServerHandle {
  const url = options.url!;
  const http = url.replace(/^ws(s?):\/\//, 'http$1://').replace(/\/+$/, '');
  return {
    label: `target ${url}`,
    wsUrl: url,
    httpBase: http,
    token: options.token,
    pid: null,
    fdLimit: null,
    sample: null,
    heapStartAfterGc: null,
    measure: () => {},
    final: () => Promise.resolve(null),
    stop: () => Promise.resolve(),
    notes: ['external target: no server-side memory or event-loop figures'],
    lateNotes: () => [],
  };
}

// ------------------------------------------------------------------ probes

function startHealthProbe(httpBase: string): { stop(): Dist & { errors: number } } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const hist = newHist();
  let errors = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const once = (): void => {
    if (stopped) return;
    const t0 = performance.now();
    const req = httpRequest(`${httpBase}/health`, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        else recordMs(hist, performance.now() - t0);
        if (!stopped) timer = setTimeout(once, 1_000);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      errors++;
      if (!stopped) timer = setTimeout(once, 1_000);
    });
    req.end();
  };
  once();
  return {
    stop: () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      agent.destroy();
      return { ...distOf(hist), errors };
    },
  };
}

function startHttpLoad(httpBase: string, rate: number, durationMs: number, withHooks: boolean): { done: Promise<HttpLoadResult>; stop(): void } {
  let n = 0;
  const paths = withHooks ? ['GET /health', 'POST /hooks/message'] : ['GET /health'];
  const requests: autocannon.Request[] = [{ method: 'GET', path: '/health' }];
  if (withHooks) {
    requests.push({
      method: 'POST',
      path: '/hooks/message',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ sessionKey: `hook-${n % 64}`, message: `${MARK_HOOK} webhook ${++n}` }) }),
    });
  }
  let instance: autocannon.Instance | null = null;
  const done = new Promise<HttpLoadResult>((resolve, reject) => {
    instance = autocannon({
      url: httpBase,
      // Enough connections to hold the rate while latency is high (one request in flight each).
      connections: Math.min(48, Math.max(8, Math.ceil(rate / 5))),
      overallRate: rate,
      duration: Math.max(1, Math.round(durationMs / 1000)),
      requests,
      timeout: 10,
    }, (error: unknown, result: autocannon.Result) => {
      if (error) return reject(error instanceof Error ? error : new Error(String(error)));
      resolve({
        rate,
        paths,
        requests: result.requests.total,
        perSec: result.requests.total / Math.max(1e-9, result.duration),
        latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
      });
    });
  });
  return { done, stop: () => (instance as autocannon.Instance | null)?.stop() };
}

// ------------------------------------------------------------------ progress

class Progress {
  private readonly mode: 'bar' | 'lines' | 'none';
  private lastLineAt = 0;
  private barShown = false;
  private readonly t0 = performance.now();
  constructor(mode: LoadOptions['progress'], private readonly out: (text: string) => void) {
    this.mode = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : mode;
  }
  update(line: string, force = false): void {
    if (this.mode === 'none') return;
    if (this.mode === 'bar') {
      const width = Math.max(40, (process.stderr.columns ?? 120) - 1);
      this.out(`\r${line.length > width ? line.slice(0, width) : line.padEnd(width)}`);
      this.barShown = true;
      return;
    }
    const now = Date.now();
    if (force || now - this.lastLineAt >= 5_000) {
      this.lastLineAt = now;
      this.out(`${this.stamp()} ${line}\n`);
    }
  }
  private stamp(): string {
    return `+${((performance.now() - this.t0) / 1000).toFixed(1)}s`;
  }
  log(line: string): void {
    if (this.mode === 'none') return;
    this.clear();
    this.out(`${this.stamp()} ${line}\n`);
  }
  clear(): void {
    if (this.barShown) {
      this.out('\r' + ' '.repeat(Math.max(40, (process.stderr.columns ?? 120) - 1)) + '\r');
      this.barShown = false;
    }
  }
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function bar(done: number, total: number, width = 20): string {
  const filled = total <= 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

// ------------------------------------------------------------------ one target

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function sum(map: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(map)) n += v;
  return n;
}

async function runTarget(kind: TargetKind, options: LoadOptions, ui: Progress): Promise<TargetResult> {
  const t0 = performance.now();
  const bound = options.heartbeatMs;
  const workersN = options.workers ?? Math.max(1, Math.ceil(options.clients / 7_000));
  const perWorker = Math.ceil(options.clients / workersN);
  if (perWorker >= 9_000) throw new RangeError(`${fmtInt(perWorker)} clients per worker: use --workers ${Math.ceil(options.clients / 8_000)} or more (each worker stays below ~9,000 sockets)`);
  const connectCapMs = Math.max(120_000, options.clients * 20);
  const streamMs = connectCapMs + options.durationMs + 120_000;
  const name = kind === 'url' ? 'url' : kind;
  ui.log(`[${name}] starting the server ...`);
  const server = kind === 'reference' || kind === 'bare-ws'
    ? await startChildServer(kind, options)
    : kind === 'openclaw'
      ? await startOpenClawServer(options, Math.min(streamMs, LONG_RUN_MS), (line) => ui.log(`[openclaw] ${line}`))
      : urlServer(options);
  const notes: string[] = [...server.notes];
  const workers: ChildProcess[] = [];
  const tails: (() => string)[] = [];
  let probe: ReturnType<typeof startHealthProbe> | null = null;
  let httpLoad: ReturnType<typeof startHttpLoad> | null = null;
  let ticker: NodeJS.Timeout | null = null;
  try {
    // The gateway process holds every socket: check its descriptor budget before trying.
    if (server.fdLimit !== null && options.clients + FD_RESERVE > server.fdLimit) {
      throw new RangeError(
        `${server.label} cannot hold ${fmtInt(options.clients)} connections: its open-files limit is ${fmtInt(server.fdLimit)} `
        + `(one descriptor per socket, plus ${FD_RESERVE} kept for the HTTP load, the probe, the listening socket, IPC and node itself); at most ${fmtInt(server.fdLimit - FD_RESERVE)} here`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssStart = server.pid === null ? null : rssOf(server.pid);
    let rssPeak = rssStart;
    // OpenClaw admits at most 32 connections per IP before auth (OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP):
    // keep the handshakes in flight under that, as a real client fleet behind one address would.
    const connectConcurrency = kind === 'openclaw' ? Math.max(1, Math.min(options.connectConcurrency, Math.floor(30 / workersN))) : options.connectConcurrency;
    if (connectConcurrency !== options.connectConcurrency) notes.push(`handshakes in flight capped at ${connectConcurrency * workersN} (OpenClaw allows 32 pre-auth connections per IP)`);
    const progress = new Map<number, WorkerProgress>();
    const results = new Map<number, WorkerResult>();
    const connectedAll = new Set<number>();
    for (let w = 0; w < workersN; w++) {
      const first = w * perWorker;
      const count = Math.max(0, Math.min(perWorker, options.clients - first));
      if (count === 0) break;
      const child = track(await forkChild('worker'));
      tails.push(keepTail(child));
      child.on('message', (m: FromWorker) => {
        if (m.type === 'progress') progress.set(m.workerIndex, m);
        else if (m.type === 'connected-all') connectedAll.add(m.workerIndex);
        else if (m.type === 'result') results.set(m.workerIndex, m);
      });
      const init: WorkerInit = {
        type: 'init',
        workerIndex: w,
        url: server.wsUrl,
        token: server.token,
        first,
        count,
        total: options.clients,
        streamingShare: options.streamingShare,
        connectConcurrency,
        connectTimeoutMs: options.connectTimeoutMs,
        sessionPrefix: `load-${kind}-`,
        queueSecond: options.queueSecond,
      };
      sendTo<ToWorker>(child, init);
      workers.push(child);
    }
    const anyWorkerDied = (): string | null => {
      const dead = workers.findIndex((c) => c.exitCode !== null || c.signalCode !== null);
      return dead < 0 ? null : `worker ${dead} exited (${workers[dead]!.exitCode ?? workers[dead]!.signalCode})${tails[dead]!()}`;
    };
    const totals = (): { attempted: number; connected: number; waiting: number; failed: number; frames: number; bytes: number; errors: number; closes: number; maxGap: number; openGap: number; lag: number } => {
      const t = { attempted: 0, connected: 0, waiting: 0, failed: 0, frames: 0, bytes: 0, errors: 0, closes: 0, maxGap: 0, openGap: 0, lag: 0 };
      for (const p of progress.values()) {
        t.attempted += p.attempted;
        t.connected += p.connected;
        t.waiting += p.waiting;
        t.failed += p.failed;
        t.frames += p.frames;
        t.bytes += p.bytes;
        t.errors += p.errors;
        t.closes += p.unexpectedCloses;
        t.maxGap = Math.max(t.maxGap, p.maxGapMs);
        t.openGap = Math.max(t.openGap, p.openGapMs);
        t.lag = Math.max(t.lag, p.lagMaxMs);
      }
      return t;
    };
    const serverBits = (): string => {
      const s = server.sample;
      const rss = server.pid === null ? null : rssOf(server.pid);
      if (rss !== null && (rssPeak === null || rss > rssPeak)) rssPeak = rss;
      const parts: string[] = [];
      if (rss !== null) parts.push(`rss ${(rss / 2 ** 20).toFixed(0)} MiB`);
      if (s !== null) parts.push(`gw lag max ${s.lag.max.toFixed(0)} ms`);
      return parts.join(' | ');
    };

    // ---- connect phase
    const connectStart = performance.now();
    for (;;) {
      const died = anyWorkerDied();
      if (died !== null) throw new Error(died);
      const t = totals();
      ui.update(`[${name}] connecting ${bar(t.connected + t.failed, options.clients)} ${fmtInt(t.connected)}/${fmtInt(options.clients)} failed ${t.failed} | ${((performance.now() - connectStart) / 1000).toFixed(0)} s | ${serverBits()}`);
      if (connectedAll.size === workers.length) break;
      if (performance.now() - connectStart > connectCapMs) {
        notes.push(`connect phase cut at ${connectCapMs / 1000} s: not every client was connected`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // Let the last chat.send responses arrive (the windows open at acceptance).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const connectMs = performance.now() - connectStart;
    const c = totals();
    ui.log(`[${name}] ${fmtInt(c.connected)}/${fmtInt(options.clients)} connected in ${(connectMs / 1000).toFixed(1)} s (${c.failed} failed), ${fmtInt(c.waiting)} waiting; running ${(options.durationMs / 1000).toFixed(0)} s${options.httpRate > 0 ? ` with ${options.httpRate} HTTP requests/s` : ''}`);

    // ---- run phase
    server.measure();
    const runStart = performance.now();
    const runStartEpoch = Date.now();
    const cpuStart = server.pid === null ? null : cpuMsOf(server.pid);
    const framesAtStart = c.frames;
    const bytesAtStart = c.bytes;
    probe = startHealthProbe(server.httpBase);
    if (options.httpRate > 0) httpLoad = startHttpLoad(server.httpBase, options.httpRate, options.durationMs, kind !== 'openclaw');
    if (kind === 'openclaw' && options.httpRate > 0) notes.push('HTTP load: GET /health only (POST /hooks/message is a lanesim route; OpenClaw hooks would start model runs)');
    let lastFrames = framesAtStart;
    let lastAt = runStart;
    let rate = 0;
    await new Promise<void>((resolve, reject) => {
      ticker = setInterval(() => {
        const died = anyWorkerDied();
        if (died !== null) return reject(new Error(died));
        const now = performance.now();
        const t = totals();
        if (now - lastAt >= 1_000) {
          rate = ((t.frames - lastFrames) * 1000) / (now - lastAt);
          lastFrames = t.frames;
          lastAt = now;
        }
        const elapsed = now - runStart;
        ui.update(`[${name}] run ${bar(elapsed, options.durationMs)} ${(elapsed / 1000).toFixed(0)}/${(options.durationMs / 1000).toFixed(0)} s | ${fmtInt(t.waiting)} waiting | worst gap ${(t.maxGap / 1000).toFixed(2)} s, open ${(t.openGap / 1000).toFixed(2)} s | ${fmtInt(rate)} frames/s | ${serverBits()} | errors ${t.errors} closes ${t.closes}`);
        if (elapsed >= options.durationMs) resolve();
      }, 250);
    });
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    const runMs = performance.now() - runStart;
    const rssEnd = server.pid === null ? null : rssOf(server.pid);
    if (rssEnd !== null && (rssPeak === null || rssEnd > rssPeak)) rssPeak = rssEnd;
    const cpuEnd = server.pid === null ? null : cpuMsOf(server.pid);

    // ---- collect
    for (const w of workers) sendTo<ToWorker>(w, { type: 'stop', boundMs: bound, toleranceMs: options.toleranceMs });
    const deadline = performance.now() + 60_000;
    while (results.size < workers.length) {
      const died = anyWorkerDied();
      if (died !== null) throw new Error(died);
      if (performance.now() > deadline) throw new Error(`only ${results.size}/${workers.length} workers reported their results`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const health = probe.stop();
    probe = null;
    let http: HttpLoadResult | null = null;
    if (httpLoad !== null) {
      const h = httpLoad;
      let timer: NodeJS.Timeout | null = null;
      http = await Promise.race([h.done, new Promise<null>((resolve) => {
        timer = setTimeout(() => {
          h.stop();
          notes.push('HTTP load did not finish within 15 s of the end of the run');
          resolve(null);
        }, 15_000);
      })]).catch((error: unknown) => {
        notes.push(`HTTP load failed: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      });
      if (timer !== null) clearTimeout(timer);
      httpLoad = null;
    }
    const final = await server.final();
    const list = [...results.values()];
    const errors: Record<string, number> = {};
    const closes: Record<string, number> = {};
    const retries: Record<string, number> = {};
    const frameKinds: Record<string, number> = {};
    let worst: WorstClient | null = null;
    let frames = 0;
    let bytes = 0;
    for (const r of list) {
      addCounts(errors, r.errors);
      addCounts(closes, r.unexpectedCloses);
      addCounts(retries, r.retries);
      addCounts(frameKinds, r.frameKinds);
      frames += r.frames;
      bytes += r.bytes;
      if (r.worst !== null && (worst === null || r.worst.maxGapMs > worst.maxGapMs)) worst = r.worst;
    }
    const connected = list.reduce((a, r) => a + r.connected, 0);
    const measured = list.reduce((a, r) => a + r.measured, 0);
    const failed = list.reduce((a, r) => a + r.failed, 0);
    if (connected > measured) errors['message-never-accepted'] = connected - measured;
    const errorCount = sum(errors);
    const closeCount = sum(closes);
    const overBound = list.reduce((a, r) => a + r.overBound, 0);
    const settledEarly = list.reduce((a, r) => a + r.settledEarly, 0);
    const failures: string[] = [];
    if (connected < options.clients) failures.push(`${fmtInt(options.clients - connected)} clients never connected`);
    if (worst !== null && worst.maxGapMs > bound + options.toleranceMs) failures.push(`${fmtInt(overBound)} clients went silent longer than ${((bound + options.toleranceMs) / 1000).toFixed(2)} s (worst ${(worst.maxGapMs / 1000).toFixed(3)} s)`);
    if (errorCount > 0) failures.push(`${fmtInt(errorCount)} errors`);
    if (closeCount > 0) failures.push(`${fmtInt(closeCount)} unexpected closes`);
    if (measured === 0) failures.push('no client was measured');
    if (http !== null && http.errors + http.timeouts > 0) failures.push(`HTTP load: ${http.errors} errors, ${http.timeouts} timeouts`);
    if (settledEarly > 0) notes.push(`${fmtInt(settledEarly)} clients had every run settle before the end (measured until then)`);
    notes.push(...server.lateNotes());
    const memoryPerConnection = rssStart !== null && rssEnd !== null && connected > 0 ? (rssEnd - rssStart) / connected : null;
    const workerLagMax = Math.max(0, ...list.map((r) => r.lag.max));
    if (workerLagMax > options.toleranceMs) notes.push(`a client worker's event loop stalled up to ${workerLagMax.toFixed(0)} ms: measured gaps may include that much client-side delay`);
    return {
      target: kind,
      label: server.label,
      pass: failures.length === 0,
      failures,
      boundMs: bound,
      toleranceMs: options.toleranceMs,
      clients: options.clients,
      streaming: streamingCount(options.clients, options.streamingShare),
      workers: workers.length,
      connected,
      measured,
      failed,
      settledEarly,
      worst: worst === null ? null : { ...worst, secondsIntoRun: (worst.gapEndedAt - runStartEpoch) / 1000 },
      overBound,
      clientMaxGap: distOf(mergeHists(list.map((r) => r.maxGapHist))),
      clientMaxOwnGap: distOf(mergeHists(list.map((r) => r.ownMaxGapHist))),
      gapsWaiting: distOf(mergeHists(list.map((r) => r.gapHistWaiting))),
      gapsStreaming: distOf(mergeHists(list.map((r) => r.gapHistStreaming))),
      connect: distOf(mergeHists(list.map((r) => r.connectHist))),
      accept: distOf(mergeHists(list.map((r) => r.acceptHist))),
      frames,
      bytes,
      framesPerSec: ((frames - framesAtStart) * 1000) / runMs,
      bytesPerSec: ((bytes - bytesAtStart) * 1000) / runMs,
      frameKinds,
      errors,
      errorCount,
      unexpectedCloses: closes,
      closeCount,
      retries,
      server: {
        pid: server.pid,
        fdLimit: server.fdLimit,
        rssStart,
        rssEnd,
        rssPeak,
        memoryPerConnection,
        heapUsedAfterGc: final?.heapUsedAfterGc ?? null,
        heapPerConnection: final !== null && server.heapStartAfterGc !== null && connected > 0 ? (final.heapUsedAfterGc - server.heapStartAfterGc) / connected : null,
        lagRun: final?.lagRun ?? null,
        lagConnect: final?.lagConnect ?? null,
        cpuCoresRun: cpuStart !== null && cpuEnd !== null ? (cpuEnd - cpuStart) / runMs : null,
        logLines: final?.logLines ?? null,
      },
      health,
      http,
      workerLagMax,
      timings: { startMs: connectStart - t0, connectMs, runMs },
      notes,
    };
  } finally {
    if (ticker !== null) clearInterval(ticker);
    probe?.stop();
    httpLoad?.stop();
    ui.clear();
    // The server goes first (its side closes the sockets), then the workers.
    await server.stop().catch(() => {});
    for (const w of workers) sendTo<ToWorker>(w, { type: 'exit' });
    await Promise.all(workers.map((w) => waitExit(w, 10_000)));
    ui.log(`[${name}] stopped`);
  }
}

// ------------------------------------------------------------------ run

export async function runLoad(input: Partial<LoadOptions>): Promise<LoadReport> {
  const options: LoadOptions = { ...DEFAULT_OPTIONS, ...input };
  validate(options);
  const out = options.out ?? ((text: string) => void process.stderr.write(text));
  const ui = new Progress(options.progress, out);
  const report: LoadReport = {
    startedAt: new Date().toISOString(),
    node: process.version,
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    options: { ...options, out: undefined } as Omit<LoadOptions, 'out'>,
    targets: [],
  };
  delete (report.options as { out?: unknown }).out;
  try {
    for (const kind of options.targets) {
      report.targets.push(await runTarget(kind, options, ui));
      // Let the kernel finish tearing the last run's sockets down before the next one.
      if (kind !== options.targets[options.targets.length - 1]) await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
  } finally {
    killAllChildren();
  }
  return report;
}

function validate(o: LoadOptions): void {
  const int = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`load: ${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  int('clients', o.clients, 1);
  int('duration (ms)', o.durationMs, 1_000);
  int('heartbeat-ms', o.heartbeatMs, 100);
  int('tolerance-ms', o.toleranceMs, 0);
  int('connect-concurrency', o.connectConcurrency, 1);
  if (o.workers !== null) int('workers', o.workers, 1);
  if (!(o.streamingShare >= 0 && o.streamingShare <= 1)) throw new RangeError(`load: streaming-share must be in [0, 1], got ${String(o.streamingShare)}`);
  if (!(o.httpRate >= 0) || !Number.isFinite(o.httpRate)) throw new RangeError(`load: http-rate must be a number >= 0, got ${String(o.httpRate)}`);
  if (o.targets.length === 0) throw new RangeError('load: no target');
  if (o.targets.includes('url')) {
    if (o.url === null || !/^ws:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/.*)?$/.test(o.url)) {
      throw new RangeError(`load: --url must be a ws:// URL on loopback, got ${JSON.stringify(o.url)}`);
    }
  }
}
