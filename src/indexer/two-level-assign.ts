/**
 * Two-level (approximate) nearest-centroid assignment for the compression pass (issue 9).
 *
 * Brute force scores every token against all K centroids (10M tokens × 32,768 centroids: 424 s of
 * a 614 s build). Two-level groups the K fine centroids under C coarse centroids (spherical k-means
 * over the fine centroids themselves; each fine centroid belongs to its nearest coarse one, and the
 * fine centroids are stored reordered into one contiguous block per coarse cell), then per token:
 * score the C coarse centroids, keep the best `probe` cells, and score only the fine centroids of
 * those cells — C + probe·K/C dot products instead of K. Tokens are grouped per cell so that each
 * cell's block is one `assignNearestRows` call over all the tokens that probe it (the kernel
 * gathers their rows into its panel; a matmul per cell, not a scan per token). Codes are the
 * original centroid ids; ties go to the lower id, as in brute force, so with probe = C the codes
 * are identical to brute force (test/two-level-assign.test.ts).
 *
 * Measured (bench/RESULTS.md, "Two-level centroid assignment"): a cranfield index built two-level
 * at probe 16 (98.9% of tokens on brute force's centroid) kept nDCG@10 within 0.002 of the exact
 * build (0.3140 vs 0.3125) with the same PLAID fidelity (0.9996); probe 8 (97.6%) moved it 0.0024.
 * Assignment speed-up at probe 16, one thread: 1.5× at K = 8,192 (cells of ~90 centroids are too
 * small for the kernel's panels), 5.2× at 32,768 on real 512-d vectors, ~18–21× at 131,072
 * (128-d synthetic) — hence 'auto' = two-level from K = 32,768 (TWO_LEVEL_ASSIGN_DEFAULTS), and
 * only where the build's held-out vectors agree with brute force at 98.9% (`settleProbe`): the 1M
 * MS MARCO-shaped build (independent centres) kept just 72.4% at probe 16.
 * Re-measure with `node dist/bench/centroid-assignment.js synthetic <K>`, `... encode <corpus>
 * <index> [passages] [K]` (fresh bundled-model vectors) or `... index <indexPath>`.
 */
