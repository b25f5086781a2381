import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RENDER_LIMIT,
  ToolErrorCode,
  ToolRegistry,
  ToolSchemaError,
  renderArgs,
  truncateRendered,
  validateToolCall,
  type ToolValidation,
} from '../src/reference-impl/tool-validator.ts';

/** Property runs: LANESIM_PROPERTY_RUNS halved (these are cheap but many), default 500. */
const envRuns = Number(process.env.LANESIM_PROPERTY_RUNS);
const RUNS = Number.isFinite(envRuns) && envRuns > 0 ? Math.max(10, Math.floor(envRuns / 2)) : 500;

function call(name: unknown, args: unknown, id: unknown = 'call_1'): ToolValidation {
  return validateToolCall({ id, name, arguments: args } as { id: string; name: string; arguments: unknown });
}

/** The error text, asserting the call failed with `code` and a well-formed tool_result. */
function fails(v: ToolValidation, code: string): string {
  expect(v.ok).toBe(false);
  if (v.ok) throw new Error('unreachable');
  expect(v.code).toBe(code);
  expect(v.result.type).toBe('tool_result');
  expect(v.result.tool_use_id).toBe(v.id);
  expect(v.result.is_error).toBe(true);
  return v.result.content;
}

function args(v: ToolValidation): Record<string, unknown> {
  if (!v.ok) throw new Error(`expected ok, got ${v.code}: ${v.result.content}`);
  return v.args;
}

function parserMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('text parsed');
}

