/**
 * Before the catalogue runs over WebSocket: connect once, authenticate, and
 * reach the model control URL. Each of these failing would otherwise fail
 * every case (a wrong token: every case an error; nothing listening: every
 * case retrying its connect for a minute), so the suite stops at once with
 * one line saying which and what to check (the CLI exits 2).
 */
import { WebSocket } from 'ws';
import { ConnectError, connectParams, openConnected, type ClientInfo } from './targets/websocket.ts';

export interface PreflightOptions {
  url: string;
  token?: string;
  modelControlUrl?: string;
  /** The suite's --time-scale: the fake model must run with the same. */
  timeScale: number;
  clientInfo?: ClientInfo;
  /** Real ms the gateway may take to accept (it may still be starting). Default 10000. */
  connectTimeoutMs?: number;
  /** Real ms the model control URL may take to answer. Default 5000. */
  modelTimeoutMs?: number;
}

export interface PreflightResult {
  hello: Record<string, unknown>;
  /** The fake model's timeScale and script name, when --model-control was given. */
  model: { timeScale: number } | null;
}

/** A preflight failure: `message` is the one line to print. */
export class PreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreflightError';
  }
}

function tokenRefused(error: ConnectError): boolean {
  const e = error.error as { code?: unknown; message?: unknown; details?: { code?: unknown } } | null;
  const text = `${String(e?.code ?? '')} ${String(e?.details?.code ?? '')} ${String(e?.message ?? '')} ${error.message}`;
  return /AUTH|token|unauthori[sz]ed/i.test(text);
}

/** One TCP + WebSocket open, no retry: null when it opened, else why not (a refused port is not retried for a minute). */
function openOnce(url: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const done = (why: string | null): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no WebSocket upgrade within ${timeoutMs} ms`), timeoutMs);
    ws.once('open', () => done(null));
    ws.once('unexpected-response', (_req, res) => done(`HTTP ${res.statusCode} instead of a WebSocket upgrade`));
    ws.once('error', (error) => done((error as NodeJS.ErrnoException).code ?? error.message));
  });
}

export async function preflight(options: PreflightOptions): Promise<PreflightResult> {
  const opened = await openOnce(options.url, Math.min(options.connectTimeoutMs ?? 10_000, 10_000));
  if (opened !== null) {
    throw new PreflightError(/ECONNREFUSED/.test(opened)
      ? `nothing accepts connections at ${options.url} (connection refused): is the gateway running on that port?`
      : `could not open a WebSocket to ${options.url}: ${opened}`);
  }
  let hello: Record<string, unknown>;
  try {
    const opened = await openConnected(options.url, connectParams(options.token, options.clientInfo), {
      timeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: Math.min(options.connectTimeoutMs ?? 10_000, 10_000),
    });
    hello = opened.hello;
    opened.takeEarly();
    opened.ws.on('error', () => {});
    if (opened.ws.readyState === WebSocket.OPEN) opened.ws.close(1000, 'preflight done');
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    const why = error.message.replace(/^connect to \S+ failed(?: for \d+ ms)?(?:: |; last: )/, '');
    if (tokenRefused(error)) {
      throw new PreflightError(options.token === undefined
        ? `the gateway at ${options.url} refused the connection without a token (${why}): pass --token T`
        : `the gateway at ${options.url} refused the token (${why}): check --token`);
    }
    if (/ECONNREFUSED|socket error/.test(why)) throw new PreflightError(`nothing accepts connections at ${options.url} (${why}): is the gateway running on that port?`);
    throw new PreflightError(`could not connect to the gateway at ${options.url}: ${why}`);
  }
  let model: PreflightResult['model'] = null;
  const control = options.modelControlUrl?.replace(/\/+$/, '').replace(/\/v1$/, '');
  if (control !== undefined) {
    let res: Response;
    try {
      res = await fetch(`${control}/control/script`, { signal: AbortSignal.timeout(options.modelTimeoutMs ?? 5_000) });
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new PreflightError(`cannot reach the model control URL ${control} (${typeof cause === 'string' ? cause : (error as Error).message}): is \`lanesim fake-model\` running there?`);
    }
    if (!res.ok) throw new PreflightError(`the model control URL ${control} answered HTTP ${res.status} to GET /control/script: is it \`lanesim fake-model\`?`);
    let body: { timeScale?: unknown };
    try {
      body = (await res.json()) as { timeScale?: unknown };
    } catch {
      throw new PreflightError(`the model control URL ${control} did not answer JSON to GET /control/script: is it \`lanesim fake-model\`?`);
    }
    if (body.timeScale !== options.timeScale) {
      throw new PreflightError(`the fake model at ${control} runs with --time-scale ${String(body.timeScale)} but the suite with --time-scale ${options.timeScale}: start both with the same`);
    }
    model = { timeScale: body.timeScale };
  }
  return { hello, model };
}
