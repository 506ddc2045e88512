/**
 * The library refuses unknown option keys (trial of the merged main, item 3): `search(q, { topk: 3 })`
 * returned 10 hits without a word while HTTP refused the same typo. Every options door — search,
 * searchBatch, searchEncoded, searchEncodedBatch, rewrite, explain, add, delete's `{ filter }`,
 * openIndex, rerank, rerankEncoded, Reranker.create / rerank, CrossEncoder.create / score / rerank,
 * updateIndex (request and options), compactIndex, addCorpus, calibrateIndex — answers INVALID_ARGUMENT naming the key and, when one is close, the key meant. The key
 * tables are tied to their types by `satisfies OptionKeys<T>` (a key added to a type and not to its
 * table does not compile); the last test checks at run time that each table holds exactly the keys
 * the methods accept. Sample corpus, bundled model, in-process encoder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addCorpus, countDocuments, openCorpus, explainLtr, drawPseudoQueries, queryLogSample, collectLtrGroups, trainXgboost, evaluateRun, buildIndexFromEmbeddings, runPipeline, SearchPipeline, buildIndex, calibrateIndex, closeRerankers, compactIndex, openIndex, readManifest, rerank, updateIndex, commitIdOf, CrossEncoder, PlaitError, Reranker, type PlaitIndex, type SearchOptions } from '../src/index.js';
import { SEARCH_OPTION_KEYS } from '../src/search/search-options.js';
import { checkOptionKeys, closestKey, type OptionKeys } from '../src/util/option-keys.js';
import { SAMPLE } from './helpers/server-fixture.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import { formatRun, parseRun, readRun, type Run } from '../src/eval/run.js';
import { parseQrels, readQrels } from '../src/eval/qrels.js';
import { parseQueries, readQueries } from '../src/eval/queries.js';
import type { Qrels } from '../src/eval/qrels.js';

let dir: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-option-keys-'));
  await buildIndex(SAMPLE, { index: join(dir, 'sample'), encoderOptions: { threads: 0 } });
  index = await openIndex(join(dir, 'sample'), { workers: 0, encoderOptions: { threads: 0 } });
});

after(async () => {
  await closeRerankers();
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A rejection (or throw) that is INVALID_ARGUMENT about `key`, suggesting `suggestion` (null: none). */
function unknownKey(what: string, key: string, suggestion: string | null): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof PlaitError, String(e));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.equal(e.details?.unknownOption, key);
    assert.equal(e.details?.suggestion, suggestion ?? undefined);
    assert.ok(e.message.includes(`unknown ${what} "${key}"`), e.message);
    if (suggestion !== null) assert.ok(e.message.includes(`did you mean "${suggestion}"?`), e.message);
    return true;
  };
}

test('closestKey: case first, then the nearest within two edits, else none', () => {
  const known = Object.keys(SEARCH_OPTION_KEYS);
  assert.equal(closestKey('topk', known), 'topK');
  assert.equal(closestKey('top_k', known), 'topK');
  assert.equal(closestKey('ndoc', known), 'ndocs');
  assert.equal(closestKey('exhuastive', known), 'exhaustive'); // one transposition
  assert.equal(closestKey('nIvfProbes', known), 'nIvfProbe');
  assert.equal(closestKey('colour', known), undefined);
});

