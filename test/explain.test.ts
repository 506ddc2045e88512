/**
 * Token-level explanations: the contributions of `explain` sum to the score search gives the same
 * passage (to 1e-5), the matched tokens' offsets point at the text they name, ColBERT's special
 * rows ([CLS], [Q], [SEP], [MASK] augmentation) are labelled, and hybrid hits carry BM25 terms and
 * the fused score's parts. Bundled model on the sample corpus; the suite's tiny ColBERT model for
 * the special tokens and the punctuation skiplist.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterIndex, buildIndex, openIndex, isPlaitError, type PlaitIndex } from '../src/index.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { exactScoringMethod, supportsFastScan } from '../src/codec/code-scorer.js';
import { borrowedSample, postJson, serve } from './helpers/server-fixture.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-explain-'));
  await buildIndex(SAMPLE, { index: join(dir, 'sample'), encoderOptions: { threads: 1 } });
  index = await openIndex(join(dir, 'sample'), { encoderOptions: { threads: 1 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

const close = (a: number, b: number, tol = 1e-5): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('contributions sum to the late-interaction score search gives the passage', async () => {
  const fastScan = exactScoringMethod() === 'fastscan' && supportsFastScan(index.scoringArrays);
  for (const query of ['why does bread dough rise with yeast', 'wings and lift on an aircraft', 'coral bleaching in warm water']) {
    for (const idfWeighting of [true, false]) {
      const { hits } = await index.search(query, { mode: 'late', exhaustive: true, topK: 3, idfWeighting });
      for (const hit of hits) {
        const ex = await index.explain(query, hit.docId, { mode: 'late', idfWeighting });
        assert.equal(ex.pid, hit.pid, `${query}: the explained passage is the hit's best passage`);
        if (fastScan) {
          // Fast-scan's kernel sums in float32: so do the contributions, and the score is the search's, bit for bit.
          assert.equal(ex.tokens.reduce((s, t) => Math.fround(s + t.contribution), 0), ex.lateScore);
          assert.equal(ex.lateScore, hit.score, `${query} ${hit.docId} idf=${idfWeighting}`);
        } else {
          const sum = ex.tokens.reduce((s, t) => s + t.contribution, 0);
          assert.ok(close(sum, ex.lateScore, 1e-9));
          assert.ok(close(ex.lateScore, hit.score), `${query} ${hit.docId} idf=${idfWeighting}: ${ex.lateScore} vs ${hit.score}`);
        }
        assert.equal(ex.idfWeighting, idfWeighting);
        if (!idfWeighting) for (const t of ex.tokens) assert.equal(t.weight, 1);
        // An explicit pid explains the same passage the same way.
        const byPid = await index.explain(query, { pid: hit.pid }, { mode: 'late', idfWeighting });
        assert.ok(close(byPid.lateScore, hit.score));
      }
    }
  }
});

test('token texts and offsets point into the query and the stored passage', async () => {
  const query = 'why does bread dough rise with yeast';
  const ex = await index.explain(query, 'bread-yeast', { mode: 'late' });
  assert.equal(ex.docId, 'bread-yeast');
  assert.ok(ex.tokens.length > 0);
  for (const t of ex.tokens) {
    assert.equal(t.query.role, 'content');
    assert.equal(query.slice(t.query.start, t.query.end), t.query.text);
    assert.ok(t.match !== null);
    assert.equal(ex.passage.text.slice(t.match!.start, t.match!.end), t.match!.text);
    assert.ok(t.similarity <= 1 + 1e-5 && t.similarity >= -1 - 1e-5);
  }
  // "bread" is in the passage: its best match is the same word (the bundled model's states are
  // contextual, but the shared piece dominates: similarity 0.87 when this test was written).
  const bread = ex.tokens.find((t) => t.query.text === 'bread');
  assert.ok(bread !== undefined, ex.tokens.map((t) => t.query.text).join('|'));
  assert.equal(bread!.match!.text.toLowerCase(), 'bread');
});

test('hybrid explanations carry the BM25 terms and the fused parts', async () => {
  const query = 'why does bread dough rise with yeast';
  const { hits } = await index.search(query, { mode: 'hybrid', topK: 5 });
  const top = hits[0]!;
  assert.ok(top.fusion !== undefined);
  assert.ok(close(top.fusion!.lateShare + top.fusion!.bm25Share, top.score, 1e-9));
  const ex = await index.explain(query, top.docId, { mode: 'hybrid', topK: 5 });
  assert.ok(ex.bm25 !== null && ex.fusion !== null);
  assert.equal(ex.fusion!.rank, 1);
  assert.ok(close(ex.fusion!.score, top.score, 1e-12));
  // The BM25 part of the explanation is the document's BM25 score, and matched terms are in the text.
  const bm = await index.search(query, { mode: 'bm25', topK: 40 });
  const bmHit = bm.hits.find((h) => h.docId === top.docId)!;
  assert.ok(close(ex.bm25!.score, bmHit.score, 1e-9), `${ex.bm25!.score} vs ${bmHit.score}`);
  const matched = ex.bm25!.terms.filter((t) => t.tf > 0).map((t) => t.term);
  assert.ok(matched.includes('yeast') && matched.includes('bread'), matched.join(','));
  assert.ok(!ex.bm25!.terms.some((t) => t.term === 'why'), 'stop words are not BM25 terms');
  // The late part of the fused score is the explained passage's MaxSim.
  assert.ok(close(ex.fusion!.late!, ex.lateScore));
});

test('unknown targets are refused with codes', async () => {
  await assert.rejects(index.explain('bread', 'no-such-doc'), (e) => isPlaitError(e, 'DOCUMENT_NOT_FOUND'));
  await assert.rejects(index.explain('bread', { pid: 1e9 }), (e) => isPlaitError(e, 'INVALID_INPUT'));
  await assert.rejects(index.explain('bread', { pid: -1 }), (e) => isPlaitError(e, 'INVALID_INPUT'));
});

test('a query search cannot search is refused by explain with its reason, as search answers it with no hits', async () => {
  for (const [query, reason] of [['', 'empty-query'], ['   ', 'empty-query'], ['?? !!', 'no-content']] as const) {
    const page = await index.search(query, { mode: 'late' });
    assert.equal(page.emptyReason, reason);
    await assert.rejects(index.explain(query, 'bread-yeast', { mode: 'late' }), (e) => isPlaitError(e, 'EMPTY_TEXT') && e.message.includes(`emptyReason "${reason}"`), JSON.stringify(query));
  }
});

test('a query longer than the model keeps is explained on its first tokens and says so, as search does', async () => {
  const long = Array.from({ length: 300 }, (_, i) => `bread${i % 7 === 0 ? '' : ` yeast${i}`}`).join(' ');
  const page = await index.search(long, { mode: 'late', topK: 1 });
  assert.equal(page.truncated, true);
  const ex = await index.explain(long, page.hits[0]!.docId, { mode: 'late' });
  assert.equal(ex.truncated, true);
  assert.ok(close(ex.lateScore, page.hits[0]!.score), `${ex.lateScore} vs ${page.hits[0]!.score}`);
  assert.equal((await index.explain('bread dough', 'bread-yeast', { mode: 'late' })).truncated, undefined);
});

test('POST /explain: truncated when the query was clipped, 400 EMPTY_TEXT for a blank one', async () => {
  const server = await serve(await borrowedSample(dir, join(dir, 'sample'), index));
  try {
    const url = `${server.url}/v1/indexes/sample/explain`;
    const long = await postJson(url, { query: 'bread dough yeast '.repeat(60), doc_id: 'bread-yeast', mode: 'late' });
    assert.equal(long.status, 200, JSON.stringify(long.body));
    assert.equal(long.body.truncated, true);
    const short = await postJson(url, { query: 'bread dough', doc_id: 'bread-yeast', mode: 'late' });
    assert.equal(short.body.truncated, undefined);
    const blank = await postJson(url, { query: '  ', doc_id: 'bread-yeast' });
    assert.equal(blank.status, 400);
    assert.equal(blank.body.error.code, 'EMPTY_TEXT', JSON.stringify(blank.body));
  } finally {
    await server.close();
  }
});

test('ColBERT checkpoints: special rows are labelled, [MASK] rows show their match, punctuation is skipped', async () => {
  const model = join(dir, 'tiny-model');
  await makeTinyColbert(model);
  const corpus = join(dir, 'tiny.jsonl');
  const texts = ['hello world, search engine!', 'late interaction retrieval model', 'query document token vector', 'text word index'];
  writeFileSync(corpus, texts.map((t, i) => JSON.stringify({ _id: `t${i}`, title: '', text: t })).join('\n'));
  await buildIndex(corpus, { index: join(dir, 'tiny-index'), model, encoderOptions: { threads: 0 } });
  const tiny = await openIndex(join(dir, 'tiny-index'), { encoderOptions: { threads: 0 } });
  try {
    const query = 'search engine';
    const { hits } = await tiny.search(query, { mode: 'late', exhaustive: true, topK: 4 });
    for (const hit of hits) {
      const ex = await tiny.explain(query, hit.docId);
      assert.ok(close(ex.lateScore, hit.score), `${hit.docId}: ${ex.lateScore} vs ${hit.score}`);
    }
    const ex = await tiny.explain(query, 't0');
    const info = tiny.manifest.model;
    assert.equal(ex.tokens.length, info.queryMaxlen, 'a ColBERT query has queryMaxlen rows');
    assert.equal(ex.tokens[0]!.query.role, 'cls');
    assert.equal(ex.tokens[1]!.query.role, 'marker');
    assert.deepEqual(
      ex.tokens.slice(2, 4).map((t) => t.query.text),
      ['search', 'engine'],
    );
    assert.equal(ex.tokens[4]!.query.role, 'sep');
    const masks = ex.tokens.filter((t) => t.query.role === 'mask');
    assert.equal(masks.length, info.queryMaxlen - 5);
    for (const m of masks) {
      assert.equal(m.query.start, -1);
      assert.ok(m.match !== null, '[MASK] rows carry weight and show what they matched');
    }
    // The document's punctuation rows were dropped at indexing: no match is a comma or "!".
    for (const t of ex.tokens) assert.ok(t.match === null || !/^[,!]$/.test(t.match.text), t.match?.text);
    const content = ex.tokens.filter((t) => t.match?.role === 'content');
    for (const t of content) assert.equal(ex.passage.text.slice(t.match!.start, t.match!.end), t.match!.text);
  } finally {
    await tiny.close();
  }
});

test('Encoder.rows lays out exactly the rows the encoder outputs (bundled and ColBERT)', async () => {
  const texts = ['short', 'Punctuation, commas; and "quotes"!', 'a longer text '.repeat(60), 'café naïve 北京 emoji 🙂'];
  const model = join(dir, 'tiny-model-rows');
  await makeTinyColbert(model);
  const { createEncoder } = await import('../src/index.js');
  for (const spec of [{ family: 'use-lite' as const }, { family: 'colbert-onnx' as const, dir: model }]) {
    const enc = await createEncoder(spec, { threads: 0 });
    try {
      for (const kind of ['query', 'document'] as const) {
        const out = kind === 'query' ? await enc.encodeQueries(texts) : await enc.encodeDocuments(texts);
        texts.forEach((t, i) => {
          const rows = enc.rows(t, kind);
          assert.equal(rows.length, out[i]!.length, `${spec.family} ${kind} "${t.slice(0, 20)}"`);
          assert.deepEqual(
            rows.map((r) => r.id),
            Array.from(out[i]!.tokenIds),
          );
        });
      }
    } finally {
      await enc.close();
    }
  }
});

test('plait explain prints the explanation (text and --json) and exits 2 on an unknown document', async () => {
  const { spawnSync } = await import('node:child_process');
  const bin = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const query = 'why does bread dough rise with yeast';
  const json = spawnSync(process.execPath, [bin, 'explain', join(dir, 'sample'), query, 'bread-yeast', '--mode', 'late', '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const ex = JSON.parse(json.stdout) as { lateScore: number; tokens: Array<{ contribution: number }>; docId: string };
  assert.equal(ex.docId, 'bread-yeast');
  const { hits } = await index.search(query, { mode: 'late', exhaustive: true, topK: 1 });
  assert.ok(close(ex.lateScore, hits[0]!.score));
  const text = spawnSync(process.execPath, [bin, 'explain', join(dir, 'sample'), query, 'bread-yeast', '--mode', 'hybrid'], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /\[bread\]/);
  assert.match(text.stdout, /BM25 score: .*yeast \(tf 2/);
  const long = spawnSync(process.execPath, [bin, 'explain', join(dir, 'sample'), `${query} `.repeat(40), 'bread-yeast', '--mode', 'late'], { encoding: 'utf8' });
  assert.equal(long.status, 0, long.stderr);
  assert.match(long.stderr, /warning: the query has more tokens than the model keeps \(\d+\); only the first were explained/);
  const blank = spawnSync(process.execPath, [bin, 'explain', join(dir, 'sample'), ' ', 'bread-yeast'], { encoding: 'utf8' });
  assert.equal(blank.status, 2);
  assert.match(blank.stderr, /the query is blank: nothing to explain .*\[EMPTY_TEXT\]/);
  const bad = spawnSync(process.execPath, [bin, 'explain', join(dir, 'sample'), query, 'nope', '--json'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal((JSON.parse(bad.stderr) as { error: { code: string } }).error.code, 'DOCUMENT_NOT_FOUND');
});

test('an already-aborted or overdue explain is refused before the model loads, at the library and a cluster coordinator', async () => {
  // A query model that cannot load tells whether it was asked for: before the fix explain loaded it
  // first (about 1 s for the bundled model) and failed with the load's error, not ABORTED.
  const unloadable = await openIndex(join(dir, 'sample'), { model: join(dir, 'no-such-model'), encoderOptions: { threads: 1 } });
  try {
    await assert.rejects(unloadable.explain('bread rise', 'bread-yeast', { signal: AbortSignal.abort() }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    await assert.rejects(unloadable.explain('bread rise', 'bread-yeast', { signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')) }), (e: unknown) => isPlaitError(e, 'TIMEOUT'));
    await assert.rejects(unloadable.explain('bread rise', 'bread-yeast', { deadlineAt: Date.now() - 1 }), (e: unknown) => isPlaitError(e, 'TIMEOUT'));
  } finally {
    await unloadable.close();
  }
  // ClusterIndex.explain and rerankDocs (a pipeline's late stage through a coordinator) check it first too:
  // a coordinator whose encoder fails shows whether the model was asked for.
  const noModel = { encoder: () => Promise.reject(new Error('the model was loaded')), manifest: { model: { idfWeighting: true } }, shards: { shards: 2 }, resolveSearch: () => ({ mode: 'late', idf: true, rewrite: { prf: null, rm3: null } }) };
  const aborted = AbortSignal.abort();
  await assert.rejects(ClusterIndex.prototype.explain.call(noModel as never, 'bread rise', 'bread-yeast', { signal: aborted }), (e: unknown) => isPlaitError(e, 'ABORTED'));
  await assert.rejects(ClusterIndex.prototype.rerankDocs.call(noModel as never, 'bread rise', ['bread-yeast'], { signal: aborted }), (e: unknown) => isPlaitError(e, 'ABORTED'));
});
