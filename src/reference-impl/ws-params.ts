/**
 * Parameter checks for the WebSocket methods (WS-4, WS-7), as JSON Schemas
 * compiled once by AJV. Unknown extra params are ignored (OpenClaw clients
 * send more than lanesim reads); types and required fields are strict.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Methods } from '../model/protocol.ts';

const nonEmpty = { type: 'string', minLength: 1, maxLength: 4096 } as const;

const SCHEMAS: Record<string, object> = {
  [Methods.CONNECT]: {
    type: 'object',
    required: ['minProtocol', 'maxProtocol', 'client', 'role', 'scopes'],
    properties: {
      minProtocol: { type: 'integer', minimum: 0 },
      maxProtocol: { type: 'integer', minimum: 0 },
      client: {
        type: 'object',
        required: ['id', 'version', 'platform', 'mode'],
        properties: { id: nonEmpty, version: nonEmpty, platform: nonEmpty, mode: nonEmpty },
      },
      role: { const: 'operator' },
      scopes: { type: 'array', items: { type: 'string' }, maxItems: 64 },
      auth: { type: 'object', properties: { token: { type: 'string', maxLength: 4096 } } },
    },
  },
  [Methods.CHAT_SEND]: {
    type: 'object',
    required: ['sessionKey', 'message', 'idempotencyKey'],
    properties: {
      sessionKey: nonEmpty,
      message: { type: 'string', maxLength: 1_048_576 },
      idempotencyKey: nonEmpty,
      channel: nonEmpty,
      route: nonEmpty,
    },
  },
  [Methods.CHAT_ABORT]: {
    type: 'object',
    required: ['sessionKey'],
    properties: { sessionKey: nonEmpty, runId: nonEmpty },
  },
  [Methods.CHAT_HISTORY]: {
    type: 'object',
    required: ['sessionKey'],
    // `before`: the page cursor a previous reply gave as nextBefore (BOUND-4).
    properties: { sessionKey: nonEmpty, runId: nonEmpty, limit: { type: 'integer', minimum: 1, maximum: 1000 }, before: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
  },
  [Methods.SESSIONS_SUBSCRIBE]: {
    type: 'object',
    required: ['sessionKey'],
    properties: { sessionKey: nonEmpty },
  },
  [Methods.DIAGNOSTICS_LANES]: { type: 'object' },
  [Methods.HEALTH]: { type: 'object' },
};

const ajv = new Ajv({ allErrors: false, strict: false, ownProperties: true });
const validators = new Map<string, ValidateFunction>();
for (const [method, schema] of Object.entries(SCHEMAS)) validators.set(method, ajv.compile(schema));

export const KNOWN_METHODS: readonly string[] = Object.keys(SCHEMAS).filter((m) => m !== Methods.CONNECT);

/** null when valid, else a one-line reason such as `sessionKey must be string`. */
export function checkParams(method: string, params: unknown): string | null {
  const validate = validators.get(method);
  if (validate === undefined) return `unknown method ${method}`;
  // Absent params count as {} for methods that take none.
  const value = params === undefined ? {} : params;
  if (validate(value)) return null;
  return describe(validate.errors?.[0]);
}

function describe(error: ErrorObject | undefined): string {
  if (error === undefined) return 'invalid';
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty?: string }).missingProperty ?? '?';
    return `${path === '' ? '' : `${path}.`}${missing} is required`;
  }
  if (error.keyword === 'const') return `${path} must be ${JSON.stringify((error.params as { allowedValue?: unknown }).allowedValue)}`;
  return `${path === '' ? 'params' : path} ${error.message ?? 'is invalid'}`;
}
