/**
 * `lanesim/vitest` from the sources (the packed bundle is exercised in
 * pack-install.test.ts): test.conformance registers one test per case
 * against lanesim's reference gateway here, and a failure's text carries
 * every failed check, the seeds and the replay command.
 */
import { describe, expect } from 'vitest';
import type { CaseResult } from '../../src/conformance/types.ts';
import { ConformanceOptionsError } from '../../src/conformance/api.ts';
import { conformance, describeFailure, explore, it, test } from '../../src/vitest/index.ts';

// The reference gateway passes these: three real cases, run by the integration as vitest tests.
test.conformance({}, { only: ['lane.session.exclusive', 'queue.idle.starts', 'tool.validate.types'], name: 'lanesim/vitest on the reference gateway' });

// The explorer as one test: the reference plays 20 random workloads without a failure.
test.explore({}, { runs: 20, seed: 7, name: 'lanesim/vitest explore on the reference gateway' });

describe('lanesim/vitest', () => {
  test('test and it are vitest\'s own, with conformance added', () => {
    expect(test.conformance).toBe(conformance);
    expect(it.conformance).toBe(conformance);
    expect(test.explore).toBe(explore);
    expect(() => explore({}, { runs: 0 })).toThrow(/runs must be a whole number >= 1/);
    expect(typeof test.skip).toBe('function');
    expect(typeof it.each).toBe('function');
  });

  test('bad options throw while the file is collected, in one line', () => {
    expect(() => conformance({}, { only: ['no.such.case'] })).toThrow(ConformanceOptionsError);
    expect(() => conformance({}, { levels: ['OPTIONAL' as never] })).toThrow(/levels must be a non-empty list of MUST, SHOULD, INFORMATIONAL/);
    expect(() => conformance({}, { seed: 2 ** 40 })).toThrow(/seed/);
  });

  test('a failure lists every failed check with its rule, expected and observed text, the seeds and the replay line', () => {
    const result: CaseResult = {
      id: 'queue.example', title: 'An example', level: 'MUST', rules: ['QUEUE-2', 'WS-13'], status: 'fail',
      reason: '2 failed checks', rule: 'QUEUE-2', expected: 'answered queued', observed: 'answered started',
      durationMs: 3, seed: 123456, replay: 'npx lanesim conform --only queue.example --seed 7', notes: ['a note'],
      checks: [
        { rule: 'QUEUE-2', expected: 'answered queued', observed: 'answered started' },
        { rule: 'WS-13', expected: 'a runId', observed: 'none' },
      ],
    };
    expect(describeFailure(result, 7).split('\n')).toEqual([
      'queue.example [MUST] failed: An example',
      '  rule:     QUEUE-2',
      '  expected: answered queued',
      '  observed: answered started',
      '  rule:     WS-13',
      '  expected: a runId',
      '  observed: none',
      '  seed:     123456 (case seed; suite seed 7)',
      '  replay:   npx lanesim conform --only queue.example --seed 7',
      '  note:     a note',
    ]);
    const error: CaseResult = { ...result, status: 'error', reason: 'harness or gateway error: boom', checks: [], rule: undefined, expected: undefined, observed: undefined, notes: [] };
    expect(describeFailure(error, 7)).toContain('  reason:   harness or gateway error: boom');
  });
});
