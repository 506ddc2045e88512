/**
 * Search latency without query encoding (p50/p95/p99 over 200 queries after a warm-up), on
 *  - an index of wordnet-scale (118k glosses) built with the bundled model, queries being the
 *    first words of sampled glosses (query encoding timed separately: one query alone, and a
 *    200-query batch's throughput), in late and hybrid mode;
 *  - a synthetic index (default: bench-synthetic from bench/build-throughput; the MS MARCO-shaped
 *    one is bench/msmarco-shaped.ts, which reports its own latency and fidelity).
 * The baseline in the same run is exhaustive MaxSim over the same index, measured fairly: the same
 * 2 scoring workers, top-k selection in the workers, and the same queries as PLAID. The printed
 * ratio is PLAID's speed-up over scoring everything.
 *
 * Run: `node dist/bench/search-latency.js [wordnetIndex=wordnet] [syntheticIndex=bench-synthetic]`
 * (indexes missing are skipped with a message).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openIndex, type PlaitIndex, type SearchOptions } from '../src/search/plait-index.js';
import { resolveIndexPath } from '../src/format/index-path.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { SyntheticVectors } from '../test/helpers/synthetic.js';
import { isMain, machine, percentiles } from './common.js';

const QUERIES = 200;
const WARMUP = 10;

/** Scoring workers for both PLAID and the exhaustive baseline. */
const WORKERS = 2;

/** One query at a time through the scoring workers (latency, not batch throughput). */
async function time(index: PlaitIndex, texts: string[], emb: TokenEmbeddings[], options: SearchOptions, n = emb.length): Promise<number[]> {
  for (let i = 0; i < Math.min(WARMUP, n); i++) await index.searchEncodedBatch([texts[i]!], [emb[i]!], options);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await index.searchEncodedBatch([texts[i]!], [emb[i]!], options);
    ms.push(performance.now() - t);
  }
  return ms;
}

async function wordnet(name: string): Promise<object> {
  const path = resolveIndexPath(name);
  if (!existsSync(join(path, 'manifest.json'))) return { skipped: `no index at ${path} (build it: plait index ../shared/data/wordnet-scale --index ${name})` };
  const index = await openIndex(path, { encoderOptions: { threads: 2 }, workers: WORKERS });
  try {
    const n = index.manifest.counts.documents;
    const rowids = Array.from({ length: QUERIES }, (_, i) => Math.floor(((i + 0.5) / QUERIES) * n));
    const texts = index.docstore.getDocuments(rowids).map((d) => (d?.text ?? '').split(/\s+/).slice(0, 6).join(' ') || 'word');
    const encoder = await index.encoder();
    await encoder.encodeQueries(texts.slice(0, 4));
    const single: number[] = [];
    for (const t of texts.slice(0, 50)) {
      const t1 = performance.now();
      await encoder.encodeQueries([t]);
      single.push(performance.now() - t1);
    }
    const t0 = performance.now();
    const emb = await encoder.encodeQueries(texts);
    const encodeBatchMsPerQuery = (performance.now() - t0) / texts.length;
    const late = percentiles(await time(index, texts, emb, { mode: 'late', topK: 10 }));
    const hybrid = percentiles(await time(index, texts, emb, { mode: 'hybrid', topK: 10 }));
    const exhaustive = percentiles(await time(index, texts, emb, { mode: 'late', topK: 10, exhaustive: true }));
    return {
      index: path,
      passages: index.manifest.counts.passages,
      tokens: index.manifest.counts.tokens,
      centroids: index.manifest.counts.centroids,
      encodeSingleQueryMs: percentiles(single),
      encodeBatchMsPerQuery,
      workers: WORKERS,
      plaidLateMs: late,
      hybridMs: hybrid,
      exhaustiveMs: exhaustive,
      plaidSpeedupOverExhaustive: exhaustive.p50 / late.p50,
    };
  } finally {
    await index.close();
  }
}

async function synthetic(name: string): Promise<object> {
  const path = resolveIndexPath(name);
  if (!existsSync(join(path, 'manifest.json'))) return { skipped: `no index at ${path} (build it: node dist/bench/build-throughput.js 10 ${path})` };
  const index = await openIndex(path, { workers: WORKERS });
  try {
    // Same generator and seed as bench/build-throughput, so queries fall in the indexed clusters.
    const gen = new SyntheticVectors({ dim: index.manifest.dim, clusters: 4096, spread: 0.25, seed: 7 });
    const emb = Array.from({ length: QUERIES }, () => gen.passage(32));
    const texts = emb.map(() => '');
    const plaid = percentiles(await time(index, texts, emb, { mode: 'late', topK: 10 }));
    const exhaustive = percentiles(await time(index, texts, emb, { mode: 'late', topK: 10, exhaustive: true }));
    return { index: path, workers: WORKERS, passages: index.manifest.counts.passages, tokens: index.manifest.counts.tokens, centroids: index.manifest.counts.centroids, plaidMs: plaid, exhaustiveMs: exhaustive, plaidSpeedupOverExhaustive: exhaustive.p50 / plaid.p50 };
  } finally {
    await index.close();
  }
}

export async function run(wordnetIndex = 'wordnet', syntheticIndex = 'bench-synthetic'): Promise<object> {
  return { benchmark: 'search-latency', machine: machine(), kernels: kernelsStatus().active, wordnet: await wordnet(wordnetIndex), synthetic1M: await synthetic(syntheticIndex) };
}

if (isMain(import.meta.url)) console.log(JSON.stringify(await run(process.argv[2], process.argv[3]), null, 2));
