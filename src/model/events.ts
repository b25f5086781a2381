/**
 * The trace: everything a gateway does that the spec constrains, as a flat,
 * typed event stream. Every event carries `t`, the (virtual) time in ms from
 * the Clock. Checkers in src/model/invariants read nothing else, so any
 * implementation that can emit these events can be checked.
 *
 * Field order in each literal is fixed by the emitting code, so
 * JSON.stringify of a trace is byte-identical for the same seed.
 */
import type { DropPolicy, QueueMode } from './config-types.ts';

// ---------------------------------------------------------------- lanes

/** A lane came into existence (or its concurrency changed). */
export interface LaneOpenEvent { type: 'lane.open'; t: number; lane: string; maxConcurrent: number }

/**
 * A task joined a lane's FIFO. queueAhead/activeAhead are as of this moment
 * (DIAG-2). `front`: a parked task resuming goes ahead of the queue (LANE-22).
 */
export interface EnqueueEvent {
  type: 'enqueue'; t: number; taskId: string; lane: string; queueAhead: number; activeAhead: number; front: boolean;
}
/** A task got a slot in `lane` (it may still wait for its next lane). */
export interface GrantEvent { type: 'grant'; t: number; taskId: string; lane: string; waitedMs: number }
/** A task holds every lane it asked for and starts running. */
export interface StartEvent { type: 'start'; t: number; taskId: string; lanes: readonly string[]; waitedMs: number }
/** A running task finished; all its lanes are released. */
export interface EndEvent { type: 'end'; t: number; taskId: string }
/** A running task failed; only its caller sees the error (LANE-9); all its lanes are released. */
export interface ErrorEvent { type: 'error'; t: number; taskId: string; message: string }
/** A task was aborted: while queued (removed) or while running (released). */
export interface AbortEvent {
  type: 'abort'; t: number; taskId: string; phase: 'queued' | 'running'; reason: string;
}
/** A task was refused at the door (draining lane, bad lane order, ...). */
export interface RejectEvent { type: 'reject'; t: number; taskId: string; lane: string; code: string; message: string }
/** clearLane: the queued tasks listed were removed; running ones go on (LANE-11). */
export interface ClearEvent { type: 'clear'; t: number; lane: string; taskIds: readonly string[] }
/** Lane reset: generation bumped; completions from older generations are ignored (LANE-14). */
export interface ResetEvent { type: 'reset'; t: number; lane: string; generation: number }
/** Draining began: new enqueues are rejected (LANE-13). */
export interface DrainEvent { type: 'drain'; t: number; lane: string }
/** A parked task released its lanes while it awaits a nested run (LANE-22). */
export interface ParkEvent { type: 'park'; t: number; taskId: string; lanes: readonly string[]; awaiting: string }
/** The `lane wait exceeded` diagnostic, with unambiguous fields (DIAG-1, DIAG-2). */
export interface LaneWaitEvent {
  type: 'lane.wait'; t: number; taskId: string; lane: string; waitedMs: number;
  queueAhead: number; activeAhead: number; activeNow: number; queueBehind: number;
}

// ------------------------------------------------------------- messages

/** A message entered a session (accepted; it must settle exactly once, INV-NOTHING-LOST). */
export interface MessageEvent {
  type: 'message'; t: number; msgId: string; runId: string; sessionKey: string; connId: string | null; mode: QueueMode;
}
export type MessageOutcome = 'ran' | 'merged' | 'steered' | 'summarized' | 'rejected' | 'aborted';
/** A message's one terminal outcome. runId names the run that carried it (ran/merged/steered/summarized). */
export interface SettleEvent {
  type: 'settle'; t: number; msgId: string; outcome: MessageOutcome; runId: string | null; code: string | null;
}
/** steer-backlog: injected now, still queued for a followup (not terminal). */
export interface SteerEvent { type: 'steer'; t: number; msgId: string; runId: string }
/** collect: these messages became one run. */
export interface MergeEvent { type: 'merge'; t: number; runId: string; msgIds: readonly string[] }
/** Cap overflow: a message left the queue under a drop policy (QUEUE-12..QUEUE-15). */
export interface DropEvent { type: 'drop'; t: number; msgId: string; sessionKey: string; policy: DropPolicy; gist: string }

