/**
 * What the server says when a request or a start goes wrong, as a client or a user meets it
 * (issue 27): a JSON body sent as text/plain is a 415 (not "body must be object"), a 415 names what
 * to send, an invalid enum value lists the allowed ones, a 413 names the limit and
 * --max-body-bytes; a query with no letter or digit gets no hits and `empty_reason` in every mode
 * and in pipelines, as the CLI and library do; `plait serve` on a taken port answers
 * ADDRESS_IN_USE with a hint before it opens any index or model, and an unknown index names
 * every place it looked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { startServer, type RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { resolveServerOptions } from '../src/server/options.js';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpSync, mkdirSync } from 'node:fs';
import { plaitError } from './helpers/error-shape.js';
import { isLoopbackHost } from '../src/cli/open-port.js';

let sample: SampleIndex;
let server: RunningServer;
const MAX_BODY = 4096;

before(async () => {
  sample = await buildSample('plait-server-messages-');
  server = await serve(sample, { maxBodyBytes: MAX_BODY });
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

async function post(path: string, body: string, contentType?: string): Promise<{ status: number; body: { error: { code: string; message: string; details?: Record<string, unknown> } } }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: contentType === undefined ? {} : { 'content-type': contentType }, body });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

test('a JSON body sent as text/plain (or any type but JSON) is a 415 that names what to send', async () => {
  const json = JSON.stringify({ query: 'bread' });
  for (const [type, named] of [['text/plain', 'Content-Type text/plain'], ['text/plain; charset=utf-8', 'Content-Type text/plain'], ['application/xml', 'Content-Type application/xml']] as const) {
    const r = await post('/v1/indexes/sample/search', json, type);
    assert.equal(r.status, 415, type);
    assert.equal(r.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.ok(r.body.error.message.includes(named), r.body.error.message);
    assert.match(r.body.error.message, /send a JSON body with "Content-Type: application\/json"/);
  }
  const r = await post('/v1/rerank', JSON.stringify({ query: 'q', documents: ['a'] }), 'text/plain');
  assert.equal(r.status, 415);
});

test('an invalid enum value lists the allowed values', async () => {
  const mode = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', mode: 'fast' });
  assert.equal(mode.status, 400);
  assert.equal(mode.body.error.code, 'INVALID_ARGUMENT');
  assert.match(mode.body.error.message, /mode.*"late", "bm25", "hybrid"/);
  assert.deepEqual(mode.body.error.details.allowed_values, ['late', 'bm25', 'hybrid']);
  const fusion = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', fusion: 'max' });
  assert.match(fusion.body.error.message, /fusion.*"minmax", "rrf"/);
});

test("an unknown field names the field meant: the library's camelCase spelling gets its snake_case field, a typo the nearest field", async () => {
  for (const [path, body, unknown, meant] of [
    ['/v1/indexes/sample/search', { query: 'bread', topK: 2 }, 'topK', 'top_k'],
    ['/v1/indexes/sample/search', { query: 'bread', includeText: true }, 'includeText', 'include_text'],
    ['/v1/indexes/sample/search', { query: 'bread', nIvfProbe: 4 }, 'nIvfProbe', 'n_ivf_probe'],
    ['/v1/indexes/sample/search', { query: 'bread', topk: 2 }, 'topk', 'top_k'],
    ['/v1/indexes/sample/search', { queries: ['bread'], timeoutMs: 1000 }, 'timeoutMs', 'timeout_ms'],
    // (a missing required field is named as such first: `docId` for `doc_id` says "must have required property 'doc_id'")
    ['/v1/indexes/sample/documents', { documents: [{ doc_id: 'x', text: 'y' }], noReplace: true }, 'noReplace', 'no_replace'],
    // A field's last word alone: `ids` (as `plait delete --ids` spells it) had no suggestion.
    ['/v1/indexes/sample/documents/delete', { ids: ['x'] }, 'ids', 'doc_ids'],
  ] as const) {
    const r = await post(path, JSON.stringify(body), 'application/json');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.details?.unknown_field, unknown);
    assert.equal(r.body.error.details?.suggestion, meant, JSON.stringify(r.body));
    assert.match(r.body.error.message, new RegExp(`\\(${unknown}\\); did you mean "${meant}"\\?$`), r.body.error.message);
  }
  // `k` ends two fields (top_k, rrf_k): no guess.
  const two = await post('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', k: 2 }), 'application/json');
  assert.equal(two.status, 400);
  assert.equal(two.body.error.details?.suggestion, undefined, JSON.stringify(two.body));
  const far = await post('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', zzzzzz: 1 }), 'application/json');
  assert.equal(far.status, 400);
  assert.equal(far.body.error.details?.suggestion, undefined, 'no field is near "zzzzzz"');
  assert.match(far.body.error.message, /\(zzzzzz\)$/);
});

test('a 413 names the limit in bytes and --max-body-bytes', async () => {
  const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'x'.repeat(MAX_BODY + 10) });
  assert.equal(r.status, 413);
  assert.equal(r.body.error.code, 'QUERY_TOO_LARGE');
  assert.ok(r.body.error.message.includes(`limit of ${MAX_BODY} bytes`), r.body.error.message);
  assert.match(r.body.error.message, /--max-body-bytes/);
  assert.equal(r.body.error.details.max_body_bytes, MAX_BODY);
});

/** Every POST route's 413 code, by what its body carries: a query request, a write, an encode request. */
const TOO_LARGE_CODES: Record<string, string> = {
  '/v1/rerank': 'QUERY_TOO_LARGE',
  '/v2/rerank': 'QUERY_TOO_LARGE',
  '/rerank': 'QUERY_TOO_LARGE',
  '/v1/indexes/{name}/search': 'QUERY_TOO_LARGE',
  '/v1/indexes/{name}/explain': 'QUERY_TOO_LARGE',
  '/v1/encode': 'ENCODE_TOO_LARGE',
  '/v1/indexes/{name}/documents': 'WRITE_TOO_LARGE',
  '/v1/indexes/{name}/documents/delete': 'WRITE_TOO_LARGE',
};

