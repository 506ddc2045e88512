/**
 * What the client tests (test/clients-*.test.ts) share: a rerank-only `plait serve` that answers
 * each error a client must surface — 401 (an API key is set), 413 (over maxRerankDocuments), 400,
 * and 503 + Retry-After (a token budget a held large rerank fills, and a 1 s default deadline
 * that leaves a second one no time to wait) — and the library's own ranking to compare with.
 */
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { rerank as aiRerank, type RerankingModel } from 'ai';
import { Reranker, type RerankOptions } from '../../src/index.js';
import { startPlaitServe, type PlaitServe } from './plait-serve.js';
import { distinctDocuments as documents, metricValue } from './server-fixture.js';

export { documents };

export const API_KEY = 'plait-client-test-key-0123456789';
export const QUERY = 'how does yeast make bread rise';
export const DOCS = [
  'The stock market fell sharply on Monday after the bank raised interest rates.',
  'Yeast ferments the sugars in dough and the carbon dioxide it releases makes bread rise.',
  'An airfoil produces lift from the pressure difference between its two surfaces.',
  'Sourdough bread rises with wild yeast and lactic acid bacteria instead of baker\'s yeast.',
  'Glaciers carve valleys as they move slowly downhill under their own weight.',
];

/** `plait serve` with no index (rerank only, the bundled model) and no API key. */
export function startOpenServe(): Promise<PlaitServe> {
  return startPlaitServe([]);
}

/**
 * `plait serve` with API_KEY, a budget of 4,000 estimated document tokens in flight and a 1 s
 * default deadline: with holdTokenBudget's rerank running, a client's rerank is told to retry (503).
 */
export function startStrictServe(): Promise<PlaitServe> {
  return startPlaitServe(['--timeout-ms', '1000', '--max-in-flight-tokens', '4000'], { PLAIT_API_KEY: API_KEY });
}



/**
 * Starts a rerank of ~3,650 estimated tokens (40 × 320 characters, seconds of encoding; its own
 * deadline 120 s) on the strict server and resolves once it holds its admission slot (an event
 * read from /metrics, not a sleep). Await `done` before the next hold (its status: 200).
 */
export async function holdTokenBudget(server: PlaitServe, tag: string): Promise<{ done: Promise<number> }> {
  const done = fetch(`${server.url}/rerank`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ query: 'how does bread rise', texts: documents(tag, 40, 320), timeout_ms: 120_000 }),
  }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });
  while ((await metricValue(server.url, 'plait_admission_in_flight', { authorization: `Bearer ${API_KEY}` })) < 1) await new Promise((r) => setTimeout(r, 5));
  return { done };
}

let reranker: Promise<Reranker> | undefined;

/** The library's ranking on the bundled model (the served one): indexes best first, and scores by index. */
export async function libraryRanking(query: string, docs: string[], options: RerankOptions = {}): Promise<{ order: number[]; score: Map<number, number> }> {
  reranker ??= Reranker.create({ encoderOptions: { threads: 1 } });
  const r = await (await reranker).rerank(query, docs, options);
  return { order: r.map((x) => x.index), score: new Map(r.map((x) => [x.index, x.score])) };
}

/** Closes the reference reranker (a test file's `after`). */
export async function closeLibraryRanking(): Promise<void> {
  if (reranker !== undefined) await (await reranker).close();
  reranker = undefined;
}

/** The content tokens of `query` and `docs` by the bundled model's tokenizer: Jina's usage count (query + documents) for texts within one window. */
export async function libraryTokens(query: string, docs: string[]): Promise<number> {
  reranker ??= Reranker.create({ encoderOptions: { threads: 1 } });
  const encoder = (await reranker).encoder;
  return [query, ...docs].reduce((sum, t) => sum + (t.trim() === '' ? 0 : encoder.tokenize(t).ids.length), 0);
}

/** The bundled model's document window in tokens (a passage's length). */
export async function libraryWindow(): Promise<number> {
  reranker ??= Reranker.create({ encoderOptions: { threads: 1 } });
  return (await reranker).encoder.info.documentWindow;
}

/** What the AI SDK's APICallError carries that these tests read. */
export type AiSdkCallError = Error & { statusCode?: number; responseHeaders?: Record<string, string>; isRetryable?: boolean };

/**
 * One AI SDK rerank provider's error doors against `strict` (startStrictServe): a wrong key is 401, 1,001
 * documents 413, and a request the held token budget cannot take 503 with Retry-After, each an
 * APICallError carrying plait's message (`maxRetries: 0`, so the first answer is the one seen).
 * `model` uses the right key, `wrongKey` the wrong one; `tag` keeps the documents of each caller apart
 * in the reranker's cache.
 */
export async function assertAiSdkErrorDoors(strict: PlaitServe, model: RerankingModel, wrongKey: RerankingModel, tag: string): Promise<void> {
  await assert.rejects(aiRerank({ model: wrongKey, query: QUERY, documents: DOCS, maxRetries: 0 }), (e: AiSdkCallError) => {
    assert.equal(e.statusCode, 401);
    assert.match(e.message, /API key/i);
    return true;
  });
  await assert.rejects(aiRerank({ model, query: QUERY, documents: documents('many', 1001, 20), maxRetries: 0 }), (e: AiSdkCallError) => {
    assert.equal(e.statusCode, 413);
    assert.match(e.message, /1001 items in documents; the limit is 1000/);
    return true;
  });
  const hold = await holdTokenBudget(strict, tag);
  await assert.rejects(aiRerank({ model, query: QUERY, documents: documents(`${tag}-second`, 40, 320), maxRetries: 0 }), (e: AiSdkCallError) => {
    assert.equal(e.statusCode, 503);
    assert.equal(e.isRetryable, true);
    assert.ok(Number(e.responseHeaders?.['retry-after']) >= 1, JSON.stringify(e.responseHeaders));
    assert.match(e.message, /Overloaded: .*try again later/);
    return true;
  });
  assert.equal(await hold.done, 200);
}

/** The two servers a client test file runs against (set once its `before` hook has run). */
export interface ClientServers {
  /** Without an API key or a token budget to speak of: rankings. */
  open: PlaitServe;
  /** With an API key and a small token budget: the error doors (startStrictServe). */
  strict: PlaitServe;
}

/**
 * Registers the file's `before` (both servers started) and `after` (both stopped, the library's
 * reference ranking closed) hooks, and returns the servers they set: every client test file's setup.
 */
export function useClientServers(): ClientServers {
  const servers = {} as ClientServers;
  before(async () => {
    [servers.open, servers.strict] = await Promise.all([startOpenServe(), startStrictServe()]);
  });
  after(async () => {
    await Promise.all([servers.open?.stop(), servers.strict?.stop()]);
    await closeLibraryRanking();
  });
  return servers;
}
