/**
 * An MS MARCO-shaped benchmark (issue 9): N passages (default 1M) whose lengths are drawn like MS
 * MARCO's under ColBERT's tokenizer (log-normal around 65 tokens, clipped to [30, 180]: mean ≈ 70),
 * 128-d clustered token vectors, 2-bit residuals, built through `buildIndexFromEmbeddings`.
 *
 *   node dist/bench/msmarco-shaped.js build <passages> <indexPath>   # build (run under /usr/bin/time -v for peak RSS)
 *       CENTROID_ASSIGNMENT=exact|two-level|auto (and COARSE_CENTROIDS, COARSE_PROBE) set the build's
 *       assignment (default: the build default); the output reports what ran.
 *   node dist/bench/msmarco-shaped.js assemble <passages> <indexPath> # same data, assembled fast (see below)
 *   node dist/bench/msmarco-shaped.js search <indexPath> [queries=1000] [workers=2]
 *   node dist/bench/msmarco-shaped.js agreement <indexPath> [tokens=20000]  # a built index's codes vs brute force
 *
 * Two versions of plait on the same data in one run, with a cached exhaustive oracle over the same
 * queries (`msmarcoQueries`): bench/msmarco-compare.ts. One thread, stage by stage: bench/plaid-stages.ts.
 *
 * `build` prints build time, phases, bytes per token and index size. `search` opens the index
 * (time and RSS after open), runs `queries` queries at k = 10 and k = 100 through the scoring
 * workers (one query at a time: latency, not throughput), reports p50/p95/p99 and RSS after, then
 * the exhaustive oracle on the same workers with top-k selection over the same queries, and
 * PLAID's fidelity against it (share of the exhaustive top-k that PLAID returns).
 *
 * `assemble` writes the same passages as an index without the build's two n × K passes (k-means and
 * assignment, hours for 70M tokens on 2 loaded cores): the centroids are the pool's true cluster
 * centres (what k-means estimates), each pool row's code is the centre it was drawn from and its
 * residual is compressed once, and each passage copies its run's codes and residuals through the
 * ordinary IndexWriter (segments, streaming IVF) and document store. It measures the format,
 * opening and search at full scale; build cost is measured by `build` at a smaller scale.
 *
 * Vectors: a pool of 2^20 unit vectors around 131,072 centres, topical in runs of 64 rows (each run
 * draws from 48 centres); a passage is a run of pool rows at a pid-hashed offset (views, no copies:
 * this measures the engine, not a generator). A query is 32 noisy copies of tokens of a random
 * passage, so each query has a few strongly matching passages, as a real query has (uniformly
 * random tokens would make every MaxSim score alike and fidelity meaningless).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import type { EmbeddingSource } from '../src/indexer/compress-passages.js';
import { agreementOf, assignTwoLevel, buildTwoLevelPlan, type CentroidAssignment } from '../src/indexer/two-level-assign.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { openIndex } from '../src/search/plait-index.js';
import { listedFiles } from '../src/format/manifest.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { Random } from '../src/util/random.js';
import { normalizeRows } from '../src/util/vectors.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { syntheticModel } from '../fixtures/synthetic-index.js';
import { isMain, machine, peakRssMiB, percentiles } from './common.js';
import { getKernels } from '../src/kernels/index.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { IndexWriter } from '../src/indexer/index-writer.js';
import { DocStoreWriter } from '../src/docstore/index.js';
import { INDEX_FILES } from '../src/format/manifest.js';
import { loadIndexData } from '../src/format/index-reader.js';
import { resolveIndexPath } from '../src/format/index-path.js';
import { publishIndex, temporaryBuildDir } from '../src/format/publish.js';

const DIM = 128;
const POOL = 1 << 20;
/**
 * Cluster centres: 131,072, the K a ColBERT build of 70M tokens gets (2^floor(log2(16·sqrt(70M)))),
 * so that IVF lists have the length of a real 1M-passage index's.
 */
const CLUSTERS = 131_072;
/**
 * Centres per 64-row topical run of the pool: 48 gives a 70-token passage ~45 distinct centroids
 * (the bundled model's cisi index has 114 distinct of 124 tokens); with 6, IVF lists were 4× too
 * short and PLAID's candidate stage flattered.
 */
const TOPIC_CENTRES = 48;
/** Per-dimension noise around a centre: norm ≈ 0.68 at 128-d, so a token's cosine to its centre is ≈ 0.83. */
const SPREAD = 0.06;
/** Per-dimension noise of a query token around the passage token it copies (cosine ≈ 0.9). */
const QUERY_NOISE = 0.04;
const SEED = 11;

