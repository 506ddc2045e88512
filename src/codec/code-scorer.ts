/**
 * Exact scoring on the compressed codes (issue 22): PLAID's last stage without decompression.
 *
 * ColBERT decompresses a token to d = normalize(c + r) and scores q·d. Split:
 *   q·d = (q·c + q·r) / ‖c + r‖.
 * q·c is a row of the K × qLen centroid scores that candidate generation already computed; q·r
 * comes from a per-query lookup table over the stored residual bytes (for every byte position
 * and byte value, the query token's dot product with the weights that byte decodes to), quantised
 * to int16 per query token so every SIMD path sums it exactly (native-kernels/src/code-maxsim.cc;
 * TypeScript twin src/kernels/code-kernels.ts). What remains is the norm, three ways:
 *   - 'decompress': ColBERT's exact decompression and float MaxSim (the reference);
 *   - 'codes': no norm (q·c + q·r). The token v and its centroid c are unit vectors, so for the
 *     exact residual ‖c + r‖ = ‖v‖ = 1; the quantised residual keeps it near 1. Measured: nDCG@10
 *     within +0.0009 / +0.0022 of 'decompress' on cranfield / cisi (bundled model, 2 bits), the
 *     fastest (bench/RESULTS.md, "Exact scoring on the codes"). Not the default: see
 *     EXACT_SCORING_DEFAULTS;
 *   - 'codes-normalized': ‖c + r‖² ≈ ‖c‖² + ‖r‖² (‖r‖² exact from the token's bucket counts,
 *     ‖c‖² a table per index), dropping the cross term 2c·r. Measured worse (−0.0162 nDCG@10 on
 *     cisi PLAID): with unit centroids the cross term is not 0 on average but ≈ −‖r‖²/2, so this
 *     norm penalises tokens with large residuals. Kept for comparisons.
 *   - 'fastscan': q·r on 16-entry uint8 tables per query token and residual nibble (FAISS
 *     fast-scan / next-plaid's layout; src/kernels/fast-scan.ts), looked up with pshufb / tbl for
 *     64 document tokens at once (8 bits a nibble up to 128 residual bytes, 7 at 256, against
 *     'codes'' ~10 bits a byte), divided by ColBERT's exact norm ‖c + r‖: computed once per token
 *     on first use into a per-segment cache (tokenInverseNormsCache, 4 bytes a token, per thread).
 *     Needs dim·nbits/8 ≤ FAST_SCAN_MAX_BYTES (dim ≤ 1,024 at 2 bits); wider tokens fall back to
 *     'codes'.
 * A ternary index (nbits = TERNARY_NBITS) has one method on its codes whichever of the three is
 * asked for: the byte LUT of 'codes' over its 243 byte values (a byte of five trits has no nibble
 * split for fast-scan), divided by decompression's exact norm from the same per-segment cache
 * (src/kernels/ternary-code-kernels.ts; fidelity and speed in bench/RESULTS.md, "Ternary scored on
 * the codes").
 * bench/code-scoring.ts measures the speed; `plait eval` with PLAIT_EXACT_SCORING the fidelity.
 */
import type { Kernels } from '../kernels/types.js';
import { kernelsStatus } from '../kernels/index.js';
import { CODE_SCORING_NBITS, codeLutLanes } from '../kernels/code-kernels.js';
import { FAST_SCAN_MAX_BYTES } from '../kernels/fast-scan.js';
import { PlaitError, checkObject, checkShape, checkInstance } from '../errors/index.js';
import { EXACT_SCORING_DEFAULTS, SHARED_TABLES_DEFAULTS } from '../config/defaults.js';
import { onceCell, onceReady, runOnce } from '../util/shared-once.js';
import { TERNARY_NBITS, ternaryBytes } from '../kernels/ternary-kernels.js';

export { CODE_SCORING_NBITS, codeLutLanes } from '../kernels/code-kernels.js';

