/**
 * How a failure of a peer run is classified in docs/PEERS.md
 * (scripts/gen-peers.ts): reviewed, in code, against docs/SPEC.md §9 (DEP)
 * and the seeds.
 */
export type FailureKind = 'gap' | 'departure' | 'defect' | 'wording' | 'harness';

export interface FailureClass {
  kind: FailureKind;
  /** The §9 DEP the failure is the subject of, when there is one. */
  dep: string | null;
  /** One line: why it is this kind. */
  why: string;
  /** Which failed checks: the rule, optionally the case id (prefix) and words of the observation. */
  rule: RegExp;
  caseId?: RegExp;
  observed?: RegExp;
}

/**
 * First match wins. Reviewed against docs/SPEC.md §9 and the seeds:
 * - gap: the seed names it as missing (lane backpressure visibility, the 15 s
 *   keepalive, tool errors returned so the agent retries, nothing lost);
 * - departure: lanesim's spec chose a rule OpenClaw does not follow (DEP-n), not
 *   asked for by the seed in that form;
 * - defect: a rule lanesim's spec shares with OpenClaw's own protocol, broken
 *   (neither named by the seed nor a departure lanesim chose);
 * - wording: the behaviour is there, the text differs from the seed's;
 * - harness: what the harness cannot drive or see on this peer.
 */
