/**
 * The clients people use, against the real `plait serve` on an ephemeral loopback port (issue 21):
 * cohere-ai's v1 client and v2 client with every documented rerank option, LangChain.js's
 * CohereRerank with its default options (it sent `"max_chunks_per_doc": null` and failed on every
 * call), and the Vercel AI SDK's `rerank()` through `@ai-sdk/cohere` with a base URL. Every test
 * asserts the ranking against the library's Reranker on the same bundled model, not only a status.
 * Plus what only raw HTTP can send: unknown fields and nulls, TEI's truncate, text the model
 * cannot represent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CohereClient, CohereClientV2 } from 'cohere-ai';
import { createRequire } from 'node:module';
import { CohereRerank } from '@langchain/cohere';
import { Document } from '@langchain/core/documents';
import { rerank } from 'ai';
import { createCohere } from '@ai-sdk/cohere';
import { buildSample, parsePrometheus, postJson, type SampleIndex } from './helpers/server-fixture.js';
import { startPlaitServe, type PlaitServe } from './helpers/plait-serve.js';
import type { RerankOptions } from '../src/index.js';

let sample: SampleIndex;
let server: PlaitServe;

const QUERY = 'how does yeast make bread rise';
const DOCS = [
  'The stock market fell sharply on Monday after the bank raised interest rates.',
  'Yeast ferments the sugars in dough and the carbon dioxide it releases makes bread rise.',
  'An airfoil produces lift from the pressure difference between its two surfaces.',
  'Sourdough bread rises with wild yeast and lactic acid bacteria instead of baker\'s yeast.',
  'Glaciers carve valleys as they move slowly downhill under their own weight.',
];
/** A long document whose answer sits at its end: bounds on the split decide whether it is seen. */
const LONG = `${'Harbour cranes unload containers onto trucks at the port every morning. '.repeat(40)}Yeast makes bread dough rise.`;

before(async () => {
  sample = await buildSample('plait-server-clients-');
  server = await startPlaitServe([sample.path]);
});

after(async () => {
  await server?.stop();
  await sample?.dispose();
});

/** The library's ranking (indexes, best first) and scores by index. */
async function library(query: string, docs: string[], options: RerankOptions = {}): Promise<{ order: number[]; score: Map<number, number> }> {
  const r = await sample.reranker.rerank(query, docs, options);
  return { order: r.map((x) => x.index), score: new Map(r.map((x) => [x.index, x.score])) };
}

function assertScores(got: { index: number; relevanceScore: number }[], want: Map<number, number>): void {
  for (const g of got) assert.ok(Math.abs(g.relevanceScore - want.get(g.index)!) < 1e-4, `score of ${g.index}: ${g.relevanceScore} vs ${want.get(g.index)}`);
}

test('cohere-ai v1 client: defaults, then topN, returnDocuments, rankFields, maxChunksPerDoc, model', async () => {
  const client = new CohereClient({ token: 'unused', environment: server.url });
  const want = await library(QUERY, DOCS);
  const plain = await client.rerank({ query: QUERY, documents: DOCS });
  assert.deepEqual(
    plain.results.map((r) => r.index),
    want.order,
  );
  assertScores(plain.results, want.score);
  assert.equal(want.order[0], 1);

  // Object documents ranked on two fields; top 2 with the documents echoed.
  const objects = DOCS.map((body, i) => ({ title: `note ${i}`, body }));
  const fields = await library(QUERY, objects.map((o) => `title: ${o.title}\nbody: ${o.body}`));
  const r = await client.rerank({ model: 'rerank-english-v3.0', query: QUERY, documents: objects, topN: 2, returnDocuments: true, rankFields: ['title', 'body'] });
  assert.deepEqual(
    r.results.map((x) => x.index),
    fields.order.slice(0, 2),
  );
  assert.deepEqual(r.results[0]!.document, objects[fields.order[0]!]);

  // maxChunksPerDoc: 1 scores only the long document's first passage, which lacks the answer.
  const docs = [LONG, DOCS[0]!, DOCS[2]!];
  const whole = await library(QUERY, docs);
  const firstChunk = await library(QUERY, docs, { maxPassagesPerDocument: 1 });
  assert.equal(whole.order[0], 0, 'the whole long document is seen');
  assert.ok(firstChunk.score.get(0)! < whole.score.get(0)!);
  const chunked = await client.rerank({ query: QUERY, documents: docs, maxChunksPerDoc: 1 });
  assert.deepEqual(
    chunked.results.map((x) => x.index),
    firstChunk.order,
  );
  assertScores(chunked.results, firstChunk.score);
});

