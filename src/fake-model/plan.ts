/**
 * The deterministic half of the fake model: what a request looks like to the
 * rules, which rule takes it, and the planned response (every chunk's text and
 * its time offset). No I/O and no clock: the server only plays a plan back
 * with real timers.
 *
 * Determinism: a plan depends only on (seed, rule, the request's index among
 * the requests that rule answered, the estimated prompt tokens, time scale).
 * The PRNG is drawn in a fixed order that does not depend on the time scale,
 * so the chunk texts are the same at any time scale; only offsets scale.
 *
 * Timing model (unscaled, then divided by timeScale):
 *   ttft = ttftMs, or ttftBaseMs + max(promptTokens, minPromptTokens) / prefillTokensPerSec
 *   the role delta and the first chunk come at ttft (jittered); each later
 *   chunk of k tokens comes k / tokensPerSec later (jittered); a stall after
 *   N tokens adds its ms before the chunk that follows token N.
 */
import { Prng } from '../model/prng.ts';
import {
  DEFAULT_PLAN,
  type FakeModelScript, type HttpErrorSpec, type MatchSpec, type NumberOrRange, type ResponsePlan, type Rule, type StallSpec, type StreamErrorSpec,
} from './script.ts';

// ------------------------------------------------------------- requests

export interface RequestFeatures {
  model: string;
  messageCount: number;
  /** Text of the last `user` message ('' if none). */
  lastUserText: string;
  /**
   * Texts of the request's *user turn*, oldest first. The turn is what follows
   * the last `assistant` message that answered (an assistant message NOT
   * followed by a `tool` message); the assistant's tool calls and their
   * results inside the turn do not end it. `marker` matches against each of
   * these user messages. So a gateway that wraps the user's text, or appends
   * user messages of its own (OpenClaw appends
   * `<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>...` after the user's text, and
   * again after each tool result), still has the user's text in the turn,
   * while a marker of an earlier, answered turn does not match. Empty when
   * the turn has no user message.
   */
  turnUserTexts: string[];
  /** Role of the last message. */
  lastRole: string;
  /** Text of the last message. */
  lastText: string;
  /**
   * Text of the turn's last tool result when nothing but user messages follows
   * it (the request answers a tool result, possibly with context or steered
   * text the gateway added after it); null otherwise. `afterToolResult` and
   * `toolResultContains` look at this.
   */
  lastToolText: string | null;
  /** `tool` messages in the user turn (after the last answering assistant message). */
  toolResultsSinceUser: number;
  toolsCount: number;
  /** chars / 4 of the messages' text (content, tool call names and arguments), rounded up. */
  promptTokens: number;
}

/** The text of an OpenAI message `content`: a string, or a list of parts (`{type:"text", text}`). */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (typeof part === 'string') out += part;
    else if (part !== null && typeof part === 'object') {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') out += text;
    }
  }
  return out;
}

/** Reads what the rules look at from a validated request body (messages is a non-empty list of objects). */
export function requestFeatures(body: Record<string, unknown>): RequestFeatures {
  const messages = body['messages'] as Record<string, unknown>[];
  let chars = 0;
  let lastUser = -1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    chars += messageText(m['content']).length;
    const calls = m['tool_calls'];
    if (Array.isArray(calls)) {
      for (const c of calls) {
        const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        if (typeof fn?.name === 'string') chars += fn.name.length;
        if (typeof fn?.arguments === 'string') chars += fn.arguments.length;
      }
    }
    if (m['role'] === 'user') lastUser = i;
  }
  const isTool = (role: unknown): boolean => role === 'tool' || role === 'function';
  // The turn starts after the last assistant message that answered (one not followed by a tool result).
  let turnStart = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!['role'] === 'assistant' && !isTool(messages[i + 1]?.['role'])) {
      turnStart = i + 1;
      break;
    }
  }
  const turn: string[] = [];
  let toolResults = 0;
  for (let i = turnStart; i < messages.length; i++) {
    const role = messages[i]!['role'];
    if (role === 'user') turn.push(messageText(messages[i]!['content']));
    else if (isTool(role)) toolResults++;
  }
  // The last message of the exchange (user, system and developer messages aside): a tool result, or not.
  let lastToolText: string | null = null;
  for (let i = messages.length - 1; i >= turnStart; i--) {
    const role = messages[i]!['role'];
    if (role === 'user' || role === 'system' || role === 'developer') continue;
    if (isTool(role)) lastToolText = messageText(messages[i]!['content']);
    break;
  }
  const last = messages[messages.length - 1]!;
  const tools = body['tools'];
  return {
    model: typeof body['model'] === 'string' ? body['model'] : 'fake-model',
    messageCount: messages.length,
    lastUserText: lastUser < 0 ? '' : messageText(messages[lastUser]!['content']),
    turnUserTexts: turn,
    lastRole: String(last['role']),
    lastText: messageText(last['content']),
    lastToolText,
    toolResultsSinceUser: toolResults,
    toolsCount: Array.isArray(tools) ? tools.length : 0,
    promptTokens: Math.ceil(chars / 4),
  };
}

