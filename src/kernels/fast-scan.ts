/**
 * The TypeScript twin of the fast-scan code-scoring kernels (native-kernels/src/fast-scan.cc):
 * exact MaxSim on the stored residual codes through 16-entry uint8 tables per query token and
 * nibble, the layout FAISS's fast-scan and next-plaid look up with pshufb / tbl. It is the oracle
 * of the differential tests: every float operation is rounded to float32 (Math.fround) in the
 * order of the C++ paths, and the integer sums are exact, so the two agree bit for bit.
 *
 * Formula (nBytes = dim·nbits/8 residual bytes a token; nibble position p = 2b + h, h = 0 the
 * high nibble of byte b, which holds the byte's first dimensions):
 *   T_i[p][v] = Σ_s q_i[p·(4/nbits) + s] · weights[bucket s of v]           (float32, s ascending)
 *   m_ip = min_v T_i[p][v],  R_i = max_p (max_v T_i[p][v] − m_ip)
 *   E_i[p][v] = clamp(floor((T_i[p][v] − m_ip) · (M/R_i) + 0.5), 0, M)   (uint8, M = fastScanEntryMax(nBytes))
 *   scale_i = R_i/M, offset_i = Σ_p m_ip (p ascending); scale 0 when R_i = 0
 *   score(q_i, token j) = (S[c_j·qLen + i] + ((scale_i · Σ_p E_i[p][nibble_jp]) + offset_i)) · inv_j
 *   out[d] = Σ_i w_i · max_j score(q_i, j)
 * with inv_j = 1/‖c_j + r_j‖ (ColBERT's decompression normalises) from a per-index cache filled on
 * first use (`invNorms`, NaN until then; tokenInverseNorms), or 1 when no cache is given.
 * Integer bound: a token's sum is ≤ 2·nBytes·M < 2^16, which the native kernel's uint16
 * accumulators hold exactly: M = 255 up to 128 bytes (dim 512 at 2 bits), 127 at
 * FAST_SCAN_MAX_BYTES = 256 (dim 1,024 at 2 bits).
 * Quantisation error per query token: ≤ scale_i/2 per nibble, so |Δscore| ≤ nBytes · scale_i.
 */
import { PlaitError } from '../errors/index.js';
import { checkCodes, checkCount, checkDim, checkLength, checkSpans } from './validate.js';
import { CODE_SCORING_NBITS, emptyDocumentScore } from './code-kernels.js';

/** Largest residual bytes a token (dim·nbits/8) for fast-scan (dim ≤ 1,024 at 2 bits); entries keep ≥ 7 bits up to it. */
export const FAST_SCAN_MAX_BYTES = 256;

/**
 * Largest table entry for tokens of nBytes residual bytes: min(255, ⌊65,535 / (2·nBytes)⌋), so a
 * token's 2·nBytes entries sum below 2^16 (the native kernel's uint16 accumulators).
 */
export function fastScanEntryMax(nBytes: number): number {
  return Math.min(255, Math.floor(65535 / (2 * Math.max(1, nBytes))));
}