test('cohere-ai v2 client: model, topN, maxTokensPerDoc, priority', async () => {
  const client = new CohereClientV2({ token: 'unused', environment: server.url });
  const want = await library(QUERY, DOCS);
  const r = await client.rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS, topN: 3, priority: 2 });
  assert.deepEqual(
    r.results.map((x) => x.index),
    want.order.slice(0, 3),
  );
  assertScores(r.results, want.score);
  // maxTokensPerDoc cuts each document before it is split: 12 tokens of LONG miss its answer.
  const docs = [LONG, DOCS[1]!, DOCS[4]!];
  const cut = await library(QUERY, docs, { maxTokensPerDocument: 12 });
  const c = await client.rerank({ model: 'rerank-v3.5', query: QUERY, documents: docs, maxTokensPerDoc: 12 });
  assert.deepEqual(
    c.results.map((x) => x.index),
    cut.order,
  );
  assertScores(c.results, cut.score);
  assert.ok(cut.score.get(0)! < (await library(QUERY, docs)).score.get(0)!, 'the cut changed the long document\'s score');
});

test('Cohere\'s meta as cohere-ai parses it (api_version.version, billed_units.search_units: one per 100 documents); v2 has no return_documents, rank_fields or max_chunks_per_doc: ignored and named', async () => {
  const v1 = new CohereClient({ token: 'unused', environment: server.url });
  const v2 = new CohereClientV2({ token: 'unused', environment: server.url });
  const many = Array.from({ length: 101 }, (_, i) => `${DOCS[i % DOCS.length]} (${i})`);
  for (const [docs, units] of [[DOCS, 1], [many, 2]] as const) {
    const a = await v1.rerank({ query: QUERY, documents: [...docs] });
    assert.deepEqual([a.meta?.apiVersion?.version, a.meta?.billedUnits?.searchUnits], ['1', units]);
    const b = await v2.rerank({ model: 'rerank-v3.5', query: QUERY, documents: [...docs] });
    // Cohere bills a search unit per 100 documents; plait had said 1 whatever the count.
    assert.deepEqual([b.meta?.apiVersion?.version, b.meta?.billedUnits?.searchUnits], ['2', units]);
    assert.equal(b.results.length, docs.length);
  }
  // Cohere v2 dropped v1's return_documents, rank_fields and max_chunks_per_doc (cohere-ai's
  // V2RerankRequest has none): on /v2/rerank they are ignored and named, as any unknown field;
  // v2 had honoured them, echoing documents Cohere v2 never returns.
  const want = await library(QUERY, DOCS);
  const r = await postJson(`${server.url}/v2/rerank`, { model: 'rerank-v3.5', query: QUERY, documents: DOCS, return_documents: true, rank_fields: ['title'], max_chunks_per_doc: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    r.body.results.map((x: { index: number }) => x.index),
    want.order,
  );
  assert.ok(r.body.results.every((x: { document?: unknown }) => x.document === undefined), JSON.stringify(r.body.results[0]));
  assert.equal(r.headers.get('x-plait-ignored-fields'), 'return_documents, rank_fields, max_chunks_per_doc');
  assert.deepEqual(r.body.meta.warnings, ['ignored unknown field "return_documents"', 'ignored unknown field "rank_fields"', 'ignored unknown field "max_chunks_per_doc"']);
  // v1 keeps them.
  const one = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS, return_documents: true, max_chunks_per_doc: 1 });
  assert.equal(one.headers.get('x-plait-ignored-fields'), null);
  assert.equal(one.body.results[0].document.text, DOCS[one.body.results[0].index]);
});

