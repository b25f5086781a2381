/**
 * What the load bench's processes share: the IPC messages between the
 * coordinator (bench/load/run.ts), the gateway child (server-child.ts) and the
 * client workers (worker.ts), the workload's message markers, and small
 * helpers (durations, HDR histograms, /proc readings).
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';

// ---------------------------------------------------------------- workload

/**
 * The messages the clients send. The reference gateway child's modelled
 * agents (and the fake model in front of OpenClaw) pick their behaviour by
 * these markers: a `[stream]` run streams tokens for an hour; a `[hold]` run
 * is active but silent for an hour (the agent "thinks"); a `[queued]` message
 * arrives while the `[hold]` run is active, so it waits behind it; a `[hook]`
 * message (from the HTTP load) is a short turn.
 */
export const MARK_STREAM = '[stream]';
export const MARK_HOLD = '[hold]';
export const MARK_QUEUED = '[queued]';
export const MARK_HOOK = '[hook]';
/** How long `[stream]` and `[hold]` runs last: far beyond any bench (which kills them). */
export const LONG_RUN_MS = 3_600_000;
/** Streaming speed of a `[stream]` run: tokens/s, and how often the model hands them over. */
export const STREAM_TOKENS_PER_SEC = 20;
export const STREAM_CHUNK_MS = 150;

/** Is client `index` (0-based, of `total`) one of the streaming ones? Spreads `round(total * share)` evenly. */
export function isStreamingClient(index: number, share: number): boolean {
  return Math.floor((index + 1) * share + 1e-9) > Math.floor(index * share + 1e-9);
}

export function streamingCount(total: number, share: number): number {
  let n = 0;
  for (let i = 0; i < total; i++) if (isStreamingClient(i, share)) n++;
  return n;
}

// ---------------------------------------------------------------- IPC: gateway child

export type ServerMode = 'reference' | 'bare-ws';

export interface ServerInit {
  type: 'init';
  mode: ServerMode;
  heartbeatMs: number;
  token: string | null;
  seed: number;
  /** Main-lane concurrency (reference): enough for every client's first run. */
  maxConcurrent: number;
  /** 'reference' (heartbeats) or 'openclaw-today' (none: the harness must catch it). */
  profile: 'reference' | 'openclaw-today';
}