describe('TOOL-2 missing or empty required parameter', () => {
  it("gives the seed's exact message for read with no path", () => {
    expect(fails(call('read', {}), ToolErrorCode.MISSING_PARAM)).toBe(
      "Error: read tool requires 'path' parameter. Received: {}",
    );
  });

  it('treats an empty or whitespace-only string as missing', () => {
    expect(fails(call('read', { path: '' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: read tool requires \'path\' parameter. Received: {"path":""}',
    );
    expect(fails(call('read', { path: ' \t\n' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: read tool requires \'path\' parameter. Received: {"path":" \\t\\n"}',
    );
    expect(fails(call('exec', { command: '\u00a0' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: exec tool requires \'command\' parameter. Received: {"command":"\u00a0"}',
    );
  });

  it('names only the first missing parameter in `required` order', () => {
    expect(fails(call('edit', {}), 'TOOL_MISSING_PARAM')).toBe("Error: edit tool requires 'path' parameter. Received: {}");
    expect(fails(call('edit', { newText: 'b', oldText: 'a' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: edit tool requires \'path\' parameter. Received: {"newText":"b","oldText":"a"}',
    );
    expect(fails(call('edit', { path: 'f', newText: 'b' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: edit tool requires \'oldText\' parameter. Received: {"path":"f","newText":"b"}',
    );
    expect(fails(call('write', { path: 'f' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: write tool requires \'content\' parameter. Received: {"path":"f"}',
    );
    // Blank counts as missing in the same order: path (blank) before oldText (absent).
    expect(fails(call('edit', { path: ' ', newText: '' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: edit tool requires \'path\' parameter. Received: {"path":" ","newText":""}',
    );
  });

  it('lets write.content and edit.newText be empty (an empty file, a deletion)', () => {
    expect(args(call('write', { path: 'f', content: '' }))).toEqual({ path: 'f', content: '' });
    expect(args(call('edit', { path: 'f', oldText: 'x', newText: '' }))).toEqual({ path: 'f', oldText: 'x', newText: '' });
    expect(fails(call('edit', { path: 'f', oldText: '', newText: 'y' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: edit tool requires \'oldText\' parameter. Received: {"path":"f","oldText":"","newText":"y"}',
    );
  });

  it('an explicit undefined value is missing', () => {
    expect(fails(call('read', { path: undefined }), 'TOOL_MISSING_PARAM')).toBe(
      "Error: read tool requires 'path' parameter. Received: {}",
    );
  });
});

describe('TOOL-3 wrong type and other violations (no coercion)', () => {
  it('reports the expected and actual JSON type', () => {
    const cases: [unknown, string, string][] = [
      [5, 'integer', '{"path":5}'],
      [1.5, 'number', '{"path":1.5}'],
      [true, 'boolean', '{"path":true}'],
      [null, 'null', '{"path":null}'],
      [['a'], 'array', '{"path":["a"]}'],
      [{ p: 'a' }, 'object', '{"path":{"p":"a"}}'],
    ];
    for (const [value, actual, shown] of cases) {
      expect(fails(call('read', { path: value }), ToolErrorCode.INVALID_TYPE)).toBe(
        `Error: read tool parameter 'path' must be string, got ${actual}. Received: ${shown}`,
      );
    }
  });

  it('does not coerce: a numeric string for an integer is a type error', () => {
    expect(fails(call('read', { path: 'a', offset: '5' }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: read tool parameter \'offset\' must be integer, got string. Received: {"path":"a","offset":"5"}',
    );
    expect(fails(call('read', '{"path":"a","limit":2.5}'), 'TOOL_INVALID_TYPE')).toBe(
      'Error: read tool parameter \'limit\' must be integer, got number. Received: {"path":"a","limit":2.5}',
    );
    expect(fails(call('exec', { command: ['ls', '-l'] }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: exec tool parameter \'command\' must be string, got array. Received: {"command":["ls","-l"]}',
    );
  });

  it("uses AJV's message for other violations", () => {
    expect(fails(call('read', { path: 'a', offset: 0 }), ToolErrorCode.INVALID_PARAM)).toBe(
      'Error: read tool parameter \'offset\' must be >= 1. Received: {"path":"a","offset":0}',
    );
    expect(fails(call('exec', { command: 'ls', timeoutMs: -1 }), 'TOOL_INVALID_PARAM')).toBe(
      'Error: exec tool parameter \'timeoutMs\' must be >= 0. Received: {"command":"ls","timeoutMs":-1}',
    );
  });

  it('NaN and Infinity are not numbers', () => {
    expect(fails(call('read', { path: 'a', offset: Number.NaN }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: read tool parameter \'offset\' must be integer, got number. Received: {"path":"a","offset":null}',
    );
  });

  it('accepts extra keys on built-ins (their schemas do not forbid them)', () => {
    expect(args(call('read', { path: 'a', reason: 'x' }))).toEqual({ path: 'a', reason: 'x' });
  });
});

describe('TOOL-4 unknown tool', () => {
  it('lists the available tools, sorted', () => {
    expect(fails(call('nope', { path: 'a' }), ToolErrorCode.UNKNOWN)).toBe(
      "Error: unknown tool 'nope'. Available tools: edit, exec, read, write.",
    );
  });

  it('is case-sensitive and does not look names up on prototypes', () => {
    expect(fails(call('Read', {}), 'TOOL_UNKNOWN')).toBe("Error: unknown tool 'Read'. Available tools: edit, exec, read, write.");
    expect(fails(call('constructor', {}), 'TOOL_UNKNOWN')).toBe(
      "Error: unknown tool 'constructor'. Available tools: edit, exec, read, write.",
    );
    expect(fails(call('__proto__', {}), 'TOOL_UNKNOWN')).toBe(
      "Error: unknown tool '__proto__'. Available tools: edit, exec, read, write.",
    );
  });

  it('renders a non-string name as JSON and truncates a huge one', () => {
    expect(fails(call(42, {}), 'TOOL_UNKNOWN')).toBe("Error: unknown tool '42'. Available tools: edit, exec, read, write.");
    const long = 'x'.repeat(300);
    expect(fails(call(long, {}), 'TOOL_UNKNOWN')).toBe(
      `Error: unknown tool '${'x'.repeat(200)}…(truncated, 300 chars)'. Available tools: edit, exec, read, write.`,
    );
  });

  it('lists a registry with no tools as (none)', () => {
    const empty = new ToolRegistry({ builtins: false });
    expect(fails(empty.validate({ id: 'c', name: 'read', arguments: {} }), 'TOOL_UNKNOWN')).toBe(
      "Error: unknown tool 'read'. Available tools: (none).",
    );
  });
});

describe('TOOL-5 arguments: parse and object-ness', () => {
  it('parses a JSON string (OpenAI style)', () => {
    expect(args(call('read', '{"path":"src/a.ts","offset":3}'))).toEqual({ path: 'src/a.ts', offset: 3 });
  });

  it('renders the parsed value, compactly, for a JSON string', () => {
    expect(fails(call('read', '{ "offset" : 2 }'), 'TOOL_MISSING_PARAM')).toBe(
      'Error: read tool requires \'path\' parameter. Received: {"offset":2}',
    );
  });

  it('treats an empty or whitespace-only string, and absent arguments, as {}', () => {
    for (const empty of ['', '   ', '\n\t', undefined]) {
      expect(fails(call('read', empty), 'TOOL_MISSING_PARAM')).toBe("Error: read tool requires 'path' parameter. Received: {}");
    }
    const reg = new ToolRegistry();
    reg.register({ name: 'now', parameters: { type: 'object', properties: {} } });
    expect(args(reg.validate({ id: 'c', name: 'now', arguments: '' }))).toEqual({});
    expect(args(reg.validate({ id: 'c', name: 'now', arguments: undefined }))).toEqual({});
  });

  it('rejects unparsable strings with the parser message and the raw string', () => {
    const raw = '{"path": "a",}';
    expect(fails(call('read', raw), ToolErrorCode.ARGS_UNPARSABLE)).toBe(
      `Error: read tool arguments are not valid JSON (${parserMessage(raw)}). Received: ${raw}`,
    );
    const long = `{"path": "${'y'.repeat(250)}`;
    expect(fails(call('read', long), 'TOOL_ARGS_UNPARSABLE')).toBe(
      `Error: read tool arguments are not valid JSON (${parserMessage(long)}). Received: ${long.slice(0, 200)}…(truncated, ${long.length} chars)`,
    );
  });

  it('restores Error.stackTraceLimit after a failed parse', () => {
    const before = Error.stackTraceLimit;
    call('read', '{nope');
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('rejects arguments that are not an object', () => {
    const cases: [unknown, string, string][] = [
      [42, 'integer', '42'],
      [4.5, 'number', '4.5'],
      [null, 'null', 'null'],
      [true, 'boolean', 'true'],
      [[1, 2], 'array', '[1,2]'],
      ['[1, 2]', 'array', '[1,2]'],
      ['null', 'null', 'null'],
      ['"src/a.ts"', 'string', '"src/a.ts"'],
      ['7', 'integer', '7'],
    ];
    for (const [value, actual, shown] of cases) {
      expect(fails(call('read', value), ToolErrorCode.ARGS_NOT_OBJECT)).toBe(
        `Error: read tool arguments must be a JSON object, got ${actual}. Received: ${shown}`,
      );
    }
    expect(fails(call('read', 10n), 'TOOL_ARGS_NOT_OBJECT')).toBe(
      'Error: read tool arguments must be a JSON object, got bigint. Received: [unserializable]',
    );
  });
});

describe('check order (TOOL-9)', () => {
  it('unknown tool, then parse, then object-ness, then missing, then types, then other', () => {
    fails(call('nope', '{bad'), 'TOOL_UNKNOWN');
    fails(call('read', '{bad'), 'TOOL_ARGS_UNPARSABLE');
    fails(call('read', '[]'), 'TOOL_ARGS_NOT_OBJECT');
    // missing beats a type error on another parameter
    expect(fails(call('read', { offset: 'x' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: read tool requires \'path\' parameter. Received: {"offset":"x"}',
    );
    // a type error beats an earlier-listed other violation
    expect(fails(call('read', { path: 'a', offset: 0, limit: 'x' }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: read tool parameter \'limit\' must be integer, got string. Received: {"path":"a","offset":0,"limit":"x"}',
    );
  });
});

describe('TOOL-6 file_path alias', () => {
  it('uses file_path as path when path is absent; normalized args carry path only', () => {
    const v = call('read', { file_path: 'src/a.ts', limit: 5 });
    expect(args(v)).toEqual({ limit: 5, path: 'src/a.ts' });
    expect(Object.hasOwn(args(v), 'file_path')).toBe(false);
    expect(args(call('write', '{"file_path":"f","content":"x"}'))).toEqual({ path: 'f', content: 'x' });
    expect(args(call('edit', { file_path: 'f', oldText: 'a', newText: 'b' }))).toEqual({ path: 'f', oldText: 'a', newText: 'b' });
  });

  it('path wins when both are present', () => {
    expect(args(call('read', { path: 'p', file_path: 'fp' }))).toEqual({ path: 'p' });
  });

  it('validates the aliased value as path and renders what was received', () => {
    expect(fails(call('read', { file_path: 5 }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: read tool parameter \'path\' must be string, got integer. Received: {"file_path":5}',
    );
    expect(fails(call('read', { file_path: '  ' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: read tool requires \'path\' parameter. Received: {"file_path":"  "}',
    );
  });

  it('is not an alias for exec', () => {
    expect(fails(call('exec', { file_path: 'x' }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: exec tool requires \'command\' parameter. Received: {"file_path":"x"}',
    );
  });
});

describe('TOOL-7 a corrected retry with the same id passes', () => {
  it('keeps no per-call state', () => {
    const bad = call('read', {}, 'toolu_42');
    expect(fails(bad, 'TOOL_MISSING_PARAM')).toBe("Error: read tool requires 'path' parameter. Received: {}");
    const good = call('read', { path: 'README.md' }, 'toolu_42');
    expect(good).toEqual({ ok: true, id: 'toolu_42', name: 'read', args: { path: 'README.md' } });
    // ... and the same bad call again fails again.
    expect(call('read', {}, 'toolu_42')).toEqual(bad);
  });
});

describe('rendering (truncation boundary)', () => {
  it(`keeps exactly ${RENDER_LIMIT} characters and truncates 201`, () => {
    const at200 = { q: 'a'.repeat(192) }; // {"q":"…"} is 8 + 192 = 200 characters
    expect(JSON.stringify(at200)).toHaveLength(200);
    expect(fails(call('read', at200), 'TOOL_MISSING_PARAM')).toBe(
      `Error: read tool requires 'path' parameter. Received: ${JSON.stringify(at200)}`,
    );
    const at201 = { q: 'a'.repeat(193) };
    expect(fails(call('read', at201), 'TOOL_MISSING_PARAM')).toBe(
      `Error: read tool requires 'path' parameter. Received: ${JSON.stringify(at201).slice(0, 200)}…(truncated, 201 chars)`,
    );
  });

  it('renderArgs: compact JSON, [unserializable] for what JSON cannot render', () => {
    expect(renderArgs({ a: [1, { b: null }] })).toBe('{"a":[1,{"b":null}]}');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(renderArgs(cyclic)).toBe('[unserializable]');
    expect(renderArgs({ n: 1n })).toBe('[unserializable]');
    expect(renderArgs(undefined)).toBe('[unserializable]');
    expect(
      renderArgs({
        toJSON() {
          throw new Error('no');
        },
      }),
    ).toBe('[unserializable]');
    expect(renderArgs('x'.repeat(250))).toBe(`"${'x'.repeat(199)}…(truncated, 252 chars)`);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(199)}😀tail`;
    expect(truncateRendered(text)).toBe(`${'a'.repeat(199)}…(truncated, ${text.length} chars)`);
  });

  it('renders a cyclic argument object as [unserializable]', () => {
    const cyclic: Record<string, unknown> = { offset: 1 };
    cyclic['self'] = cyclic;
    expect(fails(call('read', cyclic), 'TOOL_MISSING_PARAM')).toBe(
      "Error: read tool requires 'path' parameter. Received: [unserializable]",
    );
  });
});

describe('user-registered tools', () => {
  const reg = new ToolRegistry();
  reg.register({
    name: 'grep',
    description: 'Search files.',
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string', 'x-ui': 'regex', examples: ['foo'] },
        mode: { enum: ['literal', 'regex'] },
        url: { type: 'string', format: 'uri' },
        opts: {
          type: 'object',
          properties: { depth: { type: 'integer' } },
          required: ['depth'],
          additionalProperties: false,
        },
        globs: { type: 'array', items: { type: 'string' } },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
  });
  const grep = (a: unknown): ToolValidation => reg.validate({ id: 'g1', name: 'grep', arguments: a });

  it('validates against the registered schema', () => {
    expect(args(grep({ pattern: 'TODO', mode: 'literal', opts: { depth: 2 } }))).toEqual({
      pattern: 'TODO',
      mode: 'literal',
      opts: { depth: 2 },
    });
    expect(reg.names()).toEqual(['edit', 'exec', 'grep', 'read', 'write']);
    expect(fails(grep({}), 'TOOL_MISSING_PARAM')).toBe("Error: grep tool requires 'pattern' parameter. Received: {}");
    expect(fails(grep({ pattern: 'a', mode: 'fuzzy' }), 'TOOL_INVALID_PARAM')).toBe(
      'Error: grep tool parameter \'mode\' must be equal to one of the allowed values. Received: {"pattern":"a","mode":"fuzzy"}',
    );
    expect(fails(grep({ pattern: 'a', extra: 1 }), 'TOOL_INVALID_PARAM')).toBe(
      'Error: grep tool parameter \'extra\' must NOT have additional properties. Received: {"pattern":"a","extra":1}',
    );
  });

  it('names nested parameters with a path', () => {
    expect(fails(grep({ pattern: 'a', opts: {} }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: grep tool requires \'opts.depth\' parameter. Received: {"pattern":"a","opts":{}}',
    );
    expect(fails(grep({ pattern: 'a', opts: { depth: 'deep' } }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: grep tool parameter \'opts.depth\' must be integer, got string. Received: {"pattern":"a","opts":{"depth":"deep"}}',
    );
    expect(fails(grep({ pattern: 'a', globs: ['*.ts', 3] }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: grep tool parameter \'globs[1]\' must be string, got integer. Received: {"pattern":"a","globs":["*.ts",3]}',
    );
  });

  it('formats are annotations only; unknown keywords are ignored', () => {
    expect(args(grep({ pattern: 'a', url: 'not a uri' }))).toEqual({ pattern: 'a', url: 'not a uri' });
  });

  it('a union type is rendered with "or"', () => {
    const r = new ToolRegistry({ builtins: false });
    r.register({ name: 'u', parameters: { type: 'object', properties: { v: { type: ['string', 'null'] } } } });
    expect(fails(r.validate({ id: 'c', name: 'u', arguments: { v: 1 } }), 'TOOL_INVALID_TYPE')).toBe(
      'Error: u tool parameter \'v\' must be string or null, got integer. Received: {"v":1}',
    );
  });

  it('required names that exist on Object.prototype are still required', () => {
    const r = new ToolRegistry({ builtins: false });
    r.register({ name: 'proto', parameters: { type: 'object', required: ['constructor', 'toString'] } });
    expect(fails(r.validate({ id: 'c', name: 'proto', arguments: {} }), 'TOOL_MISSING_PARAM')).toBe(
      "Error: proto tool requires 'constructor' parameter. Received: {}",
    );
    expect(args(r.validate({ id: 'c', name: 'proto', arguments: '{"constructor":1,"toString":2}' }))).toEqual({
      constructor: 1,
      toString: 2,
    });
  });

  it('allowEmpty and aliases are per tool; a later registration replaces the tool', () => {
    const r = new ToolRegistry();
    r.register({
      name: 'note',
      parameters: { type: 'object', properties: { title: { type: 'string' }, body: { type: 'string' } }, required: ['title', 'body'] },
      allowEmpty: ['body'],
      aliases: { heading: 'title' },
    });
    expect(args(r.validate({ id: 'n', name: 'note', arguments: { heading: 'T', body: '' } }))).toEqual({ body: '', title: 'T' });
    expect(fails(r.validate({ id: 'n', name: 'note', arguments: { title: '', body: 'x' } }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: note tool requires \'title\' parameter. Received: {"title":"","body":"x"}',
    );
    r.register({ name: 'read', parameters: { type: 'object', properties: { uri: { type: 'string' } }, required: ['uri'] } });
    expect(fails(r.validate({ id: 'n', name: 'read', arguments: { path: 'a' } }), 'TOOL_MISSING_PARAM')).toBe(
      'Error: read tool requires \'uri\' parameter. Received: {"path":"a"}',
    );
    // The default registry is untouched.
    expect(call('read', { path: 'a' }).ok).toBe(true);
  });

  it('detaches the schema from the caller object', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] as string[] };
    const r = new ToolRegistry({ builtins: false });
    r.register({ name: 't', parameters: schema });
    schema.required.push('b');
    expect(r.validate({ id: 'c', name: 't', arguments: { a: 'x' } }).ok).toBe(true);
  });
});

describe('registration errors (the one place that throws)', () => {
  const reg = new ToolRegistry();
  const attempt = (def: unknown): unknown => {
    try {
      reg.register(def as Parameters<ToolRegistry['register']>[0]);
    } catch (err) {
      return err;
    }
    return null;
  };

  it('throws ToolSchemaError for a schema AJV cannot compile', () => {
    const err = attempt({ name: 'bad', parameters: { type: 'object', properties: { a: { type: 'strin' } } } });
    expect(err).toBeInstanceOf(ToolSchemaError);
    const e = err as ToolSchemaError;
    expect(e.name).toBe('ToolSchemaError');
    expect(e.toolName).toBe('bad');
    expect(e.message).toMatch(/^tool 'bad': invalid parameters schema: schema is invalid: data\/properties\/a\/type/);
    expect(e.schemaErrors?.length).toBeGreaterThan(0);

    const ref = attempt({ name: 'ref', parameters: { type: 'object', properties: { a: { $ref: '#/nope' } } } });
    expect(ref).toBeInstanceOf(ToolSchemaError);
    expect((ref as Error).message).toBe("tool 'ref': invalid parameters schema: can't resolve reference #/nope from id #");

    expect(attempt({ name: 'req', parameters: { type: 'object', required: 'a' } })).toBeInstanceOf(ToolSchemaError);
    expect(attempt({ name: 'pat', parameters: { type: 'object', properties: { a: { pattern: '(' } } } })).toBeInstanceOf(
      ToolSchemaError,
    );
  });

  it('throws for a non-object root schema, a bad name, or bad options', () => {
    expect((attempt({ name: 's', parameters: { type: 'string' } }) as Error).message).toBe(
      'tool \'s\': parameters must describe an object (type "object"), got type "string"',
    );
    expect(attempt({ name: 'has space', parameters: {} })).toBeInstanceOf(ToolSchemaError);
    expect(attempt({ name: '', parameters: {} })).toBeInstanceOf(ToolSchemaError);
    expect(attempt({ name: 'n' })).toBeInstanceOf(ToolSchemaError);
    expect(attempt({ name: 'n', parameters: [] })).toBeInstanceOf(ToolSchemaError);
    expect(attempt({ name: 'n', parameters: { type: 'object', default: () => 1 } })).toBeInstanceOf(ToolSchemaError);
    expect(attempt({ name: 'n', parameters: {}, aliases: { a: 'a' } })).toBeInstanceOf(ToolSchemaError);
    expect(attempt(null)).toBeInstanceOf(ToolSchemaError);
    // A failed registration leaves the registry as it was.
    expect(reg.names()).toEqual(['edit', 'exec', 'read', 'write']);
  });

  it('accepts two tools sharing an $id and common annotation keywords', () => {
    const r = new ToolRegistry({ builtins: false });
    const p = { $id: 'https://example.com/schemas/tool.json', type: 'object', title: 'T', description: 'd', 'x-internal': true, properties: {} };
    r.register({ name: 'a', parameters: p });
    r.register({ name: 'b', parameters: p });
    expect(r.names()).toEqual(['a', 'b']);
  });
});

describe('TOOL-8 hostile inputs', () => {
  it('a throwing getter or revoked proxy gives TOOL_ARGS_UNREADABLE', () => {
    const getter = Object.defineProperty({}, 'path', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(fails(call('read', getter), ToolErrorCode.ARGS_UNREADABLE)).toBe(
      'Error: read tool arguments could not be read. Received: [unserializable]',
    );
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(fails(call('read', proxy), 'TOOL_ARGS_UNREADABLE')).toBe(
      'Error: read tool arguments could not be read. Received: [unserializable]',
    );
  });

  it('a call object that throws or is not an object still gets an answer', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
      },
    );
    const v = validateToolCall(hostile as never);
    expect(v.ok).toBe(false);
    expect(validateToolCall(null as never).ok).toBe(false);
    const argsThrow = {
      id: 'c9',
      name: 'read',
      get arguments(): unknown {
        throw new Error('no');
      },
    };
    expect(fails(validateToolCall(argsThrow), 'TOOL_ARGS_UNREADABLE')).toBe(
      'Error: read tool arguments could not be read. Received: [unserializable]',
    );
  });

  it('__proto__ keys stay ordinary keys and pollute nothing', () => {
    const v = call('read', '{"path":"a","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}');
    const a = args(v);
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(Object.hasOwn(a, '__proto__')).toBe(true);
    expect(Object.keys(a)).toEqual(['path', '__proto__', 'constructor']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const parsed = JSON.parse('{"path":"b","__proto__":{"polluted":3}}') as Record<string, unknown>;
    const b = args(call('read', parsed));
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    expect(b['__proto__']).toEqual({ polluted: 3 });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('returns a fresh plain copy and never mutates the input', () => {
    const input = Object.freeze({ file_path: 'x', offset: 2 });
    const a = args(call('read', input));
    expect(a).not.toBe(input);
    expect(a).toEqual({ offset: 2, path: 'x' });
    expect(input).toEqual({ file_path: 'x', offset: 2 });
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { path: 'n' });
    const b = args(call('read', nullProto));
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    // inherited enumerable keys are not arguments
    const child = Object.assign(Object.create({ path: 'inherited' }) as Record<string, unknown>, { offset: 1 });
    fails(call('read', child), 'TOOL_MISSING_PARAM');
  });

  it('handles huge strings', () => {
    const huge = 'z'.repeat(2_000_000);
    const v = call('read', { path: 5, blob: huge });
    // {"path":5,"blob":" is 18 characters, then the blob, then "}
    expect(fails(v, 'TOOL_INVALID_TYPE')).toBe(
      `Error: read tool parameter 'path' must be string, got integer. Received: {"path":5,"blob":"${'z'.repeat(182)}…(truncated, ${2_000_000 + 20} chars)`,
    );
    expect(args(call('read', { path: huge })).path).toBe(huge);
    fails(call('read', `{"path":"${huge}`), 'TOOL_ARGS_UNPARSABLE');
  });
});

// ----------------------------------------------------------------- properties

const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const keyArb = fc.oneof(fc.string(), protoKeys, fc.constantFrom('path', 'file_path', 'offset', 'limit', 'command'));
const anythingArb = fc.anything({
  key: keyArb,
  maxDepth: 3,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
});

/**
 * Values built to break naive code: getters that throw, proxies, cycles.
 * Built fresh inside the property (fast-check itself cannot handle a revoked
 * proxy as a generated value), from a recipe the arbitrary picks.
 */
class Hostile {
  constructor(
    readonly label: string,
    readonly make: () => unknown,
  ) {}
  toString(): string {
    return `Hostile(${this.label})`;
  }
}
const throwingGetter = (key: string): object =>
  Object.defineProperty({}, key, {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
const hostileArb = fc.oneof(
  anythingArb.map(
    (inner) =>
      new Hostile('cyclic', () => {
        const o: Record<string, unknown> = { path: 'a', inner };
        o['self'] = o;
        return o;
      }),
  ),
  fc.constantFrom('path', 'offset', '__proto__', 'x').map((k) => new Hostile(`getter ${k}`, () => throwingGetter(k))),
  fc.constant(
    new Hostile('ownKeys throws', () => new Proxy({}, { ownKeys() { throw new Error('ownKeys'); } })),
  ),
  fc.constant(
    new Hostile('revoked proxy', () => {
      const { proxy, revoke } = Proxy.revocable({ path: 'a' }, {});
      revoke();
      return proxy;
    }),
  ),
  fc.constant(
    new Hostile('get trap with throwing toJSON', () =>
      new Proxy(
        { path: 'a', other: 1 },
        {
          get(_t, key) {
            return key === 'path'
              ? 'p'
              : {
                  toJSON() {
                    throw new Error('toJSON');
                  },
                };
          },
        },
      ),
    ),
  ),
  fc.constant(
    new Hostile('throwing toJSON', () => ({
      toJSON() {
        throw new Error('toJSON');
      },
    })),
  ),
  fc.constant(new Hostile('BigInt inside', () => ({ path: 5, n: 10n }))),
  fc.constant(new Hostile('array-like proxy', () => new Proxy([1, 2], {}))),
);
const build = (v: unknown): unknown => (v instanceof Hostile ? v.make() : v);

const jsonStringArb = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.record({ path: fc.oneof(fc.string(), fc.constant('')), offset: fc.anything() }).map((r) => JSON.stringify(r) ?? ''),
  fc.dictionary(keyArb, fc.jsonValue({ maxDepth: 2 })).map((d) => JSON.stringify(d)),
  protoKeys.map((k) => `{"path":"a",${JSON.stringify(k)}:{"polluted":true}}`),
  fc.string(),
  fc.constantFrom('', '  ', '{', '[]', 'null', '{"path":', '"x"', `{"path":"${'q'.repeat(400)}"}`),
);

const argsArb = fc.oneof(anythingArb, jsonStringArb, hostileArb, fc.dictionary(keyArb, anythingArb));
const nameArb = fc.oneof(fc.constantFrom('read', 'write', 'edit', 'exec', 'grep', 'nope', '__proto__', 'constructor'), anythingArb);
const idArb = fc.oneof(fc.string(), anythingArb);

function ownKeySnapshot(o: object): string[] {
  return Reflect.ownKeys(o).map(String).sort();
}

describe('properties (TOOL-8)', () => {
  const reg = new ToolRegistry();
  reg.register({
    name: 'grep',
    parameters: {
      type: 'object',
      properties: { pattern: { type: 'string' }, n: { type: 'integer', minimum: 0 }, o: { type: 'object' } },
      required: ['pattern', 'constructor'],
      additionalProperties: false,
    },
  });

  it('never throws, always answers for the call id, pollutes no prototype', () => {
    const objectProto = ownKeySnapshot(Object.prototype);
    const arrayProto = ownKeySnapshot(Array.prototype);
    const functionProto = ownKeySnapshot(Function.prototype);
    fc.assert(
      fc.property(idArb, nameArb, argsArb, fc.boolean(), (id, name, recipe, useRegistry) => {
        const argsValue = build(recipe);
        const input = { id, name, arguments: argsValue } as { id: string; name: string; arguments: unknown };
        let v: ToolValidation;
        try {
          v = useRegistry ? reg.validate(input) : validateToolCall(input);
        } catch (err) {
          throw new Error(`validateToolCall threw: ${String(err)}`);
        }
        expect(Object.is(v.id, id)).toBe(true);
        expect(Object.is(v.name, name)).toBe(true);
        if (v.ok) {
          expect(Object.getPrototypeOf(v.args)).toBe(Object.prototype);
          expect(v.args).not.toBe(argsValue);
        } else {
          expect(Object.values(ToolErrorCode)).toContain(v.code);
          expect(v.result.type).toBe('tool_result');
          expect(v.result.is_error).toBe(true);
          expect(Object.is(v.result.tool_use_id, id)).toBe(true);
          expect(typeof v.result.content).toBe('string');
          expect(v.result.content.startsWith('Error: ')).toBe(true);
        }
        expect(ownKeySnapshot(Object.prototype)).toEqual(objectProto);
        expect(ownKeySnapshot(Array.prototype)).toEqual(arrayProto);
        expect(ownKeySnapshot(Function.prototype)).toEqual(functionProto);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('is a pure function of its input (TOOL-7): same call, same answer', () => {
    fc.assert(
      fc.property(fc.string(), nameArb, fc.oneof(jsonStringArb, fc.jsonValue({ maxDepth: 3 })), (id, name, argsValue) => {
        const a = validateToolCall({ id, name: name as string, arguments: argsValue });
        const b = validateToolCall({ id, name: name as string, arguments: argsValue });
        expect(b).toEqual(a);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid read calls pass with path preserved, in either form', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
        fc.option(fc.integer({ min: 1 }), { nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        (path, offset, asJson, alias) => {
          const obj: Record<string, unknown> = alias ? { file_path: path } : { path };
          if (offset !== undefined) obj['offset'] = offset;
          const v = call('read', asJson ? JSON.stringify(obj) : obj, 'id');
          const a = args(v);
          expect(a['path']).toBe(path);
          expect(Object.hasOwn(a, 'file_path')).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
