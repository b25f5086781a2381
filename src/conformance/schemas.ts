/**
 * The shape of every payload the conformance suite reads, as JSON Schemas
 * validated with the project's ajv: one schema per event and per response,
 * each tied to the docs/SPEC.md rule that defines the payload (the rule a
 * malformed payload fails).
 *
 * A case reads a payload only after it passed its schema (gateway-support's
 * validStatus / statuses / chats / heartbeats / expectPayload ...): a missing
 * or wrong field is the gateway's failure of the defining rule, named by its
 * path and value (`lane.status payload /waiting is required; got {...}`),
 * never a harness error such as "Cannot read properties of undefined".
 *
 * Where OpenClaw 2026.9.6 speaks another form that the spec accepts (DEP-9),
 * the schema accepts it too (chat.history's inFlightRun, a repeated key
 * answered `ok`). Payloads the spec defines as "exactly these fields"
 * (STATUS-2, HB-4) refuse any other field; the others allow extra fields (a
 * gateway MAY send more).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const nonEmpty: Schema = { type: 'string', minLength: 1 };
const count: Schema = { type: 'integer', minimum: 0 };
const ms: Schema = { type: 'number', minimum: 0 };
const nullable = (schema: Schema): Schema => ({ anyOf: [{ type: 'null' }, schema] });
const exact = (properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties)): Schema => ({
  type: 'object', required: [...required], properties, additionalProperties: false,
});
const open = (properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties)): Schema => ({
  type: 'object', required: [...required], properties,
});

const action = (method: string): Schema => nullable(exact({ method: { const: method }, params: exact({ sessionKey: nonEmpty, runId: nonEmpty }) }));

/** STATUS-2: LaneStatusPayload, exactly these fields. */
const laneStatus: Schema = exact({
  lane: nonEmpty,
  sessionKey: nonEmpty,
  state: { enum: ['idle', 'active', 'waiting'] },
  reason: { enum: ['enqueue', 'start', 'end', 'abort', 'clear', 'merge', 'drop', 'warn', 'park', 'subscribe'] },
  active: nullable(exact({ runId: nonEmpty, agentId: nullable(str), elapsedMs: ms, waitingFor: nullable(str) })),
  waiting: { type: 'array', items: exact({ runId: nonEmpty, position: { type: 'integer', minimum: 1 }, queueAhead: count, waitedMs: ms, warning: { type: 'boolean' } }) },
  queued: count,
  processing: exact({ index: count, total: count }),
  warning: { type: 'boolean' },
  warnThresholdMs: ms,
  actions: exact({ cancel: action('chat.abort'), viewPartial: action('chat.history') }),
});

/** HB-4: the heartbeat payload, exactly these fields. */
const heartbeat: Schema = exact({ runId: nonEmpty, elapsedMs: ms, queued: { type: 'boolean' }, sessionKey: nullable(nonEmpty) });

const message: Schema = open({ role: str, content: { type: 'array', items: open({ text: str }, ['text']) } }, ['content']);

/** WS-15: the chat event's fields and their types (a frame failing this is skipped: it cannot be attributed). */
const chat: Schema = open({
  runId: nonEmpty, sessionKey: nonEmpty, seq: count,
  state: { enum: ['status', 'delta', 'final', 'aborted', 'error'] },
  deltaText: str, message, errorCode: str, errorMessage: str, status: str, carriedBy: nonEmpty,
}, ['runId', 'sessionKey', 'seq', 'state']);

/**
 * WS-15 / WS-17: what each state carries. Checked beside `chat`, but a frame
 * failing only this is still read (its runId and state still end a wait).
 */
const chatState: Schema = {
  allOf: [
    { if: { properties: { state: { const: 'delta' } } }, then: { anyOf: [{ required: ['deltaText'] }, { required: ['message'] }] } },
    { if: { properties: { state: { const: 'final' } } }, then: { required: ['message'] } },
    { if: { properties: { state: { const: 'error' } } }, then: { required: ['errorMessage'] } },
    { if: { properties: { state: { const: 'status' } } }, then: { required: ['status'] } },
  ],
};

/**
 * WS-20: the agent event; a lifecycle event names its phase (start, end, error, aborted, or one of the gateway's own between
 * start and the end, e.g. OpenClaw's model and finishing: their order is judged per run by the agent-event cases).
 */
const agent: Schema = {
  ...open({ runId: nonEmpty, sessionKey: nonEmpty, seq: { type: 'integer', minimum: 1 }, stream: nonEmpty, data: { type: 'object' } }, ['runId', 'sessionKey', 'seq', 'stream', 'data']),
  allOf: [
    { if: { properties: { stream: { const: 'lifecycle' } } }, then: { properties: { data: open({ phase: nonEmpty }, ['phase']) } } },
  ],
};

