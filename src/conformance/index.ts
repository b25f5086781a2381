/**
 * `lanesim/conformance`: the public API of the conformance suite for gateway
 * authors (docs/ADAPTER.md).
 *
 * - the in-process adapter interface (GatewayAdapter, InProcessGateway and the
 *   RunIO a gateway hands lanesim's agent runtime), with defineAdapter() to
 *   type one in plain JavaScript;
 * - the case catalogue (CASES) and the result vocabulary;
 * - runConformance(), which returns the SuiteReport `lanesim conform --json`
 *   writes, and the report renderers the CLI uses.
 */
import type { GatewayAdapter } from './adapter.ts';
import { ALL_CASES } from './cases/index.ts';
import type { ConformanceCase } from './types.ts';

export type { GatewayAdapter, InProcessGateway } from './adapter.ts';
export type {
  Capability, CaseContext, CaseResult, CaseStatus, ConformanceCase, ConformanceTarget, FailedCheck, GatewayFacts, GatewaySession,
  LaneQueueUnderTest, LaneWaitRecord, Level, RawSocket, ReceivedEvent, TestClient, ToolValidatorUnderTest,
} from './types.ts';
export { CaseFailure, LEVELS, NotApplicable, PreconditionNotMet } from './types.ts';
export type { GatewaySupport, SupportKey, SupportNeed } from './support.ts';
export { FULL_SUPPORT, SupportDeclarationError, describeUnsupported, parseSupport } from './support.ts';
export type { SuiteReport } from './runner.ts';
export { caseSeed, matchesFilter, selectCases } from './runner.ts';
export { jsonReport, junitReport, terminalReport } from './report.ts';
// Generative conformance (docs/CONFORMANCE.md): random workloads judged by the checkers and against the reference.
export * from './explore/index.ts';
export {
  ConformanceOptionsError, checkRunOptions, resolveTarget, runConformance,
  type ResolvedTarget, type RunConformanceOptions, type TargetOptions, type UrlTargetOptions,
} from './api.ts';
export type { AgentRuntime, NestedRequest, RunIO, ToolCallOutcome } from '../reference-impl/gateway.ts';
export type { ConfigInput, DropPolicy, LanesimConfig, QueueMode } from '../model/config-types.ts';
export type { ChatState, ErrorShape, EventFrame, ResponseFrame } from '../model/protocol.ts';

/** The whole catalogue, in `lanesim conform --list` order. */
export const CASES: readonly ConformanceCase[] = ALL_CASES;

/** Identity, for types: `export default defineAdapter({ name, createGateway, ... })` in a .js adapter gets the GatewayAdapter type. */
export function defineAdapter<A extends GatewayAdapter>(adapter: A): A {
  return adapter;
}
