/**
 * TypeScript twin of the native probed-token pair scoring (native-kernels/src/probed-scores.cc;
 * src/search/probed-token-interaction.ts explains the ranking, issue 22 part F). The fallback without
 * the addon and the oracle of test/probed-scores.test.ts: both give the same bits, and those of a
 * one-token fast-scan call (src/kernels/fast-scan.ts fastScanTokenSimilarities) for every pair.
 */
import { invalidArgument } from '../errors/index.js';
import { checkCount, checkLength } from './validate.js';
import { checkFastScanShape, tokenInverseNorms } from './fast-scan.js';

/**
 * Kernels.probedPairScores (see src/kernels/types.ts for the contract).
 * @throws PlaitError INVALID_ARGUMENT for short arrays, a bad fast-scan shape, a doc, pid or token span
 *   out of range, a code at or above head.length, or a probe slot outside next
 */
export function probedPairScores(
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
  pids: Int32Array,
  docs: Int32Array,
  head: Int32Array,
  next: Int32Array,
  perToken: number,
  invNorms: Float32Array,
  centroids: Float32Array,
  weights: Float32Array,
  e: Float32Array,
): void {
  checkCount('qLen', qLen);
  const nBytes = checkFastScanShape(nbits, dim);
  if (dim % 8 !== 0) throw invalidArgument('dim', 'a multiple of 8 with invNorms', dim);
  if (!Number.isInteger(perToken) || perToken <= 0) throw invalidArgument('perToken', 'a positive integer', perToken);
  const k = head.length;
  checkLength('centroidScores', centroidScores, k * qLen);
  checkLength('tables', tables, nBytes * 32 * qLen);
  checkLength('scales', scales, qLen);
  checkLength('offsets', offsets, qLen);
  checkLength('doclens', doclens, tokenStarts.length);
  checkLength('invNorms', invNorms, codes.length);
  checkLength('centroids', centroids, k * dim);
  checkLength('weights', weights, 1 << nbits);
  checkLength('e', e, pids.length * qLen);
  if (next.length > qLen * perToken) throw invalidArgument('next', `at most ${qLen * perToken} elements`, next.length);
  const rows = Math.min(codes.length, Math.floor(residuals.length / nBytes));
  for (const d of docs) {
    if (!(d >= 0 && d < pids.length)) throw invalidArgument('docs', `indices below ${pids.length}`, d);
    const pid = pids[d]!;
    if (!(pid >= 0 && pid < tokenStarts.length)) throw invalidArgument('pids', `passages below ${tokenStarts.length}`, pid);
    const lo = tokenStarts[pid]!;
    if (lo < 0 || doclens[pid]! < 0 || lo + doclens[pid]! > rows) throw invalidArgument('tokenStarts', `token spans within the rows (${rows})`, lo);
  }
  const f = Math.fround;
  const stride = qLen * 32;
  for (const d of docs) {
    const pid = pids[d]!;
    const base = d * qLen;
    for (let row = tokenStarts[pid]!, end = row + doclens[pid]!; row < end; row++) {
      const c = codes[row]!;
      if (!(c >= 0 && c < k)) throw invalidArgument('codes', `cells below ${k}`, c);
      let slot = head[c]!;
      if (slot < 0) continue;
      // The cache holds NaN until a token is first scored, as for the fast-scan kernel.
      if (Number.isNaN(invNorms[row]!)) tokenInverseNorms(codes, residuals, row, 1, dim, centroids, weights, nbits, invNorms, row);
      const inv = invNorms[row]!;
      const rb = row * nBytes;
      for (; slot >= 0; slot = next[slot]!) {
        if (slot >= next.length) throw invalidArgument('next', `probe slots below ${next.length}`, slot);
        const i = (slot / perToken) | 0;
        let acc = 0;
        for (let b = 0, t = i * 32; b < nBytes; b++, t += stride) {
          const byte = residuals[rb + b]!;
          acc += tables[t + (byte >> 4)]! + tables[t + 16 + (byte & 15)]!;
        }
        // 0 + sim: the one-token fast-scan call's document total (a -0 becomes +0 there too).
        const sim = 0 + f(f(centroidScores[c * qLen + i]! + f(f(scales[i]! * acc) + offsets[i]!)) * inv);
        if (sim > e[base + i]!) e[base + i] = sim;
      }
    }
  }
}
