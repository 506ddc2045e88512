/**
 * Steps 2–3 of a ColBERTv2 build, independent of where embeddings come from (an encoder over a
 * corpus, or precomputed/synthetic vectors): sample passages, train k-means centroids, fit the
 * residual codec on held-out vectors, then compress every passage chunk by chunk into the writer.
 *
 * Memory does not grow with the corpus (issue 9): the sample is spilled as float16 to a temporary
 * file; a reservoir keeps the row numbers of the vectors k-means trains on plus the held-out ones
 * (2^18 + 50k at most), and k-means reads its rows back block by block; only the held-out vectors
 * (≤ 50k) are in memory;
 * every sampled passage is spilled as float16 to a temporary file and read back when its pid comes
 * up, so it is encoded once. Chunks are sized in bytes of float32 vectors
 * (BUILD_MEMORY_DEFAULTS.chunkBytes), not passages, so a 512-d model holds as little as a 128-d one.
 * Measured with the bundled model (bench/build-memory.ts, /usr/bin/time -v): see bench/RESULTS.md.
 */
import { join } from 'node:path';
import { BUILD_DEFAULTS, BUILD_MEMORY_DEFAULTS, TWO_LEVEL_ASSIGN_DEFAULTS } from '../config/defaults.js';
import { PlaitError } from '../errors/index.js';
import { ResidualCodec, type Nbits } from '../codec/residual-codec.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import type { Kernels } from '../kernels/types.js';
import { Random } from '../util/random.js';
import { centroidCount, trainKmeans, type VectorRows } from './kmeans.js';
import { IndexWriter } from './index-writer.js';
import { ParallelAssigner } from './parallel-assign.js';
import { RowReservoir, SampleSpill } from './sample-store.js';
import { agreementOf, buildTwoLevelPlan, chooseAssignment, resolveCentroidAssignment, settleProbe, type ResolvedCentroidAssignment } from './two-level-assign.js';
import type { CentroidAssignmentRecord } from '../format/manifest.js';
import type { AssignFn } from './parallel-assign.js';
import { firstNonFinite } from '../util/vectors.js';

export interface EmbeddingSource {
  readonly nPassages: number;
  readonly dim: number;
  /** Size of the token-id space, for document frequencies (0: none recorded). */
  readonly vocabSize: number;
  /** Embeddings of the given passages, in the order given. */
  embed(pids: Int32Array): Promise<TokenEmbeddings[]>;
}

export interface CompressOptions {
  nbits: Nbits;
  seed: number;
  /** Passages per chunk; default: as many as fit BUILD_MEMORY_DEFAULTS.chunkBytes, at most BUILD_DEFAULTS.chunkSize. */
  chunkSize?: number;
  kmeansIters?: number;
  kernels: Kernels;
  /** Threads for nearest-centroid assignment (default: all cores). */
  threads?: number;
  /** Largest residual segment file in bytes (default FORMAT_DEFAULTS.segmentBytes). */
  segmentBytes?: number;
  /** Nearest-centroid assignment of the compression pass (resolveCentroidAssignment); k-means always trains exactly. Default: exact. */
  assignment?: ResolvedCentroidAssignment;
  progress: (phase: 'sample' | 'kmeans' | 'encode', done: number, total: number) => void;
  checkAbort: () => void;
  /** Each passage's model token ids as it is encoded (the document store keeps their distinct ids, so that a delete subtracts them from token df). */
  onPassageTokens?: (pid: number, tokenIds: Int32Array) => void;
}

export interface CompressResult {
  writer: IndexWriter;
  codec: ResidualCodec;
  df: Int32Array;
  avgResidual: number;
  kmeansIters: number;
  sampledPassages: number;
  kmeansVectors: number;
  /** What the compression pass's assignment was (for the manifest's settings). */
  centroidAssignment: CentroidAssignmentRecord;
}

/** ColBERT's sample size: 1 + 16·sqrt(120·N) passages, at most N. */
export function sampleSize(nPassages: number): number {
  return Math.min(nPassages, 1 + Math.floor(16 * Math.sqrt(120 * nPassages)));
}

