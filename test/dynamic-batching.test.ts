/**
 * Token-budgeted dynamic batching (issue 23): concurrent encode calls made while one runs are merged
 * into the next call, up to the token budget, each caller getting its own rows back; a lone call
 * goes at once; a bad text fails only its own request. Checked on a recording stand-in encoder
 * (the grouping is the oracle) and on a real tiny ColBERT (vectors equal to unbatched encoding).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { DynamicBatchingEncoder } from '../src/encoder/dynamic-batching.js';
import { isPlaitError } from '../src/errors/index.js';
import type { EncodeOptions, Encoder, ModelInfo, TextKind, TokenEmbeddings } from '../src/encoder/types.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-dynbatch-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * An encoder whose calls are recorded and finish when the test says so (`finish`: every call
 * running; `finishOne`: the oldest running); row i of text "tN" is [N]. `batchShape`: what it says
 * of its batching (DynamicBatchingEncoder sizes its chunks to it).
 */
function recordingEncoder(batchShape?: { batchSize: number; lanes: number }): {
  encoder: Encoder;
  calls: { kind: TextKind; texts: string[] }[];
  signals: (AbortSignal | undefined)[];
  finish: () => void;
  finishOne: () => void;
  running: () => number;
} {
  const calls: { kind: TextKind; texts: string[] }[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  const waiting: (() => void)[] = [];
  const info = { name: 'rec', family: 'colbert-onnx', dim: 1, queryMaxlen: 32, documentWindow: 100 } as ModelInfo;
  const run = (texts: string[], kind: TextKind): Promise<TokenEmbeddings[]> => {
    calls.push({ kind, texts });
    if (texts.includes('boom')) return Promise.reject(new Error('backend failed'));
    return new Promise((resolve) =>
      waiting.push(() => resolve(texts.map((t) => ({ vectors: Float32Array.of(Number(t.slice(1))), tokenIds: Int32Array.of(0), length: 1 })))),
    );
  };
  const encoder = {
    info,
    ...(batchShape === undefined ? {} : { batchShape }),
    spec: { family: 'use-lite' },
    encodeQueries: (t: string[], o?: EncodeOptions) => (signals.push(o?.signal), run(t, 'query')),
    encodeDocuments: (t: string[], o?: EncodeOptions) => (signals.push(o?.signal), run(t, 'document')),
    tokenize: () => ({ ids: new Int32Array(0), offsets: new Int32Array(0) }),
    rows: () => [],
    tokenText: () => '',
    close: async () => {},
  } as Encoder;
  return { encoder, calls, signals, finish: () => waiting.splice(0).forEach((f) => f()), finishOne: () => waiting.shift()!(), running: () => waiting.length };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a lone call goes at once; calls made while it runs go together in the next call, each getting its own rows', async () => {
  const rec = recordingEncoder();
  const b = new DynamicBatchingEncoder(rec.encoder);
  const first = b.encodeQueries(['t1']);
  await tick();
  assert.deepEqual(rec.calls, [{ kind: 'query', texts: ['t1'] }]);
  const later = [b.encodeQueries(['t2', 't3']), b.encodeQueries(['t4']), b.encodeQueries(['t5'])];
  const docs = b.encodeDocuments(['t9']);
  await tick();
  // Documents have their own lane: nothing of that kind was running.
  assert.deepEqual(rec.calls.map((c) => c.texts), [['t1'], ['t9']]);
  rec.finish();
  assert.deepEqual((await first).map((e) => e.vectors[0]), [1]);
  await tick();
  assert.deepEqual(rec.calls.map((c) => c.texts), [['t1'], ['t9'], ['t2', 't3', 't4', 't5']]);
  rec.finish();
  const [a, c, d] = await Promise.all(later);
  assert.deepEqual([a!.map((e) => e.vectors[0]), c!.map((e) => e.vectors[0]), d!.map((e) => e.vectors[0])], [[2, 3], [4], [5]]);
  assert.deepEqual((await docs).map((e) => e.vectors[0]), [9]);
  assert.deepEqual(b.calls, { query: 2, document: 1 });
});

