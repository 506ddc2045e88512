/**
 * Int8 operands of PLAID's stage-1 centroid scores (issue 22): the centroids and the query, each
 * row with its own symmetric scale, laid out for `Kernels.centroidScoresInt8` (native:
 * native-kernels/src/centroid-scores.cc, AVX-512 VNNI / AVX-VNNI / scalar; TypeScript twin in
 * src/kernels/typescript-kernels.ts). Rounding happens here, once, in JavaScript, so every kernel
 * path sees the same integers and returns the same bits.
 *
 * Quantisation: x8 = round(x · (1 / s)) with s = max_d |x_d| / 127 per row (a centroid, a query token),
 * so |x8| ≤ 127. A score's error is at most (s_c · ‖q‖₁ + s_q · ‖c‖₁) / 2 + s_c · s_q · dim / 4;
 * measured on the bundled model's unit-norm 512-d vectors and on 128-d ColBERT-shaped ones
 * (bench/centroid-scores.ts; bench/RESULTS.md, "Candidate generation on int8"): the probed cells
 * and the final top-k barely move, and the figures are in RESULTS.
 *
 * Why int8 and not bf16: the centroids are the stream (131,072 × 128 at 1M passages: 64 MiB in
 * float32, 32 MiB in bf16, 16 MiB in int8), and vpdpbusd does 64 multiply-adds an instruction
 * against vdpbf16ps's 32.
 */
import type { Kernels } from '../kernels/types.js';
import { SHARED_TABLES_DEFAULTS } from '../config/defaults.js';
import { onceCell, onceReady, runOnce } from '../util/shared-once.js';

/** Centroids as unsigned bytes c8 + 128 (K × dim) with one float32 scale per centroid. */
export interface QuantisedCentroids {
  bytes: Uint8Array;
  scales: Float32Array;
}

/** The query side: the 16-token panel, per-token scales and the +128 corrections. */
export interface QuantisedQuery {
  panel: Uint8Array;
  scales: Float32Array;
  corrections: Int32Array;
}

/** Query tokens per panel chunk (one 16-lane vector of int32 sums in the kernels). */
const CHUNK = 16;

/** Largest magnitude of an int8 code (symmetric: −128 is never used). */
const INT8_MAX = 127;

/** Whether the int8 kernel takes vectors of this width (4-byte groups; sums stay exact in float32 below 2^24). */
export function int8Supported(dim: number): boolean {
  return dim > 0 && dim % 4 === 0 && dim <= 512;
}

/** Row scale max|x| / 127 (float32), 0 for an all-zero row. */
function rowScale(x: Float32Array, from: number, dim: number): number {
  let m = 0;
  for (let d = 0; d < dim; d++) {
    const v = Math.abs(x[from + d]!);
    if (v > m) m = v;
  }
  return Math.fround(m / INT8_MAX);
}

/** round(v · inv) clamped to [−127, 127] (inv = 1 / scale, 0 for a zero row); 0 for NaN. A multiply, not a divide: 131,072 × 128 centroids quantise once per thread. */
function code(v: number, inv: number): number {
  const r = Math.round(v * inv);
  return r > INT8_MAX ? INT8_MAX : r < -INT8_MAX ? -INT8_MAX : r || 0;
}

const inverse = (s: number): number => (s === 0 ? 0 : 1 / s);

/** Quantises K × dim centroids (one scale per row). */
export function quantiseCentroids(centroids: Float32Array, nCentroids: number, dim: number): QuantisedCentroids {
  const q = { bytes: new Uint8Array(nCentroids * dim), scales: new Float32Array(nCentroids) };
  quantiseCentroidsInto(centroids, nCentroids, dim, q);
  return q;
}

/** `quantiseCentroids` into the arrays of `q` (K × dim bytes, K scales), every element written. */
function quantiseCentroidsInto(centroids: Float32Array, nCentroids: number, dim: number, q: QuantisedCentroids): void {
  const { bytes, scales } = q;
  for (let c = 0; c < nCentroids; c++) {
    const row = c * dim;
    const s = rowScale(centroids, row, dim);
    scales[c] = s;
    const inv = inverse(s);
    for (let d = 0; d < dim; d++) bytes[row + d] = code(centroids[row + d]!, inv) + 128;
  }
}

/**
 * Quantised centroids in shared memory, filled once by the first thread of an index's scoring
 * threads that needs them (util/shared-once.ts), read by all: a pool of N workers holds one copy
 * (K × dim bytes + K floats) and quantises once, where each worker had quantised its own
 * (scifact, 16,384 × 512: 8 MiB and 0.1–1.5 s a thread; bench/RESULTS.md, "Scoring workers'
 * start, shared tables"). The same function fills it, so the bytes are a private copy's, bit for bit.
 */
