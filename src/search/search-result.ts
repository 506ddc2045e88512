/**
 * What a search returns: documents (by the user's docId) with their score, rank and best passage,
 * optionally with their stored text, and the time each stage took.
 */
import type { TextWarning } from '../encoder/unknown-tokens.js';
import { PlaitError } from '../errors/index.js';
import type { DocStoreReader } from '../docstore/index.js';
import type { FusedDoc, ScoredDoc } from './fusion.js';
import type { PlaidTimings } from './plaid.js';
import type { LateRound } from './late-ranking.js';
import type { EmptyReason } from './query-text.js';
import type { HitHighlights } from './highlights.js';
import type { QueryRewrite } from '../rewrite/query-rewriter.js';
import type { FilterWarning } from '../docstore/metadata-catalogue.js';

export interface SearchHit {
  docId: string;
  /** The best-scoring passage of the document (-1 for a BM25-only hit). */
  pid: number;
  score: number;
  /** 1-based. */
  rank: number;
  title?: string;
  text?: string;
  metadata?: Record<string, unknown> | null;
  /**
   * Hybrid hits only: the parts of the fused score. `late` is the raw MaxSim of the best passage and
   * `bm25` the raw BM25 score (null when BM25 did not retrieve the document); `lateShare +
   * bm25Share = score` (α·min-max-normalised scores, or the 1/(k + rank) terms of RRF).
   */
  fusion?: HybridParts;
  /** With SearchOptions.highlights: the words that answered the query and a marked snippet (highlights.ts). */
  highlights?: HitHighlights;
}

export interface HybridParts {
  late: number | null;
  bm25: number | null;
  lateShare: number;
  bm25Share: number;
}

/** Milliseconds per stage (encodeMs is the batch's encoding time divided by its queries). */
export interface SearchTimings extends Partial<PlaidTimings> {
  encodeMs: number;
  lateMs: number;
  bm25Ms: number;
  fusionMs: number;
  totalMs: number;
  /** With SearchOptions.highlights: the time highlighting the returned hits took (included in totalMs). */
  highlightsMs?: number;
  /**
   * Each round of late ranking, in order (late-ranking.ts LateRound): the PLAID settings every
   * round ran with (a filter or deletes that leave fewer than topK documents widen the search), or
   * the exact scans. The top-level stage timings (candidatesMs …) are the last PLAID round's.
   * Absent in bm25 mode.
   */
  rounds?: LateRound[];
}

export interface SearchResult {
  hits: SearchHit[];
  timings: SearchTimings;
  /** Living index: the generation that answered (0: the build); set by PlaitIndex's batch searches. */
  generation?: number;
  /**
   * True when the query had more content tokens than the model keeps (ModelInfo.queryWindow: 32
   * less the special tokens for colbertv2.0, 128 for the bundled model) and was searched on its
   * first ones. Always false in bm25 mode and for queries the caller encoded.
   */
  truncated: boolean;
  /**
   * Set when the query could not be searched and `hits` is empty: 'empty-query' (blank text) or
   * 'no-content' (no letter or digit, e.g. punctuation only). See query-text.ts.
   */
  emptyReason?: EmptyReason;
  /**
   * The query rewrites applied (SearchOptions.rewrite), in order: spelling corrections and synonyms
   * (what the late side encoded and BM25 matched), RM3's and ColBERT-PRF's expansions. Absent when
   * nothing was rewritten.
   */
  rewrites?: QueryRewrite[];
  /**
   * Set when most of the query's content tokens are unknown to the model (text in a script it
   * lacks, emoji): its hits then tie or nearly, and say little (encoder/unknown-tokens.ts).
   */
  warnings?: TextWarning[];
  /**
   * A cluster's coordinator (src/cluster/): set when some shards did not answer by the deadline
   * (no live replica, or too slow) a round this answer depends on; `missingShards` names them
   * (ascending). Missing from the search, its statistics, RM3's feedback or ColBERT-PRF's rounds, a
   * shard gave no hits; missing only from the query rewrite's spelling statistics, it gave its hits,
   * but the spelling correction may differ from one index's over the same corpus.
   */
  degraded?: boolean;
  missingShards?: number[];
  /**
   * Set when a metadata filter matched no live document (so `hits` is empty): why, with stable codes
   * (docstore/metadata-catalogue.ts): FILTER_FIELD_UNKNOWN (a field no document has, with a
   * did-you-mean), FILTER_TYPE_MISMATCH (a value of a JSON type the field never stores), else FILTER_NO_MATCH.
   * Also set, whatever the filter matched, by FILTER_TYPE_MIXED: a comparison ($gt, $gte, $lt, $lte,
   * $eq, $in of one type) on a field holding several JSON types, which compares the values of its
   * own type only (`storedCounts`: each type's live documents).
   */
  filterWarnings?: FilterWarning[];
  /** The results skipped before these hits (SearchOptions.offset); set, with totalHits, when the search was given an offset (0 included). */
  offset?: number;
  /**
   * How many documents the whole ranking holds (paging.ts totalHits), with the filter applied when
   * there is one: late interaction and hybrid rank every live document (hybrid fuses late
   * interaction's ranking of them all with BM25's), BM25 the documents holding a query term (after
   * stop words and rewrites); a cluster's coordinator sums its shards' counts. Null when it is not
   * known: a pipeline past its last stage's depth, a cluster answer missing a shard.
   */
  totalHits?: number | null;
}

/** The result of a query that cannot be searched (query-text.ts). */
export function emptyResult(reason: EmptyReason): SearchResult {
  return { hits: [], timings: emptyTimings(), truncated: false, emptyReason: reason };
}

export function emptyTimings(): SearchTimings {
  return { encodeMs: 0, lateMs: 0, bm25Ms: 0, fusionMs: 0, totalMs: 0 };
}

/**
 * Ranked documents (docstore rowids) → hits with docIds, ranked from `rankBase` + 1 (a page's offset).
 * @throws PlaitError INDEX_CORRUPT when a rowid has no stored document.
 */
export function toHits(docstore: DocStoreReader, docs: readonly ScoredDoc[], pidOf: ReadonlyMap<number, number>, includeText: boolean, rankBase = 0): SearchHit[] {
  const stored = docstore.getDocuments(docs.map((d) => d.key));
  return docs.map((d, i) => {
    const doc = stored[i];
    if (doc === null || doc === undefined) throw new PlaitError('INDEX_CORRUPT', { message: `document ${d.key} is missing from the document store` });
    const hit: SearchHit = { docId: doc.docId, pid: pidOf.get(d.key) ?? -1, score: d.score, rank: rankBase + i + 1 };
    if ('lateShare' in d) {
      const f = d as FusedDoc;
      hit.fusion = { late: f.late, bm25: f.bm25, lateShare: f.lateShare, bm25Share: f.bm25Share };
    }
    if (includeText) {
      hit.title = doc.title;
      hit.text = doc.text;
      hit.metadata = doc.metadata ?? null;
    }
    return hit;
  });
}