export async function compressPassages(dir: string, source: EmbeddingSource, o: CompressOptions): Promise<CompressResult> {
  const { nPassages, dim } = source;
  const rng = new Random(o.seed);
  const nSample = sampleSize(nPassages);
  const samplePids = rng.sampleDistinct(nPassages, nSample); // ascending
  const reservoir = new RowReservoir(BUILD_DEFAULTS.kmeansMaxSample + BUILD_DEFAULTS.heldoutMax, rng);
  const spill = new SampleSpill(join(dir, 'sample'), dim);
  try {
    // Steps of at most ~chunkBytes of vectors (guessing 128 tokens a passage until the first step is
    // seen), small enough for progress reports; the encoder batches and parallelises within a step.
    const sampleStep = o.chunkSize ?? Math.max(16, Math.min(512, Math.floor(BUILD_MEMORY_DEFAULTS.chunkBytes / (128 * dim * 4))));
    for (let i = 0; i < samplePids.length; i += sampleStep) {
      o.checkAbort();
      const pids = samplePids.subarray(i, i + sampleStep);
      const embs = await source.embed(pids);
      embs.forEach((e, j) => {
        checkDim(e, dim, pids[j]!);
        spill.append(e);
        reservoir.add(e.length);
      });
      o.progress('sample', Math.min(i + sampleStep, nSample), nSample);
    }
    const sampleTokens = reservoir.total;
    if (sampleTokens === 0) throw new PlaitError('EMPTY_CORPUS', { message: 'the sampled passages have no tokens (every text is empty to the model)' });

    // The reservoir's rows, shuffled: the first are held out for the codec (ColBERT: 5%), the rest
    // (capped) train k-means, both read back from the spill (in row order, so reads are
    // sequential). Tiny samples use every vector for both.
    const rows = reservoir.shuffled();
    const tiny = sampleTokens < 256;
    const nHeldout = tiny ? sampleTokens : Math.min(BUILD_DEFAULTS.heldoutMax, Math.max(1, Math.floor(sampleTokens * BUILD_DEFAULTS.heldoutFraction)));
    const trainFrom = tiny ? 0 : nHeldout;
    const nTrain = Math.min(BUILD_DEFAULTS.kmeansMaxSample, sampleTokens - trainFrom, reservoir.size - trainFrom);
    const heldoutRows = rows.slice(0, nHeldout).sort();
    const trainRows = rows.slice(trainFrom, trainFrom + nTrain).sort();
    const train: VectorRows = { read: (from, to, out) => spill.readRows(trainRows, from, to, out) };
    const meanTokens = sampleTokens / nSample;
    const estimatedTokens = meanTokens * nPassages;
    const k = centroidCount(estimatedTokens, nTrain);
    const iters = o.kmeansIters ?? BUILD_DEFAULTS.kmeansIters;
    const chunkSize = o.chunkSize ?? Math.max(16, Math.min(BUILD_DEFAULTS.chunkSize, Math.floor(BUILD_MEMORY_DEFAULTS.chunkBytes / (Math.max(1, meanTokens) * dim * 4))));
    o.progress('kmeans', 0, iters);
    const assigner = new ParallelAssigner(o.kernels, o.threads);
    try {
      return await compressAll(dir, source, { ...o, chunkSize }, { assigner, samplePids, spill, train, nTrain, heldoutRows, k, iters, nSample });
    } finally {
      await assigner.close();
    }
  } finally {
    spill.dispose();
  }
}

function checkDim(e: TokenEmbeddings, dim: number, pid: number): void {
  if (e.vectors.length !== e.length * dim) {
    throw new PlaitError('DIMENSION_MISMATCH', { expected: dim, received: e.length === 0 ? 0 : e.vectors.length / e.length, pid });
  }
  checkFinite(e, dim, `passage ${pid}`);
}

/**
 * Refuses a NaN or infinite embedding value: compressed, it would become a valid-looking centroid id
 * and residual whose scores are garbage (NaN compares false, so MaxSim silently drops the token).
 * @throws PlaitError INVALID_INPUT naming the passage, token and dimension.
 */
export function checkFinite(e: TokenEmbeddings, dim: number, what: string): void {
  const at = firstNonFinite(e.vectors);
  if (at < 0) return;
  throw new PlaitError('INVALID_INPUT', { message: `${what} has a non-finite embedding value (${e.vectors[at]}) at token ${Math.floor(at / dim)}, dimension ${at % dim}: the encoder produced it or the input vectors are corrupt`, token: Math.floor(at / dim), dimension: at % dim });
}

interface Prepared {
  assigner: ParallelAssigner;
  samplePids: Int32Array;
  spill: SampleSpill;
  train: VectorRows;
  nTrain: number;
  /** Spill rows of the held-out vectors: read only to fit the codec, so they are not held during k-means or compression. */
  heldoutRows: Float64Array;
  k: number;
  iters: number;
  nSample: number;
}

