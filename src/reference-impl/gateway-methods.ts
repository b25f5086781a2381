/**
 * The reference gateway's request methods (WS-13..WS-21), mapped onto the
 * Gateway core. One table for every transport: the WebSocket server and the
 * in-process conformance adapter both call it after checking params
 * (src/reference-impl/ws-params.ts).
 */
import { ErrorCodes, Methods } from '../model/protocol.ts';
import { GatewayRequestError, type Gateway } from './gateway.ts';

/** The operator scopes (docs/SPEC.md AUTH-3): admin includes write, write includes read. */
export const Scopes = {
  READ: 'operator.read',
  WRITE: 'operator.write',
  ADMIN: 'operator.admin',
} as const;

/** AUTH-3: the scope each method needs; absent: none (health). */
const METHOD_SCOPES: Readonly<Record<string, string>> = {
  [Methods.SESSIONS_SUBSCRIBE]: Scopes.READ,
  [Methods.CHAT_HISTORY]: Scopes.READ,
  [Methods.CHAT_SEND]: Scopes.WRITE,
  [Methods.CHAT_ABORT]: Scopes.WRITE,
  [Methods.DIAGNOSTICS_LANES]: Scopes.ADMIN,
};

export function requiredScope(method: string): string | null {
  return Object.hasOwn(METHOD_SCOPES, method) ? METHOD_SCOPES[method]! : null;
}

/** The scopes a connection holds, implied ones included (AUTH-3). Unknown scope names are ignored. */
export function grantedScopes(claimed: readonly string[]): ReadonlySet<string> {
  const granted = new Set<string>();
  if (claimed.includes(Scopes.ADMIN)) granted.add(Scopes.ADMIN).add(Scopes.WRITE).add(Scopes.READ);
  if (claimed.includes(Scopes.WRITE)) granted.add(Scopes.WRITE).add(Scopes.READ);
  if (claimed.includes(Scopes.READ)) granted.add(Scopes.READ);
  return granted;
}

/** null when `granted` allows `method`, else the error to answer (AUTH-3). */
export function checkScope(method: string, granted: ReadonlySet<string>): GatewayRequestError | null {
  const scope = requiredScope(method);
  if (scope === null || granted.has(scope)) return null;
  return new GatewayRequestError(ErrorCodes.INVALID_REQUEST, `missing scope: ${scope}`, { code: 'MISSING_SCOPE', scope });
}

export function dispatchGatewayMethod(g: Gateway, connId: string, method: string, params: Record<string, unknown>): unknown {
  switch (method) {
    case Methods.CHAT_SEND:
      return g.chatSend(connId, {
        sessionKey: params['sessionKey'] as string,
        message: params['message'] as string,
        idempotencyKey: params['idempotencyKey'] as string,
        ...(typeof params['channel'] === 'string' ? { channel: params['channel'] } : {}),
        ...(typeof params['route'] === 'string' ? { route: params['route'] } : {}),
      });
    case Methods.CHAT_ABORT:
      return g.chatAbort(connId, {
        sessionKey: params['sessionKey'] as string,
        ...(typeof params['runId'] === 'string' ? { runId: params['runId'] } : {}),
      });
    case Methods.CHAT_HISTORY:
      return g.chatHistory(connId, {
        sessionKey: params['sessionKey'] as string,
        ...(typeof params['runId'] === 'string' ? { runId: params['runId'] } : {}),
        ...(typeof params['limit'] === 'number' ? { limit: params['limit'] } : {}),
        ...(typeof params['before'] === 'number' ? { before: params['before'] } : {}),
      });
    case Methods.SESSIONS_SUBSCRIBE:
      return { sessionKey: params['sessionKey'], status: g.subscribe(connId, params['sessionKey'] as string) };
    case Methods.DIAGNOSTICS_LANES:
      return { lanes: g.diagnosticsLanes() };
    case Methods.HEALTH:
      return { ok: true, ts: Date.now() };
    default:
      throw new GatewayRequestError(ErrorCodes.UNKNOWN_METHOD, `unknown method: ${method}`);
  }
}
