/**
 * The TypeScript twin of the code-scoring kernels (native-kernels/src/code-maxsim.cc): exact
 * MaxSim on the stored residual codes, without decompressing them. It is the oracle of the
 * differential tests, so every float operation is rounded to float32 (Math.fround) in the same
 * order as the C++ scalar path: the two agree bit for bit, and the SIMD paths agree with the scalar
 * one because their integer sums are exact and their float epilogue is lane-wise.
 *
 * The formula (see src/codec/code-scorer.ts for the derivation and its measured cost):
 *   score(q_i, token j) = (S[c_j, i] + scale_i · Σ_b lut_i[b][byte_b]) · inv_j
 * with S the K × qLen centroid scores of candidate generation, lut the int16 table of q_i · residual
 * per byte position and byte value, and inv_j the token's inverse norm (1 without normalisation).
 */

import { MAXSIM_EMPTY_TOKEN } from './types.js';
import { PlaitError, checkNumber } from '../errors/index.js';
import { checkCodes, checkCount, checkDim, checkLength, checkSpans } from './validate.js';

/** Query lanes of one LUT row are a multiple of this: one AVX2 register of int16 (AVX-512 takes two groups at once). */
export const CODE_LUT_LANES = 16;

/** Residual widths that code scoring supports (8 bits has no nibble split; it is the float oracle's width). */
export const CODE_SCORING_NBITS = [1, 2, 4] as const;

/** Query lanes of a LUT row for a query of qLen tokens: qLen rounded up to CODE_LUT_LANES (at least one group). */
export function codeLutLanes(qLen: number): number {
  checkNumber('qLen', qLen, 'a query length in rows');
  return Math.max(CODE_LUT_LANES, Math.ceil(qLen / CODE_LUT_LANES) * CODE_LUT_LANES);
}

/**
 * Largest |entry| of a LUT with `nBytes` byte positions: a token's sum over all positions then
 * stays inside int16 (nBytes · bound ≤ 32,767), so the SIMD paths add int16 lanes without widening.
 */
export function codeLutBound(nBytes: number): number {
  return Math.floor(32767 / Math.max(1, nBytes));
}

function checkCodeNbits(nbits: number, dim: number): number {
  if (!(CODE_SCORING_NBITS as readonly number[]).includes(nbits)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected nbits one of ${CODE_SCORING_NBITS.join(', ')} for code scoring but received ${nbits}`, name: 'nbits' });
  }
  if ((dim * nbits) % 8 !== 0) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected dim a multiple of ${8 / nbits} for nbits ${nbits} but received ${dim}`, name: 'dim' });
  return (dim * nbits) / 8;
}

/**
 * Builds the per-query lookup table. For query token i, byte position b and byte value v:
 *   L = hi + lo, hi = Σ q_i[t]·w[bucket] over the dimensions of v's high nibble (first dims first),
 *   lo the same over its low nibble; lut[(v·nBytes + b)·lanes + i] = clamp(floor(L·(B/m_i) + 0.5), ±B)
 * with m_i = max |L| over all (b, v) of token i, B = codeLutBound(nBytes), and
 * scales[i] = m_i / B (0 when m_i = 0). Lanes i ≥ qLen are 0. Value-major rows, so one token's rows
 * spread over the cache by value. Nibble-factored: nBytes · 256 · qLen additions, not dim · 256 · qLen
 * products; m_i comes from the nibble tables (rounding is monotonic: max fl(hi + lo) = fl(max hi + max lo)).
 *
 * @param lut nBytes · 256 · codeLutLanes(qLen) int16, written
 * @param scales codeLutLanes(qLen) floats, written
 */