/** MS MARCO-like passage length (ColBERT tokens): log-normal, median 65, clipped to [30, 180]. */
export function passageLength(rng: Random): number {
  return Math.max(30, Math.min(180, Math.round(Math.exp(Math.log(65) + 0.38 * rng.normal()))));
}

function rssMiB(): number {
  return process.memoryUsage.rss() / (1 << 20);
}

/**
 * RSS split as the kernel counts it (/proc/self/status): anonymous (heap, private) and file-backed
 * (mapped index pages). File pages are shared page cache, and a file mapped by the main thread and
 * by each worker counts once per mapping, so RssFile can exceed the physical memory it uses.
 */
function rssSplitMiB(): { anon: number; file: number } {
  try {
    const text = readFileSync('/proc/self/status', 'utf8');
    const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
    return { anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024 };
  } catch {
    return { anon: NaN, file: NaN };
  }
}

/** The topical pool of token vectors (same for build and search: seeded), and each row's centre. */
function topicalPoolWithCentres(): { pool: Float32Array; centres: Float32Array; centreOf: Int32Array } {
  const centres = new SyntheticVectors({ dim: DIM, clusters: CLUSTERS, spread: SPREAD, seed: SEED }).centres;
  const rng = new Random(SEED + 2);
  const pool = new Float32Array(POOL * DIM);
  const centreOf = new Int32Array(POOL);
  const topic = new Int32Array(TOPIC_CENTRES);
  for (let r = 0; r < POOL; r++) {
    if (r % 64 === 0) for (let t = 0; t < topic.length; t++) topic[t] = rng.int(CLUSTERS);
    const ci = topic[rng.int(topic.length)]!;
    centreOf[r] = ci;
    const c = ci * DIM;
    for (let d = 0; d < DIM; d++) pool[r * DIM + d] = centres[c + d]! + SPREAD * rng.normal();
  }
  normalizeRows(pool, POOL, DIM);
  return { pool, centres, centreOf };
}

export function topicalPool(): Float32Array {
  return topicalPoolWithCentres().pool;
}

async function assemble(nPassages: number, path: string): Promise<object> {
  const t0 = performance.now();
  const { pool, centres, centreOf } = topicalPoolWithCentres();
  const kernels = getKernels();
  const heldout = pool.subarray(0, 10_000 * DIM);
  const codec = ResidualCodec.fit(centres, DIM, 2, heldout, kernels);
  const packed = new Uint8Array(POOL * codec.bytesPerToken);
  kernels.compress(pool, POOL, DIM, centres, centreOf, codec.cutoffs, 2, packed);
  const lengths = passageLengths(nPassages);
  const target = resolveIndexPath(path);
  const tmp = temporaryBuildDir(target);
  const docstore = new DocStoreWriter(join(tmp, INDEX_FILES.docstore));
  for (let pid = 0; pid < nPassages; pid++) docstore.addPassage(docstore.addDocument({ docId: String(pid), title: '', text: '' }), 0, 0);
  const tDocs = performance.now();
  const writer = new IndexWriter(tmp, codec);
  const bpt = codec.bytesPerToken;
  for (let from = 0; from < nPassages; from += 4096) {
    const to = Math.min(nPassages, from + 4096);
    let tokens = 0;
    for (let p = from; p < to; p++) tokens += lengths[p]!;
    const codes = new Int32Array(tokens);
    const residuals = new Uint8Array(tokens * bpt);
    const doclens = new Int32Array(to - from);
    let row = 0;
    for (let p = from; p < to; p++) {
      const len = lengths[p]!;
      const start = passageStart(p, len);
      codes.set(centreOf.subarray(start, start + len), row);
      residuals.set(packed.subarray(start * bpt, (start + len) * bpt), row * bpt);
      doclens[p - from] = len;
      row += len;
    }
    writer.appendChunk(codes, residuals, doclens);
  }
  writer.finishArrays();
  docstore.setTokenDf(new Int32Array(0), nPassages);
  docstore.close();
  const manifest = writer.writeManifest({
    createdAt: new Date().toISOString(),
    buildMs: performance.now() - t0,
    model: syntheticModel(DIM),
    modelSpec: { family: 'colbert-onnx', dir: '/synthetic' },
    counts: { documents: nPassages, passages: nPassages, tokens: writer.tokens, centroids: CLUSTERS },
    settings: { split: false, window: 180, stride: 180, kmeansIters: 0, seed: SEED, sampledPassages: 0, kmeansVectors: 0 },
    avgResidual: 0,
  });
  publishIndex(tmp, target);
  const indexBytes = listedFiles(manifest).reduce((a, f) => a + f.entry.bytes, 0);
  return {
    benchmark: 'msmarco-shaped assemble',
    passages: nPassages,
    tokens: manifest.counts.tokens,
    centroids: CLUSTERS,
    segments: manifest.segments.length,
    seconds: (performance.now() - t0) / 1000,
    docstoreSeconds: (tDocs - t0) / 1000,
    peakRssMiB: peakRssMiB(),
    indexBytes,
    bytesPerToken: indexBytes / manifest.counts.tokens,
  };
}

