/**
 * What an operator reads off a running server. Logs: one JSON access line a request (method, URL,
 * matched route, status, ms, the proxy's x-request-id beside the server's own id), where Fastify's
 * pair ('incoming request', then 'request completed' with only id, status and time) had to be
 * joined; never a search's query text, a document or the Authorization header. Metrics: the served
 * generation and live documents of each index, which move with a write (they were not exported:
 * nothing told whether a write or another process's `plait add` had reached a replica).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveServerOptions, type RunningServer } from '../src/server/index.js';
import type { ServedIndex } from '../src/server/engine.js';
import { isPlaitError } from '../src/errors/index.js';
import { PLAIT_BIN } from './helpers/plait-serve.js';
import { parseExposition } from './helpers/prometheus-exposition.js';
import { ClusterMetrics } from '../src/cluster/cluster-metrics.js';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';
import { buildSample, parsePrometheus, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

const KEY = 'operator-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
let sample: SampleIndex;
let server: RunningServer;
const log: Record<string, unknown>[] = [];

before(async () => {
  sample = await buildSample('plait-server-operations-');
  server = await serve(sample, { apiKey: KEY, logLevel: 'info', logDestination: { write: (line) => void log.push(JSON.parse(line) as Record<string, unknown>) } });
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

async function metrics(): Promise<Map<string, number>> {
  const r = await fetch(`${server.url}/metrics`, { headers: auth });
  assert.equal(r.status, 200);
  return new Map(parsePrometheus(await r.text()).map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]));
}

test('one access line a request: route, status, ms, the proxy id; no query text, document or key', async () => {
  log.length = 0;
  const secretQuery = 'zebra-query-text-not-for-logs';
  const s = await postJson(`${server.url}/v1/indexes/sample/search`, { query: secretQuery, top_k: 2 }, { ...auth, 'x-request-id': 'nginx-7f3a' });
  assert.equal(s.status, 200);
  const denied = await postJson(`${server.url}/v1/rerank`, { query: secretQuery, documents: ['doc-text-not-for-logs'] }, { authorization: 'Bearer wrong-key-value-123456' });
  assert.equal(denied.status, 401);
  await new Promise((r) => setTimeout(r, 50));
  const lines = log.filter((l) => l['msg'] === 'request completed');
  assert.equal(lines.length, 2, JSON.stringify(log));
  assert.equal(log.filter((l) => l['msg'] === 'incoming request').length, 0, 'no second line per request');
  const [search, rerank] = lines;
  assert.equal(search!['method'], 'POST');
  assert.equal(search!['url'], '/v1/indexes/sample/search');
  assert.equal(search!['route'], '/v1/indexes/:name/search');
  assert.equal(search!['remoteAddress'], '127.0.0.1');
  assert.equal(search!['statusCode'], 200);
  assert.equal(typeof search!['responseTime'], 'number');
  assert.equal(search!['clientRequestId'], 'nginx-7f3a');
  assert.equal(search!['reqId'], s.headers.get('x-request-id'), "the line's id is the one the reply carries");
  assert.equal(rerank!['statusCode'], 401);
  assert.equal(rerank!['route'], '/v1/rerank');
  assert.equal(rerank!['clientRequestId'], undefined);
  const all = JSON.stringify(log);
  for (const secret of [secretQuery, 'doc-text-not-for-logs', KEY, 'wrong-key-value']) assert.ok(!all.includes(secret), `${secret} was logged`);
});

test('a proxy id that is not a short printable token is left out of the line', async () => {
  log.length = 0;
  const r = await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'x'.repeat(200) } });
  assert.equal(r.status, 200);
  await new Promise((r) => setTimeout(r, 50));
  const line = log.find((l) => l['msg'] === 'request completed');
  assert.ok(line !== undefined);
  assert.equal(line['clientRequestId'], undefined);
});

test('/metrics: the served generation and live documents of each index move with a write', async () => {
  const before = await metrics();
  const gen0 = before.get('plait_index_generation{"index":"sample"}');
  const docs0 = before.get('plait_index_documents{"index":"sample"}');
  assert.equal(gen0, sample.index.manifest.generation ?? 0);
  assert.equal(docs0, sample.index.manifest.counts.documents);
  assert.ok(docs0 !== undefined && docs0 > 0);
  const w = await postJson(`${server.url}/v1/indexes/sample/documents`, { documents: [{ doc_id: 'ops-new', text: 'Kilns fire clay at over a thousand degrees.' }] }, auth);
  assert.equal(w.status, 200, JSON.stringify(w.body));
  const after = await metrics();
  assert.equal(after.get('plait_index_generation{"index":"sample"}'), w.body.generation_number);
  assert.equal(after.get('plait_index_documents{"index":"sample"}'), docs0 + 1);
});

test('an unknown --log-level is refused before anything loads, naming the levels (it was pino\'s stack trace after the load)', () => {
  assert.throws(() => resolveServerOptions({ logLevel: 'verbose' }, {}), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /fatal, error, warn, info, debug, trace, silent/.test(e.message));
  assert.equal(resolveServerOptions({ logLevel: 'warn' }, {}).logLevel, 'warn');
  const t = performance.now();
  const r = spawnSync(process.execPath, [PLAIT_BIN, 'serve', sample.path, '--port', '0', '--log-level', 'verbose'], { encoding: 'utf8', env: { ...process.env, PLAIT_API_KEY: undefined } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^plait: Invalid argument: Expected one of fatal, .* for --log-level but received "verbose" \[INVALID_ARGUMENT\]/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(performance.now() - t < 15_000);
});

test("trustProxy: behind a listed proxy the access line names the client from X-Forwarded-For; otherwise a client's own header is not believed", async () => {
  const spoofed = await fetch(`${server.url}/health`, { headers: { 'x-forwarded-for': '198.51.100.9' } });
  assert.equal(spoofed.status, 200);
  const proxied = await serve(sample, { trustProxy: 'loopback, 10.0.0.0/8', logLevel: 'info', logDestination: { write: (line) => void log.push(JSON.parse(line) as Record<string, unknown>) } });
  try {
    const r = await fetch(`${proxied.url}/health`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(r.status, 200);
    await new Promise((r) => setTimeout(r, 50));
    const byId = (id: string | null) => log.find((l) => l['msg'] === 'request completed' && l['reqId'] === id);
    assert.equal(byId(spoofed.headers.get('x-request-id'))?.['remoteAddress'], '127.0.0.1');
    assert.equal(byId(r.headers.get('x-request-id'))?.['remoteAddress'], '203.0.113.7');
  } finally {
    await proxied.close();
  }
  for (const bad of ['10.0.0.0/33', 'nginx', '127.0.0.1/8/1', '']) {
    assert.throws(() => resolveServerOptions({ trustProxy: bad }, {}), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /for trustProxy/.test(e.message), bad);
  }
  assert.equal(resolveServerOptions({ trustProxy: '::1, fd00::/8,uniquelocal' }, {}).trustProxy, '::1,fd00::/8,uniquelocal');
});

/** Resolves with the first log line that matches, once it is written (the access line follows the answer). */
async function logLine(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let i = 0; i < 1000; i++) {
    const found = log.find(match);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no such log line in ${JSON.stringify(log)}`);
}

test("a key sent in the query string is not logged: the access line keeps the parameters' names, not their values", async () => {
  // Some APIs take their key as ?api_key= or ?key=; plait reads only the header, so such a client is
  // refused (401) — and its valid key had been written verbatim into the access line's url.
  const byId = (r: Response) => (l: Record<string, unknown>) => l['msg'] === 'request completed' && l['reqId'] === r.headers.get('x-request-id');
  const inQuery = await fetch(`${server.url}/v1/indexes?api_key=${KEY}&top_k=3&${KEY}`);
  assert.equal(inQuery.status, 401);
  assert.equal((await logLine(byId(inQuery)))['url'], '/v1/indexes?api_key=REDACTED&top_k=REDACTED&REDACTED');
  const open = await fetch(`${server.url}/health?token=${KEY}`);
  assert.equal(open.status, 200);
  assert.equal((await logLine(byId(open)))['url'], '/health?token=REDACTED');
  assert.ok(!JSON.stringify(log).includes(KEY), 'the key was logged');
});

test('the bearer header as RFC 7235 writes it: any case of the scheme, one or more spaces or tabs before the key', async () => {
  for (const header of [`Bearer  ${KEY}`, `bearer\t${KEY}`, `BEARER ${KEY}`]) {
    assert.equal((await fetch(`${server.url}/v1/indexes`, { headers: { authorization: header } })).status, 200, JSON.stringify(header));
  }
  for (const header of [`Bearer${KEY}`, `Basic ${KEY}`, `Bearer ${KEY} x`, KEY]) {
    assert.equal((await fetch(`${server.url}/v1/indexes`, { headers: { authorization: header } })).status, 401, JSON.stringify(header));
  }
});

test('PLAIT_API_KEY is read as a key file line is: a trailing line feed (a Secret written from a file) is no part of it; a key no header can carry is refused, naming PLAIT_API_KEY, never the key', () => {
  assert.deepEqual(resolveServerOptions({}, { PLAIT_API_KEY: `${KEY}\n` }).apiKeys, [KEY]);
  assert.deepEqual(resolveServerOptions({ apiKey: ` ${KEY}\r\n` }, {}).apiKeys, [KEY]);
  const inner = 'operator\tkey-0123456789abcdef';
  assert.throws(() => resolveServerOptions({}, { PLAIT_API_KEY: inner }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /for PLAIT_API_KEY but received U\+0009 at character 9/.test(e.message) && e.details?.['reason'] === 'notPrintable' && !e.message.includes('operator'));
  assert.throws(() => resolveServerOptions({}, { PLAIT_API_KEY: 'short\n' }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /at least 16 characters for PLAIT_API_KEY but received 5 characters/.test(e.message));
  const r = spawnSync(process.execPath, [PLAIT_BIN, 'serve', sample.path, '--port', '0'], { encoding: 'utf8', env: { ...process.env, PLAIT_API_KEY: inner } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^plait: Invalid argument: Expected visible ASCII characters only .* for PLAIT_API_KEY but received U\+0009 at character 9 \[INVALID_ARGUMENT\]/);
  assert.ok(!r.stderr.includes('operator'), 'the key was echoed');
});

test('a key asked for and given empty (PLAIT_API_KEY=, PLAIT_API_KEY_FILE=, --api-key-file "") stops the start, exit 2, saying how to serve without a key on purpose (it had served open)', () => {
  // A Secret that was not mounted leaves PLAIT_API_KEY= in the pod: it had read as unset, and the server served anyone.
  const doors: { env: NodeJS.ProcessEnv; args: string[]; name: string; unset: RegExp }[] = [
    { env: { PLAIT_API_KEY: '' }, args: [], name: 'PLAIT_API_KEY', unset: /unset PLAIT_API_KEY/ },
    { env: { PLAIT_API_KEY: ' \n' }, args: [], name: 'PLAIT_API_KEY', unset: /unset PLAIT_API_KEY/ },
    { env: { PLAIT_API_KEY_FILE: '' }, args: [], name: 'PLAIT_API_KEY_FILE', unset: /unset PLAIT_API_KEY_FILE/ },
    { env: {}, args: ['--api-key-file', ''], name: 'apiKeyFile', unset: /leave --api-key-file/ },
  ];
  for (const door of doors) {
    const r = spawnSync(process.execPath, [PLAIT_BIN, 'serve', sample.path, '--port', '0', ...door.args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PLAIT_API_KEY: undefined, PLAIT_API_KEY_FILE: undefined, ...door.env } }); // a server that starts open is killed after 60 s (the refusal takes well under a second)
    assert.equal(r.status, 2, `${door.name}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`${door.name} is set but empty`), r.stderr);
    assert.match(r.stderr, door.unset);
    assert.match(r.stderr, /without a key on purpose \[INVALID_ARGUMENT\]/);
    assert.doesNotMatch(r.stdout, /"msg":"ready"/);
  }
  // The library's doors say the same, with details.reason "empty".
  for (const [o, env] of [[{ apiKey: '' }, {}], [{ apiKeyFile: ' ' }, {}], [{}, { PLAIT_API_KEY: '' }], [{}, { PLAIT_API_KEY_FILE: '' }]] as const) {
    assert.throws(() => resolveServerOptions(o, env), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['reason'] === 'empty', JSON.stringify([o, env]));
  }
  assert.deepEqual(resolveServerOptions({}, {}).apiKeys, [], 'unset is open, on purpose');
});

