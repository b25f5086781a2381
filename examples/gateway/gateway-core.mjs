// The example gateway's core: the protocol's methods and events without a transport, so the same
// code runs behind a WebSocket (server.mjs) and inside lanesim's in-process harness
// (lanesim-adapter.mjs). Plain ESM; nothing here imports lanesim.
//
// What it does (docs/SPEC.md): `chat.send` in `followup` mode only (a message to a busy session
// waits for its own run: LANE-5, QUEUE-2, QUEUE-4), each run taking `session:<key>` then `main`
// on the lane queue (cap `agents.defaults.maxConcurrent`); idempotency keys per session (WS-14);
// `chat` frames (deltas paced 150 ms apart, then one terminal `final`, `error` or `aborted` per
// run: WS-15/16);
// `chat.abort` (QUEUE-18); `sessions.subscribe`; per-connection event `seq` (WS-9); error
// responses for unknown methods and bad params (WS-7).
// What it leaves out, on purpose, to stay small: lane.status, heartbeats, ticks, other queue
// modes, caps on waiting messages, nested agents, history, diagnostics. Its `--config`
// description (gateway.json5) and its adapter declare those as unsupported where a declaration
// exists; the cases it cannot pass are simply not run against it (see test/examples).
//
// Agent runs are played by a `runtime` with one method, `start(io)`: lanesim's scripted model in
// process, the HTTP model client of server.mjs over the wire. `io` is the run's side of the
// gateway (see docs/ADAPTER.md): the runtime streams text with `io.delta`, ends with `io.finish`
// or `io.fail`, and learns of an abort through `io.onAbort`/`io.signal`. An aborted run's runtime
// still ends with `io.finish()`: the run's outcome was already decided (aborted) and the late
// finish must not turn it into a `final`.
import { LaneQueue } from './lane-queue.mjs';

export const PROTOCOL = 4;
export const METHODS = ['chat.send', 'chat.abort', 'sessions.subscribe', 'health'];
export const EVENTS = ['chat'];
/** Deltas of one run are at least this far apart (WS-16 asks for at least 75 ms; OpenClaw and lanesim use 150). */
export const DELTA_PACING_MS = 150;

class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function badParams(method, detail) {
  return new RequestError('INVALID_REQUEST', `invalid ${method} params: ${detail}`);
}

function nonEmpty(params, key) {
  return typeof params[key] === 'string' && params[key] !== '';
}

/**
 * @param {{ maxConcurrent: number, runtime: { start(io: object): void } }} options
 */
