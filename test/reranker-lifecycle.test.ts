/**
 * A Reranker as an embedding application holds one: cancelled by a signal, used after close().
 * Its signal had rejected with the DOMException itself (code 20, not a PlaitError) where searches,
 * writes, index.rerank and the cross-encoder answer ABORTED / TIMEOUT, and a closed Reranker answered
 * INVALID_ARGUMENT "encoder is closed" — the caller's argument was fine. Now: ABORTED, TIMEOUT or the
 * signal's own PlaitError reason; CLOSED, naming what to do, for the Reranker and its encoder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PlaitError, Reranker, createEncoder, isPlaitError, resolveModelSpec } from '../src/index.js';

const QUERY = 'why does bread dough rise';
const DOCS = ['The tide rises twice a day.', 'Yeast ferments sugars and the gas makes bread dough rise.', 'Stocks fell after the rate announcement.'];

let reranker: Reranker;

before(async () => {
  reranker = await Reranker.create({ encoderOptions: { threads: 1 }, cacheBytes: 0 });
});

after(async () => {
  await reranker.close();
});

const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof PlaitError, `a PlaitError, not ${String(e)}`);
  assert.equal(e.code, c, e.message);
  return true;
};

test('a signal aborted before the call: ABORTED, TIMEOUT for AbortSignal.timeout, the reason itself when it is a PlaitError', async () => {
  await assert.rejects(reranker.rerank(QUERY, DOCS, { signal: AbortSignal.abort() }), code('ABORTED'));
  await assert.rejects(reranker.rerank(QUERY, DOCS, { signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')) }), code('TIMEOUT'));
  const own = new PlaitError('TIMEOUT', { message: 'the request deadline passed' });
  await assert.rejects(reranker.rerank(QUERY, DOCS, { signal: AbortSignal.abort(own) }), (e: unknown) => e === own);
});

test('a signal aborted while the documents encode: ABORTED, and the reranker answers the next call', async () => {
  const controller = new AbortController();
  // 200 distinct documents of ~60 tokens (no cache): the encoding outlasts the abort below.
  const many = Array.from({ length: 200 }, (_, i) => `${DOCS[i % 3]} ${'flour water salt oven '.repeat(12)} document ${i}`);
  const pending = reranker.rerank(QUERY, many, { signal: controller.signal });
  setTimeout(() => controller.abort(), 30);
  await assert.rejects(pending, code('ABORTED'));
  const ranked = await reranker.rerank(QUERY, DOCS, { signal: new AbortController().signal });
  assert.equal(ranked[0]!.index, 1);
});

test('after close(): CLOSED, saying what to do; close() again is fine; the encoder of a closed owner says CLOSED too', async () => {
  const r = await Reranker.create({ encoderOptions: { threads: 0 } });
  assert.equal((await r.rerank(QUERY, DOCS, { topK: 1 }))[0]!.index, 1);
  await r.close();
  await assert.rejects(r.rerank(QUERY, DOCS), (e: unknown) => isPlaitError(e, 'CLOSED') && /Reranker\.create\(\)/.test(e.message));
  await r.close();
  await assert.rejects(r.encoder.encodeQueries([QUERY]), (e: unknown) => isPlaitError(e, 'CLOSED') && /createEncoder\(\)/.test(e.message));
});

test("a Reranker over the caller's encoder: close() leaves the encoder running and the Reranker closed", async () => {
  const encoder = await createEncoder(await resolveModelSpec(undefined), { threads: 0 });
  try {
    const r = await Reranker.create({ encoder });
    await r.close();
    await assert.rejects(r.rerank(QUERY, DOCS), code('CLOSED'));
    assert.equal((await encoder.encodeQueries([QUERY])).length, 1);
  } finally {
    await encoder.close();
  }
});