test('a served folder that disappears or is replaced by a non-index is said in the log once and makes /ready 503 INDEX_UNAVAILABLE (it was silent, /ready 200, stale for ever), and its return makes it 200 again', async () => {
  const moved = `${sample.path}.moved`;
  const warned = (l: Record<string, unknown>) => l['level'] === 40 && l['index'] === 'sample' && /cannot read its folder/.test(String(l['msg']));
  renameSync(sample.path, moved);
  try {
    await server.engine.refreshIndexes();
    await server.engine.refreshIndexes();
    const line = await logLine(warned);
    assert.equal(typeof line['code'], 'string');
    assert.match(String(line['msg']), /still serving generation \w+ from the files already open/);
    assert.equal(log.filter(warned).length, 1, 'said once, not on every tick');
    assert.equal((await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', top_k: 1 }, auth)).status, 200, 'searches are still served');
    // Not ready, so a load balancer sends the traffic elsewhere (it had answered 200); alive all the same.
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'not ready', indexes: ['sample'], models: ['bundled:use-lite'], code: 'INDEX_UNAVAILABLE', unavailable: [{ index: 'sample', code: 'INDEX_NOT_FOUND' }] });
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    // A folder put back that is not an index (an empty volume mounted there) is no better.
    mkdirSync(sample.path);
    writeFileSync(join(sample.path, 'README'), 'not an index');
    const junk = await fetch(`${server.url}/ready`);
    assert.equal(junk.status, 503);
    assert.equal(((await junk.json()) as { code: string }).code, 'INDEX_UNAVAILABLE');
    rmSync(sample.path, { recursive: true });
  } finally {
    renameSync(moved, sample.path);
  }
  await server.engine.refreshIndexes();
  await logLine((l) => l['index'] === 'sample' && /its folder reads again/.test(String(l['msg'])));
  const back = await fetch(`${server.url}/ready`);
  assert.equal(back.status, 200);
  assert.deepEqual(await back.json(), { status: 'ready', indexes: ['sample'], models: ['bundled:use-lite'] });
});

