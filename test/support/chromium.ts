/**
 * The browser for the headless tests (webchat, the HTML conformance report):
 * Debian's `chromium` when it is on PATH, else the headless Chromium packed in
 * the devDependency @sparticuz/chromium (extracted to /tmp on first use), so
 * `npm test` needs only Node and npm. Never skips: no browser is an error.
 */
import { execFileSync } from 'node:child_process';
import sparticuzChromium from '@sparticuz/chromium';

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