/** dim·nbits/8, the bytes of a token, after checking that fast-scan takes this shape (PlaitError INVALID_ARGUMENT otherwise). */
export function checkFastScanShape(nbits: number, dim: number): number {
  if (!(CODE_SCORING_NBITS as readonly number[]).includes(nbits)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected nbits one of ${CODE_SCORING_NBITS.join(', ')} for code scoring but received ${nbits}`, name: 'nbits' });
  }
  if ((dim * nbits) % 8 !== 0) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected dim a multiple of ${8 / nbits} for nbits ${nbits} but received ${dim}`, name: 'dim' });
  const nBytes = (dim * nbits) / 8;
  if (nBytes > FAST_SCAN_MAX_BYTES) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected dim * nbits / 8 <= ${FAST_SCAN_MAX_BYTES} for fast-scan but received ${nBytes}`, name: 'dim' });
  return nBytes;
}

/**
 * Builds a query's fast-scan tables: tables[((b·qLen + i)·2 + h)·16 + v] = E_i[2b + h][v] (see the
 * module header), scales[i] and offsets[i].
 * @param tables nBytes · 32 · qLen bytes, written
 * @param scales qLen floats, written
 * @param offsets qLen floats, written
 * @throws PlaitError INVALID_ARGUMENT for nbits ∉ {1, 2, 4}, dim·nbits/8 not whole or > FAST_SCAN_MAX_BYTES, or short arrays
 */
function buildFastScanTables(q: Float32Array, qLen: number, dim: number, weights: Float32Array, nbits: number, tables: Uint8Array, scales: Float32Array, offsets: Float32Array): void {
  checkCount('qLen', qLen);
  checkDim(dim);
  const nBytes = checkFastScanShape(nbits, dim);
  checkLength('q', q, qLen * dim);
  checkLength('weights', weights, 1 << nbits);
  checkLength('tables', tables, nBytes * 32 * qLen);
  checkLength('scales', scales, qLen);
  checkLength('offsets', offsets, qLen);
  const perNibble = 4 / nbits;
  const mask = (1 << nbits) - 1;
  const nNib = 2 * nBytes;
  const entryMax = fastScanEntryMax(nBytes);
  const nib = new Float32Array(nNib * 16 * qLen);
  const mins = new Float32Array(nNib * qLen);
  const range = new Float32Array(qLen);
  for (let p = 0; p < nNib; p++) {
    const t0 = p * perNibble;
    for (let v = 0; v < 16; v++) {
      const row = (p * 16 + v) * qLen;
      for (let s = 0; s < perNibble; s++) {
        const w = weights[(v >> (4 - nbits * (s + 1))) & mask]!;
        for (let i = 0; i < qLen; i++) nib[row + i] = Math.fround(nib[row + i]! + Math.fround(q[i * dim + t0 + s]! * w));
      }
    }
    for (let i = 0; i < qLen; i++) {
      let mn = nib[p * 16 * qLen + i]!;
      let mx = mn;
      for (let v = 1; v < 16; v++) {
        const x = nib[(p * 16 + v) * qLen + i]!;
        if (x < mn) mn = x;
        if (x > mx) mx = x;
      }
      mins[p * qLen + i] = mn;
      const r = Math.fround(mx - mn);
      if (r > range[i]!) range[i] = r;
    }
  }
  const inv = new Float32Array(qLen);
  for (let i = 0; i < qLen; i++) {
    scales[i] = range[i] === 0 ? 0 : range[i]! / entryMax;
    inv[i] = range[i] === 0 ? 0 : entryMax / range[i]!;
    let off = 0;
    for (let p = 0; p < nNib; p++) off = Math.fround(off + mins[p * qLen + i]!);
    offsets[i] = off;
  }
  for (let b = 0; b < nBytes; b++) {
    for (let i = 0; i < qLen; i++) {
      const o = (b * qLen + i) * 32;
      for (let h = 0; h < 2; h++) {
        const p = 2 * b + h;
        const mn = mins[p * qLen + i]!;
        for (let v = 0; v < 16; v++) {
          const d = Math.fround(nib[(p * 16 + v) * qLen + i]! - mn);
          const r = Math.floor(Math.fround(Math.fround(d * inv[i]!) + 0.5));
          tables[o + 16 * h + v] = r < 0 ? 0 : r > entryMax ? entryMax : r;
        }
      }
    }
  }
}

/**
 * out[j] = 1/sqrt(max(‖c_j + r_j‖², 1e-24)) for n tokens (rows of codes / residuals from `from`),
 * r_j decoded from its residual bytes; the squared norm is summed in eight partial sums (dimension
 * t into t mod 8) and the tree ((0+1)+(2+3))+((4+5)+(6+7)), as the native kernel does.
 */
export function tokenInverseNorms(codes: Int32Array, residuals: Uint8Array, from: number, n: number, dim: number, centroids: Float32Array, weights: Float32Array, nbits: number, out: Float32Array, outFrom: number): void {
  const nBytes = (dim * nbits) / 8;
  const perByte = 8 / nbits;
  const mask = (1 << nbits) - 1;
  const p = new Float32Array(8);
  for (let j = from; j < from + n; j++) {
    const c = codes[j]! * dim;
    const rb = j * nBytes;
    p.fill(0);
    for (let t = 0; t < dim; t++) {
      const bucket = (residuals[rb + Math.floor(t / perByte)]! >> (8 - nbits * ((t % perByte) + 1))) & mask;
      const x = Math.fround(centroids[c + t]! + weights[bucket]!);
      p[t & 7] = Math.fround(p[t & 7]! + Math.fround(x * x));
    }
    const f = Math.fround;
    const n2 = f(f(f(p[0]! + p[1]!) + f(p[2]! + p[3]!)) + f(f(p[4]! + p[5]!) + f(p[6]! + p[7]!)));
    out[outFrom + j - from] = f(1 / f(Math.sqrt(n2 < NORM_FLOOR ? NORM_FLOOR : n2)));
  }
}

/** Smallest squared norm a token is divided by (the native kernel's 1e-24f). */
const NORM_FLOOR = Math.fround(1e-24);

/**
 * Fast-scan MaxSim for nDocs documents (rows [tokenStarts[d], tokenStarts[d] + doclens[d]) of
 * codes / residuals): out[d] as in the module header; an empty document scores
 * Σ_i w_i · MAXSIM_EMPTY_TOKEN. `centroidScores` is K × qLen (candidate generation's). With
 * `invNorms` (one float a row of codes, NaN where not yet known; filled here) the scores are
 * normalised, which needs `centroids` (K × dim) and `weights`.
 * @throws PlaitError INVALID_ARGUMENT for a bad shape, short arrays, spans past the rows or codes ≥ K
 */
function maxsimFastScan(
  centroidScores: Float32Array,
  qLen: number,
  tables: Uint8Array,
  scales: Float32Array,
  offsets: Float32Array,
  codes: Int32Array,
  residuals: Uint8Array,
  dim: number,
  nbits: number,
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
  const nBytes = checkFastScanShape(nbits, dim);
  const k = qLen === 0 ? 0 : Math.floor(centroidScores.length / qLen);
  checkLength('tables', tables, nBytes * 32 * qLen);
  checkLength('scales', scales, qLen);
  checkLength('offsets', offsets, qLen);
  checkSpans('tokenStarts', tokenStarts, doclens, nDocs, Math.min(codes.length, Math.floor(residuals.length / nBytes)));
  checkLength('out', out, nDocs);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
  for (let d = 0; d < nDocs; d++) checkCodes(codes, tokenStarts[d]!, tokenStarts[d]! + doclens[d]!, k);
  if (invNorms) checkNormInputs(invNorms, codes, centroids, weights, dim, k, nbits);
  const best = new Float32Array(qLen);
  for (let d = 0; d < nDocs; d++) {
    const len = doclens[d]!;
    if (len === 0) {
      out[d] = emptyDocumentScore(qLen, qWeights);
      continue;
    }
    let total = 0;
    const sims = new Float32Array(qLen * len);
    tokenSimilarities(centroidScores, qLen, tables, scales, offsets, codes, residuals, nBytes, tokenStarts[d]!, len, sims, invNorms ?? null, centroids ?? null, weights ?? null, dim, nbits);
    best.fill(-Infinity);
    for (let i = 0; i < qLen; i++) {
      for (let j = 0; j < len; j++) if (sims[i * len + j]! > best[i]!) best[i] = sims[i * len + j]!;
    }
    for (let i = 0; i < qLen; i++) total = Math.fround(total + (qWeights ? Math.fround(qWeights[i]! * best[i]!) : best[i]!));
    out[d] = total;
  }
}

/**
 * The per-token similarities behind maxsimFastScan for one passage (rows [start, start + len)):
 * out[i·len + j] = (S[c_j·qLen + i] + ((scales[i] · acc_ij) + offsets[i])) · inv_j, the same float
 * operations in the same order as the kernel (so the max of a row is bit-for-bit the kernel's),
 * with inv_j from `invNorms` (NaN entries computed and stored first, which needs `centroids` and
 * `weights`) or 1 when it is null.
 * For explanations and highlights (src/search/explain.ts); the Kernels member of that name (the
 * addon's fast-scan.cc computes the same bits on every SIMD path).
 * @throws PlaitError INVALID_ARGUMENT for a bad shape, short arrays, rows past the codes or codes ≥ K
 */
export function fastScanTokenSimilarities(
  centroidScores: Float32Array,
  qLen: number,
  tables: Uint8Array,
  scales: Float32Array,
  offsets: Float32Array,
  codes: Int32Array,
  residuals: Uint8Array,
  dim: number,
  nbits: number,
  start: number,
  len: number,
  out: Float32Array,
  invNorms?: Float32Array | null,
  centroids?: Float32Array | null,
  weights?: Float32Array | null,
): void {
  checkCount('qLen', qLen);
  checkCount('start', start);
  checkCount('len', len);
  checkDim(dim);
  const nBytes = checkFastScanShape(nbits, dim);
  const k = qLen === 0 ? 0 : Math.floor(centroidScores.length / qLen);
  checkLength('tables', tables, nBytes * 32 * qLen);
  checkLength('scales', scales, qLen);
  checkLength('offsets', offsets, qLen);
  const rows = Math.min(codes.length, Math.floor(residuals.length / nBytes));
  if (start + len > rows) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected start + len <= ${rows} rows but received start ${start} and len ${len}`, name: 'start' });
  checkLength('out', out, qLen * len);
  checkCodes(codes, start, start + len, k);
  if (invNorms) checkNormInputs(invNorms, codes, centroids, weights, dim, k, nbits);
  tokenSimilarities(centroidScores, qLen, tables, scales, offsets, codes, residuals, nBytes, start, len, out, invNorms ?? null, centroids ?? null, weights ?? null, dim, nbits);
}