test("a coordinator that cannot reach NATS answers /ready 503 with the code NATS_UNREACHABLE beside `unreachable` (the same codes as a single server's)", async () => {
  let reachable = true;
  const index = sample.index;
  const cluster: ServedIndex = { path: 'nats:sample', manifest: index.manifest, encoder: () => index.encoder(), resolveSearch: (o) => index.resolveSearch(o), searchEncodedBatch: (q, e, o) => index.searchEncodedBatch(q, e, o), close: async () => {}, reachable: () => reachable };
  const s = await serve(sample, {}, cluster);
  try {
    assert.equal((await fetch(`${s.url}/ready`)).status, 200);
    reachable = false;
    const r = await fetch(`${s.url}/ready`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { status: 'not ready', indexes: ['sample'], models: ['bundled:use-lite'], code: 'NATS_UNREACHABLE', unreachable: ['sample'] });
  } finally {
    await s.close();
  }
});

/** Unit words that are not Prometheus base units, as name parts (`_ms`, `_milliseconds_total`, …). */
const NON_BASE_UNITS = ['ms', 'millis', 'milliseconds', 'us', 'micros', 'microseconds', 'ns', 'nanoseconds', 'minutes', 'hours', 'days', 'kb', 'mb', 'gb', 'kib', 'mib', 'gib', 'percent'];

