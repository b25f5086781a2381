/**
 * Tool errors echo the argument string as the model wrote it
 * (`{"path": "a"}`, spaces kept) instead of TOOL-2's compact JSON: TOOL-2.
 */
import { createReferenceAdapter, referenceValidateToolCall } from '../../../src/conformance/targets/reference.ts';
import { ToolRegistry, type ToolCallInput, type ToolValidation } from '../../../src/reference-impl/tool-validator.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

class RawEcho extends ToolRegistry {
  override validate(call: ToolCallInput): ToolValidation {
    const v = super.validate(call);
    if (v.ok || typeof call.arguments !== 'string') return v;
    let compact: string;
    try {
      compact = JSON.stringify(JSON.parse(call.arguments));
    } catch {
      return v;
    }
    const content = v.result.content.endsWith(`Received: ${compact}`)
      ? `${v.result.content.slice(0, -compact.length)}${call.arguments}`
      : v.result.content;
    return { ...v, result: { ...v.result, content } };
  }
}

const registry = new RawEcho();

export const toolArgsRaw: GatewayMutant = {
  name: 'gateway-tool-args-raw',
  breaks: 'tool errors echo the raw argument string',
  adapter: createReferenceAdapter({ name: 'mutant: raw argument echo', gatewayOptions: { tools: registry }, validateToolCall: referenceValidateToolCall(registry) }),
  caughtBy: { id: 'tool.gateway.args-as-written', rules: ['TOOL-2'] },
  alsoFails: ['tool.validate.missing-parameter', 'tool.validate.types'],
};
