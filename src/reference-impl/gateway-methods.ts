/**
 * The reference gateway's request methods (WS-13..WS-21), mapped onto the
 * Gateway core. One table for every transport: the WebSocket server and the
 * in-process conformance adapter both call it after checking params
 * (src/reference-impl/ws-params.ts).
 */
import { ErrorCodes, Methods } from '../model/protocol.ts';
import { GatewayRequestError, type Gateway } from './gateway.ts';

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
