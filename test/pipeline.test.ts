/**
 * Staged pipelines over a small index (tiny ColBERT model) with a tiny cross-encoder: the spec
 * parser, composition against hand-computed oracles, passage choice for the cross stage, and
 * graceful degradation with the circuit breaker (faults injected; no wall-clock assertions).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { CrossEncoder, type CrossScorer } from '../src/rerank/cross-encoder/index.js';
import { CircuitBreaker, SearchPipeline, formatPipeline, localPipelineIndex, parsePipeline, type PipelineStage } from '../src/pipeline/index.js';
import { PlaitError, isPlaitError } from '../src/errors/index.js';
import { indexText } from '../src/indexer/index-text.js';
import { mulberry32 } from '../src/util/random.js';
import { makeTinyColbert, tinyVocab } from '../fixtures/tiny-colbert.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';

const WORDS = tinyVocab().filter((t) => /^[a-z]{3,}$/.test(t));

let root: string;
let index: PlaitIndex;
let cross: CrossEncoder;
let crossDir: string;
const LONG = new Set<string>();

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-pipeline-'));
  const rand = mulberry32(3);
  const pick = (n: number): string => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(' ');
  const docs = Array.from({ length: 80 }, (_, i) => {
    const long = i % 20 === 7;
    if (long) LONG.add(`d${i}`);
    return { _id: `d${i}`, title: i % 3 === 0 ? pick(2) : '', text: pick(long ? 420 : 6 + Math.floor(rand() * 30)) };
  });
  await writeFile(path.join(root, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
  const model = path.join(root, 'colbert');
  await makeTinyColbert(model, { dim: 16 });
  await buildIndex(path.join(root, 'corpus.jsonl'), { index: path.join(root, 'index'), model, encoderOptions: { threads: 0 } });
  index = await openIndex(path.join(root, 'index'), { encoderOptions: { threads: 0 } });
  crossDir = path.join(root, 'cross');
  await makeTinyCrossEncoder(crossDir, { seed: 17 });
  cross = await CrossEncoder.create(crossDir, { threads: 0 });
});

after(async () => {
  await cross?.close();
  await index?.close();
  await rm(root, { recursive: true, force: true });
});

const QUERY = 'protein gene blood cancer study';

describe('spec parser', () => {
  test('the string form parses into typed stages and formats back', () => {
    const stages = parsePipeline(' bm25:1000 >late:200> cross:20@150ms ');
    assert.deepEqual(stages, [
      { stage: 'bm25', depth: 1000 },
      { stage: 'late', depth: 200 },
      { stage: 'cross', depth: 20, budgetMs: 150 },
    ]);
    assert.equal(formatPipeline(stages), 'bm25:1000 > late:200 > cross:20@150ms');
    assert.deepEqual(parsePipeline('hybrid:100>cross:10@0.5s')[1], { stage: 'cross', depth: 10, budgetMs: 500 });
  });

  const bad: Array<[string, number, RegExp]> = [
    ['bm25:1000 > lat:200', 12, /unknown stage "lat"/],
    ['bm25:1000 > ', 12, /spec ends/],
    ['bm25 100', 5, /expected ":"/],
    ['bm25:', 5, /positive integer depth/],
    ['bm25:0', 5, /outside/],
    ['cross:10', 0, /cannot be the first stage/],
    ['bm25:10 > late:20', 10, /above the previous stage's 10/],
    ['bm25:100 > cross:10@fast', 20, /positive budget/],
    ['bm25:100 ; late:10', 9, /expected ">"/],
  ];
  for (const [spec, position, message] of bad) {
    test(`"${spec}" is refused at position ${position + 1}`, () => {
      assert.throws(
        () => parsePipeline(spec),
        (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['position'] === position && message.test(e.message) && e.message.includes(`\n  ${' '.repeat(position)}^`),
      );
    });
  }

  test('typed stages are validated the same way; a cross stage needs a cross-encoder', () => {
    assert.throws(() => new SearchPipeline(index, [{ stage: 'late', depth: 0 }]), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /depth/.test(e.message));
    assert.throws(() => new SearchPipeline(index, [{ stage: 'nope' as 'late', depth: 3 }]), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new SearchPipeline(index, 'late:10 > cross:5'), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /cross-encoder/.test(e.message));
  });
});

describe('composition', () => {
  test('bm25:50 > late:10 equals exact late interaction over BM25\'s top 50, computed by hand', async () => {
    const bm = (await index.search(QUERY, { mode: 'bm25', topK: 50 })).hits;
    assert.ok(bm.length > 10, `BM25 found ${bm.length}`);
    const all = (await index.search(QUERY, { mode: 'late', exhaustive: true, topK: index.manifest.counts.documents })).hits;
    const inBm = new Set(bm.map((h) => h.docId));
    const expected = all.filter((h) => inBm.has(h.docId)).slice(0, 10);
    const r = await new SearchPipeline(index, 'bm25:50 > late:10').run(QUERY);
    assert.deepEqual(r.hits.map((h) => h.docId), expected.map((h) => h.docId));
    r.hits.forEach((h, i) => {
      assert.ok(Math.abs(h.score - expected[i]!.score) < 1e-5);
      assert.equal(h.pid, expected[i]!.pid);
      assert.equal(h.rank, i + 1);
    });
    assert.equal(r.orderedBy, 'late:10');
    assert.equal(r.degraded, null);
    assert.deepEqual(r.stages.map((s) => [s.label, s.candidates, s.returned, s.status]), [
      ['bm25:50', bm.length, bm.length, 'ok'],
      ['late:10', bm.length, 10, 'ok'],
    ]);
    for (const s of r.stages) assert.ok(s.ms >= 0);
  });

  test('late:20 > bm25:5 re-scores by BM25 over the list only', async () => {
    const late = (await index.search(QUERY, { mode: 'late', topK: 20 })).hits;
    const bmAll = new Map(index.docstore.bm25(QUERY, 1000).map((h) => [h.docId, h.score] as const));
    const expected = late
      .map((h, i) => ({ docId: h.docId, score: bmAll.get(h.docId) ?? 0, i }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .slice(0, 5);
    const r = await new SearchPipeline(index, [{ stage: 'late', depth: 20 }, { stage: 'bm25', depth: 5 }]).run(QUERY);
    assert.deepEqual(r.hits.map((h) => [h.docId, h.score]), expected.map((e) => [e.docId, e.score]));
  });

  test('late:20 > cross:5 scores each document\'s best late-interaction passage with the cross-encoder', async () => {
    const q = (await index.search(QUERY, { mode: 'late', exhaustive: true, topK: 80 })).hits;
    // A query that puts a long document (several passages) in the late top 20.
    const longHit = q.slice(0, 20).find((h) => LONG.has(h.docId));
    const late = (await index.search(QUERY, { mode: 'late', topK: 20 })).hits;
    const texts = late.map((h) => {
      const doc = index.docstore.getDocument(h.docId)!;
      const p = index.docstore.getPassages([h.pid])[0]!;
      return indexText(doc.title, doc.text).slice(p.start, p.end);
    });
    const scores = await cross.score(QUERY, texts);
    const expected = late.map((h, i) => ({ h, s: scores[i]!, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, 5);
    const r = await new SearchPipeline(index, 'late:20 > cross:5', { crossEncoder: cross }).run(QUERY, { includeText: true });
    assert.deepEqual(r.hits.map((h) => h.docId), expected.map((e) => e.h.docId));
    assert.deepEqual(r.hits.map((h) => h.pid), expected.map((e) => e.h.pid));
    r.hits.forEach((h, i) => assert.ok(Math.abs(h.score - expected[i]!.s) < 1e-6));
    assert.equal(r.orderedBy, 'cross:5');
    assert.equal(typeof r.hits[0]!.text, 'string');
    assert.ok(longHit !== undefined, 'a long document is among the late top 20');
    const passages = index.docstore.passagesOf(index.docstore.docIdToRowid(longHit.docId)!);
    assert.ok(passages.length > 1, 'a long document has several passages');
    // Its pid in the result (when kept) or in the late list is one of its passages, not necessarily the first.
    assert.ok(passages.some((p) => p.pid === late.find((h) => h.docId === longHit.docId)?.pid) || !late.some((h) => h.docId === longHit.docId));
  });

  test('bm25:20 > cross:5 scores a BM25-only hit by its first passage', async () => {
    const bm = (await index.search(QUERY, { mode: 'bm25', topK: 20 })).hits;
    assert.ok(bm.every((h) => h.pid === -1));
    const first = bm.map((h) => index.docstore.passagesOf(index.docstore.docIdToRowid(h.docId)!)[0]!);
    const texts = bm.map((h, i) => {
      const doc = index.docstore.getDocument(h.docId)!;
      return indexText(doc.title, doc.text).slice(first[i]!.start, first[i]!.end);
    });
    const scores = await cross.score(QUERY, texts);
    const expected = bm.map((h, i) => ({ id: h.docId, pid: first[i]!.pid, s: scores[i]!, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, 5);
    const r = await new SearchPipeline(index, 'bm25:20 > cross:5', { crossEncoder: cross }).run(QUERY);
    assert.deepEqual(r.hits.map((h) => [h.docId, h.pid]), expected.map((e) => [e.id, e.pid]));
  });

  test('late:30 > hybrid:10 fuses exact late and BM25 scores of the list (min-max, α = 0.3), by hand', async () => {
    const late = (await index.search(QUERY, { mode: 'late', topK: 30 })).hits;
    const exact = new Map((await index.rerank(QUERY, late.map((h) => h.docId))).map((h) => [h.docId, h.score] as const));
    const bm = new Map(index.docstore.bm25(QUERY, 1000).map((h) => [h.docId, h.score] as const));
    const ls = late.map((h) => exact.get(h.docId)!);
    const bs = late.map((h) => bm.get(h.docId)).filter((v): v is number => v !== undefined);
    const [lmin, lmax, bmin, bmax] = [Math.min(...ls), Math.max(...ls), Math.min(...bs), Math.max(...bs)];
    const fused = late.map((h, i) => {
      const b = bm.get(h.docId);
      return { docId: h.docId, i, s: 0.3 * ((ls[i]! - lmin) / (lmax - lmin)) + 0.7 * (b === undefined ? 0 : (b - bmin) / (bmax - bmin)) };
    });
    fused.sort((a, b) => b.s - a.s || a.i - b.i);
    const r = await new SearchPipeline(index, 'late:30 > hybrid:10').run(QUERY);
    assert.deepEqual(r.hits.map((h) => h.docId), fused.slice(0, 10).map((f) => f.docId));
    r.hits.forEach((h, i) => assert.ok(Math.abs(h.score - fused[i]!.s) < 1e-9));
  });

  test('hybrid and exhaustive stages run as first and later stages', async () => {
    const r = await new SearchPipeline(index, 'hybrid:30 > exhaustive:10 > hybrid:5').run(QUERY);
    assert.equal(r.hits.length, 5);
    assert.equal(r.orderedBy, 'hybrid:5');
    const first = await new SearchPipeline(index, 'exhaustive:7').run(QUERY);
    const direct = (await index.search(QUERY, { mode: 'late', exhaustive: true, topK: 7 })).hits;
    assert.deepEqual(first.hits.map((h) => h.docId), direct.map((h) => h.docId));
  });
});

/** A cross scorer whose behaviour the test controls. */
class FaultyScorer implements CrossScorer {
  readonly name = 'faulty';
  calls = 0;
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private release: (() => void) | null = null;
  constructor(private readonly inner: CrossScorer) {}
  async score(query: string, documents: readonly string[]): Promise<Float32Array> {
    this.calls++;
    if (this.mode === 'fail') throw new PlaitError('WORKER_FAILED', { message: 'injected failure' });
    if (this.mode === 'hang') await new Promise<void>((r) => (this.release = r));
    return this.inner.score(query, documents);
  }
  unblock(): void {
    this.release?.();
  }
}

