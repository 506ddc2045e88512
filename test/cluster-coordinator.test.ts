/**
 * The coordinator answers pipelines and query rewriting as one server does (issue 24). Staged
 * pipelines on a cluster's coordinator: nats-server, 2 shards (shard 0 with two
 * replicas, shard 1 with one) and a coordinator serving a tiny cross-encoder, over 300 cranfield
 * documents encoded by a tiny generated ColBERT model. The same pipelines through the coordinator's
 * HTTP API and through the library's SearchPipeline on the unsharded index the same build wrote
 * (same codebook) give the same top-10 docIds and scores: exact stages (bm25, exhaustive, late and
 * hybrid re-scoring, query-token IDF, RRF) bit for bit, the cross stage's scores to 1e-5 (the two
 * processes run the cross-encoder with different thread counts), and an ltr stage (a hand-written
 * LambdaMART model over every feature kind) whose feature rows equal the single index's. Query
 * rewriting (spelling against the summed vocabulary, synonyms, RM3; ColBERT-PRF in cluster-prf.test.ts), plain and in a pipeline, gives the
 * single index's rewrites, hits and scores, rewritten once per query. Then a shard lost mid-pipeline
 * (its documents listed by the first stage, its only replica gone when the next stage asks it)
 * skips that stage on time, naming the shard; and a shard missing from the start gives a degraded
 * answer naming it, on time, from the shards that answered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { ClusterIndex } from '../src/cluster/cluster-index.js';
import { isPlaitError } from '../src/errors/index.js';
import { ShardClient } from '../src/cluster/shard-client.js';
import { natsConnect } from '../src/cluster/shard-replica.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import type { ShardInfo } from '../src/cluster/shard-protocol.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { SearchPipeline } from '../src/pipeline/search-pipeline.js';
import type { StageSearchOptions } from '../src/pipeline/stages.js';
import { CrossEncoder } from '../src/rerank/cross-encoder/cross-encoder.js';
import { LTR_MODEL_FORMAT, LtrModel } from '../src/ltr/ltr-model.js';
import { computeFeatures, featureNames } from '../src/ltr/features.js';
import { explainLtr } from '../src/ltr/explain-ltr.js';
import { snakeKeys } from '../src/server/snake-keys.js';
import { handModel, type HandNode } from './helpers/xgboost-model.js';
import { parseSynonyms } from '../src/rewrite/synonyms.js';
import { needsData, needsNatsServer } from './helpers/requirements.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { cranfieldSample, startCoordinator, startReplica, type Replica } from './helpers/cluster.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import type { PlaitServe } from './helpers/plait-serve.js';

const skip = needsData('cranfield') || needsNatsServer();
const DOCS = 300;
const QUERIES = 12;

let dir: string;
let nats: NatsServer;
let whole: PlaitIndex;
let cross: CrossEncoder;
let coordinator: PlaitServe;
let ltrModel: LtrModel;
const LTR_FEATURES = featureNames(['parity']);
const replicas: Replica[] = [];
let queries: string[];

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'plait-cluster-pipeline-'));
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 32 });
  await makeTinyCrossEncoder(join(dir, 'cross'), { seed: 11 });
  const sample = cranfieldSample(DOCS, QUERIES);
  const lines = sample.lines;
  // A metadata field for the ltr model to read.
  const docs = lines.map((l) => {
    const d = JSON.parse(l) as { _id: string };
    return JSON.stringify({ ...d, metadata: { parity: Number(d._id) % 2 } });
  });
  writeFileSync(join(dir, 'corpus.jsonl'), `${docs.join('\n')}\n`);
  // A hand-written model whose splits read ranks, passage position, length and metadata.
  const f = (name: string): number => LTR_FEATURES.indexOf(name);
  const trees: HandNode[] = [
    { f: f('bm25_rank'), t: 5, l: { leaf: 1 }, r: { f: f('late_rank'), t: 8, l: { leaf: 0.5 }, r: { leaf: -0.5 } } },
    { f: f('meta:parity'), t: 0.5, l: { leaf: 0.3 }, r: { leaf: -0.1 } },
    { f: f('best_passage'), t: 0.5, l: { f: f('doc_length'), t: 120, l: { leaf: 0.2 }, r: { leaf: 0.1 } }, r: { leaf: -0.2 } },
  ];
  ltrModel = LtrModel.fromJSON({ format: LTR_MODEL_FORMAT, version: 1, featureSet: 1, features: LTR_FEATURES, candidates: 'bm25:40 > late:20', xgboost: handModel(LTR_FEATURES.length, trees, 0) });
  ltrModel.save(join(dir, 'ltr.json'));
  queries = sample.queries;
  await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'cran'), shards: 2, model, unshardedIndex: join(dir, 'whole'), encoderOptions: { threads: 0 } });
  nats = await startNatsServer();
  cpSync(join(dir, 'cran'), join(dir, 'b', 'cran'), { recursive: true });
  for (const [root, s] of [[dir, 0], [dir, 1], [join(dir, 'b'), 0]] as const) replicas.push(await startReplica(join(root, 'cran', `shard-${s}`), nats.url));
  coordinator = await startCoordinator(join(dir, 'cran'), nats.url, ['--model', model, '--cross-encoder', join(dir, 'cross'), '--ltr-model', join(dir, 'ltr.json')]);
  whole = await openIndex(join(dir, 'whole'));
  cross = await CrossEncoder.create(join(dir, 'cross'), { threads: 0 });
});

after(async () => {
  if (skip !== false) return;
  await coordinator?.stop();
  for (const r of replicas) await r.stop();
  await whole?.close();
  await cross?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface HttpHit {
  doc_id: string;
  score: number;
  title?: string;
  text?: string;
}
interface HttpResult {
  hits: HttpHit[];
  ordered_by: string;
  degraded: { stage: string; reason: string; code?: string } | null;
  missing_shards?: number[];
  stages: { label: string; status: string }[];
  rewrites?: { kind: string; from: string; to: string }[];
}

async function search(body: Record<string, unknown>): Promise<{ status: number; results: HttpResult[]; error?: { code: string; message: string }; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${coordinator.url}/v1/indexes/cran/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { results: HttpResult[]; error?: { code: string; message: string } };
  return { status: res.status, results: json.results, ...(json.error === undefined ? {} : { error: json.error }), ms: performance.now() - t };
}

const CASES: { name: string; pipeline: string; search: StageSearchOptions; cross?: boolean; ltr?: boolean }[] = [
  { name: 'bm25 > late > ltr', pipeline: 'bm25:40 > late:20 > ltr:10', search: {}, ltr: true },
  { name: 'bm25 > late', pipeline: 'bm25:50 > late:10', search: {} },
  { name: 'bm25 > late (query-token IDF) > bm25', pipeline: 'bm25:60 > late:30 > bm25:10', search: { idfWeighting: true } },
  { name: 'exhaustive > hybrid (RRF)', pipeline: 'exhaustive:40 > hybrid:10', search: { fusion: 'rrf' } },
  { name: 'bm25 > hybrid (min-max, IDF) > cross', pipeline: 'bm25:40 > hybrid:20 > cross:10', search: { idfWeighting: true }, cross: true },
];

for (const c of CASES) {
  test(`coordinator pipeline = SearchPipeline on one index: ${c.name}`, { skip }, async () => {
    const body: Record<string, unknown> = {
      queries,
      pipeline: c.pipeline,
      include_text: true,
      ...(c.search.idfWeighting === undefined ? {} : { idf_weighting: c.search.idfWeighting }),
      ...(c.search.fusion === undefined ? {} : { fusion: c.search.fusion }),
    };
    const { status, results, error } = await search(body);
    assert.equal(status, 200, JSON.stringify(error));
    const pipeline = new SearchPipeline(whole, c.pipeline, { search: c.search, ...(c.cross === true ? { crossEncoder: cross } : {}), ...(c.ltr === true ? { ltrModel } : {}) });
    let nonEmpty = 0;
    for (let i = 0; i < queries.length; i++) {
      const single = await pipeline.run(queries[i]!, { includeText: true });
      const got = results[i]!;
      assert.equal(got.degraded, null, `query ${i}: ${JSON.stringify(got.degraded)}`);
      assert.equal(got.missing_shards, undefined);
      assert.equal(got.ordered_by, single.orderedBy);
      assert.deepEqual(got.hits.map((h) => h.doc_id), single.hits.map((h) => h.docId), `query ${i}: ${queries[i]}`);
      if (c.cross === true) got.hits.forEach((h, k) => assert.ok(Math.abs(h.score - single.hits[k]!.score) <= 1e-5, `query ${i} hit ${k}: ${h.score} vs ${single.hits[k]!.score}`));
      else assert.deepEqual(got.hits.map((h) => h.score), single.hits.map((h) => h.score), `query ${i} scores`);
      // includeText: the documents come from their shards.
      assert.deepEqual(got.hits.map((h) => h.text), single.hits.map((h) => h.text));
      if (got.hits.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty >= queries.length - 1, `${nonEmpty} of ${queries.length} queries found something`);
    // Both shards took part (the merged list is not one shard's).
    const shards = new Set(results.flatMap((r) => r.hits.map((h) => shardOf(h.doc_id, 2))));
    assert.deepEqual([...shards].sort(), [0, 1]);
  });
}

test('a coordinator reports stage times: the slowest shard\'s late and BM25 times, its own fusion', { skip }, async () => {
  const res = await fetch(`${coordinator.url}/v1/indexes/cran/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: queries[0], mode: 'hybrid' }) });
  assert.equal(res.status, 200);
  const t = ((await res.json()) as { results: { timings: Record<string, number> }[] }).results[0]!.timings;
  assert.ok(t !== undefined, 'timings answered');
  // They were all 0 but total_ms (new user's trial).
  assert.ok(t.late_ms! > 0 && t.bm25_ms! > 0 && t.fusion_ms! > 0, JSON.stringify(t));
  assert.ok(t.late_ms! <= t.total_ms! && t.bm25_ms! <= t.total_ms!, JSON.stringify(t));
});

test('pipeline errors stay 400s on a coordinator', { skip }, async () => {
  const bad = await search({ query: queries[0], pipeline: 'bm25:10 > nope:3' });
  assert.equal(bad.status, 400);
  const unknown = await search({ query: queries[0], pipeline: 'bm25:10 > cross:3', cross_encoder: 'nope' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.error?.code, 'INVALID_ARGUMENT');
  const filtered = await search({ query: queries[0], pipeline: 'bm25:10 > late:3', filter: { a: 1 } });
  assert.equal(filtered.status, 400);
});

/** An exact late side where there is one: bm25 mode takes no `exhaustive` (refused, search/option-scope.ts). */
function exhaustiveIn(mode: 'bm25' | 'hybrid'): { exhaustive?: true } {
  return mode === 'bm25' ? {} : { exhaustive: true };
}

