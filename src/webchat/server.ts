/**
 * The reference webchat page, served by the gateway's own HTTP server
 * (GatewayServer's `http` option): `GET /` (the page), `/webchat.js` and
 * `/webchat.css`. The DOM code lives in src/webchat/client/ (plain
 * TypeScript, its own tsconfig with lib DOM) and is bundled in memory with
 * esbuild's JS API when the server starts; the bundle is built once and
 * cached for the life of the process.
 *
 * Every response carries a strict Content-Security-Policy: the page loads
 * only its own script and stylesheet (no inline code) and talks only to the
 * gateway's WebSocket on loopback.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface WebchatBundle {
  js: string;
  css: string;
  html: string;
}

export const WEBCHAT_CSP =
  "default-src 'self'; connect-src 'self' ws://127.0.0.1:*; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

// Next to this module in the sources; from dist/ (the bundled CLI, scripts/build.mjs) it is ../src/webchat/client.
const CLIENT_DIR = [new URL('./client/', import.meta.url), new URL('../src/webchat/client/', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((dir) => existsSync(join(dir, 'main.ts'))) ?? fileURLToPath(new URL('./client/', import.meta.url));

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>lanesim webchat</title>
<link rel="stylesheet" href="/webchat.css">
<script defer src="/webchat.js"></script>
</head>
<body>
<noscript>This page needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`;

let cached: Promise<WebchatBundle> | null = null;

/** Bundles the client (once per process; later calls share the first build). */
export function bundleWebchat(): Promise<WebchatBundle> {
  cached ??= buildBundle().catch((error: unknown) => {
    // A failed build is not cached: the next request tries again.
    cached = null;
    throw error;
  });
  return cached;
}

async function buildBundle(): Promise<WebchatBundle> {
  const result = await build({
    absWorkingDir: CLIENT_DIR,
    entryPoints: ['main.ts', 'webchat.css'],
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    charset: 'utf8',
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'silent',
    tsconfig: 'tsconfig.json',
  });
  let js: string | null = null;
  let css: string | null = null;
  for (const file of result.outputFiles) {
    if (file.path.endsWith('.js')) js = file.text;
    else if (file.path.endsWith('.css')) css = file.text;
  }
  if (js === null || css === null) throw new Error('webchat bundle: esbuild produced no .js or no .css output');
  return { js, css, html: HTML };
}

/** The page's URL for a gateway listening on `port` (the token, if any, goes in `?token=`). */
export function webchatUrl(port: number, token: string | null): string {
  const base = `http://127.0.0.1:${port}/`;
  return token === null || token === '' ? base : `${base}?token=${encodeURIComponent(token)}`;
}

type Route = { type: string; body: (b: WebchatBundle) => string };

const ROUTES: Readonly<Record<string, Route>> = {
  '/': { type: 'text/html; charset=utf-8', body: (b) => b.html },
  '/index.html': { type: 'text/html; charset=utf-8', body: (b) => b.html },
  '/webchat.js': { type: 'text/javascript; charset=utf-8', body: (b) => b.js },
  '/webchat.css': { type: 'text/css; charset=utf-8', body: (b) => b.css },
};

/**
 * GatewayServer's `http` option: answers the webchat's routes and returns
 * false for anything else (the gateway's own routes, 404). Starts bundling
 * at once, so the first page load does not wait for esbuild.
 */
export function webchatHttpHandler(): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  // Warm the cache now; a failure is reported to the first request that needs the bundle.
  bundleWebchat().catch(() => {});
  return async (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const route = ROUTES[pathname];
    if (route === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' }, req.method === 'HEAD');
      return true;
    }
    let bundle: WebchatBundle;
    try {
      bundle = await bundleWebchat();
    } catch (error) {
      send(res, 500, 'text/plain; charset=utf-8', `webchat bundle failed: ${error instanceof Error ? error.message : String(error)}\n`, {}, false);
      return true;
    }
    send(res, 200, route.type, route.body(bundle), {}, req.method === 'HEAD');
    return true;
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string>, headOnly: boolean): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'content-security-policy': WEBCHAT_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(headOnly ? undefined : body);
}