// ------------------------------------------------------------- matching

/**
 * `*` matches any run of characters; everything else is literal. Greedy
 * matching that backtracks only to the last `*`: O(pattern x value) at
 * worst, where a RegExp of `.*` runs could backtrack exponentially on a long
 * model name a client sends (and a cache of compiled patterns would grow
 * with every script posted).
 */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  let p = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = v;
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (star >= 0) {
      p = star + 1;
      v = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function anyOf(value: string | readonly string[], test: (v: string) => boolean): boolean {
  return typeof value === 'string' ? test(value) : value.some(test);
}

export function matchSpec(spec: MatchSpec, f: RequestFeatures): boolean {
  if (spec.model !== undefined && !anyOf(spec.model, (m) => globMatch(m, f.model))) return false;
  if (spec.marker !== undefined && !anyOf(spec.marker, (m) => f.turnUserTexts.some((t) => t.includes(m)))) return false;
  const tool = f.lastToolText;
  if (spec.afterToolResult !== undefined && spec.afterToolResult !== (tool !== null)) return false;
  if (spec.toolResultContains !== undefined && !(tool !== null && anyOf(spec.toolResultContains, (s) => tool.includes(s)))) return false;
  if (spec.toolResults !== undefined) {
    const n = f.toolResultsSinceUser;
    const r = spec.toolResults;
    if (typeof r === 'number' ? n !== r : (r.min !== undefined && n < r.min) || (r.max !== undefined && n > r.max)) return false;
  }
  return true;
}

export function ruleMatches(rule: Rule, f: RequestFeatures): boolean {
  const m = rule.match;
  if (m === undefined) return true;
  if (Array.isArray(m)) return (m as readonly MatchSpec[]).some((s) => matchSpec(s, f));
  return matchSpec(m as MatchSpec, f);
}

/** Every marker string the script's rules name, in rule order, without repeats. */
export function scriptMarkers(script: FakeModelScript): string[] {
  const out: string[] = [];
  for (const rule of script.rules) {
    const m = rule.match;
    const specs: readonly MatchSpec[] = m === undefined ? [] : Array.isArray(m) ? (m as readonly MatchSpec[]) : [m as MatchSpec];
    for (const spec of specs) {
      const list = spec.marker === undefined ? [] : typeof spec.marker === 'string' ? [spec.marker] : spec.marker;
      for (const marker of list) if (!out.includes(marker)) out.push(marker);
    }
  }
  return out;
}

/** The script's markers (scriptMarkers) that occur in the request's user turn: what the request log shows as `markers`. */
export function markersIn(markers: readonly string[], f: RequestFeatures): string[] {
  return markers.filter((m) => f.turnUserTexts.some((t) => t.includes(m)));
}

/** Index of the default rule in match counters and plan seeds. */
export const DEFAULT_RULE = -1;

export interface RuleChoice {
  /** Index into script.rules, or DEFAULT_RULE. */
  index: number;
  name: string;
  plan: ResponsePlan;
}

/**
 * The first rule that matches and has uses left (`times`), given how many
 * requests each rule has answered so far (`counts[index]`); else the default.
 */
export function chooseRule(script: FakeModelScript, f: RequestFeatures, counts: ReadonlyMap<number, number>): RuleChoice {
  for (let i = 0; i < script.rules.length; i++) {
    const rule = script.rules[i]!;
    if (rule.times !== undefined && (counts.get(i) ?? 0) >= rule.times) continue;
    if (ruleMatches(rule, f)) return { index: i, name: rule.name ?? `rule${i}`, plan: rule.respond };
  }
  return { index: DEFAULT_RULE, name: 'default', plan: script.default ?? DEFAULT_PLAN };
}

// ------------------------------------------------------------- planning

export type PlannedEvent =
  | { atMs: number; type: 'role' }
  | { atMs: number; type: 'content'; text: string }
  /** First frame of a tool call: id, type, function name, empty arguments. */
  | { atMs: number; type: 'tool'; index: number; id: string; name: string }
  | { atMs: number; type: 'args'; index: number; text: string }
  | { atMs: number; type: 'finish' }
  | { atMs: number; type: 'cut'; message: string; mode: 'chunk' | 'close' };

export interface PlannedResponse {
  /** `chatcmpl-…`, deterministic. */
  id: string;
  /** Scaled. */
  ttftMs: number;
  /** In time order; the last one is `finish` or `cut` (none when httpError is set). */
  events: PlannedEvent[];
  /** Sent at `atMs` instead of a completion. */
  httpError: (HttpErrorSpec & { atMs: number }) | null;
  text: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: 'stop' | 'tool_calls';
  /** Output tokens (content tokens, plus one per tool call and one per 4 argument characters). */
  completionTokens: number;
}

export interface PlanContext {
  seed: number;
  /** Rule index (DEFAULT_RULE for the default). */
  rule: number;
  /** The request's 0-based index among the requests this rule answered. */
  matchIndex: number;
  promptTokens: number;
  timeScale: number;
}

/** The PRNG of one response: a function of (seed, rule, matchIndex) only. */
export function responsePrng(seed: number, rule: number, matchIndex: number): Prng {
  let h = seed >>> 0;
  h = Math.imul(h ^ (rule >>> 0), 0x85ebca6b) >>> 0;
  h = (h + Math.imul((matchIndex + 1) >>> 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) >>> 0;
  return new Prng((h ^ (h >>> 13)) >>> 0);
}

const WORDS = [
  'the', 'config', 'loader', 'parses', 'each', 'file', 'and', 'returns', 'a', 'typed', 'result', 'we', 'should',
  'check', 'that', 'tests', 'pass', 'before', 'merging', 'this', 'change', 'into', 'main', 'with', 'strict', 'mode',
  'so', 'errors', 'surface', 'early', 'lane', 'session', 'queue', 'agent', 'reply', 'function', 'value', 'schema',
  'update', 'call', 'read', 'write', 'edit', 'run', 'build', 'module', 'export', 'import',
] as const;

/** `count` filler tokens: one word each, with a trailing space, now and then a full stop or a paragraph break. */
export function fillerTokens(prng: Prng, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = prng.pick(WORDS);
    const p = prng.next();
    out.push(p < 0.06 ? `${word}. ` : p < 0.075 ? `${word}.\n\n` : `${word} `);
  }
  return out;
}

/** Literal text as word tokens (each a run of non-space and the spaces after it); joined they give the text back. */
export function textTokens(text: string): string[] {
  return text.match(/\s+|\S+\s*/g) ?? [];
}

function draw(prng: Prng, value: NumberOrRange | undefined, fallback: number, int = false): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const [lo, hi] = value as readonly [number, number];
  return int ? prng.int(lo, hi) : prng.range(lo, hi);
}