/**
 * With invNorms: centroids and weights given and long enough, dim a multiple of 8 (as the native
 * kernel, which sums the norm eight dimensions at a time).
 */
function checkNormInputs(invNorms: Float32Array, codes: Int32Array, centroids: Float32Array | null | undefined, weights: Float32Array | null | undefined, dim: number, k: number, nbits: number): void {
  checkLength('invNorms', invNorms, codes.length);
  if (!centroids || !weights) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected centroids and weights with invNorms', name: 'centroids' });
  if (dim % 8 !== 0) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected dim a multiple of 8 with invNorms but received ${dim}`, name: 'dim' });
  checkLength('centroids', centroids, k * dim);
  checkLength('weights', weights, 1 << nbits);
}

/** fastScanTokenSimilarities' arithmetic on arguments already checked (maxsimFastScan checks once for all its documents). */
function tokenSimilarities(
  centroidScores: Float32Array,
  qLen: number,
  tables: Uint8Array,
  scales: Float32Array,
  offsets: Float32Array,
  codes: Int32Array,
  residuals: Uint8Array,
  nBytes: number,
  start: number,
  len: number,
  out: Float32Array,
  invNorms: Float32Array | null,
  centroids: Float32Array | null,
  weights: Float32Array | null,
  dim: number,
  nbits: number,
): void {
  for (let j = start; j < start + len; j++) {
    if (invNorms && Number.isNaN(invNorms[j]!)) tokenInverseNorms(codes, residuals, j, 1, dim, centroids!, weights!, nbits, invNorms, j);
    const inv = invNorms ? invNorms[j]! : 1;
    const rb = j * nBytes;
    const srow = codes[j]! * qLen;
    for (let i = 0; i < qLen; i++) {
      let acc = 0;
      for (let b = 0; b < nBytes; b++) {
        const byte = residuals[rb + b]!;
        const o = (b * qLen + i) * 32;
        acc += tables[o + (byte >> 4)]! + tables[o + 16 + (byte & 15)]!;
      }
      const x = Math.fround(centroidScores[srow + i]! + Math.fround(Math.fround(scales[i]! * acc) + offsets[i]!));
      out[i * len + (j - start)] = invNorms ? Math.fround(x * inv) : x;
    }
  }
}

export const fastScanKernels = { buildFastScanTables, maxsimFastScan, fastScanTokenSimilarities };
