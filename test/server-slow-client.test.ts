/**
 * A client that trickles its request (slowloris) is cut off after `receiveTimeoutMs` with a 408:
 * Fastify's requestTimeout defaults to 0, so a body sent a byte at a time held its connection and
 * buffer for ever (an operator without a buffering proxy in front had no bound at all). A request
 * that arrives whole is unaffected however long its work takes, and an idle keep-alive connection
 * is governed by the keep-alive timeout, not this one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { resolveServerOptions, type RunningServer } from '../src/server/index.js';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;
/** The server's log lines (pino JSON), as `plait serve` writes them to stdout. */
const log: Record<string, unknown>[] = [];

before(async () => {
  sample = await buildSample('plait-server-slow-client-');
  server = await serve(sample, { receiveTimeoutMs: 1500, logLevel: 'info', logDestination: { write: (line) => void log.push(JSON.parse(line) as Record<string, unknown>) } });
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

/** Opens a raw connection to the server and collects what it sends until it closes (or `waitMs` passes). */
function rawClient(): { socket: Socket; closed: (waitMs: number) => Promise<{ data: string; closed: boolean; ms: number }> } {
  const { hostname, port } = new URL(server.url);
  const socket = connect({ host: hostname, port: Number(port) });
  let data = '';
  const t = performance.now();
  socket.setEncoding('utf8').on('data', (d: string) => (data += d));
  const end = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - t)));
  socket.on('error', () => {});
  return {
    socket,
    closed: async (waitMs) => {
      const ms = await Promise.race([end, new Promise<null>((r) => setTimeout(() => r(null), waitMs))]);
      socket.destroy();
      return { data, closed: ms !== null, ms: ms ?? waitMs };
    },
  };
}

function bodyOf(raw: string): { error: { code: string; message: string } } {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
}

