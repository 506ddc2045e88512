/**
 * A small rerank beside a large one waits for the chunk running, not for two (lane-11): the
 * Reranker encoded the query, and only then handed its documents to the encoder, so behind a large
 * rerank's document chunks the query waited for the chunk running and its documents for the chunk
 * the large call started meanwhile. It now hands both over at once (the query first).
 *
 * The encoder under the DynamicBatchingEncoder is a stand-in with one worker that runs what it is
 * handed in order, as the worker pool does (util/onnx-pool.ts), each run finishing when the test
 * says so: no sleeps, the order of runs is the oracle. A last test checks on the real bundled model
 * that a rerank made beside a large one answers what it answers alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicBatchingEncoder } from '../src/encoder/dynamic-batching.js';
import type { EncodeOptions, Encoder, ModelInfo, TextKind, TokenEmbeddings } from '../src/encoder/types.js';
import { PlaitError, isPlaitError } from '../src/errors/index.js';
import { Reranker, createEncoder } from '../src/index.js';

interface Run {
  kind: TextKind;
  texts: string[];
  signal: AbortSignal | undefined;
  resolve: (out: TokenEmbeddings[]) => void;
  reject: (err: unknown) => void;
}

/**
 * One worker, first come first served; `finish()` completes the run in progress and starts the next
 * (a run whose signal aborted while queued is rejected unrun, as the real encoder stops between
 * batches). `started`: "kind:texts" of every run begun. A query containing "boom" fails; tokenizing
 * "bad" throws. Text "xN…" embeds as one row [N mod 7 + 1, 1].
 */
function oneWorkerEncoder(): { encoder: Encoder; started: string[]; finish: () => void; runningSignal: () => AbortSignal | undefined } {
  const queue: Run[] = [];
  let running: Run | null = null;
  const started: string[] = [];
  const embed = (t: string): TokenEmbeddings => ({ vectors: Float32Array.of(((t.charCodeAt(1) || 0) % 7) + 1, 1), tokenIds: Int32Array.of(5), length: 1 });
  const next = (): void => {
    while (running === null && queue.length > 0) {
      const run = queue.shift()!;
      if (run.signal?.aborted === true) {
        run.reject(new PlaitError('ABORTED', { message: 'cancelled before it ran' }));
        continue;
      }
      running = run;
      started.push(`${run.kind}:${run.texts.join(',')}`);
    }
  };
  const submit = (texts: string[], kind: TextKind, o?: EncodeOptions): Promise<TokenEmbeddings[]> =>
    new Promise((resolve, reject) => {
      queue.push({ kind, texts, signal: o?.signal, resolve, reject });
      next();
    });
  const finish = (): void => {
    const run = running!;
    running = null;
    if (run.kind === 'query' && run.texts.some((t) => t.includes('boom'))) run.reject(new PlaitError('ENCODE_FAILED', { message: 'the query failed' }));
    else run.resolve(run.texts.map(embed));
    next();
  };
  const info = { name: 'one-worker', family: 'colbert-onnx', dim: 2, queryMaxlen: 4, documentWindow: 100 } as ModelInfo;
  const encoder: Encoder = {
    info,
    spec: { family: 'use-lite' },
    batchShape: { batchSize: 2, lanes: 1 },
    encodeQueries: (t, o) => submit(t, 'query', o),
    encodeDocuments: (t, o) => submit(t, 'document', o),
    tokenize: (text) => {
      if (text === 'bad') throw new PlaitError('TEXT_NOT_UTF8', { message: 'bad text' });
      return { ids: Int32Array.of(5), offsets: Int32Array.of(0, text.length) };
    },
    rows: () => [],
    tokenText: () => '',
    close: async () => {},
  };
  return { encoder, started, finish, runningSignal: () => running?.signal };
}

