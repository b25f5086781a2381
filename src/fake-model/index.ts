/** lanesim's fake OpenAI-compatible model provider (see server.ts for the protocol, script.ts for the script format). */
export {
  startFakeModel, DEFAULT_BODY_LIMIT,
  type FakeModelOptions, type FakeModelServer, type RequestLogEntry, type RequestOutcome,
} from './server.ts';
export {
  CASCADE_SCRIPT, DEFAULT_SCRIPT, DEFAULT_PLAN, CASCADE_MARKER, CODER_MARKER, CODER_SESSION_KEY, CASCADE_READ_PATH,
  SCRIPT_NAMES, ScriptError, validateScript, validatePlan, loadScriptFile, resolveScript, scriptModels,
  type FakeModelScript, type Rule, type MatchSpec, type ResponsePlan, type ToolCallSpec, type StallSpec,
  type ErrorSpec, type HttpErrorSpec, type StreamErrorSpec, type NumberOrRange, type ScriptName,
} from './script.ts';
export {
  planResponse, chooseRule, requestFeatures, responsePrng, textTokens, fillerTokens, globMatch, DEFAULT_RULE,
  type PlannedResponse, type PlannedEvent, type PlanContext, type RequestFeatures, type RuleChoice,
} from './plan.ts';
