/**
 * The gateway WebSocket protocol (docs/SPEC.md WS-*): OpenClaw's protocol 4
 * frames, methods and codes, plus lanesim's `lane.status` and `heartbeat`
 * events. Constants live here, in one place, as ws keeps its own in
 * constants.js.
 */
import type { LaneStatusPayload } from './events.ts';

export const PROTOCOL_VERSION = 4;

export interface RequestFrame { type: 'req'; id: string; method: string; params?: unknown }
export interface ErrorShape { code: string; message: string; details?: unknown; retryable?: boolean; retryAfterMs?: number }
export interface ResponseFrame { type: 'res'; id: string; ok: boolean; payload?: unknown; error?: ErrorShape }
export interface EventFrame { type: 'event'; event: string; payload?: unknown; seq?: number }
export type Frame = RequestFrame | ResponseFrame | EventFrame;

export const Methods = {
  CONNECT: 'connect',
  CHAT_SEND: 'chat.send',
  CHAT_ABORT: 'chat.abort',
  CHAT_HISTORY: 'chat.history',
  SESSIONS_SUBSCRIBE: 'sessions.subscribe',
  DIAGNOSTICS_LANES: 'diagnostics.lanes',
  HEALTH: 'health',
} as const;

export const Events = {
  CONNECT_CHALLENGE: 'connect.challenge',
  CHAT: 'chat',
  AGENT: 'agent',
  TICK: 'tick',
  LANE_STATUS: 'lane.status',
  HEARTBEAT: 'heartbeat',
  SHUTDOWN: 'shutdown',
} as const;

/** Error codes in `res.error.code` (WS-*). */
export const ErrorCodes = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  PROTOCOL_MISMATCH: 'PROTOCOL_MISMATCH',
  UNAVAILABLE: 'UNAVAILABLE',
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  NOT_FOUND: 'NOT_FOUND',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  QUEUE_FULL: 'QUEUE_FULL',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
} as const;

/** `error.details.reason` for auth failures, as OpenClaw sends it. */
export const AUTH_TOKEN_MISMATCH = 'AUTH_TOKEN_MISMATCH';

/** WebSocket close codes (RFC 6455 plus the 4000 range). */
export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  TRY_AGAIN_LATER: 1013,
  /** Client side: no tick/heartbeat for 2 x tickIntervalMs. */
  TICK_TIMEOUT: 4000,
} as const;

export type ChatState = 'status' | 'delta' | 'final' | 'aborted' | 'error';

/** The chat states that end a run's stream: its sender's wait is over (WS-15, WS-17). */
const TERMINAL_CHAT_STATES: ReadonlySet<unknown> = new Set<ChatState>(['final', 'error', 'aborted']);

export function isTerminalChatState(state: unknown): boolean {
  return TERMINAL_CHAT_STATES.has(state);
}

export interface ChatMessage { role: 'assistant' | 'user'; content: { type: 'text'; text: string }[] }

/** Payload of the `chat` event. */
export interface ChatEventPayload {
  runId: string;
  sessionKey: string;
  seq: number;
  state: ChatState;
  deltaText?: string;
  message?: ChatMessage;
  errorMessage?: string;
  errorCode?: string;
  /** lanesim: for state `status`, what happened to the message (queued, merged, steered, ...). */
  status?: string;
  /** lanesim: the run that carries this message when it is not the message's own runId. */
  carriedBy?: string;
}

export type AgentStream = 'lifecycle' | 'assistant' | 'tool' | 'usage';

export interface AgentEventPayload {
  runId: string;
  sessionKey: string;
  seq: number;
  stream: AgentStream;
  data: Record<string, unknown>;
}

export type LaneStatusEventPayload = LaneStatusPayload;

export interface ChatSendParams { sessionKey: string; message: string; idempotencyKey: string; channel?: string; route?: string }
export interface ChatSendResult { runId: string; status: 'started' | 'queued' | 'steered' | 'in_flight' | 'rejected'; code?: string }
export interface ChatAbortParams { sessionKey: string; runId?: string }
export interface ChatHistoryParams { sessionKey: string; runId?: string; limit?: number }

export interface HelloOk {
  type: 'hello-ok';
  protocol: number;
  server: { name: string; version: string; connId: string };
  features: { methods: string[]; events: string[] };
  snapshot: Record<string, unknown>;
  policy: { maxPayload: number; maxBufferedBytes: number; tickIntervalMs: number; heartbeatIntervalMs: number };
}

/** Deltas are throttled to one per this many ms per run (OpenClaw: 150). */
export const DELTA_THROTTLE_MS = 150;
