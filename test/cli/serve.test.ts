/**
 * `lanesim serve` stops gracefully and promptly (WS-23, issue 15 point 8): the
 * signal handler is in place before the listening line is printed (a SIGTERM
 * the instant that line appears is a graceful stop, never Node's default
 * exit), and the process exits within 1 s of "stopped" (no timer of the
 * gateway, the router's wait warnings included, holds the event loop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';

const BIN = path.resolve(import.meta.dirname, '../../bin/lanesim.mjs');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Served {
  child: ChildProcess;
  lines: { at: number; text: string }[];
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts `lanesim serve`; `onListening` runs synchronously when the listening line arrives. */
function serve(args: string[], onListening?: (child: ChildProcess) => void): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: { at: number; text: string }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push({ at: performance.now(), text });
        const match = /listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (match !== null) {
          onListening?.(child);
          resolve({ child, lines, url: match[1]!, exited });
        }
      }
    });
    child.stderr!.on('data', () => {});
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${lines.map((l) => l.text).join(' | ')}`)));
  });
}

describe('lanesim serve: shutdown (WS-23)', () => {
  test('a SIGTERM the instant "listening" is printed is a graceful stop: "stopped", exit 0', { timeout: 90_000 }, async () => {
    const served = await serve([], (child) => child.kill('SIGTERM'));
    const exit = await served.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const texts = served.lines.map((l) => l.text);
    expect(texts.some((t) => t.startsWith('stopping:'))).toBe(true);
    expect(texts.at(-1)).toBe('stopped');
  });

  test('with a client and a run in flight: the process exits within 1 s of "stopped"', { timeout: 90_000 }, async () => {
    const served = await serve(['--time-scale', '1']);
    const ws = new WebSocket(served.url);
    const frames: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as Record<string, unknown>;
        frames.push(f);
        if (f.type === 'event' && f.event === 'connect.challenge') {
          ws.send(JSON.stringify({ type: 'req', id: 'c', method: 'connect', params: { minProtocol: 4, maxProtocol: 4, client: { id: 't', version: '0', platform: 'node', mode: 'test' }, role: 'operator', scopes: ['operator.write'] } }));
        } else if (f.type === 'res' && f.id === 'c') {
          ws.send(JSON.stringify({ type: 'req', id: 's', method: 'chat.send', params: { sessionKey: 'stop', message: 'a long one', idempotencyKey: 'k1' } }));
        } else if (f.type === 'res' && f.id === 's') resolve();
      });
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    served.child.kill('SIGTERM');
    const exit = await served.exited;
    expect(exit.code).toBe(0);
    const stopped = served.lines.find((l) => l.text === 'stopped');
    expect(stopped).toBeDefined();
    expect(exit.at - stopped!.at).toBeLessThan(1_000);
    expect(await closed).toBe(1001);
    expect(frames.some((f) => f.type === 'event' && f.event === 'shutdown')).toBe(true);
  });
});
