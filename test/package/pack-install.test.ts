/**
 * lanesim as its users get it: `npm pack`, then the tarball installed into a
 * fresh project OFFLINE from the npm cache (the one `npm ci` filled), and
 * there:
 * - the tarball holds the built JavaScript, the .d.ts files and no tests,
 *   benches or fixtures;
 * - `npx lanesim conform` (a quick subset) and its exit codes 0 / 1 / 2;
 * - `npx lanesim conform --adapter` with a JS adapter (the example gateway's)
 *   and a TS adapter, both importing `lanesim/conformance`;
 * - `tsc` type-checks the TS adapter and a test file against the shipped
 *   declarations (skipLibCheck off);
 * - a vitest file using `lanesim/vitest`: passes, n/a as skipped with its
 *   reason, a failure with rule, expected, observed and the seed;
 * - every `run:` command of the GitHub Actions workflow in docs/CI.md, in
 *   order, against the example gateway copied in as the author's gateway.
 *
 * The pack runs in a copy of the package's sources (prepack rewrites dist/;
 * the working tree is left alone). Every command runs with npm's offline
 * mode on; the temp folder is removed at the end and the servers the workflow
 * starts are killed by the pids it records.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OFFLINE_ENV = { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', NO_COLOR: '1', FORCE_COLOR: '0' };
/** Copied into the pack folder: what `files` and `prepack` need. */
const PACK_SOURCES = ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'scripts/build.mjs', 'src', 'docs', 'examples'];

let work = '';
let project = '';
let tarball = '';
let packed: { path: string }[] = [];

