import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONFIG_SCHEMA,
  ConfigError,
  MAX_TIMER_MS,
  OPENCLAW_TOP_LEVEL_KEYS,
  formatPath,
  loadConfigFile,
  mergeConfig,
  parseConfig,
  queueModeForChannel,
  suggestKey,
} from '../src/model/config.ts';
import {
  DEFAULT_CONFIG,
  DROP_POLICY_ALIASES,
  QUEUE_MODE_ALIASES,
  type LanesimConfig,
} from '../src/model/config-types.ts';
import { OWNED_LEAVES, arbValidConfigInput, arbWrongValue, setAt } from './arbitraries/config.ts';

const numRuns = Number(process.env.LANESIM_PROPERTY_RUNS ?? 200);

const MODE_LIST =
  'one of steer, followup, collect, steer-backlog, interrupt (or an alias: steering, queue, queued, followups, follow-ups, coalesce, steer+backlog, steer_backlog, interrupts, abort)';
const DROP_LIST = 'one of old, new, summarize (or an alias: oldest, newest, summary)';

/** Runs parseConfig expecting a ConfigError and returns it. */
function configError(input: unknown, opts?: { source?: string }): ConfigError {
  try {
    parseConfig(input, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(input)}`);
}

function expectError(input: unknown, path: string, value: unknown, message: string): ConfigError {
  const err = configError(input);
  expect(err.code).toBe('CONFIG_INVALID');
  expect(err.path).toBe(path);
  expect(err.value).toEqual(value);
  expect(err.message).toBe(message);
  expect(err.errors[0]).toMatchObject({ path, message });
  return err;
}

function expectDeepFrozen(value: unknown, where = 'config'): void {
  if (typeof value !== 'object' || value === null) return;
  expect(Object.isFrozen(value), `${where} is frozen`).toBe(true);
  for (const [k, v] of Object.entries(value)) expectDeepFrozen(v, `${where}.${k}`);
}

describe('parseConfig: defaults and values', () => {
  it('an empty config gives DEFAULT_CONFIG, as a fresh deep copy', () => {
    const config = parseConfig({});
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config).not.toBe(DEFAULT_CONFIG);
    expect(config.agents).not.toBe(DEFAULT_CONFIG.agents);
    expect(config.agents.defaults.lane).not.toBe(DEFAULT_CONFIG.agents.defaults.lane);
    expect(config.messages.queue).not.toBe(DEFAULT_CONFIG.messages.queue);
    expect(config.messages.queue.byChannel).not.toBe(DEFAULT_CONFIG.messages.queue.byChannel);
    expect(config.gateway.heartbeat).not.toBe(DEFAULT_CONFIG.gateway.heartbeat);
    expect(parseConfig({})).not.toBe(config);
  });

  it('the result is deeply frozen', () => {
    const config = parseConfig({ messages: { queue: { byChannel: { webchat: 'steer' } } } });
    expectDeepFrozen(config);
    expect(() => {
      (config.messages.queue as { cap: number }).cap = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.messages.queue.byChannel as Record<string, string>).telegram = 'steer';
    }).toThrow(TypeError);
  });

  it('takes every owned key and fills the rest from defaults', () => {
    const input = {
      agents: {
        defaults: {
          maxConcurrent: 2,
          subagents: { maxConcurrent: 3 },
          lane: { maxConcurrent: 5, warnThresholdMs: 10_000, nestedAgentParallel: true },
        },
      },
      cron: { maxConcurrentRuns: 6 },
      messages: { queue: { mode: 'steer', debounceMs: 0, cap: 7, drop: 'new', byChannel: { webchat: 'interrupt' } } },
      diagnostics: { laneWaitWarnMs: 0 },
      gateway: { heartbeat: { intervalMs: 1, pingIntervalMs: 2, deadAfterMs: 3 }, tickIntervalMs: 4 },
    };
    const expected: LanesimConfig = {
      agents: {
        defaults: {
          maxConcurrent: 2,
          subagents: { maxConcurrent: 3 },
          lane: { maxConcurrent: 5, warnThresholdMs: 10_000, nestedAgentParallel: true },
        },
      },
      cron: { maxConcurrentRuns: 6 },
      messages: { queue: { mode: 'steer', debounceMs: 0, cap: 7, drop: 'new', byChannel: { webchat: 'interrupt' } } },
      diagnostics: { laneWaitWarnMs: 0 },
      gateway: { heartbeat: { intervalMs: 1, pingIntervalMs: 2, deadAfterMs: 3 }, tickIntervalMs: 4 },
    };
    expect(parseConfig(input)).toEqual(expected);
    expect(parseConfig({ messages: { queue: { cap: 3 } } }).messages.queue).toEqual({
      ...DEFAULT_CONFIG.messages.queue,
      cap: 3,
    });
  });

  it('does not modify or share structure with the input', () => {
    const input = { messages: { queue: { mode: ' Steering ', byChannel: { webchat: 'QUEUE' } } } };
    const snapshot = structuredClone(input);
    const config = parseConfig(input);
    expect(input).toEqual(snapshot);
    expect(Object.isFrozen(input.messages)).toBe(false);
    expect(config.messages.queue.byChannel).not.toBe(input.messages.queue.byChannel);
  });

  it("accepts (and ignores) a real OpenClaw config's other keys", () => {
    const openclaw = {
      $schema: 'https://example.invalid/openclaw.schema.json',
      gateway: { mode: 'local', port: 18789, bind: 'loopback', auth: { mode: 'token', token: 't' } },
      update: { checkOnStart: false },
      agents: {
        defaults: {
          model: { primary: 'fake/fake-model' },
          workspace: '~/w',
          maxConcurrent: 1,
          subagents: { maxConcurrent: 2, archiveAfterMinutes: 60, model: 'x', maxSpawnDepth: 2 },
        },
        list: [{ id: 'main' }],
      },
      messages: { queue: { mode: 'followup', cap: 5, drop: 'old', debounceMsByChannel: { webchat: 10 } }, inbound: {} },
      models: { mode: 'merge', providers: { fake: { baseUrl: 'http://127.0.0.1:1/v1', models: [] } } },
      channels: { webchat: {} },
      cron: { enabled: true },
      diagnostics: { enabled: true },
    };
    const config = parseConfig(openclaw);
    expect(config.agents.defaults.maxConcurrent).toBe(1);
    expect(config.agents.defaults.subagents).toEqual({ maxConcurrent: 2 });
    expect(config.messages.queue).toEqual({ mode: 'followup', debounceMs: 500, cap: 5, drop: 'old', byChannel: {} });
    expect(Object.keys(config).sort()).toEqual(['agents', 'cron', 'diagnostics', 'gateway', 'messages']);
    expect(Object.keys(config.gateway).sort()).toEqual(['heartbeat', 'tickIntervalMs']);
  });

  it('accepts every OpenClaw top-level key', () => {
    for (const key of OPENCLAW_TOP_LEVEL_KEYS) {
      const value = key === '$schema' ? 'x' : ['agents', 'messages', 'cron', 'gateway', 'diagnostics'].includes(key) ? {} : { anything: [1, 'two'] };
      expect(() => parseConfig({ [key]: value }), key).not.toThrow();
    }
  });

  it('treats undefined values of owned keys as absent', () => {
    expect(parseConfig({ messages: { queue: { cap: undefined } }, gateway: undefined })).toEqual(DEFAULT_CONFIG);
  });

  it('turns -0 into 0', () => {
    expect(Object.is(parseConfig({ messages: { queue: { debounceMs: -0 } } }).messages.queue.debounceMs, 0)).toBe(true);
  });
});

describe('parseConfig: aliases', () => {
  it.each(Object.entries(QUEUE_MODE_ALIASES))('mode alias %s -> %s (trimmed, any case, also in byChannel)', (alias, mode) => {
    for (const spelling of [alias, alias.toUpperCase(), `  ${alias}\t`]) {
      const config = parseConfig({ messages: { queue: { mode: spelling, byChannel: { webchat: spelling } } } });
      expect(config.messages.queue.mode).toBe(mode);
      expect(config.messages.queue.byChannel).toEqual({ webchat: mode });
    }
  });

  it.each(Object.entries(DROP_POLICY_ALIASES))('drop alias %s -> %s', (alias, drop) => {
    for (const spelling of [alias, alias.toUpperCase(), ` ${alias} `]) {
      expect(parseConfig({ messages: { queue: { drop: spelling } } }).messages.queue.drop).toBe(drop);
    }
  });

  it('reports the value as written when it is not an alias', () => {
    expectError(
      { messages: { queue: { mode: ' Turbo ' } } },
      'messages.queue.mode',
      ' Turbo ',
      `config: messages.queue.mode must be ${MODE_LIST}, got " Turbo "`,
    );
  });
});

describe('parseConfig: error messages', () => {
  it('non-numeric debounce', () => {
    expectError(
      { messages: { queue: { debounceMs: 'fast' } } },
      'messages.queue.debounceMs',
      'fast',
      'config: messages.queue.debounceMs must be a non-negative integer (ms), got "fast"',
    );
  });

  it('numeric strings and duration strings are rejected, not coerced', () => {
    expectError(
      { messages: { queue: { debounceMs: '500' } } },
      'messages.queue.debounceMs',
      '500',
      'config: messages.queue.debounceMs must be a non-negative integer (ms), got "500"',
    );
    expectError(
      { gateway: { heartbeat: { intervalMs: '15s' } } },
      'gateway.heartbeat.intervalMs',
      '15s',
      'config: gateway.heartbeat.intervalMs must be a positive integer (ms), got "15s"',
    );
    expectError(
      { agents: { defaults: { maxConcurrent: '4' } } },
      'agents.defaults.maxConcurrent',
      '4',
      'config: agents.defaults.maxConcurrent must be a positive integer, got "4"',
    );
  });

  it.each([
    [-1, '-1'],
    [0, '0'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [null, 'null'],
    [true, 'true'],
  ])('concurrency %s', (value, rendered) => {
    expectError(
      { agents: { defaults: { maxConcurrent: value } } },
      'agents.defaults.maxConcurrent',
      value,
      `config: agents.defaults.maxConcurrent must be a positive integer, got ${rendered}`,
    );
  });

  it('every concurrency key and cap', () => {
    expectError(
      { agents: { defaults: { subagents: { maxConcurrent: 0 } } } },
      'agents.defaults.subagents.maxConcurrent',
      0,
      'config: agents.defaults.subagents.maxConcurrent must be a positive integer, got 0',
    );
    expectError(
      { agents: { defaults: { lane: { maxConcurrent: -2 } } } },
      'agents.defaults.lane.maxConcurrent',
      -2,
      'config: agents.defaults.lane.maxConcurrent must be a positive integer, got -2',
    );
    expectError(
      { cron: { maxConcurrentRuns: 2.5 } },
      'cron.maxConcurrentRuns',
      2.5,
      'config: cron.maxConcurrentRuns must be a positive integer, got 2.5',
    );
    expectError(
      { messages: { queue: { cap: 0 } } },
      'messages.queue.cap',
      0,
      'config: messages.queue.cap must be a positive integer, got 0',
    );
  });

  it('durations: ranges and the timer limit', () => {
    expectError(
      { agents: { defaults: { lane: { warnThresholdMs: 0 } } } },
      'agents.defaults.lane.warnThresholdMs',
      0,
      'config: agents.defaults.lane.warnThresholdMs must be a positive integer (ms), got 0',
    );
    expectError(
      { diagnostics: { laneWaitWarnMs: -1 } },
      'diagnostics.laneWaitWarnMs',
      -1,
      'config: diagnostics.laneWaitWarnMs must be a non-negative integer (ms), got -1',
    );
    expectError(
      { gateway: { tickIntervalMs: 0 } },
      'gateway.tickIntervalMs',
      0,
      'config: gateway.tickIntervalMs must be a positive integer (ms), got 0',
    );
    expectError(
      { messages: { queue: { debounceMs: MAX_TIMER_MS + 1 } } },
      'messages.queue.debounceMs',
      MAX_TIMER_MS + 1,
      "config: messages.queue.debounceMs must be at most 2147483647 (ms; Node's largest timer delay), got 2147483648",
    );
    expect(parseConfig({ messages: { queue: { debounceMs: MAX_TIMER_MS } } }).messages.queue.debounceMs).toBe(MAX_TIMER_MS);
  });

  it('unknown mode and drop policy', () => {
    expectError(
      { messages: { queue: { mode: 'turbo' } } },
      'messages.queue.mode',
      'turbo',
      `config: messages.queue.mode must be ${MODE_LIST}, got "turbo"`,
    );
    expectError(
      { messages: { queue: { mode: 3 } } },
      'messages.queue.mode',
      3,
      `config: messages.queue.mode must be ${MODE_LIST}, got 3`,
    );
    expectError(
      { messages: { queue: { drop: 'oldest-first' } } },
      'messages.queue.drop',
      'oldest-first',
      `config: messages.queue.drop must be ${DROP_LIST}, got "oldest-first"`,
    );
    expectError(
      { messages: { queue: { byChannel: { webchat: 'fast' } } } },
      'messages.queue.byChannel.webchat',
      'fast',
      `config: messages.queue.byChannel.webchat must be ${MODE_LIST}, got "fast"`,
    );
  });

  it('non-boolean nestedAgentParallel', () => {
    expectError(
      { agents: { defaults: { lane: { nestedAgentParallel: 'yes' } } } },
      'agents.defaults.lane.nestedAgentParallel',
      'yes',
      'config: agents.defaults.lane.nestedAgentParallel must be a boolean (true or false), got "yes"',
    );
    expectError(
      { agents: { defaults: { lane: { nestedAgentParallel: 1 } } } },
      'agents.defaults.lane.nestedAgentParallel',
      1,
      'config: agents.defaults.lane.nestedAgentParallel must be a boolean (true or false), got 1',
    );
  });

  it('wrong container types', () => {
    expectError(null, '', null, 'config: the top level must be an object, got null');
    expectError([], '', [], 'config: the top level must be an object, got []');
    expectError('agents', '', 'agents', 'config: the top level must be an object, got "agents"');
    expectError({ messages: [] }, 'messages', [], 'config: messages must be an object, got []');
    expectError({ messages: { queue: 'collect' } }, 'messages.queue', 'collect', 'config: messages.queue must be an object, got "collect"');
    expectError({ agents: { defaults: null } }, 'agents.defaults', null, 'config: agents.defaults must be an object, got null');
    expectError({ agents: { defaults: { lane: true } } }, 'agents.defaults.lane', true, 'config: agents.defaults.lane must be an object, got true');
    expectError({ gateway: { heartbeat: 15000 } }, 'gateway.heartbeat', 15000, 'config: gateway.heartbeat must be an object, got 15000');
    expectError(
      { messages: { queue: { byChannel: ['webchat'] } } },
      'messages.queue.byChannel',
      ['webchat'],
      'config: messages.queue.byChannel must be an object, got ["webchat"]',
    );
    expectError({ cron: 1 }, 'cron', 1, 'config: cron must be an object, got 1');
    expectError({ diagnostics: 'on' }, 'diagnostics', 'on', 'config: diagnostics must be an object, got "on"');
  });

  it('renders values as compact JSON cut at 80 characters', () => {
    const long = 'x'.repeat(200);
    const err = configError({ messages: { queue: { cap: long } } });
    const got = err.message.slice(err.message.indexOf('got ') + 4);
    expect(got).toHaveLength(80);
    expect(got).toBe(`"${'x'.repeat(76)}...`);
    expect(configError({ messages: { queue: { cap: { a: [1, 2] } } } }).message).toBe(
      'config: messages.queue.cap must be a positive integer, got {"a":[1,2]}',
    );
  });

  it('writes odd key names in brackets', () => {
    expectError(
      { messages: { queue: { byChannel: { 'my channel': 'nope' } } } },
      'messages.queue.byChannel["my channel"]',
      'nope',
      `config: messages.queue.byChannel["my channel"] must be ${MODE_LIST}, got "nope"`,
    );
    expect(formatPath(['a', 0, 'b-c', 'd.e', ''])).toBe('a[0].b-c["d.e"][""]');
  });

  it('prefixes messages with the source when given', () => {
    const err = configError({ messages: { queue: { cap: 0 } } }, { source: 'lanesim.json5' });
    expect(err.message).toBe('config (lanesim.json5): messages.queue.cap must be a positive integer, got 0');
    expect(err.source).toBe('lanesim.json5');
  });
});

