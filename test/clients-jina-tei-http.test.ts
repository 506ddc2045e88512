/**
 * Jina's and TEI's rerank APIs as their references write them, sent with plain `fetch` (neither
 * ships a JavaScript client that takes a base URL: LlamaIndex.TS's JinaAIReranker, llamaindex ≤
 * 0.9, posts to api.jina.ai only; LangChain.js has no Jina reranker) against the real
 * `plait serve`:
 *  - Jina (POST /v1/rerank): `model`, `query`, `documents` as strings or `{text}`, `top_n`,
 *    `return_documents`; the answer's `model`, `usage.total_tokens` (absent before: a Jina client
 *    reading it got undefined; then an estimate from the texts' length: now the tokens the model
 *    read, query + documents), `results[].index`, `relevance_score`, `document.text`;
 *  - TEI (POST /rerank): `raw_scores`, `return_text`, `truncate`, `truncation_direction`; the
 *    answer, an array of `{index, score, text}`;
 *  - errors on both: 401, 413 (TEI: 422), 503 (TEI: 429) with Retry-After, 400, each with plait's message; TEI's in
 *    TEI's ErrorResponse shape (`error` a string, `error_type`; test/server-tei-errors.test.ts has
 *    every status byte for byte).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sigmoid } from '../src/server/routes/rerank.js';
import { postJson } from './helpers/server-fixture.js';
import { API_KEY, DOCS, documents, holdTokenBudget, libraryRanking, libraryTokens, libraryWindow, QUERY, useClientServers } from './helpers/client-doors.js';

const servers = useClientServers();

interface JinaAnswer {
  model: string;
  usage: { total_tokens: number; prompt_tokens: number };
  results: { index: number; relevance_score: number; document?: { text: string } }[];
}

test('Jina: documents as strings with top_n and return_documents, the answer\'s model, usage.total_tokens and document.text', async () => {
  const want = await libraryRanking(QUERY, DOCS);
  const r = await postJson(`${servers.open.url}/v1/rerank`, { model: 'jina-reranker-v2-base-multilingual', query: QUERY, documents: DOCS, top_n: 3, return_documents: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const body = r.body as JinaAnswer;
  assert.deepEqual(
    body.results.map((x) => x.index),
    want.order.slice(0, 3),
  );
  for (const x of body.results) {
    assert.equal(x.document!.text, DOCS[x.index]);
    assert.ok(Math.abs(x.relevance_score - want.score.get(x.index)!) < 1e-4);
  }
  assert.equal(typeof body.model, 'string');
  // The tokens the model read, query + documents as Jina counts them: the tokenizer's count, not
  // the texts' length / 3.5 that it had been (here 7 + 101 = 108 tokens; the estimate said 127).
  assert.equal(body.usage.total_tokens, await libraryTokens(QUERY, DOCS), JSON.stringify(body.usage));
  assert.equal(body.usage.prompt_tokens, body.usage.total_tokens);
  // More text, more tokens: the count follows the request.
  const moreDocs = [...DOCS, ...DOCS.map((d) => `${d} ${d}`)];
  const more = (await postJson(`${servers.open.url}/v1/rerank`, { model: 'jina-reranker-v2-base-multilingual', query: QUERY, documents: moreDocs })).body as JinaAnswer;
  assert.equal(more.usage.total_tokens, await libraryTokens(QUERY, moreDocs));
});

test('usage counts what was scored: a long document\'s passages (overlaps in each), max_chunks_per_doc, max_tokens_per_doc; a second, cached call counts the same', async () => {
  const long = 'word '.repeat(700);
  const queryTokens = await libraryTokens(QUERY, []);
  assert.equal(await libraryTokens('', [long]), 700, 'one token a word');
  const window = await libraryWindow();
  const usage = async (path: string, extra: Record<string, unknown>) => {
    const r = await postJson(`${servers.open.url}${path}`, { model: 'rerank-v3.5', query: QUERY, documents: [long, DOCS[0]], ...extra });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body as JinaAnswer).usage.total_tokens;
  };
  const short = (await libraryTokens('', [DOCS[0]!]));
  // Passages overlap (stride 3/4 of the window): the long document's passages hold more than its 700 tokens.
  const whole = await usage('/v1/rerank', {});
  assert.ok(whole > queryTokens + 700 + short, `${whole}`);
  assert.equal(await usage('/v1/rerank', {}), whole, 'served from the cache, counted the same');
  assert.equal(await usage('/v1/rerank', { max_chunks_per_doc: 1 }), queryTokens + window + short);
  assert.equal(await usage('/v2/rerank', { max_tokens_per_doc: 10 }), queryTokens + 10 + 10);
});

test('Cohere v2 cuts each document to 4,096 tokens when max_tokens_per_doc is left out (Cohere v2\'s default), v1 scores it whole', async () => {
  // A 4,400-token document: v2 had scored all of it (no cut), past what Cohere v2 reads.
  const long = 'word '.repeat(4400);
  const read = async (path: string, extra: Record<string, unknown>) => {
    const r = await postJson(`${servers.open.url}${path}`, { model: 'rerank-v3.5', query: QUERY, documents: [long], ...extra });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body as JinaAnswer).usage.total_tokens;
  };
  const cut = await read('/v2/rerank', {});
  assert.equal(cut, await read('/v2/rerank', { max_tokens_per_doc: 4096 }));
  assert.ok(cut < (await read('/v1/rerank', {})), 'v1 reads the whole document');
  assert.ok(cut < (await read('/v2/rerank', { max_tokens_per_doc: 5000 })), 'a larger max_tokens_per_doc reads more');
});

test('Jina: documents as {text} objects, return_documents false', async () => {
  const want = await libraryRanking(QUERY, DOCS);
  const r = await postJson(`${servers.open.url}/v1/rerank`, { model: 'jina-reranker-v3', query: QUERY, documents: DOCS.map((text) => ({ text })), return_documents: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const body = r.body as JinaAnswer;
  assert.deepEqual(
    body.results.map((x) => x.index),
    want.order,
  );
  assert.ok(body.results.every((x) => x.document === undefined));
  assert.ok(body.usage.total_tokens > 0);
});

test('Jina: without return_documents the answer carries each document as {text} (Jina\'s default), top_n past the count returns all; a Cohere model keeps Cohere\'s default (none)', async () => {
  const want = await libraryRanking(QUERY, DOCS);
  // Jina's reference request (jina.ai/reranker): model, query, documents, top_n; no return_documents.
  const r = await postJson(`${servers.open.url}/v1/rerank`, { model: 'jina-reranker-v2-base-multilingual', query: QUERY, documents: DOCS, top_n: DOCS.length + 5 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const body = r.body as JinaAnswer;
  assert.deepEqual(
    body.results.map((x) => x.index),
    want.order,
  );
  // plait had left the documents out (Cohere's default on the shared path): a Jina client reading document.text got undefined.
  for (const x of body.results) assert.deepEqual(x.document, { text: DOCS[x.index] });
  // Objects come back as sent; return_documents false still leaves them out.
  const objects = (await postJson(`${servers.open.url}/v1/rerank`, { model: 'jina-colbert-v2', query: QUERY, documents: DOCS.map((text) => ({ text })) })).body as JinaAnswer;
  for (const x of objects.results) assert.deepEqual(x.document, { text: DOCS[x.index] });
  const none = (await postJson(`${servers.open.url}/v1/rerank`, { model: 'jina-reranker-v3', query: QUERY, documents: DOCS, return_documents: false })).body as JinaAnswer;
  assert.ok(none.results.every((x) => x.document === undefined));
  // Cohere's v1 default stays: no documents unless asked.
  const cohere = (await postJson(`${servers.open.url}/v1/rerank`, { model: 'rerank-english-v3.0', query: QUERY, documents: DOCS })).body as JinaAnswer;
  assert.ok(cohere.results.every((x) => x.document === undefined));
});

test('TEI: raw_scores, return_text, truncate, truncation_direction as its reference sends them', async () => {
  const want = await libraryRanking(QUERY, DOCS);
  const r = await postJson(`${servers.open.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: false, return_text: true, truncate: false, truncation_direction: 'Right' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const ranks = r.body as { index: number; score: number; text: string }[];
  assert.deepEqual(
    ranks.map((x) => x.index),
    want.order,
  );
  for (const x of ranks) {
    assert.equal(x.text, DOCS[x.index]);
    assert.ok(Math.abs(x.score - sigmoid(want.score.get(x.index)!)) < 1e-5);
  }
  const raw = await postJson(`${servers.open.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true, truncate: true, truncation_direction: 'Left' });
  assert.equal(raw.status, 200);
  for (const x of raw.body as { index: number; score: number; text?: string }[]) {
    assert.equal(x.text, undefined);
    assert.ok(Math.abs(x.score - want.score.get(x.index)!) < 1e-4, 'short texts: the cut changes nothing');
  }
});

test('errors on Jina\'s and TEI\'s routes: 401, too many (413; TEI 422), empty (400) and shed (503; TEI 429) with Retry-After, each with plait\'s message', async () => {
  const auth = { authorization: `Bearer ${API_KEY}` };
  for (const [path, field] of [['/v1/rerank', 'documents'], ['/rerank', 'texts']] as const) {
    const unauthorized = await postJson(`${servers.strict.url}${path}`, { query: QUERY, [field]: DOCS }, { authorization: 'Bearer wrong' });
    assert.equal(unauthorized.status, 401);
    assert.match(unauthorized.body.message, /API key/i);
    const tooMany = await postJson(`${servers.strict.url}${path}`, { query: QUERY, [field]: documents('many', 1001, 20) }, auth);
    // TEI answers too many texts 422 Validation (plait's 413 elsewhere).
    assert.equal(tooMany.status, path === '/rerank' ? 422 : 413);
    assert.match(tooMany.body.message, new RegExp(`1001 items in ${field}; the limit is 1000`));
    // TEI scores an empty query (test/server-tei-errors.test.ts) and refuses an empty batch; Cohere's route refuses the empty query.
    const empty = await postJson(`${servers.strict.url}${path}`, path === '/rerank' ? { query: QUERY, texts: [] } : { query: '', documents: DOCS }, auth);
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, path === '/rerank' ? /`texts` cannot be empty/ : /query is empty/);
    const hold = await holdTokenBudget(servers.strict, `hold${path}`);
    const overloaded = await postJson(`${servers.strict.url}${path}`, { query: QUERY, [field]: documents(`second${path}`, 40, 320) }, auth);
    // TEI answers a shed request 429 (plait had answered 503 there too); Cohere's and Jina's route keep 503, which their clients retry.
    assert.equal(overloaded.status, path === '/rerank' ? 429 : 503, JSON.stringify(overloaded.body));
    assert.ok(Number(overloaded.headers.get('retry-after')) >= 1);
    assert.match(overloaded.body.message, /Overloaded: .*try again later/);
    assert.equal(await hold.done, 200);
    // TEI's route answers TEI's ErrorResponse: `error` the message as a string (a client's
    // `body.error.includes(…)` had met an object), `error_type` TEI's kind; plait's status and code kept.
    if (path === '/rerank') {
      for (const [r, type, code] of [[unauthorized, 'Validation', 'UNAUTHORIZED'], [tooMany, 'Validation', 'QUERY_TOO_LARGE'], [empty, 'Empty', 'EMPTY_TEXT'], [overloaded, 'Overloaded', 'OVERLOADED']] as const) {
        assert.equal(typeof r.body.error, 'string', JSON.stringify(r.body));
        assert.ok((r.body.error as string).includes(r.body.message), JSON.stringify(r.body));
        assert.deepEqual([r.body.error_type, r.body.code, r.body.request_id], [type, code, r.headers.get('x-request-id')]);
      }
    }
  }
});