// --------------------------------------------------------------- clients

export interface LaneStatusWaiting {
  runId: string;
  /** 1-based place in the session's queue now. */
  position: number;
  /** Entries that were ahead of it when it was enqueued (STATUS-2). */
  queueAhead: number;
  waitedMs: number;
  /** This entry's wait has crossed warnThresholdMs. */
  warning: boolean;
}
/** The payload of the `lane.status` WebSocket event (STATUS-1..STATUS-9). */
export interface LaneStatusPayload {
  lane: string;
  sessionKey: string;
  /** idle: nothing running or waiting (the overlay closes). */
  state: 'idle' | 'active' | 'waiting';
  reason: LaneStatusReason;
  active: { runId: string; agentId: string | null; elapsedMs: number; waitingFor: string | null } | null;
  waiting: readonly LaneStatusWaiting[];
  /** Size of the session queue now (waiting runs plus collect buffer). */
  queued: number;
  /** "2 of 3 messages processing": index = started in this busy period, total = started + waiting. */
  processing: { index: number; total: number };
  warning: boolean;
  warnThresholdMs: number;
  /** What the overlay's buttons act on: the active run. */
  actions: {
    cancel: { method: 'chat.abort'; params: { sessionKey: string; runId: string } } | null;
    viewPartial: { method: 'chat.history'; params: { sessionKey: string; runId: string } } | null;
  };
}
export type LaneStatusReason =
  | 'enqueue' | 'start' | 'end' | 'abort' | 'clear' | 'merge' | 'drop' | 'warn' | 'park' | 'subscribe';

export interface LaneStatusEvent { type: 'lane.status'; t: number; sessionKey: string; status: LaneStatusPayload }
/** HB-2, HB-4: a heartbeat event sent to one connection. */
export interface HeartbeatEvent { type: 'heartbeat'; t: number; connId: string; runId: string | null; elapsedMs: number }
export interface PingEvent { type: 'ping'; t: number; connId: string }
export interface PongEvent { type: 'pong'; t: number; connId: string }
/** HB-6: no pong for deadAfterMs. */
export interface PeerDeadEvent { type: 'peer.dead'; t: number; connId: string; silentMs: number }
/**
 * Any frame delivered to a client (what the client hears; INV-SILENCE reads
 * these). `state`: a chat event's state (`final`, `error`, `aborted` end the
 * client's wait for that runId), else null. `connId` `*` is a broadcast
 * delivered to every open connection at once (the server tick), so a
 * simulated hour with 10,000 clients does not carry a million tick events.
 */
export interface FrameEvent { type: 'frame'; t: number; connId: string; event: string; runId: string | null; state: string | null }
/** A client connected or went away (silence is only measured while connected). */
export interface ConnEvent { type: 'conn'; t: number; connId: string; state: 'open' | 'closed' }

// ----------------------------------------------------------------- tools

export interface ToolCallEvent { type: 'tool_call'; t: number; runId: string; callId: string; tool: string; valid: boolean }
/**
 * TOOL-1: the result of a tool call. `delivery` says whether the agent got it
 * (`returned`) or it was only written to a log (`logged`, today's behaviour).
 */
export interface ToolResultEvent {
  type: 'tool_result'; t: number; runId: string; callId: string; tool: string;
  isError: boolean; delivery: 'returned' | 'logged'; text: string;
}

export type TraceEvent =
  | LaneOpenEvent | EnqueueEvent | GrantEvent | StartEvent | EndEvent | ErrorEvent | AbortEvent
  | RejectEvent | ClearEvent | ResetEvent | DrainEvent | ParkEvent | LaneWaitEvent
  | MessageEvent | SettleEvent | SteerEvent | MergeEvent | DropEvent
  | LaneStatusEvent | HeartbeatEvent | PingEvent | PongEvent | PeerDeadEvent | FrameEvent | ConnEvent
  | ToolCallEvent | ToolResultEvent;

export type TraceEventType = TraceEvent['type'];

/** FrameEvent.connId of a frame delivered to every open connection. */
export const BROADCAST_CONN = '*';

/** Where implementations write their trace. Cheap to call; must not throw. */
export type TraceSink = (event: TraceEvent) => void;

export const discardTrace: TraceSink = () => {};
