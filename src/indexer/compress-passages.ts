/**
 * Steps 2–3 of a ColBERTv2 build, independent of where embeddings come from (an encoder over a
 * corpus, or precomputed/synthetic vectors): sample passages, train k-means centroids, fit the
 * residual codec on held-out vectors, then compress every passage chunk by chunk into the writer.
 */
import { BUILD_DEFAULTS } from '../config/defaults.js';
import { PlaitError } from '../errors/index.js';
import { ResidualCodec, type Nbits } from '../codec/residual-codec.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import type { Kernels } from '../kernels/types.js';
import { Random } from '../util/random.js';
import { centroidCount, trainKmeans } from './kmeans.js';
import { IndexWriter } from './index-writer.js';
import { ParallelAssigner } from './parallel-assign.js';

/** One passage after compression (views into its batch's arrays). */
interface CompressedPassage {
  codes: Int32Array;
  residuals: Uint8Array;
  tokenIds: Int32Array;
}

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
  chunkSize: number;
  kmeansIters?: number;
  kernels: Kernels;
  /** Threads for nearest-centroid assignment (default: all cores). */
  threads?: number;
  progress: (phase: 'sample' | 'kmeans' | 'encode', done: number, total: number) => void;
  checkAbort: () => void;
}

export interface CompressResult {
  writer: IndexWriter;
  codec: ResidualCodec;
  df: Int32Array;
  avgResidual: number;
  kmeansIters: number;
  sampledPassages: number;
  kmeansVectors: number;
}

/** ColBERT's sample size: 1 + 16·sqrt(120·N) passages, at most N. */
export function sampleSize(nPassages: number): number {
  return Math.min(nPassages, 1 + Math.floor(16 * Math.sqrt(120 * nPassages)));
}

export async function compressPassages(dir: string, source: EmbeddingSource, o: CompressOptions): Promise<CompressResult> {
  const { nPassages, dim } = source;
  const rng = new Random(o.seed);
  const nSample = sampleSize(nPassages);
  const samplePids = rng.sampleDistinct(nPassages, nSample);
  const sampleEmb: TokenEmbeddings[] = [];
  // Small steps here only for progress reporting (the encoder batches and parallelises within a step).
  const sampleStep = Math.min(o.chunkSize, 512);
  for (let i = 0; i < samplePids.length; i += sampleStep) {
    o.checkAbort();
    sampleEmb.push(...(await source.embed(samplePids.subarray(i, i + sampleStep))));
    o.progress('sample', Math.min(i + sampleStep, nSample), nSample);
  }
  let sampleTokens = 0;
  for (const e of sampleEmb) sampleTokens += e.length;
  if (sampleTokens === 0) throw new PlaitError('EMPTY_CORPUS', { message: 'the sampled passages have no tokens (every text is empty to the model)' });

  // Shuffle the sampled vectors' row ids; the first rows are held out for the codec (ColBERT: 5%),
  // the rest (capped) train k-means. Tiny samples use every vector for both.
  const rowIndex = new Int32Array(sampleTokens);
  const rowSource: TokenEmbeddings[] = [];
  const rowOffset = new Int32Array(sampleTokens);
  let r = 0;
  for (const e of sampleEmb) {
    for (let j = 0; j < e.length; j++, r++) {
      rowIndex[r] = r;
      rowSource[r] = e;
      rowOffset[r] = j;
    }
  }
  for (let i = sampleTokens - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = rowIndex[i]!;
    rowIndex[i] = rowIndex[j]!;
    rowIndex[j] = t;
  }
  const tiny = sampleTokens < 256;
  const nHeldout = tiny ? sampleTokens : Math.min(BUILD_DEFAULTS.heldoutMax, Math.max(1, Math.floor(sampleTokens * BUILD_DEFAULTS.heldoutFraction)));
  const trainFrom = tiny ? 0 : nHeldout;
  const nTrain = Math.min(BUILD_DEFAULTS.kmeansMaxSample, sampleTokens - trainFrom);
  const gather = (from: number, count: number): Float32Array => {
    // Shared memory, so that assignment workers read it in place.
    const out = new Float32Array(new SharedArrayBuffer(count * dim * 4));
    for (let i = 0; i < count; i++) {
      const row = rowIndex[from + i]!;
      const e = rowSource[row]!;
      const o2 = rowOffset[row]! * dim;
      out.set(e.vectors.subarray(o2, o2 + dim), i * dim);
    }
    return out;
  };
  const heldout = gather(0, nHeldout);
  const train = gather(trainFrom, nTrain);
  rowSource.length = 0;
  const estimatedTokens = (sampleTokens / nSample) * nPassages;
  const k = centroidCount(estimatedTokens, nTrain);
  const iters = o.kmeansIters ?? (nTrain < 200_000 ? BUILD_DEFAULTS.kmeansItersSmall : BUILD_DEFAULTS.kmeansIters);
  o.progress('kmeans', 0, iters);
  const assigner = new ParallelAssigner(o.kernels, o.threads);
  try {
    return await compressAll(dir, source, o, { assigner, rng: null, samplePids, sampleEmb, train, nTrain, heldout, nHeldout, k, iters, nSample });
  } finally {
    await assigner.close();
  }
}

interface Prepared {
  assigner: ParallelAssigner;
  rng: null;
  samplePids: Int32Array;
  sampleEmb: TokenEmbeddings[];
  train: Float32Array;
  nTrain: number;
  heldout: Float32Array;
  nHeldout: number;
  k: number;
  iters: number;
  nSample: number;
}

