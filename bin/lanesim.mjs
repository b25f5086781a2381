#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx lanesim` works from a checkout without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const { UsageError } = await import('../src/cli/errors.ts');
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