function hex(prng: Prng, words: number): string {
  let out = '';
  for (let i = 0; i < words; i++) out += prng.nextUint32().toString(16).padStart(8, '0');
  return out;
}

interface Unit {
  kind: 'content' | 'tool' | 'args';
  index: number;
  text: string;
}

const ARG_CHARS_PER_TOKEN = 4;

/** Plans one response. Pure: same inputs, same plan. */
export function planResponse(plan: ResponsePlan, ctx: PlanContext): PlannedResponse {
  const prng = responsePrng(ctx.seed, ctx.rule, ctx.matchIndex);
  const jitter = plan.jitter ?? 0;
  const jit = (ms: number): number => (jitter > 0 ? Math.max(0, prng.jitter(ms, jitter)) : ms);
  const scale = (ms: number): number => ms / ctx.timeScale;

  // Fixed draw order: ranges, ttft jitter, ids, words, chunk jitter.
  const ttftDrawn = plan.ttftMs !== undefined
    ? draw(prng, plan.ttftMs, 0)
    : (plan.ttftBaseMs ?? 0) +
      (plan.prefillTokensPerSec !== undefined ? (Math.max(ctx.promptTokens, plan.minPromptTokens ?? 0) / plan.prefillTokensPerSec) * 1000 : 0);
  const tokensPerSec = draw(prng, plan.tokensPerSec, 50);
  const toolSpecs = plan.toolCalls ?? [];
  const outputTokens = draw(prng, plan.outputTokens, toolSpecs.length > 0 ? 0 : 16, true);
  const ttft = jit(ttftDrawn);
  const id = `chatcmpl-${hex(prng, 3)}`;
  const toolCalls = toolSpecs.map((t) => ({ id: t.id ?? `call_${hex(prng, 3)}`, name: t.name, arguments: t.arguments }));

  if (plan.error !== undefined && 'status' in plan.error) {
    return {
      id, ttftMs: scale(ttft), events: [], httpError: { ...plan.error, atMs: scale(ttft) },
      text: '', toolCalls: [], finishReason: 'stop', completionTokens: 0,
    };
  }

  const tokens = plan.text !== undefined ? textTokens(plan.text) : fillerTokens(prng, outputTokens);
  const units: Unit[] = tokens.map((text) => ({ kind: 'content', index: 0, text }));
  toolCalls.forEach((call, index) => {
    units.push({ kind: 'tool', index, text: '' });
    for (let i = 0; i < call.arguments.length; i += ARG_CHARS_PER_TOKEN) {
      units.push({ kind: 'args', index, text: call.arguments.slice(i, i + ARG_CHARS_PER_TOKEN) });
    }
  });

  const stalls: readonly StallSpec[] = plan.stall === undefined ? [] : Array.isArray(plan.stall) ? plan.stall : [plan.stall as StallSpec];
  const cut = plan.error as StreamErrorSpec | undefined;
  const boundaries = new Set<number>(stalls.map((s) => s.afterTokens));
  if (cut !== undefined) boundaries.add(cut.afterTokens);

  // Chunks: runs of units of one stream (content, one call's arguments), at most chunkTokens, split at boundaries.
  const chunkTokens = plan.chunkTokens ?? 4;
  const chunks: Unit[][] = [];
  let current: Unit[] = [];
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    const head = current[0];
    const sameStream = head !== undefined && head.kind !== 'tool' && u.kind === head.kind && u.index === head.index;
    if (head !== undefined && (!sameStream || current.length >= chunkTokens || boundaries.has(i))) {
      chunks.push(current);
      current = [];
    }
    current.push(u);
  }
  if (current.length > 0) chunks.push(current);

  const events: PlannedEvent[] = [];
  const tokenMs = 1000 / tokensPerSec;
  let t = ttft;
  let emitted = 0;
  const stallAt = (n: number): number => stalls.reduce((sum, s) => (s.afterTokens === n ? sum + s.ms : sum), 0);
  events.push({ atMs: scale(t), type: 'role' });
  let ended = false;
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c]!;
    if (c > 0) t += jit(chunk.length * tokenMs);
    t += stallAt(emitted);
    if (cut !== undefined && emitted >= cut.afterTokens) {
      events.push({ atMs: scale(t), type: 'cut', message: cut.message, mode: cut.mode ?? 'chunk' });
      ended = true;
      break;
    }
    const head = chunk[0]!;
    if (head.kind === 'content') events.push({ atMs: scale(t), type: 'content', text: chunk.map((u) => u.text).join('') });
    else if (head.kind === 'tool') {
      const call = toolCalls[head.index]!;
      events.push({ atMs: scale(t), type: 'tool', index: head.index, id: call.id, name: call.name });
    } else events.push({ atMs: scale(t), type: 'args', index: head.index, text: chunk.map((u) => u.text).join('') });
    emitted += chunk.length;
  }
  if (!ended) {
    t += stallAt(emitted);
    if (cut !== undefined) {
      // The cut comes where the next token would have.
      events.push({ atMs: scale(t + (chunks.length > 0 ? jit(tokenMs) : 0)), type: 'cut', message: cut.message, mode: cut.mode ?? 'chunk' });
    } else events.push({ atMs: scale(t), type: 'finish' });
  }
  return {
    id,
    ttftMs: scale(ttft),
    events,
    httpError: null,
    text: tokens.join(''),
    toolCalls,
    finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
    completionTokens: units.length,
  };
}

const EXCERPT_CHARS = 200;
const TOOL_RESULT_CHARS = 4_000;

function excerpt(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * What a request log entry says about the request and its plan, the same in
 * the fake model server and the in-process scripted model: messages cut to
 * 200 characters, a tool result (a file read can be long) to 4,000.
 */
export function describeRequest(f: RequestFeatures, markers: readonly string[], planned: PlannedResponse) {
  return {
    messageCount: f.messageCount,
    lastRole: f.lastRole,
    lastMessage: excerpt(f.lastText, EXCERPT_CHARS),
    lastUserMessage: excerpt(f.lastUserText, EXCERPT_CHARS),
    userMessages: [...f.turnUserTexts],
    markers: markersIn(markers, f),
    lastToolResult: f.lastToolText === null ? null : excerpt(f.lastToolText, TOOL_RESULT_CHARS),
    toolResults: f.toolResultsSinceUser,
    toolsCount: f.toolsCount,
    promptTokens: f.promptTokens,
    completionTokens: planned.completionTokens,
    toolCalls: planned.toolCalls.map((c) => c.name),
  };
}