describe('cancellation of the late stage', () => {
  test('a late stage passes its signal on: index.rerank takes one, checks it before encoding and refuses a non-signal (it had dropped it)', async () => {
    const bm = (await index.search(QUERY, { mode: 'bm25', topK: 5 })).hits.map((h) => h.docId);
    const encoder = await index.encoder();
    const before = encoder.encodedTexts?.query;
    const aborted = AbortSignal.abort();
    await assert.rejects(index.rerank(QUERY, bm, { signal: aborted }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    await assert.rejects(index.rerank(QUERY, bm, { signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')) }), (e: unknown) => isPlaitError(e, 'TIMEOUT'));
    assert.equal(encoder.encodedTexts?.query, before, 'nothing encoded for a cancelled rerank');
    await assert.rejects(index.rerank(QUERY, bm, { signal: 'stop' as unknown as AbortSignal }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
    // The pipeline's view of a local index forwards the stage's signal.
    await assert.rejects(localPipelineIndex(index).rerank(QUERY, bm, { signal: aborted }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    // Not cancelled: the same hits as without a signal.
    const plain = await index.rerank(QUERY, bm);
    assert.deepEqual(await index.rerank(QUERY, bm, { signal: new AbortController().signal }), plain);
  });
});

describe('degradation and the circuit breaker', () => {
  const spec: PipelineStage[] = [
    { stage: 'late', depth: 20 },
    { stage: 'cross', depth: 5, budgetMs: 50 },
  ];

  test('a failing cross stage degrades to the previous order with degraded: { stage, reason }', async () => {
    const scorer = new FaultyScorer(cross);
    scorer.mode = 'fail';
    const late = (await index.search(QUERY, { mode: 'late', topK: 20 })).hits;
    const r = await new SearchPipeline(index, spec, { crossEncoder: scorer }).run(QUERY);
    assert.deepEqual(r.degraded && { stage: r.degraded.stage, reason: r.degraded.reason, code: r.degraded.code }, { stage: 'cross:5', reason: 'error', code: 'WORKER_FAILED' });
    assert.deepEqual(r.hits.map((h) => [h.docId, h.score]), late.slice(0, 5).map((h) => [h.docId, h.score]));
    assert.equal(r.orderedBy, 'late:20');
    assert.equal(r.stages[1]!.status, 'degraded');
  });

  test('a real model error (onnxruntime failing the run: positions past the graph\'s table) degrades the same way', async () => {
    // (A ColBERT graph served here before; it is now refused when named, MODEL_UNSUPPORTED: cross-encoder-models.test.ts.
    // Then token ids past the graph's vocabulary; those are refused at load now: tokenizer-graph-vocabulary.test.ts.
    // A position table the load check sees is cut to or refused too (position-window.test.ts): this one is hidden behind a node.)
    const dir = path.join(root, 'broken-cross');
    await makeTinyCrossEncoder(dir, { seed: 19, graphPositions: 4, hidePositionTable: true });
    const broken = await CrossEncoder.create(dir, { threads: 0 });
    try {
      const r = await new SearchPipeline(index, spec, { crossEncoder: broken }).run(QUERY);
      assert.equal(r.degraded?.reason, 'error');
      assert.equal(r.degraded?.code, 'ENCODE_FAILED');
      assert.equal(r.hits.length, 5);
    } finally {
      await broken.close();
    }
  });

  test('a stage that hangs past its budget degrades with reason "budget" and counts as slow', async () => {
    const scorer = new FaultyScorer(cross);
    scorer.mode = 'hang';
    const pipeline = new SearchPipeline(index, spec, { crossEncoder: scorer });
    const r = await pipeline.run(QUERY);
    scorer.unblock();
    assert.equal(r.degraded?.reason, 'budget');
    assert.equal(r.degraded?.stage, 'cross:5');
    assert.equal(pipeline.breakerStates().cross?.slow, 1);
  });

  test('failures trip the breaker; while open the stage is skipped without a call; half-open after the cool-down', async () => {
    let clock = 0;
    const states: string[] = [];
    const breaker = new CircuitBreaker({ windowSize: 4, minimumCalls: 2, failureRate: 0.5, coolDownMs: 1000, now: () => clock, onStateChange: (to) => states.push(to) });
    const scorer = new FaultyScorer(cross);
    // No budget here: a loaded machine must not turn the healthy calls into slow ones.
    const unbudgeted: PipelineStage[] = [spec[0]!, { stage: 'cross', depth: 5 }];
    const pipeline = new SearchPipeline(index, unbudgeted, { crossEncoder: scorer, breakers: { cross: breaker } });
    assert.equal((await pipeline.run(QUERY)).degraded, null);
    scorer.mode = 'fail';
    assert.equal((await pipeline.run(QUERY)).degraded?.reason, 'error');
    assert.equal(breaker.state, 'open');
    const callsBefore = scorer.calls;
    const skipped = await pipeline.run(QUERY);
    assert.equal(skipped.degraded?.reason, 'circuit-open');
    assert.equal(scorer.calls, callsBefore, 'an open breaker does not call the model');
    clock += 999;
    assert.equal((await pipeline.run(QUERY)).degraded?.reason, 'circuit-open');
    clock += 1;
    assert.equal(breaker.state, 'half-open');
    // The trial fails: open again for a new cool-down.
    assert.equal((await pipeline.run(QUERY)).degraded?.reason, 'error');
    assert.equal(breaker.state, 'open');
    clock += 1000;
    scorer.mode = 'ok';
    const healed = await pipeline.run(QUERY);
    assert.equal(healed.degraded, null);
    assert.equal(healed.orderedBy, 'cross:5');
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  test('slow calls trip the breaker too', async () => {
    const clock = 0;
    const breaker = new CircuitBreaker({ windowSize: 3, minimumCalls: 3, failureRate: 0.6, coolDownMs: 10, now: () => clock });
    const scorer = new FaultyScorer(cross);
    scorer.mode = 'hang';
    const pipeline = new SearchPipeline(index, [{ stage: 'bm25', depth: 10 }, { stage: 'cross', depth: 3, budgetMs: 5 }], { crossEncoder: scorer, breakers: { cross: breaker } });
    for (let i = 0; i < 2; i++) {
      assert.equal((await pipeline.run(QUERY)).degraded?.reason, 'budget');
      scorer.unblock();
    }
    assert.equal(breaker.state, 'closed');
    assert.equal((await pipeline.run(QUERY)).degraded?.reason, 'budget');
    scorer.unblock();
    assert.equal(breaker.state, 'open');
    assert.equal((await pipeline.run(QUERY)).degraded?.reason, 'circuit-open');
  });

  test('the caller\'s abort is an error, not a degradation; the first stage has nothing to fall back to', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(new SearchPipeline(index, 'bm25:10').run(QUERY, { signal: ac.signal }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    const scorer = new FaultyScorer(cross);
    scorer.mode = 'hang';
    const ac2 = new AbortController();
    const running = new SearchPipeline(index, 'late:10 > cross:3', { crossEncoder: scorer }).run(QUERY, { signal: ac2.signal });
    setImmediate(() => ac2.abort());
    await assert.rejects(running, (e: unknown) => isPlaitError(e, 'ABORTED'));
    scorer.unblock();
  });

  test('a half-open trial cut off by the caller (hang-up, deadline) gives its slot back: the next call is the trial', async () => {
    let clock = 0;
    const breaker = new CircuitBreaker({ windowSize: 2, minimumCalls: 1, failureRate: 1, coolDownMs: 100, now: () => clock });
    breaker.record('failure');
    clock = 100;
    assert.equal(breaker.state, 'half-open');
    const scorer = new FaultyScorer(cross);
    scorer.mode = 'hang';
    const pipeline = new SearchPipeline(index, [{ stage: 'bm25', depth: 10 }, { stage: 'cross', depth: 3 }], { crossEncoder: scorer, breakers: { cross: breaker } });
    for (const reason of [new PlaitError('ABORTED', { message: 'the client closed the connection' }), new PlaitError('TIMEOUT', { message: 'deadline' })]) {
      const ac = new AbortController();
      const callsBefore = scorer.calls;
      const running = pipeline.run(QUERY, { signal: ac.signal });
      while (scorer.calls === callsBefore) await new Promise((r) => setImmediate(r));
      ac.abort(reason);
      await assert.rejects(running, (e: unknown) => isPlaitError(e, reason.code));
      scorer.unblock();
      // Before: the slot stayed taken and every later call was skipped as circuit-open, for ever.
      assert.equal(breaker.state, 'half-open');
    }
    scorer.mode = 'ok';
    const healed = await pipeline.run(QUERY);
    assert.equal(healed.degraded, null, 'the next call was let through as the trial');
    assert.equal(breaker.state, 'closed');
  });
});

describe('circuit breaker alone', () => {
  test('the window slides: old failures age out', () => {
    const b = new CircuitBreaker({ windowSize: 4, minimumCalls: 4, failureRate: 0.5, coolDownMs: 5, now: () => 0 });
    for (const o of ['failure', 'success', 'success', 'success', 'failure', 'success', 'success'] as const) {
      assert.ok(b.tryAcquire());
      b.record(o);
    }
    assert.equal(b.state, 'closed');
    assert.deepEqual({ calls: b.snapshot().calls, failures: b.snapshot().failures }, { calls: 4, failures: 1 });
    b.record('failure');
    assert.equal(b.state, 'open');
    assert.equal(b.tryAcquire(), false);
    assert.equal(b.snapshot().opens, 1);
  });

  test('half-open lets only its trial calls through', () => {
    let t = 0;
    const b = new CircuitBreaker({ windowSize: 2, minimumCalls: 1, failureRate: 1, coolDownMs: 10, halfOpenCalls: 2, now: () => t });
    b.record('failure');
    assert.equal(b.state, 'open');
    t = 10;
    assert.ok(b.tryAcquire());
    assert.ok(b.tryAcquire());
    assert.equal(b.tryAcquire(), false);
    b.record('success');
    assert.equal(b.state, 'half-open');
    b.record('success');
    assert.equal(b.state, 'closed');
  });

  test('permits settle once; a cancelled trial frees its slot; a permit from an earlier half-open period settles nothing', () => {
    let t = 0;
    const b = new CircuitBreaker({ windowSize: 2, minimumCalls: 1, failureRate: 1, coolDownMs: 10, now: () => t });
    b.record('failure');
    t = 10;
    const first = b.acquire()!;
    assert.equal(b.acquire(), null, 'the one trial slot is taken');
    first.settle('cancelled');
    first.settle('failure'); // a second settle is ignored
    assert.equal(b.state, 'half-open');
    const second = b.acquire()!;
    second.settle('failure');
    assert.equal(b.state, 'open');
    t = 20;
    const third = b.acquire()!;
    second.settle('success'); // stale and already settled: no effect
    first.settle('success');
    assert.equal(b.state, 'half-open');
    third.settle('success');
    assert.equal(b.state, 'closed');
    const closed = b.acquire()!;
    closed.settle('cancelled'); // a cancelled call while closed records nothing
    assert.equal(b.snapshot().calls, 0);
  });

  test('options are checked', () => {
    assert.throws(() => new CircuitBreaker({ failureRate: 0 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new CircuitBreaker({ windowSize: 3, minimumCalls: 4 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  });
});