export interface SharedQuantisedCentroids extends QuantisedCentroids {
  /** The once-cell (util/shared-once.ts) guarding `bytes` and `scales`. */
  once: Int32Array;
}

/** Empty shared arrays for K × dim centroids (SharedArrayBuffers: untouched pages cost no memory until the fill). */
export function sharedQuantisedCentroids(nCentroids: number, dim: number): SharedQuantisedCentroids {
  return { once: onceCell(), bytes: new Uint8Array(new SharedArrayBuffer(nCentroids * dim)), scales: new Float32Array(new SharedArrayBuffer(nCentroids * Float32Array.BYTES_PER_ELEMENT)) };
}

/** Per-thread cache: an index's centroids are quantised once per thread that searches it (K × dim bytes), unless shared. */
const cache = new WeakMap<Float32Array, QuantisedCentroids>();
/** This thread's view of an index's centroids → the shared quantisation of them (useSharedQuantisedCentroids). */
const sharedCache = new WeakMap<Float32Array, SharedQuantisedCentroids>();

/**
 * Makes this thread take `centroids`' quantisation from `shared` (filled by whichever thread needs
 * it first) instead of quantising them itself. `centroids` is this thread's array of the index's
 * centroids (a worker maps the file again: its own object over the same contents).
 */
export function useSharedQuantisedCentroids(centroids: Float32Array, shared: SharedQuantisedCentroids): void {
  sharedCache.set(centroids, shared);
  cache.delete(centroids);
}

/**
 * The centroids this thread quantised last. A living index's next generation (a delete, a
 * compaction, an add: writes never retrain the centroids) loads the same centroids into a new array,
 * and its warm-up on the serving thread quantised them again: ≈400 ms of each refresh of scifact's
 * 16,384 × 512 (bench/RESULTS.md, "Writes off the calling thread"). Compared byte for byte instead
 * (a memcmp of 32 MB, a few ms); weakly held, so a closed index's centroids are not kept alive.
 */
let last: { source: WeakRef<Float32Array>; q: QuantisedCentroids } | null = null;

/** The last quantised codes when `centroids` holds exactly the same values as their source; else undefined. */
function sameAsLast(centroids: Float32Array, nCentroids: number): QuantisedCentroids | undefined {
  const prev = last?.source.deref();
  if (last === null || prev === undefined || prev.length !== centroids.length || last.q.scales.length !== nCentroids) return undefined;
  const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return bytes(prev).equals(bytes(centroids)) ? last.q : undefined;
}

/**
 * `quantiseCentroids`, cached by the centroids array (its contents never change while an index is
 * open); shared when useSharedQuantisedCentroids said so; copied from this thread's last
 * quantisation when the array holds the same values (`last`: a living index's next generation)
 * instead of computed again. The bytes are the same every way.
 */
export function quantisedCentroidsOf(centroids: Float32Array, nCentroids: number, dim: number): QuantisedCentroids {
  let q = cache.get(centroids);
  if (q !== undefined && q.scales.length === nCentroids) return q;
  const shared = sharedCache.get(centroids);
  if (shared !== undefined && shared.scales.length === nCentroids) {
    const fill = (): void => {
      const prev = sameAsLast(centroids, nCentroids);
      if (prev === undefined) {
        quantiseCentroidsInto(centroids, nCentroids, dim, shared);
      } else {
        shared.bytes.set(prev.bytes);
        shared.scales.set(prev.scales);
      }
    };
    if (runOnce(shared.once, fill, SHARED_TABLES_DEFAULTS.fillWaitMs)) {
      last = { source: new WeakRef(centroids), q: shared };
      return shared;
    }
  }
  // Not shared, or its filling thread did not finish (terminated mid-fill): a private copy, the same bytes.
  q = sameAsLast(centroids, nCentroids) ?? quantiseCentroids(centroids, nCentroids, dim);
  cache.set(centroids, q);
  last = { source: new WeakRef(centroids), q };
  return q;
}

/**
 * Gives `next` (the next generation's centroids, equal to `prev`'s values: the caller knows it, e.g.
 * the same file unchanged across the commit) the quantisation this thread already holds for `prev`,
 * without quantising or comparing: the shared table of `next`'s scoring threads is filled with a copy
 * (K × dim bytes), else this thread's cache points at `prev`'s codes. The bytes are the same as a
 * quantisation of `next` would give (the same values in, the same code).
 * @returns false, changing nothing, when this thread holds no quantisation of `prev` (nothing to carry)
 */
