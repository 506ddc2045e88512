/**
 * ColBERT-PRF on a cluster's coordinator (issue 24): nats-server, 2 shards with one replica each and
 * a coordinator as child processes, over 240 cranfield documents encoded by a tiny generated ColBERT
 * model; the unsharded index the same build wrote (same codebook) is the oracle. The coordinator's
 * `rewrite.prf` runs a first late pass on the shards, has the feedback passages' codes counted on
 * their shards, sums the shards' IVF cell sizes (fetched once per shard commit) and chooses the
 * expansion with colbert-prf.ts's own code; the shards append the chosen centroids from the shared
 * codebook. Equal to one index: rewrites, top-10 docIds and scores, in late and hybrid modes, with
 * and without query-token IDF, and in a `prf` pipeline stage. An explanation with `rewrite`
 * (spelling, synonyms, RM3, applied at the coordinator) equals one index's. Then a shard missing
 * from the first pass or from the second, or answering without the expansion (a replica predating
 * PRF), gives a degraded answer naming it, on time; the cell sizes are fetched again only for a
 * shard whose commit changed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { ClusterIndex } from '../src/cluster/cluster-index.js';
import { ShardClient, type ShardOutcome } from '../src/cluster/shard-client.js';
import { natsConnect } from '../src/cluster/shard-replica.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import type { SearchReply, ShardInfo, ShardVerb } from '../src/cluster/shard-protocol.js';
import { choosePrfCentroids } from '../src/search/colbert-prf.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { SearchPipeline } from '../src/pipeline/search-pipeline.js';
import { parseSynonyms } from '../src/rewrite/synonyms.js';
import { needsData, needsNatsServer } from './helpers/requirements.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { cranfieldSample, startCoordinator, startReplica, type Replica } from './helpers/cluster.js';
import type { PlaitServe } from './helpers/plait-serve.js';

const skip = needsData('cranfield') || needsNatsServer();
const DOCS = 240;
const QUERIES = 8;

let dir: string;
let nats: NatsServer;
let whole: PlaitIndex;
let coordinator: PlaitServe;
const replicas: Replica[] = [];
let queries: string[];

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'plait-cluster-prf-'));
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 32 });
  const sample = cranfieldSample(DOCS, QUERIES);
  const lines = sample.lines;
  writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
  queries = sample.queries;
  await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'cran'), shards: 2, model, unshardedIndex: join(dir, 'whole'), encoderOptions: { threads: 0 } });
  nats = await startNatsServer();
  for (const s of [0, 1]) replicas.push(await startReplica(join(dir, 'cran', `shard-${s}`), nats.url));
  coordinator = await startCoordinator(join(dir, 'cran'), nats.url, ['--model', model]);
  whole = await openIndex(join(dir, 'whole'));
});

after(async () => {
  if (skip !== false) return;
  await coordinator?.stop();
  for (const r of replicas) await r.stop();
  await whole?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface HttpResult {
  hits: { doc_id: string; score: number }[];
  degraded?: boolean | { stage: string; reason: string } | null;
  missing_shards?: number[];
  rewrites?: { kind: string; from: string; to: string }[];
}

async function search(body: Record<string, unknown>): Promise<{ status: number; results: HttpResult[]; error?: { code: string; message: string }; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${coordinator.url}/v1/indexes/cran/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { results: HttpResult[]; error?: { code: string; message: string } };
  return { status: res.status, results: json.results, ...(json.error === undefined ? {} : { error: json.error }), ms: performance.now() - t };
}

/** Requests the coordinator made of `verb`, summed over shards (its /metrics). */
async function requestsOf(verb: ShardVerb): Promise<number> {
  const text = await (await fetch(`${coordinator.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('plait_cluster_shard_request_seconds_count{') && l.includes(`verb="${verb}"`))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

test('choosePrfCentroids: count × ln(N/df) picks, IDF ≤ 0 dropped, weights β·IDF over their mean (hand-computed)', () => {
  // N = 100; cells: 7 (count 3, df 10 → idf ln 10 = 2.303, score 6.908), 2 (count 5, df 50 → ln 2 = 0.693, score 3.466),
  // 9 (count 1, df 1 → ln 100 = 4.605, score 4.605), 4 (count 9, df 100 → idf 0: left out).
  const counts = new Map([[7, 3], [2, 5], [9, 1], [4, 9]]);
  const df = new Map([[7, 10], [2, 50], [9, 1], [4, 100]]);
  const rows = choosePrfCentroids(counts, (c) => df.get(c)!, 100, { fbDocs: 3, fbEmbeddings: 2, beta: 1 })!;
  assert.deepEqual(Array.from(rows.centroids), [7, 9]);
  const mean = (Math.log(10) + Math.log(100)) / 2;
  assert.ok(Math.abs(rows.weights[0]! - Math.log(10) / mean) < 1e-6);
  assert.ok(Math.abs(rows.weights[1]! - Math.log(100) / mean) < 1e-6);
  // Only an everywhere-cell: nothing to append.
  assert.equal(choosePrfCentroids(new Map([[4, 9]]), () => 100, 100, { fbDocs: 3, fbEmbeddings: 2, beta: 1 }), null);
});

for (const mode of ['late', 'hybrid'] as const) {
  test(`ColBERT-PRF on the coordinator = one index: ${mode}, with and without query-token IDF`, { skip }, async () => {
    for (const idf of [false, true]) {
      const rewrite = { prf: true };
      const { status, results, error } = await search({ queries, mode, exhaustive: true, top_k: 10, idf_weighting: idf, rewrite });
      assert.equal(status, 200, JSON.stringify(error));
      let changed = 0;
      for (let i = 0; i < queries.length; i++) {
        const single = await whole.search(queries[i]!, { mode, exhaustive: true, topK: 10, idfWeighting: idf, rewrite });
        const plain = await whole.search(queries[i]!, { mode, exhaustive: true, topK: 10, idfWeighting: idf });
        const got = results[i]!;
        assert.equal(single.rewrites?.at(-1)?.kind, 'prf');
        assert.equal(got.missing_shards, undefined);
        assert.deepEqual(got.rewrites, single.rewrites, `${mode} idf ${idf} query ${i}`);
        assert.deepEqual(got.hits.map((h) => [h.doc_id, h.score]), single.hits.map((h) => [h.docId, h.score]), `${mode} idf ${idf} query ${i}: ${queries[i]}`);
        if (plain.hits.some((h, k) => h.docId !== single.hits[k]?.docId || h.score !== single.hits[k]?.score)) changed++;
      }
      // The expansion mattered (else equal answers would prove nothing about it), and both shards answer.
      assert.ok(changed >= queries.length / 2, `PRF changed ${changed} of ${queries.length} answers`);
      assert.deepEqual([...new Set(results.flatMap((r) => r.hits.map((h) => shardOf(h.doc_id, 2))))].sort(), [0, 1]);
    }
    // PLAID (each shard prunes its own candidates, as the plain cluster search does): the same top-10 documents, nearly always.
    const plaid = await search({ queries, mode, top_k: 10, rewrite: { prf: true } });
    assert.equal(plaid.status, 200);
    let agree = 0;
    for (let i = 0; i < queries.length; i++) {
      const single = new Set((await whole.search(queries[i]!, { mode, topK: 10, rewrite: { prf: true } })).hits.map((h) => h.docId));
      agree += plaid.results[i]!.hits.filter((h) => single.has(h.doc_id)).length / Math.max(1, single.size);
    }
    console.log(`${mode} PRF, PLAID: top-10 overlap ${(agree / queries.length).toFixed(3)}`);
    assert.ok(agree / queries.length >= 0.9, `${mode} PRF with PLAID: top-10 overlap ${agree / queries.length}`);
  });
}

test('a prf pipeline stage on the coordinator = SearchPipeline on one index; cell sizes fetched once per shard commit', { skip }, async () => {
  const spec = 'prf:20 > hybrid:10';
  const { status, results, error } = await search({ queries: queries.slice(0, 4), pipeline: spec });
  assert.equal(status, 200, JSON.stringify(error));
  const pipeline = new SearchPipeline(whole, spec);
  for (let i = 0; i < 4; i++) {
    const single = await pipeline.run(queries[i]!);
    assert.equal(single.rewrites?.at(-1)?.kind, 'prf');
    assert.deepEqual(results[i]!.rewrites, single.rewrites);
    assert.deepEqual(results[i]!.hits.map((h) => [h.doc_id, h.score]), single.hits.map((h) => [h.docId, h.score]), queries[i]);
  }
  // Every PRF query so far counted codes on the shards, but no shard's commit changed: one `cells` each.
  assert.ok((await requestsOf('codes')) >= 4);
  assert.equal(await requestsOf('cells'), 2);
});

const SYNONYMS = ['flow, stream', 'boundary layer => viscous region', 'heat, thermal'];

test('explain with rewrite on the coordinator = one index\'s explain (spelling, synonyms, RM3; late, bm25, hybrid); PRF refused as on one index', { skip }, async () => {
  // Each query with one typo: its longest word of 6+ letters less its third letter.
  const typed = queries.slice(0, 3).map((q) => {
    const word = q.split(' ').filter((w) => /^[a-z]{6,}$/.test(w)).sort((a, b) => b.length - a.length)[0];
    return word === undefined ? q : q.replace(word, word.slice(0, 2) + word.slice(3));
  });
  const synonyms = parseSynonyms(SYNONYMS.join('\n'));
  let rewritten = 0;
  for (const [mode, idf] of [['late', true], ['bm25', false], ['hybrid', false]] as const) {
    for (const q of typed) {
      // RM3 expands BM25: not in late mode (refused there, on one index too).
      const rm3 = mode === 'late' ? {} : { rm3: true };
      const rewrite = { spelling: true, synonyms, ...rm3 };
      // BM25 takes neither exhaustive nor IDF weighting (search/option-scope.ts); explain's late score takes IDF in every mode.
      const top = (await whole.search(q, { mode, topK: 2, ...(mode === 'bm25' ? {} : { exhaustive: true, idfWeighting: idf }), rewrite })).hits;
      for (const h of top) {
        const res = await fetch(`${coordinator.url}/v1/indexes/cran/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q, doc_id: h.docId, mode, idf_weighting: idf, rewrite: { spelling: true, synonyms: SYNONYMS, ...rm3 } }) });
        const got = (await res.json()) as { late_score: number; bm25: { score: number; terms: { term: string }[] } | null; fusion: { score: number; rank: number } | null; rewrites: { kind: string; from: string; to: string }[] };
        assert.equal(res.status, 200, JSON.stringify(got));
        const want = await whole.explain(q, h.docId, { mode, idfWeighting: idf, rewrite });
        const what = `${mode} ${q} ${h.docId}`;
        assert.deepEqual(got.rewrites, want.rewrites, what);
        assert.equal(got.late_score, want.lateScore, `${what}: late`);
        assert.equal(got.bm25?.score ?? null, want.bm25?.score ?? null, `${what}: bm25`);
        assert.deepEqual(got.bm25?.terms.map((t) => t.term) ?? null, want.bm25?.terms.map((t) => t.term) ?? null, `${what}: bm25 terms`);
        assert.equal(got.fusion?.score ?? null, want.fusion?.score ?? null, `${what}: fused`);
        assert.equal(got.fusion?.rank ?? null, want.fusion?.rank ?? null, `${what}: rank`);
        if (want.rewrites.some((r) => r.kind === 'spelling') && (mode === 'late' || want.rewrites.some((r) => r.kind === 'rm3'))) rewritten++;
      }
    }
  }
  assert.ok(rewritten >= 6, `${rewritten} explanations with a spelling correction (and RM3 where BM25 is in the mode)`);
  const prf = await fetch(`${coordinator.url}/v1/indexes/cran/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: queries[0], doc_id: (await whole.search(queries[0]!, { topK: 1 })).hits[0]!.docId, rewrite: { prf: true } }) });
  assert.equal(prf.status, 400);
});

/**
 * A ShardClient whose `search` to shard `shard` is lost on the `nth` call from now (as if its replica
 * died then), or whose replicas of shard `unaware` answer as a replica predating PRF would (no `prf` acknowledgement).
 */
class LosingClient extends ShardClient {
  searches = 0;
  lose: { shard: number; nth: number } | null = null;
  unaware: number | null = null;

  override async request<T>(shard: number, verb: ShardVerb, payload: unknown, deadlineAt: number, signal?: AbortSignal): Promise<ShardOutcome<T>> {
    if (verb === 'search' && this.lose?.shard === shard && ++this.searches === this.lose.nth) return { shard, ok: false, reason: 'timeout' };
    const o = await super.request<T>(shard, verb, payload, deadlineAt, signal);
    if (verb === 'search' && shard === this.unaware && o.ok) for (const r of (o.value as SearchReply).results) delete r.prf;
    return o;
  }
}

test('a shard missing from the first pass or the second, or answering without the expansion: degraded, named, on time; then a shard without replica', { skip }, async () => {
  const nc = await natsConnect(nats.url, 'plait-test-prf');
  try {
    const client = new LosingClient(nc, clusterSubjects('cran'), 2, null);
    const infos = await Promise.all([0, 1].map((s) => client.request<ShardInfo>(s, 'info', {}, Date.now() + 10_000)));
    const cluster = new ClusterIndex('cran', client, infos.map((o) => (o.ok ? o.value : assert.fail(`shard ${o.shard} did not answer`))), { encoder: await whole.encoder() });
    const query = queries[0]!;
    const [e] = await (await whole.encoder()).encodeQueries([query]);
    const options = { mode: 'late', exhaustive: true, topK: 10, rewrite: { prf: true } } as const;
    const [whole0] = await cluster.searchEncodedBatch([query], [e!], { ...options, deadlineAt: Date.now() + 20_000 });
    const single = await whole.search(query, options);
    assert.deepEqual(whole0!.hits.map((h) => [h.docId, h.score]), single.hits.map((h) => [h.docId, h.score]));
    assert.equal(whole0!.degraded, undefined);
    for (const nth of [1, 2]) {
      client.searches = 0;
      client.lose = { shard: 1, nth };
      const t = performance.now();
      const [r] = await cluster.searchEncodedBatch([query], [e!], { ...options, deadlineAt: Date.now() + 3000 });
      assert.ok(performance.now() - t < 4000);
      assert.equal(r!.degraded, true, `pass ${nth}`);
      assert.deepEqual(r!.missingShards, [1], `pass ${nth}`);
      assert.ok(r!.hits.length > 0 && r!.hits.every((h) => shardOf(h.docId, 2) === 0), `pass ${nth}: shard 0's documents only`);
    }
    client.lose = null;
    // A replica that ignores the expansion would answer the first pass's query again: it is counted missing, not merged.
    client.unaware = 1;
    const [r] = await cluster.searchEncodedBatch([query], [e!], { ...options, deadlineAt: Date.now() + 3000 });
    assert.deepEqual(r!.missingShards, [1]);
    assert.ok(r!.hits.every((h) => shardOf(h.docId, 2) === 0));
    client.unaware = null;
    await cluster.close();
  } finally {
    await nc.drain().catch(() => nc.close());
  }
  // Shard 1's only replica gone: the coordinator answers PRF searches on time, degraded, naming it.
  const shard1 = replicas.find((r) => r.shard === 1)!;
  await shard1.kill();
  replicas.splice(replicas.indexOf(shard1), 1);
  const { status, results, ms } = await search({ query: queries[1], mode: 'hybrid', rewrite: { prf: true }, timeout_ms: 3000 });
  assert.equal(status, 200);
  assert.ok(ms < 4000, `answered in ${ms.toFixed(0)} ms`);
  assert.deepEqual(results[0]!.missing_shards, [1]);
  assert.ok(results[0]!.degraded);
  assert.ok(results[0]!.hits.every((h) => shardOf(h.doc_id, 2) === 0));
});