describe('parseConfig: unknown keys', () => {
  it.each([
    [{ mesages: {} }, 'mesages', {}, 'config: mesages is not a known key (did you mean "messages"?)'],
    [{ agent: {} }, 'agent', {}, 'config: agent is not a known key (did you mean "agents"?)'],
    [{ zzz: 1 }, 'zzz', 1, 'config: zzz is not a known key'],
    [{ messages: { queue: { moed: 'steer' } } }, 'messages.queue.moed', 'steer', 'config: messages.queue.moed is not a known key (did you mean "mode"?)'],
    [{ messages: { queue: { debounce: 5 } } }, 'messages.queue.debounce', 5, 'config: messages.queue.debounce is not a known key (did you mean "debounceMs"?)'],
    [{ messages: { queue: { byChanel: {} } } }, 'messages.queue.byChanel', {}, 'config: messages.queue.byChanel is not a known key (did you mean "byChannel"?)'],
    [{ messages: { queue: { priority: 1 } } }, 'messages.queue.priority', 1, 'config: messages.queue.priority is not a known key'],
    [
      { agents: { defaults: { lane: { maxConcurent: 2 } } } },
      'agents.defaults.lane.maxConcurent',
      2,
      'config: agents.defaults.lane.maxConcurent is not a known key (did you mean "maxConcurrent"?)',
    ],
    [
      { agents: { defaults: { lane: { nestedAgentsParallel: true } } } },
      'agents.defaults.lane.nestedAgentsParallel',
      true,
      'config: agents.defaults.lane.nestedAgentsParallel is not a known key (did you mean "nestedAgentParallel"?)',
    ],
    [
      { agents: { defaults: { subagents: { maxConcurrentRuns: 2 } } } },
      'agents.defaults.subagents.maxConcurrentRuns',
      2,
      'config: agents.defaults.subagents.maxConcurrentRuns is not a known key (did you mean "maxConcurrent"?)',
    ],
    [
      { gateway: { heartbeat: { intervalMS: 5 } } },
      'gateway.heartbeat.intervalMS',
      5,
      'config: gateway.heartbeat.intervalMS is not a known key (did you mean "intervalMs"?)',
    ],
    [{ gateway: { heartbeat: { deadAfter: 5 } } }, 'gateway.heartbeat.deadAfter', 5, 'config: gateway.heartbeat.deadAfter is not a known key (did you mean "deadAfterMs"?)'],
  ])('%j', (input, path, value, message) => {
    expectError(input, path, value, message);
  });

  it('open objects accept other keys', () => {
    expect(() =>
      parseConfig({
        agents: { list: [], defaults: { model: 'x', heartbeat: { every: '30m' } } },
        messages: { inbound: { debounceMs: 5 }, responsePrefix: '>' },
        gateway: { port: 1, tls: {} },
        cron: { store: 'x' },
        diagnostics: { otel: {} },
      }),
    ).not.toThrow();
  });

  it('suggestKey picks the closest sibling within a third of the length', () => {
    expect(suggestKey('moed', ['mode', 'cap'])).toBe('mode');
    expect(suggestKey('CAP', ['mode', 'cap'])).toBe('cap');
    expect(suggestKey('xyz', ['mode', 'cap'])).toBeUndefined();
    expect(suggestKey('dorp', ['drop', 'mode'])).toBe('drop');
  });
});

