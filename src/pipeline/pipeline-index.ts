/**
 * `PipelineIndex`: what a pipeline's stages ask of the index they run on — retrieval by mode, exact
 * late-interaction scores of given documents, BM25 scores of given documents with the corpus's
 * statistics, the passage text the cross stage reads, stored documents for `includeText`, and
 * what the ltr stage's features read besides (passage positions, the query encoder).
 *
 * Two implement it: `localPipelineIndex(PlaitIndex)` (one index, this file) and a cluster's
 * coordinator (src/cluster/cluster-pipeline-index.ts: a doc id's shard is known, so each call on
 * given documents is scattered by shardOf and gathered). Both give the same scores for the same
 * corpus and codebook; the cluster test (test/cluster-pipeline.test.ts) holds them to it.
 */
import { PlaitError, checkShape } from '../errors/index.js';
import { indexText } from '../indexer/index-text.js';
import type { PlaitIndex, SearchHit, SearchOptions, SearchResult } from '../search/plait-index.js';
import type { IndexManifest } from '../format/manifest.js';
import type { Encoder } from '../encoder/types.js';

/** A stored document as `includeText` attaches it to a hit. */
export interface PipelineDocument {
  title: string;
  text: string;
  metadata: Record<string, unknown> | null;
}

/** Stored documents aligned with the ids asked for, and the shards that could not give theirs. */
export interface PipelineDocuments {
  documents: (PipelineDocument | null)[];
  missingShards: number[];
}

/** A candidate as the passage and rerank calls need it: its doc id and the passage that scored it (-1: none). */
export interface PassageRef {
  docId: string;
  pid: number;
}

export interface PipelineIndex {
  /** The index manifest (the stages read `model.idfWeighting`). */
  readonly info: IndexManifest;
  /** A search in one mode (PlaitIndex.search); a cluster's result may be `degraded` with `missingShards`. */
  search(query: string, options: SearchOptions): Promise<SearchResult>;
  /**
   * Exact late-interaction scores (best passage) of stored documents, highest first (PlaitIndex.rerank).
   * @throws PlaitError DOCUMENT_NOT_FOUND (unknown id), EMPTY_TEXT, CLUSTER_UNAVAILABLE (a cluster's shard missing).
   */
  rerank(query: string, docIds: string[], options: Pick<SearchOptions, 'idfWeighting' | 'signal'>): Promise<SearchHit[]>;
  /**
   * The BM25 score of each listed document with the corpus's statistics (0 for one without a query
   * term), aligned with `docIds`.
   * @throws PlaitError CLUSTER_UNAVAILABLE (a cluster's shard missing).
   */
  bm25Scores(query: string, docIds: readonly string[], signal?: AbortSignal): Promise<Float64Array>;
  /**
   * Each candidate's passage text: its scored passage (`pid` ≥ 0, a pid of the document's own
   * index or shard), else its document's first passage; with the pid used (-1: the whole text).
   * @throws PlaitError DOCUMENT_NOT_FOUND (unknown id), CLUSTER_UNAVAILABLE.
   */
  passageTexts(list: readonly PassageRef[], signal?: AbortSignal): Promise<{ texts: string[]; pids: Int32Array }>;
  /**
   * The stored documents (null for an unknown id), aligned with `docIds`. A cluster's shard that
   * does not answer leaves its documents null and is named in `missingShards` (ascending; empty
   * when every shard answered, and on one index): the others' documents still come.
   */
  documents(docIds: readonly string[], signal?: AbortSignal): Promise<PipelineDocuments>;
  /**
   * The 0-based position of each candidate's passage `pid` in its document (-1: an unknown
   * document, or a pid that is not one of its passages), aligned with `list`.
   */
  passagePositions(list: readonly PassageRef[], signal?: AbortSignal): Promise<Int32Array>;
  /** The query encoder (the ltr stage's query_length counts the tokens it scores). */
  encoder(): Promise<Encoder>;
}

/** One open index as a pipeline's index: its own methods and document store. */
export function localPipelineIndex(index: PlaitIndex): PipelineIndex {
  checkShape('index', index, 'an open PlaitIndex (from openIndex)', ['manifest', 'docstore']);
  return {
    get info() {
      return index.info;
    },
    search: (query, options) => index.search(query, options),
    rerank: (query, docIds, options) =>
      index.rerank(query, docIds, {
        ...(options.idfWeighting === undefined ? {} : { idfWeighting: options.idfWeighting }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }),
    bm25Scores: async (query, docIds) => bm25ScoresOf(index, query, docIds),
    passageTexts: async (list) => passageTexts(index, list),
    documents: async (docIds) => ({ documents: index.docstore.getDocuments(docIds), missingShards: [] }),
    passagePositions: async (list) => passagePositions(index, list),
    encoder: () => index.encoder(),
  };
}

/** Each candidate's passage position in its document (-1: unknown document, or not one of its passages). */
export function passagePositions(index: PlaitIndex, list: readonly PassageRef[]): Int32Array {
  const store = index.docstore;
  return Int32Array.from(list, (c) => {
    const rowid = store.docIdToRowid(c.docId);
    return c.pid < 0 || rowid === null ? -1 : store.passagesOf(rowid).findIndex((p) => p.pid === c.pid);
  });
}

/**
 * BM25 scores of the listed documents from `index`'s store, with the corpus statistics `corpus`
 * (a cluster's, summed over its shards) or the store's own.
 */
export function bm25ScoresOf(index: PlaitIndex, query: string, docIds: readonly string[], corpus?: { documents: number; avgLength: number; df: Record<string, number> }): Float64Array {
  const store = index.docstore;
  // BM25 touches only documents holding a query term; asking for all of them costs the same scoring.
  const all = new Map(store.bm25(query, store.nDocuments, corpus === undefined ? {} : { corpus }).map((h) => [h.docId, h.score] as const));
  return Float64Array.from(docIds, (id) => all.get(id) ?? 0);
}

/** Each candidate's passage text: its scored passage, or its first passage when it has none. */
export function passageTexts(index: PlaitIndex, list: readonly PassageRef[]): { texts: string[]; pids: Int32Array } {
  const store = index.docstore;
  const docs = store.getDocuments(list.map((c) => c.docId));
  const pids = new Int32Array(list.length);
  const texts = list.map((c, i) => {
    const doc = docs[i];
    if (doc === null || doc === undefined) throw new PlaitError('INVALID_INPUT', { message: `unknown document id "${c.docId}"`, docId: c.docId });
    let passage = c.pid >= 0 ? store.getPassages([c.pid])[0] : null;
    if (passage === null || passage === undefined || passage.docRowid !== doc.docRowid) passage = store.passagesOf(doc.docRowid)[0] ?? null;
    const full = indexText(doc.title, doc.text);
    pids[i] = passage?.pid ?? -1;
    return passage === null ? full : full.slice(passage.start, passage.end);
  });
  return { texts, pids };
}
