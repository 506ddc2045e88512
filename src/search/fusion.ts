/**
 * Rank fusion of a late-interaction list and a BM25 list (hybrid search).
 * - min-max: each list's scores rescaled to [0, 1] per query; fused = α·late + (1 − α)·bm25, where a
 *   document missing from a list takes that list's minimum (0 after rescaling).
 * - RRF (Cormack et al. 2009): fused = Σ 1 / (k + rank), rank from 1, tied scores sharing the best rank
 *   of their tie (competition ranking); a missing document adds nothing.
 * Equal fused scores are ordered by `tie` (default: key ascending). One index and a cluster's
 * coordinator pass compareDocIds over the documents' ids, so a tie between two documents falls the
 * same way in both (keys are rowids on one index but arrival numbers at the coordinator: a cluster's
 * RRF top-10 differed from one index's at rank 10 through a tie of ranks (9, 51) against (51, 9)).
 * A late score at or below MAXSIM_EMPTY_TOKEN belongs to a document without tokens: it takes the
 * bottom of the scale (0) without stretching the range, so one such document cannot squash the
 * other late scores together.
 */
import { MAXSIM_EMPTY_TOKEN } from '../kernels/types.js';
export interface ScoredDoc {
  key: number;
  score: number;
}

/**
 * A fused document with its parts: the raw scores of each list (null when the list lacks it) and
 * what each list added to the fused score (α·normalised late and (1 − α)·normalised BM25 for
 * min-max; 1/(k + rank) for RRF), so that score = lateShare + bm25Share.
 */
export interface FusedDoc {
  key: number;
  score: number;
  late: number | null;
  bm25: number | null;
  lateShare: number;
  bm25Share: number;
}

function minMax(list: readonly ScoredDoc[], floor = -Infinity): Map<number, number> {
  const out = new Map<number, number>();
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of list) {
    if (d.score <= floor) continue;
    if (d.score < lo) lo = d.score;
    if (d.score > hi) hi = d.score;
  }
  const span = hi - lo;
  for (const d of list) out.set(d.key, d.score <= floor ? 0 : span > 0 ? (d.score - lo) / span : 1);
  return out;
}

/** Orders two keys whose fused scores are equal (negative: `a` first). */
export type FusionTieBreak = (a: number, b: number) => number;

const byKey: FusionTieBreak = (a, b) => a - b;

/** Document ids in UTF-16 code-unit order (the order a cluster's coordinator merges its shards' ties in). */
export function compareDocIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortFused(out: FusedDoc[], tie: FusionTieBreak): FusedDoc[] {
  return out.sort((a, b) => b.score - a.score || tie(a.key, b.key));
}

export function fuseMinMax(late: readonly ScoredDoc[], bm25: readonly ScoredDoc[], alpha: number, tie: FusionTieBreak = byKey): FusedDoc[] {
  const nl = minMax(late, MAXSIM_EMPTY_TOKEN);
  const nb = minMax(bm25);
  const raw = new Map<number, { late: number | null; bm25: number | null }>();
  for (const d of late) raw.set(d.key, { late: d.score, bm25: null });
  for (const d of bm25) raw.set(d.key, { late: raw.get(d.key)?.late ?? null, bm25: d.score });
  const out: FusedDoc[] = [];
  for (const [key, r] of raw) {
    const lateShare = alpha * (nl.get(key) ?? 0);
    const bm25Share = (1 - alpha) * (nb.get(key) ?? 0);
    out.push({ key, score: lateShare + bm25Share, late: r.late, bm25: r.bm25, lateShare, bm25Share });
  }
  return sortFused(out, tie);
}

export function fuseRrf(late: readonly ScoredDoc[], bm25: readonly ScoredDoc[], k: number, tie: FusionTieBreak = byKey): FusedDoc[] {
  const acc = new Map<number, FusedDoc>();
  const add = (list: readonly ScoredDoc[], which: 'late' | 'bm25'): void => {
    // Tied scores share a rank (competition ranking, "1224"): the fused order must not depend on
    // how a tie happened to be broken — by rowid on one index, by document id at a cluster's
    // coordinator merging its shards' lists — and fast-scan's integer tables make exact ties common.
    let rank = 0;
    list.forEach((d, i) => {
      if (i > 0 && d.score !== list[i - 1]!.score) rank = i;
      const e = acc.get(d.key) ?? { key: d.key, score: 0, late: null, bm25: null, lateShare: 0, bm25Share: 0 };
      const share = 1 / (k + rank + 1);
      e.score += share;
      e[which] = d.score;
      if (which === 'late') e.lateShare = share;
      else e.bm25Share = share;
      acc.set(d.key, e);
    });
  };
  add(late, 'late');
  add(bm25, 'bm25');
  return sortFused([...acc.values()], tie);
}
