/**
 * The fake model under hostile and careless clients, over real sockets on
 * 127.0.0.1 (issue 15, point 5): every malformed request gets an OpenAI-style
 * error with a 4xx status and the server keeps serving; the request log is
 * bounded in entries and bytes (oldest dropped, counted); `GET
 * /control/requests` pages with a byte limit per reply and a `next` cursor.
 */
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeModelCommand } from '../../src/cli/fake-model.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { globMatch } from '../../src/fake-model/plan.ts';
import type { FakeModelServer, RequestLogEntry } from '../../src/fake-model/server.ts';
import { fakeModelPerTest } from '../support/fake-model-fixture.ts';

const start = fakeModelPerTest();

/** Answers at once (no timers to wait for): each request completes in a few ms. */
const INSTANT = { rules: [], default: { ttftMs: 0, text: 'ok' } };

interface RawReply {
  status: number;
  body: string;
}

/** Sends raw bytes and reads until the server closes (or 5 s pass): no client-side HTTP parser in the way. */
function rawRequest(server: FakeModelServer, bytes: string | Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? -1);
      const cut = text.indexOf('\r\n\r\n');
      resolve({ status, body: cut < 0 ? '' : text.slice(cut + 4) });
    });
    socket.end(bytes);
  });
}

/** A request with `connection: close`, so the server ends the socket after answering. */
function httpText(method: string, path: string, body = '', headers: Record<string, string> = {}): string {
  const h = { host: '127.0.0.1', connection: 'close', 'content-length': String(Buffer.byteLength(body)), ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

function expectOpenAiError(reply: RawReply, label: string): { message: string; type: string; code: string | null } {
  expect(reply.status, label).toBeGreaterThanOrEqual(400);
  expect(reply.status, label).toBeLessThan(500);
  let json: { error?: { message?: unknown; type?: unknown; code?: unknown } };
  try {
    json = JSON.parse(reply.body) as typeof json;
  } catch {
    throw new Error(`${label}: the body is not JSON: ${JSON.stringify(reply.body.slice(0, 200))}`);
  }
  expect(typeof json.error?.message, label).toBe('string');
  expect(json.error?.type, label).toBe('invalid_request_error');
  expect(typeof json.error?.code, label).toBe('string');
  return json.error as { message: string; type: string; code: string };
}

async function completion(server: FakeModelServer, content: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake-model', stream: false, messages: [{ role: 'user', content }], ...extra }),
  });
  await res.arrayBuffer();
  return res.status;
}

interface Page {
  requests: RequestLogEntry[];
  next: number | null;
  first: number | null;
  total: number;
  dropped: number;
}

async function page(server: FakeModelServer, query = ''): Promise<{ page: Page; bytes: number; status: number }> {
  const res = await fetch(`${server.url}/control/requests${query}`);
  const text = await res.text();
  return { page: JSON.parse(text) as Page, bytes: Buffer.byteLength(text), status: res.status };
}