export interface LoopLag {
  /** ms */
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface ServerSample {
  type: 'sample';
  rss: number;
  heapUsed: number;
  connections: number;
  /** Event-loop delay over the last sample period. */
  lag: LoopLag;
  /** Lines the gateway logged (lane wait exceeded, ...). */
  logLines: number;
}

export interface ServerFinal {
  type: 'final';
  rss: number;
  heapUsed: number;
  /** After a forced GC. */
  heapUsedAfterGc: number;
  connections: number;
  /** Event-loop delay since `measure` (the run phase), and over the connect phase before it. */
  lagRun: LoopLag;
  lagConnect: LoopLag;
  logLines: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

export type ToServer = ServerInit | { type: 'measure' } | { type: 'final' } | { type: 'exit' };
export type FromServer =
  | { type: 'ready'; port: number; pid: number; rss: number; heapUsed: number; fdLimit: number | null }
  | ServerSample
  | ServerFinal
  | { type: 'error'; message: string };

// ---------------------------------------------------------------- IPC: client workers

export interface WorkerInit {
  type: 'init';
  workerIndex: number;
  url: string;
  token: string | null;
  /** Global index of this worker's first client, and how many it runs. */
  first: number;
  count: number;
  /** Total clients of the run (for the streaming spread). */
  total: number;
  streamingShare: number;
  /** Handshakes in flight at once in this worker. */
  connectConcurrency: number;
  connectTimeoutMs: number;
  /** Session keys are `<sessionPrefix><globalIndex>`. */
  sessionPrefix: string;
  /** Waiting clients send a second message that queues behind their first run. */
  queueSecond: boolean;
}

export interface WorkerProgress {
  type: 'progress';
  workerIndex: number;
  attempted: number;
  connected: number;
  /** Clients whose first message was accepted: their silence window is open. */
  waiting: number;
  failed: number;
  frames: number;
  bytes: number;
  errors: number;
  unexpectedCloses: number;
  /** Longest closed gap so far, and the longest silence now open, among measured clients (ms). */
  maxGapMs: number;
  openGapMs: number;
  lagMaxMs: number;
}

export interface WorstClient {
  index: number;
  sessionKey: string;
  streaming: boolean;
  maxGapMs: number;
  /** Epoch ms when that gap ended (or the window closed on it). */
  gapEndedAt: number;
  /** Whether the worst gap was the silence still open when the window closed. */
  open: boolean;
  frames: number;
  connectedAt: number;
}

export interface WorkerResult {
  type: 'result';
  workerIndex: number;
  clients: number;
  connected: number;
  measured: number;
  failed: number;
  /** Clients whose every message settled before the window closed (they stopped waiting). */
  settledEarly: number;
  frames: number;
  bytes: number;
  /** Frames by event name (`res` for responses). */
  frameKinds: Record<string, number>;
  errors: Record<string, number>;
  unexpectedCloses: Record<string, number>;
  /** Handshakes tried again after the gateway said "not now" (HTTP 503/429, UNAVAILABLE). */
  retries: Record<string, number>;
  /** HDR histograms (microseconds), compressed base64. */
  connectHist: string;
  gapHistWaiting: string;
  gapHistStreaming: string;
  maxGapHist: string;
  /** Each client's longest gap counting only frames about its own session or server-wide ones. */
  ownMaxGapHist: string;
  acceptHist: string;
  worst: WorstClient | null;
  /** Clients over `boundMs + toleranceMs` (filled by the coordinator's threshold). */
  overBound: number;
  lag: LoopLag;
  windowMs: number;
}

export type ToWorker = WorkerInit | { type: 'stop'; boundMs: number; toleranceMs: number } | { type: 'exit' };
export type FromWorker =
  | { type: 'ready' }
  | WorkerProgress
  | { type: 'connected-all'; workerIndex: number; connected: number; failed: number }
  | WorkerResult
  | { type: 'error'; message: string };

// ---------------------------------------------------------------- helpers

/** `60s`, `90 s`, `2m`, `1500ms`, or a plain number of seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/.exec(text);
  if (m === null) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 60s, 2m, 1500ms)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
  return Math.round(ms);
}

/** A histogram of microseconds (1 us .. 1 h, 3 significant digits). */
export function newHist(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export function recordMs(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.min(3_600_000_000, Math.round(ms * 1000))));
}

export function encodeHist(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function mergeHists(encoded: readonly string[]): hdr.Histogram {
  const out = newHist();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e);
    out.add(h);
  }
  return out;
}

export interface Dist {
  count: number;
  /** ms */
  p50: number;
  p99: number;
  max: number;
}

export function distOf(h: hdr.Histogram): Dist {
  if (h.totalCount === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    max: h.maxValue / 1000,
  };
}

/** Reads an event-loop delay histogram (nanoseconds) as milliseconds. */
export function lagOf(h: { percentile(p: number): number; max: number; mean: number; count?: number }): LoopLag {
  const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) };
}

/** The fd limit of a process (Linux /proc), or null. */
export function fdLimitOf(pid: number | 'self'): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(text);
    if (m === null) return null;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return null;
  }
}

/** A process and its descendants (Linux /proc), e.g. OpenClaw's launcher and the gateway it starts. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ')) if (c.trim() !== '') visit(Number(c));
    }
  };
  visit(pid);
  return out;
}

/** Resident set size in bytes of a process and its descendants, from /proc; null if it is gone. */
export function rssOf(pid: number): number | null {
  let total: number | null = null;
  for (const p of processTree(pid)) {
    try {
      const text = readFileSync(`/proc/${p}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(text);
      if (m !== null) total = (total ?? 0) + Number(m[1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU time (user + system) in ms of a process and its descendants, from /proc/<pid>/stat; null if it is gone. */
export function cpuMsOf(pid: number): number | null {
  let total: number | null = null;
  for (const p of processTree(pid)) {
    try {
      const text = readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      total = (total ?? 0) + ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // USER_HZ is 100 on Linux
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
