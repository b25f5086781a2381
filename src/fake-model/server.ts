/**
 * lanesim's fake model provider: an OpenAI-compatible HTTP server on
 * 127.0.0.1 that answers `POST /v1/chat/completions` from a seeded script
 * (see script.ts, plan.ts), so a gateway under test (OpenClaw, the
 * reference gateway's HttpModelRuntime) talks to a model whose timing, text,
 * tool calls, stalls and errors are known in advance.
 *
 * Endpoints:
 *   GET  /v1/models                  {object:"list", data:[{id, object:"model", created, owned_by:"lanesim"}]}
 *   GET  /v1/models/<id>             one of them, or 404
 *   POST /v1/chat/completions        stream:true -> SSE; stream:false -> one chat.completion
 *   GET  /control/requests           one page of the request log, oldest first (see "Request log")
 *   GET  /control/script             {script, seed, timeScale}
 *   POST /control/script             body: a script (JSON/JSON5) or "cascade"/"default"; 400 names the bad field
 *   POST /control/reset              clears the request log and the rule counters; body {seed?} optional
 * (`/chat/completions` and `/models` without `/v1` are accepted too.)
 *
 * Errors are OpenAI-shaped: `{error:{message, type, code, param}}` with
 * 400 (invalid JSON, missing/invalid messages, a malformed path such as
 * `/v1/models/%`, a bad query parameter, a request Node's HTTP parser
 * refuses), 404 (unknown path), 405 (wrong method, with Allow), 413 (body
 * over bodyLimitBytes, default 8 MiB), 431 (headers too large), 503 (a
 * non-streaming request still waiting when the server closes). No request,
 * however malformed, ends the process: every handler runs inside a try, and
 * an error that is the server's own is a 500 with code `internal`.
 *
 * Request log: one entry per completion request, bounded in entries
 * (logMaxEntries, default 10,000) AND in bytes (logMaxBytes, default 64 MiB,
 * counted as each entry's JSON size); when either bound is passed the oldest
 * entries are dropped and counted (`dropped`). An entry is at most
 * pageMaxBytes - 1 KiB of JSON (and at most logMaxBytes): a longer one has
 * its texts cut, each ending `…[cut N chars]` (see capEntry; rules and
 * markers were matched on the full texts first).
 * `GET /control/requests?after=<index>&limit=<n>` answers
 * `{requests, next, first, total, dropped}`: the entries with index > after
 * (default: from the oldest kept), at most `limit` of them (1..100000,
 * default no limit) and at most pageMaxBytes (default 4 MiB) of body;
 * `next` is the `after` of the following page, null when this page reaches
 * the newest entry; `first` the oldest kept index (null if none), `total`
 * the entries logged and `dropped` the entries dropped since the start or
 * the last reset. A reader that passes an `after` below `first - 1` has
 * missed `first - 1 - after` entries. A log that fits in one page is
 * answered in one reply, as before paging existed.
 *
 * SSE: `data: <chunk JSON>\n\n` frames: first the role delta
 * (`{role:"assistant", content:""}`, content null when the reply is only
 * tool calls), then content deltas, then tool_calls deltas (a header frame
 * `{index, id, type:"function", function:{name, arguments:""}}`, then
 * `{index, function:{arguments:<piece>}}` frames with the raw argument text
 * verbatim, 4 characters per token), then a chunk with `delta:{}` and
 * finish_reason "stop" or "tool_calls", then (stream_options.include_usage)
 * a usage chunk with `choices: []`, then `data: [DONE]`. A stream cut
 * (`error.afterTokens`) sends `data: {"error":{message, type:"server_error",
 * code:"stream_cut"}}` and ends the response (mode "chunk"), or closes the
 * connection mid-body after flushing what was written (mode "close"; a
 * non-streaming request gets 500 with that error, or the same cut). `: keepalive` comments while waiting if the plan
 * sets keepaliveMs.
 *
 * Timing: every scripted duration is divided by timeScale; a response's
 * events are scheduled against the time its request body arrived, so timer
 * lateness does not accumulate over thousands of chunks (late chunks are
 * sent together). Timers are tracked: close() and a client disconnect clear
 * them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import JSON5 from 'json5';
import { assertSeed } from '../model/prng.ts';
import { chooseRule, describeRequest, planResponse, requestFeatures, scriptMarkers, type PlannedEvent, type PlannedResponse, type RequestFeatures } from './plan.ts';
import { ScriptError, resolveScript, scriptModels, type FakeModelScript, type ScriptName } from './script.ts';

export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;
/** Request log bounds and the reply size of `GET /control/requests` (see the module comment). */
export const DEFAULT_LOG_MAX_ENTRIES = 10_000;
export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PAGE_MAX_BYTES = 4 * 1024 * 1024;
/** Room a page keeps for its envelope (`{"requests":[...],"next":...}`) besides its entries. */
const PAGE_ENVELOPE_BYTES = 1024;
/** Bytes an entry may grow after it is counted (outcome and durationMs are set when it ends). */
const ENTRY_GROWTH_BYTES = 40;
const MAX_PAGE_LIMIT = 100_000;
/** How long close() lets ended streams flush before destroying their sockets. */
const CLOSE_GRACE_MS = 250;