import { TWO_LEVEL_ASSIGN_DEFAULTS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import type { Kernels } from '../kernels/types.js';
import type { CentroidAssignmentRecord } from '../format/manifest.js';
import { trainKmeans } from './kmeans.js';
import type { AssignFn } from './parallel-assign.js';

/** How the compression pass assigns tokens to centroids. */
export type CentroidAssignment = 'exact' | 'two-level' | 'auto';

export const CENTROID_ASSIGNMENTS: readonly CentroidAssignment[] = ['exact', 'two-level', 'auto'];

/** Build options of the assignment step (all optional; see TWO_LEVEL_ASSIGN_DEFAULTS). */
export interface CentroidAssignmentOptions {
  /**
   * 'exact': brute force over all K centroids. 'two-level': coarse cells first (approximate).
   * 'auto' (default): two-level when K >= TWO_LEVEL_ASSIGN_DEFAULTS.autoMinCentroids and the
   * build's held-out vectors agree with brute force at minAgreement (the probe doubles up to C/4
   * until they do), else exact. 'two-level' uses the probe given, at any K, without the fallback.
   */
  centroidAssignment?: CentroidAssignment;
  /** Coarse centroids C, an integer >= 1 (default: round(coarsePerSqrtK · sqrt(K)); clipped to K). */
  coarseCentroids?: number;
  /** Coarse cells searched per token, an integer >= 1 (default TWO_LEVEL_ASSIGN_DEFAULTS.probe; clipped to C). */
  coarseProbe?: number;
}

export interface ResolvedCentroidAssignment {
  centroidAssignment: CentroidAssignment;
  coarseCentroids: number | null;
  coarseProbe: number;
  /** 'auto' only: smallest K considered, and the held-out agreement required (TWO_LEVEL_ASSIGN_DEFAULTS; tests lower them). */
  autoMinCentroids: number;
  minAgreement: number;
}

/** Validates the options (INVALID_ARGUMENT on a bad value) and fills in the defaults. */
export function resolveCentroidAssignment(o: CentroidAssignmentOptions): ResolvedCentroidAssignment {
  const mode = o.centroidAssignment ?? TWO_LEVEL_ASSIGN_DEFAULTS.mode;
  if (!CENTROID_ASSIGNMENTS.includes(mode)) throw invalidArgument('centroidAssignment', `one of ${CENTROID_ASSIGNMENTS.map((m) => `'${m}'`).join(', ')}`, mode);
  const c = o.coarseCentroids;
  if (c !== undefined && (!Number.isInteger(c) || c < 1)) throw invalidArgument('coarseCentroids', 'a positive integer', c);
  const p = o.coarseProbe ?? TWO_LEVEL_ASSIGN_DEFAULTS.probe;
  if (!Number.isInteger(p) || p < 1) throw invalidArgument('coarseProbe', 'a positive integer', p);
  return { centroidAssignment: mode, coarseCentroids: c ?? null, coarseProbe: p, autoMinCentroids: TWO_LEVEL_ASSIGN_DEFAULTS.autoMinCentroids, minAgreement: TWO_LEVEL_ASSIGN_DEFAULTS.minAgreement };
}

/** The assignment a build of K centroids uses: exact, or two-level with C coarse cells and `probe`. */
export function chooseAssignment(r: ResolvedCentroidAssignment, k: number): CentroidAssignmentRecord {
  const twoLevel = r.centroidAssignment === 'two-level' || (r.centroidAssignment === 'auto' && k >= r.autoMinCentroids);
  if (!twoLevel || k < 2) return { method: 'exact', requested: r.centroidAssignment };
  const nCoarse = Math.min(k, r.coarseCentroids ?? Math.max(1, Math.round(TWO_LEVEL_ASSIGN_DEFAULTS.coarsePerSqrtK * Math.sqrt(k))));
  return { method: 'two-level', requested: r.centroidAssignment, nCoarse, probe: Math.min(nCoarse, r.coarseProbe) };
}

/**
 * The coarse level over K fine centroids. All arrays may live in SharedArrayBuffers so that the
 * assignment workers read them in place.
 */
export interface TwoLevelPlan {
  /** Fine centroids K and width dim of every vector. */
  k: number;
  dim: number;
  /** Non-empty coarse cells (C after dropping cells no fine centroid chose) and cells searched per token. */
  nCoarse: number;
  probe: number;
  /** nCoarse × dim coarse centroids (unit length). */
  coarse: Float32Array;
  /** K × dim fine centroids reordered: cell c's centroids are rows [starts[c], starts[c + 1]). */
  fine: Float32Array;
  /** Original centroid id of each reordered row (K). */
  fineIds: Int32Array;
  /** nCoarse + 1 row offsets into `fine`. */
  starts: Int32Array;
}

function sharedF32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, n) * 4)).subarray(0, n);
}
function sharedI32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4)).subarray(0, n);
}

/**
 * Trains C coarse centroids over the K fine ones (seeded spherical k-means), assigns each fine
 * centroid to its nearest coarse one, drops empty cells and lays the fine centroids out per cell.
 * `centroids`: K × dim, unit rows. Cost: iters × K × C × dim multiply-adds (K = 131,072,
 * C = 362, 128-d: seconds).
 */
