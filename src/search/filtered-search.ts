/**
 * Filtered search (issue 12): the documents a metadata filter allows, as a mask by doc rowid, and
 * the two ways late interaction honours it so that `topK` documents come back whenever that many
 * match:
 *  - selective filters (few allowed passages beside PLAID's ndocs, or a small share of the index:
 *    exactFilter, FILTER_DEFAULTS): the allowed passages ARE the candidates — scored exactly, no
 *    PLAID (cheaper than PLAID plus widening, and exact: recall 1 against exhaustive filtered search
 *    by construction);
 *  - broad filters: PLAID runs with the excluded passages pre-marked in its scratch marks
 *    (`candidateMarks`), so candidate generation emits only allowed passages and ndocs counts
 *    allowed candidates; the collapse to documents skips excluded documents too, the widening
 *    policy (late-ranking.ts) counts only allowed documents, and its final exact scan keeps every
 *    passage.
 * BM25 scores the allowed documents only (DocStoreReader.bm25Ranking's mask).
 */
import { FILTER_DEFAULTS } from '../config/defaults.js';
import type { DocStoreReader } from '../docstore/index.js';
import type { Bm25Query } from '../docstore/docstore-reader.js';
import type { Bm25Options } from '../docstore/bm25.js';
import type { DocPassages, CollapsedDocs } from './doc-passages.js';
import type { CompiledFilter } from '../docstore/metadata-filter.js';
import { scratchMarks, type EncodedQuery, type ScoringArrays } from './plaid.js';
import type { ScoredDoc } from './fusion.js';

export interface DocMask {
  /** allowed[docRowid] = 1 when the document matches. */
  allowed: Uint8Array;
  /** The matching live documents. */
  rowids: number[];
  /** Their passages. */
  passages: number;
}

export function docMask(docstore: DocStoreReader, docs: DocPassages, filter: CompiledFilter): DocMask {
  const rowids = docstore.filterRowids(filter.where, filter.params);
  const allowed = new Uint8Array(docstore.rowidSpan);
  for (const r of rowids) allowed[r] = 1;
  return { allowed, rowids, passages: docs.pidsOf(rowids).length };
}

/**
 * PLAID scratch marks for a broad filter: every passage of an excluded document (and every deleted
 * one) pre-set, so that candidate generation (`ivfUnion`) emits only allowed passages and ndocs
 * counts allowed candidates only. One byte a passage per filtered query, in shared memory so that
 * a scoring worker uses it without a copy; PLAID leaves it as it found it (it resets only the
 * pids it emitted), so the widening rounds of one query reuse it.
 */
export function candidateMarks(a: ScoringArrays, pidToDoc: Int32Array, mask: DocMask): Uint8Array {
  const marks = scratchMarks(a, new Uint8Array(new SharedArrayBuffer(a.doclens.length)));
  for (let pid = 0; pid < marks.length; pid++) if (mask.allowed[pidToDoc[pid]!] === 0) marks[pid] = 1;
  return marks;
}

/**
 * Whether the allowed passages are scored exactly instead of running PLAID with the filter's marks
 * (FILTER_DEFAULTS): when `topK` covers every allowed document (PLAID would widen to the
 * exhaustive scan of every passage to find them all); when they are few beside what PLAID would
 * score at this k (≤ exactPerNdocs × ndocs); or when they are a selective share of the index
 * (≤ exactMaxShare of `indexPassages`) within the exact scan's bound (≤ exactMaxPassages).
 * @param indexPassages the index's passages (deleted ones included: PLAID walks them too).
 * @param ndocs the search's PLAID ndocs (ResolvedSearch.plaid.ndocs: k-dependent, calibrated or given).
 * @param topK documents the search returns.
 */
export function exactFilter(mask: DocMask, indexPassages: number, ndocs: number, topK: number): boolean {
  const f = FILTER_DEFAULTS;
  if (topK >= mask.rowids.length) return true;
  if (mask.passages <= f.exactPerNdocs * ndocs) return true;
  return mask.passages <= f.exactMaxPassages && mask.passages <= f.exactMaxShare * indexPassages;
}

/** The allowed documents scored exactly (best passage), best `k` first. */
export function exactFiltered(q: EncodedQuery, mask: DocMask, docs: DocPassages, exact: (q: EncodedQuery, pids: Int32Array) => Float32Array, k: number): CollapsedDocs {
  const pids = docs.pidsOf(mask.rowids);
  if (pids.length === 0) return { docs: [], pidOf: new Map(), distinct: 0 };
  return docs.collapse(pids, exact(q, pids), k, mask.allowed);
}

/**
 * BM25's best `k` allowed documents, and how many allowed documents hold a query term (the whole
 * filtered ranking's length: SearchResult.totalHits). Only allowed documents are scored, so one pass
 * gives both (before, deeper unfiltered lists were asked, ×4, until k were allowed).
 */
export function filteredBm25(docstore: DocStoreReader, query: string | Bm25Query, k: number, mask: DocMask, options: Bm25Options = {}): { docs: ScoredDoc[]; matched: number } {
  if (mask.rowids.length === 0) return { docs: [], matched: 0 };
  const { hits, matched } = docstore.bm25Ranking(query, k, options, mask.allowed);
  return { docs: hits.map((h) => ({ key: h.docRowid, score: h.score })), matched };
}
