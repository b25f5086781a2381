/**
 * `lanesim <command> --help` lists every flag of every command, one line
 * each (src/cli/help.ts, answered by main.ts before dispatch), and README.md's
 * command table agrees with it: every flag a command's parser accepts is in
 * its help and the other way round, and every flag the README names for a
 * command is one its help lists (and every listed flag is in the README).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS, findCommand, helpFlagNames, helpText, wantsHelp } from '../../src/cli/help.ts';
import { main, UsageError } from '../../src/cli/main.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NAMED = COMMANDS.filter((c) => c.name !== '');

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await main(argv, (line) => void lines.push(line));
  return { code, out: lines.join('\n') };
}

/** The long options a command's parseArgs accepts, read from its source (src/cli/<command>.ts). */
function parserFlags(command: string): string[] {
  const source = readFileSync(join(ROOT, 'src', 'cli', `${command}.ts`), 'utf8');
  const block = /parseArgs\(\{[\s\S]*?options:\s*\{([\s\S]*?)\n\s*\},?\n/.exec(source);
  if (block === null) throw new Error(`no parseArgs options block in src/cli/${command}.ts`);
  return [...block[1]!.matchAll(/^\s*'?([a-z][a-z0-9-]*)'?:\s*\{\s*type:/gm)].map((m) => m[1]!);
}

/** README.md "## Commands": for each `npx lanesim <command>` row, the --flags it names. */
function readmeFlags(): Map<string, Set<string>> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /^## Commands\n([\s\S]*?)\n## /m.exec(readme);
  if (section === null) throw new Error('README.md has no "## Commands" section');
  const out = new Map<string, Set<string>>();
  for (const line of section[1]!.split('\n')) {
    const row = /^\|\s*`npx lanesim(?: ([a-z-]+))?([^`]*)`/.exec(line);
    if (row === null) continue;
    const command = row[1] ?? '';
    const flags = out.get(command) ?? new Set<string>();
    for (const m of `${row[2]}`.matchAll(/--([a-z][a-z0-9-]*)/g)) flags.add(m[1]!);
    out.set(command, flags);
  }
  return out;
}

describe('lanesim <command> --help', () => {
  for (const help of NAMED) {
    it(`${help.name} --help and -h list every flag, one line each, and exit 0`, async () => {
      const long = await run([help.name, '--help']);
      const short = await run([help.name, '-h']);
      expect(long.code).toBe(0);
      expect(short.out).toBe(long.out);
      expect(long.out).toContain(`usage: lanesim ${help.name}`);
      for (const f of help.flags) {
        const lines = long.out.split('\n').filter((l) => l.startsWith(`  ${f.flag} `));
        expect(lines, `${help.name}: ${f.flag}`).toHaveLength(1);
        expect(lines[0]).toContain(f.text);
      }
    });

    it(`${help.name}: the help lists exactly the flags its parser accepts`, () => {
      const listed = helpFlagNames(help).filter((f) => f !== 'help').sort();
      const accepted = parserFlags(help.name).filter((f) => f !== 'help').sort();
      expect(listed).toEqual(accepted);
    });
  }

  it('--help comes before the command\'s own checks (a command that would fail on its arguments still explains itself)', async () => {
    const r = await run(['conform', '--only', 'no.such.case', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--model-control URL');
    expect(wantsHelp(['--', '--help'])).toBe(false);
  });

  it('lanesim --help, lanesim help and lanesim help <command>', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const c of NAMED) expect(top.out).toContain(`  ${c.name}`);
    expect((await run(['help'])).out).toBe(top.out);
    expect((await run(['help', 'serve'])).out).toBe(helpText(findCommand('serve')!));
    await expect(run(['help', 'nope'])).rejects.toThrow(UsageError);
    await expect(run(['nope'])).rejects.toThrow(/unknown command "nope"/);
  });
});

describe('README.md command table', () => {
  const table = readmeFlags();

  it('has a row for every command', () => {
    for (const c of COMMANDS) expect(table.has(c.name), `npx lanesim ${c.name}`).toBe(true);
  });

  for (const help of COMMANDS) {
    it(`${help.name || '(no command)'}: every flag in the table is in the help, and every flag of the help is in the table`, () => {
      const listed = new Set(helpFlagNames(help).filter((f) => f !== 'help'));
      const inReadme = new Set([...(table.get(help.name) ?? [])].filter((f) => f !== 'help'));
      expect([...inReadme].filter((f) => !listed.has(f)), 'README flags the help does not list').toEqual([]);
      expect([...listed].filter((f) => !inReadme.has(f)), 'help flags the README does not show').toEqual([]);
    });
  }
});