test('the token budget splits the waiting calls (32 rows per query: a budget of 64 takes two queries per call)', async () => {
  const rec = recordingEncoder();
  const b = new DynamicBatchingEncoder(rec.encoder, { maxBatchTokens: 64 });
  const all = ['t0', 't1', 't2', 't3', 't4'].map((t) => b.encodeQueries([t]));
  for (let i = 0; i < 4; i++) {
    await tick();
    rec.finish();
  }
  await Promise.all(all);
  assert.deepEqual(rec.calls.map((c) => c.texts), [['t0'], ['t1', 't2'], ['t3', 't4']]);
  // One request above the budget goes in chunks of the budget, answered in its own order.
  rec.calls.length = 0;
  const big = b.encodeQueries(['t1', 't2', 't3']);
  await tick();
  rec.finish();
  await tick();
  rec.finish();
  assert.deepEqual((await big).map((e) => e.vectors[0]), [1, 2, 3]);
  assert.deepEqual(rec.calls.map((c) => c.texts), [['t1', 't2'], ['t3']]);
  // A text above the budget still goes, alone.
  const long = b.encodeDocuments(['t4 '.repeat(100)]);
  await tick();
  rec.finish();
  assert.equal((await long).length, 1);
  assert.throws(() => new DynamicBatchingEncoder(rec.encoder, { maxBatchTokens: 0 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
});

test('a bad text fails its own request only; a backend failure fails its batch and the lane goes on', async () => {
  const rec = recordingEncoder();
  const b = new DynamicBatchingEncoder(rec.encoder);
  const running = b.encodeQueries(['t1']);
  await assert.rejects(b.encodeQueries(['t2', '']), (e) => isPlaitError(e, 'EMPTY_TEXT'));
  const failing = [b.encodeQueries(['boom']), b.encodeQueries(['t3'])];
  await tick();
  rec.finish();
  await running;
  for (const f of failing) await assert.rejects(f, /backend failed/);
  const after = b.encodeQueries(['t7']);
  await tick();
  rec.finish();
  assert.deepEqual((await after).map((e) => e.vectors[0]), [7]);
});

test('on a real ColBERT encoder, concurrent queries and documents get the vectors they get alone, in fewer calls', async () => {
  const dir = path.join(root, 'tiny');
  await makeTinyColbert(dir, {});
  const inner = await createEncoder({ family: 'colbert-onnx', dir }, { threads: 1 });
  const b = new DynamicBatchingEncoder(inner);
  try {
    const queries = ['hello world', 'late interaction retrieval', 'protein gene', 'search engine index', 'the quick brown fox', 'blood cells'];
    const docs = ['the quick brown fox jumps over the lazy dog', 'a library of books', 'heat flow in a wing at high pressure'];
    const alone = [...(await Promise.all(queries.map((q) => inner.encodeQueries([q])))), ...(await Promise.all(docs.map((d) => inner.encodeDocuments([d]))))].map((r) => r[0]!);
    const batched = [...(await Promise.all(queries.map((q) => b.encodeQueries([q])))), ...(await Promise.all(docs.map((d) => b.encodeDocuments([d]))))].map((r) => r[0]!);
    assert.ok(b.calls.query < queries.length && b.calls.document < docs.length, JSON.stringify(b.calls));
    batched.forEach((e, i) => {
      assert.deepEqual(Array.from(e.tokenIds), Array.from(alone[i]!.tokenIds));
      for (let k = 0; k < e.vectors.length; k++) assert.ok(Math.abs(e.vectors[k]! - alone[i]!.vectors[k]!) < 1e-5, `text ${i}`);
    });
  } finally {
    await b.close();
  }
});

test('a cancelled call leaves the queue and rejects at once; the merged call it shares is cancelled only when every call in it is', async () => {
  const rec = recordingEncoder();
  const b = new DynamicBatchingEncoder(rec.encoder);
  const running = b.encodeDocuments(['t1']);
  await tick();
  // Queued behind the running call: one is cancelled there and never reaches the encoder.
  const gone = new AbortController();
  const queuedGone = b.encodeDocuments(['t2'], { signal: gone.signal });
  const a = new AbortController();
  const c = new AbortController();
  const both = [b.encodeDocuments(['t3'], { signal: a.signal }), b.encodeDocuments(['t4'], { signal: c.signal })];
  gone.abort();
  await assert.rejects(queuedGone, (e: unknown) => isPlaitError(e, 'ABORTED'));
  rec.finish();
  assert.deepEqual((await running).map((e) => e.vectors[0]), [1]);
  await tick();
  assert.deepEqual(rec.calls.map((x) => x.texts), [['t1'], ['t3', 't4']]);
  assert.equal(rec.signals[0], undefined, 'a call without a signal passes none');
  const merged = rec.signals[1]!;
  // One of two cancelled: that call rejects at once, the run goes on for the other.
  a.abort();
  await assert.rejects(both[0]!, (e: unknown) => isPlaitError(e, 'ABORTED'));
  assert.equal(merged.aborted, false);
  c.abort();
  assert.equal(merged.aborted, true, 'every call of the run was cancelled: the run is');
  await assert.rejects(both[1]!, (e: unknown) => isPlaitError(e, 'ABORTED'));
  rec.finish();
  // A signal aborted before the call: rejected at once, nothing queued.
  await assert.rejects(b.encodeDocuments(['t5'], { signal: AbortSignal.abort() }), (e: unknown) => isPlaitError(e, 'ABORTED'));
  await tick();
  assert.equal(rec.calls.length, 2);
});

/** `n` document texts "tK" (K from `first`), each `len` characters long (padded with spaces, which the fake ignores). */
const docs = (first: number, n: number, len = 8): string[] => Array.from({ length: n }, (_, i) => `t${first + i}`.padEnd(len));
const values = (out: TokenEmbeddings[]): number[] => out.map((e) => e.vectors[0]!);
const texts = (calls: { texts: string[] }[]): string[][] => calls.map((c) => c.texts.map((t) => t.trim()));

test('a call larger than the inner batch goes in chunks of the inner batch size, in length order, answered in its own order', async () => {
  const rec = recordingEncoder({ batchSize: 4, lanes: 1 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  // Lengths 8 except t2 and t5 (20 characters): the inner encoder batches shortest first, so do the chunks.
  const input = docs(0, 10).map((t, i) => (i === 2 || i === 5 ? t.padEnd(20) : t));
  const call = b.encodeDocuments(input);
  for (let i = 0; i < 3; i++) {
    await tick();
    assert.equal(rec.running(), 1, 'one chunk at a time on a one-lane encoder');
    rec.finishOne();
  }
  assert.deepEqual(values(await call), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(texts(rec.calls), [['t0', 't1', 't3', 't4'], ['t6', 't7', 't8', 't9'], ['t2', 't5']]);
  assert.equal(b.calls.document, 3);
});

test('a small call made while a large one runs goes in the next chunk, and is answered before the large one', async () => {
  const rec = recordingEncoder({ batchSize: 4, lanes: 1 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  let largeDone = false;
  const large = b.encodeDocuments(docs(0, 12)).then((out) => ((largeDone = true), out));
  await tick();
  assert.deepEqual(texts(rec.calls), [['t0', 't1', 't2', 't3']]);
  const small = b.encodeDocuments(docs(50, 3));
  await tick();
  assert.equal(rec.calls.length, 1, 'the small call waits for the chunk running');
  rec.finishOne();
  await tick();
  // Before: the whole large call ran as one inner call, and the small one waited for all of it.
  assert.deepEqual(texts(rec.calls)[1], ['t50', 't51', 't52'], 'the next chunk is the small call');
  rec.finishOne();
  assert.deepEqual(values(await small), [50, 51, 52]);
  assert.equal(largeDone, false);
  for (let i = 0; i < 2; i++) {
    await tick();
    rec.finishOne();
  }
  assert.deepEqual(values(await large), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(texts(rec.calls).slice(2), [['t4', 't5', 't6', 't7'], ['t8', 't9', 't10', 't11']]);
});

test('a stream of small calls cannot starve a large one: it leads every second chunk, and small calls that wait share a chunk', async () => {
  const rec = recordingEncoder({ batchSize: 4, lanes: 1 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  const large = b.encodeDocuments(docs(0, 16));
  const smalls: Promise<TokenEmbeddings[]>[] = [];
  // A new 1-document call arrives while each chunk runs.
  for (let i = 0; i < 6; i++) {
    await tick();
    smalls.push(b.encodeDocuments(docs(100 + i, 1)));
    rec.finishOne();
  }
  await tick();
  while (rec.running() > 0) {
    rec.finishOne();
    await tick();
  }
  assert.deepEqual(values(await large), Array.from({ length: 16 }, (_, i) => i));
  assert.deepEqual((await Promise.all(smalls)).map(values), smalls.map((_, i) => [100 + i]));
  assert.deepEqual(texts(rec.calls), [
    ['t0', 't1', 't2', 't3'],
    ['t100'],
    ['t4', 't5', 't6', 't7'],
    ['t101', 't102'],
    ['t8', 't9', 't10', 't11'],
    ['t103', 't104'],
    ['t12', 't13', 't14', 't15'],
    ['t105'],
  ]);
});

test('with two inner lanes, a lone large call runs two chunks at once (the batches it got unchunked); queries keep their own lanes', async () => {
  const rec = recordingEncoder({ batchSize: 4, lanes: 2 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  const large = b.encodeDocuments(docs(0, 10));
  await tick();
  assert.deepEqual(texts(rec.calls), [['t0', 't1', 't2', 't3'], ['t4', 't5', 't6', 't7']]);
  const query = b.encodeQueries(['t70']);
  await tick();
  assert.deepEqual(texts(rec.calls)[2], ['t70'], 'a lone query pays no wait');
  rec.finish();
  assert.deepEqual(values(await query), [70]);
  await tick();
  assert.deepEqual(texts(rec.calls)[3], ['t8', 't9']);
  rec.finish();
  assert.deepEqual(values(await large), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a cancelled large call rejects at once and its chunks stop; a chunk it shares is cancelled only with every call in it', async () => {
  const rec = recordingEncoder({ batchSize: 4, lanes: 1 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  const ac = new AbortController();
  const large = b.encodeDocuments(docs(0, 12), { signal: ac.signal });
  await tick();
  const small = b.encodeDocuments(docs(50, 1));
  ac.abort();
  await assert.rejects(large, (e: unknown) => isPlaitError(e, 'ABORTED'));
  assert.equal(rec.signals[0]!.aborted, true, 'the chunk running held only the cancelled call');
  rec.finishOne();
  await tick();
  rec.finishOne();
  assert.deepEqual(values(await small), [50]);
  await tick();
  assert.deepEqual(texts(rec.calls), [['t0', 't1', 't2', 't3'], ['t50']], 'no chunk of the cancelled call ran after it');
  // A chunk holding the rest of a large call and a small one: cancelling one of them cancels nothing.
  const a1 = new AbortController();
  const a2 = new AbortController();
  const running = b.encodeDocuments(docs(20, 4));
  await tick();
  const shared = [b.encodeDocuments(docs(30, 2), { signal: a1.signal }), b.encodeDocuments(docs(40, 2), { signal: a2.signal })];
  rec.finishOne();
  await running;
  await tick();
  assert.deepEqual(texts(rec.calls)[3], ['t30', 't31', 't40', 't41']);
  const merged = rec.signals[3]!;
  a1.abort();
  await assert.rejects(shared[0]!, (e: unknown) => isPlaitError(e, 'ABORTED'));
  assert.equal(merged.aborted, false);
  a2.abort();
  assert.equal(merged.aborted, true);
  await assert.rejects(shared[1]!, (e: unknown) => isPlaitError(e, 'ABORTED'));
  rec.finish();
});

test('a failed chunk fails the calls in it only, and their other chunks do not run', async () => {
  const rec = recordingEncoder({ batchSize: 2, lanes: 1 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  const first = b.encodeDocuments(['t9']);
  await tick();
  const failing = b.encodeDocuments(['boom', 't100', 't101', 't102']);
  const other = b.encodeDocuments(['t5']);
  rec.finishOne();
  assert.deepEqual(values(await first), [9]);
  await tick();
  // The call with fewer texts left leads: the other one, then the failing one's first chunk.
  rec.finishOne();
  assert.deepEqual(values(await other), [5]);
  await assert.rejects(failing, /backend failed/);
  const after = b.encodeDocuments(['t6']);
  await tick();
  rec.finishOne();
  assert.deepEqual(values(await after), [6], 'the lane goes on');
  assert.deepEqual(texts(rec.calls), [['t9'], ['t5'], ['boom', 't100'], ['t6']], 'the failed call\'s second chunk never ran');
});

test('with two lanes, a small call made behind two large ones goes alone in the first lane freed, not padded with their texts; the large ones go first come, first served', async () => {
  const rec = recordingEncoder({ batchSize: 4, lanes: 2 });
  const b = new DynamicBatchingEncoder(rec.encoder);
  const done: string[] = [];
  const l1 = b.encodeDocuments(docs(0, 6)).then((o) => (done.push('l1'), o));
  const l2 = b.encodeDocuments(docs(10, 6)).then((o) => (done.push('l2'), o));
  const small = b.encodeDocuments(docs(50, 1)).then((o) => (done.push('small'), o));
  await tick();
  // The first large call's two chunks take both lanes (as its two batches did unchunked).
  assert.deepEqual(texts(rec.calls), [['t0', 't1', 't2', 't3'], ['t4', 't5']]);
  rec.finishOne();
  await tick();
  assert.deepEqual(texts(rec.calls)[2], ['t50'], 'the small call leads alone: the second large call does not fit whole');
  while (rec.running() > 0) {
    rec.finishOne();
    await tick();
  }
  await Promise.all([l1, l2, small]);
  assert.deepEqual(texts(rec.calls).slice(3), [['t10', 't11', 't12', 't13'], ['t14', 't15']]);
  // Running chunks finished oldest first: the first large call's second chunk, then the small one's, before any of the second large call's.
  assert.deepEqual(done, ['l1', 'small', 'l2']);
});
