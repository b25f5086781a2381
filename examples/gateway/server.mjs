#!/usr/bin/env node
// The example gateway over WebSocket: the protocol's handshake (docs/SPEC.md WS-3..WS-6) around
// the same core the adapter runs in process, and an agent runtime that asks an OpenAI-compatible
// model (for the conformance suite: `npx lanesim fake-model`).
//
//   node server.mjs --port 18789 --model-url http://127.0.0.1:18790 [--token T] [--max-concurrent N]
//
// Prints `example gateway listening on ws://127.0.0.1:PORT` once it accepts connections. Stops on
// SIGINT/SIGTERM. Binds 127.0.0.1 only. Its configuration, described for `lanesim conform
// --config`, is gateway.json5 (keep the two in step).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';
import { EVENTS, METHODS, PROTOCOL, createGatewayCore } from './gateway-core.mjs';

const MAX_PAYLOAD = 1024 * 1024;
const HANDSHAKE_MAX_PAYLOAD = 65536;
const HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * Runs one agent turn: a streamed chat completion (server-sent events) with the message as the
 * user turn; each text piece goes to io.delta, the whole text to io.finish. An abort cancels the
 * request and, as lanesim's runtime does, ends with io.finish() (the gateway already settled the
 * run as aborted and ignores it).
 */
export function httpModelRuntime(modelUrl, model = 'fake-model') {
  const url = `${modelUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/chat/completions`;
  return {
    start(io) {
      io.onAbort(() => io.finish());
      let text = '';
      const play = async () => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: io.run.prompt }] }),
          signal: io.signal,
        });
        if (!res.ok || res.body === null) throw new Error(`model answered HTTP ${res.status}: ${(await res.text().catch(() => '')).slice(0, 200)}`);
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk, { stream: true });
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            for (const line of event.split('\n')) {
              if (!line.startsWith('data: ')) continue;
              const data = line.slice(6);
              if (data === '[DONE]') return;
              const parsed = JSON.parse(data);
              if (parsed.error !== undefined) throw new Error(`model stream error: ${parsed.error.message ?? 'unknown'}`);
              const piece = parsed.choices?.[0]?.delta?.content;
              if (typeof piece === 'string' && piece !== '') {
                text += piece;
                io.delta(piece);
              }
            }
          }
        }
      };
      play().then(
        () => {
          if (!io.aborted) io.finish(text);
        },
        (error) => {
          if (!io.aborted) io.fail(`model request failed: ${error.message}`);
        },
      );
    },
  };
}

function validConnectParams(p) {
  if (p === null || typeof p !== 'object') return 'params must be an object';
  if (!Number.isInteger(p.minProtocol) || !Number.isInteger(p.maxProtocol)) return 'minProtocol and maxProtocol must be integers';
  const c = p.client;
  if (c === null || typeof c !== 'object' || !['id', 'version', 'platform', 'mode'].every((k) => typeof c[k] === 'string' && c[k] !== '')) return 'client {id, version, platform, mode} must be non-empty strings';
  if (p.role !== 'operator') return 'role must be "operator"';
  if (!Array.isArray(p.scopes) || !p.scopes.every((s) => typeof s === 'string')) return 'scopes must be an array of strings';
  if (p.auth !== undefined && (p.auth === null || typeof p.auth !== 'object')) return 'auth must be an object';
  return null;
}

