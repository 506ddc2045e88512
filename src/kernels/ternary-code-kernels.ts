/**
 * Exact MaxSim on the stored ternary codes (issue 22): the TypeScript twin of
 * native-kernels/src/ternary-code-scoring.cc, and the oracle of its differential tests (every float
 * operation rounded to float32 in the native order, integer sums exact, so the two agree bit for bit).
 *
 * A ternary byte holds five dimensions as one of 243 values (src/kernels/ternary-kernels.ts), so it
 * has no nibble split for pshufb / tbl (2-bit fast-scan's layout). Its table is the 256-row byte LUT
 * of the 'codes' method (src/kernels/code-kernels.ts: same layout, lanes and bound), and ColBERT's
 * norm is exact, from a per-segment cache:
 *   score(q_i, token j) = (S[c_j·qLen + i] + scales[i] · Σ_b lut[(byte_jb·nBytes + b)·lanes + i]) · inv_j
 *   out[d] = Σ_i w_i · max_j score(q_i, j)
 * with inv_j = 1/max(‖c_j + r_j‖, 1e-12) (ternaryInverseNorms: the factor decompression multiplies
 * the token by), nBytes = ceil(dim/5), lanes = codeLutLanes(qLen).
 *
 * LUT: byte v = 27h + l (h = ⌊v/27⌋ its first two digits, 9 for the never-written v ≥ 243, whose
 * digits read 0, 0; l = v mod 27 its last three):
 *   A[b][h] = (0 + q_i[5b]·w[d0]) + q_i[5b+1]·w[d1],  B[b][l] = ((0 + q_i[5b+2]·w[d2]) + q_i[5b+3]·w[d3]) + q_i[5b+4]·w[d4]
 *   (each product rounded; dimensions ≥ dim left out), e = A + B,
 *   lut = clamp(floor((e · (bound/m_i)) + 0.5), ±bound), m_i = max |e| over (b, v), bound = codeLutBound(nBytes),
 *   scales[i] = m_i / bound (0 when m_i = 0).
 * Quantisation bound: |entry · scale_i − e| ≤ scale_i/2, so a score is within (nBytes · scale_i/2) · inv_j
 * of the same formula on the exact table, i.e. of q_i · decompress(token j) up to float rounding.
 * Speed and fidelity: bench/RESULTS.md, "Ternary scored on the codes".
 */
import { checkCodes, checkCount, checkDim, checkLength, checkSpans } from './validate.js';
import { codeLutBound, codeLutLanes, emptyDocumentScore, foldCodeRow } from './code-kernels.js';
import { ternaryBytes, ternaryInverseNorms } from './ternary-kernels.js';
import { PlaitError } from '../errors/index.js';

const HEADS = 10;
const TAILS = 27;

/** Σ over the n digits of u (base 3, most significant first) of q[t0 + s] · weights[digit s], s < n and t0 + s < dim. */
function digitSum(q: Float32Array, qi: number, t0: number, n: number, dim: number, weights: Float32Array, u: number): number {
  let sum = 0;
  let p = n === 2 ? 3 : 9;
  for (let s = 0; s < n; s++, p = p / 3) {
    if (t0 + s >= dim) break;
    sum = Math.fround(sum + Math.fround(q[qi + t0 + s]! * weights[Math.floor(u / p) % 3]!));
  }
  return sum;
}

/**
 * Builds the query's ternary LUT (see the module header).
 * @param lut ternaryBytes(dim) · 256 · codeLutLanes(qLen) int16, written
 * @param scales codeLutLanes(qLen) floats, written
 * @throws PlaitError INVALID_ARGUMENT for a bad qLen or dim, or short arrays
 */
