#!/usr/bin/env node
// `npm run bench -- <args>`: runs the benchmarks from a fresh plain bundle (see scripts/build.mjs).
import { spawnSync } from 'node:child_process';
import { ensureBuilt } from './build.mjs';

const bundle = await ensureBuilt('bench');
const result = spawnSync(process.execPath, ['--enable-source-maps', bundle, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