export interface FakeModelOptions {
  /** 0 (default) = a free port. Always bound to 127.0.0.1. */
  port?: number;
  /** A script, or a built-in: 'cascade' or 'default' (the default). */
  script?: FakeModelScript | ScriptName;
  /** Default 1. */
  seed?: number;
  /** Real-time factor: every scripted duration is divided by it. Default 1. */
  timeScale?: number;
  /** Request bodies over this many bytes get 413. Default 8 MiB. */
  bodyLimitBytes?: number;
  /** Most request log entries kept (oldest dropped first). Default 10,000. */
  logMaxEntries?: number;
  /** Most bytes (entries' JSON) the request log keeps (oldest dropped first); at least 4096. Default 64 MiB. */
  logMaxBytes?: number;
  /** Most bytes of one `GET /control/requests` reply; at least 4096. Default 4 MiB. */
  pageMaxBytes?: number;
}

/** One page of the request log, as `GET /control/requests` answers it. */
export interface RequestLogPage {
  requests: RequestLogEntry[];
  /** Pass as `after` for the next page; null when this page reaches the newest entry. */
  next: number | null;
  /** Index of the oldest entry kept, null when the log is empty. */
  first: number | null;
  /** Entries logged since the start or the last reset. */
  total: number;
  /** Entries dropped (over logMaxEntries or logMaxBytes) since the start or the last reset. */
  dropped: number;
}

export type RequestOutcome = 'pending' | 'completed' | 'http-error' | 'cut' | 'client-closed' | 'server-closed';

export interface RequestLogEntry {
  /** 0-based since start or the last reset. */
  index: number;
  /** ms since the server started (monotonic clock). */
  t: number;
  /** Wall-clock time, ISO 8601. */
  at: string;
  model: string;
  /** The rule's name, or `default`. */
  rule: string;
  /** Index in script.rules, -1 for the default. */
  ruleIndex: number;
  /** This request's 0-based index among the requests the rule answered. */
  matchIndex: number;
  stream: boolean;
  includeUsage: boolean;
  messageCount: number;
  /** Role of the last message. */
  lastRole: string;
  /** The last message's text, cut to 200 characters. */
  lastMessage: string;
  /** The last user message's text, cut to 200 characters. */
  lastUserMessage: string;
  /**
   * The full texts of the request's user turn (plan.ts `turnUserTexts`: the
   * user messages after the last assistant message before the last user
   * message), oldest first: what `marker` matched against. Identify a
   * request by these (or by `markers` / `rule`), not by the excerpt above.
   */
  userMessages: string[];
  /** The script's markers (any rule's) found in `userMessages`, in rule order. */
  markers: string[];
  /**
   * The tool result the request answers (plan.ts `lastToolText`: the turn's
   * last tool message when only user messages follow it), cut at 4000
   * characters; null when the request does not answer a tool result. A
   * gateway may append user messages after a tool result (OpenClaw does), so
   * read tool results here, not from `lastMessage`.
   */
  lastToolResult: string | null;
  /** `tool` messages in the user turn (after the last answering assistant message). */
  toolResults: number;
  toolsCount: number;
  /** chars / 4 of the messages. */
  promptTokens: number;
  /** Planned output tokens (0 for an HTTP error). */
  completionTokens: number;
  /** Names of the tool calls the response makes. */
  toolCalls: string[];
  outcome: RequestOutcome;
  /** ms from the request to its end (null while pending). */
  durationMs: number | null;
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>` (the control API lives here). */
  url: string;
  /** `http://127.0.0.1:<port>/v1` (what an OpenAI client takes as base URL). */
  baseUrl: string;
  port: number;
  /** Ends in-flight streams, clears every timer, resolves when the server is closed. Idempotent. */
  close(): Promise<void>;
  /** Replaces the script (validated: throws ScriptError) and resets the rule counters. */
  setScript(script: FakeModelScript | ScriptName | unknown): void;
  /** A copy of the request log (the entries still kept). */
  requests(): RequestLogEntry[];
  /** The request log's size and what it dropped. */
  logStats(): { entries: number; bytes: number; total: number; dropped: number };
  /** Clears the request log and the rule counters (and sets the seed if given). */
  reset(options?: { seed?: number }): void;
  /** Responses in progress and live timers (for leak checks). */
  stats(): { inFlight: number; timers: number };
  readonly seed: number;
  readonly timeScale: number;
}

