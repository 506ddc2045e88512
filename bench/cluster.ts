/**
 * The cluster on this machine (issue 24): 1 vs 2 shard processes behind the coordinator, the
 * coordinator's merge cost, and a projection to N machines from the measured per-shard cost.
 *
 *  - Index: the whole cranfield corpus (1,400 documents) encoded by a tiny generated ColBERT
 *    model at 128 dimensions (the bundled model takes ~90 s per 300 documents to encode here; the
 *    search cost per token is the same at the same dimension and nbits), built twice with one seed:
 *    as 1 shard and as 2 shards (the same codebook: the sample depends only on the corpus and seed).
 *  - Cluster: nats-server, one replica process per shard (`plait serve <shard> --nats`), the
 *    coordinator's ClusterIndex in this process, queries encoded once beforehand (encoding happens
 *    at the coordinator either way and does not depend on the shard count).
 *  - Per-shard cost: each shard index opened in this process, the same queries, one at a time.
 *  - Merge: mergeLists / mergeHybrid over N shards' 100-hit lists (the fusion depth at k = 10).
 *
 * Run: `node dist/bench/cluster.js [workDir=/tmp/plait-bench-cluster] [queries=200]`. Report the
 * machine's load (uptime) beside the figures: both configurations run in the same process, so
 * their ratio is the figure to read.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import { mergeHybrid, mergeLists, type ClusterIndex } from '../src/cluster/cluster-index.js';
import { openIndex, type SearchHit, type SearchOptions } from '../src/search/plait-index.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import { resolveSearch } from '../src/search/search-options.js';
import { resolveServerOptions } from '../src/server/options.js';
import { openCoordinatorEngine } from '../src/server/coordinator-engine.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { startReplica, type Replica } from '../test/helpers/cluster.js';
import { dataDir, isMain, machine, percentiles } from './common.js';

const WARMUP = 10;

interface Timing {
  p50: number;
  p95: number;
  mean: number;
  qps: number;
}

async function sequential(run: (i: number) => Promise<unknown>, n: number): Promise<Timing> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const ms: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run(i);
    ms.push(performance.now() - t);
  }
  const p = percentiles(ms);
  return { p50: p.p50, p95: p.p95, mean: p.mean, qps: (n * 1000) / (performance.now() - t0) };
}

/** Throughput with `concurrency` queries in flight. */
async function concurrent(run: (i: number) => Promise<unknown>, n: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await run(next++);
    }),
  );
  return (n * 1000) / (performance.now() - t0);
}

function fmt(t: Timing): string {
  return `p50 ${t.p50.toFixed(2)} ms, p95 ${t.p95.toFixed(2)} ms, ${t.qps.toFixed(1)} q/s`;
}

