/**
 * A server that requires an API key, driven by the clients people use: cohere-ai's v2 client,
 * LangChain.js's CohereRerank and the Vercel AI SDK's rerank() send `Authorization: Bearer <key>`;
 * the right key ranks, a wrong one is a 401 whose message each client shows (and none of them
 * retries it). The keys come from `plait serve --api-key-file` (k8s mounts a Secret as a file; it
 * had been PLAIT_API_KEY only): one a line, any of them accepted, so a key is rotated by listing
 * the old and the new one. /health and /ready stay open for the orchestrator's probes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { CohereClientV2 } from 'cohere-ai';
import { CohereRerank } from '@langchain/cohere';
import { rerank } from 'ai';
import { createCohere } from '@ai-sdk/cohere';
import { resolveServerOptions } from '../src/server/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { buildSample, parsePrometheus, type SampleIndex } from './helpers/server-fixture.js';
import { exited, startPlaitServe, type PlaitServe } from './helpers/plait-serve.js';

const OLD_KEY = 'old-key-4f1c9a7e2b6d8053';
const NEW_KEY = 'new-key-93e0b2d7c5a1f684';
const QUERY = 'how does yeast make bread rise';
const DOCS = ['The stock market fell sharply on Monday.', 'Yeast ferments the sugars in dough and the carbon dioxide makes bread rise.', 'Glaciers carve valleys.'];

let sample: SampleIndex;
let server: PlaitServe;
let keyFile: string;

before(async () => {
  sample = await buildSample('plait-server-api-key-');
  keyFile = join(sample.dir, 'api-keys');
  // As a k8s Secret mounted from a file holds it: a comment, both keys while rotating, a trailing newline.
  writeFileSync(keyFile, `# rotating: old until the clients moved\n${OLD_KEY}\n\n${NEW_KEY}\n`);
  server = await startPlaitServe([sample.path, '--api-key-file', keyFile]);
});
after(async () => {
  await server?.stop();
  await sample?.dispose();
});

test('cohere-ai v2: either listed key ranks; a wrong key is a 401 the client reports at once, not retried', async () => {
  for (const token of [OLD_KEY, NEW_KEY]) {
    const r = await new CohereClientV2({ token, environment: server.url }).rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS });
    assert.equal(r.results[0]!.index, 1);
  }
  const t = performance.now();
  await assert.rejects(new CohereClientV2({ token: 'not-the-key-0000000000', environment: server.url }).rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS }), (e: Error & { statusCode?: number; body?: { message?: string } }) => {
    assert.equal(e.statusCode, 401);
    assert.match(e.body?.message ?? '', /Authorization: Bearer <key>/);
    return true;
  });
  assert.ok(performance.now() - t < 900, 'no retry (cohere-ai waits 1 s before one)');
  const m = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${NEW_KEY}` } });
  const unauthorized = parsePrometheus(await m.text()).filter((s) => s.name === 'plait_http_requests_total' && s.labels['status'] === '401');
  assert.deepEqual(unauthorized.map((s) => [s.labels['route'], s.value]), [['/v2/rerank', 1]]);
});

test("LangChain.js CohereRerank with the key ranks; the Vercel AI SDK's APICallError says why a wrong key failed", async () => {
  type LangchainClient = NonNullable<ConstructorParameters<typeof CohereRerank>[0]>['client'];
  const { CohereClient: Client } = createRequire(import.meta.resolve('@langchain/cohere'))('cohere-ai') as { CohereClient: new (o: { token: string; environment: string }) => LangchainClient };
  const compressor = new CohereRerank({ model: 'rerank-english-v3.0', client: new Client({ token: NEW_KEY, environment: server.url }) });
  const ranked = await compressor.rerank(DOCS, QUERY, { topN: 1 });
  assert.equal(ranked[0]!.index, 1);

  const good = createCohere({ apiKey: OLD_KEY, baseURL: `${server.url}/v2` });
  const { ranking } = await rerank({ model: good.reranking('rerank-v3.5'), query: QUERY, documents: DOCS, topN: 1 });
  assert.equal(ranking[0]!.originalIndex, 1);
  const bad = createCohere({ apiKey: 'not-the-key-0000000000', baseURL: `${server.url}/v2` });
  await assert.rejects(rerank({ model: bad.reranking('rerank-v3.5'), query: QUERY, documents: DOCS }), (e: Error & { statusCode?: number; isRetryable?: boolean }) => {
    assert.equal(e.statusCode, 401);
    assert.equal(e.isRetryable, false);
    assert.match(e.message, /Authorization: Bearer <key>/);
    return true;
  });
});

test('the ready line says how many keys are accepted (never a key), so the log shows the key took; /health and /ready answer without a key; /metrics and the TEI route need one', async () => {
  const ready = await server.logged((o) => o.msg === 'ready');
  assert.equal(ready.apiKeys, 2);
  assert.ok(!JSON.stringify(ready).includes(OLD_KEY) && !JSON.stringify(ready).includes(NEW_KEY));
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
  assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  const metrics = await fetch(`${server.url}/metrics`);
  assert.equal(metrics.status, 401);
  assert.equal(metrics.headers.get('www-authenticate'), 'Bearer');
  const tei = await fetch(`${server.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY, texts: DOCS }) });
  assert.equal(tei.status, 401);
});

test('apiKeyFile: comments and blank lines skipped; a short key, an empty file, a missing file are refused without echoing a key', () => {
  assert.deepEqual(resolveServerOptions({ apiKeyFile: keyFile }, {}).apiKeys, [OLD_KEY, NEW_KEY]);
  assert.equal(resolveServerOptions({}, { PLAIT_API_KEY_FILE: keyFile }).apiKey, OLD_KEY);
  assert.deepEqual(resolveServerOptions({}, { PLAIT_API_KEY_FILE: keyFile, PLAIT_API_KEY: 'env-key-0123456789abc' }).apiKeys, ['env-key-0123456789abc', OLD_KEY, NEW_KEY]);
  assert.deepEqual(resolveServerOptions({}, {}).apiKeys, []);
  const short = join(sample.dir, 'short-key');
  writeFileSync(short, `${NEW_KEY}\nshortkey\n`);
  assert.throws(() => resolveServerOptions({ apiKeyFile: short }, {}), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /line 2 holds 8/.test(e.message) && !e.message.includes('shortkey') && !e.message.includes(NEW_KEY));
  const empty = join(sample.dir, 'no-keys');
  writeFileSync(empty, '# nothing yet\n\n');
  assert.throws(() => resolveServerOptions({ apiKeyFile: empty }, {}), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /holds no key/.test(e.message));
  assert.throws(() => resolveServerOptions({ apiKeyFile: join(sample.dir, 'absent') }, {}), (e) => isPlaitError(e, 'FILE_NOT_FOUND') && /ENOENT/.test(e.message));
  // A Secret's mount folder named instead of its file says so (it had said only EISDIR).
  assert.throws(() => resolveServerOptions({}, { PLAIT_API_KEY_FILE: sample.dir }), (e) => isPlaitError(e, 'FILE_NOT_FOUND') && /\(EISDIR\): it is a folder; name the file in it/.test(e.message));
});

test('SIGHUP reads the key file again and keeps serving (it had ended the process, exit 129, cutting off requests); a bad file keeps the keys read before', async () => {
  const THIRD_KEY = 'third-key-5b8e1d0c7a2f9346';
  const ok = async (key: string) => (await fetch(`${server.url}/v1/indexes`, { headers: { authorization: `Bearer ${key}` } })).status;
  // Each wait ends with the line or with the process's exit, which fails the test.
  const died = exited(server.child).then((e) => assert.fail(`plait serve exited on SIGHUP: ${JSON.stringify(e)}`));
  const logLine = (match: (o: { msg?: string }) => boolean) => Promise.race([server.logged(match), died]);
  try {
    writeFileSync(keyFile, `${NEW_KEY}\n${THIRD_KEY}\n`);
    server.child.kill('SIGHUP');
    const reloaded = await logLine((o) => o.msg === 'reloaded the API key file');
    assert.equal(reloaded.apiKeys, 2);
    assert.deepEqual([await ok(OLD_KEY), await ok(NEW_KEY), await ok(THIRD_KEY)], [401, 200, 200]);
    writeFileSync(keyFile, `${THIRD_KEY}\nshortkey\n`);
    server.child.kill('SIGHUP');
    const refused = await logLine((o) => /not reloaded/.test(o.msg ?? ''));
    assert.equal(refused.code, 'INVALID_ARGUMENT');
    assert.match(refused.reason, /line 2 holds 8 characters/);
    assert.ok(!JSON.stringify(refused).includes('shortkey'), 'a key was logged');
    assert.deepEqual([await ok(NEW_KEY), await ok(THIRD_KEY)], [200, 200], 'the keys read before stay');
    // An emptied file (a Secret's key removed, the mount left in place) never opens the server either.
    writeFileSync(keyFile, '');
    server.child.kill('SIGHUP');
    const emptied = await logLine((o) => /not reloaded/.test(o.msg ?? '') && /holds no key/.test(String((o as { reason?: unknown }).reason)));
    assert.equal(emptied.level, 50);
    assert.deepEqual([await ok('not-the-key-0000000000'), await ok(THIRD_KEY)], [401, 200], 'still closed, with the keys read before');
    assert.equal(server.child.exitCode, null, 'still running');
  } finally {
    writeFileSync(keyFile, `# rotating: old until the clients moved\n${OLD_KEY}\n\n${NEW_KEY}\n`);
  }
});
