/**
 * The config parser never fails any way but one (issue 15, point 6): fed
 * random and mutated configs (test/arbitraries/config-hostile.ts), parseConfig
 * either returns a valid config or throws a ConfigError whose message is one
 * line naming the key path; nothing else is ever thrown (no RangeError from
 * deep nesting, no TypeError), and its work grows linearly with the input
 * (counted in configWork units, not timed; one wall-clock check for 20,000
 * unknown keys).
 *
 * Seeds: fast-check prints the seed and the shrunk input of a failure; replay
 * with `fc.assert(..., { seed, path })`. Run: npx vitest run test/properties/config-parser.property.test.ts
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError, MAX_CONFIG_DEPTH, configWork, formatPath, mergeConfig, parseConfig,
} from '../../src/model/config.ts';
import type { ConfigInput } from '../../src/model/config-types.ts';
import { BIG_INPUTS, arbHostileConfigInput, arbMutatedConfigInput, jsonSize, nested } from '../arbitraries/config-hostile.ts';

/** Characters that would split a message over lines (or hide part of it) on a terminal. */
const LINE_BREAKING = /[\u0000-\u001f\u007f\u2028\u2029]/;

/**
 * What every refusal must look like: a ConfigError, each issue one line,
 * `config: ` first, its key path in it. Plain checks, one expect at the end:
 * 20,000 issues through expect() would cost seconds.
 */
