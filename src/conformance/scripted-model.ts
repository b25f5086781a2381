/**
 * The fake model, in-process: a ModelClient that answers the agent loop's
 * completions from a FakeModelScript with the same rule matching
 * (`chooseRule`), the same plans (`planResponse`) and the same request log
 * (`RequestLogEntry`) as the fake model server (src/fake-model/server.ts).
 * So one script drives both the in-process target (here, under fake timers)
 * and a gateway under test that calls the real server over HTTP.
 *
 * Timing: a response's planned events are played on the GLOBAL timers
 * (`setTimeout` looked up at call time, so the fake clock the harness
 * installed is used), against the instant the request was made: a request at
 * virtual t=1000 whose plan says ttft 200 ms streams its first text at
 * t=1200. `t` and `durationMs` in the log are virtual ms since the client
 * was created. Scripted durations are divided by `timeScale` (1 under fake
 * timers), exactly as the server does.
 *
 * Outcomes as the server logs them: `completed` (finish), `http-error`
 * (the plan's HTTP error: the run fails with `model HTTP <status>`), `cut`
 * (a stream cut: `model stream error (stream_cut): <message>`, or
 * `model stream failed: terminated` for mode `close`), `client-closed` (the
 * run was aborted: its signal fired), `server-closed` (close()).
 */
import { chooseRule, describeRequest, planResponse, requestFeatures, scriptMarkers, type PlannedEvent, type PlannedResponse, type RequestFeatures } from '../fake-model/plan.ts';
import { resolveScript, type FakeModelScript, type ScriptName } from '../fake-model/script.ts';
import type { RequestLogEntry, RequestOutcome } from '../fake-model/server.ts';
import { assertSeed } from '../model/prng.ts';
import {
  ModelError,
  type ChatCompletionRequest, type ModelClient, type ModelCompletion, type ModelStreamHandlers,
} from '../reference-impl/http-model-runtime.ts';

export interface InProcessModelClientOptions {
  /** A script, or a built-in: 'cascade' or 'default' (the default). */
  script?: FakeModelScript | ScriptName;
  /** Default 1. */
  seed?: number;
  /** Every scripted duration is divided by it. Default 1. */
  timeScale?: number;
}

const LOG_LIMIT = 10_000;



interface Job {
  entry: RequestLogEntry;
  startedAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  done: boolean;
  fail(error: Error): void;
}

export class InProcessModelClient implements ModelClient {
  private script: FakeModelScript;
  private markers: string[];
  private seed: number;
  readonly timeScale: number;
  private readonly counts = new Map<number, number>();
  private log: RequestLogEntry[] = [];
  private nextIndex = 0;
  private readonly epoch: number;
  private readonly jobs = new Set<Job>();

  constructor(options: InProcessModelClientOptions = {}) {
    this.script = resolveScript(options.script ?? 'default');
    this.markers = scriptMarkers(this.script);
    this.seed = assertSeed(options.seed ?? 1);
    const timeScale = options.timeScale ?? 1;
    if (typeof timeScale !== 'number' || !Number.isFinite(timeScale) || timeScale <= 0) {
      throw new RangeError(`timeScale must be a finite number > 0, got ${String(timeScale)}`);
    }
    this.timeScale = timeScale;
    this.epoch = Date.now();
  }

  /** Replaces the script (validated: throws ScriptError) and resets the rule counters. */
  setScript(script: FakeModelScript | ScriptName | unknown): void {
    this.script = resolveScript(script);
    this.markers = scriptMarkers(this.script);
    this.counts.clear();
  }

  /** A copy of the request log. */
  requests(): RequestLogEntry[] {
    return this.log.map((e) => ({ ...e, toolCalls: [...e.toolCalls], userMessages: [...e.userMessages], markers: [...e.markers] }));
  }

  /** Clears the request log and the rule counters (and sets the seed if given). */
  reset(options: { seed?: number } = {}): void {
    if (options.seed !== undefined) this.seed = assertSeed(options.seed);
    this.log = [];
    this.nextIndex = 0;
    this.counts.clear();
  }

  /** Responses in progress and live timers (for leak checks). */
  stats(): { inFlight: number; timers: number } {
    let timers = 0;
    for (const job of this.jobs) if (job.timer !== null) timers++;
    return { inFlight: this.jobs.size, timers };
  }