describe('parseConfig: all issues, in input order', () => {
  it('lists every issue; the first one in the input is the error', () => {
    const err = configError({
      messages: { queue: { cap: -1, moed: 'x', mode: 'turbo' } },
      mesages: {},
      agents: { defaults: { maxConcurrent: 1.5, lane: { nestedAgentParallel: 'no' } } },
    });
    expect(err.errors.map((i) => i.path)).toEqual([
      'messages.queue.cap',
      'messages.queue.moed',
      'messages.queue.mode',
      'mesages',
      'agents.defaults.maxConcurrent',
      'agents.defaults.lane.nestedAgentParallel',
    ]);
    expect(err.errors.map((i) => i.kind)).toEqual([
      'invalid-value',
      'unknown-key',
      'invalid-value',
      'unknown-key',
      'invalid-value',
      'invalid-value',
    ]);
    expect(err.path).toBe('messages.queue.cap');
    expect(Object.isFrozen(err.errors)).toBe(true);
  });

  it('reports one issue per path', () => {
    const err = configError({ agents: { defaults: { maxConcurrent: -1.5 } } });
    expect(err.errors).toHaveLength(1);
    expect(err.message).toBe('config: agents.defaults.maxConcurrent must be a positive integer, got -1.5');
  });
});

describe('parseConfig: cross-field check', () => {
  it('deadAfterMs must exceed pingIntervalMs', () => {
    expectError(
      { gateway: { heartbeat: { pingIntervalMs: 10_000, deadAfterMs: 10_000 } } },
      'gateway.heartbeat.deadAfterMs',
      10_000,
      'config: gateway.heartbeat.deadAfterMs must be greater than gateway.heartbeat.pingIntervalMs (10000), got 10000',
    );
    expect(parseConfig({ gateway: { heartbeat: { pingIntervalMs: 10_000, deadAfterMs: 10_001 } } }).gateway.heartbeat).toEqual({
      intervalMs: 15_000,
      pingIntervalMs: 10_000,
      deadAfterMs: 10_001,
    });
  });

  it('applies to the values after defaults', () => {
    const err = expectError(
      { gateway: { heartbeat: { pingIntervalMs: 60_000 } } },
      'gateway.heartbeat.deadAfterMs',
      45_000,
      'config: gateway.heartbeat.deadAfterMs must be greater than gateway.heartbeat.pingIntervalMs (60000), got 45000 (the default)',
    );
    expect(err.errors[0]?.kind).toBe('cross-field');
    expectError(
      { gateway: { heartbeat: { deadAfterMs: 15_000 } } },
      'gateway.heartbeat.deadAfterMs',
      15_000,
      'config: gateway.heartbeat.deadAfterMs must be greater than gateway.heartbeat.pingIntervalMs (15000), got 15000',
    );
  });

  it('is skipped when either value is itself invalid', () => {
    const err = configError({ gateway: { heartbeat: { pingIntervalMs: 'x', deadAfterMs: 1 } } });
    expect(err.errors.map((i) => i.path)).toEqual(['gateway.heartbeat.pingIntervalMs']);
  });

  it('is reported alongside other issues', () => {
    const err = configError({ gateway: { heartbeat: { deadAfterMs: 1 } }, messages: { queue: { cap: 0 } } });
    expect(err.errors.map((i) => i.path)).toEqual(['gateway.heartbeat.deadAfterMs', 'messages.queue.cap']);
  });
});

