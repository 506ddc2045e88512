/**
 * Pipelines and query rewriting at a cluster's coordinator (issue 24) against the same on one
 * index: the cost of the extra NATS rounds (a re-scoring stage asks the shards holding its
 * documents, with a statistics round when its score needs the corpus's statistics; spelling asks a
 * shard to tokenise and every shard for its dfs; ColBERT-PRF adds a first pass and a `codes` round).
 *
 *  - Index: the first `docs` cranfield documents encoded by a tiny generated ColBERT model (64
 *    dimensions, 2 bits), built as 2 shards with the unsharded oracle beside them (one codebook).
 *  - Cluster: nats-server on loopback, one replica process per shard, the coordinator's
 *    ClusterIndex in this process (as bench/cluster.ts); the single index opened in this process.
 *  - Each pipeline (and the spelling rewrite) runs the same queries one at a time on both; the
 *    ratio cluster / one index is the figure to read (both in the same run).
 *
 * Run: `node dist/bench/cluster-pipeline.js [workDir=/tmp/plait-bench-cluster-pipeline] [queries=60] [docs=400]`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import type { ClusterIndex } from '../src/cluster/cluster-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { SearchPipeline } from '../src/pipeline/search-pipeline.js';
import { localPipelineIndex, type PipelineIndex } from '../src/pipeline/pipeline-index.js';
import { resolveServerOptions } from '../src/server/options.js';
import { openCoordinatorEngine } from '../src/server/coordinator-engine.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { startReplica, type Replica } from '../test/helpers/cluster.js';
import { dataDir, isMain, machine, percentiles } from './common.js';

const WARMUP = 5;

async function timed(run: (i: number) => Promise<unknown>, n: number): Promise<{ p50: number; mean: number }> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run(i);
    ms.push(performance.now() - t);
  }
  const p = percentiles(ms);
  return { p50: p.p50, mean: p.mean };
}

export async function main(workDir = '/tmp/plait-bench-cluster-pipeline', nQueries = 60, nDocs = 400): Promise<void> {
  const data = dataDir();
  if (data === null) throw new Error('no ../shared/data (set PLAIT_DATA_DIR)');
  mkdirSync(workDir, { recursive: true });
  const model = join(workDir, 'model');
  if (!existsSync(join(workDir, 'model-made'))) {
    await makeTinyColbert(model, { dim: 64 });
    writeFileSync(join(workDir, 'model-made'), '');
  }
  const root = join(workDir, 'cran');
  if (!existsSync(join(root, 'cluster.json'))) {
    const lines = readFileSync(join(data, 'cranfield', 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    writeFileSync(join(workDir, 'corpus.jsonl'), `${lines.slice(0, nDocs).join('\n')}\n`);
    const t = performance.now();
    await buildShardedIndex(join(workDir, 'corpus.jsonl'), { index: root, shards: 2, model, unshardedIndex: join(workDir, 'whole'), seed: 7, skipInvalid: true, encoderOptions: { threads: 0 } });
    console.log(`built 2 shards + the unsharded index of ${nDocs} documents in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const texts = readFileSync(join(data, 'cranfield', 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text.trim().replace(/\s+/g, ' '));
  const queries = Array.from({ length: nQueries + WARMUP }, (_, i) => texts[i % texts.length]!);
  console.log(JSON.stringify({ machine: machine(), loadavg: loadavg().map((x) => Number(x.toFixed(2))) }));

  const whole = await openIndex(join(workDir, 'whole'), { encoderOptions: { threads: 0 } });
  const nats = await startNatsServer();
  const replicas: Replica[] = [];
  try {
    for (let s = 0; s < 2; s++) replicas.push(await startReplica(join(root, `shard-${s}`), nats.url));
    const { engine } = await openCoordinatorEngine(root, resolveServerOptions({ logLevel: false, port: 0, models: [model] }), { servers: nats.url });
    const cluster = engine.index('cran').index as unknown as ClusterIndex;
    const specs = ['bm25:100 > late:10', 'bm25:100 > hybrid:30 > late:10', 'exhaustive:50 > bm25:10'];
    for (const spec of specs) {
      const one = new SearchPipeline(whole, spec);
      const a = await timed((i) => one.run(queries[i]!), nQueries);
      const b = await timed((i) => new SearchPipeline(cluster.pipelineIndex({ deadlineAt: Date.now() + 10_000 }), spec).run(queries[i]!), nQueries);
      console.log(`pipeline "${spec}": one index p50 ${a.p50.toFixed(2)} ms, coordinator (2 shards) p50 ${b.p50.toFixed(2)} ms: ×${(b.p50 / a.p50).toFixed(2)}`);
    }
    const a = await timed(async (i) => whole.rewrite(queries[i]!, { mode: 'bm25', rewrite: { spelling: true } }), nQueries);
    const b = await timed((i) => cluster.rewrite(queries[i]!, { mode: 'bm25', rewrite: { spelling: true }, deadlineAt: Date.now() + 10_000 }), nQueries);
    console.log(`spelling rewrite: one index p50 ${a.p50.toFixed(3)} ms, coordinator p50 ${b.p50.toFixed(2)} ms (a tokenise and a statistics round)`);
    // ColBERT-PRF: a first late pass, the feedback codes and (once per commit) the cell sizes, the second pass.
    for (const mode of ['late', 'hybrid'] as const) {
      const search = (index: PipelineIndex, prf: boolean) => (i: number) => index.search(queries[i]!, { mode, topK: 10, ...(prf ? { rewrite: { prf: true } } : {}) });
      const local = localPipelineIndex(whole);
      const remote = (): PipelineIndex => cluster.pipelineIndex({ deadlineAt: Date.now() + 10_000 });
      const [a0, a1] = [await timed(search(local, false), nQueries), await timed(search(local, true), nQueries)];
      const [b0, b1] = [await timed((i) => search(remote(), false)(i), nQueries), await timed((i) => search(remote(), true)(i), nQueries)];
      console.log(`${mode} + PRF: one index p50 ${a0.p50.toFixed(2)} → ${a1.p50.toFixed(2)} ms (×${(a1.p50 / a0.p50).toFixed(2)}), coordinator p50 ${b0.p50.toFixed(2)} → ${b1.p50.toFixed(2)} ms (×${(b1.p50 / b0.p50).toFixed(2)}); coordinator / one index with PRF ×${(b1.p50 / a1.p50).toFixed(2)}`);
    }
    await engine.close();
  } finally {
    for (const r of replicas) await r.stop();
    await whole.close();
    await nats.stop();
  }
  console.log(JSON.stringify({ loadavg: loadavg().map((x) => Number(x.toFixed(2))) }));
}

if (isMain(import.meta.url)) {
  main(process.argv[2], process.argv[3] === undefined ? undefined : Number(process.argv[3]), process.argv[4] === undefined ? undefined : Number(process.argv[4])).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
