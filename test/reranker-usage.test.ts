/**
 * Reranker.rerankWithUsage: the tokens one rerank read (the servers' Jina/Together `usage`), with
 * hand-computed answers on the bundled model (window 128 tokens, stride 96: BUILD_DEFAULTS
 * splitStrideFraction 0.75). "word " × 700 is 700 tokens, split into windows starting at 0, 96, …,
 * 480 and a last one anchored to the end, [572, 700): 7 windows of 128, 896 tokens.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Reranker } from '../src/index.js';

let reranker: Reranker;
const QUERY = 'how does yeast make bread rise';
const LONG = 'word '.repeat(700);
const SHORT = 'Yeast ferments the sugars in dough.';

before(async () => {
  reranker = await Reranker.create({ encoderOptions: { threads: 0 }, cacheBytes: 1 << 20 });
});
after(async () => {
  await reranker?.close();
});

test('usage: query and document content tokens; a long document\'s overlapping windows each counted; the bounds apply; an empty document 0', async () => {
  assert.equal(reranker.encoder.info.documentWindow, 128);
  const q = reranker.encoder.tokenize(QUERY).ids.length;
  const s = reranker.encoder.tokenize(SHORT).ids.length;
  assert.equal(reranker.encoder.tokenize(LONG).ids.length, 700);
  const { results, usage } = await reranker.rerankWithUsage(QUERY, [LONG, SHORT, '']);
  assert.deepEqual(usage, { queryTokens: q, documentTokens: 7 * 128 + s });
  assert.deepEqual(results, await reranker.rerank(QUERY, [LONG, SHORT, '']), 'rerank answers the same results');
  // Served from the cache now: counted the same.
  assert.deepEqual((await reranker.rerankWithUsage(QUERY, [LONG, SHORT, ''])).usage, usage);
  assert.equal((await reranker.rerankWithUsage(QUERY, [LONG, SHORT], { maxPassagesPerDocument: 2 })).usage.documentTokens, 2 * 128 + s);
  assert.equal((await reranker.rerankWithUsage(QUERY, [LONG, SHORT], { maxTokensPerDocument: 10, truncationDirection: 'left' })).usage.documentTokens, 10 + Math.min(10, s));
  assert.deepEqual((await reranker.rerankWithUsage(QUERY, [])).usage, { queryTokens: 0, documentTokens: 0 });
});
