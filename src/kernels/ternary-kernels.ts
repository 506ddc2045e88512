/**
 * Ternary residual kernels (issue 22), the TypeScript twin of native-kernels/src/ternary-kernels.cc.
 * The ternary codec stores each residual dimension as one of three levels (src/codec/ternary-fit.ts
 * fits them as {−a, 0, +a}), five dimensions a byte: ceil(dim/5) bytes a token, 26 at 128 d
 * against 2-bit's 32 (19% smaller).
 *
 * Layout (pinned by test/codec-ternary.test.ts; index files depend on it): byte b holds dimensions
 * [5b, 5b + 5) as the base-3 number Σ_s trit_s · 3^(4−s), the first dimension the most significant
 * digit (as the bucket codecs put it in the most significant bits). A dimension's trit is its
 * bucket, the number of the 2 ascending cutoffs c with c <= x (the bucket codecs' rule, so a NaN
 * residual is trit 0). The last byte's missing dimensions are 0 digits. Bytes 243–255 are never
 * written; every decoder reads byte v by the digits ⌊v / 3^(4−s)⌋ mod 3.
 *
 * Decoding: centroid + weights[trit] per dimension, then L2-normalised with eight partial sums of
 * squares (dimension t into sum t mod 8, the tail past a multiple of 8 into sum 0) combined as
 * ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): the native kernel's order, with every step
 * rounded to float32 here. The native file is compiled with -ffp-contract=off, so this twin, the
 * native kernel and every CPU give the same bits (test/codec-ternary.test.ts checks it).
 */

import { checkCodes, checkCount, checkDim, checkLength, TERNARY_NBITS } from './validate.js';

export { TERNARY_NBITS };

/** Dimensions a byte: 3^5 = 243 ≤ 256 < 3^6. */
export const TRITS_PER_BYTE = 5;
const LEVELS = 3;

/** DIGITS[v·5 + s] = trit s of byte v (the layout above, bytes ≥ 243 included). */
const DIGITS = (() => {
  const t = new Uint8Array(256 * TRITS_PER_BYTE);
  for (let v = 0; v < 256; v++) {
    for (let s = 0; s < TRITS_PER_BYTE; s++) t[v * TRITS_PER_BYTE + s] = Math.floor(v / LEVELS ** (TRITS_PER_BYTE - 1 - s)) % LEVELS;
  }
  return t;
})();

/** Bytes of a ternary residual row: ceil(dim / 5). */
export function ternaryBytes(dim: number): number {
  return Math.ceil(dim / TRITS_PER_BYTE);
}

/** Checks shared by the ternary decoders (this file's and maxsimCompressed's); returns K, the number of centroids. */
export function checkTernaryCodec(dim: number, centroids: Float32Array, weights: Float32Array): number {
  checkDim(dim);
  checkLength('weights', weights, LEVELS);
  return Math.floor(centroids.length / dim);
}

/**
 * Packs the ternary residuals of n vectors into `out` (n · ceil(dim/5) bytes): residual
 * x = f32(v − centroids[codes[i]]), trit = number of cutoffs (2, ascending) <= x.
 */
export function compressTernary(vectors: Float32Array, n: number, dim: number, centroids: Float32Array, codes: Int32Array, cutoffs: Float32Array, out: Uint8Array): void {
  checkCount('n', n);
  checkDim(dim);
  const bytes = ternaryBytes(dim);
  checkLength('vectors', vectors, n * dim);
  checkLength('codes', codes, n);
  checkCodes(codes, 0, n, Math.floor(centroids.length / dim));
  checkLength('cutoffs', cutoffs, LEVELS - 1);
  checkLength('out', out, n * bytes);
  const lo = cutoffs[0]!;
  const hi = cutoffs[1]!;
  for (let i = 0; i < n; i++) {
    const vi = i * dim;
    const ci = codes[i]! * dim;
    for (let b = 0; b < bytes; b++) {
      let byte = 0;
      for (let s = 0; s < TRITS_PER_BYTE; s++) {
        const t = b * TRITS_PER_BYTE + s;
        let trit = 0;
        if (t < dim) {
          // fround: the residual is a float32, as in the native kernel, so both bucket it the same.
          const x = Math.fround(vectors[vi + t]! - centroids[ci + t]!);
          if (lo <= x) trit = hi <= x ? 2 : 1;
        }
        byte = byte * LEVELS + trit;
      }
      out[i * bytes + b] = byte;
    }
  }
}