/** How PLAID's exact stage scores its survivors (see the module header). */
export type ExactScoringMethod = 'decompress' | 'codes' | 'codes-normalized' | 'fastscan';
export const EXACT_SCORING_METHODS: readonly ExactScoringMethod[] = ['decompress', 'codes', 'codes-normalized', 'fastscan'];
/** The methods that score on the codes. */
export type CodeScoringMethod = Exclude<ExactScoringMethod, 'decompress'>;

/**
 * The exact-stage method in use: PLAIT_EXACT_SCORING when set, else EXACT_SCORING_DEFAULTS.method.
 * @throws PlaitError INVALID_ARGUMENT for a value of PLAIT_EXACT_SCORING that is not a method
 */
export function exactScoringMethod(env: NodeJS.ProcessEnv = process.env): ExactScoringMethod {
  checkObject('env', env, 'an environment (like process.env)');
  const v = env.PLAIT_EXACT_SCORING?.trim();
  if (v === undefined || v === '') return EXACT_SCORING_DEFAULTS.method;
  if (!(EXACT_SCORING_METHODS as readonly string[]).includes(v)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected PLAIT_EXACT_SCORING to be one of ${EXACT_SCORING_METHODS.join(', ')} but received "${v}"`, name: 'PLAIT_EXACT_SCORING' });
  }
  return v as ExactScoringMethod;
}

/** The codec arrays code scoring reads (a subset of the search's ScoringArrays). */
export interface CodeScoringCodec {
  dim: number;
  nbits: number;
  centroids: Float32Array;
  weights: Float32Array;
}

/**
 * A query prepared for code scoring: 'lut' (methods 'codes' and 'codes-normalized'): its int16
 * lookup table and per-token scales (codeLutLanes(qLen) lanes); 'fastscan': its uint8 nibble
 * tables, scales and offsets (qLen each).
 */
export type CodeQuery = LutCodeQuery | FastScanCodeQuery | TernaryCodeQuery;
export interface LutCodeQuery {
  kind: 'lut';
  qLen: number;
  lut: Int16Array;
  scales: Float32Array;
}
/** A query prepared for a ternary index: its int16 LUT over ternary byte values and scales (codeLutLanes(qLen) lanes). */
export interface TernaryCodeQuery {
  kind: 'ternary';
  qLen: number;
  lut: Int16Array;
  scales: Float32Array;
}
export interface FastScanCodeQuery {
  kind: 'fastscan';
  qLen: number;
  tables: Uint8Array;
  scales: Float32Array;
  offsets: Float32Array;
}

/** Whether code scoring supports this residual width (1, 2 and 4 bits and ternary; 8 bits is the float oracle's width). */
export function supportsCodeScoring(nbits: number): boolean {
  return (CODE_SCORING_NBITS as readonly number[]).includes(nbits) || nbits === TERNARY_NBITS;
}

/**
 * What the exact stage of an index of this width runs with this method, in words (`plait info`,
 * `plait search --timings`): PLAIT_EXACT_SCORING can ask for a code-scoring method that a width
 * cannot run (8 bits has no code scorer: decompression) or runs one way only (ternary: its byte
 * lookup table under every code-scoring method), so the method named is the one that runs; fast-scan
 * also names its lookup path (native-kernels/src/fast-scan.cc: 'avx512-vbmi-vnni', 'avx512bw', ...).
 * @param nbits the index's width (1, 2, 4, 8 or TERNARY_NBITS)
 * @param method the requested method; default: exactScoringMethod() (PLAIT_EXACT_SCORING, else
 *   EXACT_SCORING_DEFAULTS.method)
 * @param fastScanPath fast-scan's lookup path; default: kernelsStatus().fastScanPath (the kernels in use)
 */
export function describeExactStage(nbits: number, method: ExactScoringMethod = exactScoringMethod(), fastScanPath: string = kernelsStatus().fastScanPath): string {
  if (method === 'decompress') return 'decompression, float MaxSim (PLAIT_EXACT_SCORING=decompress)';
  if (!supportsCodeScoring(nbits)) return `decompression, float MaxSim (no scorer on ${nbits}-bit codes)`;
  if (nbits === TERNARY_NBITS) return "on the codes: ternary byte lookup table, divided by the token's norm";
  if (method === 'fastscan') return `on the codes: fast-scan nibble tables (${fastScanPath} lookups), divided by the token's norm`;
  if (method === 'codes-normalized') return "on the codes: int16 byte tables, divided by the token's norm";
  return 'on the codes: int16 byte tables, not normalised';
}

/** Residual bytes a token at this width. */
function bytesPerToken(codec: CodeScoringCodec): number {
  return (codec.dim * codec.nbits) / 8;
}

const centroidNormsCache = new WeakMap<Float32Array, Float32Array>();
const inverseNormsCache = new WeakMap<Uint8Array, Float32Array>();
const sharedInverseNorms = new WeakMap<Uint8Array, SharedTokenInverseNorms>();

/**
 * A segment's token-norm cache (tokenInverseNormsCache) in shared memory, for every scoring thread
 * of an index: filled with NaN once by the first thread that needs it (util/shared-once.ts), then
 * each kernel stores the norms of the tokens it scores for the others to read. A norm is a function
 * of the token's codes alone, computed by the same kernel on every thread, so two threads storing
 * one token's at once store the same bits (aligned 4-byte stores: a reader sees NaN or the value).
 * One float a token: 11.7 MiB on scifact's 3.07M tokens, which every worker had held a copy of.
 */
export interface SharedTokenInverseNorms {
  /** The once-cell guarding the NaN fill. */
  once: Int32Array;
  values: Float32Array;
}

/** An unfilled shared norm cache for a segment of `rows` tokens (a SharedArrayBuffer: no memory until the fill). */
export function sharedTokenInverseNorms(rows: number): SharedTokenInverseNorms {
  return { once: onceCell(), values: new Float32Array(new SharedArrayBuffer(rows * Float32Array.BYTES_PER_ELEMENT)) };
}

/** Makes this thread's tokenInverseNormsCache for `residuals` (its view of a segment's residuals) the shared one. */
export function useSharedTokenInverseNorms(residuals: Uint8Array, shared: SharedTokenInverseNorms): void {
  sharedInverseNorms.set(residuals, shared);
  inverseNormsCache.delete(residuals);
}

/**
 * The cache of 1/‖c + r‖ for the tokens of one segment (keyed by its residual array; one float a
 * token, NaN until the fast-scan kernel first scores the token and stores it). Per thread, unless
 * useSharedTokenInverseNorms gave this thread the scoring threads' shared one.
 */
export function tokenInverseNormsCache(residuals: Uint8Array, rows: number): Float32Array {
  let cache = inverseNormsCache.get(residuals);
  if (cache !== undefined && cache.length >= rows) return cache;
  const shared = sharedInverseNorms.get(residuals);
  if (shared !== undefined && shared.values.length >= rows && runOnce(shared.once, () => shared.values.fill(NaN), SHARED_TABLES_DEFAULTS.fillWaitMs)) return shared.values;
  cache = new Float32Array(rows).fill(NaN);
  inverseNormsCache.set(residuals, cache);
  return cache;
}

/**
 * Gives `next` (the next generation's view of a segment whose file did not change: the same codes
 * and residuals) the norm cache this thread has for `prev`'s view of it, norms computed so far
 * included: `next`'s shared cache is filled with a copy of it, else this thread's cache for `next`
 * is `prev`'s array. A norm is a function of the token's codes alone, so the bits are those a fresh
 * cache would compute.
 * @returns false, changing nothing, when this thread has no cache for `prev` (nothing to carry) or `next`'s size differs
 */
export function adoptTokenInverseNorms(prev: Uint8Array, next: Uint8Array, rows: number): boolean {
  const prevShared = sharedInverseNorms.get(prev);
  const values = inverseNormsCache.get(prev) ?? (prevShared !== undefined && onceReady(prevShared.once) ? prevShared.values : undefined);
  if (values === undefined || values.length < rows) return false;
  const shared = sharedInverseNorms.get(next);
  if (shared !== undefined) {
    if (shared.values.length !== rows || values.length !== rows) return false;
    return runOnce(shared.once, () => shared.values.set(values), SHARED_TABLES_DEFAULTS.fillWaitMs);
  }
  inverseNormsCache.set(next, values);
  return true;
}

/** ‖c‖² of every centroid, computed once per thread and centroid array (K · dim products). */
export function centroidNormsSq(codec: CodeScoringCodec): Float32Array {
  checkShape('codec', codec, 'a codec (an index\'s ResidualCodec)', ['centroids', 'dim', 'nbits']);
  const cached = centroidNormsCache.get(codec.centroids);
  if (cached !== undefined) return cached;
  const { dim, centroids } = codec;
  const k = centroids.length / dim;
  const norms = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let t = c * dim, end = t + dim; t < end; t++) s += centroids[t]! * centroids[t]!;
    norms[c] = s;
  }
  centroidNormsCache.set(centroids, norms);
  return norms;
}