async function compressAll(dir: string, source: EmbeddingSource, o: CompressOptions & { chunkSize: number }, p: Prepared): Promise<CompressResult> {
  const { nPassages, dim } = source;
  const { assigner, samplePids, spill, train, nTrain, heldoutRows, k, iters, nSample } = p;
  const centroids = await trainKmeans(train, nTrain, dim, k, { iters, seed: o.seed, kernels: o.kernels, assign: assigner.assign, onIteration: (it) => o.progress('kmeans', it + 1, iters) });
  const { codec, avgResidual, assign, record } = await fitCodecAndAssignment(assigner, centroids, k, dim, o, spill, heldoutRows);

  // One shared staging buffer for a chunk's vectors, grown when needed and reused: allocating a
  // fresh SharedArrayBuffer per chunk leaves V8 hundreds of MB of external garbage to collect late.
  let staging = new Float32Array(new SharedArrayBuffer(4));
  const writer = new IndexWriter(dir, codec, { segmentBytes: o.segmentBytes });
  const df = new Int32Array(Math.max(0, source.vocabSize));
  const lastSeen = new Int32Array(df.length).fill(-1);
  // Sampled pids are ascending, and so are chunks: the sample passages of each chunk are the next
  // run of the spill, read back in one sequential read.
  let nextSample = 0;
  const embedChunk = async (from: number): Promise<TokenEmbeddings[]> => {
    const to = Math.min(nPassages, from + o.chunkSize);
    const s0 = nextSample;
    while (nextSample < samplePids.length && samplePids[nextSample]! < to) nextSample++;
    const s1 = nextSample;
    const missing: number[] = [];
    for (let pid = from, s = s0; pid < to; pid++) {
      if (s < s1 && samplePids[s] === pid) s++;
      else missing.push(pid);
    }
    const fresh = missing.length > 0 ? await source.embed(Int32Array.from(missing)) : [];
    const sampled = s1 > s0 ? spill.read(s0, s1) : [];
    const out: TokenEmbeddings[] = [];
    for (let pid = from, s = 0, m = 0; pid < to; pid++) {
      if (s < sampled.length && samplePids[s0 + s] === pid) out.push(sampled[s++]!);
      else {
        const e = fresh[m++]!;
        checkDim(e, dim, pid);
        out.push(e);
      }
    }
    return out;
  };
  let next: Promise<TokenEmbeddings[]> | null = embedChunk(0);
  // Wall time of the assignment calls alone (not the residual packing compressWith also does).
  let assignMs = 0;
  const timedAssign: AssignFn = async (v, n, c, kk, d, codes, scores) => {
    const t0 = performance.now();
    await assign(v, n, c, kk, d, codes, scores);
    assignMs += performance.now() - t0;
  };
  for (let from = 0; from < nPassages; from += o.chunkSize) {
    o.checkAbort();
    const to = Math.min(nPassages, from + o.chunkSize);
    const embs = await next!;
    // The next chunk is embedded (on encoder workers) while this one is compressed here.
    next = to < nPassages ? embedChunk(to) : null;
    const doclens = new Int32Array(embs.length);
    let tokens = 0;
    embs.forEach((e, i) => {
      doclens[i] = e.length;
      tokens += e.length;
    });
    if (staging.length < tokens * dim) staging = new Float32Array(new SharedArrayBuffer(Math.ceil(tokens * dim * 1.25) * 4));
    const vectors = staging.subarray(0, tokens * dim);
    let row = 0;
    embs.forEach((e, i) => {
      vectors.set(e.vectors, row * dim);
      row += e.length;
      const pid = from + i;
      o.onPassageTokens?.(pid, e.tokenIds);
      for (const t of e.tokenIds) {
        if (t >= 0 && t < df.length && lastSeen[t] !== pid) {
          lastSeen[t] = pid;
          df[t]!++;
        }
      }
    });
    const { codes, residuals } = await codec.compressWith(timedAssign, vectors, tokens);
    writer.appendChunk(codes, residuals, doclens);
    o.progress('encode', to, nPassages);
  }
  return { writer, codec, df, avgResidual, kmeansIters: iters, sampledPassages: nSample, kmeansVectors: nTrain, centroidAssignment: { ...record, assignMs: Math.round(assignMs) } };
}

