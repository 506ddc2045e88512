/**
 * TypeScript twin of the native probed-token estimate walk (native-kernels/src/probed-walk.cc;
 * src/search/probed-token-interaction.ts `centroidEstimates` explains the estimates, issue 22 part E).
 * The fallback without the addon and the oracle of test/probed-walk.test.ts: both give the same bits.
 */
import { invalidArgument } from '../errors/index.js';
import { checkCount, checkLength } from './validate.js';
import { Scratch } from '../util/scratch.js';

/** Per-thread pid → candidate index and a byte mark of the candidates (all 0 between calls). */
const slotScratch = new Scratch((n) => new Int32Array(n));
const markScratch = new Scratch((n) => new Uint8Array(n));

/**
 * Kernels.centroidEstimateWalk (see src/kernels/types.ts for the contract).
 * @throws PlaitError INVALID_ARGUMENT for short arrays, a cell at or above K, offsets outside `ivf`,
 *   or a pid (candidate or IVF entry) outside [0, nPassages)
 */
export function centroidEstimateWalk(
  centroidScores: Float32Array,
  qLen: number,
  top: Int32Array,
  cells: number,
  ivfOffsets: Float64Array,
  ivf: Int32Array,
  nPassages: number,
  pids: Int32Array,
  qWeights: Float32Array | null | undefined,
  est: Float32Array,
  ci: Float32Array,
): void {
  checkCount('qLen', qLen);
  checkCount('cells', cells);
  checkCount('nPassages', nPassages);
  const n = pids.length;
  const k = ivfOffsets.length - 1;
  checkLength('centroidScores', centroidScores, Math.max(0, k) * qLen);
  checkLength('top', top, qLen * cells);
  checkLength('est', est, qLen * n);
  checkLength('ci', ci, n);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
  for (const pid of pids) if (!(pid >= 0 && pid < nPassages)) throw invalidArgument('pids', `passages below ${nPassages}`, pid);
  for (let t = 0; t < qLen * cells; t++) {
    const c = top[t]!;
    if (c >= k) throw invalidArgument('top', `cells below ${k}`, c);
    if (c >= 0 && !(ivfOffsets[c]! >= 0 && ivfOffsets[c]! <= ivfOffsets[c + 1]! && ivfOffsets[c + 1]! <= ivf.length)) {
      throw invalidArgument('ivfOffsets', `ascending offsets within ivf (${ivf.length})`, ivfOffsets[c + 1]);
    }
  }
  const slot = slotScratch.take(nPassages);
  const mark = markScratch.take(nPassages);
  for (let d = 0; d < n; d++) {
    slot[pids[d]!] = d;
    mark[pids[d]!] = 1;
  }
  est.fill(-Infinity, 0, qLen * n);
  ci.fill(0, 0, n);
  let bad: number | null = null;
  for (let i = 0; i < qLen && bad === null; i++) {
    if (qWeights && qWeights[i] === 0) continue;
    const base = i * n;
    let left = n;
    let last = -Infinity;
    for (let j = 0; j < cells && left > 0 && bad === null; j++) {
      const c = top[i * cells + j]!;
      if (c < 0) break;
      last = centroidScores[c * qLen + i]!;
      // Most entries of the deeper cells are not candidates: the byte mark (L1-sized) says so first.
      for (let e = ivfOffsets[c]!, end = ivfOffsets[c + 1]!; e < end; e++) {
        const pid = ivf[e]!;
        if (!(pid >= 0 && pid < nPassages)) {
          bad = pid;
          break;
        }
        if (mark[pid] === 0) continue;
        const at = base + slot[pid]!;
        if (est[at] === -Infinity) {
          est[at] = last;
          left--;
        }
      }
    }
    if (left > 0) for (let d = base; d < base + n; d++) if (est[d] === -Infinity) est[d] = last;
    // Σ_i w_i · m_i(P) in float32, token order (the native kernel rounds the same double sum).
    const wi = qWeights ? qWeights[i]! : 1;
    for (let d = 0; d < n; d++) ci[d] = ci[d]! + wi * est[base + d]!;
  }
  for (let d = 0; d < n; d++) mark[pids[d]!] = 0;
  if (bad !== null) throw invalidArgument('ivf', `passages below ${nPassages}`, bad);
}

/**
 * Kernels.probedPairs (see src/kernels/types.ts for the contract).
 * @throws PlaitError INVALID_ARGUMENT for short arrays, a doc, pid or token span out of range, a code
 *   at or above head.length, or a probe slot outside next
 */
export function probedPairs(
  codes: Int32Array,
  tokenStarts: Int32Array,
  doclens: Int32Array,
  pids: Int32Array,
  docs: Int32Array,
  head: Int32Array,
  next: Int32Array,
  perToken: number,
  qLen: number,
  first: Int32Array,
  rows: Int32Array,
  docOf: Int32Array,
): number {
  checkCount('qLen', qLen);
  if (!Number.isInteger(perToken) || perToken <= 0) throw invalidArgument('perToken', 'a positive integer', perToken);
  checkLength('first', first, qLen + 1);
  checkLength('docOf', docOf, rows.length);
  checkLength('doclens', doclens, tokenStarts.length);
  if (next.length > qLen * perToken) throw invalidArgument('next', `at most ${qLen * perToken} elements`, next.length);
  for (const d of docs) {
    if (!(d >= 0 && d < pids.length)) throw invalidArgument('docs', `indices below ${pids.length}`, d);
    const pid = pids[d]!;
    if (!(pid >= 0 && pid < tokenStarts.length)) throw invalidArgument('pids', `passages below ${tokenStarts.length}`, pid);
    const lo = tokenStarts[pid]!;
    if (lo < 0 || doclens[pid]! < 0 || lo + doclens[pid]! > codes.length) throw invalidArgument('tokenStarts', `token spans within codes (${codes.length})`, lo);
  }
  const nCells = head.length;
  first.fill(0, 0, qLen + 1);
  for (const d of docs) {
    const pid = pids[d]!;
    for (let row = tokenStarts[pid]!, end = row + doclens[pid]!; row < end; row++) {
      const c = codes[row]!;
      if (!(c >= 0 && c < nCells)) throw invalidArgument('codes', `cells below ${nCells}`, c);
      for (let slot = head[c]!; slot >= 0; slot = next[slot]!) {
        if (slot >= next.length) throw invalidArgument('next', `probe slots below ${next.length}`, slot);
        first[((slot / perToken) | 0) + 1]!++;
      }
    }
  }
  for (let i = 0; i < qLen; i++) first[i + 1]! += first[i]!;
  const total = first[qLen]!;
  if (total > rows.length) return total;
  const fill = first.slice(0, qLen);
  for (const d of docs) {
    const pid = pids[d]!;
    for (let row = tokenStarts[pid]!, end = row + doclens[pid]!; row < end; row++) {
      for (let slot = head[codes[row]!]!; slot >= 0; slot = next[slot]!) {
        const at = fill[(slot / perToken) | 0]!++;
        rows[at] = row;
        docOf[at] = d;
      }
    }
  }
  return total;
}