async function compressAll(dir: string, source: EmbeddingSource, o: CompressOptions, p: Prepared): Promise<CompressResult> {
  const { nPassages, dim } = source;
  const { assigner, samplePids, sampleEmb, train, nTrain, heldout, nHeldout, k, iters, nSample } = p;
  const centroids = await trainKmeans(train, nTrain, dim, k, { iters, seed: o.seed, kernels: o.kernels, assign: assigner.assign, onIteration: (it) => o.progress('kmeans', it + 1, iters) });
  const codec = ResidualCodec.fit(centroids, dim, o.nbits, heldout, o.kernels);
  const avgResidual = meanAbsResidual(codec, heldout, nHeldout);

  // The sample's embeddings are compressed now (about 1/15 of their float size at 512 d) and
  // reused when their pids come up, instead of being encoded a second time.
  // One shared staging buffer for a batch's vectors, grown when needed and reused: allocating a
  // fresh SharedArrayBuffer per chunk leaves V8 hundreds of MB of external garbage to collect late.
  let staging = new Float32Array(new SharedArrayBuffer(4));
  const compressBatch = async (embs: TokenEmbeddings[], firstPid: number): Promise<CompressedPassage[]> => {
    let tokens = 0;
    for (const e of embs) tokens += e.length;
    if (staging.length < tokens * dim) staging = new Float32Array(new SharedArrayBuffer(Math.ceil(tokens * dim * 1.25) * 4));
    const vectors = staging.subarray(0, tokens * dim);
    let row = 0;
    embs.forEach((e, i) => {
      if (e.vectors.length !== e.length * dim) {
        throw new PlaitError('DIMENSION_MISMATCH', { expected: dim, received: e.length === 0 ? 0 : e.vectors.length / e.length, pid: firstPid + i });
      }
      vectors.set(e.vectors, row * dim);
      row += e.length;
    });
    const { codes, residuals } = await codec.compressWith(assigner.assign, vectors, tokens);
    const out: CompressedPassage[] = [];
    row = 0;
    for (const e of embs) {
      out.push({ codes: codes.subarray(row, row + e.length), residuals: residuals.subarray(row * codec.bytesPerToken, (row + e.length) * codec.bytesPerToken), tokenIds: e.tokenIds });
      row += e.length;
    }
    return out;
  };
  const sampleByPid = new Map<number, CompressedPassage>();
  for (let i = 0; i < samplePids.length; i += o.chunkSize) {
    o.checkAbort();
    const packed = await compressBatch(sampleEmb.slice(i, i + o.chunkSize), -1);
    packed.forEach((c, j) => sampleByPid.set(samplePids[i + j]!, c));
  }
  sampleEmb.length = 0;

  // Every passage in pid order: sampled ones from the map, the others embedded and compressed.
  const writer = new IndexWriter(dir, codec);
  const df = new Int32Array(Math.max(0, source.vocabSize));
  const lastSeen = new Int32Array(df.length).fill(-1);
  const embedChunk = async (from: number): Promise<{ missing: Int32Array; embs: TokenEmbeddings[] }> => {
    const to = Math.min(nPassages, from + o.chunkSize);
    const missing: number[] = [];
    for (let pid = from; pid < to; pid++) if (!sampleByPid.has(pid)) missing.push(pid);
    const pids = Int32Array.from(missing);
    return { missing: pids, embs: pids.length > 0 ? await source.embed(pids) : [] };
  };
  let next: ReturnType<typeof embedChunk> | null = embedChunk(0);
  for (let from = 0; from < nPassages; from += o.chunkSize) {
    o.checkAbort();
    const to = Math.min(nPassages, from + o.chunkSize);
    const { missing, embs } = await next!;
    // The next chunk is embedded (on encoder workers) while this one is compressed here.
    next = to < nPassages ? embedChunk(to) : null;
    const fresh = embs.length > 0 ? await compressBatch(embs, missing[0]!) : [];
    const parts: CompressedPassage[] = [];
    let m = 0;
    for (let pid = from; pid < to; pid++) {
      const s = sampleByPid.get(pid);
      if (s !== undefined) {
        parts.push(s);
        sampleByPid.delete(pid);
      } else parts.push(fresh[m++]!);
    }
    const doclens = new Int32Array(parts.length);
    let tokens = 0;
    parts.forEach((c, i) => {
      doclens[i] = c.codes.length;
      tokens += c.codes.length;
    });
    const codes = new Int32Array(tokens);
    const residuals = new Uint8Array(tokens * codec.bytesPerToken);
    let row = 0;
    parts.forEach((c, i) => {
      codes.set(c.codes, row);
      residuals.set(c.residuals, row * codec.bytesPerToken);
      row += c.codes.length;
      const pid = from + i;
      for (const t of c.tokenIds) {
        if (t >= 0 && t < df.length && lastSeen[t] !== pid) {
          lastSeen[t] = pid;
          df[t]!++;
        }
      }
    });
    writer.appendChunk(codes, residuals, doclens);
    o.progress('encode', to, nPassages);
  }
  return { writer, codec, df, avgResidual, kmeansIters: iters, sampledPassages: nSample, kmeansVectors: nTrain };
}

function meanAbsResidual(codec: ResidualCodec, heldout: Float32Array, n: number): number {
  const { codes } = codec.compress(heldout, n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const c = codes[i]! * codec.dim;
    for (let d = 0; d < codec.dim; d++) s += Math.abs(heldout[i * codec.dim + d]! - codec.centroids[c + d]!);
  }
  return n === 0 ? 0 : s / (n * codec.dim);
}
