/**
 * LangChain.js's CohereRerank (`@langchain/cohere`) driving cohere-ai's v2 client (CohereClientV2 of
 * the cohere-ai that @langchain/cohere itself depends on, `environment: <server>`) against the real
 * `plait serve`: it posts Cohere v2's body to /v2/rerank (test/server-clients.test.ts covers it on
 * the v1 client). Errors (400, 401, 413, 503) reach the caller as that cohere-ai's own error
 * classes, each with plait's message in its body, and 503's Retry-After in its raw response.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CohereRerank } from '@langchain/cohere';
import { Document } from '@langchain/core/documents';
import { API_KEY, DOCS, documents, holdTokenBudget, libraryRanking, QUERY, useClientServers } from './helpers/client-doors.js';

const servers = useClientServers();

type Client = NonNullable<NonNullable<ConstructorParameters<typeof CohereRerank>[0]>['client']>;
type ErrorClass = new (...a: never[]) => Error;
const cohere = createRequire(import.meta.resolve('@langchain/cohere'))('cohere-ai') as {
  CohereClientV2: new (o: { token: string; environment: string; maxRetries?: number }) => Client;
  CohereError: ErrorClass;
  Cohere: { BadRequestError: ErrorClass; UnauthorizedError: ErrorClass; ServiceUnavailableError: ErrorClass };
};

const v2 = (url: string, token: string): Client => new cohere.CohereClientV2({ token, environment: url, maxRetries: 0 });

test('CohereRerank on the v2 client: compressDocuments keeps its topN in plait\'s order, rerank() ranks all, with plait\'s scores', async () => {
  const want = await libraryRanking(QUERY, DOCS);
  const compressor = new CohereRerank({ model: 'rerank-v3.5', client: v2(servers.open.url, 'unused') });
  const out = await compressor.compressDocuments(
    DOCS.map((pageContent, i) => new Document({ pageContent, metadata: { i } })),
    QUERY,
  );
  assert.deepEqual(
    out.map((d) => d.metadata.i),
    want.order.slice(0, 3),
  );
  for (const d of out) assert.ok(Math.abs(d.metadata.relevanceScore - want.score.get(d.metadata.i)!) < 1e-4);
  const ranked = await compressor.rerank(DOCS, QUERY, { topN: 5 });
  assert.deepEqual(
    ranked.map((x) => x.index),
    want.order,
  );
});

type CohereErr = Error & { statusCode?: number; body?: { message?: string }; rawResponse?: { headers: Headers } };

test('errors surface as cohere-ai\'s error classes with plait\'s message: 400, 401, 413, 503 with Retry-After', async () => {
  const compressor = new CohereRerank({ model: 'rerank-v3.5', client: v2(servers.strict.url, API_KEY), topN: 2 });
  await assert.rejects(compressor.rerank(DOCS, ''), (e: CohereErr) => {
    assert.ok(e instanceof cohere.Cohere.BadRequestError, e.constructor.name);
    assert.match(e.body!.message!, /query is empty/);
    return true;
  });
  const wrongKey = new CohereRerank({ model: 'rerank-v3.5', client: v2(servers.strict.url, 'not-the-key') });
  await assert.rejects(wrongKey.rerank(DOCS, QUERY), (e: CohereErr) => {
    assert.ok(e instanceof cohere.Cohere.UnauthorizedError, e.constructor.name);
    assert.match(e.body!.message!, /API key/i);
    return true;
  });
  await assert.rejects(compressor.rerank(documents('many', 1001, 20), QUERY), (e: CohereErr) => {
    assert.ok(e instanceof cohere.CohereError, e.constructor.name);
    assert.equal(e.statusCode, 413);
    assert.match(e.body!.message!, /1001 items in documents; the limit is 1000/);
    return true;
  });
  const hold = await holdTokenBudget(servers.strict, 'langchain');
  await assert.rejects(compressor.rerank(documents('langchain-second', 40, 320), QUERY), (e: CohereErr) => {
    assert.ok(e instanceof cohere.Cohere.ServiceUnavailableError, e.constructor.name);
    assert.equal(e.statusCode, 503);
    assert.match(e.body!.message!, /Overloaded: .*try again later/);
    assert.ok(Number(e.rawResponse?.headers.get('retry-after')) >= 1, 'Retry-After reaches the error');
    return true;
  });
  assert.equal(await hold.done, 200);
});
