/**
 * How the load bench starts its child processes (the server child and the
 * client workers): as plain esbuild bundles in `dist/load/`, rebuilt when any
 * source under src/ or bench/ is newer, like the project's own CLI and bench
 * bundles (scripts/build.mjs). Not through tsx: tsx compiles with keepNames,
 * which costs the gateway's hot paths dearly, and the bench must measure the
 * gateway, not the loader. Works the same when the bench itself runs from
 * dist/bench.mjs, from tsx, or under vitest.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export type ChildName = 'server-child' | 'worker';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'lanesim') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`load bench: cannot find the lanesim project root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (/\.(ts|mjs)$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** The bundle of a child entry point, built if missing or older than any source. */
export async function childBundle(name: ChildName): Promise<string> {
  const root = projectRoot();
  const out = join(root, 'dist', 'load', `${name}.mjs`);
  const newest = Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'bench')), mtime(join(root, 'package.json')));
  if (mtime(out) >= newest) return out;
  const result = await build({
    entryPoints: [join(root, 'bench', 'load', `${name}.ts`)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    keepNames: false,
    write: false,
    logLevel: 'warning',
  });
  const file = result.outputFiles.find((f) => f.path.endsWith('.mjs')) ?? result.outputFiles[0];
  if (file === undefined) throw new Error(`load bench: esbuild produced nothing for ${name}`);
  mkdirSync(dirname(out), { recursive: true });
  // Write then rename: a bench started at the same moment never reads half a file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, out);
  return out;
}

/** Forks a child of the load bench with an IPC channel; stdout/stderr are piped. */
export async function forkChild(name: ChildName, options: { execArgv?: string[] } = {}): Promise<ChildProcess> {
  const bundle = await childBundle(name);
  return fork(bundle, [], {
    execArgv: ['--enable-source-maps', ...(options.execArgv ?? [])],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}