describe('parseConfig: prototype pollution', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('a top-level __proto__ key is an unknown key', () => {
    const input: unknown = JSON.parse('{"__proto__": {"polluted": 1}}');
    expectError(input, '__proto__', { polluted: 1 }, 'config: __proto__ is not a known key');
  });

  it.each([
    ['{"messages": {"queue": {"__proto__": {"polluted": 1}}}}', 'messages.queue.__proto__'],
    ['{"messages": {"__proto__": {"polluted": 1}}}', 'messages.__proto__'],
    ['{"agents": {"defaults": {"__proto__": {"polluted": 1}}}}', 'agents.defaults.__proto__'],
    ['{"agents": {"defaults": {"lane": {"__proto__": {"polluted": 1}}}}}', 'agents.defaults.lane.__proto__'],
    ['{"gateway": {"constructor": {"prototype": {"polluted": 1}}}}', 'gateway.constructor'],
    ['{"constructor": {"prototype": {"polluted": 1}}}', 'constructor'],
    ['{"messages": {"queue": {"byChannel": {"__proto__": "steer"}}}}', 'messages.queue.byChannel.__proto__'],
    ['{"messages": {"queue": {"byChannel": {"constructor": "steer"}}}}', 'messages.queue.byChannel.constructor'],
    ['{"cron": {"prototype": 1}}', 'cron.prototype'],
  ])('%s', (json, path) => {
    const err = configError(JSON.parse(json));
    expect(err.path).toBe(path);
    expect(err.message).toBe(`config: ${path} is not a known key`);
  });

  it('an inherited property is not read', () => {
    const queue = Object.create({ cap: 'bad', moed: 1 }) as Record<string, unknown>;
    queue.mode = 'steer';
    expect(parseConfig({ messages: { queue } }).messages.queue).toMatchObject({ mode: 'steer', cap: 20 });
  });

  it('mergeConfig keeps __proto__ as an ordinary key', () => {
    const merged = mergeConfig({}, JSON.parse('{"messages": {"__proto__": {"polluted": 1}}}') as object);
    expect(Object.getPrototypeOf(merged.messages)).toBe(Object.prototype);
    expect(Object.keys(merged.messages ?? {})).toEqual(['__proto__']);
    expect(configError(merged).path).toBe('messages.__proto__');
  });

  it('queueModeForChannel reads own keys only', () => {
    const queue = parseConfig({ messages: { queue: { mode: 'followup', byChannel: { webchat: 'steer' } } } }).messages.queue;
    expect(queueModeForChannel(queue, 'webchat')).toBe('steer');
    expect(queueModeForChannel(queue, 'toString')).toBe('followup');
    expect(queueModeForChannel(queue, 'constructor')).toBe('followup');
    expect(queueModeForChannel(queue, undefined)).toBe('followup');
  });
});