function passageLengths(nPassages: number): Uint8Array {
  const lengths = new Uint8Array(nPassages);
  const rng = new Random(SEED + 1);
  for (let i = 0; i < nPassages; i++) lengths[i] = passageLength(rng);
  return lengths;
}

function passageStart(pid: number, len: number): number {
  return (Math.imul(pid, 2654435761) >>> 0) % (POOL - len);
}

async function build(nPassages: number, path: string): Promise<object> {
  const pool = topicalPool();
  const lengths = passageLengths(nPassages);
  let tokens = 0;
  for (let i = 0; i < nPassages; i++) tokens += lengths[i]!;
  const noIds = new Int32Array(180);
  const source: EmbeddingSource = {
    nPassages,
    dim: DIM,
    vocabSize: 0,
    embed: async (pids) =>
      Array.from(pids, (pid): TokenEmbeddings => {
        const len = lengths[pid]!;
        const start = passageStart(pid, len);
        return { vectors: pool.subarray(start * DIM, (start + len) * DIM), length: len, tokenIds: noIds.subarray(0, len) };
      }),
  };
  const phases: Record<string, number> = {};
  let phase = '';
  let phaseStart = performance.now();
  const t0 = performance.now();
  const { manifest } = await buildIndexFromEmbeddings(source, {
    index: path,
    model: syntheticModel(DIM),
    modelSpec: { family: 'colbert-onnx', dir: '/synthetic' },
    nbits: 2,
    centroidAssignment: process.env.CENTROID_ASSIGNMENT as CentroidAssignment | undefined,
    coarseCentroids: process.env.COARSE_CENTROIDS === undefined ? undefined : Number(process.env.COARSE_CENTROIDS),
    coarseProbe: process.env.COARSE_PROBE === undefined ? undefined : Number(process.env.COARSE_PROBE),
    onProgress: (p) => {
      if (p.phase !== phase) {
        const now = performance.now();
        if (phase !== '') phases[phase] = (phases[phase] ?? 0) + (now - phaseStart) / 1000;
        phase = p.phase;
        phaseStart = now;
        process.stderr.write(`${new Date().toISOString()} ${p.phase}\n`);
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const indexBytes = listedFiles(manifest).reduce((a, f) => a + f.entry.bytes, 0) + statSync(join(path, 'manifest.json')).size;
  const tokenBytes = manifest.segments.reduce((a, s) => a + s.codes.bytes + s.residuals.bytes, 0);
  return {
    benchmark: 'msmarco-shaped build',
    machine: machine(),
    kernels: kernelsStatus().active,
    passages: nPassages,
    tokens: manifest.counts.tokens,
    meanTokensPerPassage: tokens / nPassages,
    centroids: manifest.counts.centroids,
    centroidAssignment: manifest.settings.centroidAssignment,
    segments: manifest.segments.length,
    seconds,
    phases,
    peakRssMiB: peakRssMiB(),
    indexBytes,
    bytesPerToken: indexBytes / manifest.counts.tokens,
    codesResidualsBytesPerToken: tokenBytes / manifest.counts.tokens,
  };
}

/** The query generator's seed (`search` and bench/msmarco-compare.ts use the same queries). */
export const QUERY_SEED = SEED + 99;
/** Tokens of a generated query (ColBERT's query length with [MASK] padding). */
export const QUERY_TOKENS = 32;
/** The dimension of the shape's vectors. */
export const MSMARCO_DIM = DIM;

/**
 * `nQueries` queries of the shape over an index of `nPassages` passages: each is QUERY_TOKENS
 * noisy copies of tokens of a random passage (seeded by `seed`), unit rows, QUERY_TOKENS × DIM.
 * `pool` is `topicalPool()` (passed in: it is 512 MiB and callers make it once).
 */
export function msmarcoQueries(pool: Float32Array, nPassages: number, nQueries: number, seed = QUERY_SEED): TokenEmbeddings[] {
  const lengths = passageLengths(nPassages);
  const rng = new Random(seed);
  return Array.from({ length: nQueries }, (): TokenEmbeddings => {
    const pid = rng.int(nPassages);
    const start = passageStart(pid, lengths[pid]!);
    const vectors = new Float32Array(QUERY_TOKENS * DIM);
    for (let i = 0; i < QUERY_TOKENS; i++) {
      const row = (start + rng.int(lengths[pid]!)) * DIM;
      for (let d = 0; d < DIM; d++) vectors[i * DIM + d] = pool[row + d]! + QUERY_NOISE * rng.normal();
    }
    normalizeRows(vectors, QUERY_TOKENS, DIM);
    return { vectors, length: QUERY_TOKENS, tokenIds: new Int32Array(QUERY_TOKENS) };
  });
}

async function search(path: string, nQueries: number, workers: number): Promise<object> {
  // The query generator's pool (512 MiB) is made before the index is opened, so that RSS figures
  // after opening are differences against rssBeforeOpenMiB.
  const pool = topicalPool();
  // The format's share of opening (mapping and checking the arrays), then a whole open (plus the
  // document store's pid → document map and the scoring workers' start).
  const rss0 = rssMiB();
  let t0 = performance.now();
  const arrays = loadIndexData(path, getKernels());
  const loadArraysMs = performance.now() - t0;
  const rssAfterLoadArrays = rssMiB();
  t0 = performance.now();
  const index = await openIndex(path, { workers });
  const openMs = performance.now() - t0;
  const rssAfterOpen = rssMiB();
  const splitAfterOpen = rssSplitMiB();
  try {
    const queries = msmarcoQueries(pool, index.manifest.counts.passages, nQueries);
    const texts = queries.map(() => '');
    const one = async (k: number, exhaustive: boolean, n: number): Promise<{ ms: number[]; hits: string[][]; stages: Record<string, number> }> => {
      const ms: number[] = [];
      const hits: string[][] = [];
      // Mean time per PLAID stage (as the workers measured it) and candidates per query.
      const stages: Record<string, number> = { candidatesMs: 0, pruneMs: 0, interactionMs: 0, exactMs: 0, candidates: 0 };
      // Warm-up: 10 PLAID queries; one exhaustive query (each scores every passage).
      for (let i = 0; i < Math.min(exhaustive ? 1 : 10, n); i++) await index.searchEncodedBatch([''], [queries[i]!], { mode: 'late', topK: k, exhaustive });
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const [r] = await index.searchEncodedBatch([texts[i]!], [queries[i]!], { mode: 'late', topK: k, exhaustive });
        ms.push(performance.now() - t);
        hits.push(r!.hits.map((h) => h.docId));
        for (const key of Object.keys(stages)) stages[key]! += ((r!.timings as unknown as Record<string, number | undefined>)[key] ?? 0) / n;
      }
      return { ms, hits, stages };
    };
    const out: Record<string, unknown> = {};
    for (const k of [10, 100]) {
      const plaid = await one(k, false, nQueries);
      out[`plaidK${k}Ms`] = percentiles(plaid.ms);
      out[`plaidK${k}StagesMean`] = plaid.stages;
      if (k === 10) {
        out.rssAfterQueriesMiB = rssMiB();
        out.rssSplitAfterQueriesMiB = rssSplitMiB();
      }
      const nExh = Math.min(nQueries, Number(process.env.EXHAUSTIVE_QUERIES ?? nQueries));
      const exh = await one(k, true, nExh);
      out[`exhaustiveK${k}Ms`] = { ...percentiles(exh.ms), queries: nExh };
      let agree = 0;
      let total = 0;
      for (let i = 0; i < nExh; i++) {
        const want = new Set(exh.hits[i]);
        total += want.size;
        for (const d of plaid.hits[i]!) if (want.has(d)) agree++;
      }
      out[`fidelityK${k}`] = agree / total;
      out[`speedupK${k}`] = (out[`exhaustiveK${k}Ms`] as { p50: number }).p50 / (out[`plaidK${k}Ms`] as { p50: number }).p50;
    }
    return {
      benchmark: 'msmarco-shaped search',
      machine: machine(),
      kernels: kernelsStatus().active,
      workers,
      queries: nQueries,
      passages: index.manifest.counts.passages,
      tokens: index.manifest.counts.tokens,
      loadArraysMs,
      mapped: arrays.mapped,
      verifiedOnOpen: arrays.verified,
      rssAfterLoadArraysMiB: rssAfterLoadArrays,
      openMs,
      rssBeforeOpenMiB: rss0,
      rssAfterOpenMiB: rssAfterOpen,
      rssSplitAfterOpenMiB: splitAfterOpen,
      ...out,
      rssAfterAllMiB: rssMiB(),
      peakRssMiB: peakRssMiB(),
    };
  } finally {
    await index.close();
  }
}

/**
 * Share of a built index's tokens whose stored code is the nearest of its centroids by brute force
 * (how much an approximate assignment moved), over `nTokens` tokens of passages spread over the
 * index: the passages' vectors are regenerated exactly as `build` made them.
 */
async function agreement(path: string, nTokens: number): Promise<object> {
  const kernels = getKernels();
  const data = loadIndexData(path, kernels);
  const nPassages = data.manifest.counts.passages;
  const pool = topicalPool();
  const lengths = passageLengths(nPassages);
  const k = data.manifest.counts.centroids;
  const vectors = new Float32Array(nTokens * DIM);
  const stored = new Int32Array(nTokens);
  let n = 0;
  const step = Math.max(1, Math.floor(nPassages / Math.ceil(nTokens / 70)));
  for (let pid = 0; pid < nPassages && n < nTokens; pid += step) {
    const len = lengths[pid]!;
    const start = passageStart(pid, len);
    const seg = data.segments.find((s) => pid >= s.firstPid && pid < s.firstPid + s.passages)!;
    const row = data.tokenStarts[pid]!;
    for (let t = 0; t < len && n < nTokens; t++, n++) {
      vectors.set(pool.subarray((start + t) * DIM, (start + t + 1) * DIM), n * DIM);
      stored[n] = seg.codes[row + t]!;
    }
  }
  const brute = new Int32Array(n);
  const bruteScores = new Float32Array(n);
  const tb = performance.now();
  kernels.assignNearest(vectors, n, data.centroids, k, DIM, brute, bruteScores);
  const bruteMs = performance.now() - tb;
  let same = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    if (brute[i] === stored[i]) same++;
    let s = 0;
    const c = stored[i]! * DIM;
    for (let d = 0; d < DIM; d++) s += vectors[i * DIM + d]! * data.centroids[c + d]!;
    loss += bruteScores[i]! - s;
  }
  // What two-level at other probes would keep, on the same vectors and centroids (C = sqrt(K)).
  const t0 = performance.now();
  const plan = await buildTwoLevelPlan(data.centroids, k, DIM, Math.round(Math.sqrt(k)), 16, { seed: 1, kernels });
  const planMs = performance.now() - t0;
  const probes: object[] = [];
  for (const probe of [16, 32, 64, 90]) {
    const codes = new Int32Array(n);
    const t = performance.now();
    assignTwoLevel({ ...plan, probe }, kernels, vectors, n, codes);
    probes.push({ probe, ms: Math.round(performance.now() - t), sameCentroid: agreementOf(codes, brute, n) });
  }
  return { benchmark: 'msmarco-shaped agreement', index: path, centroidAssignment: data.manifest.settings.centroidAssignment, tokens: n, sameCentroid: same / n, meanInnerProductLoss: loss / n, bruteMs: Math.round(bruteMs), planMs: Math.round(planMs), nCoarse: plan.nCoarse, probes };
}

if (isMain(import.meta.url)) {
  const [cmd, a, b, c] = process.argv.slice(2);
  if (cmd === 'agreement') console.log(JSON.stringify(await agreement(a ?? 'bench-msmarco', Number(b ?? 20_000)), null, 2));
  else if (cmd === 'build') console.log(JSON.stringify(await build(Number(a ?? 1_000_000), b ?? 'bench-msmarco'), null, 2));
  else if (cmd === 'assemble') console.log(JSON.stringify(await assemble(Number(a ?? 1_000_000), b ?? 'bench-msmarco'), null, 2));
  else if (cmd === 'search') console.log(JSON.stringify(await search(a ?? 'bench-msmarco', Number(b ?? 1000), Number(c ?? 2)), null, 2));
  else {
    console.error('usage: msmarco-shaped build <passages> <indexPath> | search <indexPath> [queries] [workers] | agreement <indexPath> [tokens]');
    process.exit(2);
  }
}