function buildCodeLut(q: Float32Array, qLen: number, dim: number, weights: Float32Array, nbits: number, lut: Int16Array, scales: Float32Array): void {
  checkCount('qLen', qLen);
  checkDim(dim);
  const nBytes = checkCodeNbits(nbits, dim);
  checkLength('q', q, qLen * dim);
  checkLength('weights', weights, 1 << nbits);
  const lanes = codeLutLanes(qLen);
  checkLength('lut', lut, nBytes * 256 * lanes);
  checkLength('scales', scales, lanes);
  const perNibble = 4 / nbits;
  const mask = (1 << nbits) - 1;
  const bound = codeLutBound(nBytes);
  // nib[((b·2 + h)·16 + v)·lanes + i]: h = 0 the high nibble (the byte's first dimensions).
  const nib = new Float32Array(nBytes * 32 * lanes);
  const maxAbs = new Float32Array(lanes);
  for (let b = 0; b < nBytes; b++) {
    for (let h = 0; h < 2; h++) {
      const t0 = b * 2 * perNibble + h * perNibble;
      for (let v = 0; v < 16; v++) {
        const row = ((b * 2 + h) * 16 + v) * lanes;
        for (let s = 0; s < perNibble; s++) {
          const w = weights[(v >> (4 - nbits * (s + 1))) & mask]!;
          for (let i = 0; i < qLen; i++) nib[row + i] = Math.fround(nib[row + i]! + Math.fround(q[i * dim + t0 + s]! * w));
        }
      }
    }
    for (let i = 0; i < qLen; i++) {
      let hiMax = -Infinity;
      let hiMin = Infinity;
      let loMax = -Infinity;
      let loMin = Infinity;
      for (let v = 0; v < 16; v++) {
        const hv = nib[(b * 2 * 16 + v) * lanes + i]!;
        const lv = nib[((b * 2 + 1) * 16 + v) * lanes + i]!;
        hiMax = Math.max(hiMax, hv);
        hiMin = Math.min(hiMin, hv);
        loMax = Math.max(loMax, lv);
        loMin = Math.min(loMin, lv);
      }
      maxAbs[i] = Math.max(maxAbs[i]!, Math.abs(Math.fround(hiMax + loMax)), Math.abs(Math.fround(hiMin + loMin)));
    }
  }
  const inv = new Float32Array(lanes);
  for (let i = 0; i < lanes; i++) {
    scales[i] = maxAbs[i] === 0 ? 0 : maxAbs[i]! / bound;
    inv[i] = maxAbs[i] === 0 ? 0 : bound / maxAbs[i]!;
  }
  for (let v = 0; v < 256; v++) {
    for (let b = 0; b < nBytes; b++) {
      const hi = (b * 2 * 16 + (v >> 4)) * lanes;
      const lo = ((b * 2 + 1) * 16 + (v & 15)) * lanes;
      const o = (v * nBytes + b) * lanes;
      for (let i = 0; i < lanes; i++) {
        const e = Math.fround(nib[hi + i]! + nib[lo + i]!);
        const r = Math.floor(Math.fround(Math.fround(e * inv[i]!) + 0.5));
        lut[o + i] = r > bound ? bound : r < -bound ? -bound : r;
      }
    }
  }
}

/**
 * Exact MaxSim on codes for nDocs documents (rows [tokenStarts[d], tokenStarts[d] + doclens[d]) of
 * codes / residuals, nBytes = dim·nbits/8 a row):
 *   out[d] = Σ_i w_i · max_j ((S[c_j·qLen + i] + scales[i] · acc_ij) · inv_j),
 *   acc_ij = Σ_b lut[(byte_jb·nBytes + b)·lanes + i] (exact in int16),
 *   inv_j = 1 / sqrt(max(centroidNormsSq[c_j] + Σ_k count_jk · fl(w_k²), 1e-24)) with count_jk the
 *           token's dimensions in bucket k (the exact ‖r_j‖², summed over k ascending),
 *           or 1 when centroidNormsSq is null.
 * An empty document scores Σ_i w_i · MAXSIM_EMPTY_TOKEN.
 */
