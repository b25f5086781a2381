/**
 * What a gateway does, as switches: the reference gateway with lanesim's fix
 * turns every one on; `OPENCLAW_TODAY` models today's OpenClaw (from the
 * brief), which the simulator runs as the baseline. Conformance mutants are
 * made the same way, one switch at a time.
 */
export interface GatewayProfile {
  readonly name: string;
  /** STATUS-*: push lane.status to subscribers. */
  readonly laneStatus: boolean;
  /** HB-*: heartbeat events to waiting clients. */
  readonly heartbeat: boolean;
  /** TOOL-1: return tool errors to the agent (false: only log them). */
  readonly toolFailFast: boolean;
  /**
   * DEP-3: a message sent while the session is busy is answered at once with
   * an empty `final` for its runId and later runs under a new runId.
   */
  readonly silentFollowups: boolean;
  /** QUEUE-21: tell the sender when its message is rejected or aborted. */
  readonly notifyRejected: boolean;
}

export const REFERENCE_PROFILE: GatewayProfile = Object.freeze({
  name: 'lanesim-reference',
  laneStatus: true,
  heartbeat: true,
  toolFailFast: true,
  silentFollowups: false,
  notifyRejected: true,
});

export const OPENCLAW_TODAY_PROFILE: GatewayProfile = Object.freeze({
  name: 'openclaw-today',
  laneStatus: false,
  heartbeat: false,
  toolFailFast: false,
  silentFollowups: true,
  notifyRejected: false,
});