/** WS-5: hello-ok (policy.heartbeatIntervalMs is HB-4's, checked by its own case). */
const positiveInt: Schema = { type: 'integer', minimum: 1 };
const helloOk: Schema = open({
  type: { const: 'hello-ok' },
  protocol: { const: 4 },
  server: open({ name: str, version: str, connId: nonEmpty }, ['version', 'connId']),
  features: open({ methods: { type: 'array', items: str }, events: { type: 'array', items: str } }),
  snapshot: { type: 'object' },
  policy: open({ maxPayload: positiveInt, maxBufferedBytes: positiveInt, tickIntervalMs: positiveInt, heartbeatIntervalMs: { type: 'number', exclusiveMinimum: 0 } },
    ['maxPayload', 'maxBufferedBytes', 'tickIntervalMs']),
});

/** WS-3: the connect.challenge payload. */
const challenge: Schema = open({ nonce: nonEmpty, ts: { type: 'number' } });

/** WS-2: a response frame: payload iff ok, error {code, message, details?, retryable?, retryAfterMs?} iff not. */
const errorShape: Schema = open({ code: nonEmpty, message: str, retryable: { type: 'boolean' }, retryAfterMs: ms }, ['code', 'message']);
const response: Schema = {
  ...open({ type: { const: 'res' }, id: str, ok: { type: 'boolean' }, error: errorShape }, ['type', 'id', 'ok']),
  if: { properties: { ok: { const: true } } },
  then: { not: { required: ['error'] } },
  else: { required: ['error'], not: { required: ['payload'] } },
};

/** WS-13 (and WS-14's repeats): the chat.send answer; a rejected message carries its code. */
const chatSend: Schema = {
  ...open({ runId: nonEmpty, status: { enum: ['started', 'queued', 'steered', 'rejected', 'in_flight', 'ok'] }, code: nonEmpty }, ['runId', 'status']),
  if: { properties: { status: { const: 'rejected' } } },
  then: { required: ['code'] },
};

/**
 * WS-18: the chat.abort answer: `{aborted: [<runId>...]}`, or OpenClaw's form `{aborted: true|false, runIds: [<runId>...]}`
 * (DEP-9) with `aborted` true exactly when `runIds` lists a run. `abortedRunIds` reads either.
 */
const chatAbort: Schema = {
  anyOf: [
    open({ aborted: { type: 'array', items: nonEmpty } }, ['aborted']),
    {
      ...open({ aborted: { type: 'boolean' }, runIds: { type: 'array', items: nonEmpty } }, ['aborted', 'runIds']),
      if: { properties: { aborted: { const: true } } },
      then: { properties: { runIds: { minItems: 1 } } },
      else: { properties: { runIds: { maxItems: 0 } } },
    },
  ],
};

/** The run ids a chat.abort answer that passed the WS-18 schema lists, in either form. */
export function abortedRunIds(answer: unknown): string[] {
  const a = answer as { aborted: string[] | boolean; runIds?: string[] };
  return Array.isArray(a.aborted) ? a.aborted : (a.runIds ?? []);
}

/** WS-19: chat.history, the reference's form (partial) or OpenClaw's (inFlightRun, left out when nothing runs), DEP-9. */
const chatHistory: Schema = open({
  sessionKey: nonEmpty,
  messages: { type: 'array', items: { type: 'object' } },
  partial: nullable(open({ runId: nonEmpty, text: str, elapsedMs: ms }, ['runId', 'text'])),
  inFlightRun: open({ runId: nonEmpty, text: str }, ['runId', 'text']),
}, ['messages']);

/** DIAG-3 (WS-21): diagnostics.lanes. */
const diagnosticsLanes: Schema = open({
  lanes: {
    type: 'array',
    items: open({ lane: nonEmpty, queuedCount: count, activeCount: count, maxConcurrent: positiveInt, draining: { type: 'boolean' }, blockedBy: { type: 'array', items: nonEmpty } }),
  },
});

/** WS-21: health. */
const health: Schema = open({ ok: { const: true }, ts: { type: 'number' } });

/** WS-11: the sessions.subscribe answer (its status is a STATUS-2 payload, checked on its own). */
const subscribe: Schema = open({ sessionKey: nonEmpty, status: { type: 'object' } });

/** WS-23: the shutdown event. */
const shutdown: Schema = open({ reason: str, abortRunning: { type: 'boolean' }, restartExpectedMs: ms }, ['reason', 'abortRunning']);