export function adoptQuantisedCentroids(prev: Float32Array, next: Float32Array, nCentroids: number, dim: number): boolean {
  if (prev.length !== next.length || !quantisedCentroidsCached(prev)) return false;
  const q = quantisedCentroidsOf(prev, nCentroids, dim);
  const shared = sharedCache.get(next);
  if (shared !== undefined) {
    if (shared.scales.length !== nCentroids) return false;
    const filled = runOnce(shared.once, () => {
      shared.bytes.set(q.bytes);
      shared.scales.set(q.scales);
    }, SHARED_TABLES_DEFAULTS.fillWaitMs);
    if (!filled) return false;
    last = { source: new WeakRef(next), q: shared };
    return true;
  }
  cache.set(next, q);
  last = { source: new WeakRef(next), q };
  return true;
}

/** Whether this thread can read these centroids quantised without quantising them (its own copy, or the shared one filled): a search's one-time setup, warm-up.ts. */
export function quantisedCentroidsCached(centroids: Float32Array): boolean {
  const shared = sharedCache.get(centroids);
  return cache.has(centroids) || (shared !== undefined && onceReady(shared.once));
}

/** Quantises qLen × dim query vectors into the kernel's panel (see Kernels.centroidScoresInt8). */
export function quantiseQuery(vectors: Float32Array, qLen: number, dim: number): QuantisedQuery {
  const groups = dim / 4;
  const chunks = Math.ceil(qLen / CHUNK);
  const panel = new Uint8Array(chunks * CHUNK * dim);
  const scales = new Float32Array(qLen);
  const corrections = new Int32Array(qLen);
  for (let i = 0; i < qLen; i++) {
    const row = i * dim;
    const s = rowScale(vectors, row, dim);
    scales[i] = s;
    const inv = inverse(s);
    const base = Math.floor(i / CHUNK) * groups * 64 + (i % CHUNK) * 4;
    let sum = 0;
    for (let d = 0; d < dim; d++) {
      const v = code(vectors[row + d]!, inv);
      sum += v;
      panel[base + (d >> 2) * 64 + (d & 3)] = v & 0xff;
    }
    corrections[i] = 128 * sum;
  }
  return { panel, scales, corrections };
}

/**
 * K × qLen centroid scores on int8 codes (row c = centroid c against each query token), into `out`
 * (every element written) when given, else a new array; with `rowMax` (K floats) also each row's
 * maximum (Kernels.centroidScoresInt8).
 */
export function centroidScoresInt8(
  centroids: Float32Array,
  nCentroids: number,
  dim: number,
  vectors: Float32Array,
  qLen: number,
  kernels: Kernels,
  out: Float32Array = new Float32Array(nCentroids * qLen),
  rowMax?: Float32Array,
): Float32Array {
  const c = quantisedCentroidsOf(centroids, nCentroids, dim);
  const q = quantiseQuery(vectors, qLen, dim);
  // +∞ until the kernel writes the maxima: an addon built before rowMax leaves it so, and +∞ makes
  // probeCentroids and keepWithinMargin read every row (the same results, the old cost).
  rowMax?.fill(Infinity);
  kernels.centroidScoresInt8(c.bytes, c.scales, nCentroids, dim, q.panel, q.scales, q.corrections, qLen, out, rowMax);
  return out;
}

/**
 * Rows `ids` of centroidScoresInt8's K × qLen scores (m = ids.length rows, m × qLen floats, row r
 * for centroid ids[r]), bit for bit: each row of the kernel is its centroid's codes and scale
 * against the quantised query and nothing else, so the rows are computed alone on the gathered
 * codes. For highlights, whose passages read a few hundred of the K rows (explain.ts).
 * @param q the query quantised once (quantiseQuery), shared by the calls of one query
 */
export function centroidScoresInt8Rows(centroids: Float32Array, nCentroids: number, dim: number, q: QuantisedQuery, qLen: number, kernels: Kernels, ids: Int32Array): Float32Array {
  const c = quantisedCentroidsOf(centroids, nCentroids, dim);
  const m = ids.length;
  // Rows copied four bytes at a time (dim is a multiple of 4): a subarray or Buffer#copy a row cost
  // ~0.4-0.7 µs, most of the call's time at 1,000 rows.
  const bytes = new Uint8Array(m * dim);
  const scales = new Float32Array(m);
  const aligned = c.bytes.byteOffset % 4 === 0;
  const from32 = aligned ? new Uint32Array(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength >>> 2) : null;
  const to32 = new Uint32Array(bytes.buffer);
  const words = dim >>> 2;
  for (let r = 0; r < m; r++) {
    const id = ids[r]!;
    if (from32 !== null) for (let w = 0, f = id * words, t = r * words; w < words; w++) to32[t + w] = from32[f + w]!;
    else bytes.set(c.bytes.subarray(id * dim, (id + 1) * dim), r * dim);
    scales[r] = c.scales[id]!;
  }
  const out = new Float32Array(m * qLen);
  kernels.centroidScoresInt8(bytes, scales, m, dim, q.panel, q.scales, q.corrections, qLen, out);
  return out;
}
