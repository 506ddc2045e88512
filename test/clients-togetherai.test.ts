/**
 * The Vercel AI SDK's Together AI provider (`@ai-sdk/togetherai`, `rerank()` with
 * `createTogetherAI({ baseURL: '<server>/v1' })`) against the real `plait serve`: it posts
 * Together's rerank body (https://docs.together.ai/reference/rerank-1) to /v1/rerank — `model`,
 * `documents` as strings or objects, `top_n`, `rank_fields`, `return_documents: false` — and its
 * response schema requires `usage.{prompt_tokens, completion_tokens, total_tokens}`: without
 * `usage` every call failed ("Invalid JSON response"). Objects without `rank_fields` are ranked on
 * all their fields (Together's default); plait refused them for lacking Cohere's `text`.
 * Errors (400, 401, 413, 503 + Retry-After) reach the caller as the SDK's APICallError carrying
 * plait's message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rerank } from 'ai';
import { createTogetherAI } from '@ai-sdk/togetherai';
import { API_KEY, assertAiSdkErrorDoors, DOCS, libraryRanking, QUERY, useClientServers } from './helpers/client-doors.js';

const servers = useClientServers();

const MODEL = 'Salesforce/Llama-Rank-v1';

test('string documents with topN: plait\'s ranking and scores, the response\'s usage read', async () => {
  const together = createTogetherAI({ apiKey: 'unused', baseURL: `${servers.open.url}/v1` });
  const want = await libraryRanking(QUERY, DOCS);
  const r = await rerank({ model: together.reranking(MODEL), query: QUERY, documents: DOCS, topN: 3, maxRetries: 0 });
  assert.deepEqual(
    r.ranking.map((x) => x.originalIndex),
    want.order.slice(0, 3),
  );
  for (const x of r.ranking) assert.ok(Math.abs(x.score - want.score.get(x.originalIndex)!) < 1e-4, `score of ${x.originalIndex}`);
  assert.equal(r.ranking[0]!.document, DOCS[want.order[0]!]);
  const body = r.response.body as { usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } };
  assert.ok(body.usage.total_tokens > 0 && body.usage.total_tokens === body.usage.prompt_tokens + body.usage.completion_tokens, JSON.stringify(body.usage));
});

test('object documents: all fields ranked by default (Together\'s), or the rankFields named', async () => {
  const together = createTogetherAI({ apiKey: 'unused', baseURL: `${servers.open.url}/v1` });
  const objects = DOCS.map((body, i) => ({ title: `note ${i}`, body }));
  const all = await libraryRanking(QUERY, objects.map((o) => `title: ${o.title}\nbody: ${o.body}`));
  const r = await rerank({ model: together.reranking(MODEL), query: QUERY, documents: objects, maxRetries: 0 });
  assert.deepEqual(
    r.ranking.map((x) => x.originalIndex),
    all.order,
  );
  for (const x of r.ranking) assert.ok(Math.abs(x.score - all.score.get(x.originalIndex)!) < 1e-4);
  const titles = await libraryRanking(QUERY, objects.map((o) => `title: ${o.title}`));
  const t = await rerank({ model: together.reranking(MODEL), query: QUERY, documents: objects, providerOptions: { togetherai: { rankFields: ['title'] } }, maxRetries: 0 });
  for (const x of t.ranking) assert.ok(Math.abs(x.score - titles.score.get(x.originalIndex)!) < 1e-4, 'ranked on the title alone');
  // An object with no field at all has nothing to rank: refused by name (it had recursed without end, a 500).
  await assert.rejects(rerank({ model: together.reranking(MODEL), query: QUERY, documents: [objects[0]!, {}], maxRetries: 0 }), (e: Error & { statusCode?: number }) => {
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /documents\[1\] is an empty object: no "text" and no field to rank on/, e.message);
    return true;
  });
});

test('rankFields that no document has (a typo) are named in the answer\'s meta.warnings, not a silent page of -9999', async () => {
  const together = createTogetherAI({ apiKey: 'unused', baseURL: `${servers.open.url}/v1` });
  const objects = DOCS.map((body, i) => ({ title: `note ${i}`, body }));
  const r = await rerank({ model: together.reranking(MODEL), query: QUERY, documents: objects, providerOptions: { togetherai: { rankFields: ['titel'] } }, maxRetries: 0 });
  assert.ok(r.ranking.every((x) => x.score <= -9999), 'ranked as empty documents');
  const meta = (r.response.body as { meta: { warnings?: string[] } }).meta;
  assert.deepEqual(meta.warnings, [`${objects.length} documents have none of the rank_fields ["titel"]: ranked as empty documents (score -9999 a query token)`]);
  // One field of two present: no warning.
  const ok = await rerank({ model: together.reranking(MODEL), query: QUERY, documents: objects, providerOptions: { togetherai: { rankFields: ['titel', 'body'] } }, maxRetries: 0 });
  assert.equal((ok.response.body as { meta: { warnings?: string[] } }).meta.warnings, undefined);
});

test('a base URL without /v1, or with /rerank, gets an error that names the one to set', async () => {
  // createTogetherAI({ baseURL: '<server>' }) posts to /rerank, TEI's route.
  const bare = createTogetherAI({ apiKey: 'unused', baseURL: servers.open.url });
  await assert.rejects(rerank({ model: bare.reranking(MODEL), query: QUERY, documents: DOCS, maxRetries: 0 }), (e: CallError) => {
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /a body with "documents" is Cohere's: POST \/v1\/rerank .*@ai-sdk\/togetherai: baseURL <server>\/v1/, e.message);
    return true;
  });
  const long = createTogetherAI({ apiKey: 'unused', baseURL: `${servers.open.url}/v1/rerank` });
  await assert.rejects(rerank({ model: long.reranking(MODEL), query: QUERY, documents: DOCS, maxRetries: 0 }), (e: CallError) => {
    assert.equal(e.statusCode, 404);
    assert.match(e.message, /no route POST \/v1\/rerank\/rerank; .*@ai-sdk\/togetherai: baseURL <server>\/v1/, e.message);
    return true;
  });
});

type CallError = Error & { statusCode?: number; responseHeaders?: Record<string, string>; isRetryable?: boolean };

test('errors surface as the SDK\'s APICallError with plait\'s message: 400, 401, 413, 503 with Retry-After', async () => {
  const together = createTogetherAI({ apiKey: API_KEY, baseURL: `${servers.strict.url}/v1` });
  const model = together.reranking(MODEL);
  await assert.rejects(rerank({ model, query: '', documents: DOCS, maxRetries: 0 }), (e: CallError) => {
    assert.equal(e.name, 'AI_APICallError');
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /query is empty/);
    return true;
  });
  const wrongKey = createTogetherAI({ apiKey: 'not-the-key', baseURL: `${servers.strict.url}/v1` });
  await assertAiSdkErrorDoors(servers.strict, model, wrongKey.reranking(MODEL), 'together');
});