test("/metrics of a real server, with a coordinator's families, reads strictly as Prometheus text: HELP and TYPE once a family, prom-client's process_/nodejs_ families under their standard names (they were plait_process_…), plait's by the rules", async () => {
  const s = await serve(sample, { defaultMetrics: true });
  try {
    new ClusterMetrics(s.engine.metrics.registry); // a coordinator's families, on its server's registry (coordinator-engine.ts)
    assert.equal((await postJson(`${s.url}/v1/indexes/sample/search`, { query: 'bread', top_k: 1 })).status, 200); // histograms with samples
    const r = await fetch(`${s.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parseExposition(await r.text());
    const names = families.map((f) => f.name);
    // What node_exporter-style dashboards and alerts query by name.
    for (const standard of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_version_info']) {
      assert.ok(names.includes(standard), `${standard} missing: ${names.join(', ')}`);
    }
    for (const own of ['plait_http_requests_total', 'plait_http_request_duration_seconds', 'plait_cluster_shard_request_seconds', 'plait_cluster_nats_connected']) assert.ok(names.includes(own), own);
    const faults: string[] = [];
    for (const f of families) {
      // prom-client's own families keep its names, a few gauges ending _total among them (nodejs_active_handles_total): dashboards use those names.
      const standard = /^(process|nodejs)_/.test(f.name);
      if (f.help === undefined || f.help.trim() === '') faults.push(`${f.name}: no HELP text`);
      if (f.type === undefined || f.type === 'untyped') faults.push(`${f.name}: no TYPE`);
      if (!standard && !f.name.startsWith('plait_')) faults.push(`${f.name}: neither plait_ nor a standard process_/nodejs_ family`);
      if (f.type === 'counter' && !f.name.endsWith('_total')) faults.push(`${f.name}: a counter not ending _total`);
      if (!standard && f.type !== 'counter' && f.name.endsWith('_total')) faults.push(`${f.name}: a ${f.type} ending _total`);
      const unit = f.name.split('_').find((p) => NON_BASE_UNITS.includes(p));
      if (unit !== undefined) faults.push(`${f.name}: unit "${unit}" is not a base unit`);
      if (f.type === 'counter' && f.samples.some((x) => !(x.value >= 0))) faults.push(`${f.name}: a counter below 0`);
      if (f.type === 'histogram') {
        if (!/_(seconds|bytes)$/.test(f.name)) faults.push(`${f.name}: a histogram without its base unit at the end`);
        // Per series: buckets ascending in le and cumulative, +Inf equal to _count.
        const series = new Map<string, { le: number; value: number }[]>();
        const counts = new Map<string, number>();
        for (const x of f.samples) {
          const { le, ...rest } = x.labels;
          const key = JSON.stringify(Object.entries(rest).sort());
          if (x.name === `${f.name}_bucket`) series.set(key, [...(series.get(key) ?? []), { le: Number(le!.replace('Inf', 'Infinity')), value: x.value }]);
          if (x.name === `${f.name}_count`) counts.set(key, x.value);
        }
        for (const [key, buckets] of series) {
          if (buckets.some((b, i) => i > 0 && (b.le <= buckets[i - 1]!.le || b.value < buckets[i - 1]!.value))) faults.push(`${f.name}${key}: buckets not ascending and cumulative`);
          if (buckets.at(-1)?.le !== Infinity || buckets.at(-1)?.value !== counts.get(key)) faults.push(`${f.name}${key}: +Inf bucket is not _count`);
        }
      }
    }
    assert.deepEqual(faults, []);
    // Request durations are counted up to the longest deadline a request may name (they stopped at 30 s: a 100 s write read as 30 s).
    const les = families.find((f) => f.name === 'plait_http_request_duration_seconds')!.samples.flatMap((x) => (x.labels['le'] === undefined || x.labels['le'] === '+Inf' ? [] : [Number(x.labels['le'])]));
    assert.ok(Math.max(...les) >= SERVER_DEFAULTS.maxTimeoutMs / 1000, `largest bucket ${Math.max(...les)} s`);
  } finally {
    await s.close();
  }
});
