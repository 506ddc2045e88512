/**
 * plait/ai-sdk with the real Vercel AI SDK (`ai` 6.x, whose `rerank()` calls RerankingModelV3),
 * in-process with the bundled model: `rerank({ model: plait.reranking(), query, documents })` for
 * text and object documents, topN, a provider registry, abort, and the errors a caller sees. Every
 * ranking is asserted against plait's own `rerank()` (its own Reranker instance) on the same
 * texts: same order, same scores.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rerank as aiRerank, createProviderRegistry } from 'ai';
import { NoSuchModelError } from '@ai-sdk/provider';
import { plait, createPlait, PlaitRerankingModel } from '../src/integrations/ai-sdk.js';
import { Reranker, rerank, closeRerankers } from '../src/rerank/reranker.js';
import { isPlaitError } from '../src/errors/index.js';

const QUERY = 'how do vaccines train the immune system';
const TEXTS = [
  'Roasting turns green coffee beans into the brown beans we grind.',
  'A vaccine shows the immune system a harmless piece of a pathogen so that it learns to recognise it.',
  'Plate tectonics moves continents a few centimetres a year.',
  'Antibodies made after vaccination protect against later infection by the same virus.',
  '',
  'Black holes bend light so strongly that nothing escapes past the event horizon.',
];
const threads = { rerankerOptions: { encoderOptions: { threads: 1 } } };
const models: PlaitRerankingModel[] = [];

function model(modelId?: string): PlaitRerankingModel {
  const m = plait.reranking(modelId, threads);
  models.push(m);
  return m;
}

after(async () => {
  await Promise.all(models.map((m) => m.close()));
  await closeRerankers();
});

test("rerank() from 'ai' with plait.reranking(): plait's order and scores, the documents carried along", async () => {
  const m = model();
  assert.equal(m.specificationVersion, 'v3');
  assert.equal(m.provider, 'plait');
  assert.equal(m.modelId, 'bundled');
  const got = await aiRerank({ model: m, query: QUERY, documents: TEXTS });
  const want = await rerank(QUERY, TEXTS);
  assert.deepEqual(
    got.ranking.map((r) => [r.originalIndex, r.score, r.document]),
    want.map((w) => [w.index, w.score, TEXTS[w.index]]),
  );
  assert.deepEqual(got.rerankedDocuments, want.map((w) => TEXTS[w.index]));
  assert.deepEqual(got.originalDocuments, TEXTS);
  assert.deepEqual(got.ranking.slice(0, 2).map((r) => r.originalIndex).sort(), [1, 3], 'the two vaccine texts lead');
  assert.equal(got.ranking.at(-1)!.originalIndex, 4, 'the empty document ranks last');
  assert.equal(got.response.modelId, 'bundled:use-lite');

  const top2 = await aiRerank({ model: m, query: QUERY, documents: TEXTS, topN: 2 });
  assert.deepEqual(top2.ranking.map((r) => [r.originalIndex, r.score]), want.slice(0, 2).map((w) => [w.index, w.score]));
});

test('object documents: ranked by their JSON text by default, or by the text documentText picks', async () => {
  const objects = TEXTS.map((body, i) => ({ id: `d${i}`, body }));
  const byJson = await aiRerank({ model: model(), query: QUERY, documents: objects });
  const wantJson = await rerank(QUERY, objects.map((o) => JSON.stringify(o)));
  assert.deepEqual(byJson.ranking.map((r) => [r.originalIndex, r.score, r.document]), wantJson.map((w) => [w.index, w.score, objects[w.index]]));

  const m = plait.reranking('bundled', { ...threads, documentText: (d) => String(d.body) });
  models.push(m);
  const byBody = await aiRerank({ model: m, query: QUERY, documents: objects, topN: 3 });
  const wantBody = await rerank(QUERY, TEXTS, { topK: 3 });
  assert.deepEqual(byBody.ranking.map((r) => [r.document.id, r.score]), wantBody.map((w) => [`d${w.index}`, w.score]));
});

test('a provider registry resolves plait:<model>; a given Reranker is used and left open; other model kinds throw NoSuchModelError', async () => {
  const reranker = await Reranker.create({ encoderOptions: { threads: 1 } });
  try {
    const registry = createProviderRegistry({ plait: createPlait({ reranker }) });
    const m = registry.rerankingModel('plait:bundled');
    const got = await aiRerank({ model: m, query: QUERY, documents: TEXTS, topN: 3 });
    const want = await rerank(QUERY, TEXTS, { topK: 3 });
    assert.deepEqual(got.ranking.map((r) => [r.originalIndex, r.score]), want.map((w) => [w.index, w.score]));
    assert.ok(reranker.cachedDocuments > 0, 'the given Reranker did the encoding');
    await (m as PlaitRerankingModel).close();
    assert.equal((await reranker.rerank(QUERY, ['still open'])).length, 1);
    assert.throws(() => registry.languageModel('plait:chat'), (e) => NoSuchModelError.isInstance(e));
    assert.throws(() => plait.embeddingModel('x'), (e) => NoSuchModelError.isInstance(e) && e.modelType === 'embeddingModel');
  } finally {
    await reranker.close();
  }
});

test('errors reach the caller as PlaitErrors: a query with no content, a bad topN, an aborted call, a missing model', async () => {
  const m = model();
  await assert.rejects(aiRerank({ model: m, query: ' ?? ', documents: TEXTS }), (e) => isPlaitError(e, 'EMPTY_TEXT'));
  await assert.rejects(aiRerank({ model: m, query: QUERY, documents: TEXTS, topN: -1 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  // ai's rerank() hands topN to the model unchecked; plait refuses what rerank APIs refuse (top_n < 1,
  // fractions), naming topN, before any model loads (the missing model is never reached).
  for (const topN of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(aiRerank({ model: model('/nonexistent/plait-model'), query: QUERY, documents: TEXTS, topN }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /integer ≥ 1 .* for topN but received/.test(e.message), String(topN));
  }
  const controller = new AbortController();
  controller.abort(new Error('caller gave up'));
  await assert.rejects(aiRerank({ model: m, query: QUERY, documents: TEXTS, abortSignal: controller.signal }), /caller gave up|abort/i);
  // A misspelt setting is refused by name when the model is made, before any model loads.
  assert.throws(() => plait.reranking('bundled', { rerankeroptions: { cacheBytes: 0 } } as never), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown plait reranking setting "rerankeroptions" \(did you mean "rerankerOptions"\?\)/.test(e.message));
  assert.throws(() => new PlaitRerankingModel('bundled', { model: 'x' } as never), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown plait reranking setting "model"/.test(e.message));
  const missing = model('/nonexistent/plait-model');
  await assert.rejects(aiRerank({ model: missing, query: QUERY, documents: TEXTS }), (e) => isPlaitError(e) && e.code.startsWith('MODEL_'));
  // doRerank directly: headers and providerOptions mean nothing in-process and say so.
  const direct = await m.doRerank({ query: QUERY, documents: { type: 'text', values: TEXTS.slice(0, 2) }, headers: { 'x-trace': '1' }, providerOptions: { plait: {} } });
  assert.deepEqual(direct.warnings?.map((w) => (w.type === 'unsupported' ? w.feature : w.type)), ['headers', 'providerOptions']);
  assert.deepEqual(direct.ranking.map((r) => r.index), [1, 0]);
});