function checkRefusal(error: unknown, input: unknown): void {
  if (!(error instanceof ConfigError)) {
    throw new Error(`parseConfig threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a ConfigError`);
  }
  const problems: string[] = [];
  if (error.errors.length === 0) problems.push('no issues');
  if (error.message !== error.errors[0]?.message) problems.push('message is not the first issue');
  const whole = typeof input !== 'object' || input === null || Array.isArray(input);
  for (const issue of error.errors) {
    const m = issue.message;
    if (LINE_BREAKING.test(m)) problems.push(`not one line: ${JSON.stringify(m)}`);
    if (!m.startsWith('config: ')) problems.push(`no config: prefix: ${m}`);
    if (issue.path === '') {
      // Only the input as a whole can be wrong without a key path.
      if (!whole || !m.startsWith('config: the top level must be an object')) problems.push(`no key path: ${m}`);
      continue;
    }
    // The path is named: whole (with the characters that would break the line escaped, as
    // the message shows them), or, with a key over 80 characters, cut but from its start.
    const escaped = issue.path.replace(new RegExp(LINE_BREAKING.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const letters = (text: string): string => text.replace(/[^A-Za-z0-9_$]/g, '');
    const longKey = escaped.split(/[.[\]]/).some((part) => part.length > 80);
    if (longKey ? !letters(m).includes(letters(escaped).slice(0, 8)) : !m.includes(` ${escaped} `)) problems.push(`path ${JSON.stringify(issue.path)} not named: ${m}`);
    if (m.length > 1_000 + 6 * 20 * MAX_CONFIG_DEPTH) problems.push(`message of ${m.length} characters`);
  }
  expect(problems.slice(0, 5)).toEqual([]);
}

function parseOutcome(input: unknown): 'valid' | 'refused' {
  let config;
  try {
    config = parseConfig(input);
  } catch (error) {
    checkRefusal(error, input);
    return 'refused';
  }
  // A valid config is lanesim's frozen view, itself a valid input.
  expect(Object.isFrozen(config)).toBe(true);
  expect(parseConfig(config)).toEqual(config);
  return 'valid';
}

describe('parseConfig on random and mutated configs', () => {
  it('returns a config or throws a one-line ConfigError naming a key path, nothing else (3,000 inputs)', () => {
    const seen = { valid: 0, refused: 0 };
    fc.assert(
      fc.property(arbHostileConfigInput(), (input) => {
        configWork.units = 0;
        seen[parseOutcome(input)]++;
        // Linear in the input: a bounded number of units per node and key (the did-you-mean
        // comparison of a key against ~40 known names is the largest constant).
        expect(configWork.units).toBeLessThanOrEqual(5_000 * jsonSize(input) + 1_000);
      }),
      { numRuns: 3_000 },
    );
    // The generator reaches both outcomes (otherwise the property says little).
    expect(seen.valid).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(1_000);
  });

  it('mergeConfig over a valid base: a merged config or a ConfigError, never a stack overflow (500 inputs)', () => {
    fc.assert(
      fc.property(arbMutatedConfigInput(), (input) => {
        let merged: unknown;
        try {
          merged = mergeConfig({ gateway: { heartbeat: { intervalMs: 10_000 } } }, input as ConfigInput);
        } catch (error) {
          checkRefusal(error, input);
          return;
        }
        parseOutcome(merged);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses nesting deeper than MAX_CONFIG_DEPTH at its path, however deep (10^6 levels) and wherever', () => {
    for (const [where, depth, shape] of [
      ['models', 10_000, 'array'], ['gateway', 1_000_000, 'object'], ['agents', MAX_CONFIG_DEPTH, 'mixed'], ['channels', 200_000, 'mixed'],
    ] as const) {
      const input = { [where]: nested(depth, shape) };
      configWork.units = 0;
      const error = (() => {
        try {
          parseConfig(input);
        } catch (e) {
          return e;
        }
        return null;
      })();
      checkRefusal(error, input);
      const issue = (error as ConfigError).errors[0]!;
      expect(issue.message).toMatch(new RegExp(`nested deeper than ${MAX_CONFIG_DEPTH} levels`));
      expect(issue.path.startsWith(where)).toBe(true);
      // The path goes exactly one level past the limit.
      expect(issue.path.split(/[.[]/).length).toBe(MAX_CONFIG_DEPTH + 1);
      // It stops at the limit: the work does not depend on how much deeper the input goes.
      expect(configWork.units).toBeLessThan(10 * MAX_CONFIG_DEPTH);
      expect(() => mergeConfig({}, input as ConfigInput)).toThrow(ConfigError);
    }
    // Exactly at the limit (leaf at depth 64) in an ignored section: accepted.
    expect(() => parseConfig({ models: nested(MAX_CONFIG_DEPTH - 1, 'array') })).not.toThrow();
  });

  it('cycles and shared subtrees (JavaScript callers) end at the depth limit', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => parseConfig({ models: cyclic })).toThrow(/nested deeper than/);
    const shared = [1, 2, 3];
    expect(parseConfig({ models: [shared, shared, { a: shared }] })).toBeTruthy();
  });
});

describe('parseConfig work is linear in the input', () => {
  for (const [kind, make] of Object.entries(BIG_INPUTS)) {
    it(`${kind}: twice the entries, at most ~twice the work`, () => {
      const work = (n: number): number => {
        const input = make(n);
        configWork.units = 0;
        try {
          parseConfig(input);
        } catch (error) {
          checkRefusal(error, input);
        }
        return configWork.units;
      };
      const small = work(4_000);
      const big = work(8_000);
      expect(small).toBeGreaterThan(0);
      // n log n sorting of the issues allows a little over 2; quadratic would be 4.
      expect(big / small).toBeLessThan(2.3);
    });
  }

  it('20,000 unknown keys are refused at once (a generous 2 s wall bound), every one named, in input order', () => {
    const input = BIG_INPUTS['unknown top-level keys']!(20_000);
    let best = Number.POSITIVE_INFINITY;
    let error: unknown;
    // Best of up to three: a wall-clock bound on a shared 2-core machine.
    for (let attempt = 0; attempt < 3 && best >= 2_000; attempt++) {
      const t0 = performance.now();
      try {
        parseConfig(input);
      } catch (e) {
        error = e;
      }
      best = Math.min(best, performance.now() - t0);
    }
    checkRefusal(error, input);
    const errors = (error as ConfigError).errors;
    expect(errors).toHaveLength(20_000);
    expect(errors[0]!.message).toBe('config: key000000 is not a known key');
    expect(errors.map((e) => e.path)).toEqual(Object.keys(input).map((k) => formatPath([k])));
    // Measured 0.3-0.5 s on an idle 2-core container (1.4-2 s at load average 17): the bound is generous.
    expect(best).toBeLessThan(2_000);
  });

  it('a 1 MB key costs no edit-distance work and is shown cut', () => {
    configWork.units = 0;
    const key = 'x'.repeat(1_000_000);
    const error = (() => {
      try {
        parseConfig({ [key]: 1 });
      } catch (e) {
        return e as ConfigError;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.path).toBe(key);
    expect(error!.message.length).toBeLessThan(200);
    expect(error!.message).toBe(`config: ["${'x'.repeat(77)}..."] is not a known key`);
    expect(configWork.units).toBeLessThan(100);
  });
});