/**
 * The residual codec and the compression pass's assignment, from the held-out vectors (ColBERTv2:
 * bucket cutoffs and weights from held-out residuals; their exact codes also check a two-level
 * assignment). They are read from the spill here and dropped on return: up to 50k × dim float32
 * (100 MB at 512-d) that a build no longer holds through k-means and compression (issue 9).
 */
async function fitCodecAndAssignment(
  assigner: ParallelAssigner,
  centroids: Float32Array,
  k: number,
  dim: number,
  o: CompressOptions,
  spill: SampleSpill,
  heldoutRows: Float64Array,
): Promise<{ codec: ResidualCodec; avgResidual: number; assign: AssignFn; record: CentroidAssignmentRecord }> {
  const nHeldout = heldoutRows.length;
  // Shared, so that the assignment workers read it in place.
  const heldout = new Float32Array(new SharedArrayBuffer(Math.max(1, nHeldout * dim) * 4)).subarray(0, nHeldout * dim);
  spill.readRows(heldoutRows, 0, nHeldout, heldout);
  const heldoutCodes = new Int32Array(new SharedArrayBuffer(Math.max(1, nHeldout) * 4));
  await assigner.assign(heldout, nHeldout, centroids, k, dim, heldoutCodes);
  const avgResidual = meanAbsResidual(centroids, dim, heldout, nHeldout, heldoutCodes);
  const { assign, record } = await assignmentFor(assigner, centroids, k, dim, o, { vectors: heldout, n: nHeldout, codes: heldoutCodes });
  // The vectors become their residuals in place (no second 100 MB copy at 512-d), then fit the codec.
  for (let i = 0; i < nHeldout; i++) {
    const c = heldoutCodes[i]! * dim;
    for (let d = 0; d < dim; d++) heldout[i * dim + d]! -= centroids[c + d]!;
  }
  const codec = ResidualCodec.fromResiduals(centroids, dim, o.nbits, heldout, o.kernels);
  return { codec, avgResidual, assign, record };
}

/**
 * The compression pass's assignment function: brute force, or a two-level plan built over the
 * trained centroids. Two-level is checked on the held-out vectors against their exact codes (the
 * codec needed those anyway); 'auto' doubles the probe until TWO_LEVEL_ASSIGN_DEFAULTS.minAgreement
 * is met, else assigns exactly.
 */
async function assignmentFor(
  assigner: ParallelAssigner,
  centroids: Float32Array,
  k: number,
  dim: number,
  o: CompressOptions,
  check: { vectors: Float32Array; n: number; codes: Int32Array },
): Promise<{ assign: AssignFn; record: CentroidAssignmentRecord }> {
  const resolved = o.assignment ?? resolveCentroidAssignment({ centroidAssignment: 'exact' });
  const record = chooseAssignment(resolved, k);
  if (record.method === 'exact') return { assign: assigner.assign, record };
  const t0 = performance.now();
  const plan = await buildTwoLevelPlan(centroids, k, dim, record.nCoarse, record.probe, { seed: o.seed, kernels: o.kernels, assign: assigner.assign });
  const codes = new Int32Array(new SharedArrayBuffer(Math.max(1, check.n) * 4));
  const agreementAt = async (probe: number): Promise<number> => {
    await assigner.twoLevel({ ...plan, probe })(check.vectors, check.n, centroids, k, dim, codes);
    return agreementOf(codes, check.codes, check.n);
  };
  const auto = record.requested === 'auto';
  const maxProbe = auto ? Math.max(plan.probe, Math.floor(plan.nCoarse * TWO_LEVEL_ASSIGN_DEFAULTS.maxProbeShareOfCoarse)) : plan.probe;
  const settled = await settleProbe(plan.probe, maxProbe, auto ? resolved.minAgreement : 0, agreementAt);
  const agreement = Math.round(settled.agreement * 1e5) / 1e5;
  if (!settled.accepted) {
    return { assign: assigner.assign, record: { method: 'exact', requested: record.requested, checked: { nCoarse: plan.nCoarse, probe: settled.probe, agreement } } };
  }
  const used = { ...plan, probe: settled.probe };
  return { assign: assigner.twoLevel(used), record: { ...record, nCoarse: plan.nCoarse, probe: settled.probe, agreement, planMs: Math.round(performance.now() - t0) } };
}

function meanAbsResidual(centroids: Float32Array, dim: number, heldout: Float32Array, n: number, codes: Int32Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const c = codes[i]! * dim;
    for (let d = 0; d < dim; d++) s += Math.abs(heldout[i * dim + d]! - centroids[c + d]!);
  }
  return n === 0 ? 0 : s / (n * dim);
}
