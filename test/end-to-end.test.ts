/**
 * End to end on real text: the sample corpus indexed with the bundled model, searched in every
 * mode, reranked, and refused with a mismatched model; then a ColBERT-shaped ONNX checkpoint
 * (the suite's tiny model) through the same build and search.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex, openIndex, Reranker, createEncoder, isPlaitError, type PlaitIndex } from '../src/index.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-e2e-'));
  const progress: string[] = [];
  const r = await buildIndex(SAMPLE, { index: join(dir, 'sample'), encoderOptions: { threads: 1 }, onProgress: (p) => progress.push(p.phase) });
  assert.equal(r.manifest.counts.documents, 40);
  assert.ok(progress.includes('kmeans') && progress.includes('encode') && progress.at(-1) === 'done');
  index = await openIndex(join(dir, 'sample'), { encoderOptions: { threads: 1 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every mode finds the obvious document first', async () => {
  for (const mode of ['late', 'bm25', 'hybrid'] as const) {
    const { hits } = await index.search('why does bread dough rise with yeast', { mode, topK: 5 });
    assert.equal(hits[0]!.docId, 'bread-yeast', `mode ${mode}: ${hits.map((h) => h.docId).join(', ')}`);
    // BM25 returns only documents sharing a term with the query; the other modes always fill topK.
    if (mode === 'bm25') assert.ok(hits.length >= 1 && hits.length <= 5);
    else assert.equal(hits.length, 5);
  }
  const ex = await index.search('wings and lift on an aircraft', { mode: 'late', exhaustive: true, topK: 3, includeText: true });
  assert.equal(ex.hits[0]!.docId, 'wing-lift');
  assert.match(ex.hits[0]!.text!, /angle of attack/);
  assert.equal(ex.hits[0]!.title, 'How wings make lift');
});

test('PLAID and exhaustive agree on the sample corpus, also when PLAID must prune', async () => {
  // With every centroid probed, candidate generation keeps all 40 passages and ndocs (256) exceeds
  // them, so PLAID is exhaustive search and must agree on the whole top-5. At the defaults (ncells 1)
  // candidate generation cuts (about 30 of 40 passages for these queries): the best document must
  // survive and every returned document is scored exactly. ndocs 8 cuts harder still.
  const K = index.manifest.counts.centroids;
  for (const q of ['coral bleaching in warm water', 'how compilers emit machine code', 'jazz improvisation in New Orleans']) {
    const exact = (await index.search(q, { mode: 'late', topK: 5, exhaustive: true })).hits;
    const full = (await index.search(q, { mode: 'late', topK: 5, nIvfProbe: K })).hits;
    assert.deepEqual(full.map((h) => h.docId), exact.map((h) => h.docId), q);
    const all = new Map((await index.search(q, { mode: 'late', topK: 40, exhaustive: true })).hits.map((h) => [h.docId, h.score]));
    for (const options of [{}, { ndocs: 8 }]) {
      const plaid = (await index.search(q, { mode: 'late', topK: 2, ...options })).hits;
      assert.equal(plaid[0]!.docId, exact[0]!.docId, `${q} ${JSON.stringify(options)}`);
      for (const h of plaid) assert.ok(Math.abs(h.score - all.get(h.docId)!) < 1e-4, `${q}: ${h.docId}`);
    }
  }
});

test('compressed scores track uncompressed MaxSim on real text (2-bit residuals)', async (t) => {
  // Encode the sample corpus's passages directly and score them exactly, uncompressed; compare
  // with exhaustive search over the index's compressed residuals.
  const { readFileSync } = await import('node:fs');
  const docs = readFileSync(SAMPLE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  const encoder = await index.encoder();
  const emb = await encoder.encodeDocuments(docs.map((d) => `${d.title}\n${d.text}`));
  const queries = ['why does bread rise', 'plate tectonics and earthquakes', 'how does a compiler work', 'coffee and tea'];
  const qe = await encoder.encodeQueries(queries);
  const dim = encoder.info.dim;
  let maxAbs = 0;
  let maxRel = 0;
  let sumRel = 0;
  let n = 0;
  for (let qi = 0; qi < queries.length; qi++) {
    const q = qe[qi]!;
    const exact = new Map<string, number>();
    docs.forEach((d, di) => {
      const e = emb[di]!;
      let total = 0;
      for (let i = 0; i < q.length; i++) {
        let best = -Infinity;
        for (let j = 0; j < e.length; j++) {
          let s = 0;
          for (let k = 0; k < dim; k++) s += q.vectors[i * dim + k]! * e.vectors[j * dim + k]!;
          best = Math.max(best, s);
        }
        total += best;
      }
      exact.set(d._id, total);
    });
    const { hits } = index.searchEncoded(queries[qi]!, q, { mode: 'late', exhaustive: true, topK: 40, idfWeighting: false });
    for (const h of hits) {
      const e = exact.get(h.docId)!;
      maxAbs = Math.max(maxAbs, Math.abs(h.score - e));
      maxRel = Math.max(maxRel, Math.abs(h.score - e) / Math.abs(e));
      sumRel += Math.abs(h.score - e) / Math.abs(e);
      n++;
    }
    const trueBest = [...exact].sort((a, b) => b[1] - a[1])[0]![0];
    assert.equal(hits[0]!.docId, trueBest, queries[qi]);
  }
  const meanRel = sumRel / n;
  t.diagnostic(`compressed vs uncompressed MaxSim on the sample corpus: mean relative error ${(100 * meanRel).toFixed(2)}%, max ${(100 * maxRel).toFixed(2)}% (max abs ${maxAbs.toFixed(4)})`);
  // Measured: mean 6.5%, max 26.7% at 2 bits with the default 4 k-means iterations (6.7%, 28% with
  // the 10 this sample ran before 2026-12) (USE-lite token similarities are small, ~0.2–0.4, so
  // absolute errors weigh heavily); 4 bits: mean 3.6%. The best document never changes.
  assert.ok(meanRel < 0.1, `mean relative error ${meanRel}`);
});

test('batch search returns one result per query, in order, with stage timings', async () => {
  const res = await index.searchBatch(['volcano eruption magma', 'honeybee dance'], { topK: 3, mode: 'late' });
  assert.equal(res.length, 2);
  assert.equal(res[0]!.hits[0]!.docId, 'volcanoes');
  assert.equal(res[1]!.hits[0]!.docId, 'honeybees');
  // Stage timings are reported, each within the total.
  const t = res[0]!.timings;
  assert.equal(typeof t.exactMs, 'number');
  assert.ok(t.totalMs > 0 && t.exactMs! <= t.totalMs && t.lateMs <= t.totalMs, JSON.stringify(t));
});

test('index.rerank scores stored documents without re-encoding them', async () => {
  const hits = await index.rerank('solar cells turn light into electricity', ['wind-power', 'solar-panels', 'jazz']);
  assert.deepEqual(hits.map((h) => h.docId).slice(0, 1), ['solar-panels']);
  assert.equal(hits.at(-1)!.docId, 'jazz');
  await assert.rejects(index.rerank('x', ['no-such-doc']), (e) => isPlaitError(e, 'DOCUMENT_NOT_FOUND'));
});

test('the reranker orders an ad-hoc shortlist and caches document embeddings', async () => {
  const r = await Reranker.create({ encoderOptions: { threads: 0 } });
  try {
    const docs = [
      { id: 'a', text: 'The stock market fell sharply on Monday.' },
      'Yeast ferments sugar and the dough rises before baking.',
      { id: 'c', text: 'A guide to bread baking: kneading, proofing and yeast.' },
    ];
    const out = await r.rerank('how does yeast make bread rise', docs);
    assert.equal(out.length, 3);
    assert.equal(out.at(-1)!.id, 'a');
    assert.ok(out[0]!.score >= out[1]!.score && out[1]!.score >= out[2]!.score);
    assert.equal(r.cachedDocuments, 3);
    const again = await r.rerank('how does yeast make bread rise', docs, { topK: 1 });
    assert.deepEqual(again, out.slice(0, 1));
    assert.equal(r.cachedDocuments, 3);
    await assert.rejects(r.rerank('q', [42 as unknown as string]), (e) => isPlaitError(e, 'INVALID_INPUT'));
  } finally {
    await r.close();
  }
});

test('a ColBERT ONNX checkpoint builds and searches; a mismatched model is refused', async () => {
  const model = join(dir, 'tiny-model');
  await makeTinyColbert(model);
  const corpus = join(dir, 'tiny.jsonl');
  writeFileSync(
    corpus,
    ['hello world search engine', 'late interaction retrieval model', 'query document token vector', 'text word index']
      .map((t, i) => JSON.stringify({ _id: `t${i}`, title: '', text: t }))
      .join('\n'),
  );
  const built = await buildIndex(corpus, { index: join(dir, 'tiny-index'), model, encoderOptions: { threads: 0 } });
  assert.equal(built.manifest.model.family, 'colbert-onnx');
  const tiny = await openIndex(join(dir, 'tiny-index'), { encoderOptions: { threads: 0 } });
  try {
    const { hits } = await tiny.search('late interaction retrieval model', { topK: 4, mode: 'late', exhaustive: true });
    assert.equal(hits.length, 4);
    assert.equal(hits[0]!.docId, 't1');
  } finally {
    await tiny.close();
  }
  const bundled = await createEncoder({ family: 'use-lite' }, { threads: 0 });
  try {
    await assert.rejects(openIndex(join(dir, 'tiny-index'), { encoder: bundled }), (e) => isPlaitError(e, 'MODEL_MISMATCH'));
  } finally {
    await bundled.close();
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), []);
});

test('bad corpus input fails with file and line, or is skipped and counted', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"_id": "a", "text": "fine text"}\n{"_id": "b", "text": \n{"_id": "a", "text": "dup"}\n');
  await assert.rejects(buildIndex(bad, { index: join(dir, 'bad-index'), encoderOptions: { threads: 0 } }), (e) => isPlaitError(e, 'MALFORMED_JSONL') && /line 2/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.') || f === 'bad-index'), []);
  const r = await buildIndex(bad, { index: join(dir, 'bad-index'), skipInvalid: true, encoderOptions: { threads: 0 } });
  assert.equal(r.manifest.counts.documents, 1);
  assert.equal(r.report.skipped.malformed, 1);
  assert.equal(r.report.skipped.duplicateId, 1);
});