test('every POST route answers a body over the limit with a 413 whose code names what was too large (a write is not a query)', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const posts = Object.keys(doc.paths).filter((p) => doc.paths[p]!['post'] !== undefined).sort();
  // A new POST route fails here until its body kind (route config bodyKind) is placed in the table.
  assert.deepEqual(posts, Object.keys(TOO_LARGE_CODES).sort());
  const big = JSON.stringify({ query: 'x', texts: ['a'.repeat(MAX_BODY)], documents: [{ doc_id: 'd', text: 'a'.repeat(MAX_BODY) }] });
  for (const path of posts) {
    const r = await post(path.replace('{name}', 'sample'), big, 'application/json');
    assert.equal(r.status, 413, path);
    assert.equal(plaitError(r.body).code, TOO_LARGE_CODES[path], path);
    assert.equal(plaitError(r.body).details?.['max_body_bytes'], MAX_BODY, path);
  }
  const write = await post('/v1/indexes/sample/documents', big, 'application/json');
  assert.equal(write.body.error.message, `Write too large: the write's body is larger than the server's limit of ${MAX_BODY} bytes; send fewer documents or ids per request (the limit is the server operator's: plait serve --max-body-bytes)`);
  // The item limits carry the same codes: texts to encode past maxEncodeTexts, queries past maxBatchQueries.
  const texts = await postJson(`${server.url}/v1/encode`, { texts: Array.from({ length: server.engine.options.maxEncodeTexts + 1 }, () => 'a') });
  assert.deepEqual([texts.status, texts.body.error.code, texts.body.error.details.field], [413, 'ENCODE_TOO_LARGE', 'texts']);
  const rerank = await postJson(`${server.url}/v1/rerank`, { query: 'q', documents: Array.from({ length: server.engine.options.maxRerankDocuments + 1 }, () => 'a') });
  assert.deepEqual([rerank.status, rerank.body.error.code, rerank.body.error.details.field], [413, 'QUERY_TOO_LARGE', 'documents']);
});