export const FAILURE_CLASSES: readonly FailureClass[] = [
  { kind: 'gap', dep: 'DEP-2', rule: /^HB-[1-4]$/, why: "no keepalive for a waiting client (the seed's 15 s keepalive; only the 30 s tick)" },
  { kind: 'gap', dep: 'DEP-2', rule: /^HB-6$/, observed: /after|late|not later/, why: 'a silent peer is closed 50 or 75 s after connecting (ping every 25 s, pong deadline checked on the next tick), not at one dead-after time' },
  { kind: 'gap', dep: 'DEP-2', rule: /^HB-5$/, why: 'pings every 25 s, not at the keepalive interval the seed asks for (15 s)' },
  { kind: 'gap', dep: 'DEP-4', rule: /^STATUS-4$/, why: "no warning while a message still waits (the seed's lane wait warnings reach no client)" },
  { kind: 'gap', dep: 'DEP-8', rule: /^STATUS-\d$/, why: "no lane.status event (the seed's lane backpressure visibility)" },
  { kind: 'departure', dep: 'DEP-3', rule: /^(DEP-3|QUEUE-4)$/, why: "a followup is closed by an empty final and answered under another runId; lanesim's spec wants it under the runId its sender was told" },
  { kind: 'departure', dep: 'DEP-8', rule: /^WS-17$/, why: "no chat `status` frame naming the run that carries a message (`carriedBy`): lanesim's spec announces a steered or merged message to its sender" },
  { kind: 'departure', dep: 'DEP-8', rule: /^QUEUE-(2|3|5|7)$/, observed: /started/, why: "chat.send answers every accepted message `started`; lanesim's spec answers `queued` / `steered` for one that waits or is injected" },
  { kind: 'departure', dep: 'DEP-8', rule: /^QUEUE-(4|13|14)$/, observed: /^started/, why: "chat.send answers `started` also at the cap; lanesim's spec answers `queued`, or `rejected` QUEUE_FULL under drop new" },
  { kind: 'departure', dep: 'DEP-3', rule: /^QUEUE-14$/, observed: /^ran \(final\)/, why: 'the waiting followup was closed at once by its empty final (DEP-3), so its sender cannot tell whether it was dropped' },
  { kind: 'departure', dep: 'DEP-5', rule: /^QUEUE-(14|21)$/, caseId: /^queue\.cap\.drop-old/, why: "drop old removes the oldest message silently; lanesim's spec tells its sender" },
  { kind: 'departure', dep: 'DEP-3', rule: /^QUEUE-18$/, observed: /^ran \(final\)/, why: 'the aborted message was a followup OpenClaw had already closed with its empty final (DEP-3): its sender heard `final`, not `aborted`' },
  { kind: 'wording', dep: 'DEP-6', rule: /^TOOL-2$/, why: "the error is returned to the model in OpenClaw's words (`Validation failed for tool \"read\": - path: must have required properties path …`), not the seed's text" },
  { kind: 'wording', dep: 'DEP-6', rule: /^TOOL-7$/, caseId: /^tool\.validate\.stateless/, why: 'each retry is judged afresh; only the text differs from TOOL-2' },
  { kind: 'departure', dep: 'DEP-6', rule: /^TOOL-(3|4|5|8|9)$/, caseId: /^tool\.validate\./, why: "OpenClaw's validator coerces (`\"5\"` -> 5), reports every schema error in its own format and `Tool \"x\" not found`; lanesim's spec chose no coercion, one error in a fixed order and the seed-style texts" },
  { kind: 'departure', dep: 'DEP-3', rule: /^QUEUE-18$/, caseId: /^queue\.abort\.queued$/, observed: /^[\d.]+:final#\d+/, why: 'the waiting message had already been closed by its empty `final` (DEP-3) when it was aborted: that final is its only frame, and its sender never hears `aborted`' },
  { kind: 'departure', dep: 'DEP-11', rule: /^QUEUE-18$/, caseId: /^queue\.abort\.running$/, observed: /^\[/, why: '`chat.abort` without a runId stops every run OpenClaw holds for the session, the waiting followup included (abortChatRunsForSessionKeyWithPartials -> prepareChatSessionAbort), and lists them all; lanesim aborts only the running run' },
  { kind: 'departure', dep: 'DEP-11', rule: /^QUEUE-18$/, caseId: /^queue\.abort\.holding-session$/, observed: /hold:/, why: 'the aborted waiting message stays in the session transcript and reaches the model as context of the next run (`[Queued user message from a previous active turn; preserved as context only. …]`, mergeOrphanedTrailingUserPrompt)' },
  { kind: 'defect', dep: null, rule: /^WS-15$/, caseId: /^model\.stream\.cut$/, observed: /^still waiting: .*cut-close/, why: "a run whose model connection closed mid-answer (body unterminated) never ended: its gateway log stops at the 4th delta, no error, no retry (the model fetch has `timeoutMs=undefined`), and 150 s later its sender still waits with no terminal frame while the run holds its session" },
  { kind: 'defect', dep: null, rule: /^WS-15$/, caseId: /^model\.stream\.cut$/, observed: /^2: \[[\d.]+:error#\d+.*, [\d.]+:error#1 /, why: 'a cut stream, retried 8 times as transient (87 s), ends with two `error` frames for one runId: the run\'s own (`request failed (provider internal error)`) and chat.send\'s `Agent failed before reply: …` with seq 1 (WS-15: exactly one terminal frame; LANE-8)' },
  { kind: 'defect', dep: null, rule: /^WS-20$/, caseId: /^agent\.lifecycle\./, observed: /lifecycle\/(end|error|aborted)#\d+.*lifecycle\/(end|error|aborted)#\d+/, why: 'a run\'s lifecycle ends twice: `end`, then two more `model` phases and an `error` under the same runId (WS-20: exactly one of end, error, aborted, as its last lifecycle event)' },
  { kind: 'departure', dep: 'DEP-3', rule: /^QUEUE-16$/, observed: /^ran \(final\) via /, why: 'a dropped (summarized) followup was closed at once by its own empty `final` (DEP-3): its sender is never told it was summarized or which run carries it' },
  { kind: 'departure', dep: 'DEP-12', rule: /^QUEUE-15$/, caseId: /^queue\.cap\.summarize/, observed: /Queue overflow\] Dropped \d+ messages? due to cap/, why: 'the overflow summary keeps at most `cap` lines (applyQueueDropPolicy: summaryLimit ?? cap, older lines elided), counts `Dropped N messages`, and runs as a prompt of its own after the message that stays, not prepended to it' },
  { kind: 'departure', dep: 'DEP-12', rule: /^QUEUE-16$/, caseId: /^queue\.cap\.summarize/, observed: /lonely gist/, why: 'with the message that would carry it aborted, the summarized message did not become a summary-only run: its text reached the model as an ordinary prompt (`lonely gist`)' },
  { kind: 'harness', dep: null, rule: /^TOOL-6$/, caseId: /^tool\.validate\./, why: "validateToolCall alone, without the read tool's own prepareArguments (which the agent loop runs first and which maps file_path): the alias cannot be judged in process" },
  { kind: 'wording', dep: 'DEP-8', rule: /^QUEUE-21$/, observed: /errorCode|chat \S+ aborted/, why: 'the refused message\'s sender gets a chat `aborted` frame, without lanesim\'s errorCode (LANE_ABORTED, QUEUE_INTERRUPTED …)' },
  { kind: 'departure', dep: 'DEP-9', rule: /^WS-11$/, observed: /unexpected property 'sessionKey'/, why: '`sessions.subscribe` takes no `sessionKey`; every operator connection gets every session\'s events (listed in DEP-9)' },
  { kind: 'departure', dep: 'DEP-9', rule: /^WS-19$/, caseId: /^queue\.history\.partial/, observed: /^\d+(\.\d+)?$/, why: "`inFlightRun.startedAt` counts from when OpenClaw took the run (before its preparation), so the elapsed time is longer than the harness's from the run's first frame" },
  { kind: 'departure', dep: 'DEP-9', rule: /^WS-4$/, observed: /closed 1000/, why: 'a bad first frame is closed with 1000 (its own close code and reason), not 1008' },
  { kind: 'departure', dep: null, rule: /^(AUTH|BOUND)-\d+$/, why: "lanesim's own access and memory bounds (docs/SPEC.md §11), not named by the seed and not among the DEPs" },
  { kind: 'departure', dep: null, rule: /^WS-13$/, caseId: /^access\./, why: "lanesim's own message-size bound (docs/SPEC.md §11): OpenClaw takes a message over 1 MiB" },
  { kind: 'departure', dep: 'DEP-9', rule: /^DIAG-3$/, observed: /blockedBy must be array \(got null\)/, why: '`diagnostics.lanes` gives `blockedBy: null` for a lane nothing blocks (BRIEF §1), not an empty list' },
  { kind: 'departure', dep: 'DEP-3', rule: /^WS-15$/, observed: /\/message is required; got \{[^}]*"state":"final"/, why: 'a followup is closed by a `final` with no `message` at all (the empty final of DEP-3)' },
  { kind: 'departure', dep: 'DEP-8', rule: /^WS-15$/, observed: /\/status is required/, why: 'OpenClaw sends chat `state: "status"` frames with a `phase` (preparing_workspace, starting_model …) and no `status` word; lanesim\'s status frames (WS-17) carry one' },
  { kind: 'departure', dep: 'DEP-3', rule: /^LANE-8$/, caseId: /^model\.stall\./, observed: /^ran final via \S+ at [\d.]+, text ""$/, why: 'the message sent while the stalled run ran is a followup, closed at once by an empty `final` (no `message`: chat.send handler -> broadcastChatFinal once the followup is enqueued, DEP-3) while the stalled run still ran; its answer comes later under another runId' },
  { kind: 'departure', dep: 'DEP-10', rule: /^QUEUE-1$/, caseId: /^queue\.mode\.by-channel$/, why: "a per-message `queueMode` sets the mode of the session's one followup queue (getFollowupQueue -> applyQueueRuntimeSettings: the last message put in decides), so the `collect` pair is drained as followups after the plain pair; and each waiting message is closed by an empty `final` of its own runId (DEP-3), never announced as merged" },
];

export function classify(caseId: string, rule: string, observed: string): FailureClass | null {
  return FAILURE_CLASSES.find((c) => c.rule.test(rule) && (c.caseId === undefined || c.caseId.test(caseId)) && (c.observed === undefined || c.observed.test(observed))) ?? null;
}