test('the cell sizes follow writes: a shard whose commit changed is asked again, the other not', { skip }, async () => {
  // Shard 1 has no replica now (the test before killed it): the new documents go to shard 0.
  const ids = Array.from({ length: 40 }, (_, i) => `prf-${i}`).filter((id) => shardOf(id, 2) === 0).slice(0, 2);
  const before = await requestsOf('cells');
  const res = await fetch(`${coordinator.url}/v1/indexes/cran/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ documents: ids.map((id) => ({ doc_id: id, title: 'supersonic flow', text: 'the boundary layer of a wing at high speed' })) }),
  });
  assert.equal(res.status, 200);
  const { sequences } = (await res.json()) as { sequences: { shard: number; sequence: number }[] };
  // Wait for shard 0 to apply the write (a PRF search gives its first pass only a share of its time, and shard 1, gone, takes all of that share).
  const applied = await search({ query: 'boundary layer', mode: 'bm25', min_sequences: sequences, timeout_ms: 8000 });
  assert.deepEqual(applied.results[0]!.missing_shards, [1]);
  for (let k = 0; k < 2; k++) {
    const r = await search({ query: 'boundary layer of a supersonic wing', mode: 'late', rewrite: { prf: true }, min_sequences: sequences, timeout_ms: 3000 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.results[0]!.missing_shards, [1]);
    assert.equal(r.results[0]!.rewrites?.at(-1)?.kind, 'prf');
    assert.ok(r.results[0]!.hits.length > 0);
  }
  assert.equal((await requestsOf('cells')) - before, 1, 'shard 0 once (its commit changed), shard 1 not at all');
});