test("LangChain.js CohereRerank with its default options (topN 3, no maxChunksPerDoc) reranks in plait's order", async () => {
  // The cohere-ai that @langchain/cohere itself depends on (its own version), pointed at plait.
  type LangchainClient = NonNullable<ConstructorParameters<typeof CohereRerank>[0]>['client'];
  const { CohereClient: Client } = createRequire(import.meta.resolve('@langchain/cohere'))('cohere-ai') as { CohereClient: new (o: { token: string; environment: string }) => LangchainClient };
  // Its defaults (topN 3, maxChunksPerDoc unset); current versions require a model name.
  const compressor = new CohereRerank({ model: 'rerank-english-v3.0', client: new Client({ token: 'unused', environment: server.url }) });
  const want = await library(QUERY, DOCS);
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

test("Vercel AI SDK rerank() through @ai-sdk/cohere with a baseURL, provider options included", async () => {
  const cohere = createCohere({ apiKey: 'unused', baseURL: `${server.url}/v2` });
  const want = await library(QUERY, DOCS);
  const { ranking } = await rerank({ model: cohere.reranking('rerank-v3.5'), query: QUERY, documents: DOCS, topN: 2 });
  assert.deepEqual(
    ranking.map((x) => x.originalIndex),
    want.order.slice(0, 2),
  );
  assert.equal(ranking[0]!.document, DOCS[want.order[0]!]);
  for (const x of ranking) assert.ok(Math.abs(x.score - want.score.get(x.originalIndex)!) < 1e-4);
  const docs = [LONG, DOCS[1]!, DOCS[4]!];
  const cut = await library(QUERY, docs, { maxTokensPerDocument: 12 });
  const opts = await rerank({ model: cohere.reranking('rerank-v3.5'), query: QUERY, documents: docs, providerOptions: { cohere: { maxTokensPerDoc: 12, priority: 1 } } });
  assert.deepEqual(
    opts.ranking.map((x) => x.originalIndex),
    cut.order,
  );
});

test("error messages reach the SDKs' users: the AI SDK's APICallError and cohere-ai's error carry plait's message, and the body keeps its code", async () => {
  // @ai-sdk/cohere reads Cohere's error shape, a top-level `message`; without it the error said only "Bad Request".
  const cohere = createCohere({ apiKey: 'unused', baseURL: `${server.url}/v2` });
  await assert.rejects(
    rerank({ model: cohere.reranking('rerank-v3.5'), query: '', documents: DOCS, maxRetries: 0 }),
    (e: Error & { statusCode?: number; responseBody?: string }) => {
      assert.equal(e.statusCode, 400);
      assert.match(e.message, /query is empty/, e.message);
      assert.equal(JSON.parse(e.responseBody!).error.code, 'EMPTY_TEXT');
      return true;
    },
  );
  const client = new CohereClientV2({ token: 'unused', environment: server.url });
  await assert.rejects(
    client.rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS, topN: 0 }),
    (e: Error & { statusCode?: number; body?: { message?: string; error?: { code?: string } } }) => {
      assert.equal(e.statusCode, 400);
      assert.match(e.body!.message!, /Expected an integer >= 1 for body\/top_n but received 0/);
      assert.equal(e.body!.error!.code, 'INVALID_ARGUMENT');
      return true;
    },
  );
  // Plait's own routes keep the documented `{"error": {...}}` body alone.
  const own = await postJson(`${server.url}/v1/indexes/sample/search`, { query: '' });
  assert.equal(own.status, 400);
  assert.deepEqual(Object.keys(own.body as object), ['error']);
});

