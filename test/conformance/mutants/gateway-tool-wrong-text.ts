/** A missing parameter is answered with OpenClaw's wording instead of the seed's exact text: TOOL-2. */
import { createReferenceAdapter, referenceValidateToolCall } from '../../../src/conformance/targets/reference.ts';
import { ToolErrorCode, ToolRegistry, type ToolCallInput, type ToolValidation } from '../../../src/reference-impl/tool-validator.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

class OpenClawWording extends ToolRegistry {
  override validate(call: ToolCallInput): ToolValidation {
    const v = super.validate(call);
    if (v.ok || v.code !== ToolErrorCode.MISSING_PARAM) return v;
    const param = /requires '([^']+)' parameter/.exec(v.result.content)?.[1] ?? 'path';
    const content = `Missing required parameter: ${param} (${param} or file_path). Supply correct parameters before retrying.`;
    return { ...v, result: { ...v.result, content } };
  }
}

const registry = new OpenClawWording();

export const toolWrongText: GatewayMutant = {
  name: 'gateway-tool-wrong-text',
  breaks: 'wrong error text for a missing parameter',
  adapter: createReferenceAdapter({
    name: 'mutant: OpenClaw tool-error wording',
    gatewayOptions: { tools: registry },
    validateToolCall: referenceValidateToolCall(registry),
  }),
  caughtBy: { id: 'tool.validate.missing-parameter', rules: ['TOOL-2'] },
  alsoFails: ['tool.gateway.args-as-written', 'tool.gateway.error-returned', 'tool.validate.file-path-alias', 'tool.validate.order', 'tool.validate.stateless', 'tool.validate.never-throws', 'cascade.seed-004.end-to-end'],
};