describe('mergeConfig', () => {
  it('merges objects and replaces everything else, without touching its arguments', () => {
    const base = { messages: { queue: { mode: 'collect' as const, cap: 5, byChannel: { webchat: 'steer' as const } } } };
    const override = { messages: { queue: { cap: 9, byChannel: { telegram: 'followup' as const } } }, cron: { maxConcurrentRuns: 2 } };
    const baseSnapshot = structuredClone(base);
    const overrideSnapshot = structuredClone(override);
    const merged = mergeConfig(base, override);
    expect(merged).toEqual({
      messages: { queue: { mode: 'collect', cap: 9, byChannel: { webchat: 'steer', telegram: 'followup' } } },
      cron: { maxConcurrentRuns: 2 },
    });
    expect(base).toEqual(baseSnapshot);
    expect(override).toEqual(overrideSnapshot);
    expect(merged.messages).not.toBe(base.messages);
    expect(merged.cron).not.toBe(override.cron);
  });

  it('undefined keeps the base; arrays and null replace', () => {
    const merged = mergeConfig(
      { messages: { queue: { cap: 5 } }, gateway: { tickIntervalMs: 5 } },
      { messages: { queue: { cap: undefined } }, gateway: null as never },
    ) as Record<string, unknown>;
    expect(merged).toEqual({ messages: { queue: { cap: 5 } }, gateway: null });
    const arrays = mergeConfig({ x: [1, 2, 3] } as never, { x: [4] } as never) as Record<string, unknown>;
    expect(arrays).toEqual({ x: [4] });
  });

  it('works on frozen configs (tweaking a parsed default)', () => {
    const tweaked = parseConfig(mergeConfig(parseConfig({}), { agents: { defaults: { lane: { nestedAgentParallel: true } } } }));
    expect(tweaked).toEqual({
      ...DEFAULT_CONFIG,
      agents: { defaults: { ...DEFAULT_CONFIG.agents.defaults, lane: { ...DEFAULT_CONFIG.agents.defaults.lane, nestedAgentParallel: true } } },
    });
  });
});