export function createGatewayCore({ maxConcurrent, runtime }) {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`maxConcurrent must be an integer >= 1, got ${maxConcurrent}`);
  const lanes = new LaneQueue();
  lanes.setConcurrency('main', maxConcurrent);
  /** connId -> { send, seq, sessions } */
  const connections = new Map();
  /** sessionKey -> { subscribers: Set<connId>, runs: Map<runId, run>, keys: Map<idempotencyKey, reply> } */
  const sessions = new Map();
  let nextRun = 0;

  function session(key) {
    let s = sessions.get(key);
    if (s === undefined) {
      s = { subscribers: new Set(), runs: new Map(), keys: new Map() };
      sessions.set(key, s);
    }
    return s;
  }

  function emit(sessionKey, event, payload) {
    for (const connId of session(sessionKey).subscribers) {
      const conn = connections.get(connId);
      if (conn !== undefined) conn.send(event, payload, ++conn.seq);
    }
  }

  function subscribe(connId, sessionKey) {
    session(sessionKey).subscribers.add(connId);
    connections.get(connId)?.sessions.add(sessionKey);
  }

  const message = (text) => ({ role: 'assistant', content: [{ type: 'text', text }] });

  /** Sends the text streamed since the last delta (WS-16: at most one delta per DELTA_PACING_MS). */
  function flushDelta(run) {
    run.deltaTimer = null;
    if (run.state !== 'running' || run.pending === '') return;
    const deltaText = run.pending;
    run.pending = '';
    run.lastDeltaAt = Date.now();
    emit(run.sessionKey, 'chat', { runId: run.runId, sessionKey: run.sessionKey, seq: ++run.chatSeq, state: 'delta', deltaText, message: message(run.text) });
  }

  /** Ends a run once: one terminal chat frame to every subscriber, then its lanes are free. */
  function settle(run, state, detail) {
    if (run.state !== 'queued' && run.state !== 'running') return;
    run.state = state;
    if (run.deltaTimer !== null) clearTimeout(run.deltaTimer);
    session(run.sessionKey).runs.delete(run.runId);
    // A message aborted before its run started is told outside any run's stream (seq 0); a run's terminal frame follows its deltas.
    const payload = { runId: run.runId, sessionKey: run.sessionKey, seq: state === 'aborted' && !run.started ? 0 : ++run.chatSeq, state };
    // Text still pending (not yet sent as a delta) is part of the terminal frame's message, never lost.
    if (state === 'final' || (state === 'aborted' && run.started)) payload.message = message(state === 'final' && detail !== undefined ? detail : run.text);
    if (state === 'error') payload.errorMessage = detail;
    if (state === 'aborted' && !run.started) Object.assign(payload, { errorCode: 'LANE_ABORTED', errorMessage: 'aborted while queued' });
    emit(run.sessionKey, 'chat', payload);
    run.done();
  }

  function startRun(run) {
    run.started = true;
    run.state = 'running';
    const abortListeners = [];
    run.abort = () => {
      if (run.controller.signal.aborted) return;
      run.controller.abort();
      settle(run, 'aborted');
      for (const listener of abortListeners.splice(0)) listener();
    };
    /** The run as the runtime sees it (docs/ADAPTER.md "RunIO"). */
    const io = {
      run: { runId: run.runId, sessionKey: run.sessionKey, agentId: null, kind: 'message', prompt: run.message, messages: [], parent: null },
      signal: run.controller.signal,
      get aborted() {
        return run.controller.signal.aborted;
      },
      onAbort(callback) {
        if (run.controller.signal.aborted) callback();
        else abortListeners.push(callback);
      },
      now: () => Date.now(),
      delta(text) {
        if (run.state !== 'running' || text === '') return;
        run.text += text;
        run.pending += text;
        if (run.deltaTimer !== null) return;
        const wait = run.lastDeltaAt + DELTA_PACING_MS - Date.now();
        if (wait <= 0) flushDelta(run);
        else run.deltaTimer = setTimeout(() => flushDelta(run), wait);
      },
      setStreaming() {},
      takeSteers: () => [],
      toolCall(call) {
        // No tools of its own: any call is delivered with its arguments parsed.
        let args = call.arguments;
        if (typeof args === 'string') {
          try {
            args = JSON.parse(args === '' ? '{}' : args);
          } catch {
            return { delivered: true, ok: false, result: { type: 'tool_result', tool_use_id: call.id, is_error: true, content: `Invalid JSON arguments for tool ${call.name}` } };
          }
        }
        return { delivered: true, ok: true, args: args !== null && typeof args === 'object' ? args : {} };
      },
      toolResult() {},
      callNested: (_request, done) => done('error', 'nested agents are not supported by this gateway'),
      spawn: (_request, done) => done('error', 'sub-agents are not supported by this gateway'),
      // After an abort the outcome is already `aborted` (settle ignores a second end).
      finish: (text) => settle(run, 'final', text),
      fail: (message) => settle(run, 'error', message),
    };
    try {
      runtime.start(io);
    } catch (error) {
      settle(run, 'error', error instanceof Error ? error.message : String(error));
    }
  }

  function chatSend(connId, params) {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw badParams('chat.send', 'params must be an object');
    for (const key of ['sessionKey', 'idempotencyKey']) if (!nonEmpty(params, key)) throw badParams('chat.send', `${key} must be a non-empty string`);
    if (typeof params.message !== 'string') throw badParams('chat.send', 'message must be a string');
    const s = session(params.sessionKey);
    subscribe(connId, params.sessionKey);
    const seen = s.keys.get(params.idempotencyKey);
    if (seen !== undefined) return { runId: seen.runId, status: 'in_flight' };
    const run = {
      runId: `example-run-${++nextRun}`,
      sessionKey: params.sessionKey,
      message: params.message,
      text: '',
      pending: '',
      chatSeq: 0,
      lastDeltaAt: -Infinity,
      deltaTimer: null,
      state: 'queued',
      started: false,
      controller: new AbortController(),
      abort: null,
      done: () => {},
    };
    s.keys.set(params.idempotencyKey, { runId: run.runId });
    s.runs.set(run.runId, run);
    // Queued: abort removes it at once (QUEUE-18); the lane queue drops it when its turn comes.
    run.abort = () => settle(run, 'aborted');
    const body = () =>
      new Promise((resolve) => {
        run.done = resolve;
        if (run.state !== 'queued') return resolve();
        startRun(run);
      });
    // The session lock first, then main (LANE-5). The queue grants synchronously when a slot is
    // free, so `run.started` tells at once whether the message started or waits.
    lanes.enqueue(`session:${run.sessionKey}`, () => lanes.enqueue('main', body)).catch(() => {});
    return { runId: run.runId, status: run.started ? 'started' : 'queued' };
  }

  function chatAbort(params) {
    if (params === null || typeof params !== 'object' || !nonEmpty(params, 'sessionKey')) throw badParams('chat.abort', 'sessionKey must be a non-empty string');
    if (params.runId !== undefined && !nonEmpty(params, 'runId')) throw badParams('chat.abort', 'runId must be a non-empty string');
    const runs = [...session(params.sessionKey).runs.values()].filter((r) => params.runId === undefined ? r.started : r.runId === params.runId);
    for (const run of runs) run.abort();
    return { aborted: runs.map((r) => r.runId) };
  }

  return {
    open(connId, send) {
      connections.set(connId, { send, seq: 0, sessions: new Set() });
    },
    request(connId, method, params) {
      if (!connections.has(connId)) throw new RequestError('INVALID_REQUEST', 'not connected');
      switch (method) {
        case 'chat.send':
          return chatSend(connId, params);
        case 'chat.abort':
          return chatAbort(params);
        case 'sessions.subscribe':
          if (params === null || typeof params !== 'object' || !nonEmpty(params, 'sessionKey')) throw badParams('sessions.subscribe', 'sessionKey must be a non-empty string');
          subscribe(connId, params.sessionKey);
          return { sessionKey: params.sessionKey };
        case 'health':
          return { ok: true };
        default:
          throw new RequestError('UNKNOWN_METHOD', `unknown method: ${method}`);
      }
    },
    close(connId) {
      const conn = connections.get(connId);
      if (conn === undefined) return;
      connections.delete(connId);
      for (const key of conn.sessions) session(key).subscribers.delete(connId);
    },
  };
}