function maxsimCodes(
  centroidScores: Float32Array,
  qLen: number,
  lut: Int16Array,
  scales: Float32Array,
  codes: Int32Array,
  residuals: Uint8Array,
  dim: number,
  nbits: number,
  tokenStarts: Int32Array,
  doclens: Int32Array,
  nDocs: number,
  centroidNormsSq: Float32Array | null,
  weights: Float32Array,
  out: Float32Array,
  qWeights?: Float32Array | null,
): void {
  checkCount('qLen', qLen);
  checkCount('nDocs', nDocs);
  checkDim(dim);
  const nBytes = checkCodeNbits(nbits, dim);
  const lanes = codeLutLanes(qLen);
  const k = qLen === 0 ? 0 : Math.floor(centroidScores.length / qLen);
  checkLength('lut', lut, nBytes * 256 * lanes);
  checkLength('scales', scales, lanes);
  checkLength('weights', weights, 1 << nbits);
  const rows = Math.min(codes.length, Math.floor(residuals.length / nBytes));
  checkSpans('tokenStarts', tokenStarts, doclens, nDocs, rows);
  checkLength('out', out, nDocs);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
  if (centroidNormsSq !== null) checkLength('centroidNormsSq', centroidNormsSq, k);
  for (let d = 0; d < nDocs; d++) checkCodes(codes, tokenStarts[d]!, tokenStarts[d]! + doclens[d]!, k);
  const nb = 1 << nbits;
  const mask = nb - 1;
  const perByte = 8 / nbits;
  const wsq = Float32Array.from({ length: nb }, (_, b) => Math.fround(weights[b]! * weights[b]!));
  const counts = new Int32Array(nb);
  const best = new Float32Array(qLen);
  const acc = new Int32Array(qLen);
  for (let d = 0; d < nDocs; d++) {
    const len = doclens[d]!;
    let total = 0;
    if (len === 0) {
      out[d] = emptyDocumentScore(qLen, qWeights);
      continue;
    }
    best.fill(-Infinity);
    for (let j = tokenStarts[d]!, end = j + len; j < end; j++) {
      const c = codes[j]!;
      const rb = j * nBytes;
      let inv = 1;
      if (centroidNormsSq !== null) {
        counts.fill(0);
        for (let b = 0; b < nBytes; b++) {
          const byte = residuals[rb + b]!;
          for (let s = 0; s < perByte; s++) counts[(byte >> (8 - nbits * (s + 1))) & mask]!++;
        }
        let r2 = 0;
        for (let kk = 0; kk < nb; kk++) r2 = Math.fround(r2 + Math.fround(counts[kk]! * wsq[kk]!));
        const n2 = Math.fround(centroidNormsSq[c]! + r2);
        inv = Math.fround(1 / Math.fround(Math.sqrt(n2 >= NORM_FLOOR ? n2 : NORM_FLOOR)));
      }
      foldCodeRow(centroidScores, qLen, lut, scales, lanes, codes, residuals, nBytes, j, inv, acc, best);
    }
    for (let i = 0; i < qLen; i++) total = Math.fround(total + (qWeights ? Math.fround(qWeights[i]! * best[i]!) : best[i]!));
    out[d] = total;
  }
}

/**
 * Folds row j of codes / residuals (nBytes bytes a row) into `best` (qLen floats):
 *   best[i] = max(best[i], (S[c_j·qLen + i] + scales[i] · acc_ij) · inv),  acc_ij = Σ_b lut[(byte_jb·nBytes + b)·lanes + i],
 * in float32 in the native order (one token of maxsimCodeRows, code-maxsim.cc); `acc` is qLen integers of scratch.
 * Shared by maxsimCodes and the ternary code scorer (ternary-code-kernels.ts), whose LUTs have this layout.
 */
export function foldCodeRow(centroidScores: Float32Array, qLen: number, lut: Int16Array, scales: Float32Array, lanes: number, codes: Int32Array, residuals: Uint8Array, nBytes: number, j: number, inv: number, acc: Int32Array, best: Float32Array): void {
  const rb = j * nBytes;
  acc.fill(0);
  for (let b = 0; b < nBytes; b++) {
    const row = (residuals[rb + b]! * nBytes + b) * lanes;
    for (let i = 0; i < qLen; i++) acc[i] = acc[i]! + lut[row + i]!;
  }
  const srow = codes[j]! * qLen;
  for (let i = 0; i < qLen; i++) {
    const x = Math.fround(centroidScores[srow + i]! + Math.fround(scales[i]! * acc[i]!));
    const y = Math.fround(x * inv);
    if (y > best[i]!) best[i] = y;
  }
}

/** A document without tokens: Σ_i w_i · MAXSIM_EMPTY_TOKEN in float32, i ascending (the native kernels' order). */
export function emptyDocumentScore(qLen: number, qWeights?: Float32Array | null): number {
  let total = 0;
  for (let i = 0; i < qLen; i++) total = Math.fround(total + Math.fround((qWeights ? qWeights[i]! : 1) * MAXSIM_EMPTY_TOKEN));
  return total;
}

/** Smallest squared norm a token is divided by (the native kernel's 1e-24f). */
const NORM_FLOOR = Math.fround(1e-24);

export const codeKernels = { buildCodeLut, maxsimCodes };
