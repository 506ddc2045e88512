/**
 * Hybrid ranking: the late-interaction list and the BM25 list fused (fusion.ts). A document that
 * only BM25 found gets its exact late-interaction score first (max over its passages), so fusion
 * compares both scores of every candidate; the late list therefore needs only topK documents,
 * not the full fusion depth.
 */
import type { CollapsedDocs } from './doc-passages.js';
import { fuseMinMax, fuseRrf, type FusedDoc, type FusionTieBreak, type ScoredDoc } from './fusion.js';
import type { ResolvedSearch } from './search-options.js';

/**
 * Fuses `late` (documents with their best passages; extended in place with the BM25-only
 * documents) and `bm25` (best first). `scoreDocs` scores whole documents exactly; `tie` orders equal
 * fused scores (fusion.ts; PlaitIndex passes the documents' ids, as a cluster's coordinator does).
 */
export function fuseHybrid(late: CollapsedDocs, bm25: readonly ScoredDoc[], r: ResolvedSearch, scoreDocs: ((rowids: number[]) => CollapsedDocs) | null, tie?: FusionTieBreak): FusedDoc[] {
  const lateDocs = late.docs.slice();
  const have = new Set(lateDocs.map((d) => d.key));
  const missing = bm25.filter((d) => !have.has(d.key)).map((d) => d.key);
  if (missing.length > 0 && scoreDocs !== null) {
    const extra = scoreDocs(missing);
    for (const d of extra.docs) lateDocs.push(d);
    for (const [k, v] of extra.pidOf) late.pidOf.set(k, v);
  }
  return r.fusion === 'rrf' ? fuseRrf(lateDocs.sort((a, b) => b.score - a.score || a.key - b.key), bm25, r.rrfK, tie) : fuseMinMax(lateDocs, bm25, r.alpha, tie);
}