/** Whether 'fastscan' can score this codec's tokens (dim·nbits/8 ≤ FAST_SCAN_MAX_BYTES); else 'codes' does. */
export function supportsFastScan(codec: CodeScoringCodec): boolean {
  checkShape('codec', codec, 'a codec (an index\'s ResidualCodec)', ['centroids', 'dim', 'nbits']);
  return (CODE_SCORING_NBITS as readonly number[]).includes(codec.nbits) && bytesPerToken(codec) <= FAST_SCAN_MAX_BYTES;
}

/**
 * Builds the query's tables, once a query, shared by every chunk and segment: for 'codes' and
 * 'codes-normalized' the int16 lookup table (nBytes · 256 · codeLutLanes(qLen): 64 KiB for a
 * 32-token query at 128 d and 2 bits); for 'fastscan' the uint8 nibble tables (nBytes · 32 · qLen:
 * 32 KiB there), or the int16 table where the tokens are too wide for fast-scan. For a ternary index,
 * whatever the method, its int16 LUT over ternary byte values (ceil(dim/5) · 256 · codeLutLanes(qLen):
 * 416 KiB at 128 d and 32 query tokens).
 * @throws PlaitError INVALID_ARGUMENT when the index's nbits has no code scoring
 */
export function prepareCodeQuery(codec: CodeScoringCodec, q: Float32Array, qLen: number, kernels: Kernels, method?: 'codes' | 'codes-normalized'): LutCodeQuery | TernaryCodeQuery;
export function prepareCodeQuery(codec: CodeScoringCodec, q: Float32Array, qLen: number, kernels: Kernels, method: CodeScoringMethod): CodeQuery;
export function prepareCodeQuery(codec: CodeScoringCodec, q: Float32Array, qLen: number, kernels: Kernels, method: CodeScoringMethod = 'codes'): CodeQuery {
  checkShape('codec', codec, 'a codec (an index\'s ResidualCodec)', ['centroids', 'dim', 'nbits']);
  checkInstance('q', q, Float32Array);
  if (!supportsCodeScoring(codec.nbits)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected an index of ${CODE_SCORING_NBITS.join(', ')} bits or ternary for code scoring but it has ${codec.nbits}`, name: 'nbits' });
  }
  if (codec.nbits === TERNARY_NBITS) {
    const lanes = codeLutLanes(qLen);
    const lut = new Int16Array(ternaryBytes(codec.dim) * 256 * lanes);
    const scales = new Float32Array(lanes);
    kernels.buildTernaryCodeLut(q, qLen, codec.dim, codec.weights, lut, scales);
    return { kind: 'ternary', qLen, lut, scales };
  }
  if (method === 'fastscan' && supportsFastScan(codec)) {
    const tables = new Uint8Array(bytesPerToken(codec) * 32 * qLen);
    const scales = new Float32Array(qLen);
    const offsets = new Float32Array(qLen);
    kernels.buildFastScanTables(q, qLen, codec.dim, codec.weights, codec.nbits, tables, scales, offsets);
    return { kind: 'fastscan', qLen, tables, scales, offsets };
  }
  const lanes = codeLutLanes(qLen);
  const lut = new Int16Array(bytesPerToken(codec) * 256 * lanes);
  const scales = new Float32Array(lanes);
  kernels.buildCodeLut(q, qLen, codec.dim, codec.weights, codec.nbits, lut, scales);
  return { kind: 'lut', qLen, lut, scales };
}

/**
 * Scores nDocs documents (rows [tokenStarts[d], tokenStarts[d] + doclens[d]) of codes / residuals)
 * on their codes: `centroidScores` is K × qLen (candidate generation's), `normalize` picks the
 * ‖c‖² + ‖r‖² norm ('codes-normalized', true) or none ('codes', false) for a 'lut' query; a
 * 'fastscan' query always divides by the exact ‖c + r‖ and ignores it.
 */
export function scoreOnCodes(
  codec: CodeScoringCodec,
  cq: CodeQuery,
  centroidScores: Float32Array,
  codes: Int32Array,
  residuals: Uint8Array,
  tokenStarts: Int32Array,
  doclens: Int32Array,
  nDocs: number,
  normalize: boolean,
  kernels: Kernels,
  out: Float32Array,
  qWeights: Float32Array | null,
): void {
  checkShape('codec', codec, 'a codec (an index\'s ResidualCodec)', ['centroids', 'dim', 'nbits']);
  checkShape('cq', cq, 'a CodeQuery (from prepareCodeQuery)', ['kind']);
  if (cq.kind === 'ternary') {
    kernels.maxsimTernaryCodes(centroidScores, cq.qLen, cq.lut, cq.scales, codes, residuals, codec.dim, tokenStarts, doclens, nDocs, out, qWeights, tokenInverseNormsCache(residuals, codes.length), codec.centroids, codec.weights);
    return;
  }
  if (cq.kind === 'fastscan') {
    kernels.maxsimFastScan(centroidScores, cq.qLen, cq.tables, cq.scales, cq.offsets, codes, residuals, codec.dim, codec.nbits, tokenStarts, doclens, nDocs, out, qWeights, tokenInverseNormsCache(residuals, codes.length), codec.centroids, codec.weights);
    return;
  }
  const norms = normalize ? centroidNormsSq(codec) : null;
  kernels.maxsimCodes(centroidScores, cq.qLen, cq.lut, cq.scales, codes, residuals, codec.dim, codec.nbits, tokenStarts, doclens, nDocs, norms, codec.weights, out, qWeights);
}

/**
 * The similarity of every (query token, passage token) pair as 'fastscan' scores it, for one
 * passage (rows [start, start + len) of a segment's codes and residuals): qLen × len floats, each
 * bit-for-bit the value the fast-scan kernel takes the max of, so an explanation's contributions
 * sum to the search score. On `kernels`' fastScanTokenSimilarities (the addon's, ~40x the
 * TypeScript twin on a 128-token passage: bench/RESULTS.md, "Search highlights").
 */
export function fastScanSimilarities(codec: CodeScoringCodec, cq: FastScanCodeQuery, centroidScores: Float32Array, codes: Int32Array, residuals: Uint8Array, start: number, len: number, kernels: Pick<Kernels, 'fastScanTokenSimilarities'>): Float32Array {
  const out = new Float32Array(cq.qLen * len);
  kernels.fastScanTokenSimilarities(centroidScores, cq.qLen, cq.tables, cq.scales, cq.offsets, codes, residuals, codec.dim, codec.nbits, start, len, out, tokenInverseNormsCache(residuals, codes.length), codec.centroids, codec.weights);
  return out;
}
