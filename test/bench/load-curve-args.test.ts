/**
 * `npm run bench -- load-curve`: bad arguments are refused at the door (exit
 * 2, one line naming the option) before any run starts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { curveMain } from '../../bench/load/curve.ts';

describe('load-curve arguments', () => {
  afterEach(() => vi.restoreAllMocks());

  for (const [args, words] of [
    [['--sizes', '0,25'], /--sizes takes whole numbers >= 1, got "0"/],
    [['--sizes', '25,abc'], /--sizes takes whole numbers >= 1, got "abc"/],
    [['--reps', '0'], /--reps must be 1\.\.20/],
    [['--peer', 'nginx'], /--peer must be openclaw or bare-ws/],
    [['--streaming-share', '2'], /--streaming-share must be 0\.\.1/],
    [['--duration', 'soon'], /--duration:/],
    [['--nope'], /Unknown option '--nope'/],
  ] as const) {
    it(`refuses ${args.join(' ')}`, async () => {
      const written: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
      expect(await curveMain([...args])).toBe(2);
      expect(written.join('')).toMatch(words);
      expect(written.join('')).not.toMatch(/repetition/);
    });
  }
});