test('a body trickled slower than receiveTimeoutMs is answered 408 and its connection closed', async () => {
  log.length = 0;
  const c = rawClient();
  const body = JSON.stringify({ query: 'bread', top_k: 1 });
  c.socket.write(`POST /v1/indexes/sample/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  // One byte every 300 ms: the body would take ~6 s to arrive.
  let i = 0;
  const trickle = setInterval(() => {
    if (i < body.length && !c.socket.destroyed) c.socket.write(body[i++]!);
  }, 300);
  try {
    const r = await c.closed(8000);
    assert.ok(r.closed, `the connection was still open after 8 s (${i} of ${body.length} bytes sent)`);
    assert.match(r.data, /^HTTP\/1\.1 408 /);
    const answer = bodyOf(r.data);
    assert.equal(answer.error.code, 'TIMEOUT');
    assert.match(answer.error.message, /receive limit of 1500 ms \(--receive-timeout-ms\)/);
    // 1.5 s limit, checked every connectionsCheckingIntervalMs.
    assert.ok(r.ms >= 1400 && r.ms < 1500 + SERVER_DEFAULTS.connectionsCheckingIntervalMs + 1500, `closed after ${Math.round(r.ms)} ms`);
    // One access line, with the fields every other request's line has (it had been a line of its
    // own, 'request not received in time: 408, connection closed', without route, status or time).
    // The line is written before the socket is closed, so it is in the log by now.
    const own = log.filter((l) => l['reqId'] !== undefined && l['url'] === '/v1/indexes/sample/search');
    assert.equal(own.length, 1, JSON.stringify(log));
    const line = own[0]!;
    assert.equal(line['msg'], 'request completed');
    assert.equal(line['method'], 'POST');
    assert.equal(line['route'], '/v1/indexes/:name/search');
    assert.equal(line['statusCode'], 408);
    assert.equal(line['remoteAddress'], '127.0.0.1');
    assert.equal(typeof line['responseTime'], 'number');
    assert.ok((line['responseTime'] as number) >= 1400, `responseTime ${String(line['responseTime'])}`);
    assert.match(r.data, new RegExp(`x-request-id: ${String(line['reqId'])}\r\n`), "the line's id is the one the 408 carries");
    assert.equal(log.filter((l) => l['msg'] !== 'request completed').length, 0, JSON.stringify(log));
  } finally {
    clearInterval(trickle);
  }
});

test('headers trickled slower than receiveTimeoutMs are cut off the same way', async () => {
  log.length = 0;
  const c = rawClient();
  const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n';
  let i = 0;
  const trickle = setInterval(() => {
    if (i < head.length && !c.socket.destroyed) c.socket.write(head[i++]!);
  }, 200);
  try {
    const r = await c.closed(8000);
    assert.ok(r.closed, 'the connection was still open after 8 s');
    assert.match(r.data, /^HTTP\/1\.1 408 /);
    // In plait's error shape, as every answer (Fastify's own was {"error":"Request Timeout","message":"Client Timeout","statusCode":408}).
    assert.equal(bodyOf(r.data).error.code, 'TIMEOUT');
    // Its access line too (it had none): no request was parsed, so only what the socket knows.
    const lines = log.filter((l) => l['msg'] === 'request completed');
    assert.equal(lines.length, 1, JSON.stringify(log));
    assert.equal(lines[0]!['statusCode'], 408);
    assert.equal(lines[0]!['route'], 'unmatched');
    assert.equal(lines[0]!['remoteAddress'], '127.0.0.1');
  } finally {
    clearInterval(trickle);
  }
});

test('a request that is not HTTP is a 400 in plait\'s error shape', async () => {
  const c = rawClient();
  c.socket.write('HELLO WORLD\r\n\r\n');
  const r = await c.closed(5000);
  assert.match(r.data, /^HTTP\/1\.1 400 /);
  assert.equal(bodyOf(r.data).error.code, 'INVALID_ARGUMENT');
});

test('a whole request is unaffected; an idle keep-alive connection outlives receiveTimeoutMs and still serves', async () => {
  const c = rawClient();
  c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 3000)); // twice the receive limit, idle
  c.socket.write('GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const r = await c.closed(5000);
  assert.equal(r.data.match(/HTTP\/1\.1 200 /g)?.length, 2, r.data);
  assert.doesNotMatch(r.data, / 408 /);
  const s = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', top_k: 1 });
  assert.equal(s.status, 200);
});

test('receiveTimeoutMs: defaults to 60 s; 0 turns it off; a negative value is refused naming the option', () => {
  assert.equal(resolveServerOptions({}, {}).receiveTimeoutMs, 60_000);
  assert.equal(resolveServerOptions({ receiveTimeoutMs: 0 }, {}).receiveTimeoutMs, 0);
  assert.throws(() => resolveServerOptions({ receiveTimeoutMs: -1 }, {}), /receiveTimeoutMs/);
});

test('past maxConnections a request is answered 503 OVERLOADED with Retry-After before its body is read, its connection closed; probes and /metrics still answer', async () => {
  // Each open connection may hold up to maxBodyBytes of a trickled body for receiveTimeoutMs, and
  // nothing bounded how many there were (3,000 such clients grew a server by 190 MB).
  const limited = await serve(sample, { maxConnections: 2, receiveTimeoutMs: 60_000 });
  const { hostname, port } = new URL(limited.url);
  const held: Socket[] = [];
  try {
    const openConnections = async (): Promise<number> => (await limited.engine.metrics.openConnections.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 2; i++) {
      const s = connect({ host: hostname, port: Number(port) }).on('error', () => {});
      s.write('POST /v1/indexes/sample/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":');
      held.push(s);
    }
    // Wait until the server holds both (no other connection is open yet).
    for (let i = 0; i < 500 && (await openConnections()) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await openConnections(), 2);
    const r = await fetch(`${limited.url}/v1/indexes/sample/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'bread', top_k: 1 }) });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('connection'), 'close');
    assert.ok(Number(r.headers.get('retry-after')) >= 1, String(r.headers.get('retry-after')));
    const body = (await r.json()) as { error: { code: string; message: string; details: Record<string, unknown> } };
    assert.equal(body.error.code, 'OVERLOADED');
    assert.match(body.error.message, /limit of 2 open connections \(--max-connections\)/);
    assert.equal(body.error.details['max_connections'], 2);
    assert.equal((await fetch(`${limited.url}/health`)).status, 200);
    assert.equal((await fetch(`${limited.url}/ready`)).status, 200);
    assert.match(await (await fetch(`${limited.url}/metrics`)).text(), /^plait_requests_shed_total\{route="\/v1\/indexes\/:name\/search"\} 1$/m);
    for (const s of held) s.destroy();
    held.length = 0;
    // Once they are gone the next request is served (waiting for the server to see them close).
    let status = 0;
    for (let i = 0; i < 500 && status !== 200; i++) {
      status = (await postJson(`${limited.url}/v1/indexes/sample/search`, { query: 'bread', top_k: 1 })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status, 200);
  } finally {
    for (const s of held) s.destroy();
    await limited.close();
  }
  assert.equal(resolveServerOptions({}, {}).maxConnections, SERVER_DEFAULTS.maxConnections);
  assert.throws(() => resolveServerOptions({ maxConnections: -1 }, {}), /maxConnections/);
});
