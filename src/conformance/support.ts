/**
 * What a gateway under test says it supports: one model, shared by the
 * catalogue (a case that needs an unsupported feature is n/a, naming the
 * declaration) and the explorer (it generates workloads only from supported
 * features). Declared by an in-process adapter (`supports`) or, for a gateway
 * reached over WebSocket, by the `supports` key of the `--config` file.
 *
 * Nothing is assumed away: an undeclared feature counts as supported, so a
 * gateway that has it broken fails the rules that define it. Declaring a
 * feature unsupported turns every case needing it into n/a with the reason
 * `declared unsupported: supports.<key>` — on every path alike (in process and
 * over the wire), so the same gateway gets the same n/a everywhere.
 */
import { DROP_POLICIES, QUEUE_MODES, type DropPolicy, type QueueMode } from '../model/config-types.ts';
import { NotApplicable } from './types.ts';

export interface GatewaySupport {
  /** Queue modes the gateway can run (CFG-2; QUEUE-3..QUEUE-7). */
  readonly queueModes: readonly QueueMode[];
  /** Drop policies at the cap (CFG-3; QUEUE-13..QUEUE-15). */
  readonly dropPolicies: readonly DropPolicy[];
  /** `chat.send` takes `channel`, resolved through `messages.queue.byChannel` (QUEUE-1). */
  readonly channels: boolean;
  /** `chat.send` takes `route` (collect drains routes one by one, QUEUE-10). */
  readonly routes: boolean;
  /** A run can hand off to a nested agent (LANE-20..LANE-23, STATUS-9, the cascade). */
  readonly nestedAgents: boolean;
  /** `agents.defaults.lane.nestedAgentParallel: true` can be configured (LANE-21..LANE-23). */
  readonly nestedAgentParallel: boolean;
  /** A run can spawn sub-agents in the `subagent` lane (LANE-24). */
  readonly subagents: boolean;
  /** The `diagnostics.lanes` request (WS-21, DIAG-3). */
  readonly diagnostics: boolean;
  /** `chat.history` (WS-19). */
  readonly history: boolean;
  /** Clearing a session's queue as an operator action (QUEUE-11). */
  readonly queueClear: boolean;
  /** The harness may stop (and restart) the gateway to watch its shutdown and start-up (WS-23, QUEUE-19). */
  readonly shutdown: boolean;
}

export type SupportKey = keyof GatewaySupport;

export const FULL_SUPPORT: GatewaySupport = Object.freeze({
  queueModes: QUEUE_MODES,
  dropPolicies: DROP_POLICIES,
  channels: true,
  routes: true,
  nestedAgents: true,
  nestedAgentParallel: true,
  subagents: true,
  diagnostics: true,
  history: true,
  queueClear: true,
  shutdown: true,
});

const BOOLEAN_KEYS = Object.keys(FULL_SUPPORT).filter((k) => typeof FULL_SUPPORT[k as SupportKey] === 'boolean') as SupportKey[];

/** Thrown for a malformed declaration (the CLI turns it into exit 2). */
export class SupportDeclarationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SupportDeclarationError';
  }
}

/**
 * A declaration as written (every key optional) made whole: unknown keys,
 * wrong types and unknown modes/policies are refused with the key path.
 */
export function parseSupport(input: unknown, where = 'supports'): GatewaySupport {
  if (input === undefined || input === null) return FULL_SUPPORT;
  if (typeof input !== 'object' || Array.isArray(input)) throw new SupportDeclarationError(`${where}: must be an object, got ${JSON.stringify(input)}`);
  const raw = input as Record<string, unknown>;
  const out: Record<string, unknown> = { ...FULL_SUPPORT };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'queueModes' || key === 'dropPolicies') {
      const allowed: readonly string[] = key === 'queueModes' ? QUEUE_MODES : DROP_POLICIES;
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && allowed.includes(v))) {
        throw new SupportDeclarationError(`${where}.${key}: must be a list of ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
      }
      out[key] = Object.freeze([...new Set(value as string[])]);
    } else if ((BOOLEAN_KEYS as string[]).includes(key)) {
      if (typeof value !== 'boolean') throw new SupportDeclarationError(`${where}.${key}: must be true or false, got ${JSON.stringify(value)}`);
      out[key] = value;
    } else {
      throw new SupportDeclarationError(`${where}.${key}: unknown key (known: ${Object.keys(FULL_SUPPORT).join(', ')})`);
    }
  }
  return Object.freeze(out) as unknown as GatewaySupport;
}

/** The keys a declaration turns off, as `supports.x` phrases (for reports and the plan). */
export function describeUnsupported(support: GatewaySupport): string[] {
  const out: string[] = [];
  const modes = QUEUE_MODES.filter((m) => !support.queueModes.includes(m));
  if (modes.length > 0) out.push(`supports.queueModes lacks ${modes.join(', ')}`);
  const drops = DROP_POLICIES.filter((d) => !support.dropPolicies.includes(d));
  if (drops.length > 0) out.push(`supports.dropPolicies lacks ${drops.join(', ')}`);
  for (const key of BOOLEAN_KEYS) if (support[key] === false) out.push(`supports.${key}: false`);
  return out;
}

/** What a case needs of the gateway's declared support. */
export type SupportNeed =
  | { queueMode: QueueMode }
  | { dropPolicy: DropPolicy }
  | { feature: Exclude<SupportKey, 'queueModes' | 'dropPolicies'> };

/** null when `support` covers `need`, else the n/a reason. */
export function unsupported(support: GatewaySupport, need: SupportNeed): string | null {
  if ('queueMode' in need) {
    return support.queueModes.includes(need.queueMode) ? null : `declared unsupported: supports.queueModes does not list ${need.queueMode}`;
  }
  if ('dropPolicy' in need) {
    return support.dropPolicies.includes(need.dropPolicy) ? null : `declared unsupported: supports.dropPolicies does not list ${need.dropPolicy}`;
  }
  return support[need.feature] ? null : `declared unsupported: supports.${need.feature} is false`;
}

/** Throws NotApplicable (the case is n/a) unless `support` covers every need. */
export function requireSupport(support: GatewaySupport, ...needs: SupportNeed[]): void {
  const reason = unsupportedByDeclaration(support, needs);
  if (reason !== null) throw new NotApplicable(reason);
}

/** null when `support` covers every need, else the n/a reason (all unmet needs at once). */
export function unsupportedByDeclaration(support: GatewaySupport, needs: readonly SupportNeed[]): string | null {
  const reasons = needs.map((n) => unsupported(support, n)).filter((r): r is string => r !== null);
  return reasons.length === 0 ? null : reasons.join('; ');
}
