/**
 * A long encode call does not hold back a short one that arrives after it (trial6): the encoder
 * hands its worker pool one batch per thread at a time, so a query waits for one batch at most.
 * It handed over every batch at once, and the pool serves first come, first served: over HTTP a
 * 64-document write held a search's query encoding for 18.7 s (searches during the write: 18,751,
 * then 399, 93, 430 ms; after the change 979, 948, 1,020, 875 ms, the write 19.3 vs 19.5 s; cisi,
 * one encoder thread, load 3–5 on 2 cores). Bundled model, one encoder thread, batches of 8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEncoder } from '../src/index.js';

test('a query that arrives during a long document encode waits for a batch of it, not for all of it', async () => {
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 1, batchSize: 8 });
  try {
    await encoder.encodeQueries(['warm up']); // the worker's model load is not part of what is measured
    const texts = Array.from({ length: 192 }, (_, i) => Array.from({ length: 50 }, (_, j) => `word${(i * 7 + j) % 97} bread dough`).join(' '));
    const t0 = performance.now();
    let docsMs = 0;
    let queryMs = 0;
    const docs = encoder.encodeDocuments(texts).then((out) => {
      docsMs = performance.now() - t0;
      return out;
    });
    await new Promise((r) => setTimeout(r, 20)); // the first batches are running
    const query = encoder.encodeQueries(['why does bread rise']).then((out) => {
      queryMs = performance.now() - t0;
      return out;
    });
    const [encoded, [q]] = await Promise.all([docs, query]);
    // 24 batches: the query waits for one or two of them, not for nearly all (it finished at 0.93–0.95
    // of the documents' time before the change, at about 0.1 after).
    assert.ok(queryMs < 0.5 * docsMs, `query answered at ${queryMs.toFixed(0)} ms, the documents at ${docsMs.toFixed(0)} ms`);
    assert.equal(encoded.length, texts.length);
    assert.ok(q !== undefined && q.length > 0);
    // Every text still gets its own vectors, in input order: the same as encoding it alone.
    for (const i of [0, 41, 95]) {
      const [alone] = await encoder.encodeDocuments([texts[i]!]);
      assert.deepEqual(encoded[i]!.tokenIds, alone!.tokenIds, `text ${i}`);
      assert.deepEqual(encoded[i]!.vectors, alone!.vectors, `text ${i}`);
    }
  } finally {
    await encoder.close();
  }
});
