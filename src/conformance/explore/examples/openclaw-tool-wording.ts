/**
 * An example gateway adapter with one deliberate bug, for docs/CONFORMANCE.md:
 * the reference gateway answering a tool call with a missing parameter in
 * OpenClaw's wording (`Missing required parameter: path ...`) instead of the
 * seed's exact text (TOOL-2). Run the explorer against it:
 *
 *   npx lanesim conform --adapter src/conformance/explore/examples/openclaw-tool-wording.ts --explore 200 --explore-only --seed 42
 */
import type { GatewayAdapter } from '../../adapter.ts';
import { createReferenceAdapter, referenceValidateToolCall } from '../../targets/reference.ts';
import { ToolErrorCode, ToolRegistry, type ToolCallInput, type ToolValidation } from '../../../reference-impl/tool-validator.ts';

class OpenClawWording extends ToolRegistry {
  override validate(call: ToolCallInput): ToolValidation {
    const v = super.validate(call);
    if (v.ok || v.code !== ToolErrorCode.MISSING_PARAM) return v;
    const param = /requires '([^']+)' parameter/.exec(v.result.content)?.[1] ?? 'path';
    // The bug: OpenClaw's own wording (DEP-6), not TOOL-2's exact text.
    return { ...v, result: { ...v.result, content: `Missing required parameter: ${param} (${param} or file_path). Supply correct parameters before retrying.` } };
  }
}

const registry = new OpenClawWording();

const adapter: GatewayAdapter = createReferenceAdapter({
  name: 'example: OpenClaw tool-error wording',
  gatewayOptions: { tools: registry },
  validateToolCall: referenceValidateToolCall(registry),
});

export default adapter;
