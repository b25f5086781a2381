#!/usr/bin/env node
// Bundles lanesim with esbuild into dist/ (dependencies stay external).
//
// Why plain bundles rather than running the TypeScript through tsx: tsx compiles with esbuild's
// keepNames, which wraps every closure in a defineProperty call; on the simulator's hot paths that
// costs ~45% (measured on the 10,000-session hour). A plain bundle has no such cost. So the
// benchmarks run from dist/bench.mjs, and the CLI and the library from the package build below.
//
// Two outputs:
// - `package`: what the npm tarball carries, built by `prepack` (`npm run build:package`, which
//   also emits the .d.ts files with tsconfig.build.json). Three entry points in one esbuild run
//   with code splitting: dist/cli.mjs (bin/lanesim.mjs), dist/conformance.mjs
//   (`lanesim/conformance`) and dist/vitest.mjs (`lanesim/vitest`), sharing their modules through
//   chunks in dist/. Shared, not duplicated, because the suite keeps module state (the runner's
//   soft-check sink, the in-process target's one fake clock) and classes a case tests with
//   instanceof (CaseFailure, NotApplicable): an adapter that imports `lanesim/conformance` while
//   the CLI runs must meet the same modules. The chunks stay at the top of dist/: the webchat
//   server finds its client sources at `../src/webchat/client/` from there.
// - `bench`: dist/bench.mjs, one bundle.
//
// `ensureBuilt()` is for a checkout only (bin/lanesim.mjs and scripts/run-bench.mjs call it when
// src/ exists): it rebuilds an output when any source is newer, so dist/ is never stale there.
// An installed package never builds: it runs what `prepack` wrote.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The package's entry points: dist/<name>.mjs. */
export const PACKAGE_ENTRIES = {
  cli: 'src/cli/main.ts',
  conformance: 'src/conformance/index.ts',
  vitest: 'src/vitest/index.ts',
};

export const OUTPUTS = {
  // `cli` is built as the whole package layout (see above); its bundle is dist/cli.mjs.
  cli: { out: 'dist/cli.mjs' },
  bench: { entry: 'bench/main.ts', out: 'dist/bench.mjs' },
};

const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  keepNames: false,
  logLevel: 'warning',
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

/**
 * Writes esbuild's output files each through a temporary file and a rename (atomic per file),
 * chunks before entry points: a `lanesim` process starting while another one rebuilds a checkout's
 * dist/ never reads a half-written module.
 */
function writeAtomically(outputFiles, entryNames) {
  const isEntry = (file) => entryNames.has(path.basename(file.path));
  for (const file of [...outputFiles.filter((f) => !isEntry(f)), ...outputFiles.filter(isEntry)]) {
    mkdirSync(path.dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
}

/** The three package entry points with shared chunks into `outdir` (default dist/). */
export async function buildPackageJs({ outdir = path.join(root, 'dist'), sourcemap = false } = {}) {
  const result = await build({
    ...COMMON,
    entryPoints: Object.fromEntries(Object.entries(PACKAGE_ENTRIES).map(([name, entry]) => [name, path.join(root, entry)])),
    outdir,
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    sourcemap,
    write: false,
  });
  writeAtomically(result.outputFiles, new Set(Object.keys(PACKAGE_ENTRIES).map((name) => `${name}.mjs`)));
}

async function buildBench() {
  const result = await build({ ...COMMON, entryPoints: [path.join(root, OUTPUTS.bench.entry)], outfile: path.join(root, OUTPUTS.bench.out), sourcemap: 'linked', write: false });
  writeAtomically(result.outputFiles, new Set([path.basename(OUTPUTS.bench.out)]));
}

export async function buildAll(names = Object.keys(OUTPUTS)) {
  await Promise.all(names.map((name) => (name === 'cli' ? buildPackageJs({ sourcemap: 'linked' }) : buildBench())));
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
  if (name === 'package') {
    // A clean dist/: the tarball carries exactly this build (and tsc adds dist/types after it).
    rmSync(path.join(root, 'dist'), { recursive: true, force: true });
    await buildPackageJs();
  } else {
    if (name !== undefined && !(name in OUTPUTS)) {
      process.stderr.write(`build: unknown target ${name}; known: package, ${Object.keys(OUTPUTS).join(', ')}\n`);
      process.exit(2);
    }
    await buildAll(name === undefined ? undefined : [name]);
  }
}
