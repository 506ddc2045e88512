/**
 * Text edge cases on the bundled model, end to end (issue 8, items 10, 26, 27):
 * empty and content-less queries behave the same in every mode; an over-long query says it was
 * truncated; the reranker scores a long document as the index does (best passage) and ranks an
 * empty document last; the rerank cache is bounded in bytes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { Reranker } from '../src/rerank/reranker.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { splitIntoPassages } from '../src/indexer/split-passages.js';
import { BUILD_DEFAULTS } from '../src/config/defaults.js';
import { isPlaitError } from '../src/errors/index.js';
import type { Encoder } from '../src/encoder/types.js';

const FILLER = 'The committee reviewed the quarterly budget figures and adjourned the meeting until next week. ';
const ANSWER = 'Bread dough rises because yeast ferments the sugars in flour and releases carbon dioxide gas.';
/** ~700 tokens: the answer only in the last window. */
const LONG = FILLER.repeat(31) + ANSWER;
const QUERY = 'why does bread dough rise with yeast';
const DOCS = [
  { _id: 'long', text: LONG },
  { _id: 'stocks', text: 'The stock market closed higher on Tuesday after a quiet session.' },
  { _id: 'tea', text: 'Black, green and oolong teas come from the same plant; oxidation is what differs.' },
  { _id: 'coffee', text: 'Roasting turns green coffee beans brown; sugars caramelise and the beans crack.' },
  { _id: 'rivers', text: 'Rivers carve valleys over millions of years by carrying sediment downstream.' },
];

let dir: string;
let index: PlaitIndex;
let reranker: Reranker;
let encoder: Encoder;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-text-'));
  const corpus = join(dir, 'c.jsonl');
  writeFileSync(corpus, DOCS.map((d) => JSON.stringify(d)).join('\n'));
  // 4-bit residuals keep the index's compressed scores within a few per cent of exact MaxSim.
  await buildIndex(corpus, { index: join(dir, 'idx'), nbits: 4, encoderOptions: { threads: 0 } });
  index = await openIndex(join(dir, 'idx'), { encoderOptions: { threads: 0 } });
  encoder = await index.encoder();
  reranker = await Reranker.create({ encoder, cacheBytes: 1 << 20 });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('blank and content-less queries get no hits and a reason, the same in every mode', async () => {
  for (const mode of ['late', 'bm25', 'hybrid'] as const) {
    const [blank, ok, punct, symbols] = await index.searchBatch(['   ', QUERY, '?!... --- ;;', '→ ★ ✓'], { mode, topK: 3 });
    assert.deepEqual(blank!.hits, [], mode);
    assert.equal(blank!.emptyReason, 'empty-query', mode);
    assert.deepEqual(punct!.hits, [], mode);
    assert.equal(punct!.emptyReason, 'no-content', mode);
    assert.equal(symbols!.emptyReason, 'no-content', mode);
    assert.equal(ok!.emptyReason, undefined, mode);
    assert.equal(ok!.hits[0]!.docId, 'long', mode);
    assert.equal((await index.search('', { mode })).emptyReason, 'empty-query', mode);
  }
  // A query in another script has content.
  const cjk = await index.search('面包', { mode: 'late', topK: 2 });
  assert.equal(cjk.emptyReason, undefined);
  assert.equal(cjk.hits.length, 2);
});

test('a query longer than the model keeps is searched on its first tokens and says truncated', async () => {
  const window = encoder.info.queryWindow!;
  assert.equal(window, 128);
  const long = `${QUERY} ${'budget meeting '.repeat(5_000)}`;
  assert.ok(encoder.tokenize(long).ids.length > window);
  for (const mode of ['late', 'hybrid'] as const) {
    const r = await index.search(long, { mode, topK: 2 });
    assert.equal(r.truncated, true, mode);
    assert.equal(r.hits.length, 2);
    assert.equal((await index.search(QUERY, { mode })).truncated, false, mode);
  }
  // BM25 reads every term: nothing is cut.
  assert.equal((await index.search(long, { mode: 'bm25' })).truncated, false);
  // Exactly at the window is not truncated; one token more is.
  const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
  const toks = encoder.tokenize(words);
  const cut = (n: number): string => words.slice(0, toks.offsets[2 * n - 1]!);
  assert.equal(encoder.tokenize(cut(window)).ids.length, window);
  assert.equal((await index.search(cut(window), { mode: 'late' })).truncated, false);
  assert.equal((await index.search(cut(window + 1), { mode: 'late' })).truncated, true);
});

