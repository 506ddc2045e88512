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
 *   score(q_i, token j) = S[c_j·qLen + i] + scale_i · Σ_p E_i[p][nibble_jp]
 *   out[d] = Σ_i w_i · (max_j score(q_i, j) + offset_i)
 * Integer bound: a token's sum is ≤ 2·nBytes·M < 2^16, which the native kernel's uint16
 * accumulators hold exactly: M = 255 up to 128 bytes (dim 512 at 2 bits), 127 at
 * FAST_SCAN_MAX_BYTES = 256 (dim 1,024 at 2 bits).
 * Quantisation error per query token: ≤ scale_i/2 per nibble, so |Δscore| ≤ nBytes · scale_i.
 */
import { MAXSIM_EMPTY_TOKEN } from './types.js';
import { PlaitError } from '../errors/index.js';
import { checkCodes, checkCount, checkDim, checkLength, checkSpans } from './validate.js';
import { CODE_SCORING_NBITS } from './code-kernels.js';

/** Largest residual bytes a token (dim·nbits/8) for fast-scan (dim ≤ 1,024 at 2 bits); entries keep ≥ 7 bits up to it. */
export const FAST_SCAN_MAX_BYTES = 256;

/**
 * Largest table entry for tokens of nBytes residual bytes: min(255, ⌊65,535 / (2·nBytes)⌋), so a
 * token's 2·nBytes entries sum below 2^16 (the native kernel's uint16 accumulators).
 */
export function fastScanEntryMax(nBytes: number): number {
  return Math.min(255, Math.floor(65535 / (2 * Math.max(1, nBytes))));
}

function checkFastScanShape(nbits: number, dim: number): number {
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
 * Fast-scan MaxSim for nDocs documents (rows [tokenStarts[d], tokenStarts[d] + doclens[d]) of
 * codes / residuals): out[d] as in the module header; an empty document scores
 * Σ_i w_i · MAXSIM_EMPTY_TOKEN. `centroidScores` is K × qLen (candidate generation's).
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
  const best = new Float32Array(qLen);
  for (let d = 0; d < nDocs; d++) {
    const len = doclens[d]!;
    let total = 0;
    if (len === 0) {
      for (let i = 0; i < qLen; i++) total = Math.fround(total + Math.fround((qWeights ? qWeights[i]! : 1) * MAXSIM_EMPTY_TOKEN));
      out[d] = total;
      continue;
    }
    best.fill(-Infinity);
    for (let j = tokenStarts[d]!, end = j + len; j < end; j++) {
      const rb = j * nBytes;
      const srow = codes[j]! * qLen;
      for (let i = 0; i < qLen; i++) {
        let acc = 0;
        for (let b = 0; b < nBytes; b++) {
          const byte = residuals[rb + b]!;
          const o = (b * qLen + i) * 32;
          acc += tables[o + (byte >> 4)]! + tables[o + 16 + (byte & 15)]!;
        }
        const y = Math.fround(centroidScores[srow + i]! + Math.fround(scales[i]! * acc));
        if (y > best[i]!) best[i] = y;
      }
    }
    for (let i = 0; i < qLen; i++) {
      const x = Math.fround(best[i]! + offsets[i]!);
      total = Math.fround(total + (qWeights ? Math.fround(qWeights[i]! * x) : x));
    }
    out[d] = total;
  }
}

export const fastScanKernels = { buildFastScanTables, maxsimFastScan };
