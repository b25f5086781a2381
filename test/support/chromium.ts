/**
 * The browser for the headless tests (webchat, the HTML conformance report):
 * Debian's `chromium` when it is on PATH, else the headless Chromium packed in
 * the devDependency @sparticuz/chromium (extracted to /tmp on first use), so
 * `npm test` needs only Node and npm. Never skips: no browser is an error.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import sparticuzChromium from '@sparticuz/chromium';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface FoundChromium {
  source: 'Debian chromium' | '@sparticuz/chromium';
  executablePath: string;
  args: string[];
}

function debianChromium(): string | null {
  try {
    const path = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    return path === '' ? null : path;
  } catch {
    return null;
  }
}

/** Debian's chromium when installed, else the one packed in @sparticuz/chromium, each with its own flags. */
export async function findChromium(): Promise<FoundChromium> {
  const debian = debianChromium();
  if (debian !== null) return { source: 'Debian chromium', executablePath: debian, args: CHROMIUM_ARGS };
  let executablePath: string;
  try {
    executablePath = await sparticuzChromium.executablePath();
  } catch (error) {
    throw new Error(`no chromium on PATH and @sparticuz/chromium could not extract its browser: ${(error as Error).message}`);
  }
  // Its flags are made for one page per Lambda call: --single-process brings the whole browser down
  // when the first context closes, and the suites open one context per test.
  const args = sparticuzChromium.args.filter((a) => a !== '--single-process');
  return { source: '@sparticuz/chromium', executablePath, args: [...args, ...CHROMIUM_ARGS.filter((a) => !args.includes(a))] };
}

/**
 * Chromium launched headless with its HOME and XDG folders under `home` (it writes crash reports and caches there), or an
 * error naming which browser did not launch and why.
 */
export async function launchChromium(home: string): Promise<Browser> {
  const found = await findChromium();
  try {
    return await chromium.launch({
      executablePath: found.executablePath,
      args: found.args,
      headless: true,
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') },
    });
  } catch (error) {
    throw new Error(`${found.source} (${found.executablePath}) did not launch: ${(error as Error).message.split('\n')[0]}`);
  }
}