export async function buildTwoLevelPlan(
  centroids: Float32Array,
  k: number,
  dim: number,
  nCoarse: number,
  probe: number,
  o: { seed: number; kernels: Kernels; assign?: AssignFn; iters?: number },
): Promise<TwoLevelPlan> {
  if (!Number.isInteger(nCoarse) || nCoarse < 1 || nCoarse > k) throw invalidArgument('coarseCentroids', `an integer in [1, ${k}]`, nCoarse);
  if (!Number.isInteger(probe) || probe < 1) throw invalidArgument('coarseProbe', 'a positive integer', probe);
  const trained = await trainKmeans(centroids, k, dim, nCoarse, { iters: o.iters ?? TWO_LEVEL_ASSIGN_DEFAULTS.coarseKmeansIters, seed: o.seed, kernels: o.kernels, assign: o.assign });
  const owner = new Int32Array(k);
  o.kernels.assignNearest(centroids, k, trained, nCoarse, dim, owner);
  const count = new Int32Array(nCoarse);
  for (let c = 0; c < k; c++) count[owner[c]!]!++;
  // Keep the non-empty cells, in order; remap owners to the kept numbering.
  const remap = new Int32Array(nCoarse).fill(-1);
  let kept = 0;
  for (let c = 0; c < nCoarse; c++) if (count[c]! > 0) remap[c] = kept++;
  const coarse = sharedF32(kept * dim);
  const starts = sharedI32(kept + 1);
  for (let c = 0; c < nCoarse; c++) {
    const r = remap[c]!;
    if (r < 0) continue;
    coarse.set(trained.subarray(c * dim, (c + 1) * dim), r * dim);
    starts[r + 1] = count[c]!;
  }
  for (let c = 0; c < kept; c++) starts[c + 1]! += starts[c]!;
  // Counting sort of the fine centroids by cell, ascending id within a cell.
  const fine = sharedF32(k * dim);
  const fineIds = sharedI32(k);
  const next = Int32Array.from(starts.subarray(0, kept));
  for (let id = 0; id < k; id++) {
    const row = next[remap[owner[id]!]!]!++;
    fineIds[row] = id;
    fine.set(centroids.subarray(id * dim, (id + 1) * dim), row * dim);
  }
  return { k, dim, nCoarse: kept, probe: Math.min(probe, kept), coarse, fine, fineIds, starts };
}

/**
 * The probe an 'auto' build keeps, from the agreement it measures on its own held-out vectors:
 * starting at `probe`, doubled while the share of vectors on brute force's centroid is below
 * `minAgreement` and the doubled probe is at most `maxProbe`; null when even the largest probe
 * tried falls short (the build then assigns exactly). `agreementAt(probe)` measures one probe.
 * Returns the last probe measured and its agreement either way.
 */
export async function settleProbe(
  probe: number,
  maxProbe: number,
  minAgreement: number,
  agreementAt: (probe: number) => Promise<number>,
): Promise<{ probe: number; agreement: number; accepted: boolean }> {
  let p = probe;
  let agreement = await agreementAt(p);
  while (agreement < minAgreement && p * 2 <= maxProbe) {
    p *= 2;
    agreement = await agreementAt(p);
  }
  return { probe: p, agreement, accepted: agreement >= minAgreement };
}

/** Share of positions where a and b agree (first n). */
export function agreementOf(a: Int32Array, b: Int32Array, n: number): number {
  let same = 0;
  for (let i = 0; i < n; i++) if (a[i] === b[i]) same++;
  return n === 0 ? 1 : same / n;
}

/** Rows per coarse-score matmul: COARSE_ROWS × C floats of scratch (~0.7 MiB at C = 181). */
const COARSE_ROWS = 1024;

/**
 * Two-level assignment of n vectors (n × dim, unit rows) on this thread: codes[i] receives the
 * original id of the best fine centroid among the cells searched, scores[i] (when given) its inner
 * product. Same contract as `Kernels.assignNearest` (ties to the lower id; a vector with no finite
 * score gets code 0), exact when plan.probe = plan.nCoarse.
 */
