/**
 * Agreement of a run with a reference run (PLAID against exhaustive MaxSim): the share of the
 * reference's top-k documents that the run also returns in its top-k, pooled over queries.
 */
import type { Run } from './run.js';

export function topKOverlap(run: Run, reference: Run, k = 10): number {
  let found = 0;
  let total = 0;
  for (const [qid, refHits] of reference) {
    const got = new Set((run.get(qid) ?? []).slice(0, k).map((h) => h.docId));
    for (const h of refHits.slice(0, k)) {
      total++;
      if (got.has(h.docId)) found++;
    }
  }
  return total === 0 ? 1 : found / total;
}
