/**
 * The real OpenClaw gateway as a load bench target, started the way the
 * brief (§6) and the conformance peer do it: Node 24 from the peer cache,
 * an isolated HOME / state / config / TMPDIR, and lanesim's fake model
 * provider on loopback at time scale 1 standing in for the LLM.
 *
 * Minimal start/stop helpers of our own (no shared `run` subcommand existed
 * when this was written). Install the peer first:
 * `npm run peer:openclaw -- install`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startFakeModel, type FakeModelScript, type FakeModelServer } from '../../src/fake-model/index.ts';
import { messageText } from '../../src/fake-model/plan.ts';
import { openclawPeerPaths } from '../../src/peers/openclaw/paths.ts';
import { LOOPBACK } from '../../src/reference-impl/ws-server.ts';
import { MARK_HOLD, MARK_QUEUED, MARK_STREAM, STREAM_TOKENS_PER_SEC, processTree } from './shared.ts';

export interface OpenClawTarget {
  wsUrl: string;
  httpBase: string;
  token: string;
  pid: number;
  fakeModel: FakeModelServer;
  /** Model requests by the model the marker proxy chose. */
  modelRequests: Record<string, number>;
  /** The last lines OpenClaw wrote (stdout and stderr), for error reports. */
  logTail(): string;
  stop(): Promise<void>;
}

/**
 * The fake model's script for the bench: model `stream` streams tokens at the
 * reference's modelled speed for `streamMs`; model `hold` keeps the request
 * waiting for its first token for `streamMs` (an active, silent run);
 * anything else is a short answer. The model name is set by the marker
 * proxy below.
 */
export function loadScript(streamMs: number): FakeModelScript {
  return {
    models: ['fake-model', 'stream', 'hold'],
    rules: [
      { name: 'stream', match: { model: 'stream' }, respond: { ttftMs: 300, tokensPerSec: STREAM_TOKENS_PER_SEC, outputTokens: Math.ceil((STREAM_TOKENS_PER_SEC * streamMs) / 1000), chunkTokens: 3 } },
      { name: 'hold', match: { model: 'hold' }, respond: { ttftMs: streamMs, outputTokens: 1 } },
    ],
    default: { ttftMs: 200, tokensPerSec: 60, outputTokens: 12 },
  };
}

/**
 * OpenClaw sends the user's text in one user message and then its own
 * internal context as the LAST user message, so the fake model's `marker`
 * rule (which reads the last user message) cannot see the bench's markers.
 * This loopback proxy in front of the fake model reads the newest user
 * message that carries a marker and names the model after it (`stream`,
 * `hold`, or `fake-model`); everything else (timing, SSE) is the fake model's.
 */
async function startMarkerProxy(upstream: FakeModelServer): Promise<{ baseUrl: string; counts: Record<string, number>; close(): Promise<void> }> {
  const counts: Record<string, number> = {};
  const upstreamUrl = new URL(upstream.url);
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.method === 'POST' && (req.url ?? '').endsWith('/chat/completions')) {
        try {
          const parsed = JSON.parse(body.toString('utf8')) as { model?: unknown; messages?: { role?: unknown; content?: unknown }[] };
          let model = 'fake-model';
          for (const m of [...(parsed.messages ?? [])].reverse()) {
            if (m.role !== 'user') continue;
            const text = messageText(m.content);
            if (text.includes(MARK_STREAM)) model = 'stream';
            else if (text.includes(MARK_HOLD)) model = 'hold';
            else if (!text.includes(MARK_QUEUED)) continue;
            break;
          }
          counts[model] = (counts[model] ?? 0) + 1;
          parsed.model = model;
          body = Buffer.from(JSON.stringify(parsed));
        } catch {
          // not JSON: the fake model answers 400 itself
        }
      }
      const headers = { ...req.headers, host: upstreamUrl.host, 'content-length': String(body.length) };
      const up = httpRequest({ host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://${LOOPBACK}:${port}/v1`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, LOOPBACK, () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** One handshake: resolves true on hello-ok, false on UNAVAILABLE/refusal (still starting). */
function probeConnect(url: string, token: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const done = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      ws.terminate();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    ws.on('error', (e) => done(false, e.message));
    ws.on('close', (code, reason) => done(false, `closed ${code} ${reason.toString()}`));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type?: string; event?: string; ok?: boolean; error?: { code?: string; message?: string } };
      if (frame.type === 'event' && frame.event === 'connect.challenge') {
        ws.send(JSON.stringify({
          type: 'req', id: 'probe', method: 'connect',
          params: {
            minProtocol: 4, maxProtocol: 4,
            client: { id: 'gateway-client', version: '0.0.1', platform: 'linux', mode: 'backend' },
            role: 'operator', scopes: ['operator.read', 'operator.write', 'operator.admin'], auth: { token },
          },
        }));
      } else if (frame.type === 'res') {
        done(frame.ok === true, frame.ok === true ? 'hello-ok' : `${frame.error?.code ?? '?'} ${frame.error?.message ?? ''}`);
      }
    });
  });
}