/** Decodes rows [from, from + count) into `out` from element `outOffset`, L2-normalised (bit-exact with native). */
export function decodeTernaryRows(
  codes: Int32Array,
  residuals: Uint8Array,
  from: number,
  count: number,
  dim: number,
  centroids: Float32Array,
  weights: Float32Array,
  out: Float32Array,
  outOffset: number,
): void {
  const bytes = ternaryBytes(dim);
  const f = Math.fround;
  const floor = f(1e-12);
  for (let r = 0; r < count; r++) {
    const row = from + r;
    const ci = codes[row]! * dim;
    const rb = row * bytes;
    const o = outOffset + r * dim;
    decodeTernarySum(centroids, ci, residuals, rb, dim, weights, out, o);
    normaliseRowF32(out, o, dim, f, floor);
  }
}

/** out[o + t] = centroids[ci + t] + weights[trit t of the row at residuals[rb]] (float32), not normalised. */
function decodeTernarySum(centroids: Float32Array, ci: number, residuals: Uint8Array, rb: number, dim: number, weights: Float32Array, out: Float32Array, o: number): void {
  for (let t = 0; t < dim; t++) {
    const s = t % TRITS_PER_BYTE;
    const digit = DIGITS[residuals[rb + (t - s) / TRITS_PER_BYTE]! * TRITS_PER_BYTE + s]!;
    out[o + t] = centroids[ci + t]! + weights[digit]!;
  }
}

/**
 * out[outFrom + r] = 1 / max(‖c + r‖, 1e-12) for the ternary rows [from, from + n) of codes /
 * residuals: the factor decodeTernaryRows multiplies a row by, bit for bit (native twin:
 * ternaryInverseNorms in ternary-kernels.cc). No argument checks beyond the callers'.
 */
export function ternaryInverseNorms(codes: Int32Array, residuals: Uint8Array, from: number, n: number, dim: number, centroids: Float32Array, weights: Float32Array, out: Float32Array, outFrom: number): void {
  const bytes = ternaryBytes(dim);
  const row = new Float32Array(dim);
  for (let r = 0; r < n; r++) {
    decodeTernarySum(centroids, codes[from + r]! * dim, residuals, (from + r) * bytes, dim, weights, row, 0);
    out[outFrom + r] = inverseRowNormF32(row, 0, dim, Math.fround, Math.fround(1e-12));
  }
}

/** The native kernel's normalisation (see the header), every operation rounded to float32. */
function normaliseRowF32(out: Float32Array, o: number, dim: number, f: (x: number) => number, floor: number): void {
  const inv = inverseRowNormF32(out, o, dim, f, floor);
  for (let t = 0; t < dim; t++) out[o + t] = out[o + t]! * inv;
}

/** 1 / max(‖row‖, floor) in the native kernel's order (see the header), every operation rounded to float32. */
function inverseRowNormF32(out: Float32Array, o: number, dim: number, f: (x: number) => number, floor: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  let t = 0;
  for (; t + 8 <= dim; t += 8) {
    const a = out[o + t]!;
    const b = out[o + t + 1]!;
    const c = out[o + t + 2]!;
    const d = out[o + t + 3]!;
    const e = out[o + t + 4]!;
    const g = out[o + t + 5]!;
    const h = out[o + t + 6]!;
    const k = out[o + t + 7]!;
    s0 = f(s0 + f(a * a));
    s1 = f(s1 + f(b * b));
    s2 = f(s2 + f(c * c));
    s3 = f(s3 + f(d * d));
    s4 = f(s4 + f(e * e));
    s5 = f(s5 + f(g * g));
    s6 = f(s6 + f(h * h));
    s7 = f(s7 + f(k * k));
  }
  for (; t < dim; t++) s0 = f(s0 + f(out[o + t]! * out[o + t]!));
  const norm = f(f(f(s0 + s1) + f(s2 + s3)) + f(f(s4 + s5) + f(s6 + s7)));
  return f(1 / Math.max(f(Math.sqrt(norm)), floor));
}

/** Reconstructs n L2-normalised vectors from their codes and ternary residuals (`weights`: the 3 levels). */
export function decompressTernary(codes: Int32Array, residuals: Uint8Array, n: number, dim: number, centroids: Float32Array, weights: Float32Array, out: Float32Array): void {
  checkCount('n', n);
  const k = checkTernaryCodec(dim, centroids, weights);
  checkLength('codes', codes, n);
  checkCodes(codes, 0, n, k);
  checkLength('residuals', residuals, n * ternaryBytes(dim));
  checkLength('out', out, n * dim);
  decodeTernaryRows(codes, residuals, 0, n, dim, centroids, weights, out, 0);
}
