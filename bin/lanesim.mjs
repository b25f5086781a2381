#!/usr/bin/env node
// The lanesim command. Runs a plain esbuild bundle of src/cli (rebuilt when a source is newer,
// see scripts/build.mjs); tsx's loader is registered too, so `conform --adapter ./my-adapter.ts`
// can load a gateway author's TypeScript.
import { register } from 'tsx/esm/api';
import { ensureBuilt } from '../scripts/build.mjs';

register();
const bundle = await ensureBuilt('cli');
const { main, UsageError } = await import(new URL(`file://${bundle}`).href);
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