test('a query with no letter or digit gets no hits and empty_reason in every mode, in a batch and in a pipeline, like the library', async () => {
  const lib = await sample.index.search('???', { mode: 'late' });
  assert.deepEqual(lib.hits, []);
  assert.equal(lib.emptyReason, 'no-content');
  for (const mode of ['late', 'bm25', 'hybrid']) {
    const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query: '???', mode });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.results[0].hits, [], mode);
    assert.equal(r.body.results[0].empty_reason, 'no-content', mode);
  }
  // In a batch only that query is empty; the other is searched.
  const batch = await postJson(`${server.url}/v1/indexes/sample/search`, { queries: ['why does bread rise', '!!! ...'], mode: 'late' });
  assert.ok(batch.body.results[0].hits.length > 0);
  assert.equal(batch.body.results[0].empty_reason, undefined);
  assert.deepEqual(batch.body.results[1].hits, []);
  assert.equal(batch.body.results[1].empty_reason, 'no-content');
  // A blank query alone is a request with nothing to rank by (400); in a batch it is answered as the library answers it.
  const blank = await postJson(`${server.url}/v1/indexes/sample/search`, { query: '   ' });
  assert.deepEqual([blank.status, blank.body.error.code], [400, 'EMPTY_TEXT']);
  for (const extra of [{ mode: 'late' }, { mode: 'bm25' }, { mode: 'hybrid' }, { pipeline: 'bm25:20 > late:5' }]) {
    const mixed = await postJson(`${server.url}/v1/indexes/sample/search`, { queries: ['why does bread rise', ' \t '], ...extra });
    assert.equal(mixed.status, 200, JSON.stringify(mixed.body));
    assert.ok(mixed.body.results[0].hits.length > 0, JSON.stringify(extra));
    assert.equal(mixed.body.results[0].empty_reason, undefined);
    assert.deepEqual(mixed.body.results[1].hits, [], JSON.stringify(extra));
    assert.equal(mixed.body.results[1].empty_reason, 'empty-query', JSON.stringify(extra));
  }
  const libBatch = await sample.index.searchBatch(['why does bread rise', ' \t '], { mode: 'late' });
  assert.equal(libBatch[1]!.emptyReason, 'empty-query', 'the library answers the same');
  const piped = await postJson(`${server.url}/v1/indexes/sample/search`, { query: '???', pipeline: 'bm25:20 > late:5' });
  assert.equal(piped.status, 200, JSON.stringify(piped.body));
  assert.deepEqual(piped.body.results[0].hits, []);
  assert.equal(piped.body.results[0].empty_reason, 'no-content');
});

async function takePort(): Promise<{ port: number; holder: Server }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const addr = holder.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { port: addr.port, holder };
}

