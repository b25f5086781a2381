/**
 * TOOL-*: tool-call validation. Direct cases call the target's validator
 * (capability `tools`) with exact expected texts; the black-box case scripts
 * the model to emit the incident's malformed `read {}` and reads the NEXT
 * model request: it must carry a tool message with exactly the TOOL-2 text,
 * and the agent's corrected retry must succeed.
 */
import { checkRule, expectRule, precondition, type ConformanceCase, type ToolValidatorUnderTest } from '../types.ts';
import { GATEWAY, modelLog, openGateway, requestsWith, script, send, toolResultOf, waitAllEnded } from './gateway-support.ts';

type Verdict = ReturnType<ToolValidatorUnderTest['validate']>;

function validator(ctx: Parameters<ConformanceCase['run']>[0]): ToolValidatorUnderTest {
  const tools = ctx.target.tools;
  if (tools === undefined) throw new Error('target without tools (capability check failed)');
  return tools;
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    try {
      return String(v);
    } catch {
      return `[${typeof v}]`;
    }
  }
};

/**
 * Validates and checks the outcome: `expected` null means the call must pass.
 * Soft: a wrong verdict is recorded and the case goes on with its next call;
 * returns the verdict (null when validation threw).
 */
function check(tools: ToolValidatorUnderTest, rule: string, name: string, args: unknown, expected: string | null | RegExp, id = 'call_conf_1'): Verdict | null {
  let verdict: Verdict;
  try {
    verdict = tools.validate({ id, name, arguments: args });
  } catch (error) {
    checkRule(false, 'TOOL-8', `validate(${name}, ${show(args)}) returns a verdict (validation never throws)`, `it threw ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
  const what = `${name} ${typeof args === 'string' ? JSON.stringify(args) : show(args)}`;
  if (expected === null) {
    checkRule(verdict.ok === true, rule, `${what} passes validation`, () => `rejected: ${JSON.stringify(verdict.content)}`);
    return verdict;
  }
  if (!checkRule(verdict.ok === false, rule, `${what} is rejected`, 'it passed validation')) return verdict;
  if (typeof expected === 'string') {
    checkRule(verdict.content === expected, rule, `${what} -> ${JSON.stringify(expected)}`, () => JSON.stringify(verdict.content));
  } else {
    checkRule(typeof verdict.content === 'string' && expected.test(verdict.content), rule, `${what} -> text matching ${String(expected)}`, () => JSON.stringify(verdict.content));
  }
  checkRule(verdict.isError === true, 'TOOL-1', `${what}: the result is an error tool_result (is_error: true)`, `isError ${String(verdict.isError)}`);
  checkRule(verdict.toolUseId === id, 'TOOL-1', `${what}: the error result is for the call's id (tool_use_id ${id})`, `toolUseId ${String(verdict.toolUseId)}`);
  return verdict;
}

const READ_EMPTY = "Error: read tool requires 'path' parameter. Received: {}";

export const TOOL_CASES: readonly ConformanceCase[] = [
  {
    id: 'tool.validate.missing-parameter',
    title: "A missing required parameter gets the seed's exact text, naming the first one in required order",
    rules: ['TOOL-1', 'TOOL-2'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Validate read {} / "" / absent / whitespace, read {path:"  "}, write {} and {path}, exec {}; allowed-empty parameters pass.',
    async run(ctx) {
      const t = validator(ctx);
      check(t, 'TOOL-2', 'read', {}, READ_EMPTY);
      check(t, 'TOOL-2', 'read', '{}', READ_EMPTY);
      check(t, 'TOOL-2', 'read', '', READ_EMPTY);
      check(t, 'TOOL-2', 'read', '  \n ', READ_EMPTY);
      check(t, 'TOOL-2', 'read', undefined, READ_EMPTY);
      check(t, 'TOOL-2', 'read', { path: '   ' }, `Error: read tool requires 'path' parameter. Received: {"path":"   "}`);
      check(t, 'TOOL-2', 'write', {}, "Error: write tool requires 'path' parameter. Received: {}");
      check(t, 'TOOL-2', 'write', { path: 'a.ts' }, `Error: write tool requires 'content' parameter. Received: {"path":"a.ts"}`);
      check(t, 'TOOL-2', 'edit', { path: 'a.ts', newText: 'x' }, `Error: edit tool requires 'oldText' parameter. Received: {"path":"a.ts","newText":"x"}`);
      check(t, 'TOOL-2', 'exec', '{"cwd":"/tmp"}', `Error: exec tool requires 'command' parameter. Received: {"cwd":"/tmp"}`);
      // Arguments as a model writes them (spaces, newlines): <args> is the parsed value as compact JSON, not the string as received.
      check(t, 'TOOL-2', 'exec', '{"cwd": "/tmp"}', `Error: exec tool requires 'command' parameter. Received: {"cwd":"/tmp"}`);
      check(t, 'TOOL-2', 'read', '{ "path": "  ", "offset": 2 }', `Error: read tool requires 'path' parameter. Received: {"path":"  ","offset":2}`);
      check(t, 'TOOL-2', 'write', '{\n  "path": "a.ts"\n}', `Error: write tool requires 'content' parameter. Received: {"path":"a.ts"}`);
      check(t, 'TOOL-2', 'write', { path: 'a.ts', content: '' }, null);
      check(t, 'TOOL-2', 'edit', { path: 'a.ts', oldText: 'x', newText: '' }, null);
      check(t, 'TOOL-2', 'read', { path: 'src/a.ts' }, null);
      // <args> longer than 200 code units is cut.
      const long = { path: '', note: 'y'.repeat(300) };
      const full = JSON.stringify(long);
      check(t, 'TOOL-2', 'read', long, `Error: read tool requires 'path' parameter. Received: ${full.slice(0, 200)}…(truncated, ${full.length} chars)`);
    },
  },
  {
    id: 'tool.validate.file-path-alias',
    title: 'file_path is accepted for path (read, write, edit); messages show the arguments as received',
    rules: ['TOOL-6', 'TOOL-2'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Validate read {file_path}, read {path, file_path}, write {file_path, content}, edit {file_path, ...}; read {file_path:""} and exec {file_path}.',
    async run(ctx) {
      const t = validator(ctx);
      check(t, 'TOOL-6', 'read', { file_path: 'src/a.ts' }, null);
      check(t, 'TOOL-6', 'read', '{"file_path":"src/a.ts"}', null);
      check(t, 'TOOL-6', 'read', { path: 'a.ts', file_path: 'b.ts' }, null);
      check(t, 'TOOL-6', 'write', { file_path: 'a.ts', content: 'x' }, null);
      check(t, 'TOOL-6', 'edit', { file_path: 'a.ts', oldText: 'x', newText: 'y' }, null);
      check(t, 'TOOL-6', 'read', { file_path: '' }, `Error: read tool requires 'path' parameter. Received: {"file_path":""}`);
      check(t, 'TOOL-6', 'exec', { file_path: 'x' }, `Error: exec tool requires 'command' parameter. Received: {"file_path":"x"}`);
    },
  },
  {
    id: 'tool.validate.types',
    title: 'Wrong types and other violations get their exact texts; no coercion',
    rules: ['TOOL-3'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Validate read with offset "5", 1.5, 0; path 5, null, true; exec timeoutMs -1.',
    async run(ctx) {
      const t = validator(ctx);
      check(t, 'TOOL-3', 'read', { path: 'a', offset: '5' }, `Error: read tool parameter 'offset' must be integer, got string. Received: {"path":"a","offset":"5"}`);
      check(t, 'TOOL-3', 'read', { path: 'a', offset: 1.5 }, `Error: read tool parameter 'offset' must be integer, got number. Received: {"path":"a","offset":1.5}`);
      check(t, 'TOOL-3', 'read', { path: 'a', offset: 0 }, `Error: read tool parameter 'offset' must be >= 1. Received: {"path":"a","offset":0}`);
      check(t, 'TOOL-3', 'read', { path: 5 }, `Error: read tool parameter 'path' must be string, got integer. Received: {"path":5}`);
      check(t, 'TOOL-3', 'read', { path: null }, `Error: read tool parameter 'path' must be string, got null. Received: {"path":null}`);
      check(t, 'TOOL-3', 'read', '{"path":true}', `Error: read tool parameter 'path' must be string, got boolean. Received: {"path":true}`);
      check(t, 'TOOL-3', 'exec', { command: 'ls', timeoutMs: -1 }, `Error: exec tool parameter 'timeoutMs' must be >= 0. Received: {"command":"ls","timeoutMs":-1}`);
      check(t, 'TOOL-3', 'read', '{"path": "a", "offset": "5"}', `Error: read tool parameter 'offset' must be integer, got string. Received: {"path":"a","offset":"5"}`);
      check(t, 'TOOL-3', 'read', { path: 'a', offset: 2, limit: 10 }, null);
    },
  },
  {
    id: 'tool.validate.unknown-tool',
    title: 'An unknown tool is answered with the registered names, sorted',
    rules: ['TOOL-4'],
    level: 'MUST',
    requires: ['tools'],
    procedure: "Validate 'reed' {} and a 250-character name; the available list is sorted, joined by ', ', includes read.",
    async run(ctx) {
      const t = validator(ctx);
      const v = check(t, 'TOOL-4', 'reed', { path: 'a' }, /^Error: unknown tool 'reed'\. Available tools: (.+)\.$/);
      const list = /Available tools: (.+)\.$/.exec(v?.content ?? '')?.[1] ?? '';
      const names = list.split(', ');
      const sorted = [...names].sort();
      checkRule(names.join('|') === sorted.join('|'), 'TOOL-4', 'the available tools sorted in code-unit order', list);
      checkRule(names.includes('read') && names.includes('write') && names.includes('edit') && names.includes('exec'), 'TOOL-4', 'the built-in tools edit, exec, read, write are listed', list);
      const long = 'x'.repeat(250);
      check(t, 'TOOL-4', long, {}, `Error: unknown tool '${long.slice(0, 200)}…(truncated, 250 chars)'. Available tools: ${list}.`);
    },
  },
  {
    id: 'tool.validate.arguments',
    title: 'Argument strings are parsed; unparsable and non-object arguments get their texts',
    rules: ['TOOL-5'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Validate read with \'{"path":\', \'[1]\', \'null\', \'"x"\', \'42\', and {"path":"a"} as a string.',
    async run(ctx) {
      const t = validator(ctx);
      check(t, 'TOOL-5', 'read', '{"path":', /^Error: read tool arguments are not valid JSON \(.+\)\. Received: \{"path":$/);
      check(t, 'TOOL-5', 'read', '[1]', 'Error: read tool arguments must be a JSON object, got array. Received: [1]');
      check(t, 'TOOL-5', 'read', 'null', 'Error: read tool arguments must be a JSON object, got null. Received: null');
      check(t, 'TOOL-5', 'read', '"x"', 'Error: read tool arguments must be a JSON object, got string. Received: "x"');
      check(t, 'TOOL-5', 'read', '42', 'Error: read tool arguments must be a JSON object, got integer. Received: 42');
      check(t, 'TOOL-5', 'read', '{"path":"src/a.ts"}', null);
      const raw = `{"path":"${'z'.repeat(300)}`;
      check(t, 'TOOL-5', 'read', raw, new RegExp(`^Error: read tool arguments are not valid JSON \\(.+\\)\\. Received: ${escape(raw.slice(0, 200))}…\\(truncated, ${raw.length} chars\\)$`));
    },
  },
  {
    id: 'tool.validate.stateless',
    title: 'A corrected retry with the same call id is judged afresh',
    rules: ['TOOL-7'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Validate read {} then read {path} with the same id, then {} again.',
    async run(ctx) {
      const t = validator(ctx);
      check(t, 'TOOL-7', 'read', {}, READ_EMPTY, 'call_same');
      check(t, 'TOOL-7', 'read', { path: 'a.ts' }, null, 'call_same');
      check(t, 'TOOL-7', 'read', {}, READ_EMPTY, 'call_same');
    },
  },
  {
    id: 'tool.validate.never-throws',
    title: 'Validation never throws, mutates nothing, pollutes no prototype',
    rules: ['TOOL-8', 'TOOL-5'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Validate a throwing getter, a throwing proxy, a cycle, a 2 MB string, __proto__ keys (object and JSON), odd names and ids; compare inputs before and after.',
    async run(ctx) {
      const t = validator(ctx);
      const getter = Object.defineProperty({}, 'path', { enumerable: true, get() { throw new Error('getter exploded'); } });
      check(t, 'TOOL-5', 'read', getter, 'Error: read tool arguments could not be read. Received: [unserializable]');
      const proxy = new Proxy({}, { ownKeys() { throw new Error('ownKeys exploded'); }, get() { throw new Error('get exploded'); } });
      check(t, 'TOOL-8', 'read', proxy, /^Error: /);
      const cycle: Record<string, unknown> = { note: 'x' };
      cycle['self'] = cycle;
      check(t, 'TOOL-8', 'read', cycle, /^Error: read tool requires 'path' parameter\. Received: /);
      const cyclicOk: Record<string, unknown> = { path: 'a.ts' };
      cyclicOk['self'] = cyclicOk;
      check(t, 'TOOL-8', 'read', cyclicOk, null);
      check(t, 'TOOL-8', 'read', `{"path":"${'a'.repeat(2_000_000)}"}`, null);
      check(t, 'TOOL-8', 'read', '{"__proto__":{"polluted":true},"offset":"x"}', /^Error: read tool requires 'path' parameter\. Received: /);
      const protoKey = JSON.parse('{"__proto__":{"polluted":true},"path":"a.ts"}') as Record<string, unknown>;
      const before = JSON.stringify(protoKey);
      check(t, 'TOOL-8', 'read', protoKey, null);
      checkRule(JSON.stringify(protoKey) === before, 'TOOL-8', 'the arguments object is not mutated', JSON.stringify(protoKey));
      const args = { file_path: 'a.ts', offset: 2 };
      check(t, 'TOOL-8', 'read', args, null);
      checkRule(JSON.stringify(args) === '{"file_path":"a.ts","offset":2}', 'TOOL-8', 'the arguments object is not mutated (file_path stays)', JSON.stringify(args));
      for (const [name, a] of [[42, {}], [null, {}], ['', '{}'], ['read', Symbol('s')], ['read', 10n], ['read', () => 1]] as const) {
        let threw: unknown = null;
        let verdict: Verdict | null = null;
        try {
          verdict = t.validate({ id: 'call_odd', name: name as unknown as string, arguments: a });
        } catch (error) {
          threw = error;
        }
        checkRule(threw === null, 'TOOL-8', `validate(name ${String(name)}, ${typeof a}) does not throw`, `threw ${String(threw)}`);
        checkRule(verdict !== null && verdict.ok === false && typeof verdict.content === 'string' && verdict.content.startsWith('Error: '), 'TOOL-8',
          `validate(name ${String(name)}, ${typeof a}) is rejected with an error text`, show(verdict));
      }
      checkRule((({}) as Record<string, unknown>)['polluted'] === undefined, 'TOOL-8', 'Object.prototype is not polluted', 'Object.prototype.polluted is set');
    },
  },
  {
    id: 'tool.validate.order',
    title: 'One error per call, checks in the fixed order',
    rules: ['TOOL-9'],
    level: 'MUST',
    requires: ['tools'],
    procedure: 'Unknown tool with bad JSON -> unknown tool; missing + wrong type -> missing; wrong type + range -> type; range alone -> other.',
    async run(ctx) {
      const t = validator(ctx);
      check(t, 'TOOL-9', 'reed', '{"path":', /^Error: unknown tool 'reed'\. /);
      check(t, 'TOOL-9', 'read', '[', /^Error: read tool arguments are not valid JSON /);
      check(t, 'TOOL-9', 'read', { offset: 'x' }, `Error: read tool requires 'path' parameter. Received: {"offset":"x"}`);
      check(t, 'TOOL-9', 'write', { content: 5 }, `Error: write tool requires 'path' parameter. Received: {"content":5}`);
      check(t, 'TOOL-9', 'read', { path: 'a', offset: 0, limit: 'x' }, `Error: read tool parameter 'limit' must be integer, got string. Received: {"path":"a","offset":0,"limit":"x"}`);
      check(t, 'TOOL-9', 'read', { path: 'a', offset: 0, limit: 0 }, `Error: read tool parameter 'offset' must be >= 1. Received: {"path":"a","offset":0,"limit":0}`);
    },
  },
  {
    id: 'tool.gateway.error-returned',
    title: "The model's malformed read {} is answered in the next request with the exact error; its retry succeeds",
    rules: ['TOOL-1', 'TOOL-2'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Script: on [tool-read] emit read with arguments {}; after a tool result containing "Error:" retry read {"path":"src/config/loader.ts"}; after any other tool result answer. ' +
      'Send one message; the model request after the malformed call must end with a tool message whose text is exactly the TOOL-2 text; the retry gets a non-error result; the run ends final.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      const tag = 'tool-read';
      await script(session, [
        { name: 'retry', match: { marker: `[${tag}]`, toolResultContains: ['Error:', 'Validation failed for tool'] }, times: 1, respond: { ttftMs: 200, chunkTokens: 4, toolCalls: [{ name: 'read', arguments: '{"path":"src/config/loader.ts"}' }] } },
        { name: 'answer', match: { marker: `[${tag}]`, afterToolResult: true }, respond: { ttftMs: 200, text: 'The loader parses the file.', chunkTokens: 2 } },
        { name: 'malformed', match: { marker: `[${tag}]`, afterToolResult: false }, respond: { ttftMs: 300, text: 'Let me read it. ', toolCalls: [{ name: 'read', arguments: '{}' }] } },
      ]);
      const client = await session.connect('coder');
      const sent = await send(session, client, session.sessionKey('tools'), `[${tag}] Refactor the config loader.`);
      const ends = await waitAllEnded(session, [sent], 60_000, 'TOOL-1');
      const end = ends.get(sent)!;
      const log = requestsWith(await modelLog(session), tag);
      const first = log.findIndex((e) => e.rule === 'malformed');
      expectRule(first >= 0, 'TOOL-1', 'the model was asked (a request matched the malformed-read rule)', () => `rules seen: ${log.map((e) => e.rule).join(', ')}`);
      const next = log[first + 1];
      const nextResult = next === undefined ? null : toolResultOf(next);
      expectRule(next !== undefined && nextResult !== null && nextResult !== '', 'TOOL-1',
        'the next model request answers the error tool_result of the malformed call (the agent hears it and can retry)',
        () => (next === undefined ? 'no further model request: the run went on without the model hearing the error' : `next request ends with a ${next.lastRole} message ${JSON.stringify(next.lastMessage.slice(0, 120))} and answers no tool result`));
      checkRule(nextResult === READ_EMPTY, 'TOOL-2', `the tool message text is exactly ${JSON.stringify(READ_EMPTY)}`, JSON.stringify(nextResult));
      checkRule(next.rule === 'retry', 'TOOL-1', 'the model retried with a path after the error', `rule ${next.rule}`);
      const after = log[first + 2];
      const afterResult = after === undefined ? null : toolResultOf(after);
      checkRule(after !== undefined && afterResult !== null && !afterResult.startsWith('Error:'), 'TOOL-1',
        'the corrected read {"path":...} passes: the request after it carries a non-error tool result',
        () => (after === undefined ? 'no request after the retry' : `${after.lastRole} ${JSON.stringify((afterResult ?? after.lastMessage).slice(0, 120))}`));
      checkRule(end.kind === 'ran' && end.state === 'final', 'TOOL-1', 'the run ends with a final answer', `${end.kind} ${end.state}`);
    },
  },
  {
    id: 'tool.gateway.args-as-written',
    title: 'A bad call with arguments as a model writes them (spaces) is answered with <args> as compact JSON, not the string echoed',
    rules: ['TOOL-2', 'TOOL-1'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Script: on [tool-spaced] call read with the argument string {"offset": 2, "limit": 5} (spaces after the colons, as models write JSON); after the error answer. ' +
      'The next model request carries exactly "Error: read tool requires \'path\' parameter. Received: {"offset":2,"limit":5}" (TOOL-2: the parsed arguments as compact JSON); ' +
      'echoing the string as received is a different text. Precondition: the model made the call.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      const tag = 'tool-spaced';
      const written = '{"offset": 2, "limit": 5}';
      const expected = `Error: read tool requires 'path' parameter. Received: {"offset":2,"limit":5}`;
      await script(session, [
        { name: 'answer', match: { marker: `[${tag}]`, afterToolResult: true }, respond: { ttftMs: 200, text: 'I need a path.', chunkTokens: 2 } },
        { name: 'spaced', match: { marker: `[${tag}]`, afterToolResult: false }, respond: { ttftMs: 300, toolCalls: [{ name: 'read', arguments: written }] } },
      ]);
      const client = await session.connect('coder');
      const sent = await send(session, client, session.sessionKey('tools-spaced'), `[${tag}] Show me the first lines.`);
      await waitAllEnded(session, [sent], 60_000, 'TOOL-1');
      const log = requestsWith(await modelLog(session), tag);
      const first = log.findIndex((e) => e.rule === 'spaced');
      precondition(first >= 0, () => `the model made its read call (rules seen: ${log.map((e) => e.rule).join(', ') || 'none'})`);
      const next = log[first + 1];
      const result = next === undefined ? null : toolResultOf(next);
      expectRule(result !== null && result !== '', 'TOOL-1', 'the next model request answers the error tool_result of the bad call',
        () => (next === undefined ? 'no further model request' : `it ends with a ${next.lastRole} message and answers no tool result`));
      checkRule(result === expected, 'TOOL-2', `the tool message text is exactly ${JSON.stringify(expected)} (<args>: compact JSON of the parsed arguments)`,
        () => `${JSON.stringify(result)}${result === `Error: read tool requires 'path' parameter. Received: ${written}` ? ' (the argument string echoed as received)' : ''}`);
    },
  },
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
