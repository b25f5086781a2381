#!/usr/bin/env node
// The lanesim command: runs dist/cli.mjs, plain JavaScript bundled by esbuild (scripts/build.mjs).
// Installed from npm, that bundle was built by `prepack` and is only read: nothing is written into
// the package folder at run time. In a checkout (src/ beside bin/) it is rebuilt first when a
// source is newer. tsx is not loaded here: `conform --adapter ./x.ts` loads it for that file only.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const checkout = existsSync(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
let bundleUrl = new URL('../dist/cli.mjs', import.meta.url).href;
if (checkout) {
  const { ensureBuilt } = await import('../scripts/build.mjs');
  bundleUrl = pathToFileURL(await ensureBuilt('cli')).href;
} else if (!existsSync(fileURLToPath(bundleUrl))) {
  process.stderr.write('lanesim: dist/cli.mjs is missing from this installation (the package is built by `npm pack`); reinstall lanesim\n');
  process.exit(70);
}
const { main, UsageError } = await import(bundleUrl);
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`lanesim: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`lanesim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  }
}
