#!/usr/bin/env node
// Bundles the CLI and the benchmarks into dist/ with esbuild (dependencies stay external).
// Why not run the TypeScript through tsx every time: tsx compiles with esbuild's keepNames,
// which wraps every closure in a defineProperty call; on the simulator's hot paths that
// costs ~45% (measured on the 10,000-session hour). A plain bundle has no such cost.
// `ensureBuilt()` rebuilds when any source is newer than the bundle, so dist/ is never stale.
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUTPUTS = {
  cli: { entry: 'src/cli/main.ts', out: 'dist/cli.mjs' },
  bench: { entry: 'bench/main.ts', out: 'dist/bench.mjs' },
};

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (/\.(ts|mjs|css)$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export async function buildAll(names = Object.keys(OUTPUTS)) {
  await Promise.all(
    names.map((name) =>
      build({
        entryPoints: [path.join(root, OUTPUTS[name].entry)],
        outfile: path.join(root, OUTPUTS[name].out),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        sourcemap: 'linked',
        keepNames: false,
        logLevel: 'warning',
      }),
    ),
  );
}

/** Rebuilds `name` if any source under src/ or bench/ is newer than its bundle; returns the bundle's path. */
export async function ensureBuilt(name) {
  const out = path.join(root, OUTPUTS[name].out);
  const newest = Math.max(newestSource(path.join(root, 'src')), newestSource(path.join(root, 'bench')), mtime(path.join(root, 'package.json')));
  if (mtime(out) < newest) await buildAll([name]);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const name = process.argv[2];
  if (name !== undefined && !(name in OUTPUTS)) {
    process.stderr.write(`build: unknown target ${name}; known: ${Object.keys(OUTPUTS).join(', ')}\n`);
    process.exit(2);
  }
  await buildAll(name === undefined ? undefined : [name]);
}