export function assignTwoLevel(plan: TwoLevelPlan, kernels: Kernels, vectors: Float32Array, n: number, codes: Int32Array, scores?: Float32Array): void {
  const { nCoarse: C, probe: P, dim, fine, fineIds, starts } = plan;
  if (n === 0) return;
  // 1. Best P coarse cells of each vector (cells[i·P + j], best first; -1 where none scored).
  const cells = new Int32Array(n * P).fill(-1);
  const rowsPer = Math.min(n, COARSE_ROWS);
  const s = new Float32Array(rowsPer * C);
  const topS = new Float32Array(P);
  for (let i0 = 0; i0 < n; i0 += rowsPer) {
    const m = Math.min(rowsPer, n - i0);
    kernels.matmulTransB(vectors.subarray(i0 * dim, (i0 + m) * dim), m, plan.coarse, C, dim, s);
    for (let i = 0; i < m; i++) selectTop(s, i * C, C, P, topS, cells, (i0 + i) * P);
  }
  // 2. Vectors grouped per cell (counting sort).
  const offsets = new Int32Array(C + 1);
  for (let j = 0; j < cells.length; j++) {
    const c = cells[j]!;
    if (c >= 0) offsets[c + 1]!++;
  }
  let largest = 0;
  for (let c = 0; c < C; c++) {
    largest = Math.max(largest, offsets[c + 1]!);
    offsets[c + 1]! += offsets[c]!;
  }
  const members = new Int32Array(offsets[C]!);
  const fill = offsets.slice(0, C);
  for (let j = 0; j < cells.length; j++) {
    const c = cells[j]!;
    if (c >= 0) members[fill[c]!++] = (j / P) | 0;
  }
  // 3. One assignNearestRows per cell over its members (gathered by the kernel) and its fine block.
  const bestScore = new Float32Array(n).fill(-Infinity);
  const bestId = new Int32Array(n);
  const cellCode = new Int32Array(largest);
  const cellScore = new Float32Array(largest);
  for (let c = 0; c < C; c++) {
    const m0 = offsets[c]!;
    const m = offsets[c + 1]! - m0;
    const f0 = starts[c]!;
    const kc = starts[c + 1]! - f0;
    if (m === 0 || kc === 0) continue;
    kernels.assignNearestRows(vectors, members.subarray(m0, m0 + m), m, fine.subarray(f0 * dim, (f0 + kc) * dim), kc, dim, cellCode, cellScore);
    for (let j = 0; j < m; j++) {
      const i = members[m0 + j]!;
      const sc = cellScore[j]!;
      const id = fineIds[f0 + cellCode[j]!]!;
      if (sc > bestScore[i]! || (sc === bestScore[i]! && id < bestId[i]!)) {
        bestScore[i] = sc;
        bestId[i] = id;
      }
    }
  }
  codes.set(bestId.subarray(0, n));
  scores?.set(bestScore.subarray(0, n));
}

/**
 * Indices of the P largest of s[o, o + C) into out[outAt, outAt + P), best first, lower index on
 * ties, NaN never chosen (insertion into a sorted run: P is small, most scores fail the first test).
 */
function selectTop(s: Float32Array, o: number, C: number, P: number, topS: Float32Array, out: Int32Array, outAt: number): void {
  topS.fill(-Infinity);
  for (let c = 0; c < C; c++) {
    const x = s[o + c]!;
    if (!(x > topS[P - 1]!)) continue;
    let j = P - 1;
    while (j > 0 && x > topS[j - 1]!) {
      topS[j] = topS[j - 1]!;
      out[outAt + j] = out[outAt + j - 1]!;
      j--;
    }
    topS[j] = x;
    out[outAt + j] = c;
  }
}

/** Multiply-adds of one vector's two-level assignment (coarse scores + its probed blocks, mean cell size). */
export function twoLevelWorkPerVector(plan: Pick<TwoLevelPlan, 'k' | 'nCoarse' | 'probe' | 'dim'>): number {
  return (plan.nCoarse + (plan.probe * plan.k) / plan.nCoarse) * plan.dim;
}