function run(command: string, args: string[], cwd: string, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env: options.env ?? OFFLINE_ENV, encoding: 'utf8', timeout: options.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`.slice(0, 6000));
  return r.stdout;
}

function lockVersion(lock: { packages: Record<string, { version?: string }> }, name: string): string {
  const v = lock.packages[`node_modules/${name}`]?.version;
  if (v === undefined) throw new Error(`package-lock.json has no ${name}`);
  return v;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The `env:` of the job and the `run:` commands, in order, of the first ```yaml block of docs/CI.md. */
export function workflowSteps(markdown: string): { env: Record<string, string>; runs: string[] } {
  const block = /```yaml\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (block === undefined) throw new Error('docs/CI.md has no ```yaml block');
  const lines = block.split('\n');
  const env: Record<string, string> = {};
  const runs: string[] = [];
  const indent = (line: string): number => line.length - line.trimStart().length;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const envMatch = /^(\s*)env:\s*$/.exec(line);
    if (envMatch !== null && indent(line) === 4) {
      for (i++; i < lines.length && (lines[i]!.trim() === '' || indent(lines[i]!) > 4); i++) {
        const kv = /^\s*([A-Z_]+):\s*(.*)$/.exec(lines[i]!);
        if (kv !== null) env[kv[1]!] = kv[2]!.replace(/^"(.*)"$/, '$1');
      }
      i--;
      continue;
    }
    const runMatch = /^(\s*)(?:- )?run:\s*(.*)$/.exec(line);
    if (runMatch === null) continue;
    const keyIndent = indent(line) + (line.trimStart().startsWith('- ') ? 2 : 0);
    if (runMatch[2] !== '|') {
      runs.push(runMatch[2]!);
      continue;
    }
    const body: string[] = [];
    for (i++; i < lines.length && (lines[i]!.trim() === '' || indent(lines[i]!) > keyIndent); i++) body.push(lines[i]!);
    i--;
    const cut = Math.min(...body.filter((l) => l.trim() !== '').map(indent));
    runs.push(body.map((l) => l.slice(cut)).join('\n').trimEnd());
  }
  return { env, runs };
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'lanesim-pack-'));
  // 1. Pack from a copy (prepack rebuilds dist/ there), with the repository's node_modules for esbuild and tsc.
  const packDir = path.join(work, 'package-src');
  for (const entry of PACK_SOURCES) cpSync(path.join(ROOT, entry), path.join(packDir, entry), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(packDir, 'node_modules'), 'dir');
  const json = ok(run('npm', ['pack', '--json', '--pack-destination', work], packDir, { timeoutMs: 120_000 }), 'npm pack');
  const info = JSON.parse(json.slice(json.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info[0]!.filename);
  packed = info[0]!.files;

  // 2. A fresh project whose lockfile knows the versions the cache holds (the repository's), so
  //    npm needs no registry metadata; then the tarball, exactly as an author would add it.
  project = path.join(work, 'author-project');
  mkdirSync(project);
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const devDependencies = {
    vitest: lockVersion(lock as never, 'vitest'),
    typescript: lockVersion(lock as never, 'typescript'),
    '@types/node': lockVersion(lock as never, '@types/node'),
  };
  const pkg = { name: 'author-gateway', version: '1.0.0', private: true, type: 'module', devDependencies };
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const packages: Record<string, unknown> = { '': { name: pkg.name, version: pkg.version, devDependencies } };
  for (const [key, value] of Object.entries(lock.packages)) {
    if (key === '') continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = value;
    packages[key] = entry;
  }
  writeFileSync(path.join(project, 'package-lock.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
  ok(run('npm', ['install', '--offline', '--no-audit', '--no-fund', '-D', tarball], project, { timeoutMs: 120_000 }), 'npm install --offline <tarball>');
  // The author's gateway: the example, copied in (its adapter imports nothing from lanesim).
  cpSync(path.join(ROOT, 'examples', 'gateway'), path.join(project, 'gateway'), { recursive: true });
}, 240_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball, installed offline into a fresh project', () => {
  test('carries the built JavaScript and declarations, no tests, benches or fixtures; installs read-only', () => {
    const files = packed.map((f) => f.path);
    for (const needed of ['bin/lanesim.mjs', 'dist/cli.mjs', 'dist/conformance.mjs', 'dist/vitest.mjs', 'dist/types/conformance/index.d.ts', 'dist/types/vitest/index.d.ts', 'src/webchat/client/main.ts', 'src/webchat/client/tsconfig.json', 'docs/ADAPTER.md', 'docs/CI.md', 'examples/gateway/gateway-core.mjs', 'package.json', 'README.md']) {
      expect(files, needed).toContain(needed);
    }
    expect(files.filter((f) => /^(test|bench|scripts|fixtures|\.ci)\//.test(f) || /\.test\.|\.bench\.|\.map$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') && !f.startsWith('src/webchat/client/'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules/lanesim/package.json'), 'utf8')) as {
      private?: boolean; exports: Record<string, unknown>; dependencies: Record<string, string>; peerDependencies: Record<string, string>;
    };
    expect(manifest.private).toBeUndefined();
    // Every package the built code imports is a dependency (or vitest, the peer, imported by dist/vitest.mjs alone).
    const dist = path.join(project, 'node_modules/lanesim/dist');
    const imported = new Map<string, Set<string>>();
    for (const file of files.filter((f) => /^dist\/[^/]+\.mjs$/.test(f))) {
      const code = readFileSync(path.join(dist, path.basename(file)), 'utf8');
      // esbuild's output: static imports/re-exports start a line and end with `from "x";`; dynamic ones are import("x").
      const specs = [
        ...[...code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)";/gm)].map((m) => m[1]!),
        ...[...code.matchAll(/^import\s*"([^"]+)";/gm)].map((m) => m[1]!),
        ...[...code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!),
      ];
      for (const spec of specs) {
        if (spec.startsWith('.') || spec.startsWith('/')) continue;
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!imported.has(name)) imported.set(name, new Set());
        imported.get(name)!.add(path.basename(file));
      }
    }
    expect([...imported.keys()].filter((name) => !(name in manifest.dependencies) && !(name in manifest.peerDependencies))).toEqual([]);
    expect([...(imported.get('vitest') ?? [])]).toEqual(['vitest.mjs']);
    expect(Object.keys(manifest.exports)).toEqual(expect.arrayContaining(['./conformance', './vitest']));
  });

  test('npx lanesim conform: exit 0 on a passing subset with a JSON report, 2 on bad input; nothing written into the package', () => {
    const before = run('find', ['node_modules/lanesim', '-newer', 'package-lock.json', '-type', 'f'], project).stdout;
    const r = run('npx', ['lanesim', 'conform', '--only', 'lane.session,tool.validate.types,queue.idle.starts', '--json', 'reference.json'], project);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('lanesim conform: lanesim-reference');
    const report = JSON.parse(readFileSync(path.join(project, 'reference.json'), 'utf8')) as { results: { id: string; status: string }[]; summary: { mustFailed: number } };
    expect(report.results.map((x) => [x.id, x.status])).toEqual([
      ['lane.session.exclusive', 'pass'], ['lane.session.held-while-waiting', 'pass'], ['queue.idle.starts', 'pass'], ['tool.validate.types', 'pass'],
    ]);
    const bad = run('npx', ['lanesim', 'conform', '--only', 'no.such.case'], project);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^lanesim: conform: /);
    // Nothing was built or cached inside the installed package at run time.
    expect(run('find', ['node_modules/lanesim', '-newer', 'package-lock.json', '-type', 'f'], project).stdout).toBe(before);
  });

  test('lanesim serve: the webchat page is bundled from the shipped client sources', async () => {
    // node_modules/.bin/lanesim rather than npx, so the pid is the server's own.
    const child = spawn(path.join(project, 'node_modules/.bin/lanesim'), ['serve', '--port', '0'], { cwd: project, env: OFFLINE_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`lanesim serve printed no webchat URL within 30 s: ${out}`)), 30_000);
        const onData = (d: Buffer): void => {
          out += d.toString();
          const m = /webchat: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`lanesim serve exited ${code}: ${out}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      const script = await fetch(new URL('webchat.js', url));
      expect(script.status, await script.clone().text()).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(1000);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
  });

  test('npx lanesim conform --adapter: a JS adapter and a TS adapter importing lanesim/conformance; tsc checks them against the shipped types', () => {
    writeFileSync(path.join(project, 'adapter.mjs'), [
      "import { CASES, defineAdapter } from 'lanesim/conformance';",
      "import example from './gateway/lanesim-adapter.mjs';",
      "if (!CASES.some((c) => c.id === 'lane.session.exclusive')) throw new Error('no catalogue');",
      "export default defineAdapter({ ...example, name: 'author-js-adapter' });",
      '',
    ].join('\n'));
    writeFileSync(path.join(project, 'adapter.ts'), [
      "import { defineAdapter, type GatewayAdapter, type ToolValidatorUnderTest } from 'lanesim/conformance';",
      '// Accepts every call: breaks TOOL-3 on purpose.',
      "const validate: ToolValidatorUnderTest['validate'] = (call) => ({ ok: call.name !== '' });",
      "const adapter: GatewayAdapter = defineAdapter({ name: 'author-ts-adapter', validateToolCall: validate });",
      'export default adapter;',
      '',
    ].join('\n'));
    const js = run('npx', ['lanesim', 'conform', '--adapter', './adapter.mjs', '--only', 'lane.session,lane.global.cap,queue.idle.starts,ws.events.seq'], project);
    expect(js.status, `${js.stdout}\n${js.stderr}`).toBe(0);
    expect(js.stdout).toContain('lanesim conform: author-js-adapter (in-process)');
    expect(js.stdout).toMatch(/5 passed, 0 failed/);

    const ts = run('npx', ['lanesim', 'conform', '--adapter', './adapter.ts', '--only', 'tool.validate.types'], project);
    expect(ts.status, `${ts.stdout}\n${ts.stderr}`).toBe(1);
    expect(ts.stdout).toContain('FAIL tool.validate.types [MUST]');
    expect(ts.stdout).toMatch(/rule: +TOOL-3/);
    expect(ts.stdout).toMatch(/replay: +npx lanesim conform --adapter \.\/adapter\.ts --only tool\.validate\.types --seed 1/);

    writeFileSync(path.join(project, 'tsconfig.json'), `${JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      include: ['adapter.ts', 'lanesim.test.ts'],
    }, null, 2)}\n`);
    ok(run('npx', ['tsc', '-p', '.'], project), 'tsc against the shipped .d.ts');
  });

  test('lanesim/vitest: one test per case; pass, n/a skipped with its reason, failure with rule, expected, observed and seed', () => {
    writeFileSync(path.join(project, 'lanesim.test.ts'), [
      "import { test } from 'lanesim/vitest';",
      "import jsAdapter from './adapter.mjs';",
      "import tsAdapter from './adapter.ts';",
      "test.conformance({ adapter: jsAdapter }, { only: ['lane.session.exclusive', 'queue.idle.starts', 'tool.validate.types'] });",
      "test.conformance({ adapter: tsAdapter }, { only: ['tool.validate.types'], seed: 7 });",
      '',
    ].join('\n'));
    // Two reporters in one run: JSON for the statuses, the default one for what a person reads (skip reasons).
    const r = run('npx', ['vitest', 'run', 'lanesim.test.ts', '--reporter=default', '--reporter=json', '--outputFile.json=vitest.json'], project);
    expect(r.status, r.stderr).toBe(1);
    const out = JSON.parse(readFileSync(path.join(project, 'vitest.json'), 'utf8')) as {
      testResults: { assertionResults: { ancestorTitles: string[]; title: string; status: string; failureMessages: string[] }[] }[];
    };
    const results = out.testResults.flatMap((f) => f.assertionResults).map((a) => ({ suite: a.ancestorTitles.join(' > '), title: a.title, status: a.status, failure: a.failureMessages.join('\n') }));
    expect(results.map((a) => [a.suite, a.title.split(' ')[0], a.status])).toEqual([
      ['lanesim conformance: author-js-adapter', 'lane.session.exclusive', 'passed'],
      ['lanesim conformance: author-js-adapter', 'queue.idle.starts', 'passed'],
      ['lanesim conformance: author-js-adapter', 'tool.validate.types', 'skipped'],
      ['lanesim conformance: author-ts-adapter', 'tool.validate.types', 'failed'],
    ]);
    expect(results[0]!.title).toBe('lane.session.exclusive [MUST] LANE-2 LANE-5: Two runs of one session never overlap (session lock)');
    const failure = results[3]!.failure;
    expect(failure).toMatch(/rule: +TOOL-3/);
    expect(failure).toMatch(/expected: .*rejected/);
    expect(failure).toMatch(/observed: /);
    expect(failure).toMatch(/seed: +\d+ \(case seed; suite seed 7\)/);
    expect(failure).toContain('--only tool.validate.types --seed 7');
    // The skip's reason reaches the reporter's output (vitest prints skip notes in its default reporter).
    expect(r.stdout).toMatch(/↓ tool\.validate\.types \[MUST\].*\[n\/a: [^\]]+\]/);
  });

  test('docs/CI.md: every run: command of the workflow, in order, against the example gateway', async () => {
    const { env, runs } = workflowSteps(readFileSync(path.join(ROOT, 'docs', 'CI.md'), 'utf8'));
    expect(runs.length).toBeGreaterThanOrEqual(6);
    expect(runs.some((r) => r.includes('--junit'))).toBe(true);
    const stepEnv = {
      ...OFFLINE_ENV,
      ...env,
      MODEL_PORT: String(await freePort()),
      GATEWAY_PORT: String(await freePort()),
      TIME_SCALE: env['TIME_SCALE'] ?? '1',
      CONFORM_ARGS: '--only queue.idle.starts,queue.chat-events.stream,ws.hello.shape,ws.handshake.wrong-token,ws.events.seq',
    };
    try {
      for (const command of runs) {
        // As GitHub runs a `run:` step: bash, errexit and pipefail.
        const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], { cwd: project, env: stepEnv, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
          // Background servers keep the pipes open: the step is over when bash exits.
          child.once('exit', (code) => resolve({ code, out }));
        });
        expect(r.code, `step failed: ${command}\n${r.out}`).toBe(0);
      }
      const junit = readFileSync(path.join(project, 'lanesim-junit.xml'), 'utf8');
      expect(junit.match(/<testcase /g)).toHaveLength(5);
      expect(junit).not.toContain('<failure');
      const report = JSON.parse(readFileSync(path.join(project, 'lanesim-report.json'), 'utf8')) as { targetKind: string; summary: { pass: number } };
      expect(report.targetKind).toBe('websocket');
      expect(report.summary.pass).toBe(5);
    } finally {
      // The workflow's last step kills them; if a step failed before it, do it here.
      for (const pidFile of ['gateway.pid', 'fake-model.pid']) {
        const file = path.join(project, pidFile);
        if (!existsSync(file)) continue;
        const pid = Number(readFileSync(file, 'utf8').trim());
        try {
          if (Number.isInteger(pid) && pid > 0) process.kill(pid);
        } catch {
          // already gone
        }
      }
    }
  }, 120_000);
});