test('checkOptionKeys lists the known keys when none is close, and refuses a non-object', () => {
  assert.throws(() => checkOptionKeys({ colour: 1 }, { topK: true, mode: true }, 'search option'), (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && /unknown search option "colour" \(known: topK, mode\)/.test(e.message) && e.details?.suggestion === undefined);
  assert.throws(() => checkOptionKeys(3, { topK: true }, 'search option'), (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && /an object of search options/.test(e.message));
  checkOptionKeys(undefined, { topK: true }, 'search option');
  checkOptionKeys({ topK: undefined }, { topK: true }, 'search option');
});

test('search, searchBatch, rewrite, searchEncoded and searchEncodedBatch refuse { topk: 3 } naming topK', async () => {
  const typo = { topk: 3 } as unknown as SearchOptions;
  await assert.rejects(index.search('why does bread rise', typo), unknownKey('search option', 'topk', 'topK'));
  await assert.rejects(index.searchBatch(['why does bread rise'], typo), unknownKey('search option', 'topk', 'topK'));
  assert.throws(() => index.rewrite('why does bread rise', typo), unknownKey('search option', 'topk', 'topK'));
  const [embedding] = await (await index.encoder()).encodeQueries(['why does bread rise']);
  assert.throws(() => index.searchEncoded('why does bread rise', embedding!, typo), unknownKey('search option', 'topk', 'topK'));
  await assert.rejects(index.searchEncodedBatch(['why does bread rise'], [embedding!], { prfrows: [] } as unknown as SearchOptions), unknownKey('search option', 'prfrows', 'prfRows'));
  // The same search spelled right returns 3.
  assert.equal((await index.search('why does bread rise', { topK: 3 })).hits.length, 3);
  assert.equal(index.searchEncoded('why does bread rise', embedding!, { topK: 3, mode: 'late' }).hits.length, 3);
});

test('explain, add, delete and openIndex refuse their typos by name', async () => {
  await assert.rejects(index.explain('why does bread rise', 'bread-yeast', { exhaustive: true } as never), unknownKey('explain option', 'exhaustive', null));
  await assert.rejects(index.explain('why does bread rise', 'bread-yeast', { topk: 3 } as never), unknownKey('explain option', 'topk', 'topK'));
  await assert.rejects(index.add([{ docId: 'x', title: '', text: 'x' }], { noreplace: true } as never), unknownKey('add option', 'noreplace', 'noReplace'));
  await assert.rejects(index.delete({ filtr: { lang: 'en' } } as never), unknownKey('delete option', 'filtr', 'filter'));
  await assert.rejects(openIndex(join(dir, 'sample'), { worker: 0 } as never), unknownKey('openIndex option', 'worker', 'workers'));
  // Nothing was written by the refused add or delete.
  assert.equal((await index.search('x', { topK: 100, mode: 'bm25' })).hits.some((h) => h.docId === 'x'), false);
});

test('index.rerank and rerank() refuse { topk: 1 } naming topK (they had returned every document)', async () => {
  const ids = ['bread-yeast', 'sourdough'];
  await assert.rejects(index.rerank('why does bread rise', ids, { topk: 1 } as never), unknownKey('rerank option', 'topk', 'topK'));
  // signal is a rerank option (test/pipeline.test.ts, cancellation of the late stage); its typo is not.
  await assert.rejects(index.rerank('why does bread rise', ids, { signl: AbortSignal.timeout(1000) } as never), unknownKey('rerank option', 'signl', 'signal'));
  assert.equal((await index.rerank('why does bread rise', ids, { topK: 1 })).length, 1);
  // Refused before any model loads: no reranker is created for a typo.
  await assert.rejects(rerank('why does bread rise', ['yeast makes dough rise', 'stocks fell'], { topk: 1 } as never), unknownKey('rerank option', 'topk', 'topK'));
  await assert.rejects(rerank('why does bread rise', ['a'], { crossencoder: 'x' } as never), unknownKey('rerank option', 'crossencoder', 'crossEncoder'));
});

test('Reranker.rerank and index.rerankEncoded refuse their typos by name (they had scored every document)', async () => {
  const reranker = await Reranker.create({ encoder: await index.encoder() });
  const docs = ['yeast makes dough rise', 'stocks fell', 'bread needs flour'];
  await assert.rejects(reranker.rerank('why does bread rise', docs, { topk: 1 } as never), unknownKey('rerank option', 'topk', 'topK'));
  await assert.rejects(reranker.rerank('why does bread rise', docs, { maxTokensPerDoc: 8 } as never), unknownKey('rerank option', 'maxTokensPerDoc', null));
  // A one-call rerank() option is not a Reranker's: the model is chosen when the reranker is made.
  await assert.rejects(reranker.rerank('why does bread rise', docs, { model: 'x' } as never), unknownKey('rerank option', 'model', null));
  assert.equal((await reranker.rerank('why does bread rise', docs, { topK: 1 })).length, 1);
  const ids = ['bread-yeast', 'solar-panels'];
  const [embedding] = await (await index.encoder()).encodeQueries(['why does bread rise']);
  await assert.rejects(index.rerankEncoded(embedding!, ids, { topk: 1 } as never), unknownKey('rerankEncoded option', 'topk', 'topK'));
  await assert.rejects(index.rerankEncoded(embedding!, ids, { includetext: true } as never), unknownKey('rerankEncoded option', 'includetext', 'includeText'));
  assert.equal((await index.rerankEncoded(embedding!, ids, { topK: 1 })).length, 1);
  // Reranker.create refuses its own typos before loading a model.
  await assert.rejects(Reranker.create({ cachebytes: 0 } as never), unknownKey('Reranker option', 'cachebytes', 'cacheBytes'));
  await reranker.close();
});

test('the one-call rerank() hands the Reranker only its own options (model and cross-encoder keys are rerank()\'s)', async () => {
  const texts = ['yeast makes dough rise', 'stocks fell'];
  // Bundled model, topK and a split bound: each key reaches the Reranker, none is refused there.
  const r = await rerank('why does bread rise', texts, { model: undefined, topK: 1, maxPassagesPerDocument: 1 });
  assert.equal(r.length, 1);
  assert.equal(r[0]!.index, 0);
});

test('CrossEncoder.create, score and rerank refuse their typos by name', async () => {
  const model = join(dir, 'cross');
  await makeTinyCrossEncoder(model, { seed: 3 });
  await assert.rejects(CrossEncoder.create(model, { maxlength: 16, threads: 0 } as never), unknownKey('CrossEncoder option', 'maxlength', 'maxLength'));
  const cross = await CrossEncoder.create(model, { threads: 0 });
  try {
    await assert.rejects(cross.rerank('bread', ['yeast', 'stocks'], { topk: 1 } as never), unknownKey('rerank option', 'topk', 'topK'));
    await assert.rejects(cross.score('bread', ['yeast'], { signl: AbortSignal.timeout(1000) } as never), unknownKey('score option', 'signl', 'signal'));
    assert.equal((await cross.rerank('bread', ['yeast', 'stocks'], { topK: 1 })).length, 1);
    // rerank() with a cross-encoder passes it topK (its split bounds are late interaction's only).
    assert.equal((await rerank('bread', ['yeast', 'stocks'], { crossEncoder: model, crossEncoderOptions: { threads: 0 }, topK: 1, maxTokensPerDocument: 4 })).length, 1);
  } finally {
    await cross.close();
  }
});

test('updateIndex, compactIndex, addCorpus and calibrateIndex refuse their typos by name before they write (or search) anything', async () => {
  const path = join(dir, 'sample');
  const was = commitIdOf(readManifest(path));
  // { deletes: [...] } had committed nothing, as if every id were absent; a misspelt option had been ignored.
  assert.throws(() => updateIndex(path, { deletes: ['bread-yeast'] } as never), unknownKey('updateIndex request key', 'deletes', 'delete'));
  assert.throws(() => updateIndex(path, { delete: ['bread-yeast'] }, { autocompactShare: 1 } as never), unknownKey('updateIndex option', 'autocompactShare', 'autoCompactShare'));
  assert.throws(() => compactIndex(path, { autoCompactShare: 1 } as never), unknownKey('compactIndex option', 'autoCompactShare', null));
  await assert.rejects(addCorpus(path, SAMPLE, { noreplace: true } as never), unknownKey('addCorpus option', 'noreplace', 'noReplace'));
  await assert.rejects(addCorpus(path, SAMPLE, { lockWait: 10 } as never), unknownKey('addCorpus option', 'lockWait', 'lockWaitMs'));
  await assert.rejects(calibrateIndex(index, { budget: 1, write: false } as never), unknownKey('calibrateIndex option', 'budget', 'budgetS'));
  await assert.rejects(calibrateIndex(index, { targetRecall: 0.9, write: false } as never), unknownKey('calibrateIndex option', 'targetRecall', null));
  // Nothing was committed: the index is at the generation it was.
  assert.equal(commitIdOf(readManifest(path)), was);
  // Spelt right, a change that changes nothing commits nothing.
  assert.equal(updateIndex(path, { delete: ['no-such-id'] }, { autoCompactShare: 1 }).committed, false);
});

test('a pipeline\'s constructor, run, candidates and runPipeline refuse their typos by name (run had returned hits without text)', async () => {
  const pipeline = new SearchPipeline(index, 'bm25:10 > late:3');
  assert.throws(() => new SearchPipeline(index, 'bm25:10 > late:3', { crossencoder: null } as never), unknownKey('pipeline option', 'crossencoder', 'crossEncoder'));
  await assert.rejects(pipeline.run('why does bread rise', { includetext: true } as never), unknownKey('pipeline run option', 'includetext', 'includeText'));
  await assert.rejects(pipeline.candidates('why does bread rise', { includeText: true } as never), unknownKey('pipeline candidates option', 'includeText', null));
  await assert.rejects(runPipeline(index, 'why does bread rise', 'bm25:10 > late:3', { ltrmodel: null } as never), unknownKey('pipeline option', 'ltrmodel', 'ltrModel'));
  const r = await runPipeline(index, 'why does bread rise', 'bm25:10 > late:3', { includeText: true, search: { idfWeighting: true } });
  assert.equal(r.hits.length, 3);
  assert.ok(r.hits.every((h) => typeof h.text === 'string' && h.text.length > 0));
});

test('evaluateRun and buildIndexFromEmbeddings refuse their typos by name (BEIR\'s identical-id rule had stayed on; a build had used the default iterations)', async () => {
  const run: Run = new Map([['q1', [{ docId: 'd1', score: 1 }]]]);
  const qrels: Qrels = new Map([['q1', new Map([['d1', 1]])]]);
  assert.throws(() => evaluateRun(run, qrels, { ignoreIdenticalIDs: false } as never), unknownKey('evaluateRun option', 'ignoreIdenticalIDs', 'ignoreIdenticalIds'));
  assert.equal(evaluateRun(run, qrels, { order: 'as-given' }).mean['ndcg@10'], 1);
  const target = join(dir, 'typo-embeddings');
  const source = { nPassages: 1, dim: 4, vocabSize: 0, embed: () => Promise.reject(new Error('not reached')) };
  await assert.rejects(buildIndexFromEmbeddings(source as never, { index: target, kmeansiters: 4 } as never), unknownKey('buildIndexFromEmbeddings option', 'kmeansiters', 'kmeansIters'));
  assert.equal(existsSync(target), false);
});

test('collectLtrGroups, trainXgboost and explainLtr refuse their typos by name before any search or training', async () => {
  await assert.rejects(collectLtrGroups(index, [], new Map(), { metadatafields: ['year'] } as never), unknownKey('collectLtrGroups option', 'metadatafields', 'metadataFields'));
  await assert.rejects(trainXgboost([], 1, { maxdepth: 3 } as never), unknownKey('LTR training option', 'maxdepth', 'maxDepth'));
  await assert.rejects(explainLtr(index, null as never, 'why does bread rise', 'bread-yeast', { candidate: 'bm25:10' } as never), unknownKey('explainLtr option', 'candidate', 'candidates'));
});

test('the eval readers and the run writer refuse their typos by name', async () => {
  // The file readers name the typo before they look for the file (a missing file had been reported first).
  await assert.rejects(readQueries('/no/such/queries.jsonl', { formt: 'beir' } as never), unknownKey('queries reader option', 'formt', 'format'));
  await assert.rejects(readQrels('/no/such/qrels.tsv', { fromat: 'trec' } as never), unknownKey('qrels reader option', 'fromat', 'format'));
  await assert.rejects(readRun('/no/such/run.txt', { files: 'x' } as never), unknownKey('run reader option', 'files', 'file'));
  assert.throws(() => parseQrels('q1\t0\td1\t1\n', { fromat: 'trec' } as never), unknownKey('qrels reader option', 'fromat', 'format'));
  assert.throws(() => parseQueries('{"_id":"q1","text":"x"}\n', { onskip: () => {} } as never), unknownKey('queries reader option', 'onskip', 'onSkip'));
  assert.throws(() => parseRun('q1 Q0 d1 1 1.0 t\n', { files: 'x' } as never), unknownKey('run reader option', 'files', 'file'));
  assert.throws(() => formatRun(new Map(), { Tag: 'x' } as never), unknownKey('run writer option', 'Tag', 'tag'));
  assert.equal(formatRun(new Map([['q1', [{ docId: 'd1', score: 1 }]]]), { tag: 'x' }).trim().split(/\s+/).at(-1), 'x');
});

test('drawPseudoQueries and queryLogSample refuse their typos by name', () => {
  assert.throws(() => drawPseudoQueries(index.docstore, { queries: 5 } as never), unknownKey('pseudo-query option', 'queries', null));
  assert.throws(() => queryLogSample(['a', 'b'], { Count: 1 } as never), unknownKey('pseudo-query option', 'Count', 'count'));
  assert.equal(queryLogSample(['a', 'b', 'c'], { count: 2, seed: 1 }).length, 2);
});

test('openCorpus and countDocuments refuse their typos by name (the default id fields had been read); a build hands the reader only its own keys', async () => {
  await assert.rejects(openCorpus(SAMPLE, { idfield: 'id' } as never), unknownKey('corpus reader option', 'idfield', 'idField'));
  await assert.rejects(countDocuments(SAMPLE, { tsvheader: true } as never), unknownKey('corpus reader option', 'tsvheader', 'tsvHeader'));
  let n = 0;
  for await (const _ of await openCorpus(SAMPLE, { format: 'jsonl', skipInvalid: true })) n++;
  assert.equal(n, await countDocuments(SAMPLE, { format: 'jsonl' }));
});

test('warmUp and buildIndex refuse their typos by name (warmUp loaded the encoder anyway, buildIndex built with the default threads); nothing is built', async () => {
  await assert.rejects(index.warmUp({ encodr: false } as never), unknownKey('warmUp option', 'encodr', 'encoder'));
  const target = join(dir, 'typo-build');
  await assert.rejects(buildIndex(SAMPLE, { index: target, encoderoptions: { threads: 0 } } as never), unknownKey('buildIndex option', 'encoderoptions', 'encoderOptions'));
  assert.equal(existsSync(target), false);
});

test('the key tables hold what the types hold (a compile-time check, restated at run time)', () => {
  // Adding a key to SearchOptions without adding it to SEARCH_OPTION_KEYS fails to compile
  // (`satisfies OptionKeys<SearchOptions>`); this table is the same check written from the test's side.
  const fromTest: OptionKeys<SearchOptions> = {
    signal: true, timeoutMs: true, deadlineAt: true, topK: true, offset: true, mode: true, exhaustive: true, plaidDefaults: true, nIvfProbe: true,
    centroidScoreThreshold: true, ndocs: true, centroidScoreMargin: true, nIvfProbeTotal: true, ndocsQueryTokens: true,
    interactionScoring: true, nExact: true, idfWeighting: true, fusion: true, alpha: true, rrfK: true, includeText: true,
    filter: true, rewrite: true, globalStats: true, highlights: true,
  };
  assert.deepEqual(Object.keys(SEARCH_OPTION_KEYS).sort(), Object.keys(fromTest).sort());
});

test('deadlineAt (the server passes a request\'s deadline on) is a real key: past is TIMEOUT, far is no limit, not finite is INVALID_ARGUMENT', async () => {
  const [embedding] = await (await index.encoder()).encodeQueries(['why does bread rise']);
  assert.throws(() => index.searchEncoded('why does bread rise', embedding!, { mode: 'late', deadlineAt: Date.now() - 1000 }), (e: unknown) => e instanceof PlaitError && e.code === 'TIMEOUT');
  await assert.rejects(index.explain('why does bread rise', 'bread-yeast', { deadlineAt: Date.now() - 1000 }), (e: unknown) => e instanceof PlaitError && e.code === 'TIMEOUT');
  assert.equal(index.searchEncoded('why does bread rise', embedding!, { mode: 'late', topK: 3, deadlineAt: Date.now() + 60_000 }).hits.length, 3);
  assert.throws(() => index.searchEncoded('why does bread rise', embedding!, { deadlineAt: Number.NaN }), (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && e.details?.name === 'deadlineAt');
  // Past 2^31 - 1 ms ahead a Node timer would fire after 1 ms: refused like such a timeoutMs.
  assert.throws(() => index.searchEncoded('why does bread rise', embedding!, { deadlineAt: Date.now() + 2 ** 32 }), (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && e.details?.name === 'deadlineAt');
});