describe('fake model: malformed requests', () => {
  it('each gets a 4xx OpenAI-style error and the server keeps answering', async () => {
    const server = await start({ script: INSTANT, bodyLimitBytes: 64 * 1024 });
    const deep = '['.repeat(1_000_000);
    const cases: [string, string | Buffer, number?][] = [
      ['models/% (a lone percent)', httpText('GET', '/v1/models/%'), 400],
      ['models/%E0%A4%A (a cut UTF-8 sequence)', httpText('GET', '/v1/models/%E0%A4%A'), 400],
      ['models/%ff (not UTF-8)', httpText('GET', '/models/%ff'), 400],
      ['an unknown model', httpText('GET', '/v1/models/nope'), 404],
      ['an unknown path with %', httpText('GET', '/%%%'), 404],
      ['a bad after', httpText('GET', '/control/requests?after=abc'), 400],
      ['a negative limit', httpText('GET', '/control/requests?limit=-5'), 400],
      ['a huge limit', httpText('GET', '/control/requests?limit=99999999999'), 400],
      ['a wrong method', httpText('DELETE', '/v1/chat/completions'), 405],
      ['invalid JSON', httpText('POST', '/v1/chat/completions', '{"messages": ['), 400],
      ['1e6-deep JSON (over the body limit)', httpText('POST', '/v1/chat/completions', deep), 413],
      ['60k-deep JSON', httpText('POST', '/v1/chat/completions', '['.repeat(60_000)), 400],
      ['JSON null', httpText('POST', '/v1/chat/completions', 'null'), 400],
      ['messages not a list', httpText('POST', '/v1/chat/completions', '{"messages": {"role": "user"}}'), 400],
      ['a message without a role', httpText('POST', '/v1/chat/completions', '{"messages": [{"content": 5}]}'), 400],
      ['a __proto__ body', httpText('POST', '/v1/chat/completions', '{"__proto__": {"messages": [1]}}'), 400],
      ['invalid UTF-8 in the body', Buffer.concat([Buffer.from(httpText('POST', '/v1/chat/completions', 'xx').slice(0, -2)), Buffer.from([0xff, 0xfe])]), 400],
      ['a garbage request line', 'GARBAGE\r\n\r\n', 400],
      ['a request line with spaces in the path', 'GET /v1/ models HTTP/1.1\r\nhost: x\r\n\r\n', 400],
      ['two content-lengths (smuggling shape)', 'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', 400],
      ['chunked with a bad chunk size', 'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400],
      ['80 KiB of headers', `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(80 * 1024)}\r\n\r\n`, 431],
      ['a bad script', httpText('POST', '/control/script', '{rules: [{respond: {ttftMs: -1}}]}'), 400],
      ['a 60k-deep script', httpText('POST', '/control/script', '['.repeat(60_000)), 400],
      ['a bad reset seed', httpText('POST', '/control/reset', '{"seed": "x"}'), 400],
    ];
    for (const [label, bytes, status] of cases) {
      const reply = await rawRequest(server, bytes);
      expectOpenAiError(reply, label);
      if (status !== undefined) expect(reply.status, label).toBe(status);
      // Still up, still serving.
      const models = await fetch(`${server.baseUrl}/models`);
      expect(models.status, `after: ${label}`).toBe(200);
      await models.arrayBuffer();
    }
    expect(server.stats()).toEqual({ inFlight: 0, timers: 0 });
  });

  it('a model glob against a 1 MB model name answers at once (no regex backtracking)', async () => {
    const server = await start({ script: { rules: [{ name: 'globbed', match: { model: `${'*a'.repeat(30)}*b` }, respond: { ttftMs: 0, text: 'g' } }], default: { ttftMs: 0, text: 'd' } } });
    expect(await completion(server, 'hi', { model: 'a'.repeat(1_000_000) })).toBe(200);
    expect(server.requests()[0]!.rule).toBe('default');
    expect(await completion(server, 'hi', { model: `${'a'.repeat(40)}b` })).toBe(200);
    expect(server.requests()[1]!.rule).toBe('globbed');
  });

  it('a rule name no header can carry (non-ASCII, a line break) is sent percent-encoded', async () => {
    const name = 'règle\n🔑';
    const server = await start({ script: { rules: [{ name, respond: { ttftMs: 0, text: 'r' } }] } });
    const res = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'x' }] }) });
    expect(res.status).toBe(200);
    expect(decodeURIComponent(res.headers.get('x-lanesim-rule')!)).toBe(name);
    await res.arrayBuffer();
  });

  it('random methods, paths and bodies: always a JSON answer, errors OpenAI-shaped and 4xx, the server stays up (150 requests)', async () => {
    const server = await start({ script: INSTANT, bodyLimitBytes: 16 * 1024 });
    const arbPath = fc.oneof(
      fc.constantFrom('/v1/chat/completions', '/chat/completions', '/v1/models', '/models', '/control/requests', '/control/reset', '/control/script'),
      fc.tuple(fc.constantFrom('/v1/models/', '/models/', '/control/requests?after=', '/control/requests?limit=', '/'), fc.stringMatching(/^[%A-Za-z0-9~._-]{0,12}$/)).map(([a, b]) => a + b),
    );
    const arbBody = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 60 }),
      fc.record({ messages: fc.array(fc.record({ role: fc.constantFrom('user', 'tool', 'assistant', 5 as unknown as string), content: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })) }), { maxLength: 4 }), stream: fc.oneof(fc.boolean(), fc.constant('yes')), model: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()) }).map((b) => JSON.stringify(b)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), arbPath, arbBody, async (method, path, body) => {
        const reply = await rawRequest(server, httpText(method, path, method === 'GET' ? '' : body));
        expect(reply.status).toBeGreaterThanOrEqual(200);
        expect(reply.status).toBeLessThan(500);
        if (reply.status >= 400) expectOpenAiError(reply, `${method} ${path}`);
        else if (!reply.body.startsWith('data: ')) JSON.parse(reply.body);
      }),
      { numRuns: 150 },
    );
    const models = await fetch(`${server.baseUrl}/models`);
    expect(models.status).toBe(200);
    await models.arrayBuffer();
  });

  it('globMatch: * matches any run, the rest is literal', () => {
    const cases: [string, string, boolean][] = [
      ['a*', 'abc', true], ['*c', 'abc', true], ['a*c', 'ac', true], ['a*c', 'ab', false], ['*', '', true],
      ['a.b', 'axb', false], ['a.*', 'a.x', true], ['*a*a*b', 'aaaab', true], ['*a*a*b', 'ab', false], ['exact', 'exact', true],
      ['x**y', 'xy', true], ['(a)*', '(a)zz', true], ['*b*', 'abc', true], ['*b*', 'ac', false],
    ];
    for (const [pattern, value, expected] of cases) expect(globMatch(pattern, value), `${pattern} ~ ${value}`).toBe(expected);
  });
});