  /** Ends every response in progress (`server-closed`) and clears its timer. */
  close(): void {
    for (const job of [...this.jobs]) job.fail(new ModelError('model client closed'));
  }

  complete(request: ChatCompletionRequest, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelCompletion> {
    const body = request as unknown as Record<string, unknown>;
    const messages = body['messages'];
    if (!Array.isArray(messages) || messages.length === 0) return Promise.reject(new ModelError("model request: 'messages' must be a non-empty array"));
    const features = requestFeatures(body);
    const choice = chooseRule(this.script, features, this.counts);
    const matchIndex = this.counts.get(choice.index) ?? 0;
    this.counts.set(choice.index, matchIndex + 1);
    const planned = planResponse(choice.plan, { seed: this.seed, rule: choice.index, matchIndex, promptTokens: features.promptTokens, timeScale: this.timeScale });
    const startedAt = Date.now();
    const entry = this.logEntry(features, choice.name, choice.index, matchIndex, planned, startedAt);

    return new Promise<ModelCompletion>((resolve, reject) => {
      const end = (outcome: RequestOutcome): void => {
        job.done = true;
        if (job.timer !== null) clearTimeout(job.timer);
        job.timer = null;
        entry.outcome = outcome;
        entry.durationMs = Date.now() - startedAt;
        this.jobs.delete(job);
        signal.removeEventListener('abort', onAbort);
      };
      const job: Job = {
        entry, startedAt, timer: null, done: false,
        fail: (error) => {
          if (job.done) return;
          end('server-closed');
          reject(error);
        },
      };
      const onAbort = (): void => {
        if (job.done) return;
        end('client-closed');
        reject(new ModelError('model request aborted'));
      };
      if (signal.aborted) {
        this.jobs.add(job);
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort);
      this.jobs.add(job);

      const schedule = (atMs: number, callback: () => void): void => {
        job.timer = setTimeout(() => {
          job.timer = null;
          if (!job.done) callback();
        }, Math.max(0, atMs - (Date.now() - startedAt)));
      };

      if (planned.httpError !== null) {
        const e = planned.httpError;
        schedule(e.atMs, () => {
          end('http-error');
          const type = e.type ?? (e.status >= 500 ? 'server_error' : 'invalid_request_error');
          reject(new ModelError(`model HTTP ${e.status} from the scripted model: ${JSON.stringify({ error: { message: e.message, type, code: e.code ?? null, param: null } })}`));
        });
        return;
      }

      const events = planned.events;
      let next = 0;
      /** Plays one event; true when the response ended. */
      const emit = (e: PlannedEvent): boolean => {
        switch (e.type) {
          case 'role':
            return false;
          case 'content':
            handlers.onText(e.text);
            return false;
          case 'tool':
            handlers.onToolCallDelta({ index: e.index, id: e.id, name: e.name, arguments: '' });
            return false;
          case 'args':
            handlers.onToolCallDelta({ index: e.index, arguments: e.text });
            return false;
          case 'finish':
            end('completed');
            handlers.onUsage?.({ promptTokens: features.promptTokens, completionTokens: planned.completionTokens });
            resolve({ finishReason: planned.finishReason });
            return true;
          case 'cut':
            end('cut');
            reject(new ModelError(e.mode === 'close' ? 'model stream failed: terminated' : `model stream error (stream_cut): ${e.message}`));
            return true;
        }
      };
      const pump = (): void => {
        const now = Date.now() - startedAt;
        while (next < events.length && events[next]!.atMs <= now) {
          if (emit(events[next++]!)) return;
          // A handler may have aborted the request (the run settled).
          if (job.done) return;
        }
        if (next < events.length) schedule(events[next]!.atMs, pump);
      };
      // Even a 0 ms ttft answers on a timer of its own, as a network reply would.
      schedule(events[0]?.atMs ?? 0, pump);
    });
  }

  private logEntry(f: RequestFeatures, rule: string, ruleIndex: number, matchIndex: number, planned: PlannedResponse, startedAt: number): RequestLogEntry {
    const entry: RequestLogEntry = {
      index: this.nextIndex++,
      t: startedAt - this.epoch,
      at: new Date(startedAt).toISOString(),
      model: f.model,
      rule,
      ruleIndex,
      matchIndex,
      stream: true,
      includeUsage: true,
      ...describeRequest(f, this.markers, planned),
      outcome: 'pending',
      durationMs: null,
    };
    this.log.push(entry);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    return entry;
  }
}