class HttpFailure extends Error {
  constructor(readonly status: number, message: string, readonly code: string | null, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, code, param } });
}

function sendJson(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendFailure(res: http.ServerResponse, f: HttpFailure): void {
  const type = f.status >= 500 ? 'server_error' : 'invalid_request_error';
  sendJson(res, f.status, errorBody(f.message, type, f.code), f.headers);
}

/** Printable ASCII, at most 200 characters: as is; anything else percent-encoded (and cut). */
function headerValue(text: string): string {
  const cut = text.length > 200 ? text.slice(0, 200) : text;
  if (/^[\x20-\x7e]*$/.test(cut)) return cut;
  // A lone surrogate (a pair cut in two) would make encodeURIComponent throw.
  return encodeURIComponent(cut.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function positiveIntOption(name: string, value: number | undefined, dflt: number, min: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Cuts the entry's texts (in place) until its JSON is at most `maxBytes`;
 * returns its JSON size. Mostly `userMessages` (full texts) makes an entry
 * large, but the model name and the script's markers come from outside too,
 * so every string is cut to `keep` characters (ending `…[cut N chars]`),
 * `keep` halving per pass, then every list to `items` elements (the last one
 * `…[cut N more]`). At keep = items = 0 an entry is under 1 KiB, so the loop
 * ends within ~2 x 23 passes and `maxBytes` >= 3 KiB always holds.
 */
function capEntry(entry: RequestLogEntry, maxBytes: number): number {
  const size = (): number => Buffer.byteLength(JSON.stringify(entry));
  let bytes = size();
  if (bytes <= maxBytes) return bytes;
  const texts = { model: entry.model, rule: entry.rule, lastMessage: entry.lastMessage, lastUserMessage: entry.lastUserMessage, lastToolResult: entry.lastToolResult };
  const lists = { userMessages: entry.userMessages, markers: entry.markers, toolCalls: entry.toolCalls };
  const cut = (t: string, keep: number): string => (t.length > keep ? `${t.slice(0, keep)}…[cut ${t.length - keep} chars]` : t);
  const all = [...Object.values(texts).filter((t): t is string => t !== null), ...Object.values(lists).flat()];
  // reduce, not Math.max(...): a request may have hundreds of thousands of user messages.
  let keep = Math.min(all.reduce((m, t) => Math.max(m, t.length), 0), Math.ceil(maxBytes / (all.length + 1)));
  const apply = (items: number): void => {
    entry.model = cut(texts.model, keep);
    entry.rule = cut(texts.rule, keep);
    entry.lastMessage = cut(texts.lastMessage, keep);
    entry.lastUserMessage = cut(texts.lastUserMessage, keep);
    entry.lastToolResult = texts.lastToolResult === null ? null : cut(texts.lastToolResult, keep);
    const list = (l: string[]): string[] => {
      const kept = l.slice(0, items).map((t) => cut(t, keep));
      return l.length > items ? [...kept, `…[cut ${l.length - items} more]`] : kept;
    };
    entry.userMessages = list(lists.userMessages);
    entry.markers = list(lists.markers);
    entry.toolCalls = list(lists.toolCalls);
  };
  let items = Math.max(...Object.values(lists).map((l) => l.length));
  apply(items);
  bytes = size();
  while (bytes > maxBytes && keep > 0) {
    keep = Math.floor(keep / 2);
    apply(items);
    bytes = size();
  }
  while (bytes > maxBytes && items > 0) {
    items = Math.floor(items / 2);
    apply(items);
    bytes = size();
  }
  return bytes;
}

/** `after` and `limit` of `GET /control/requests`; a bad value is a 400 naming it. */
function pageQuery(url: string): { after: number | null; limit: number } {
  const q = url.indexOf('?');
  // URLSearchParams never throws: a malformed `%` stays literal.
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const read = (name: string, min: number, max: number): number | null => {
    const raw = params.get(name);
    if (raw === null) return null;
    const n = /^-?\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new HttpFailure(400, `query parameter '${name}' must be an integer from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`, `invalid_${name}`);
    }
    return n;
  };
  return { after: read('after', -1, Number.MAX_SAFE_INTEGER), limit: read('limit', 1, MAX_PAGE_LIMIT) ?? MAX_PAGE_LIMIT };
}

/**
 * The request log: entries with consecutive indexes, oldest first, bounded
 * in count and in bytes (each entry's JSON size when logged, plus room for
 * the fields set when it ends). Dropping the oldest is O(1): a head offset,
 * compacted when half the array is dead.
 */
class RequestLog {
  private items: { entry: RequestLogEntry; bytes: number }[] = [];
  private head = 0;
  private bytes = 0;
  private total = 0;
  private dropped = 0;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  push(entry: RequestLogEntry, bytes: number): void {
    this.items.push({ entry, bytes });
    this.bytes += bytes;
    this.total++;
    while (this.items.length - this.head > this.maxEntries || (this.bytes > this.maxBytes && this.items.length - this.head > 0)) {
      this.bytes -= this.items[this.head]!.bytes;
      this.items[this.head] = undefined as never;
      this.head++;
      this.dropped++;
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.total = 0;
    this.dropped = 0;
  }

  entries(): RequestLogEntry[] {
    return this.items.slice(this.head).map((i) => i.entry);
  }

  stats(): { entries: number; bytes: number; total: number; dropped: number } {
    return { entries: this.items.length - this.head, bytes: this.bytes, total: this.total, dropped: this.dropped };
  }

  /** The JSON of one page (see the module comment): at most `maxBytes`, at least one entry when there is one. */
  page(query: { after: number | null; limit: number }, maxBytes: number): string {
    const count = this.items.length - this.head;
    const first = count === 0 ? null : this.items[this.head]!.entry.index;
    let pos = this.head;
    if (first !== null && query.after !== null) pos = this.head + Math.max(0, Math.min(count, query.after + 1 - first));
    const parts: string[] = [];
    let size = 0;
    const budget = maxBytes - PAGE_ENVELOPE_BYTES;
    while (pos < this.items.length && parts.length < query.limit) {
      const json = JSON.stringify(this.items[pos]!.entry);
      const add = Buffer.byteLength(json) + 1;
      if (parts.length > 0 && size + add > budget) break;
      parts.push(json);
      size += add;
      pos++;
    }
    const next = pos < this.items.length && parts.length > 0 ? this.items[pos - 1]!.entry.index : null;
    return `{"requests":[${parts.join(',')}],"next":${next},"first":${first},"total":${this.total},"dropped":${this.dropped}}`;
  }
}

/**
 * Closes the connection mid-response: what was written is flushed first (a
 * plain destroy() could drop it, or reset the connection so the client's
 * kernel discards it), then the socket is ended, so the client sees a body
 * cut short (no terminating chunk).
 */
function dropConnection(res: http.ServerResponse): void {
  const socket = res.socket;
  if (socket === null) res.destroy();
  else socket.destroySoon();
}

/** Validates a chat completion request body; throws HttpFailure 400. */
function checkCompletionRequest(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpFailure(400, 'request body must be a JSON object', 'invalid_request');
  }
  const b = body as Record<string, unknown>;
  const messages = b['messages'];
  if (messages === undefined) throw new HttpFailure(400, "missing required parameter: 'messages'", 'missing_messages');
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new HttpFailure(400, "'messages' must be a non-empty array", 'invalid_messages');
  }
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
      throw new HttpFailure(400, `messages[${i}] must be an object with a string 'role'`, 'invalid_messages');
    }
  }
  if (b['model'] !== undefined && typeof b['model'] !== 'string') throw new HttpFailure(400, "'model' must be a string", 'invalid_model');
  if (b['stream'] !== undefined && typeof b['stream'] !== 'boolean') throw new HttpFailure(400, "'stream' must be a boolean", 'invalid_stream');
  return b;
}