test('plait serve on a taken port: ADDRESS_IN_USE with a --port hint, before any index or model is opened', async () => {
  const { port, holder } = await takePort();
  try {
    // The index does not exist: had serve looked for it (or loaded a model) first, that would be the error.
    const r = runPlait(sample.dir, ['serve', 'no-such-index', '--port', String(port)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ADDRESS_IN_USE/);
    assert.ok(r.stderr.includes(`127.0.0.1:${port} is taken by another process`), r.stderr);
    assert.match(r.stderr, /--port <n>/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const human = runPlait(sample.dir, ['serve', sample.path, '--port', String(port)]);
    assert.notEqual(human.code, 0);
    assert.match(human.stderr, /^plait: Address in use: 127\.0\.0\.1:\d+ is taken by another process.*\[ADDRESS_IN_USE\]$/m);
  } finally {
    holder.close();
  }
});

test('plait serve --host that does not resolve: INVALID_ARGUMENT with a hint and no stack trace, before any index or model is opened', () => {
  // Port 0 too: its host was not checked before the indexes and models loaded; then "Error: getaddrinfo ENOTFOUND" and a stack.
  for (const port of ['0', '18080']) {
    const r = runPlait(sample.dir, ['serve', 'no-such-index', '--host', 'no-such-host.invalid', '--port', port]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^plait: Invalid argument: no-such-host\.invalid is not a host name this machine can resolve \((ENOTFOUND|EAI_AGAIN)\): use --host 127\.0\.0\.1 .*\[INVALID_ARGUMENT\]$/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('plait serve of an unknown index names every place it looked, as plait search does', () => {
  const serveErr = runPlait(sample.dir, ['serve', 'no-such-index', '--port', '0']).stderr;
  const searchErr = runPlait(sample.dir, ['search', 'no-such-index', 'bread']).stderr;
  assert.match(serveErr, /INDEX_NOT_FOUND/);
  assert.match(serveErr, /looked in .*no-such-index and .*indexes\/no-such-index/);
  assert.equal(serveErr, searchErr);
});

test("plait serve: an index named after --cors, --model or --cross-encoder (which take every value up to the next option) is a USAGE error saying so, not a silent origin or a missing model", () => {
  // `plait serve --cors http://localhost:3000 sample` had started a server with no index and "sample" as an allowed origin.
  for (const [flag, value] of [['--cors', 'http://localhost:3000'], ['--model', 'bundled'], ['-m', 'bundled'], ['--cross-encoder', './no-such-ce']] as const) {
    // A timeout, since before the fix the --cors case started a server that never exits.
    const p = spawnSync(process.execPath, [PLAIT_BIN, 'serve', flag, value, 'sample', '--port', '0'], { encoding: 'utf8', cwd: sample.dir, env: { ...process.env, PLAIT_INDEX_DIR: join(sample.dir, 'indexes') }, timeout: 30_000 });
    const r = { code: p.status, stdout: p.stdout, stderr: p.stderr };
    assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^plait: Usage: "sample" after ${flag} is an index: ${flag} takes every value up to the next option .*\\[USAGE\\]$`, 'm'), r.stderr);
    assert.match(r.stderr, /^plait: name the indexes first \(plait serve sample .*\), or last after -- \(plait serve .* -- sample; options go before --\)$/m, r.stderr);
    assert.doesNotMatch(r.stdout, /listening/);
  }
});

test('CORS origins are checked and read as a browser sends them: "*" allows any origin, a trailing slash is dropped, anything else is refused', async () => {
  const ok = resolveServerOptions({ corsOrigins: ['http://localhost:3000/', 'https://app.example'] }, {});
  assert.deepEqual(ok.corsOrigins, ['http://localhost:3000', 'https://app.example']);
  assert.deepEqual(resolveServerOptions({ corsOrigins: ['*'] }, {}).corsOrigins, ['*']);
  // "*" beside origins allowed every origin without a word: refused, naming the origins it would void.
  assert.throws(
    () => resolveServerOptions({ corsOrigins: ['https://app.example', '*'] }, {}),
    /"\*" in corsOrigins allows every origin, so "https:\/\/app\.example" beside it would mean nothing: give "\*" alone, or the origins without it/,
  );
  for (const bad of ['sample', 'localhost:3000', 'https://app.example/path', '']) {
    assert.throws(() => resolveServerOptions({ corsOrigins: [bad] }, {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, /Expected an origin \(scheme:\/\/host\[:port\], as a browser sends it\) or "\*" for corsOrigins\[0\] but received/);
      return true;
    }, bad);
  }
  // The value at fault is named with its own index, not always the first's.
  assert.throws(() => resolveServerOptions({ corsOrigins: ['https://ok.example', 'https://app.example/path'] }, {}), /for corsOrigins\[1\] but received "https:\/\/app\.example\/path"/);
  // A comma-separated list (other servers' CORS setting) says how to give several: the caller's own origins, in the library's spelling.
  assert.throws(
    () => resolveServerOptions({ corsOrigins: ['https://x.example, https://y.example'] }, {}),
    (e: Error & { details?: { hint?: string } }) => e.details?.hint === 'one origin an array element: corsOrigins: ["https://x.example","https://y.example"]',
  );
  for (const [origins, from, allowed] of [
    [['*'], 'https://anywhere.example', '*'],
    [['http://localhost:3000/'], 'http://localhost:3000', 'http://localhost:3000'],
  ] as const) {
    const s = await serve(sample, { corsOrigins: [...origins] });
    try {
      const pre = await fetch(`${s.url}/v1/rerank`, { method: 'OPTIONS', headers: { origin: from, 'access-control-request-method': 'POST' } });
      assert.equal(pre.headers.get('access-control-allow-origin'), allowed, JSON.stringify(origins));
      const r = await fetch(`${s.url}/health`, { headers: { origin: from } });
      assert.equal(r.headers.get('access-control-allow-origin'), allowed);
    } finally {
      await s.close();
    }
  }
});

test('plait serve --cors: each refusal names --cors and the value at fault (the second of two, a comma-separated pair as the hint\'s own origins), not the library\'s corsOrigins[i]', () => {
  for (const [values, fault, hint] of [
    [['https://ok.example', 'https://app.example/path'], 'https://app.example/path', null],
    [['localhost:3000'], 'localhost:3000', null],
    [['https://ok.example', '*'], null, null],
    [['https://x.example,https://y.example'], 'https://x.example,https://y.example', 'one origin a value, separated by spaces: --cors https://x.example https://y.example'],
  ] as const) {
    // Refused before any index or model loads: no index is named, and nothing listens.
    const r = spawnSync(process.execPath, [PLAIT_BIN, 'serve', '--port', '0', '--cors', ...values], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    if (fault === null) assert.match(r.stderr, /"\*" in --cors allows every origin, so "https:\/\/ok\.example" beside it would mean nothing/);
    else assert.ok(r.stderr.includes(`for --cors but received ${JSON.stringify(fault)}`), r.stderr);
    assert.doesNotMatch(r.stderr, /corsOrigins/);
    if (hint !== null) assert.ok(r.stderr.includes(`plait: ${hint}\n`), r.stderr);
  }
});

/** `plait serve` with `args`, until its "listening" line; its stderr up to then, then stopped by SIGTERM. */
async function serveStderr(args: string[], apiKey: string | undefined, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const child = spawn(process.execPath, [PLAIT_BIN, 'serve', sample.path, '--port', '0', '--workers', '1', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KUBERNETES_SERVICE_HOST: undefined, PLAIT_API_KEY: apiKey, ...env } });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 60_000);
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  await exited;
  return stderr;
}

test('plait serve on an address other machines reach, without PLAIT_API_KEY, warns that its writes are open to them', async () => {
  // It said nothing: `--host 0.0.0.0` let anyone on the network add and delete documents.
  const open = await serveStderr(['--host', '0.0.0.0'], undefined);
  assert.match(open, /^plait: warning: 0\.0\.0\.0 is reachable from other machines and PLAIT_API_KEY is not set: anyone who reaches this port can search, add and delete documents; set PLAIT_API_KEY \(README, Server\)$/m, open);
  // In a Kubernetes pod too: 0.0.0.0 with a key is what the README asks there (no warning).
  const keyed = await serveStderr(['--host', '0.0.0.0'], 'k'.repeat(24), { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
  assert.doesNotMatch(keyed, /warning/);
  const loopback = await serveStderr(['--host', '127.0.0.1'], undefined);
  assert.doesNotMatch(loopback, /warning/);
});

test('a route asked with the wrong method says which method it takes (curl $U/v1/indexes/sample/search?query=… had answered only "no route GET …")', async () => {
  for (const [method, path, takes] of [
    ['GET', '/v1/indexes/sample/search?query=bread', 'POST'],
    ['GET', '/v1/rerank', 'POST'],
    ['POST', '/v1/indexes', 'GET'],
  ] as const) {
    const res = await fetch(`${server.url}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.equal(body.error.message, `Not found: no route ${method} ${path.split('?')[0]}; it takes ${takes}${takes === 'POST' ? ' with a JSON body' : ''}`);
  }
  const none = (await (await fetch(`${server.url}/v1/nothing`)).json()) as { error: { message: string } };
  assert.equal(none.error.message, 'Not found: no route GET /v1/nothing');
});

test('plait serve with one index folder twice refuses, naming both; two folders of one base name are served as name and name-2', async () => {
  // `plait serve sample sample/` had opened the folder twice and served it as sample and sample-2: two writers of one index.
  const twice = runPlait(sample.dir, ['serve', sample.path, `${sample.path}/`, '--port', '0']);
  assert.equal(twice.code, 2, twice.stderr);
  assert.match(twice.stderr, /"[^"]*sample\/" is the index "[^"]*sample" again \(.*\): give each index once.*\[INVALID_ARGUMENT\]/);
  const other = join(sample.dir, 'other', 'sample');
  mkdirSync(join(sample.dir, 'other'));
  cpSync(sample.path, other, { recursive: true });
  const s = await startServer([sample.path, other], { host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false, scoringWorkers: 0 });
  try {
    assert.deepEqual([...s.engine.indexes.keys()], ['sample', 'sample-2']);
  } finally {
    await s.close();
  }
});

test('a REST guess at one document (DELETE or GET …/documents/<id>, DELETE …/documents) names the write routes and says no route reads a document (it had answered only "no route DELETE …", or "it takes POST", which adds)', async () => {
  for (const [method, path] of [
    ['DELETE', '/v1/indexes/sample/documents/d1'],
    ['GET', '/v1/indexes/sample/documents/d1'],
    ['PUT', '/v1/indexes/sample/documents/d1'],
    ['DELETE', '/v1/indexes/sample/documents'],
  ] as const) {
    const res = await fetch(`${server.url}${path}`, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.equal(
      body.error.message,
      `Not found: no route ${method} ${path}; documents are added or replaced by POST /v1/indexes/sample/documents {"documents":[{"doc_id",…}]} and deleted by POST /v1/indexes/sample/documents/delete {"doc_ids":[…]}; no route reads one document by id (a search with include_text returns the stored title, text and metadata)`,
    );
  }
  // What the hint names works: the delete route deletes (an absent id commits nothing).
  const del = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { doc_ids: ['no-such-doc'] });
  assert.equal(del.status, 200, JSON.stringify(del.body));
});

test('with --cors and an API key, a browser reads the 401 (its answer carries the CORS headers) and the headers plait answers with (x-request-id, Retry-After, x-plait-*)', async () => {
  // The 401 had no access-control-allow-origin: the auth hook ran before @fastify/cors's, so a
  // browser app with a missing or wrong key saw an opaque CORS failure ("Failed to fetch"), not
  // plait's message; and no header was exposed, so its script could not read Retry-After on a 503.
  const origin = 'http://localhost:3000';
  const key = 'browser-test-key-0123456789';
  const keyed = await serve(sample, { corsOrigins: [origin], apiKey: key });
  try {
    const url = `${keyed.url}/v1/indexes/sample/search`;
    const body = JSON.stringify({ query: 'bread', top_k: 1 });
    const refused = await fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), origin);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    const ok = await fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), origin);
    const exposed = (ok.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    for (const h of ['x-request-id', 'retry-after', 'x-plait-ignored-fields', 'x-plait-text-warnings']) assert.ok(exposed.includes(h), `${h} in ${JSON.stringify(exposed)}`);
    await ok.arrayBuffer();
  } finally {
    await keyed.close();
  }
});

test("another search API's name for a field gets plait's (limit, size, top_n, rows → top_k; q → query), and a pagination field says how to page (they had said only \"must NOT have additional properties\")", async () => {
  for (const [body, unknown, meant] of [
    [{ query: 'bread', limit: 2 }, 'limit', 'top_k'],
    [{ query: 'bread', size: 2 }, 'size', 'top_k'],
    [{ query: 'bread', top_n: 2 }, 'top_n', 'top_k'],
    [{ query: 'bread', rows: 2 }, 'rows', 'top_k'],
    [{ q: 'bread' }, 'q', 'query'],
  ] as const) {
    const r = await post('/v1/indexes/sample/search', JSON.stringify(body), 'application/json');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.details?.unknown_field, unknown);
    assert.equal(r.body.error.details?.suggestion, meant, JSON.stringify(r.body));
    assert.match(r.body.error.message, new RegExp(`\\(${unknown}\\); did you mean "${meant}"\\?$`), r.body.error.message);
  }
  // Search pages with offset (search/paging.ts): another API's pagination field names it.
  for (const field of ['from', 'skip', 'start']) {
    const r = await post('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', top_k: 2, [field]: 2 }), 'application/json');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.details?.suggestion, 'offset', JSON.stringify(r.body));
    assert.ok(r.body.error.message.endsWith(`(${field}); did you mean "offset"?`), r.body.error.message);
  }
  const page = await post('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', top_k: 2, page: 2 }), 'application/json');
  assert.equal(page.status, 400, JSON.stringify(page.body));
  assert.ok(page.body.error.message.endsWith('(page); plait pages with "offset" and "top_k" (the page size): page n (1-based) of size s is offset = (n - 1) * s, top_k = s'), page.body.error.message);
  const paged = await post('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', top_k: 2, offset: 2 }), 'application/json');
  assert.equal(paged.status, 200, JSON.stringify(paged.body));
  // Where the field meant is not in the refusing schema, no guess and no paging hint: a delete has no top_k.
  for (const field of ['limit', 'offset']) {
    const del = await post('/v1/indexes/sample/documents/delete', JSON.stringify({ doc_ids: ['x'], [field]: 2 }), 'application/json');
    assert.equal(del.status, 400);
    assert.equal(del.body.error.details?.suggestion, undefined, JSON.stringify(del.body));
    assert.ok(del.body.error.message.endsWith(`(${field})`), del.body.error.message);
  }
});

test('plait serve on loopback inside a Kubernetes pod warns that the probes and the Service cannot reach it (it logged ready and was restarted for ever)', async () => {
  const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1' };
  const loopback = await serveStderr([], 'k'.repeat(24), pod);
  assert.match(loopback, /^plait: warning: listening on 127\.0\.0\.1 inside a Kubernetes pod: the kubelet's probes and the Service reach the pod's IP, not its loopback, .*pass --host 0\.0\.0\.0 \(or ::\) with PLAIT_API_KEY set/m, loopback);
  // IPv4-mapped loopback is loopback too (it had drawn the "reachable from other machines" warning).
  assert.ok(isLoopbackHost('::ffff:127.0.0.1') && isLoopbackHost('127.0.0.1') && !isLoopbackHost('::ffff:10.0.0.1') && !isLoopbackHost('0.0.0.0'));
});