/** Lets every promise reaction and callback pending run (no time passes for the stand-in encoder). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

test('a small rerank made while a large one encodes its documents is answered after the chunk running, its query and its documents: no second chunk of the large one', async () => {
  const w = oneWorkerEncoder();
  const reranker = await Reranker.create({ encoder: new DynamicBatchingEncoder(w.encoder), cacheBytes: 0 });
  let largeDone = false;
  const large = reranker.rerank('large query', ['x0', 'x1', 'x2', 'x3', 'x4', 'x5']).then((r) => ((largeDone = true), r));
  await settle();
  w.finish(); // the large query; its first chunk (2 documents, the stand-in's batch) starts
  await settle();
  assert.deepEqual(w.started, ['query:large query', 'document:x0,x1']);
  let smallDone = false;
  const small = reranker.rerank('small query', ['x9']).then((r) => ((smallDone = true), r));
  await settle();
  w.finish(); // the large call's first chunk
  await settle();
  w.finish(); // the small query
  await settle();
  // Before: the small documents were handed over only now, and the large call's second chunk (x2,x3) ran first.
  assert.deepEqual(w.started, ['query:large query', 'document:x0,x1', 'query:small query', 'document:x9']);
  w.finish(); // the small documents
  await settle();
  assert.equal(smallDone, true, `the small rerank waited beyond one chunk; runs: ${w.started.join(' | ')}`);
  assert.equal(largeDone, false);
  // Hand-computed: query 'small query' embeds as [5, 1], document 'x9' as [2, 1].
  assert.deepEqual(await small, [{ index: 0, score: 5 * 2 + 1 }]);
  while (!largeDone) {
    w.finish();
    await settle();
  }
  assert.deepEqual(w.started.slice(4), ['document:x2,x3', 'document:x4,x5']);
  // Query [7, 1]; documents x0..x5 [7, 1], [1, 1], [2, 1], … [5, 1].
  assert.deepEqual(
    (await large).map((r) => [r.index, r.score]),
    [[0, 50], [5, 36], [4, 29], [3, 22], [2, 15], [1, 8]],
  );
});

test("a query that fails is the rerank's error, and its documents' encoding is stopped", async () => {
  const w = oneWorkerEncoder();
  const reranker = await Reranker.create({ encoder: new DynamicBatchingEncoder(w.encoder), cacheBytes: 0 });
  const failed = reranker.rerank('boom', ['x1', 'x2', 'x3']);
  failed.catch(() => {});
  await settle();
  assert.deepEqual(w.started, ['query:boom'], 'the documents wait behind the query');
  w.finish(); // the query fails; the worker takes the documents' first chunk
  await assert.rejects(failed, (e: unknown) => isPlaitError(e) && e.code === 'ENCODE_FAILED');
  await settle();
  assert.equal(w.runningSignal()?.aborted, true, 'the running document chunk is told to stop');
  w.finish();
  await settle();
  assert.deepEqual(w.started, ['query:boom', 'document:x1,x2'], 'the second document chunk was not run');
  // A document that cannot be tokenized beside a failing query: the query's error, as when the query went first.
  const both = reranker.rerank('boom again', ['bad']);
  both.catch(() => {});
  await settle();
  w.finish();
  await assert.rejects(both, (e: unknown) => isPlaitError(e) && e.code === 'ENCODE_FAILED');
  // A bad document with a good query is still the document's error.
  const doc = reranker.rerank('fine', ['bad']);
  doc.catch(() => {});
  await settle();
  w.finish();
  await assert.rejects(doc, (e: unknown) => isPlaitError(e) && e.code === 'TEXT_NOT_UTF8');
});

test('a cancelled rerank rejects with ABORTED whether its query or its documents were running', async () => {
  const w = oneWorkerEncoder();
  const reranker = await Reranker.create({ encoder: new DynamicBatchingEncoder(w.encoder), cacheBytes: 0 });
  const controller = new AbortController();
  const run = reranker.rerank('query', ['x1', 'x2', 'x3'], { signal: controller.signal });
  run.catch(() => {});
  await settle();
  w.finish(); // the query; the first document chunk runs
  await settle();
  controller.abort();
  await assert.rejects(run, (e: unknown) => isPlaitError(e) && e.code === 'ABORTED');
  w.finish();
  await settle();
  assert.deepEqual(w.started, ['query:query', 'document:x1,x2'], 'the second chunk was not run');
});

test('on the bundled model, a rerank made beside a large one answers the scores, order and usage it answers alone', async () => {
  const encoder = new DynamicBatchingEncoder(await createEncoder({ family: 'use-lite' }, { threads: 1, batchSize: 8 }));
  const reranker = await Reranker.create({ encoder, cacheBytes: 0 });
  try {
    const query = 'why does bread rise';
    const docs = ['Yeast ferments sugar and the gas makes dough rise.', 'Stock markets fell on Tuesday.', 'Baking soda releases carbon dioxide when heated.'];
    const alone = await reranker.rerankWithUsage(query, docs);
    const largeDocs = Array.from({ length: 40 }, (_, i) => `document ${i} about flour water salt and an oven at ${200 + i} degrees`);
    const largeAlone = await reranker.rerankWithUsage('how is bread baked', largeDocs);
    const [large, beside] = await Promise.all([reranker.rerankWithUsage('how is bread baked', largeDocs), reranker.rerankWithUsage(query, docs)]);
    assert.deepEqual(beside, alone);
    assert.deepEqual(large, largeAlone);
  } finally {
    await reranker.close();
    await encoder.close();
  }
});
