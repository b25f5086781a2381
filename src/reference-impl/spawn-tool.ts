/**
 * The sub-agent spawn tool (LANE-24) for an agent runtime: a model's
 * `sessions_spawn {targetSessionKey, message}` call becomes `io.spawn(...)`
 * (a background run in that session) and answers at once; anything else goes
 * to the runtime's own loop. The agent loop itself (ModelLoopRuntime) knows
 * only the agent-to-agent call `sessions_send`. Used by the in-process
 * reference target, the reference over WebSocket and `lanesim serve`.
 */
import type { AgentRuntime, RunIO, ToolCallOutcome } from './gateway.ts';
import { agentIdFromSessionKey } from './http-model-runtime.ts';
import { forwardIO } from './run-io.ts';
import type { ToolCallInput } from './tool-validator.ts';

export const SPAWN_TOOL = 'sessions_spawn';

/**
 * The agent runtime with a sub-agent spawn tool: a model's `sessions_spawn
 * {targetSessionKey, message}` call becomes `io.spawn(...)` (a background run
 * in that session, LANE-24) and answers at once; anything else goes to the
 * runtime's own loop. The agent loop itself (ModelLoopRuntime) knows only the
 * agent-to-agent call `sessions_send`.
 */
export function withSpawnTool(runtime: AgentRuntime): AgentRuntime {
  return { start: (io) => runtime.start(spawnAware(io)) };
}

function spawnAware(io: RunIO): RunIO {
  const toolCall = (call: ToolCallInput): ToolCallOutcome => {
    if (call.name !== SPAWN_TOOL) return io.toolCall(call);
    let args: unknown = null;
    try {
      args = typeof call.arguments === 'string' ? JSON.parse(call.arguments.trim() === '' ? '{}' : call.arguments) : call.arguments;
    } catch {
      args = null;
    }
    const a = args !== null && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
    const target = a['targetSessionKey'];
    const message = a['message'];
    if (typeof target !== 'string' || target.trim() === '' || typeof message !== 'string') {
      const received = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) ?? '';
      return { delivered: true, ok: false, result: { type: 'tool_result', tool_use_id: call.id, is_error: true, content: `Error: ${SPAWN_TOOL} tool requires 'targetSessionKey' and 'message' (strings). Received: ${received.slice(0, 200)}` } };
    }
    io.spawn({ targetSessionKey: target, agentId: agentIdFromSessionKey(target), prompt: message }, () => {});
    return { delivered: true, ok: true, args: a };
  };
  return forwardIO(io, { toolCall });
}
