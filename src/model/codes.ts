/**
 * Error codes lanesim's reference implementation uses, in one place (as ws
 * keeps its close codes in constants.js). Conformance reports cite them.
 */
export const LaneErrorCode = {
  /** LANE-13: the scheduler (or lane) is draining; new work is refused. */
  DRAINING: 'LANE_DRAINING',
  /** LANE-11: removed from the queue by clearLane. */
  CLEARED: 'LANE_CLEARED',
  /** LANE-12: aborted (queued, or signalled while running). */
  ABORTED: 'LANE_ABORTED',
  /** LANE-6: lanes must be acquired session -> nested:<target> -> global. */
  BAD_LANE_ORDER: 'LANE_BAD_ORDER',
  /** A task id already queued or running. */
  DUPLICATE_TASK: 'LANE_DUPLICATE_TASK',
  /** Bad argument at the door (no lanes, not a function, ...). */
  INVALID: 'LANE_INVALID',
} as const;
export type LaneErrorCode = (typeof LaneErrorCode)[keyof typeof LaneErrorCode];

export const QueueErrorCode = {
  /** QUEUE-13: drop "new": the incoming message is refused. */
  FULL: 'QUEUE_FULL',
  /** QUEUE-14: drop "old": the oldest waiting message was dropped; its sender is told. */
  DROPPED: 'QUEUE_DROPPED',
  /** QUEUE-17: interrupt cleared the queue this message was waiting in. */
  INTERRUPTED: 'QUEUE_INTERRUPTED',
  /** QUEUE-19: graceful stop: queued messages are refused with this. */
  SHUTDOWN: 'GATEWAY_SHUTDOWN',
} as const;
export type QueueErrorCode = (typeof QueueErrorCode)[keyof typeof QueueErrorCode];

export class LaneError extends Error {
  readonly code: LaneErrorCode;
  readonly lane: string | null;
  constructor(code: LaneErrorCode, message: string, lane: string | null = null) {
    super(message);
    this.name = 'LaneError';
    this.code = code;
    this.lane = lane;
  }
}
