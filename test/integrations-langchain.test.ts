/**
 * plait/langchain with the real LangChain.js (@langchain/core 1.x, and @langchain/classic for
 * ContextualCompressionRetriever), in-process: the sample corpus built with the bundled model in a
 * temporary folder; the retriever in a RunnableSequence and under a ContextualCompressionRetriever
 * whose compressor is PlaitRerank. Every ranking is asserted against plait's own library result on
 * the same input (PlaitIndex.search, and `rerank()` with its own Reranker instance): same order,
 * same scores.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { PlaitRetriever, PlaitRerank, type PlaitDocumentMetadata } from '../src/integrations/langchain.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { Reranker, rerank, closeRerankers } from '../src/rerank/reranker.js';
import { PlaitError, isPlaitError } from '../src/errors/index.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
const BREAD = 'why does bread dough rise with yeast';
let dir: string;
let index: PlaitIndex;
let reranker: Reranker;
let docs: Array<{ _id: string; title: string; text: string }>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-langchain-'));
  const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
  docs = lines.map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  // Metadata on every document (a topic by position), so that the retriever's metadata and filters are seen.
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, docs.map((d, i) => JSON.stringify({ ...d, metadata: { shelf: i % 2 === 0 ? 'even' : 'odd', docId: 'stored-value' } })).join('\n') + '\n');
  await buildIndex(corpus, { index: join(dir, 'idx'), encoderOptions: { threads: 1 } });
  index = await openIndex(join(dir, 'idx'), { encoderOptions: { threads: 1 } });
  reranker = await Reranker.create({ encoderOptions: { threads: 1 } });
});

after(async () => {
  await index?.close();
  await reranker?.close();
  await closeRerankers();
  rmSync(dir, { recursive: true, force: true });
});

test('PlaitRetriever in a RunnableSequence: the Documents are PlaitIndex.search\'s hits, same order, scores, text and metadata', async () => {
  for (const searchOptions of [{ topK: 5 }, { topK: 7, mode: 'late' as const }, { topK: 4, mode: 'bm25' as const }]) {
    const retriever = new PlaitRetriever({ index, searchOptions });
    const chain = RunnableSequence.from([retriever, RunnableLambda.from((ds: DocumentInterface<PlaitDocumentMetadata>[]) => ds)]);
    const got = await chain.invoke(BREAD);
    const want = await index.search(BREAD, { ...searchOptions, includeText: true });
    assert.equal(got.length, want.hits.length);
    assert.ok(got.length > 0);
    got.forEach((d, i) => {
      const h = want.hits[i]!;
      assert.equal(d.id, h.docId);
      assert.equal(d.pageContent, h.text);
      // plait's fields win over a stored key of the same name (the stored metadata has a docId too).
      assert.deepEqual(d.metadata, { shelf: h.metadata!.shelf, docId: h.docId, score: h.score, rank: i + 1, generation: 0, title: h.title });
    });
  }
  const top = await new PlaitRetriever({ index, searchOptions: { topK: 1 } }).invoke(BREAD);
  assert.equal(top[0]!.id, 'bread-yeast', 'the bread query finds the bread document');
});

test('PlaitRetriever: a filter narrows the Documents, an added document shows its generation, a content-less query gives none', async () => {
  const odd = await new PlaitRetriever({ index, searchOptions: { topK: 40, filter: { shelf: 'odd' } } }).invoke('coffee tea bread');
  assert.equal(odd.length, docs.length / 2);
  assert.ok(odd.every((d) => d.metadata.shelf === 'odd'));
  const r = await index.add([{ docId: 'rye-bread', title: 'Rye bread', text: 'Rye flour has little gluten, so rye bread is dense and is often leavened with a sour starter.', metadata: { shelf: 'new' } }]);
  assert.equal(r.generation, 1);
  const retriever = new PlaitRetriever({ index, searchOptions: { topK: 3, filter: { shelf: 'new' } } });
  const got = await retriever.invoke('rye flour gluten');
  assert.deepEqual(got.map((d) => [d.id, d.metadata.generation, d.metadata.title]), [['rye-bread', 1, 'Rye bread']]);
  assert.deepEqual(await retriever.invoke(' ?! '), []);
  await assert.rejects(new PlaitRetriever({ index, searchOptions: { topK: 0 } }).invoke(BREAD), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
});

test("PlaitRetriever: invoke's signal reaches the search (BaseRetriever.invoke itself does not race it)", async () => {
  const retriever = new PlaitRetriever({ index, searchOptions: { topK: 2 } });
  const reason = new PlaitError('ABORTED', { message: 'the caller gave up' });
  const controller = new AbortController();
  controller.abort(reason);
  await assert.rejects(retriever.invoke(BREAD, { signal: controller.signal }), (e) => e === reason);
  // Concurrent calls keep their own signals: an unsignalled call beside an aborted one answers.
  const [aborted, answered] = await Promise.allSettled([retriever.invoke(BREAD, { signal: controller.signal }), retriever.invoke(BREAD)]);
  assert.equal(aborted.status, 'rejected');
  assert.equal(answered.status === 'fulfilled' ? answered.value.length : -1, 2);
});

test('PlaitRerank.compressDocuments orders Documents as plait\'s rerank() does, same scores, keeping content, id and metadata', async () => {
  const input = docs.slice(0, 12).map((d) => new Document({ pageContent: d.text, metadata: { source: d._id }, id: d._id }));
  const compressor = new PlaitRerank({ reranker });
  const got = await compressor.compressDocuments(input, BREAD);
  const want = await rerank(BREAD, input.map((d) => d.pageContent));
  assert.equal(got.length, input.length);
  assert.deepEqual(
    got.map((d) => [d.id, d.metadata.relevanceScore]),
    want.map((w) => [input[w.index]!.id, w.score]),
  );
  got.forEach((d, i) => {
    const src = input[want[i]!.index]!;
    assert.equal(d.pageContent, src.pageContent);
    assert.deepEqual(d.metadata, { source: src.metadata.source, relevanceScore: want[i]!.score });
  });
  assert.deepEqual(got.slice(0, 2).map((d) => d.id).sort(), ['bread-yeast', 'sourdough'], 'the two yeast documents lead');
  assert.deepEqual(input[0]!.metadata, { source: docs[0]!._id }, 'the input Documents are not modified');
  const top3 = await new PlaitRerank({ reranker, topN: 3 }).compressDocuments(input, BREAD);
  assert.deepEqual(top3.map((d) => d.id), got.slice(0, 3).map((d) => d.id));
  assert.deepEqual(await compressor.rerank(['yeast makes dough rise', 'the tide comes in'], BREAD, { topN: 1 }), (await rerank(BREAD, ['yeast makes dough rise', 'the tide comes in'], { topK: 1 })).map((w) => ({ index: w.index, relevanceScore: w.score })));
  await compressor.close();
  assert.equal((await reranker.rerank(BREAD, ['still open'])).length, 1, 'close() leaves a given Reranker open');
});

test('ContextualCompressionRetriever(PlaitRetriever, PlaitRerank): plait search, then plait rerank of its Documents', async () => {
  const searchOptions = { topK: 8, mode: 'bm25' as const };
  const compressor = new PlaitRerank({ topN: 3, rerankerOptions: { encoderOptions: { threads: 1 } } });
  const retriever = new ContextualCompressionRetriever({ baseRetriever: new PlaitRetriever({ index, searchOptions }), baseCompressor: compressor });
  const query = 'how is green tea processed';
  const got = await retriever.invoke(query);
  const hits = (await index.search(query, { ...searchOptions, includeText: true })).hits;
  const want = await rerank(query, hits.map((h) => h.text!), { topK: 3 });
  // Two rerankers (the compressor's, on one encoder thread, and rerank()'s shared one) may batch the
  // documents differently: the same order and ids, scores equal to float32 rounding.
  assert.deepEqual(got.map((d) => [d.id, d.metadata.score]), want.map((w) => [hits[w.index]!.docId, hits[w.index]!.score]));
  got.forEach((d, i) => assert.ok(Math.abs((d.metadata.relevanceScore as number) - want[i]!.score) < 1e-5, `${d.id}: ${String(d.metadata.relevanceScore)} vs ${want[i]!.score}`));
  assert.equal(got[0]!.id, 'tea-oxidation');
  await compressor.close();
});

test('PlaitRerank refuses what is wrong: a query with no content, a bad topN, a reranker given with model options', async () => {
  const compressor = new PlaitRerank({ reranker });
  await assert.rejects(compressor.compressDocuments([new Document({ pageContent: 'text' })], '  ...  '), (e) => isPlaitError(e, 'EMPTY_TEXT'));
  assert.deepEqual(await compressor.compressDocuments([], BREAD), []);
  assert.throws(() => new PlaitRerank({ topN: -1 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /topN/.test(e.message));
  assert.throws(() => new PlaitRerank({ topN: 1.5 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /topN/.test(e.message));
  // The call's own topN is named as the caller wrote it (not as the Reranker's topK).
  for (const topN of [-1, 2.5]) {
    await assert.rejects(compressor.rerank(['a b c'], BREAD, { topN }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /for topN but received/.test(e.message) && !/topK/.test(e.message));
  }
  assert.deepEqual(await compressor.rerank(['yeast makes dough rise'], BREAD, { topN: 0 }), []);
  assert.throws(() => new PlaitRerank({ reranker, model: 'bundled' }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  // Misspelt keys are refused by name (new PlaitRerank({ topn: 1 }) had kept every document).
  assert.throws(() => new PlaitRerank({ reranker, topn: 1 } as never), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown PlaitRerank field "topn" \(did you mean "topN"\?\)/.test(e.message));
  await assert.rejects(compressor.rerank(['a b c'], BREAD, { top_n: 1 } as never), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown rerank option "top_n" \(did you mean "topN"\?\)/.test(e.message));
  const missing = new PlaitRerank({ model: join(dir, 'no-such-model') });
  await assert.rejects(missing.compressDocuments([new Document({ pageContent: 'text' })], BREAD), (e) => isPlaitError(e) && e.code.startsWith('MODEL_'));
  await missing.close();
});

test('PlaitRetriever refuses a misspelt field by name (searchOption had been dropped: every search ran with the defaults); LangChain\'s own fields pass', async () => {
  assert.throws(() => new PlaitRetriever({ index, searchOption: { topK: 1 } } as never), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown PlaitRetriever field "searchOption" \(did you mean "searchOptions"\?\)/.test(e.message));
  const retriever = new PlaitRetriever({ index, searchOptions: { topK: 1 }, tags: ['t'], metadata: { m: 1 }, verbose: false, callbacks: [] });
  assert.equal((await retriever.invoke(BREAD)).length, 1);
});

test("PlaitRetriever: the query's rewrites (and a cut query) are in each Document's metadata, as SearchResult reports them", async () => {
  const typo = 'why does braed dough rise';
  const retriever = new PlaitRetriever({ index, searchOptions: { topK: 3, mode: 'hybrid', rewrite: { spelling: true } } });
  const got = await retriever.invoke(typo);
  const want = await index.search(typo, { topK: 3, mode: 'hybrid', rewrite: { spelling: true }, includeText: true });
  assert.deepEqual(want.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
  assert.ok(got.length > 0);
  for (const d of got) {
    assert.deepEqual(d.metadata.queryRewrites, want.rewrites);
    assert.equal(d.metadata.queryTruncated, undefined);
  }
  assert.deepEqual(got.map((d) => d.id), want.hits.map((h) => h.docId));
  // Not rewritten: no key at all (a stored metadata key of that name is the document's own).
  const plain = await new PlaitRetriever({ index, searchOptions: { topK: 2 } }).invoke(BREAD);
  assert.ok(plain.every((d) => !('queryRewrites' in d.metadata) && !('queryTruncated' in d.metadata)));
  // A query longer than the model keeps (128 content tokens for the bundled model) is searched on its start.
  const long = `${BREAD} ${'flour water salt oven crust '.repeat(40)}`;
  const cut = await new PlaitRetriever({ index, searchOptions: { topK: 2, mode: 'late' } }).invoke(long);
  assert.ok(cut.length > 0 && cut.every((d) => d.metadata.queryTruncated === true));
});