describe('CONFIG_SCHEMA', () => {
  it('is plain JSON that a fresh AJV compiles (for editors and docs)', () => {
    const json = JSON.parse(JSON.stringify(CONFIG_SCHEMA)) as object;
    expect(json).toEqual(CONFIG_SCHEMA);
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(json);
    expect(validate({ messages: { queue: { mode: 'queue', cap: 3 } }, models: {} })).toBe(true);
    expect(validate({ mesages: {} })).toBe(false);
    expectDeepFrozen(CONFIG_SCHEMA, 'CONFIG_SCHEMA');
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lanesim-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads JSON5 (comments, unquoted keys, trailing commas)', async () => {
    const file = join(dir, 'openclaw.json5');
    await writeFile(
      file,
      `// lanesim test
{
  gateway: { mode: 'local', port: 18789, auth: { mode: 'token', token: 'secret', }, },
  agents: { defaults: { maxConcurrent: 2, lane: { nestedAgentParallel: true } } },
  messages: { queue: { mode: 'Steer-Backlog', cap: 10, drop: 'newest', }, },
  /* block comment */
}
`,
    );
    const config = await loadConfigFile(file);
    expect(config.agents.defaults.maxConcurrent).toBe(2);
    expect(config.agents.defaults.lane.nestedAgentParallel).toBe(true);
    expect(config.messages.queue).toMatchObject({ mode: 'steer-backlog', cap: 10, drop: 'new' });
    expectDeepFrozen(config);
  });

  it('a missing file gives a ConfigError naming it', async () => {
    const file = join(dir, 'missing.json5');
    const err = await loadConfigFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.code).toBe('CONFIG_INVALID');
    expect(ce.path).toBe('');
    expect(ce.message).toMatch(new RegExp(`^config: cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`));
  });

  it('a directory cannot be read either', async () => {
    const err = (await loadConfigFile(dir).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message.startsWith(`config: cannot read ${dir}: `)).toBe(true);
  });

  it('a syntax error names the file, line and column', async () => {
    const file = join(dir, 'bad.json5');
    await writeFile(file, '{\n  messages: {\n    queue: { mode: steer }\n  }\n}\n');
    const err = (await loadConfigFile(file).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.path).toBe('');
    expect(err.message).toBe(`config: ${file} is not valid JSON5 (line 3, column 20): invalid character 's'`);
  });

  it('an empty file is a syntax error', async () => {
    const file = join(dir, 'empty.json5');
    await writeFile(file, '');
    const err = (await loadConfigFile(file).catch((e: unknown) => e)) as ConfigError;
    expect(err.message).toBe(`config: ${file} is not valid JSON5 (line 1, column 1): invalid end of input`);
  });

  it('a validation error carries the file as source', async () => {
    const file = join(dir, 'invalid.json5');
    await writeFile(file, '{ messages: { queue: { debounceMs: "fast" } } }');
    const err = (await loadConfigFile(file).catch((e: unknown) => e)) as ConfigError;
    expect(err.path).toBe('messages.queue.debounceMs');
    expect(err.message).toBe(`config (${file}): messages.queue.debounceMs must be a non-negative integer (ms), got "fast"`);
  });

  it('__proto__ in a JSON5 file is an unknown key and pollutes nothing', async () => {
    const file = join(dir, 'proto.json5');
    await writeFile(file, '{ __proto__: { polluted: 1 }, messages: { queue: { __proto__: { cap: 0 } } } }');
    const err = (await loadConfigFile(file).catch((e: unknown) => e)) as ConfigError;
    expect(err.errors.map((i) => i.path)).toEqual(['__proto__', 'messages.queue.__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('properties', () => {
  it('valid configs parse, round-trip and are left untouched', () => {
    fc.assert(
      fc.property(arbValidConfigInput(), (input) => {
        const snapshot = structuredClone(input);
        const once = parseConfig(input);
        expect(parseConfig(once)).toEqual(once);
        expect(input).toEqual(snapshot);
      }),
      { numRuns },
    );
  });

  it('a wrong-typed value at an owned leaf is reported at that leaf', () => {
    const arbMutation = fc
      .constantFrom(...OWNED_LEAVES)
      .chain((leaf) => fc.record({ leaf: fc.constant(leaf), wrong: arbWrongValue(leaf.kind), input: arbValidConfigInput() }));
    fc.assert(
      fc.property(arbMutation, ({ leaf, wrong, input }) => {
        const mutated = setAt(input, leaf.path, wrong);
        const err = configError(mutated);
        expect(err.code).toBe('CONFIG_INVALID');
        expect(err.path).toBe(leaf.path.join('.'));
        expect(err.value).toEqual(wrong);
        expect(err.errors).toHaveLength(1);
        expect(err.message.startsWith(`config: ${leaf.path.join('.')} must be `)).toBe(true);
      }),
      { numRuns },
    );
  });
});
