/**
 * Synonyms through the server: `plait serve --synonyms <file>` (Solr's synonyms.txt) applies them to
 * every search and explain; a request's `rewrite.synonyms` turns them off (false), asks for them
 * (true) or brings its own lines; a bad file stops the server before anything loads; the OpenAPI
 * document describes the field.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../src/server/index.js';
import { searchOptionsKey } from '../src/server/engine.js';
import { parseSynonyms } from '../src/rewrite/synonyms.js';
import { REQUEST_SYNONYMS_DEFAULTS } from '../src/config/defaults.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { startPlaitServe } from './helpers/plait-serve.js';
import { runPlait } from './helpers/cli.js';

let sample: SampleIndex;
let plain: RunningServer;
let withSynonyms: RunningServer;
let dir: string;

const LOAF = [{ kind: 'synonym', from: 'loaf', to: 'bread' }];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-server-synonyms-'));
  writeFileSync(join(dir, 'syn.txt'), '# bakery words\nloaf => bread\ncouch, sofa\n');
  sample = await buildSample('plait-server-synonyms-');
  plain = await serve(sample);
  withSynonyms = await serve(sample, { synonyms: join(dir, 'syn.txt') });
});

after(async () => {
  await plain?.close();
  await withSynonyms?.close();
  await sample?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const hitIds = (r: { body: any }, i = 0): string[] => r.body.results[i].hits.map((h: { doc_id: string }) => h.doc_id);

test("the server's synonyms apply to every search, in each mode, unless the request says synonyms: false", async () => {
  const url = `${withSynonyms.url}/v1/indexes/sample/search`;
  for (const mode of ['bm25', 'hybrid', 'late']) {
    const r = await postJson(url, { query: 'why does a loaf rise', mode, top_k: 3 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.results[0].rewrites, LOAF, mode);
    assert.equal(hitIds(r)[0], 'bread-yeast', mode);
  }
  const on = await postJson(url, { query: 'why does a loaf rise', mode: 'bm25', top_k: 3 });
  const off = await postJson(url, { query: 'why does a loaf rise', mode: 'bm25', top_k: 3, rewrite: { synonyms: false } });
  assert.equal(off.status, 200);
  assert.equal(off.body.results[0].rewrites, undefined);
  // "loaf => bread" replaces: BM25 searched "bread" for "loaf" (the scores of the query written with bread), and without it "loaf".
  const bread = await postJson(url, { query: 'why does a bread rise', mode: 'bm25', top_k: 3, rewrite: { synonyms: false } });
  const score = (r: { body: any }): number => r.body.results[0].hits[0].score;
  assert.ok(Math.abs(score(on) - score(bread)) < 1e-9, `${score(on)} vs ${score(bread)}`);
  assert.ok(Math.abs(score(on) - score(off)) > 0.1, `${score(on)} vs ${score(off)}`);
  const asked = await postJson(url, { queries: ['a loaf', 'a comfortable couch'], mode: 'bm25', rewrite: { synonyms: true, spelling: true } });
  assert.equal(asked.status, 200);
  assert.deepEqual(asked.body.results[0].rewrites, LOAF);
  assert.deepEqual(asked.body.results[1].rewrites, [{ kind: 'synonym', from: 'couch', to: 'sofa' }]);
});

test("a request's own lines apply instead of the server's; true on a server without synonyms and bad lines are 400", async () => {
  const own = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'why does a loaf rise', mode: 'bm25', top_k: 3, rewrite: { synonyms: ['# a comment', 'loaf => bread'] } });
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(own.body.results[0].rewrites, LOAF);
  assert.equal(hitIds(own)[0], 'bread-yeast');
  const none = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'why does a loaf rise', mode: 'bm25' });
  assert.equal(none.body.results[0].rewrites, undefined);
  // The request's lines replace the server's: loaf is no longer bread here.
  const replaced = await postJson(`${withSynonyms.url}/v1/indexes/sample/search`, { query: 'why does a loaf rise', mode: 'bm25', rewrite: { synonyms: ['rise, grow'] } });
  assert.deepEqual(replaced.body.results[0].rewrites, [{ kind: 'synonym', from: 'rise', to: 'grow' }]);

  const missing = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'bread', rewrite: { synonyms: true } });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.code, 'INVALID_ARGUMENT');
  assert.match(missing.body.error.message, /plait serve --synonyms/);
  const bad = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'bread', rewrite: { synonyms: ['a, b', 'x => y => z'] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'SYNONYMS_INVALID');
  assert.match(bad.body.error.message, /rewrite\.synonyms\[1\].*more than one "=>"/);
  assert.equal(bad.body.error.details.index, 1);
  const typed = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'bread', rewrite: { synonyms: 'loaf => bread' } });
  assert.equal(typed.status, 400);
  const tooMany = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'bread', rewrite: { synonyms: Array.from({ length: REQUEST_SYNONYMS_DEFAULTS.maxLines + 1 }, () => 'a, b') } });
  assert.equal(tooMany.status, 400, 'a larger set belongs in plait serve --synonyms');
  const newline = await postJson(`${plain.url}/v1/indexes/sample/search`, { query: 'bread', rewrite: { synonyms: ['a, b\nc => d'] } });
  assert.equal(newline.status, 400, 'one line per entry, so that errors name the entry');
});

test('explain and pipelines take the synonyms too; the OpenAPI document describes the field', async () => {
  const ex = await postJson(`${withSynonyms.url}/v1/indexes/sample/explain`, { query: 'why does a loaf rise', doc_id: 'bread-yeast', mode: 'hybrid' });
  assert.equal(ex.status, 200, JSON.stringify(ex.body));
  assert.deepEqual(ex.body.rewrites, LOAF);
  assert.ok(ex.body.bm25.terms.some((t: { term: string; tf: number }) => t.term === 'bread' && t.tf > 0));
  const piped = await postJson(`${withSynonyms.url}/v1/indexes/sample/search`, { query: 'why does a loaf rise', pipeline: 'bm25:10 > late:3' });
  assert.equal(piped.status, 200, JSON.stringify(piped.body));
  assert.deepEqual(piped.body.results[0].rewrites, LOAF);
  const spec = (await (await fetch(`${plain.url}/openapi.json`)).json()) as any;
  const body = spec.paths['/v1/indexes/{name}/search'].post.requestBody.content['application/json'].schema;
  assert.match(JSON.stringify(body.properties.rewrite.properties.synonyms), /plait serve --synonyms/);
});

test('plait serve --synonyms: applied end to end; a malformed file is SYNONYMS_INVALID before anything loads', async () => {
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, 'ok, fine\na => b => c\n');
  const t = performance.now();
  const r = runPlait(dir, ['serve', sample.path, '--synonyms', bad, '--port', '0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /SYNONYMS_INVALID/);
  assert.match(r.stderr, /bad\.txt:2/);
  const missing = runPlait(dir, ['serve', sample.path, '--synonyms', join(dir, 'nope.txt'), '--port', '0']);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /FILE_NOT_FOUND/);
  assert.ok(performance.now() - t < 20_000, 'refused before loading a model');

  const served = await startPlaitServe([sample.path, '--synonyms', join(dir, 'syn.txt')]);
  try {
    const res = await postJson(`${served.url}/v1/indexes/sample/search`, { query: 'why does a loaf rise', mode: 'bm25', top_k: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.results[0].rewrites, LOAF);
    assert.equal(hitIds(res)[0], 'bread-yeast');
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

test('result-cache keys hold a digest of the synonyms, not the rules: short for 10,000 rules, distinct for other rules', () => {
  const many = parseSynonyms(Array.from({ length: 10_000 }, (_, i) => `word${i}, term${i}`).join('\n'));
  const key = searchOptionsKey({ topK: 10, rewrite: { spelling: false, synonyms: many } });
  assert.ok(key.length < 300, `${key.length} characters`);
  assert.equal(key, searchOptionsKey({ topK: 10, rewrite: { spelling: false, synonyms: parseSynonyms(Array.from({ length: 10_000 }, (_, i) => `word${i}, term${i}`).join('\n')) } }));
  assert.notEqual(searchOptionsKey({ rewrite: { synonyms: parseSynonyms('a, b') } }), searchOptionsKey({ rewrite: { synonyms: parseSynonyms('a, c') } }));
  assert.notEqual(searchOptionsKey({ rewrite: { synonyms: parseSynonyms('a, b') } }), searchOptionsKey({ rewrite: { synonyms: null } }));
});