test('rerank scores a long document by its best passage, as the index does', async () => {
  const results = await reranker.rerank(QUERY, [{ id: 'stocks', text: DOCS[1]!.text }, { id: 'long', text: LONG }]);
  assert.deepEqual(
    results.map((r) => r.id),
    ['long', 'stocks'],
  );
  const longScore = results[0]!.score;
  // Oracle: the indexer's passages of the document, each encoded and scored exactly; best wins.
  const window = encoder.info.documentWindow;
  const tokens = encoder.tokenize(LONG);
  assert.ok(tokens.ids.length > 600 && tokens.ids.length < 800, `${tokens.ids.length} tokens`);
  const passages = splitIntoPassages(LONG, tokens, window, Math.floor(window * BUILD_DEFAULTS.splitStrideFraction));
  assert.ok(passages.length >= 5);
  const [q] = await encoder.encodeQueries([QUERY]);
  const embedded = await encoder.encodeDocuments(passages.map((p) => p.text));
  const dim = encoder.info.dim;
  const maxsim = (i: number): number => {
    const d = embedded[i]!;
    let total = 0;
    for (let a = 0; a < q!.length; a++) {
      let best = -Infinity;
      for (let b = 0; b < d.length; b++) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += q!.vectors[a * dim + k]! * d.vectors[b * dim + k]!;
        best = Math.max(best, s);
      }
      total += best;
    }
    return total;
  };
  const perPassage = passages.map((_, i) => maxsim(i));
  const best = Math.max(...perPassage);
  assert.ok(Math.abs(longScore - best) < 1e-3 * Math.abs(best), `rerank ${longScore}, best passage ${best}`);
  // The answer is in the last passage, and the first window (all the old code saw) scores lower.
  assert.ok(passages[perPassage.indexOf(best)]!.text.includes('yeast ferments'));
  assert.ok(!passages[0]!.text.includes('yeast'));
  assert.ok(perPassage[0]! < best - 0.5, `first window ${perPassage[0]}, best ${best}`);
  // The index, scoring the same passages from 4-bit residuals (no IDF, as the reranker), agrees.
  const [stored] = await index.rerank(QUERY, ['long'], { idfWeighting: false });
  assert.ok(Math.abs(stored!.score - longScore) < 0.03 * Math.abs(longScore), `index ${stored!.score}, rerank ${longScore}`);
});

test('an empty document ranks last instead of failing the call; a query without content is EMPTY_TEXT', async () => {
  const results = await reranker.rerank(QUERY, ['', { id: 'tea', text: DOCS[2]!.text }, '   ', { id: 'long', text: LONG }, '...']);
  assert.deepEqual(
    results.map((r) => r.index),
    [3, 1, 4, 0, 2].filter((i) => results.some((r) => r.index === i)),
  );
  assert.deepEqual(results.slice(0, 2).map((r) => r.id), ['long', 'tea']);
  const q = (await encoder.encodeQueries([QUERY]))[0]!;
  // Blank documents: ColBERT's -9999 per query token; ties keep input order.
  assert.deepEqual(
    results.filter((r) => r.index === 0 || r.index === 2).map((r) => [r.index, r.score]),
    [
      [0, -9999 * q.length],
      [2, -9999 * q.length],
    ],
  );
  for (const bad of ['', '  ', '?!']) {
    await assert.rejects(reranker.rerank(bad, ['a document']), (e) => isPlaitError(e, 'EMPTY_TEXT'), JSON.stringify(bad));
    await assert.rejects(index.rerank(bad, ['tea']), (e) => isPlaitError(e, 'EMPTY_TEXT'), JSON.stringify(bad));
  }
});

test("the rerank cache is bounded in bytes, by the model's real dim", async () => {
  const small = await Reranker.create({ encoder, cacheBytes: 64 * 1024 });
  await small.rerank(QUERY, DOCS.map((d) => d.text));
  assert.ok(small.cachedBytes <= 64 * 1024, `${small.cachedBytes} bytes`);
  assert.ok(small.cachedDocuments > 0);
  // Entry cost = tokens × 512 d × 4 B (+ 4 B per token id) for the bundled model.
  const one = await Reranker.create({ encoder, cacheBytes: 1 << 20 });
  await one.rerank(QUERY, [DOCS[2]!.text]);
  const n = encoder.tokenize(DOCS[2]!.text).ids.length;
  assert.equal(one.cachedBytes, n * (512 * 4 + 4));
  const none = await Reranker.create({ encoder, cacheBytes: 0 });
  await none.rerank(QUERY, [DOCS[2]!.text]);
  assert.equal(none.cachedDocuments, 0);
});