test("a Cohere client whose base URL lacks /v2 reaches TEI's /rerank: the error says so, through the AI SDK too", async () => {
  // createCohere({ baseURL: url }) posts to url + '/rerank', TEI's route, which answered only "Bad Request".
  const cohere = createCohere({ apiKey: 'unused', baseURL: server.url });
  await assert.rejects(
    rerank({ model: cohere.reranking('rerank-v3.5'), query: QUERY, documents: DOCS, maxRetries: 0 }),
    (e: Error & { statusCode?: number }) => {
      assert.equal(e.statusCode, 400);
      assert.match(e.message, /POST \/rerank is TEI's route and takes "texts"; a body with "documents" is Cohere's: POST \/v1\/rerank or \/v2\/rerank \(@ai-sdk\/cohere: baseURL .*\/v2; @ai-sdk\/togetherai: baseURL .*\/v1\)/, e.message);
      return true;
    },
  );
  const tei = await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS });
  assert.equal(tei.status, 200, 'TEI bodies are unchanged');
});

test('a rerank client whose base URL is off gets a 404 that names the routes, through the AI SDK and cohere-ai too', async () => {
  // baseURL `<server>/v2/rerank` posts to /v2/rerank/rerank; the 404 had no top-level message, so the AI SDK said only "Not Found".
  const cohere = createCohere({ apiKey: 'unused', baseURL: `${server.url}/v2/rerank` });
  await assert.rejects(
    rerank({ model: cohere.reranking('rerank-v3.5'), query: QUERY, documents: DOCS, maxRetries: 0 }),
    (e: Error & { statusCode?: number }) => {
      assert.equal(e.statusCode, 404);
      assert.match(e.message, /no route POST \/v2\/rerank\/rerank; rerank is POST \/v1\/rerank or \/v2\/rerank .*@ai-sdk\/cohere: baseURL <server>\/v2, cohere-ai: environment <server>/, e.message);
      return true;
    },
  );
  // cohere-ai's environment with /v2 posts to /v2/v2/rerank.
  await assert.rejects(new CohereClientV2({ token: 'unused', environment: `${server.url}/v2` }).rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS }), (e: Error & { statusCode?: number }) => {
    assert.equal(e.statusCode, 404);
    assert.match(e.message, /no route POST \/v2\/v2\/rerank; rerank is POST/, e.message);
    return true;
  });
  // Cohere's routes plait does not serve (embed, chat) answer in Cohere's shape, naming what it serves
  // (test/clients-cohere-errors); other unknown routes keep plait's shape (no top-level message).
  const embed = await postJson(`${server.url}/v2/embed`, { texts: ['x'] });
  assert.equal(embed.status, 404);
  assert.deepEqual(Object.keys(embed.body as object).sort(), ['error', 'message']);
  const other = await postJson(`${server.url}/v2/no-such-route`, { texts: ['x'] });
  assert.equal(other.status, 404);
  assert.deepEqual(Object.keys(other.body as object), ['error']);
});

