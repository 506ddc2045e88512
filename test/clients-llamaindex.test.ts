/**
 * LlamaIndex.TS's CohereRerank node postprocessor (`@llamaindex/cohere`, which drives its own
 * cohere-ai 7.14 v1 client) against the real `plait serve`, with `baseUrl` set to the server's
 * root as README says: it posts Cohere v1's body to /v1/rerank and reads `results[].index` and
 * `relevance_score`. Errors (400, 401, 413, 503) reach the caller as cohere-ai's own error classes
 * (BadRequestError, UnauthorizedError, CohereError, ServiceUnavailableError), each with plait's
 * message in its body. On a 503 that cohere-ai retries twice, 1 ms and 2 ms later (its delay is
 * in ms, not s), without reading Retry-After, and CohereRerank's caller cannot turn it off: the
 * three tries all land while the held rerank runs for seconds.
 * LlamaIndex.TS ships no Jina reranker today (`@llamaindex/jinaai` has embeddings only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CohereRerank } from '@llamaindex/cohere';
import { TextNode, type NodeWithScore } from '@llamaindex/core/schema';
import { API_KEY, DOCS, documents, holdTokenBudget, libraryRanking, QUERY, useClientServers } from './helpers/client-doors.js';

const servers = useClientServers();

/** The cohere-ai that @llamaindex/cohere itself depends on (its own version): its error classes. */
const cohereOfLlamaIndex = createRequire(import.meta.resolve('@llamaindex/cohere'))('cohere-ai') as {
  CohereError: new (...a: never[]) => Error;
  Cohere: { BadRequestError: new (...a: never[]) => Error; UnauthorizedError: new (...a: never[]) => Error; ServiceUnavailableError: new (...a: never[]) => Error };
};

const nodes = (texts: string[]): NodeWithScore[] => texts.map((text, i) => ({ node: new TextNode({ id_: `n${i}`, text }), score: 0 }));

test('CohereRerank with baseUrl <server>: its topN best nodes, in plait\'s order, with plait\'s scores', async () => {
  const want = await libraryRanking(QUERY, DOCS);
  for (const topN of [2, 5]) {
    const reranker = new CohereRerank({ apiKey: 'unused', baseUrl: servers.open.url, topN, model: 'rerank-english-v3.0' });
    const out = await reranker.postprocessNodes(nodes(DOCS), QUERY);
    assert.deepEqual(
      out.map((n) => n.node.id_),
      want.order.slice(0, topN).map((i) => `n${i}`),
    );
    for (const n of out) assert.ok(Math.abs(n.score! - want.score.get(Number(n.node.id_.slice(1)))!) < 1e-4, n.node.id_);
  }
});

type CohereErr = Error & { statusCode?: number; body?: { message?: string; error?: { code?: string } } };

test('errors surface as cohere-ai\'s error classes with plait\'s message: 400, 401, 413, 503', async () => {
  const reranker = new CohereRerank({ apiKey: API_KEY, baseUrl: servers.strict.url, topN: 2 });
  await assert.rejects(reranker.postprocessNodes(nodes(DOCS), ''), (e: CohereErr) => {
    assert.ok(e instanceof cohereOfLlamaIndex.Cohere.BadRequestError, e.constructor.name);
    assert.equal(e.statusCode, 400);
    assert.match(e.body!.message!, /query is empty/);
    assert.equal(e.body!.error!.code, 'EMPTY_TEXT');
    return true;
  });
  const wrongKey = new CohereRerank({ apiKey: 'not-the-key', baseUrl: servers.strict.url });
  await assert.rejects(wrongKey.postprocessNodes(nodes(DOCS), QUERY), (e: CohereErr) => {
    assert.ok(e instanceof cohereOfLlamaIndex.Cohere.UnauthorizedError, e.constructor.name);
    assert.equal(e.statusCode, 401);
    assert.match(e.body!.message!, /API key/i);
    return true;
  });
  await assert.rejects(reranker.postprocessNodes(nodes(documents('many', 1001, 20)), QUERY), (e: CohereErr) => {
    assert.ok(e instanceof cohereOfLlamaIndex.CohereError, e.constructor.name);
    assert.equal(e.statusCode, 413);
    assert.match(e.body!.message!, /1001 items in documents; the limit is 1000/);
    return true;
  });
  const hold = await holdTokenBudget(servers.strict, 'llamaindex');
  await assert.rejects(reranker.postprocessNodes(nodes(documents('llamaindex-second', 40, 320)), QUERY), (e: CohereErr) => {
    assert.ok(e instanceof cohereOfLlamaIndex.Cohere.ServiceUnavailableError, e.constructor.name);
    assert.equal(e.statusCode, 503);
    assert.match(e.body!.message!, /Overloaded: .*try again later/);
    return true;
  });
  assert.equal(await hold.done, 200);
});