export interface StartOpenClawOptions {
  /** How long `[stream]`/`[hold]` model responses last. */
  streamMs: number;
  /** agents.defaults.maxConcurrent. */
  maxConcurrent: number;
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /** Called with a synchronous hard stop (kill OpenClaw's process tree, remove its files), for emergency exits. */
  onSpawn?: (killTree: () => void) => void;
}

export async function startOpenClaw(options: StartOpenClawOptions): Promise<OpenClawTarget> {
  const paths = openclawPeerPaths();
  const entry = join(paths.openclawDir, 'openclaw.mjs');
  if (!existsSync(paths.node) || !existsSync(entry)) {
    throw new Error(`the OpenClaw peer is not installed (${existsSync(paths.node) ? entry : paths.node} missing); run: npm run peer:openclaw -- install`);
  }
  const log = options.log ?? (() => {});
  const tmpSharedBefore = { logs: existsSync('/tmp/openclaw'), locks: existsSync('/tmp/openclaw-state-locks-0') };
  const fakeModel = await startFakeModel({ script: loadScript(options.streamMs), seed: 1, timeScale: 1 });
  const proxy = await startMarkerProxy(fakeModel);
  const root = mkdtempSync(join(tmpdir(), 'lanesim-load-openclaw-'));
  const home = join(root, 'home');
  const state = join(root, 'state');
  const tmp = join(root, 'tmp');
  for (const d of [home, state, tmp]) mkdirSync(d, { recursive: true });
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const configPath = join(root, 'openclaw.json');
  const config = {
    gateway: { mode: 'local', port, bind: 'loopback', auth: { mode: 'token', token } },
    update: { checkOnStart: false },
    agents: { defaults: { model: { primary: 'fake/fake-model' }, maxConcurrent: options.maxConcurrent } },
    messages: { queue: { mode: 'collect', cap: 20, drop: 'summarize' } },
    models: {
      mode: 'merge',
      providers: {
        fake: {
          baseUrl: proxy.baseUrl,
          apiKey: 'x',
          api: 'openai-completions',
          models: [{ id: 'fake-model', name: 'fake model', reasoning: false, input: ['text'], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128_000, maxTokens: 4096 }],
        },
      },
    },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    OPENCLAW_STATE_DIR: state,
    OPENCLAW_CONFIG_PATH: configPath,
    TMPDIR: tmp,
    NODE_COMPILE_CACHE: join(root, 'compile-cache'),
    OPENCLAW_DISABLE_BONJOUR: '1',
    OPENCLAW_NO_RESPAWN: '1',
    OPENCLAW_SKIP_CHANNELS: '1',
    OPENCLAW_NO_AUTO_UPDATE: '1',
    NO_COLOR: '1',
  };
  const child: ChildProcess = spawn(paths.node, [entry, 'gateway', 'run', '--bind', 'loopback', '--port', String(port)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // OpenClaw's launcher starts the gateway and helpers as child processes: a hard stop kills the
  // whole tree (read before killing, while the children are still ours).
  const launcherPid = child.pid ?? -1;
  const killTree = (): void => {
    if (launcherPid <= 0) return;
    for (const pid of processTree(launcherPid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const removeFiles = (): void => {
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    // OpenClaw creates these whatever TMPDIR says; remove them only if we made them.
    if (!tmpSharedBefore.logs) rmSync('/tmp/openclaw', { recursive: true, force: true });
    if (!tmpSharedBefore.locks) rmSync('/tmp/openclaw-state-locks-0', { recursive: true, force: true });
  };
  options.onSpawn?.(() => {
    killTree();
    removeFiles();
  });
  const wsUrl = `ws://${LOOPBACK}:${port}`;
  const httpBase = `http://${LOOPBACK}:${port}`;
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // OpenClaw's helpers exit after the launcher: wait for the whole tree before removing its files.
      const tree = launcherPid > 0 ? processTree(launcherPid) : [];
      if (!exited && child.exitCode === null) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | null = null;
        const gone = await Promise.race([
          new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), 5_000);
          }),
        ]);
        if (timer !== null) clearTimeout(timer);
        if (!gone) killTree();
      }
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50 && tree.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      for (const pid of tree) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await proxy.close();
      await fakeModel.close();
      removeFiles();
    })();
    return stopped;
  };
  const target: OpenClawTarget = { wsUrl, httpBase, token, pid: child.pid ?? -1, fakeModel, modelRequests: proxy.counts, logTail: () => tail, stop };
  // Ready when a handshake gets hello-ok (it listens after ~7 s, then answers UNAVAILABLE for a while).
  const started = Date.now();
  const deadline = started + (options.startTimeoutMs ?? 120_000);
  let last = '';
  try {
    for (;;) {
      if (exited) throw new Error(`OpenClaw exited during startup:\n${tail}`);
      if (Date.now() > deadline) throw new Error(`OpenClaw not ready after ${Math.round((Date.now() - started) / 1000)} s (last: ${last}):\n${tail}`);
      const r = await probeConnect(wsUrl, token, 5_000);
      if (r.ok) break;
      last = r.detail;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  log(`openclaw ready on ${wsUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${target.pid})`);
  return target;
}