/** Starts the gateway; resolves with { url, port, close() } once it listens. */
export async function startServer({ port = 0, modelUrl, token = null, maxConcurrent = 2 }) {
  if (typeof modelUrl !== 'string' || !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?/.test(modelUrl)) throw new Error('--model-url must be an http:// URL on 127.0.0.1');
  const core = createGatewayCore({ maxConcurrent, runtime: httpModelRuntime(modelUrl) });
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: MAX_PAYLOAD });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  let nextConn = 0;
  wss.on('connection', (ws) => {
    const connId = `conn-${++nextConn}`;
    let connected = false;
    const reply = (id, payload) => ws.send(JSON.stringify({ type: 'res', id, ok: true, payload: payload ?? null }));
    const refuse = (id, code, message, details) => ws.send(JSON.stringify({ type: 'res', id, ok: false, error: { code, message, ...(details ? { details } : {}) } }));
    const timer = setTimeout(() => ws.close(1008, 'handshake timeout'), HANDSHAKE_TIMEOUT_MS);
    ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: randomUUID(), ts: Date.now() } }));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'binary frames not supported');
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
      if (!connected && size > HANDSHAKE_MAX_PAYLOAD) return ws.close(1009, 'payload too large');
      let frame;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return ws.close(1008, 'invalid request frame');
      }
      const id = frame !== null && typeof frame === 'object' && typeof frame.id === 'string' ? frame.id : null;
      const isRequest = id !== null && frame.type === 'req' && typeof frame.method === 'string';
      if (!connected) {
        if (!isRequest || frame.method !== 'connect') return ws.close(1008, 'invalid request frame');
        const bad = validConnectParams(frame.params);
        if (bad !== null) {
          refuse(id, 'INVALID_REQUEST', `invalid connect params: ${bad}`);
          return ws.close(1008, 'invalid connect params');
        }
        if (frame.params.minProtocol > PROTOCOL || frame.params.maxProtocol < PROTOCOL) {
          refuse(id, 'PROTOCOL_MISMATCH', `protocol mismatch: server speaks ${PROTOCOL}`, { expectedProtocol: PROTOCOL });
          return ws.close(1002, 'protocol mismatch');
        }
        if (token !== null && frame.params.auth?.token !== token) {
          refuse(id, 'INVALID_REQUEST', 'unauthorized: gateway token mismatch', { code: 'AUTH_TOKEN_MISMATCH' });
          return ws.close(1008, 'unauthorized');
        }
        clearTimeout(timer);
        connected = true;
        core.open(connId, (event, payload, seq) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'event', event, payload, seq }));
        });
        return reply(id, {
          type: 'hello-ok',
          protocol: PROTOCOL,
          server: { name: 'example-gateway', version: '0.1.0', connId },
          features: { methods: METHODS, events: EVENTS },
          snapshot: {},
          policy: { maxPayload: MAX_PAYLOAD, maxBufferedBytes: 8 * MAX_PAYLOAD, tickIntervalMs: 30_000, heartbeatIntervalMs: 15_000 },
        });
      }
      if (!isRequest) {
        if (id !== null) return refuse(id, 'INVALID_REQUEST', 'invalid request frame');
        return ws.close(1008, 'invalid request frame');
      }
      if (frame.method === 'connect') return refuse(id, 'INVALID_REQUEST', 'already connected');
      try {
        reply(id, core.request(connId, frame.method, frame.params));
      } catch (error) {
        if (typeof error?.code === 'string') refuse(id, error.code, error.message);
        else refuse(id, 'INTERNAL', `internal error in ${frame.method}`);
      }
    });
    ws.on('close', () => {
      clearTimeout(timer);
      if (connected) core.close(connId);
    });
    ws.on('error', () => {});
  });
  const actualPort = wss.address().port;
  return {
    port: actualPort,
    url: `ws://127.0.0.1:${actualPort}`,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let values;
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string', default: '18789' }, 'model-url': { type: 'string' }, token: { type: 'string' }, 'max-concurrent': { type: 'string', default: '2' } } }));
  } catch (error) {
    process.stderr.write(`example gateway: ${error.message}\n`);
    process.exit(2);
  }
  const port = Number(values.port);
  const maxConcurrent = Number(values['max-concurrent']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`example gateway: --port must be 0..65535, got ${values.port}\n`);
    process.exit(2);
  }
  try {
    const server = await startServer({ port, modelUrl: values['model-url'], token: values.token ?? null, maxConcurrent });
    process.stdout.write(`example gateway listening on ${server.url}\n`);
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (error) {
    process.stderr.write(`example gateway: ${error.message}\n`);
    process.exit(2);
  }
}