/** WS-12: the tick event. */
const tick: Schema = open({ ts: { type: 'number' } });

export interface PayloadSchema {
  /** What the payload is, as failure texts name it (`lane.status payload`). */
  readonly what: string;
  /** The SPEC rule that defines the payload: a malformed one fails it. */
  readonly rule: string;
  readonly schema: Schema;
}

export const PAYLOADS = {
  laneStatus: { what: 'lane.status payload', rule: 'STATUS-2', schema: laneStatus },
  heartbeat: { what: 'heartbeat payload', rule: 'HB-4', schema: heartbeat },
  chat: { what: 'chat event payload', rule: 'WS-15', schema: chat },
  chatState: { what: 'chat event payload', rule: 'WS-15', schema: chatState },
  agent: { what: 'agent event payload', rule: 'WS-20', schema: agent },
  helloOk: { what: 'hello-ok payload', rule: 'WS-5', schema: helloOk },
  challenge: { what: 'connect.challenge payload', rule: 'WS-3', schema: challenge },
  response: { what: 'response frame', rule: 'WS-2', schema: response },
  chatSend: { what: 'chat.send answer', rule: 'WS-13', schema: chatSend },
  chatAbort: { what: 'chat.abort answer', rule: 'WS-18', schema: chatAbort },
  chatHistory: { what: 'chat.history answer', rule: 'WS-19', schema: chatHistory },
  diagnosticsLanes: { what: 'diagnostics.lanes answer', rule: 'DIAG-3', schema: diagnosticsLanes },
  health: { what: 'health answer', rule: 'WS-21', schema: health },
  subscribe: { what: 'sessions.subscribe answer', rule: 'WS-11', schema: subscribe },
  shutdown: { what: 'shutdown payload', rule: 'WS-23', schema: shutdown },
  tick: { what: 'tick payload', rule: 'WS-12', schema: tick },
} as const satisfies Record<string, PayloadSchema>;

export type PayloadKind = keyof typeof PAYLOADS;

const ajv = new Ajv({ allErrors: true, strict: false, ownProperties: true });
const validators = new Map<PayloadKind, ValidateFunction>();

function validatorOf(kind: PayloadKind): ValidateFunction {
  let v = validators.get(kind);
  if (v === undefined) {
    v = ajv.compile(PAYLOADS[kind].schema);
    validators.set(kind, v);
  }
  return v;
}

/** JSON, cut to `max` characters (for failure texts). */
export function shown(value: unknown, max = 200): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function at(value: unknown, pointer: string): unknown {
  let v = value;
  for (const part of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** One ajv error as a phrase about the payload: `/waiting is required`, `/queued must be integer (got "1")`. */
function phrase(error: ErrorObject, value: unknown): string | null {
  const path = error.instancePath === '' ? '' : error.instancePath;
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': return `${path}/${String(p.missingProperty)} is required`;
    case 'additionalProperties': return `${path}/${String(p.additionalProperty)} is not one of its fields`;
    case 'const': return `${path || '(root)'} must be ${JSON.stringify(p.allowedValue)} (got ${shown(at(value, path), 60)})`;
    case 'enum': return `${path || '(root)'} must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')} (got ${shown(at(value, path), 60)})`;
    case 'if': case 'anyOf': case 'allOf': return null; // the branch errors say what is wrong
    case 'not': return `${path || '(root)'} must not have that field`;
    default: return `${path || '(root)'} ${error.message ?? 'is invalid'} (got ${shown(at(value, path), 60)})`;
  }
}

/**
 * Validates `value` as a `kind` payload: null when it conforms, else one line
 * naming every broken field (at most 4) and the value
 * (`lane.status payload /waiting is required; got {...}`).
 */
export function payloadProblem(kind: PayloadKind, value: unknown): string | null {
  const validate = validatorOf(kind);
  if (validate(value)) return null;
  const errors = validate.errors ?? [];
  // A nullable field that is neither reports "must be null" beside what is wrong with it as an object: keep the latter.
  const useful = errors.filter((e) => !(e.keyword === 'type' && (e.params as { type?: unknown }).type === 'null' && errors.some((o) => o !== e && o.keyword !== 'anyOf')));
  const phrases = [...new Set(useful.map((e) => phrase(e, value)).filter((x): x is string => x !== null))];
  const list = phrases.length === 0 ? ['does not match its schema'] : phrases;
  const head = list.slice(0, 4).join(', ') + (list.length > 4 ? `, and ${list.length - 4} more` : '');
  return `${PAYLOADS[kind].what} ${head}; got ${shown(value)}`;
}