export async function main(workDir = '/tmp/plait-bench-cluster', nQueries = 200): Promise<void> {
  const data = dataDir();
  if (data === null) throw new Error('no ../shared/data (set PLAIT_DATA_DIR)');
  mkdirSync(workDir, { recursive: true });
  const model = join(workDir, 'model');
  const corpus = join(data, 'cranfield', 'corpus.jsonl');
  if (!existsSync(join(model, 'model.onnx')) && !existsSync(join(workDir, 'model-made'))) {
    await makeTinyColbert(model, { dim: 128 });
    writeFileSync(join(workDir, 'model-made'), '');
  }
  for (const shards of [1, 2]) {
    const root = join(workDir, `cran${shards}`);
    if (existsSync(join(root, 'cluster.json'))) continue;
    const t = performance.now();
    await buildShardedIndex(corpus, { index: root, shards, model, seed: 7, skipInvalid: true });
    console.log(`built ${shards} shard(s) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const c1 = JSON.parse(readFileSync(join(workDir, 'cran1', 'cluster.json'), 'utf8')) as { codebook: string; shardInfo: { passages: number }[] };
  const c2 = JSON.parse(readFileSync(join(workDir, 'cran2', 'cluster.json'), 'utf8')) as { codebook: string; shardInfo: { passages: number }[] };
  console.log(`codebook equal across the 1- and 2-shard builds: ${c1.codebook === c2.codebook}; passages ${c1.shardInfo[0]!.passages} vs ${c2.shardInfo.map((s) => s.passages).join(' + ')}`);

  const texts = readFileSync(join(data, 'cranfield', 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text.trim().replace(/\s+/g, ' '));
  const queries = Array.from({ length: nQueries }, (_, i) => texts[i % texts.length]!);
  const encoder = await createEncoder(await resolveModelSpec(model, {}), { threads: 0 });
  const embeddings: TokenEmbeddings[] = await encoder.encodeQueries(queries);
  await encoder.close();
  console.log(JSON.stringify({ machine: machine(), loadavg: loadavg().map((x) => Number(x.toFixed(2))) }));

  const modes: [string, SearchOptions][] = [
    ['late (PLAID)', { mode: 'late', topK: 10 }],
    ['hybrid (PLAID + BM25)', { mode: 'hybrid', topK: 10 }],
  ];
  // Per-shard cost, in this process, one query at a time.
  const perShard: Record<string, number[]> = {};
  for (const [name, o] of modes) {
    for (const [label, paths] of [['1 shard (whole corpus)', [join(workDir, 'cran1', 'shard-0')]], ['2 shards (half each)', [join(workDir, 'cran2', 'shard-0'), join(workDir, 'cran2', 'shard-1')]]] as const) {
      const means: number[] = [];
      for (const p of paths) {
        const index = await openIndex(p);
        const t = await sequential((i) => index.searchEncodedBatch([queries[i]!], [embeddings[i]!], o), nQueries);
        means.push(t.mean);
        await index.close();
      }
      perShard[`${name} ${label}`] = means;
      console.log(`per-shard search, ${name}, ${label}: mean ${means.map((m) => m.toFixed(2)).join(' / ')} ms`);
    }
  }

  // The cluster: replicas as processes, the coordinator here.
  const nats = await startNatsServer();
  try {
    for (const shards of [1, 2]) {
      const root = join(workDir, `cran${shards}`);
      const replicas: Replica[] = [];
      for (let s = 0; s < shards; s++) replicas.push(await startReplica(join(root, `shard-${s}`), nats.url));
      const { engine } = await openCoordinatorEngine(root, resolveServerOptions({ logLevel: false, port: 0, models: [model] }), { servers: nats.url });
      const cluster = engine.index(`cran${shards}`).index as unknown as ClusterIndex;
      for (const [name, o] of modes) {
        const run = (i: number) => cluster.searchEncodedBatch([queries[i]!], [embeddings[i]!], { ...o, deadlineAt: Date.now() + 10_000 });
        const seq = await sequential(run, nQueries);
        const qps4 = await concurrent(run, nQueries, 4);
        console.log(`cluster, ${shards} shard process${shards === 1 ? '' : 'es'}, ${name}: ${fmt(seq)}; ${qps4.toFixed(1)} q/s with 4 in flight`);
      }
      await engine.close();
      for (const r of replicas) await r.stop();
    }
  } finally {
    await nats.stop();
  }

  // The merge alone: N shards' lists of the fusion depth (100 at k = 10).
  const r = resolveSearch({ mode: 'hybrid', topK: 10 }, { defaultMode: 'hybrid', idfWeighting: false } as never);
  for (const n of [2, 4, 8, 16, 64]) {
    const list = (s: number, base: number): SearchHit[] => Array.from({ length: 100 }, (_, j) => ({ docId: `s${s}-d${(j * 7919 + base) % 1000}`, pid: j, score: Math.sin(j * 12.9898 + s + base) + 2, rank: j + 1 }));
    const parts = Array.from({ length: n }, (_, s) => ({ hits: list(s, 1), bm25: list(s, 3), extraLate: list(s, 5).slice(0, 20) }));
    const reps = 200;
    let t = performance.now();
    for (let k = 0; k < reps; k++) mergeHybrid(parts, r);
    const hybridUs = ((performance.now() - t) * 1000) / reps;
    t = performance.now();
    for (let k = 0; k < reps; k++) mergeLists(parts.map((p) => p.hits.slice(0, 10)), 10);
    const lateUs = ((performance.now() - t) * 1000) / reps;
    console.log(`merge, ${n} shards: top-10 lists ${lateUs.toFixed(1)} µs, hybrid fusion over 100-hit lists ${hybridUs.toFixed(1)} µs per query`);
  }
  console.log(JSON.stringify({ perShard, loadavg: loadavg().map((x) => Number(x.toFixed(2))) }));
}

if (isMain(import.meta.url)) {
  main(process.argv[2], process.argv[3] === undefined ? undefined : Number(process.argv[3])).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