/** One response in progress: its timers and how it ends. */
class Job {
  done = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  constructor(
    private readonly owner: { untrack(job: Job): void; timerCount: { n: number } },
    readonly res: http.ServerResponse,
    readonly entry: RequestLogEntry | null,
    readonly startedAt: number,
  ) {}

  setTimer(ms: number, callback: () => void): void {
    if (this.done) return;
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      this.owner.timerCount.n--;
      if (!this.done) callback();
    }, Math.max(0, ms));
    this.timers.add(handle);
    this.owner.timerCount.n++;
  }

  /** Marks the job over and clears its timers; the response itself is the caller's business. */
  end(outcome: RequestOutcome): void {
    if (this.done) return;
    this.done = true;
    for (const handle of this.timers) clearTimeout(handle);
    this.owner.timerCount.n -= this.timers.size;
    this.timers.clear();
    if (this.entry !== null) {
      this.entry.outcome = outcome;
      this.entry.durationMs = Math.round((performance.now() - this.startedAt) * 10) / 10;
    }
    this.owner.untrack(this);
  }
}

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModelServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  let seed = assertSeed(options.seed ?? 1);
  const timeScale = options.timeScale ?? 1;
  if (typeof timeScale !== 'number' || !Number.isFinite(timeScale) || timeScale <= 0) {
    throw new RangeError(`timeScale must be a finite number > 0, got ${String(timeScale)}`);
  }
  const bodyLimit = positiveIntOption('bodyLimitBytes', options.bodyLimitBytes, DEFAULT_BODY_LIMIT, 1);
  const logMaxEntries = positiveIntOption('logMaxEntries', options.logMaxEntries, DEFAULT_LOG_MAX_ENTRIES, 1);
  const logMaxBytes = positiveIntOption('logMaxBytes', options.logMaxBytes, DEFAULT_LOG_MAX_BYTES, 4096);
  const pageMaxBytes = positiveIntOption('pageMaxBytes', options.pageMaxBytes, DEFAULT_PAGE_MAX_BYTES, 4096);
  // An entry fits in a page (with its envelope) and in the log.
  const entryMaxBytes = Math.min(pageMaxBytes - PAGE_ENVELOPE_BYTES, logMaxBytes) - ENTRY_GROWTH_BYTES;
  let script = resolveScript(options.script ?? 'default');
  let models = scriptModels(script);
  let markers = scriptMarkers(script);
  const counts = new Map<number, number>();
  const log = new RequestLog(logMaxEntries, logMaxBytes);
  let nextIndex = 0;
  const epoch = performance.now();
  const createdAt = Math.floor(Date.now() / 1000);
  const jobs = new Set<Job>();
  const timerCount = { n: 0 };
  const owner = { untrack: (job: Job) => void jobs.delete(job), timerCount };
  let closing: Promise<void> | null = null;

  const setScript = (input: FakeModelScript | ScriptName | unknown): void => {
    const next = resolveScript(input);
    script = next;
    models = scriptModels(next);
    markers = scriptMarkers(next);
    counts.clear();
  };

  const reset = (opts: { seed?: number } = {}): void => {
    if (opts.seed !== undefined) seed = assertSeed(opts.seed);
    log.clear();
    nextIndex = 0;
    counts.clear();
  };

  // ----------------------------------------------------------- completions

  const complete = (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void => {
    const startedAt = performance.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new HttpFailure(400, `invalid JSON body: ${(err as Error).message}`, 'invalid_json');
    }
    const body = checkCompletionRequest(parsed);
    const features = requestFeatures(body);
    const choice = chooseRule(script, features, counts);
    const matchIndex = counts.get(choice.index) ?? 0;
    counts.set(choice.index, matchIndex + 1);
    const planned = planResponse(choice.plan, { seed, rule: choice.index, matchIndex, promptTokens: features.promptTokens, timeScale });
    const stream = body['stream'] === true;
    const streamOptions = body['stream_options'];
    const includeUsage = stream && streamOptions !== null && typeof streamOptions === 'object' && (streamOptions as { include_usage?: unknown }).include_usage === true;
    const entry = logEntry(features, choice.name, choice.index, matchIndex, stream, includeUsage, planned, startedAt);
    const job = new Job(owner, res, entry, startedAt);
    jobs.add(job);
    res.on('close', () => {
      // A client that goes away mid-response: its timers stop at once.
      if (!job.done) job.end(closing !== null ? 'server-closed' : 'client-closed');
    });
    req.socket.setNoDelay(true);
    const created = Math.floor(Date.now() / 1000);
    if (planned.httpError !== null) {
      const e = planned.httpError;
      job.setTimer(e.atMs, () => {
        const type = e.type ?? (e.status >= 500 ? 'server_error' : 'invalid_request_error');
        sendJson(res, e.status, errorBody(e.message, type, e.code ?? null));
        job.end('http-error');
      });
      return;
    }
    if (stream) playStream(job, planned, features.model, created, includeUsage, features.promptTokens, choice.plan.keepaliveMs);
    else playOnce(job, planned, features.model, created, features.promptTokens);
  };

  const logEntry = (
    f: RequestFeatures, rule: string, ruleIndex: number, matchIndex: number, stream: boolean, includeUsage: boolean,
    planned: PlannedResponse, startedAt: number,
  ): RequestLogEntry => {
    const entry: RequestLogEntry = {
      index: nextIndex++,
      t: Math.round((startedAt - epoch) * 10) / 10,
      at: new Date().toISOString(),
      model: f.model,
      rule,
      ruleIndex,
      matchIndex,
      stream,
      includeUsage,
      ...describeRequest(f, markers, planned),
      outcome: 'pending',
      durationMs: null,
    };
    log.push(entry, capEntry(entry, entryMaxBytes) + ENTRY_GROWTH_BYTES);
    return entry;
  };

  const playStream = (
    job: Job, planned: PlannedResponse, model: string, created: number, includeUsage: boolean, promptTokens: number, keepaliveMs: number | undefined,
  ): void => {
    const { res } = job;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // A rule name is the script's: any text. A header takes printable ASCII only (else writeHead throws).
      'x-lanesim-rule': headerValue(job.entry?.rule ?? ''),
    });
    res.flushHeaders();
    const base = { id: planned.id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'lanesim' };
    const frame = (delta: Record<string, unknown>, finish: string | null = null): string =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    const hasText = planned.text !== '';
    const keepalive = keepaliveMs === undefined ? 0 : keepaliveMs / timeScale;
    const events = planned.events;
    let next = 0;
    let lastWrite = 0;
    const elapsed = (): number => performance.now() - job.startedAt;

    const emit = (e: PlannedEvent): boolean => {
      switch (e.type) {
        case 'role':
          res.write(frame({ role: 'assistant', content: hasText ? '' : null }));
          return false;
        case 'content':
          res.write(frame({ content: e.text }));
          return false;
        case 'tool':
          res.write(frame({ tool_calls: [{ index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: '' } }] }));
          return false;
        case 'args':
          res.write(frame({ tool_calls: [{ index: e.index, function: { arguments: e.text } }] }));
          return false;
        case 'finish': {
          let out = frame({}, planned.finishReason);
          if (includeUsage) {
            const usage = { prompt_tokens: promptTokens, completion_tokens: planned.completionTokens, total_tokens: promptTokens + planned.completionTokens };
            out += `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`;
          }
          out += 'data: [DONE]\n\n';
          job.end('completed');
          res.end(out);
          return true;
        }
        case 'cut':
          job.end('cut');
          if (e.mode === 'close') dropConnection(res);
          else res.end(`data: ${JSON.stringify({ error: { message: e.message, type: 'server_error', code: 'stream_cut', param: null } })}\n\n`);
          return true;
      }
    };

    const pump = (): void => {
      const now = elapsed();
      while (next < events.length && events[next]!.atMs <= now) {
        const e = events[next++]!;
        lastWrite = now;
        if (emit(e)) return;
      }
      if (next >= events.length) return;
      if (keepalive > 0 && now - lastWrite >= keepalive) {
        res.write(': keepalive\n\n');
        lastWrite = now;
      }
      let wake = events[next]!.atMs;
      if (keepalive > 0) wake = Math.min(wake, lastWrite + keepalive);
      job.setTimer(wake - now, pump);
    };
    pump();
  };

  const playOnce = (job: Job, planned: PlannedResponse, model: string, created: number, promptTokens: number): void => {
    const last = planned.events[planned.events.length - 1]!;
    job.setTimer(last.atMs, () => {
      const { res } = job;
      if (last.type === 'cut') {
        job.end('cut');
        if (last.mode === 'close') dropConnection(res);
        else sendJson(res, 500, errorBody(last.message, 'server_error', 'stream_cut'));
        return;
      }
      const message: Record<string, unknown> = { role: 'assistant', content: planned.text === '' && planned.toolCalls.length > 0 ? null : planned.text };
      if (planned.toolCalls.length > 0) {
        message['tool_calls'] = planned.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
      }
      const body = JSON.stringify({
        id: planned.id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint: 'lanesim',
        choices: [{ index: 0, message, logprobs: null, finish_reason: planned.finishReason }],
        usage: { prompt_tokens: promptTokens, completion_tokens: planned.completionTokens, total_tokens: promptTokens + planned.completionTokens },
      });
      job.end('completed');
      sendJson(res, 200, body);
    });
  };

  // ----------------------------------------------------------- routing

  const readBody = (req: http.IncomingMessage, res: http.ServerResponse, then: (body: Buffer) => void): void => {
    const tooLarge = (): void => {
      // Answer now, keep draining what the client still sends (so it can read the answer), then close.
      sendJson(res, 413, errorBody(`request body is larger than ${bodyLimit} bytes`, 'invalid_request_error', 'body_too_large'), { connection: 'close' });
      req.resume();
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > bodyLimit) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > bodyLimit) {
        over = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over || closing !== null) {
        if (!over) sendFailure(res, new HttpFailure(503, 'server is shutting down', 'shutting_down'));
        return;
      }
      try {
        then(Buffer.concat(chunks, size));
      } catch (err) {
        if (err instanceof HttpFailure) sendFailure(res, err);
        else sendJson(res, 500, errorBody(`internal error: ${errorText(err)}`, 'server_error', 'internal'));
      }
    });
    req.on('error', () => {
      // The client went away while sending; nothing to answer.
    });
  };

  const route = (path: string): { allow: string; handle: (req: http.IncomingMessage, res: http.ServerResponse) => void } | null => {
    if (path === '/v1/chat/completions' || path === '/chat/completions') {
      return { allow: 'POST', handle: (req, res) => readBody(req, res, (raw) => complete(req, res, raw)) };
    }
    if (path === '/v1/models' || path === '/models') {
      return {
        allow: 'GET',
        handle: (_req, res) => sendJson(res, 200, JSON.stringify({ object: 'list', data: models.map((id) => modelObject(id)) })),
      };
    }
    const one = /^\/(?:v1\/)?models\/(.+)$/.exec(path);
    if (one !== null) {
      let id: string;
      try {
        id = decodeURIComponent(one[1]!);
      } catch {
        // `%` not followed by two hex digits, or an invalid UTF-8 sequence.
        return { allow: 'GET', handle: () => { throw new HttpFailure(400, `malformed percent-encoding in path ${JSON.stringify(path.slice(0, 200))}`, 'invalid_path'); } };
      }
      return {
        allow: 'GET',
        handle: (_req, res) => {
          if (models.includes(id)) sendJson(res, 200, JSON.stringify(modelObject(id)));
          else sendJson(res, 404, errorBody(`the model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model'));
        },
      };
    }
    if (path === '/control/requests') {
      return { allow: 'GET', handle: (req, res) => sendJson(res, 200, log.page(pageQuery(req.url ?? ''), pageMaxBytes)) };
    }
    if (path === '/control/script') {
      return {
        allow: 'GET, POST',
        handle: (req, res) => {
          if (req.method === 'GET') return sendJson(res, 200, JSON.stringify({ script, seed, timeScale, models }));
          readBody(req, res, (raw) => {
            let input: unknown;
            try {
              input = JSON5.parse(raw.toString('utf8'));
            } catch (err) {
              throw new HttpFailure(400, `script: not valid JSON/JSON5: ${String((err as Error).message).replace(/^JSON5: /, '')}`, 'invalid_json');
            }
            try {
              setScript(input);
            } catch (err) {
              if (err instanceof ScriptError) {
                return sendJson(res, 400, errorBody(err.message, 'invalid_request_error', 'invalid_script', err.path === '' ? null : err.path));
              }
              throw err;
            }
            sendJson(res, 200, JSON.stringify({ ok: true, rules: script.rules.length, models }));
          });
        },
      };
    }
    if (path === '/control/reset') {
      return {
        allow: 'POST',
        handle: (req, res) =>
          readBody(req, res, (raw) => {
            let nextSeed: number | undefined;
            const text = raw.toString('utf8').trim();
            if (text !== '') {
              let body: unknown;
              try {
                body = JSON.parse(text);
              } catch (err) {
                throw new HttpFailure(400, `invalid JSON body: ${(err as Error).message}`, 'invalid_json');
              }
              const s = (body as { seed?: unknown } | null)?.seed;
              if (s !== undefined) {
                if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 0xffff_ffff) {
                  throw new HttpFailure(400, `seed must be an integer from 0 to 4294967295, got ${JSON.stringify(s)}`, 'invalid_seed');
                }
                nextSeed = s;
              }
            }
            reset(nextSeed === undefined ? {} : { seed: nextSeed });
            sendJson(res, 200, JSON.stringify({ ok: true, seed }));
          }),
      };
    }
    return null;
  };

  const modelObject = (id: string): Record<string, unknown> => ({ id, object: 'model', created: createdAt, owned_by: 'lanesim' });

  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    const shown = JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
    const r = route(path);
    if (r === null) {
      req.resume();
      return sendJson(res, 404, errorBody(`unknown path ${req.method ?? ''} ${shown}`, 'invalid_request_error', 'not_found'));
    }
    if (!r.allow.split(', ').includes(req.method ?? '')) {
      req.resume();
      return sendJson(res, 405, errorBody(`method ${req.method ?? ''} not allowed on ${shown} (allowed: ${r.allow})`, 'invalid_request_error', 'method_not_allowed'), { allow: r.allow });
    }
    r.handle(req, res);
  };

  const server = http.createServer((req, res) => {
    // Whatever a request holds, it is answered and the server stays up.
    try {
      dispatch(req, res);
    } catch (err) {
      req.resume();
      if (err instanceof HttpFailure) sendFailure(res, err);
      else sendJson(res, 500, errorBody(`internal error: ${errorText(err)}`, 'server_error', 'internal'));
    }
  });
  // A request Node's HTTP parser refuses (bad request line, bad header, smuggling shapes):
  // an OpenAI-style error instead of Node's bare `400 Bad Request`, then the socket is closed.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, reason, code] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'headers_too_large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'request_timeout']
          : [400, 'Bad Request', 'malformed_request'];
    const body = errorBody(`malformed HTTP request: ${err.code ?? 'parse error'}`, 'invalid_request_error', code);
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${actualPort}`;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const flushed: Promise<void>[] = [];
      for (const job of [...jobs]) {
        const { res } = job;
        job.end('server-closed');
        if (res.writableEnded || res.destroyed) continue;
        flushed.push(new Promise<void>((resolve) => res.once('close', () => resolve())));
        // A stream just ends (no finish_reason, no [DONE]); a waiting non-streaming request gets 503.
        if (res.headersSent) res.end();
        else sendFailure(res, new HttpFailure(503, 'server is shutting down', 'shutting_down'));
      }
      server.closeIdleConnections();
      if (flushed.length > 0) {
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(flushed), new Promise<void>((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS)))]);
        clearTimeout(grace);
      }
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };

  return {
    url,
    baseUrl: `${url}/v1`,
    port: actualPort,
    close,
    setScript,
    requests: () => log.entries().map((e) => ({ ...e, toolCalls: [...e.toolCalls], userMessages: [...e.userMessages], markers: [...e.markers] })),
    logStats: () => log.stats(),
    reset,
    stats: () => ({ inFlight: jobs.size, timers: timerCount.n }),
    get seed() {
      return seed;
    },
    timeScale,
  };
}