test('raw HTTP: unknown fields are ignored and named, null is absent, a used field of the wrong type is still a 400', async () => {
  const want = await library(QUERY, DOCS);
  const body = { query: QUERY, documents: DOCS, top_n: null, max_chunks_per_doc: null, return_documents: null, truncate_prompt_tokens: 512, truncation_side: 'left', model: 'rerank-english-v3.0' };
  for (const path of ['/v1/rerank', '/v2/rerank']) {
    const r = await postJson(`${server.url}${path}`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.results.map((x: { index: number }) => x.index),
      want.order,
    );
    assert.equal(r.headers.get('x-plait-ignored-fields'), 'truncate_prompt_tokens, truncation_side');
    assert.deepEqual(r.body.meta.warnings, ['ignored unknown field "truncate_prompt_tokens"', 'ignored unknown field "truncation_side"']);
  }
  const bad = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_n: '3' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'INVALID_ARGUMENT');
  const nullQuery = await postJson(`${server.url}/v1/rerank`, { query: null, documents: DOCS });
  assert.equal(nullQuery.status, 400, 'null in a required field is not absent-and-fine');
  // plait's own routes stay strict about unknown fields (a typo there would change the answer).
  const search = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', topk: 3 });
  assert.equal(search.status, 400);
  assert.equal((await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', top_k: null, filter: null })).status, 200);
});

test('TEI: truncate keeps the start (Right) or the end (Left) of a long text; sigmoid scores unless raw_scores', async () => {
  const texts = [LONG, DOCS[0]!];
  const window = sample.encoder.info.documentWindow;
  for (const direction of ['Right', 'Left'] as const) {
    const want = await library(QUERY, texts, { maxTokensPerDocument: window, truncationDirection: direction === 'Left' ? 'left' : 'right' });
    const r = await postJson(`${server.url}/rerank`, { query: QUERY, texts, truncate: true, truncation_direction: direction, raw_scores: true });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.map((x: { index: number }) => x.index),
      want.order,
    );
    assert.ok(Math.abs(r.body.find((x: { index: number }) => x.index === 0).score - want.score.get(0)!) < 1e-4, direction);
  }
  const left = await library(QUERY, texts, { maxTokensPerDocument: window, truncationDirection: 'left' });
  const right = await library(QUERY, texts, { maxTokensPerDocument: window });
  assert.ok(left.score.get(0)! > right.score.get(0)!, 'the end holds the answer');
  const s = await postJson(`${server.url}/rerank`, { query: QUERY, texts });
  for (const x of s.body) assert.ok(x.score > 0 && x.score < 1);
});

test('text the model cannot represent: warnings in the response and a count in /metrics', async () => {
  const r = await postJson(`${server.url}/v1/rerank`, { query: '東京の天気はどうですか', documents: ['今日は晴れです', '株式市場が下落した', 'Bread rises with yeast.'] });
  assert.equal(r.status, 200);
  assert.ok(r.body.meta.warnings.some((w: string) => /content tokens? of the query (?:is|are) unknown to the model/.test(w)), JSON.stringify(r.body.meta));
  assert.ok(r.body.meta.warnings.some((w: string) => /of document 0 (?:is|are) unknown/.test(w)));
  assert.ok(!r.body.meta.warnings.some((w: string) => /document 2/.test(w)), 'an English document is not flagged');
  assert.match(r.headers.get('x-plait-text-warnings')!, /query/);
  const ok = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS });
  assert.equal(ok.body.meta.warnings, undefined, 'no warning for text the model knows');
  // Search: the library's result and the server's response carry the query's warning.
  const lib = await sample.index.search('東京の天気はどうですか');
  assert.equal(lib.warnings?.[0]?.code, 'MOSTLY_UNKNOWN_TOKENS');
  assert.equal((await sample.index.search('bread and yeast')).warnings, undefined);
  const s = await postJson(`${server.url}/v1/indexes/sample/search`, { queries: ['bread and yeast', '東京の天気はどうですか'] });
  assert.equal(s.status, 200);
  assert.equal(s.body.results[0].warnings, undefined);
  assert.deepEqual(
    { ...s.body.results[1].warnings[0], message: undefined },
    { code: 'MOSTLY_UNKNOWN_TOKENS', text: 'query', unknown_tokens: lib.warnings![0]!.unknownTokens, content_tokens: lib.warnings![0]!.contentTokens, message: undefined },
  );
  assert.equal(s.headers.get('x-plait-text-warnings'), 'queries[1]');
  const metrics = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
  const count = (text: string, route = '/v1/rerank'): number => metrics.find((m) => m.name === 'plait_unknown_text_total' && m.labels.text === text && m.labels.route === route)?.value ?? 0;
  assert.equal(count('query'), 1);
  assert.equal(count('document'), 2);
  assert.equal(count('query', '/v1/indexes/:name/search'), 1);
});