/** Each query with one typo: its longest word of 6+ letters less its third letter. */
function withTypos(qs: readonly string[]): string[] {
  return qs.map((q) => {
    const word = [...q.split(' ')].filter((w) => /^[a-z]{6,}$/.test(w)).sort((a, b) => b.length - a.length)[0];
    return word === undefined ? q : q.replace(word, word.slice(0, 2) + word.slice(3));
  });
}

const SYNONYMS = ['flow, stream', 'boundary layer => viscous region', 'heat, thermal'];

async function tokenizeRequests(): Promise<number> {
  const text = await (await fetch(`${coordinator.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('plait_cluster_shard_request_seconds_count{') && l.includes('verb="tokenize"'))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

for (const mode of ['bm25', 'hybrid'] as const) {
  test(`query rewriting on the coordinator = one index: spelling and synonyms, ${mode}`, { skip }, async () => {
    const typed = withTypos(queries);
    const rewrite = { spelling: true, synonyms: SYNONYMS };
    const { status, results, error } = await search({ queries: typed, mode, ...exhaustiveIn(mode), top_k: 10, rewrite });
    assert.equal(status, 200, JSON.stringify(error));
    const synonyms = parseSynonyms(SYNONYMS.join('\n'));
    let corrected = 0;
    let synonymed = 0;
    for (let i = 0; i < typed.length; i++) {
      const single = await whole.search(typed[i]!, { mode, ...exhaustiveIn(mode), topK: 10, rewrite: { spelling: true, synonyms } });
      const got = results[i]!;
      assert.deepEqual(got.rewrites ?? [], single.rewrites ?? [], `query ${i}: ${typed[i]}`);
      assert.deepEqual(got.hits.map((h) => h.doc_id), single.hits.map((h) => h.docId), `query ${i}: ${typed[i]}`);
      assert.deepEqual(got.hits.map((h) => h.score), single.hits.map((h) => h.score), `query ${i} scores`);
      corrected += (single.rewrites ?? []).filter((r) => r.kind === 'spelling').length;
      synonymed += (single.rewrites ?? []).filter((r) => r.kind === 'synonym').length;
    }
    assert.ok(corrected >= typed.length / 2, `${corrected} corrections`);
    assert.ok(synonymed >= 2, `${synonymed} synonym rewrites`);
  });
}

test('spelling reads the whole corpus\'s vocabulary: a word only shard 1 holds corrects a typo of it', { skip }, async () => {
  const vocab = whole.docstore.wordVocabulary();
  const candidates = vocab.words.map((w, i) => ({ w, df: vocab.df[i]! })).filter((c) => /^[a-z]{7,9}$/.test(c.w) && c.df >= 3).sort((a, b) => b.df - a.df);
  let checked = 0;
  for (const { w } of candidates) {
    const holders = (await whole.search(w, { mode: 'bm25', topK: 100 })).hits;
    if (holders.length === 0 || holders.some((h) => shardOf(h.docId, 2) !== 1)) continue;
    // Capitalised, with a diacritic: the coordinator reports the word as typed, as one index does (it reported the folding).
    const typo = `${w[0]!.toUpperCase()}${w[1] === 'e' ? 'é' : w[1]}${w.slice(3)}`;
    const single = await whole.search(typo, { mode: 'bm25', topK: 10, rewrite: { spelling: true } });
    if (!(single.rewrites ?? []).some((r) => r.kind === 'spelling' && r.to === w)) continue;
    const { status, results } = await search({ query: typo, mode: 'bm25', top_k: 10, rewrite: { spelling: true } });
    assert.equal(status, 200);
    assert.deepEqual(results[0]!.rewrites, single.rewrites, `${typo} → ${w}`);
    assert.equal(results[0]!.rewrites![0]!.from, typo);
    assert.deepEqual(results[0]!.hits.map((h) => [h.doc_id, h.score]), single.hits.map((h) => [h.docId, h.score]));
    if (++checked === 3) break;
  }
  assert.ok(checked >= 1, 'found a shard-1-only word that the single index corrects a typo to');
});

test('a rewrite is computed once per query (one tokenisation when nothing needs a second); in a pipeline too', { skip }, async () => {
  // Correctly spelled queries: the rewriter needs no second tokenisation of corrected words.
  const before = await tokenizeRequests();
  const plain = await search({ queries: queries.slice(0, 5), mode: 'hybrid', exhaustive: true, rewrite: { spelling: true } });
  assert.equal(plain.status, 200);
  assert.equal((await tokenizeRequests()) - before, 5);

  const typed = withTypos(queries).slice(0, 6);
  const { status, results, error } = await search({ queries: typed, pipeline: 'bm25:30 > late:10', rewrite: { spelling: true, synonyms: SYNONYMS } });
  assert.equal(status, 200, JSON.stringify(error));
  const synonyms = parseSynonyms(SYNONYMS.join('\n'));
  const pipeline = new SearchPipeline(whole, 'bm25:30 > late:10', { search: { rewrite: { spelling: true, synonyms } } });
  for (let i = 0; i < typed.length; i++) {
    const single = await pipeline.run(typed[i]!);
    assert.deepEqual(results[i]!.rewrites ?? [], single.rewrites ?? []);
    assert.deepEqual(results[i]!.hits.map((h) => [h.doc_id, h.score]), single.hits.map((h) => [h.docId, h.score]), typed[i]);
  }
});

test('RM3 on the coordinator = one index: feedback from the cluster\'s BM25, term counts from the shards (bm25, hybrid, the rm3 stage)', { skip }, async () => {
  for (const mode of ['bm25', 'hybrid'] as const) {
    const { status, results, error } = await search({ queries, mode, ...exhaustiveIn(mode), top_k: 10, rewrite: { rm3: true, spelling: true } });
    assert.equal(status, 200, JSON.stringify(error));
    for (let i = 0; i < queries.length; i++) {
      const single = await whole.search(queries[i]!, { mode, ...exhaustiveIn(mode), topK: 10, rewrite: { rm3: true, spelling: true } });
      assert.equal(single.rewrites?.at(-1)?.kind, 'rm3');
      assert.deepEqual(results[i]!.rewrites, single.rewrites, `${mode} query ${i}`);
      assert.deepEqual(results[i]!.hits.map((h) => [h.doc_id, h.score]), single.hits.map((h) => [h.docId, h.score]), `${mode} query ${i}`);
    }
  }
  const piped = await search({ queries: queries.slice(0, 4), pipeline: 'rm3:20 > late:10' });
  assert.equal(piped.status, 200);
  const pipeline = new SearchPipeline(whole, 'rm3:20 > late:10');
  for (let i = 0; i < 4; i++) {
    const single = await pipeline.run(queries[i]!);
    assert.deepEqual(piped.results[i]!.rewrites, single.rewrites);
    assert.deepEqual(piped.results[i]!.hits.map((h) => [h.doc_id, h.score]), single.hits.map((h) => [h.docId, h.score]));
  }
});

test('an ltr explanation on the coordinator equals explainLtr on one index: features, contributions, bias, score, rank', { skip }, async () => {
  // Before: 400 INVALID_ARGUMENT ("ltr explanations need the index itself; … a cluster's coordinator").
  const explain = async (body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${coordinator.url}/v1/indexes/cran/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  for (const q of queries.slice(0, 2)) {
    const ranked = (await new SearchPipeline(whole, 'bm25:40 > late:20 > ltr:10', { ltrModel }).run(q)).hits;
    // A document of each shard among the model's candidates, and one outside them (BM25 rank 50: past bm25:40).
    const ids = [0, 1].map((s) => ranked.find((h) => shardOf(h.docId, 2) === s)!.docId);
    ids.push((await whole.search(q, { mode: 'bm25', topK: 50 })).hits[49]!.docId);
    for (const id of ids) {
      const r = await explain({ query: q, doc_id: id, ltr: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const want = JSON.parse(JSON.stringify(snakeKeys(await explainLtr(whole, ltrModel, q, id)))) as Record<string, unknown>;
      assert.deepEqual(r.body, want, `${q} / ${id}`);
    }
    assert.equal((await explain({ query: q, doc_id: ids[2]!, ltr: true })).body.in_candidates, false);
  }
  const missing = await explain({ query: queries[0]!, doc_id: 'no-such-document', ltr: true });
  assert.equal(missing.status, 404);
  assert.equal((missing.body.error as { code: string }).code, 'DOCUMENT_NOT_FOUND');
});

test('a shard lost mid-pipeline: the stage that needs it is skipped on time, the shard named', { skip }, async () => {
  // An in-process coordinator over the same NATS: learn both shards while they live.
  const nc = await natsConnect(nats.url, 'plait-test-pipeline');
  try {
    const client = new ShardClient(nc, clusterSubjects('cran'), 2, null);
    const infos = await Promise.all([0, 1].map((s) => client.request<ShardInfo>(s, 'info', {}, Date.now() + 10_000)));
    const cluster = new ClusterIndex('cran', client, infos.map((o) => (o.ok ? o.value : assert.fail(`shard ${o.shard} did not answer`))), { encoder: await whole.encoder() });
    const query = queries[0]!;
    // Whole: both shards' documents re-scored.
    const live = await new SearchPipeline(cluster.pipelineIndex({ deadlineAt: Date.now() + 20_000 }), 'bm25:30 > late:10').run(query);
    const oneIndex = await new SearchPipeline(whole, 'bm25:30 > late:10').run(query);
    assert.deepEqual(live.hits.map((h) => [h.docId, h.score]), oneIndex.hits.map((h) => [h.docId, h.score]));
    assert.equal(live.degraded, null);
    // A misspelt option is refused by name, as on one index, before anything is sent to a shard.
    assert.throws(() => cluster.resolveSearch({ topk: 3 } as never), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown search option "topk" \(did you mean "topK"\?\)/.test((e as Error).message));
    // So is an option the mode would ignore (search/option-scope.ts), as on one index; a pipeline's
    // setting that no stage reads is refused (pipeline/pipeline-settings.ts: its late stage only re-scores),
    // one that a stage reads is passed to it.
    assert.throws(() => cluster.resolveSearch({ mode: 'bm25', nIvfProbe: 4 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /nIvfProbe does not apply to mode: "bm25"/.test((e as Error).message));
    assert.throws(
      () => new SearchPipeline(cluster.pipelineIndex({ deadlineAt: Date.now() + 20_000 }), 'bm25:30 > late:10', { search: { nIvfProbe: 4, alpha: 0.3 } }),
      (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /nIvfProbe, alpha reach no stage of the pipeline "bm25:30 > late:10"/.test((e as Error).message),
    );
    const tuned = await new SearchPipeline(cluster.pipelineIndex({ deadlineAt: Date.now() + 20_000 }), 'bm25:30 > late:10', { search: { idfWeighting: cluster.manifest.model.idfWeighting } }).run(query);
    assert.deepEqual(tuned.hits.map((h) => h.docId), live.hits.map((h) => h.docId));
    await assert.rejects(cluster.searchEncodedBatch([query], [], { mode: 'bm25', minSequence: [] } as never), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown search option "minSequence" \(did you mean "minSequences"\?\)/.test((e as Error).message));
    // The ltr features, every one computed here (no stage left signals): the single index's, row for row.
    const everyFeature = featureNames(['parity'], true);
    for (const q of queries.slice(0, 4)) {
      const list = (await whole.search(q, { mode: 'bm25', topK: 25 })).hits.map((h) => ({ docId: h.docId }));
      const got = await computeFeatures(cluster.pipelineIndex({ deadlineAt: Date.now() + 20_000 }), q, list, everyFeature);
      const want = await computeFeatures(whole, q, list, everyFeature);
      assert.deepEqual(Array.from(got), Array.from(want), q);
      assert.ok(Array.from(want).some((v, k) => k % everyFeature.length === everyFeature.indexOf('best_passage') && v > 0), 'some best passage is not the first');
    }

    const shard1 = replicas.find((r) => r.shard === 1)!;
    await shard1.kill();
    replicas.splice(replicas.indexOf(shard1), 1);
    // The first stage lists documents of both shards (as it would have just before the replica died).
    const budgetMs = 2500;
    const base = cluster.pipelineIndex({ deadlineAt: Date.now() + budgetMs });
    const index = { ...base, search: whole.search.bind(whole) };
    const t = performance.now();
    const r = await new SearchPipeline(index, 'bm25:30 > late:10').run(query);
    const ms = performance.now() - t;
    assert.ok(ms < budgetMs + 1000, `answered in ${ms.toFixed(0)} ms, deadline ${budgetMs} ms`);
    assert.equal(r.degraded?.stage, 'late:10');
    assert.equal(r.degraded?.reason, 'error');
    assert.equal(r.degraded?.code, 'CLUSTER_UNAVAILABLE');
    assert.deepEqual(r.missingShards, [1]);
    assert.equal(r.orderedBy, 'bm25:30');
    const bm25 = await whole.search(query, { mode: 'bm25', topK: 10 });
    assert.deepEqual(r.hits.map((h) => h.docId), bm25.hits.map((h) => h.docId), 'the first stage\'s order stands');
    await cluster.close();
  } finally {
    await nc.drain().catch(() => nc.close());
  }
});

test('a shard missing from the start: degraded answers naming it, on time, from the shards that answered', { skip }, async () => {
  assert.equal(replicas.filter((r) => r.shard === 1).length, 0, 'shard 1 has no replica (the test before killed it)');
  const t = performance.now();
  const { status, results, ms } = await search({ query: queries[1], pipeline: 'bm25:30 > late:10', idf_weighting: false, timeout_ms: 3000 });
  assert.equal(status, 200);
  assert.ok(ms < 3000 + 1000, `answered in ${(performance.now() - t).toFixed(0)} ms`);
  const r = results[0]!;
  assert.deepEqual(r.missing_shards, [1]);
  assert.equal(r.degraded?.reason, 'shards-missing');
  assert.equal(r.degraded?.stage, 'bm25:30');
  assert.ok(r.hits.length > 0);
  for (const h of r.hits) assert.equal(shardOf(h.doc_id, 2), 0);
  // The late stage ran on shard 0's documents (without IDF, which needs every shard's token dfs): their scores are the whole index's.
  const exact = await whole.rerank(queries[1]!, r.hits.map((h) => h.doc_id), { idfWeighting: false });
  const byId = new Map(exact.map((h) => [h.docId, h.score]));
  for (const h of r.hits) assert.equal(h.score, byId.get(h.doc_id));
});

test('the summed vocabulary follows writes: a word added through the coordinator corrects a typo once its shard committed it', { skip }, async () => {
  // Shard 1 has no replica now (the tests above): the new documents go to shard 0.
  const ids = Array.from({ length: 40 }, (_, i) => `zorb-${i}`).filter((id) => shardOf(id, 2) === 0).slice(0, 2);
  assert.equal(ids.length, 2);
  const query = 'zorblaxan wing';
  // 20 s: the rewrite's statistics round, which also waits for the shard to apply the write
  // (min_sequences), gets a quarter of it (statsBudgetShare twice); with 3 s that was 750 ms, which
  // a loaded machine's replica once overran, and the rewrite then kept the old vocabulary.
  const body = { query, mode: 'bm25', rewrite: { spelling: true }, timeout_ms: 20_000 };
  const before = await search(body);
  assert.equal(before.status, 200);
  assert.ok(!(before.results[0]!.rewrites ?? []).some((r) => r.kind === 'spelling' && r.to === 'zorblaxian'), 'no such word yet');
  const listed = async (): Promise<{ documents: number; generation: string }> => {
    const r = (await (await fetch(`${coordinator.url}/v1/indexes/cran`)).json()) as { generation: string; manifest: { counts: { documents: number } } };
    return { documents: r.manifest.counts.documents, generation: r.generation };
  };
  const listedBefore = await listed();
  const res = await fetch(`${coordinator.url}/v1/indexes/cran/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ documents: ids.map((id) => ({ doc_id: id, title: 'zorblaxian flow', text: 'the zorblaxian wing at high speed' })) }),
  });
  assert.equal(res.status, 200);
  const { sequences } = (await res.json()) as { sequences: { shard: number; sequence: number }[] };
  const after = await search({ ...body, min_sequences: sequences });
  assert.equal(after.status, 200);
  // The message names what the answer said of its shards (this failed once in a full run at load ~10, cause not found).
  const said = JSON.stringify({ degraded: after.results[0]!.degraded, missing_shards: after.results[0]!.missing_shards, hits: after.results[0]!.hits.map((h) => h.doc_id), ms: after.ms });
  assert.deepEqual((after.results[0]!.rewrites ?? []).filter((r) => r.kind === 'spelling'), [{ kind: 'spelling', from: 'zorblaxan', to: 'zorblaxian' }], said);
  assert.ok(after.results[0]!.hits.some((h) => ids.includes(h.doc_id)));
  // The coordinator's listing follows the shards' commits (its refresh tick asks their info): it
  // used to show the counts and generation of its start for ever.
  let listedAfter = await listed();
  for (const until = Date.now() + 15_000; listedAfter.documents !== listedBefore.documents + 2 && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 200));
    listedAfter = await listed();
  }
  assert.equal(listedAfter.documents, listedBefore.documents + 2);
  assert.notEqual(listedAfter.generation, listedBefore.generation);
});