function buildTernaryCodeLut(q: Float32Array, qLen: number, dim: number, weights: Float32Array, lut: Int16Array, scales: Float32Array): void {
  checkCount('qLen', qLen);
  checkDim(dim);
  const nBytes = ternaryBytes(dim);
  const lanes = codeLutLanes(qLen);
  checkLength('q', q, qLen * dim);
  checkLength('weights', weights, 3);
  checkLength('lut', lut, nBytes * 256 * lanes);
  checkLength('scales', scales, lanes);
  const bound = codeLutBound(nBytes);
  const heads = new Float32Array(nBytes * HEADS * lanes);
  const tails = new Float32Array(nBytes * TAILS * lanes);
  const maxAbs = new Float32Array(lanes);
  for (let b = 0; b < nBytes; b++) {
    for (let i = 0; i < qLen; i++) {
      let hMax = -Infinity;
      let hMin = Infinity;
      let tMax = -Infinity;
      let tMin = Infinity;
      for (let h = 0; h < HEADS; h++) {
        const x = (heads[(b * HEADS + h) * lanes + i] = digitSum(q, i * dim, 5 * b, 2, dim, weights, h));
        if (h < 9) {
          hMax = Math.max(hMax, x);
          hMin = Math.min(hMin, x);
        }
      }
      for (let l = 0; l < TAILS; l++) {
        const x = (tails[(b * TAILS + l) * lanes + i] = digitSum(q, i * dim, 5 * b + 2, 3, dim, weights, l));
        tMax = Math.max(tMax, x);
        tMin = Math.min(tMin, x);
      }
      maxAbs[i] = Math.max(maxAbs[i]!, Math.abs(Math.fround(hMax + tMax)), Math.abs(Math.fround(hMin + tMin)));
    }
  }
  const inv = new Float32Array(lanes);
  for (let i = 0; i < lanes; i++) {
    scales[i] = maxAbs[i] === 0 ? 0 : maxAbs[i]! / bound;
    inv[i] = maxAbs[i] === 0 ? 0 : bound / maxAbs[i]!;
  }
  for (let v = 0; v < 256; v++) {
    const h = Math.floor(v / TAILS);
    const l = v % TAILS;
    for (let b = 0; b < nBytes; b++) {
      const hr = (b * HEADS + h) * lanes;
      const tr = (b * TAILS + l) * lanes;
      const o = (v * nBytes + b) * lanes;
      for (let i = 0; i < lanes; i++) {
        const e = Math.fround(heads[hr + i]! + tails[tr + i]!);
        const r = Math.floor(Math.fround(Math.fround(e * inv[i]!) + 0.5));
        lut[o + i] = r > bound ? bound : r < -bound ? -bound : r;
      }
    }
  }
}

/**
 * Ternary MaxSim on the codes for nDocs documents (rows [tokenStarts[d], tokenStarts[d] + doclens[d])
 * of codes / residuals), out[d] as in the module header; an empty document scores
 * Σ_i w_i · MAXSIM_EMPTY_TOKEN. With `invNorms` (one float a row of codes, NaN where not yet known;
 * filled here, which needs `centroids` and `weights`) the scores are normalised, else inv_j = 1.
 * @throws PlaitError INVALID_ARGUMENT for short arrays, spans past the rows or codes ≥ K
 */
function maxsimTernaryCodes(
  centroidScores: Float32Array,
  qLen: number,
  lut: Int16Array,
  scales: Float32Array,
  codes: Int32Array,
  residuals: Uint8Array,
  dim: number,
  tokenStarts: Int32Array,
  doclens: Int32Array,
  nDocs: number,
  out: Float32Array,
  qWeights?: Float32Array | null,
  invNorms?: Float32Array | null,
  centroids?: Float32Array | null,
  weights?: Float32Array | null,
): void {
  checkCount('qLen', qLen);
  checkCount('nDocs', nDocs);
  checkDim(dim);
  const nBytes = ternaryBytes(dim);
  const lanes = codeLutLanes(qLen);
  const k = qLen === 0 ? 0 : Math.floor(centroidScores.length / qLen);
  checkLength('lut', lut, nBytes * 256 * lanes);
  checkLength('scales', scales, lanes);
  checkSpans('tokenStarts', tokenStarts, doclens, nDocs, Math.min(codes.length, Math.floor(residuals.length / nBytes)));
  checkLength('out', out, nDocs);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
  for (let d = 0; d < nDocs; d++) checkCodes(codes, tokenStarts[d]!, tokenStarts[d]! + doclens[d]!, k);
  if (invNorms) {
    checkLength('invNorms', invNorms, codes.length);
    if (!centroids || !weights) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected centroids and weights with invNorms', name: 'centroids' });
    checkLength('centroids', centroids, k * dim);
    checkLength('weights', weights, 3);
  }
  const best = new Float32Array(qLen);
  const acc = new Int32Array(qLen);
  for (let d = 0; d < nDocs; d++) {
    const len = doclens[d]!;
    if (len === 0) {
      out[d] = emptyDocumentScore(qLen, qWeights);
      continue;
    }
    best.fill(-Infinity);
    for (let j = tokenStarts[d]!, end = j + len; j < end; j++) {
      if (invNorms && Number.isNaN(invNorms[j]!)) ternaryInverseNorms(codes, residuals, j, 1, dim, centroids!, weights!, invNorms, j);
      foldCodeRow(centroidScores, qLen, lut, scales, lanes, codes, residuals, nBytes, j, invNorms ? invNorms[j]! : 1, acc, best);
    }
    let total = 0;
    for (let i = 0; i < qLen; i++) total = Math.fround(total + (qWeights ? Math.fround(qWeights[i]! * best[i]!) : best[i]!));
    out[d] = total;
  }
}

export const ternaryCodeKernels = { buildTernaryCodeLut, maxsimTernaryCodes };