describe('fake model: bounded request log', () => {
  it('keeps at most logMaxEntries, drops the oldest and counts them', async () => {
    const server = await start({ script: INSTANT, logMaxEntries: 5 });
    for (let i = 0; i < 12; i++) expect(await completion(server, `q${i}`)).toBe(200);
    expect(server.requests().map((e) => e.index)).toEqual([7, 8, 9, 10, 11]);
    expect(server.logStats()).toMatchObject({ entries: 5, total: 12, dropped: 7 });
    const { page: p } = await page(server);
    expect(p).toMatchObject({ first: 7, total: 12, dropped: 7, next: null });
    expect(p.requests.map((e) => e.userMessages[0])).toEqual(['q7', 'q8', 'q9', 'q10', 'q11']);
  });

  it('keeps at most logMaxBytes; an entry larger than a page is cut to fit, markers found on the full text', async () => {
    const logMaxBytes = 16 * 1024;
    const server = await start({ script: { rules: [{ name: 'marked', match: { marker: '[end-marker]' }, respond: { ttftMs: 0, text: 'm' } }], default: { ttftMs: 0, text: 'd' } }, logMaxBytes, pageMaxBytes: 8192 });
    for (let i = 0; i < 40; i++) expect(await completion(server, `${i} ${'x'.repeat(1000)}`)).toBe(200);
    const stats = server.logStats();
    expect(stats.bytes).toBeLessThanOrEqual(logMaxBytes);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.entries + stats.dropped).toBe(40);
    // A 1 MB message with its marker at the very end: matched, then cut in the log.
    expect(await completion(server, `${'é'.repeat(500_000)}[end-marker]`)).toBe(200);
    const last = server.requests().at(-1)!;
    expect(last.rule).toBe('marked');
    expect(last.markers).toEqual(['[end-marker]']);
    expect(last.userMessages[0]).toMatch(/…\[cut \d+ chars\]$/);
    expect(Buffer.byteLength(JSON.stringify(last))).toBeLessThanOrEqual(8192 - 1024);
    expect(server.logStats().bytes).toBeLessThanOrEqual(logMaxBytes);
  });

  it('a request of 50,000 tiny user messages and a 1 MB model name still logs an entry that fits a page', async () => {
    const server = await start({ script: INSTANT, pageMaxBytes: 4096, logMaxBytes: 4096 });
    const messages = Array.from({ length: 50_000 }, () => ({ role: 'user', content: 'u' }));
    const res = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm'.repeat(1_000_000), messages }) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const entry = server.requests()[0]!;
    expect(entry.messageCount).toBe(50_000);
    expect(entry.userMessages.at(-1)).toMatch(/^…\[cut \d+ more\]$/);
    const { page: p, bytes } = await page(server);
    expect(p.requests).toHaveLength(1);
    expect(bytes).toBeLessThanOrEqual(4096);
  });
});

describe('fake model: GET /control/requests pages', () => {
  it('follows next through every entry, each reply within pageMaxBytes, in order, none twice', async () => {
    const pageMaxBytes = 4096;
    const server = await start({ script: INSTANT, pageMaxBytes });
    for (let i = 0; i < 30; i++) expect(await completion(server, `p${i} ${'y'.repeat(400)}`)).toBe(200);
    const seen: number[] = [];
    let after: number | null = null;
    let pages = 0;
    for (; pages < 100; pages++) {
      const { page: p, bytes, status } = await page(server, after === null ? '' : `?after=${after}`);
      expect(status).toBe(200);
      expect(bytes).toBeLessThanOrEqual(pageMaxBytes);
      expect(p.requests.length).toBeGreaterThan(0);
      seen.push(...p.requests.map((e) => e.index));
      if (p.next === null) break;
      expect(p.next).toBe(p.requests.at(-1)!.index);
      after = p.next;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));

    // Two entries fit in a page here: a limit of 1 is what stops this one.
    const limited = (await page(server, '?after=4&limit=1')).page;
    expect(limited.requests.map((e) => e.index)).toEqual([5]);
    expect(limited.next).toBe(5);
    expect((await page(server, '?after=29')).page).toMatchObject({ requests: [], next: null, first: 0, total: 30, dropped: 0 });
    expect((await page(server, '?after=-1&limit=1')).page.requests[0]!.index).toBe(0);
  });

  it('an empty log is one empty page; reset clears the counters', async () => {
    const server = await start({ script: INSTANT, logMaxEntries: 2 });
    expect((await page(server)).page).toEqual({ requests: [], next: null, first: null, total: 0, dropped: 0 });
    for (let i = 0; i < 3; i++) await completion(server, 'x');
    expect((await page(server)).page).toMatchObject({ first: 1, total: 3, dropped: 1 });
    server.reset();
    expect((await page(server)).page).toEqual({ requests: [], next: null, first: null, total: 0, dropped: 0 });
  });

  it('rejects bounds it cannot honour at the door', async () => {
    await expect(start({ pageMaxBytes: 100 })).rejects.toThrow(/pageMaxBytes must be an integer >= 4096/);
    await expect(start({ logMaxEntries: 0 })).rejects.toThrow(/logMaxEntries/);
    await expect(start({ logMaxBytes: 1.5 })).rejects.toThrow(/logMaxBytes/);
    for (const argv of [['--log-max-entries', '0'], ['--log-max-bytes', '100'], ['--log-max-bytes', 'lots']]) {
      const err = await fakeModelCommand(argv, () => {}).catch((e: unknown) => e);
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
