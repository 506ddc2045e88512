/**
 * `openIndex(path)` → PlaitIndex: search (late interaction via PLAID or exhaustive, BM25, hybrid),
 * searchBatch, and rerank of stored documents without re-encoding.
 *
 * A search reads top to bottom:
 *   resolve options (search-options.ts) and start the deadline (deadline.ts)
 *   → encode the queries (query-encoder.ts; weights in prepared-query.ts)
 *   → late-interaction ranking with the widening policy (late-ranking.ts), its passages scored on
 *     this thread or the worker pool (passage-scorers.ts, plaid.ts, search-pool.ts) and collapsed
 *     to documents (doc-passages.ts)
 *   → BM25 and fusion for hybrid (hybrid.ts, fusion.ts)
 *   → hits with docIds (search-result.ts).
 */
import { join } from 'node:path';
import { PlaitError, abortedBy, checkSignal, invalidArgument, checkArray, checkOptions, checkStringArray, checkShape, checkString, checkObject } from '../errors/index.js';
import { REFRESH_DEFAULTS, SEARCH_DEFAULTS } from '../config/defaults.js';
import { WARM_UP_TEXT, warmUpRows } from './warm-up.js';
import { carryPlan, carryScoringTables, type CarryPlan } from './generation-carry.js';
import { carriedScoringTables, type SharedScoringTables } from './shared-tables.js';
import { loadIndexData, readManifest, type IndexData } from '../format/index-reader.js';
import { releaseMappedFiles } from '../format/index-files.js';
import { commitIdOf } from '../format/index-transaction.js';
import { locateIndex } from '../format/index-path.js';
import { roleFileName, type IndexManifest } from '../format/manifest.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import type { Encoder, TokenEmbeddings } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { DocStoreReader } from '../docstore/index.js';
import type { EncodedQuery, ScoringArrays } from './plaid.js';
import { lastCentroidScores, scoringArraysOf } from './plaid.js';
import { compareDocIds, type ScoredDoc } from './fusion.js';
import { SearchPool } from './search-pool.js';
import { Deadline, abortError, sharedAbortController, throwIfAborted, yieldTurn } from './deadline.js';
import { countUnknownTokens, unknownTokenWarning } from '../encoder/unknown-tokens.js';
import { SEARCH_OPTION_KEYS, hybridDepth, resolveSearch, type GlobalStats, type ResolvedSearch, type SearchOptions } from './search-options.js';
import { EXPLAIN_OPTION_SCOPES, type OptionScopes } from './option-scope.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { resolveScoringWorkers } from './scoring-workers.js';
import { checkModel } from './model-check.js';
import { QueryEncoder, type QueryEncoderOptions } from './query-encoder.js';
import { QueryPreparer } from './prepared-query.js';
import { DocPassages, type CollapsedDocs } from './doc-passages.js';
import { latePlan, rankLate, rankLateAsync, recordRound } from './late-ranking.js';
import { LocalScorer, pooledScorer } from './passage-scorers.js';
import { fuseHybrid } from './hybrid.js';
import { unsearchable, queryFit, type EmptyReason } from './query-text.js';
import { emptyResult, emptyTimings, toHits, type SearchHit, type SearchResult, type SearchTimings } from './search-result.js';
import { rowidsOf, scoreStoredDocs } from './stored-rerank.js';
import { explainLate, type ExactQueryCache, type Explanation } from './explain.js';
import { lateHighlights, resolveHighlights, type HighlightOptions, type HitHighlights, type ResolvedHighlights } from './highlights.js';
import { bm25Highlights } from './highlights-bm25.js';
import type { Bm25Query } from '../docstore/docstore-reader.js';
import { QueryRewriter, rewriteActive, type RewrittenQuery } from '../rewrite/query-rewriter.js';
import { appendPrfRows, colbertPrf, prfRewrite, type PrfRows } from './colbert-prf.js';
import { ENGLISH_STOPWORDS } from '../docstore/index.js';
import { totalHits } from './paging.js';
import { mixedFilterWarnings, noMatchWarnings, type FilterWarning } from '../docstore/metadata-catalogue.js';
import { candidateMarks, docMask, exactFilter, exactFiltered, filteredBm25, type DocMask } from './filtered-search.js';
import { indexText } from '../indexer/index-text.js';
import { updateIndex, type EncodedDocument, type UpdateResult } from '../mutate/index-updater.js';
import { compactIndexOffThread, serialWrite, updateIndexOffThread } from '../mutate/write-thread.js';
import { checkDocument, encodeDocuments, throwIfWriteCancelled } from '../mutate/encode-documents.js';
import { lookupDocId } from '../indexer/corpus/document-id.js';
import { splitUnchanged, writeUpserts } from '../mutate/unchanged-upsert.js';
import type { CorpusDocumentInput } from '../indexer/corpus/types.js';
import type { Bm25Hit, DocumentInput } from '../docstore/types.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';

export { checkModel } from './model-check.js';
export type { SearchMode, SearchOptions } from './search-options.js';
export type { SearchHit, SearchResult, SearchTimings, HybridParts } from './search-result.js';
export type { EmptyReason } from './query-text.js';
export type { Explanation, TokenMatch, ExplainedToken } from './explain.js';

/** Options of `PlaitIndex.explain`: the search settings whose score is explained. */
export type ExplainOptions = Pick<SearchOptions, 'mode' | 'idfWeighting' | 'fusion' | 'alpha' | 'rrfK' | 'topK' | 'rewrite' | 'globalStats' | 'deadlineAt' | 'signal'> & {
  /**
   * The query's rewrite computed elsewhere — a cluster's coordinator, against the whole corpus:
   * spelling, synonyms and (BM25 side) RM3 already applied — used instead of rewriting here.
   */
  rewritten?: RewrittenQuery | null;
};

/** ExplainOptions' keys (option-keys.ts). */
const EXPLAIN_OPTION_KEYS = { mode: true, idfWeighting: true, fusion: true, alpha: true, rrfK: true, topK: true, rewrite: true, globalStats: true, deadlineAt: true, signal: true, rewritten: true } as const satisfies OptionKeys<ExplainOptions>;

/** Options of searchEncodedBatch: a search's, plus the rewrites the caller already computed. */
export interface EncodedSearchOptions extends SearchOptions {
  /**
   * One `PlaitIndex.rewrite(query, options)` result per query (null where it gave none), computed
   * with these same options; the search uses them instead of rewriting again. Default: rewrite here.
   */
  rewritten?: readonly (RewrittenQuery | null)[];
  /**
   * ColBERT-PRF rows chosen elsewhere (a cluster's coordinator, colbert-prf.ts choosePrfCentroids),
   * appended to every query of the batch after its IDF weighting: the centroid ids of this index's
   * codebook and their weights. The search is then the PRF second pass (no PRF of its own).
   */
  prfRows?: PrfRows;
}

/** Options of `PlaitIndex.rerank`: how many hits, IDF weighting, stored text. */
export type IndexRerankOptions = Pick<SearchOptions, 'topK' | 'idfWeighting' | 'includeText'> & {
  /**
   * Cancels the rerank: checked before the query is encoded, passed to the encoder (which starts no
   * batch once aborted) and checked again before scoring; rejects with the signal's reason when it is
   * a PlaitError, TIMEOUT for AbortSignal.timeout(), else ABORTED. A pipeline's late stage passes its own.
   */
  signal?: AbortSignal;
};

/** IndexRerankOptions' keys (option-keys.ts): `index.rerank(q, ids, { topk: 1 })` had returned every id. */
const INDEX_RERANK_OPTION_KEYS = { topK: true, idfWeighting: true, includeText: true, signal: true } as const satisfies OptionKeys<IndexRerankOptions>;

/**
 * A query as `PlaitIndex.highlightHits` takes it: what another process ranked with (a cluster's
 * coordinator: cluster/shard-replica.ts `highlights`), so the highlights are those this index's own
 * search would give its hits.
 */
export interface HitHighlightQuery {
  /** The text the embedding encodes: a rewrite's `lateText`, else the query (its tokens label the late spans). */
  lateText: string;
  /** The query's embedding, [MASK] rows included; null: no late side (bm25 mode). */
  embedding: TokenEmbeddings | null;
  /** Query-token IDF weighting (default: the model's), with the corpus's token dfs in `globalStats.tokenIdf` (default: this index's). */
  idfWeighting?: boolean;
  globalStats?: GlobalStats;
  /** ColBERT-PRF rows appended after the weighting (their matches go to `otherScore`). */
  prfRows?: PrfRows;
  /** The BM25 side: a query read by this store (DocStoreReader.bm25Query, as an unrewritten search reads it), a rewrite's reading, or null (late mode: none). */
  bm25: string | Bm25Query | null;
}

/** What a result's highlights are computed from: the prepared query (null: no late side), BM25's reading (null: none), the text the late side encoded. */
interface HighlightSource {
  q: EncodedQuery | null;
  bm25: Bm25Query | null;
  lateText: string;
}

/** EncodedSearchOptions' keys (option-keys.ts). */
/** rerankEncoded's options; its keys (option-keys.ts): `rerankEncoded(e, ids, { topk: 1 })` had scored every id. */
export type RerankEncodedOptions = Pick<EncodedSearchOptions, 'topK' | 'idfWeighting' | 'includeText' | 'globalStats' | 'prfRows'>;
const RERANK_ENCODED_OPTION_KEYS = { topK: true, idfWeighting: true, includeText: true, globalStats: true, prfRows: true } as const satisfies OptionKeys<RerankEncodedOptions>;
export const ENCODED_SEARCH_OPTION_KEYS = { ...SEARCH_OPTION_KEYS, rewritten: true, prfRows: true } as const satisfies OptionKeys<EncodedSearchOptions>;

/** A resolved search that may carry PRF rows chosen elsewhere (EncodedSearchOptions.prfRows). */
type ResolvedWithRows = ResolvedSearch & { prfRows?: PrfRows };

export interface OpenIndexOptions extends QueryEncoderOptions {
  /** The scoring kernels (getKernels(), typescriptKernels, nativeKernels); default getKernels(): native when it loads, else TypeScript. */
  kernels?: Kernels;
  /**
   * Scoring worker threads: 0 (the default) scores on the calling thread; 'auto' is one per core, at
   * most 4 (SCORING_WORKERS_AUTO_MAX), as `plait serve --workers auto`; else an integer up to
   * THREAD_LIMITS.maxThreads (scoring-workers.ts). With workers, the queries of a batch are scored in
   * parallel and exhaustive search splits its passages across them.
   * @throws PlaitError INVALID_ARGUMENT for anything else
   */
  workers?: number | 'auto';
  /**
   * Pay the first search's one-time setup before returning (PlaitIndex.warmUp: the query encoder,
   * every scoring thread, BM25's tables): ~0.4 s more on scifact, taken off the first query. Default
   * false: `open` stays ~20 ms for callers that read metadata or never search.
   */
  warmUp?: boolean;
}

/** OpenIndexOptions' keys (option-keys.ts). */
const OPEN_INDEX_OPTION_KEYS = { model: true, encoder: true, encoderOptions: true, kernels: true, workers: true, warmUp: true } as const satisfies OptionKeys<OpenIndexOptions>;

/** What PlaitIndex.warmUp sets up. */
export interface WarmUpOptions {
  /** Load the query encoder and run it once (default true; false for callers that search with their own embeddings). */
  encoder?: boolean;
}

/** WarmUpOptions' keys (option-keys.ts): `warmUp({ encodr: false })` had loaded the encoder anyway. */
const WARM_UP_OPTION_KEYS = { encoder: true } as const satisfies OptionKeys<WarmUpOptions>;

/**
 * Opens an index by path (or name under the index home).
 * @throws PlaitError INDEX_NOT_FOUND, INDEX_CORRUPT, INDEX_VERSION, MODEL_MISMATCH (a given encoder).
 */
export async function openIndex(nameOrPath: string, options: OpenIndexOptions = {}): Promise<PlaitIndex> {
  checkOptionKeys(options, OPEN_INDEX_OPTION_KEYS, 'openIndex option');
  checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option'); // not at the first query, when the query encoder loads
  const path = locateIndex(nameOrPath);
  const kernels = options.kernels ?? getKernels();
  // Checked before anything opens ('auto' resolved): with workers, their descriptors are kept at load.
  const workers = resolveScoringWorkers(options.workers ?? 0, 'workers');
  const { data, docstore } = openGeneration(path, kernels, workers);
  let index: PlaitIndex;
  try {
    if (options.encoder !== undefined) checkModel(data.manifest.model, options.encoder.info);
    index = new PlaitIndex(data, docstore, kernels, options);
  } catch (e) {
    // A refused open keeps nothing open: the store's connection, the descriptors kept for workers.
    docstore.close();
    releaseMappedFiles(data);
    throw e;
  }
  if (options.warmUp === true) {
    try {
      await index.warmUp();
    } catch (e) {
      await index.close();
      throw e;
    }
  }
  return index;
}

/**
 * The arrays and document store of the generation the manifest names now. A living index's write
 * may commit between reading the manifest and opening its files, and the write after it removes
 * that generation's files: then the open is retried on the newer manifest.
 */
function openGeneration(path: string, kernels: Kernels, workers: number): { data: IndexData; docstore: DocStoreReader } {
  // A commit removes the previous generation's files at once (index-transaction.ts): a reader that
  // read the manifest just before it finds a file gone, and retries on the new manifest. It gives up
  // only when the manifest did not change under it (a real fault) or after many commits in a row.
  for (let attempt = 0; ; attempt++) {
    const before = safeCommitId(path);
    let data: IndexData | null = null;
    try {
      // Worker threads map the files through descriptors kept now (released with the generation).
      data = loadIndexData(path, kernels, { descriptors: workers > 0 });
      const docstore = DocStoreReader.open(join(path, roleFileName(data.manifest, 'docstore')), { commit: data.manifest.docstoreCommit ?? null });
      return { data, docstore };
    } catch (e) {
      // The store went with a commit after the arrays opened: their descriptors go back now.
      if (data !== null) releaseMappedFiles(data);
      if (!(e instanceof PlaitError) || (e.code !== 'INDEX_CORRUPT' && e.code !== 'DOCSTORE_FAILED')) throw e;
      const after = safeCommitId(path);
      if (attempt >= 50 || (after === before && attempt >= 2)) throw e;
    }
  }
}

function safeCommitId(path: string): string | null {
  try {
    return commitIdOf(readManifest(path));
  } catch {
    return null;
  }
}

/** Options of `PlaitIndex.add`. */
export interface AddOptions {
  /** Refuse a docId already in the index (DOCUMENT_EXISTS, nothing written) instead of replacing that document. */
  noReplace?: boolean;
  /**
   * Cancels the add before its commit: the encoding stops within one batch a worker, nothing is
   * written (the index and its document store stay as they were), and the call rejects with the
   * signal's reason when it is a PlaitError, TIMEOUT for AbortSignal.timeout(), else ABORTED. Checked once more right before
   * the commit, which, once begun, is never interrupted (an add that resolved was committed).
   */
  signal?: AbortSignal;
}

/** AddOptions' keys (option-keys.ts). */
const ADD_OPTION_KEYS = { noReplace: true, signal: true } as const satisfies OptionKeys<AddOptions>;

/**
 * Options of `PlaitIndex.delete` and `PlaitIndex.compact`, as the HTTP routes take a write's
 * deadline: a delete given `{ signal }` had ignored it and committed (its options had no place).
 */
export interface WriteOptions {
  /**
   * Cancels the write before its commit: nothing is written, and the call rejects with the signal's
   * reason when it is a PlaitError, TIMEOUT for AbortSignal.timeout(), else ABORTED (the reason as
   * `cause`). An add's commit runs at once on the calling thread and is never interrupted; a delete
   * or a compaction runs on the write thread (mutate/write-thread.ts), where an abort is seen between
   * its steps up to its commit (it then rolls back); a commit once begun completes and is answered.
   */
  signal?: AbortSignal;
}

/** WriteOptions' keys (option-keys.ts). */
const WRITE_OPTION_KEYS = { signal: true } as const satisfies OptionKeys<WriteOptions>;

/** The keys of delete's `{ filter }` target (option-keys.ts): `{ filtr }` is refused by name. */
const DELETE_WHERE_KEYS = { filter: true } as const satisfies OptionKeys<{ filter: MetadataFilter }>;

/**
 * An open index: searches (search, searchBatch, explain, rerank), writes (add, delete, compact) and
 * its lifecycle (refresh, warmUp, close). Made by `openIndex`, not by its constructor.
 */
export class PlaitIndex {
  /** The index's folder, absolute. */
  readonly path: string;
  // The generation served (living index): replaced together, between requests, by refresh().
  /** The served generation's manifest (model, counts, files, calibration); replaced by each refresh, add, delete or compact. */
  manifest: IndexManifest;
  /** The served generation's document store (SQLite: texts, metadata, BM25); replaced with the manifest. */
  docstore: DocStoreReader;
  private arrays: ScoringArrays;
  private readonly queryEncoder: QueryEncoder;
  private queries: QueryPreparer;
  private docs: DocPassages;
  private local: LocalScorer;
  private pool: SearchPool | null;
  private readonly kernels: Kernels;
  private readonly workers: number;
  /** Requests in flight, and the swap waiting for them to end (new requests wait for the swap). */
  private inflight = 0;
  private swap: { promise: Promise<void>; resolve: () => void; drained: () => void } | null = null;
  /** Set by warmUp(): each later generation (refresh) is warmed up before it is served. */
  private warmed = false;
  /** Fired by close(): searches in flight stop with its reason (INDEX_CLOSED); one listener per search in flight, so no listener limit (sharedAbortController). */
  private readonly closing = sharedAbortController();
  /** Query rewriting against the served generation's document store (made on first use, remade after a refresh). */
  private rewriterOf: { docstore: DocStoreReader; rewriter: QueryRewriter } | null = null;
  /** What a result's highlights are computed from, kept by finish() until addHighlights takes it. */
  private readonly highlightSources = new WeakMap<SearchResult, HighlightSource>();

  /** Internal: `openIndex(nameOrPath, options)` opens an index (it locates it, checks the model, opens the generation). */
  constructor(
    data: IndexData,
    docstore: DocStoreReader,
    kernels: Kernels,
    options: OpenIndexOptions,
  ) {
    checkShape('data', data, 'IndexData (from loadIndexData)', ['path', 'manifest']);
    checkObject('docstore', docstore, 'a DocStoreReader');
    checkObject('kernels', kernels, 'Kernels (from getKernels)');
    checkObject('options', options, 'open options');
    this.path = data.path;
    this.manifest = data.manifest;
    this.docstore = docstore;
    this.kernels = kernels;
    const workers = resolveScoringWorkers(options.workers ?? 0, 'workers');
    this.workers = workers;
    this.queryEncoder = new QueryEncoder(data.manifest, options);
    const g = PlaitIndex.generationState(data, docstore, kernels, workers);
    this.arrays = g.arrays;
    this.queries = g.queries;
    this.docs = g.docs;
    this.local = g.local;
    this.pool = g.pool;
  }

  /**
   * A generation's per-generation state over `arrays` (scoringArraysOf(data)).
   * @param tables the shared tables its pool takes over from the served generation's (refresh; carriedScoringTables)
   */
  private static generationState(data: IndexData, docstore: DocStoreReader, kernels: Kernels, workers: number, arrays: ScoringArrays = scoringArraysOf(data), tables?: SharedScoringTables) {
    return {
      arrays,
      queries: new QueryPreparer(data.manifest.dim, docstore),
      docs: new DocPassages(docstore.pidToDoc, docstore.rowidSpan, data.tombstones),
      local: new LocalScorer(arrays, kernels),
      pool: workers > 0 ? new SearchPool(arrays, workers, tables) : null,
    };
  }

  /**
   * Retires a generation's state once no worker of it can start again (its pool closed): the
   * descriptors kept for its mapped files (index-files.ts) are closed; its mappings stay until
   * collected.
   */
  private static async retireGeneration(pool: SearchPool | null, arrays: ScoringArrays): Promise<void> {
    try {
      await pool?.close();
    } finally {
      releaseMappedFiles(arrays);
    }
  }

  /** The generation this index serves (0: the build; each add, delete or compaction commits the next). */
  get generation(): number {
    return this.manifest.generation ?? 0;
  }

  /**
   * Scoring worker threads this index runs, openIndex's `workers` resolved ('auto': one per core, at
   * most 4; 0: searches score on the calling thread). The server reports it (its ready log line, /metrics' plait_scoring_workers).
   */
  get scoringWorkers(): number {
    return this.workers;
  }

  /** Waits for a pending swap, then counts the request in flight (leave() ends it). */
  private async enter(): Promise<void> {
    while (this.swap !== null) await this.swap.promise;
    this.inflight++;
  }

  private leave(): void {
    if (--this.inflight === 0) this.swap?.drained();
  }

  private async guardedCall<T>(f: () => Promise<T>): Promise<T> {
    this.checkOpen();
    // No swap pending: enter without yielding, so that f's synchronous checks (its arguments, its
    // options) run within the caller's call. A wrong call raced by close() had answered INDEX_CLOSED,
    // hiding the caller's mistake behind the shutdown.
    if (this.swap === null) this.inflight++;
    else await this.enter();
    try {
      return await f();
    } finally {
      this.leave();
    }
  }

  /**
   * Serves the newest committed generation from now on: opens it, waits for the requests in
   * flight to end (new ones wait), swaps every per-generation structure at once, then closes the
   * old generation's document store and workers. A request is answered wholly from one generation.
   * Returns whether a newer generation was found.
   * @throws PlaitError INDEX_CORRUPT / INDEX_VERSION (the new generation), INDEX_CLOSED.
   */
  async refresh(): Promise<boolean> {
    this.checkOpen();
    while (this.swap !== null) await this.swap.promise;
    const current = commitIdOf(this.manifest);
    const { data, docstore } = openGeneration(this.path, this.kernels, this.workers);
    if (commitIdOf(data.manifest) === current) {
      docstore.close();
      releaseMappedFiles(data);
      return false;
    }
    // The next generation's state, warmed up (when this index was) while the current one still serves;
    // what the served generation derived from unchanged bytes is taken over, not derived again (generation-carry.ts).
    const arrays = scoringArraysOf(data);
    if (this.warmed) await yieldTurn(); // the generation's files opened: requests on the served one run before the next step
    const served = { arrays: this.arrays, pool: this.pool };
    const plan = this.warmed ? await carryPlan({ arrays: served.arrays, manifest: this.manifest }, { arrays, manifest: data.manifest }, yieldTurn) : null;
    if (this.closing.signal.aborted) {
      // Closed during those steps: no pool is started for a generation nobody will serve (refresh then throws INDEX_CLOSED).
      docstore.close();
      releaseMappedFiles(data);
      return this.refresh();
    }
    const tables = plan !== null && served.pool !== null ? carriedScoringTables(arrays, served.pool.tables, plan.sameCodec, plan.same) : undefined;
    const g = PlaitIndex.generationState(data, docstore, this.kernels, this.workers, arrays, tables);
    if (this.warmed) {
      try {
        await this.warmGeneration(g, docstore, plan === null ? undefined : { served: served.arrays, plan });
      } catch (e) {
        docstore.close();
        await PlaitIndex.retireGeneration(g.pool, g.arrays);
        throw e;
      }
      // Another refresh may have swapped (or begun to) while this one warmed up: this state may be
      // older than the one served now, so it is dropped and the refresh starts again.
      // Closed meanwhile, the same: the new state is dropped (refresh then throws INDEX_CLOSED).
      if (this.swap !== null || commitIdOf(this.manifest) !== current || this.closing.signal.aborted) {
        docstore.close();
        await PlaitIndex.retireGeneration(g.pool, g.arrays);
        return this.refresh();
      }
    }
    let resolve!: () => void;
    let drained!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const drainedP = new Promise<void>((r) => (drained = r));
    this.swap = { promise, resolve, drained };
    if (this.inflight > 0) await drainedP;
    const oldDocstore = this.docstore;
    const oldPool = this.pool;
    const oldArrays = this.arrays;
    try {
      this.manifest = data.manifest;
      this.docstore = docstore;
      this.arrays = g.arrays;
      this.queries = g.queries;
      this.docs = g.docs;
      this.local = g.local;
      this.pool = g.pool;
    } finally {
      this.swap = null;
      resolve();
    }
    // Each step of the retirement in its own turn of the event loop (closing a store, folding the WAL
    // back: 25–215 ms on scifact, one block before). Searches meanwhile read the new generation.
    await yieldTurn();
    oldDocstore.close();
    await yieldTurn();
    // No older snapshot of ours is left: let the store's WAL restart (unless another refresh or close() came first).
    if (this.docstore === docstore && !this.closing.signal.aborted) docstore.refoldWal();
    await PlaitIndex.retireGeneration(oldPool, oldArrays);
    return true;
  }

  /**
   * Adds documents (upsert by docId), split and encoded as the build did, compressed with the
   * index's own codec into new segments, and committed as a new generation; this index then serves
   * it (other open indexes see it on `refresh()`). A document equal to the indexed one (title, text
   * and metadata) is neither encoded nor replaced: counted in `unchanged` (mutate/unchanged-upsert.ts);
   * when every one is, nothing is committed (`committed` false, `generation` the current one).
   * @throws PlaitError INVALID_ARGUMENT, EMPTY_TEXT, DUPLICATE_ID (an id twice), DOCUMENT_EXISTS
   * (`noReplace` and an indexed id, unchanged or not), INDEX_LOCKED (another writer), INDEX_CLOSED (closed before
   * the commit, while encoding: nothing written; once committed, the add resolves, see afterCommit);
   * ABORTED (TIMEOUT, or the signal's own PlaitError reason) when `options.signal` aborted before the
   * commit, nothing written.
   */
  async add(documents: readonly CorpusDocumentInput[], options: AddOptions = {}): Promise<UpdateResult> {
    this.checkOpen();
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of documents', documents);
    checkOptionKeys(options, ADD_OPTION_KEYS, 'add option');
    const docs = documents.map((d, i) => checkDocument(d, i));
    const signal = checkSignal('signal', options.signal);
    const noReplace = options.noReplace === true;
    // Documents equal to the served ones are not encoded (unchanged-upsert.ts); the commit compares them again under the lock.
    const split = splitUnchanged(docs, (id) => this.docstore.storedContent(id), !noReplace);
    const encode = async (some: readonly DocumentInput[]): Promise<EncodedDocument[]> => {
      // close() stops the encoder under the batch (ABORTED): the cause to report is the closing.
      const out = await encodeDocuments(some, await this.encoder(), this.manifest, signal === undefined ? {} : { signal }).catch((e: unknown) => {
        this.checkOpen();
        throw e;
      });
      return out;
    };
    // Behind this process's other writes to the folder (a delete or a compaction on the write thread).
    const commit = (add: EncodedDocument[], keep: DocumentInput[]): Promise<UpdateResult> =>
      serialWrite(this.path, () => {
        this.checkOpen(); // closed while the last batch finished: nothing is committed after close()
        throwIfWriteCancelled(signal, docs.length);
        return updateIndex(this.path, { add, keep, noReplace }, { kernels: this.kernels });
      });
    const { result } = await writeUpserts(docs, split, encode, commit);
    // Also when nothing was committed (every document unchanged): the answer's generation is the committed one, served from here on.
    await this.afterCommit();
    return result;
  }

  /**
   * Serves a write's committed generation. An index closed after the commit (during the refresh's
   * warm-up) has nothing left to serve: the write stands and its caller gets its result, not
   * INDEX_CLOSED for a write that is on disk (a retry would have been its only way to learn that).
   */
  private async afterCommit(): Promise<void> {
    try {
      await this.refresh();
    } catch (e) {
      if (!this.closing.signal.aborted) throw e;
    }
  }

  /**
   * Deletes documents by docId (unknown ids are listed in `missing`; an integer is its decimal text,
   * as `add` stores `docId: 5`) or every document a metadata filter matches (`{ filter }`,
   * INVALID_FILTER when malformed), committed as a new generation; they disappear from every search
   * mode, rerank and explain at once.
   * The transaction runs on the write thread (mutate/write-thread.ts): the calling thread's event loop
   * (searches, a server's probes) keeps running, and searches meanwhile are answered from the
   * generation served before the delete, whole; the generation with the delete is served from the
   * moment the returned promise resolves (a search started before then may still answer the old one).
   * @param options `{ signal }` (WriteOptions): an aborted signal cancels the delete until its commit starts.
   * @throws PlaitError INVALID_ARGUMENT (a key of the `{ filter }` object other than filter, too; an id
   *   neither a string nor an integer; an options key other than signal), INDEX_LOCKED, INDEX_CLOSED,
   *   ABORTED / TIMEOUT (`options.signal` aborted: nothing deleted).
   */
  async delete(docIds: readonly (string | number)[] | { filter: MetadataFilter }, options: WriteOptions = {}): Promise<UpdateResult> {
    this.checkOpen();
    if (!Array.isArray(docIds) && typeof docIds === 'object' && docIds !== null) checkOptionKeys(docIds, DELETE_WHERE_KEYS, 'delete option');
    const byFilter = !Array.isArray(docIds) && typeof docIds === 'object' && docIds !== null && 'filter' in docIds;
    if (!byFilter && !Array.isArray(docIds)) throw invalidArgument('docIds', 'an array of ids (strings or integers) or { filter }', docIds);
    const req = byFilter ? { deleteWhere: (docIds as { filter: MetadataFilter }).filter } : { delete: (docIds as readonly unknown[]).map((d, i) => lookupDocId(d, `docIds[${i}]`)) };
    checkOptionKeys(options, WRITE_OPTION_KEYS, 'delete option');
    const signal = checkSignal('signal', options.signal);
    if (signal?.aborted === true) throw abortedBy(signal, 'the delete was cancelled before its commit: nothing was written');
    // On the write thread (mutate/write-thread.ts): searches on this thread go on meanwhile, on this generation.
    const result = await updateIndexOffThread(this.path, req, { kernels: this.kernels, ...(signal === undefined ? {} : { signal }) });
    await this.afterCommit();
    return result;
  }

  /**
   * Rewrites live passages into fresh segments and drops tombstones (a new generation; none when there is nothing to compact); see compactIndex.
   * Runs on the write thread (mutate/write-thread.ts): the calling thread's event loop keeps running.
   * Searches during a compaction see a consistent snapshot: the served generation's arrays (memory
   * maps and descriptors, which the compaction never rewrites: it writes new files under the next
   * generation's names) and its document store's read transaction (WAL: the compaction's renumbering
   * commits beside it); the compacted generation is swapped in whole by `refresh()` before the promise
   * resolves, after requests in flight finished (plait-index.ts refresh). No search sees a mix.
   * @param options `{ signal }` (WriteOptions): an aborted signal cancels the compaction until its commit starts (it rolls back; nothing written).
   * @throws PlaitError INVALID_ARGUMENT (an options key other than signal), INDEX_LOCKED, INDEX_CLOSED, ABORTED / TIMEOUT (`options.signal`), WORKER_FAILED (the write thread died).
   */
  async compact(options: WriteOptions = {}): Promise<IndexManifest> {
    this.checkOpen();
    checkOptionKeys(options, WRITE_OPTION_KEYS, 'compact option');
    const signal = checkSignal('signal', options.signal);
    if (signal?.aborted === true) throw abortedBy(signal, 'the compaction was cancelled before it started: nothing was written');
    const manifest = await compactIndexOffThread(this.path, { kernels: this.kernels, ...(signal === undefined ? {} : { signal }) });
    await this.afterCommit();
    return manifest;
  }

  /** The served generation's manifest, as `manifest`. */
  get info(): IndexManifest {
    return this.manifest;
  }

  /** The shared arrays (for worker pools and benchmarks). */
  get scoringArrays(): ScoringArrays {
    return this.arrays;
  }

  /**
   * Pays a search's one-time setup now rather than in the first user query (src/search/warm-up.ts):
   * the query encoder (load and one run, unless `encoder: false`), this thread's and every scoring
   * worker's setup (int8 centroids, norm cache, scratch, JIT: PLAID run once on a query of
   * centroids), and the document store's BM25 tables and IDF table. From then on each generation
   * that `refresh` (add, delete, compact) serves is warmed up before it is swapped in.
   * Measured on scifact: bench/RESULTS.md, "First query after open (polish5)".
   * @throws PlaitError INVALID_ARGUMENT (an options key WarmUpOptions does not have), INDEX_CLOSED; the encoder's errors (MODEL_NOT_FOUND …).
   */
  async warmUp(options: WarmUpOptions = {}): Promise<void> {
    await this.guardedCall(async () => {
      checkOptionKeys(options, WARM_UP_OPTION_KEYS, 'warmUp option');
      if (options.encoder !== false) await (await this.encoder()).encodeQueries([WARM_UP_TEXT]);
      await this.warmGeneration({ local: this.local, queries: this.queries, pool: this.pool }, this.docstore);
      this.warmed = true;
    });
  }

  /**
   * The scoring and document-store part of warmUp, for the generation given (the served one, or the
   * next before its swap: `next` then names the served generation's arrays, whose unchanged tables
   * it takes over as `plan` says).
   * Each step yields the event loop before the next, and no step is long: after a write, requests on
   * the served generation (and a server's probes) are answered between them. Before (refresh-15),
   * PLAID's warm-up run, BM25's length table and the IDF table each ran in one block, and the int8
   * centroids were copied or quantised again: 0.3–0.9 s of /health delay in `plait serve` after each
   * write on scifact (bench/RESULTS.md, "Refresh off the serving thread's critical path").
   */
  private async warmGeneration(g: { local: LocalScorer; queries: QueryPreparer; pool: SearchPool | null }, docstore: DocStoreReader, next?: { served: ScoringArrays; plan: CarryPlan }): Promise<void> {
    // What the served generation derived from the same bytes (int8 centroids, unchanged segments' norm caches): carried, not derived again.
    if (next !== undefined) await yieldTurn(); // after generationState (the next pool's start, its scratch and passage tables)
    const carried = next === undefined ? null : carryScoringTables(next.served, g.local.arrays, next.plan);
    // PLAID's warm-up run sets up this thread's tables (above) and its JIT (warm since the served
    // generation's): needed when a table was not carried and no pool's workers fill the shared ones.
    if (carried === null || !(carried.complete || (g.pool !== null && carried.centroids))) {
      await yieldTurn();
      g.local.warmUp();
    }
    await yieldTurn();
    await docstore.loadTables(REFRESH_DEFAULTS.tableRowsPerStep, yieldTurn, { tokenDf: this.manifest.model.idfWeighting });
    await yieldTurn();
    docstore.bm25(WARM_UP_TEXT, 1);
    await yieldTurn();
    const rows = warmUpRows(g.local.arrays);
    if (rows !== null && this.manifest.model.idfWeighting) g.queries.prepare({ ...rows, tokenIds: new Int32Array(rows.length) }, true);
    await g.pool?.warmUp();
  }

  /** The query encoder, created on first use from the model recorded in the index (or the one given). */
  encoder(): Promise<Encoder> {
    return this.queryEncoder.get();
  }

  /**
   * Applies the defaults (the index's model profile included) and validates the options.
   * @param keys the options type's key table (option-keys.ts): a key outside it is INVALID_ARGUMENT.
   * @param scopes where the entry point's options act differently from search's (option-scope.ts EXPLAIN_OPTION_SCOPES);
   *   an option the search would ignore is INVALID_ARGUMENT (SEARCH_OPTION_RULES).
   */
  resolveSearch(options: SearchOptions = {}, keys: Readonly<Record<string, true>> = SEARCH_OPTION_KEYS, what = 'search option', scopes: OptionScopes = {}): ResolvedSearch {
    checkOptionKeys(options, keys, what);
    return resolveSearch(options, this.manifest.model, this.manifest.calibration, scopes);
  }

  /**
   * Searches one query: the `topK` best documents (SearchOptions; default 10) in the mode asked,
   * else the model profile's (hybrid for the bundled model, late for ColBERT checkpoints).
   * `hits` are `{ docId, pid, score, rank, title?, text?, metadata? }`, best first, rank from 1 (offset + 1
   * with `offset`); `score` is MaxSim on the compressed vectors in late mode (Σ over query tokens,
   * IDF-weighted for the bundled model), the fused value in [0, 1] (minmax) or RRF's sum in hybrid
   * mode, the BM25 score in bm25 mode. A blank query, or one without a letter or digit, answers
   * `hits: []` with `emptyReason`; a query longer than the model keeps is searched on its first
   * tokens (`truncated: true`). `timings` are milliseconds.
   * @throws PlaitError INVALID_ARGUMENT (a query that is not a string, an unknown or out-of-range
   *   option, an option the mode would ignore: SEARCH_OPTION_RULES), INVALID_FILTER, TIMEOUT
   *   (`timeoutMs`, `AbortSignal.timeout`), ABORTED (`signal`; the signal's reason is the `cause`),
   *   INDEX_CLOSED (closed before or during the search).
   */
  async search(query: string, options: SearchOptions = {}): Promise<SearchResult> {
    // Named as the caller named it: searchBatch's check said "queries[0]" to a caller of search(42).
    if (typeof query !== 'string') throw invalidArgument('query', 'a string', query);
    return (await this.searchBatch([query], options))[0]!;
  }

  /**
   * Searches several queries; with workers they are scored in parallel.
   * @throws PlaitError INVALID_ARGUMENT, QUERY_TOO_LARGE (more than SEARCH_DEFAULTS.maxBatchQueries),
   * TIMEOUT, ABORTED, INDEX_CLOSED.
   */
  async searchBatch(queries: string[], options: SearchOptions = {}): Promise<SearchResult[]> {
    return this.guardedCall(() => this.searchBatchNow(queries, options));
  }

  private async searchBatchNow(queries: string[], options: SearchOptions): Promise<SearchResult[]> {
    this.checkOpen();
    if (!Array.isArray(queries)) throw invalidArgument('queries', 'an array of strings', queries);
    if (queries.length > SEARCH_DEFAULTS.maxBatchQueries) {
      throw new PlaitError('QUERY_TOO_LARGE', { message: `${queries.length} queries in one batch; the limit is ${SEARCH_DEFAULTS.maxBatchQueries}` });
    }
    const r = this.resolveSearch(options);
    const deadline = Deadline.start(options, this.closing.signal);
    try {
      return await this.searchBatchWithin(queries, r, deadline);
    } finally {
      deadline.dispose();
    }
  }

  private async searchBatchWithin(queries: string[], r: ResolvedSearch, deadline: Deadline): Promise<SearchResult[]> {
    const reasons = queries.map((q, i) => unsearchable(q, i));
    const truncated = queries.map(() => false);
    const embeddings: (TokenEmbeddings | null)[] = queries.map(() => null);
    let encodeMs = 0;
    const rewritten = this.rewriteAll(queries, reasons, r);
    const lateText = (i: number): string => rewritten?.[i]?.lateText ?? queries[i]!;
    if (r.mode !== 'bm25' && reasons.some((x) => x === null)) {
      const t = performance.now();
      const encoder = await this.guarded(this.encoder(), deadline);
      queries.forEach((_, i) => {
        if (reasons[i] !== null) return;
        const fit = queryFit(encoder, lateText(i));
        truncated[i] = fit.truncated;
        if (fit.empty) reasons[i] = 'no-content';
      });
      const todo = queries.flatMap((_, i) => (reasons[i] === null ? [i] : []));
      // The deadline's signal reaches the encoder, which starts no batch once it fires.
      const encoded = await this.guarded(encoder.encodeQueries(todo.map(lateText), deadline.signal === undefined ? {} : { signal: deadline.signal }), deadline);
      todo.forEach((i, j) => (embeddings[i] = encoded[j]!));
      encodeMs = (performance.now() - t) / Math.max(1, todo.length);
    }
    const results = await this.searchSearchable(queries, embeddings, reasons, r, deadline, encodeMs, truncated, rewritten);
    if (r.mode !== 'bm25') {
      const encoder = await this.encoder();
      results.forEach((result, i) => {
        const e = embeddings[i];
        const w = e === null || e === undefined ? null : unknownTokenWarning(countUnknownTokens(encoder, [e]), 'query');
        if (w !== null) result.warnings = [w];
      });
    }
    return results;
  }

  /**
   * Batch search with already-encoded queries (evaluation and benchmarks measure search without
   * encoding this way; the server encodes through its query cache); uses the worker pool when the
   * index has one. A query whose embedding has no rows gets no hits ('no-content'); in bm25 mode
   * the texts are checked as in searchBatch. A caller that rewrote the queries to encode them
   * (`rewrite`, whose `lateText` it encoded) passes those rewrites as `options.rewritten`, one per
   * query (null: not rewritten), so that each query is rewritten once; they are used for BM25 and
   * reported as given.
   * @throws PlaitError INVALID_ARGUMENT when `embeddings` (outside bm25 mode) or `rewritten` do not
   * hold one entry per query.
   */
  async searchEncodedBatch(queries: string[], embeddings: TokenEmbeddings[], options: EncodedSearchOptions = {}): Promise<SearchResult[]> {
    checkStringArray('queries', queries, 'an array of query texts');
    checkArray('embeddings', embeddings, 'an array of token embeddings (one per query)');
    checkOptions('options', options);
    return this.guardedCall(() => this.searchEncodedBatchNow(queries, embeddings, options));
  }

  private async searchEncodedBatchNow(queries: string[], embeddings: TokenEmbeddings[], options: EncodedSearchOptions): Promise<SearchResult[]> {
    this.checkOpen();
    const resolved = this.resolveSearch(options, ENCODED_SEARCH_OPTION_KEYS);
    const r: ResolvedWithRows = options.prfRows === undefined ? resolved : { ...resolved, prfRows: options.prfRows };
    if (r.mode !== 'bm25' && embeddings.length !== queries.length) throw invalidArgument('embeddings', `one per query (${queries.length})`, embeddings);
    const given = options.rewritten;
    if (given !== undefined && (!Array.isArray(given) || given.length !== queries.length)) throw invalidArgument('rewritten', `one rewrite (or null) per query (${queries.length})`, given);
    const reasons = queries.map((q, i) => this.encodedReason(q, embeddings[i], r, i));
    const deadline = Deadline.start(options, this.closing.signal);
    try {
      return await this.searchSearchable(queries, embeddings, reasons, r, deadline, 0, null, given ?? this.rewriteAll(queries, reasons, r));
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Search with an already-encoded query on the calling thread (benchmarks measure search without
   * encoding this way). `timeoutMs` holds (checked while scoring); a signal is honoured if it has
   * already fired, since a synchronous call cannot see it fire.
   */
  searchEncoded(query: string, embedding: TokenEmbeddings | null, options: SearchOptions = {}): SearchResult {
    checkString('query', query, 'a query (a string)');
    if (embedding !== null) checkShape('embedding', embedding, 'token embeddings (from an encoder) or null', ['vectors']);
    checkOptions('options', options);
    this.checkOpen();
    const r = this.resolveSearch(options);
    // Highlights tokenise with the model's tokenizer, which loads asynchronously.
    if (r.highlights !== null) throw invalidArgument('highlights', 'searchBatch or searchEncodedBatch (searchEncoded is synchronous and cannot load the tokenizer highlights need)', options.highlights);
    const deadline = Deadline.start(options, this.closing.signal);
    try {
      deadline.check();
      const reason = this.encodedReason(query, embedding ?? undefined, r, 0);
      return reason !== null ? emptyResult(reason) : this.searchOne(query, embedding, r, deadline, this.rewriteAll([query], [reason], r)?.[0] ?? null);
    } finally {
      deadline.dispose();
    }
  }

  private encodedReason(query: string, embedding: TokenEmbeddings | undefined, r: ResolvedSearch, i: number): EmptyReason | null {
    if (r.mode === 'bm25') return unsearchable(query, i);
    return embedding !== undefined && embedding.length === 0 ? 'no-content' : null;
  }

  /** Searches the queries that can be searched; the others get an empty page with their reason. */
  private async searchSearchable(
    queries: string[],
    embeddings: readonly (TokenEmbeddings | null | undefined)[],
    reasons: readonly (EmptyReason | null)[],
    r: ResolvedSearch,
    deadline: Deadline,
    encodeMs: number,
    truncated: readonly boolean[] | null,
    rewritten: readonly (RewrittenQuery | null)[] | null = null,
  ): Promise<SearchResult[]> {
    const live = queries.flatMap((_, i) => (reasons[i] === null ? [i] : []));
    const results = await this.searchAll(
      live.map((i) => queries[i]!),
      live.map((i) => embeddings[i] ?? null),
      r,
      deadline,
      encodeMs,
      live.map((i) => rewritten?.[i] ?? null),
    );
    if (r.highlights !== null) await this.addHighlights(results, live.map((i) => embeddings[i]?.length ?? 0), r.highlights, deadline);
    let k = 0;
    const generation = this.generation;
    return queries.map((_, i) => {
      const reason = reasons[i];
      if (reason !== null && reason !== undefined) return { ...emptyResult(reason), generation };
      const result = results[k++]!;
      result.truncated = truncated?.[i] ?? false;
      result.generation = generation;
      return result;
    });
  }

  /**
   * Adds highlights (highlights.ts) to each result's hits: late interaction's on the hit's best
   * passage with the query that ranked it (its rows past `encodedRows`, ColBERT-PRF's, are special),
   * BM25's from FTS5. After ranking, for the returned hits only; recorded in `timings.highlightsMs`.
   */
  private async addHighlights(results: readonly SearchResult[], encodedRows: readonly number[], options: ResolvedHighlights, deadline: Deadline): Promise<void> {
    const needsEncoder = results.some((res) => this.highlightSources.get(res)?.q != null && res.hits.length > 0);
    const encoder = needsEncoder ? await this.guarded(this.encoder(), deadline) : null;
    results.forEach((result, i) => {
      const src = this.highlightSources.get(result);
      if (src === undefined) return;
      this.highlightSources.delete(result);
      deadline.check();
      const t = performance.now();
      // The query's centroid scores and code tables, computed once for all its hits; the scores are
      // those its PLAID search left on this thread when no other search ran since (lastCentroidScores).
      const stage1 = src.q === null ? null : lastCentroidScores(src.q);
      const cache: ExactQueryCache = stage1 === null ? {} : { scores: stage1 };
      const found = this.highlightsOf(result.hits, src, src.q === null ? 0 : src.q.length - encodedRows[i]!, encoder, options, cache);
      result.hits.forEach((hit, j) => {
        const h = found[j];
        if (h !== null && h !== undefined) hit.highlights = h;
      });
      const ms = performance.now() - t;
      result.timings.highlightsMs = ms;
      result.timings.totalMs += ms;
    });
  }

  /**
   * The highlights of listed hits (docId and this index's pid of its best passage) for one query:
   * late interaction's on that passage (null when the pid is not a passage of the document), BM25's
   * from FTS5; null for a document this index does not hold. `appendedRows`: the rows of `src.q`
   * past the encoded query's (ColBERT-PRF's).
   */
  private highlightsOf(hits: readonly { docId: string; pid: number }[], src: HighlightSource, appendedRows: number, encoder: Encoder | null, options: ResolvedHighlights, cache: ExactQueryCache): (HitHighlights | null)[] {
    const docs = this.docstore.getDocuments(hits.map((h) => h.docId));
    const passages = this.docstore.getPassages(hits.map((h) => Math.max(h.pid, 0)));
    const queryRows = encoder === null ? null : encoder.rows(src.lateText, 'query');
    return hits.map((hit, j) => {
      const doc = docs[j];
      if (doc === null || doc === undefined) return null;
      const highlights: HitHighlights = {};
      if (src.q !== null && encoder !== null && queryRows !== null) {
        const p = passages[j];
        highlights.late =
          hit.pid < 0 || p === null || p === undefined || p.docRowid !== doc.docRowid
            ? null
            : lateHighlights(this.arrays, this.local.kernels, encoder, src.q, { text: src.lateText, rows: queryRows, appendedRows }, hit.pid, { title: doc.title, text: doc.text, passageStart: p.start, passageEnd: p.end }, options, cache);
      }
      if (src.bm25 !== null) highlights.bm25 = bm25Highlights(this.docstore, src.bm25, doc, options);
      return highlights;
    });
  }

  /**
   * Highlights (highlights.ts) of listed hits of this index for a query ranked elsewhere: a
   * cluster's coordinator merges its shards' lists, then asks each shard for the highlights of its
   * hits on the page (cluster/shard-replica.ts `highlights`). They are what this index's own search
   * gives a hit: the late side (when `query.embedding`) on the hit's passage `pid` with the query
   * weighted as its search weighted it (IDF with `globalStats`, ColBERT-PRF's rows), the BM25 side
   * (when `query.bm25`) from FTS5. Aligned with `hits`; null for a docId this index does not hold
   * (deleted since); `late: null` for a pid that is not one of the document's passages.
   * @throws PlaitError INVALID_ARGUMENT (options: resolveHighlights'), INTERNAL (the tokenizer's rows
   * disagree with the embedding), INDEX_CLOSED.
   */
  async highlightHits(hits: readonly { docId: string; pid: number }[], query: HitHighlightQuery, options: boolean | HighlightOptions): Promise<(HitHighlights | null)[]> {
    checkArray('hits', hits, 'an array of { docId, pid }');
    checkObject('query', query, 'a HitHighlightQuery ({ embedding, bm25?, lateText? })');
    return this.guardedCall(async () => {
      this.checkOpen();
      const resolved = resolveHighlights(options);
      if (resolved === null || hits.length === 0) return hits.map(() => null);
      const e = query.embedding;
      let q: EncodedQuery | null = null;
      if (e !== null) {
        const prepared = this.queries.prepare(e, query.idfWeighting ?? this.manifest.model.idfWeighting, query.globalStats?.tokenIdf);
        q = query.prfRows === undefined ? prepared : appendPrfRows(prepared, this.arrays.centroids, this.arrays.dim, query.prfRows);
      }
      const encoder = q === null ? null : await this.encoder();
      this.checkOpen();
      const bm25 = typeof query.bm25 === 'string' ? this.docstore.bm25Query(query.bm25) : query.bm25;
      return this.highlightsOf(hits, { q, bm25, lateText: query.lateText }, q === null || e === null ? 0 : q.length - e.length, encoder, resolved, {});
    });
  }

  /** Awaits `p`; an index closed or a deadline passed meanwhile reports that (INDEX_CLOSED, TIMEOUT), not p's own error. */
  private async guarded<T>(p: Promise<T>, deadline: Deadline): Promise<T> {
    try {
      return await p;
    } finally {
      deadline.check(); // throws over p's result or error once the search must stop
    }
  }

  /**
   * The batch loop. On the calling thread, queries run one after another with a turn of the event
   * loop between them (so that an AbortSignal can fire); with a pool they run concurrently.
   */
  private async searchAll(queries: string[], embeddings: (TokenEmbeddings | null)[], r: ResolvedSearch, deadline: Deadline, encodeMs: number, rewritten: readonly (RewrittenQuery | null)[]): Promise<SearchResult[]> {
    deadline.check();
    const one = async (i: number): Promise<SearchResult> => {
      const result = await this.searchOneAsync(queries[i]!, embeddings[i] ?? null, r, deadline, rewritten[i] ?? null);
      result.timings.encodeMs = encodeMs;
      result.timings.totalMs += encodeMs;
      return result;
    };
    if (this.pool !== null && r.mode !== 'bm25') return Promise.all(queries.map((_, i) => one(i)));
    const out: SearchResult[] = [];
    for (let i = 0; i < queries.length; i++) {
      if (i > 0) await yieldTurn();
      deadline.check();
      out.push(await one(i));
    }
    return out;
  }

  /** One query, its late-interaction passages scored on the pool when there is one. */
  private async searchOneAsync(query: string, embedding: TokenEmbeddings | null, r: ResolvedSearch, deadline: Deadline, rw: RewrittenQuery | null = null): Promise<SearchResult> {
    if (this.pool === null || r.mode === 'bm25') return this.searchOne(query, embedding, r, deadline, rw);
    const t0 = performance.now();
    const timings = emptyTimings();
    let q = this.prepare(embedding, r);
    const mask = this.mask(r);
    const pool = this.pool;
    const rankOnce = async (qq: EncodedQuery): Promise<CollapsedDocs> => {
      if (mask !== null && exactFilter(mask, this.docs.passageCount, r.plaid.ndocs, r.topK)) return this.rankFiltered(qq, mask, r, timings);
      const scorer = pooledScorer(pool, qq, deadline);
      const marks = mask === null ? undefined : candidateMarks(this.arrays, this.docstore.pidToDoc, mask);
      return this.exactDocuments(qq, await rankLateAsync(latePlan(r, this.lateWant(r, mask), this.lateDepth(r), this.docs, mask?.allowed ?? null, marks, mask === null && r.topK >= this.manifest.counts.documents), scorer, timings), r);
    };
    let late = await rankOnce(q);
    const prf = this.expandPrf(q, late, r, rw);
    if (prf !== null) {
      deadline.check();
      q = prf.query;
      rw = prf.rw;
      late = await rankOnce(q);
    }
    timings.lateMs = performance.now() - t0;
    deadline.check();
    return this.finish(query, q, late, r, timings, t0, mask, rw);
  }

  /** A selective filter's allowed passages scored exactly instead of PLAID (filtered-search.ts), recorded as a round of `timings`. */
  private rankFiltered(q: EncodedQuery, mask: DocMask, r: ResolvedSearch, timings: SearchTimings): CollapsedDocs {
    const t = performance.now();
    const ranked = exactFiltered(q, mask, this.docs, (x, pids) => this.local.exact(x, pids), this.lateDepth(r));
    recordRound(timings, { kind: 'filtered-exact', passages: mask.passages, ms: performance.now() - t });
    return ranked;
  }

  /** One query on the calling thread, checking the deadline while scoring. */
  private searchOne(query: string, embedding: TokenEmbeddings | null, r: ResolvedSearch, deadline: Deadline, rw: RewrittenQuery | null = null): SearchResult {
    const t0 = performance.now();
    const timings = emptyTimings();
    let q: EncodedQuery | null = null;
    let late: CollapsedDocs = { docs: [], pidOf: new Map(), distinct: 0 };
    const mask = this.mask(r);
    if (r.mode !== 'bm25') {
      q = this.prepare(embedding, r);
      const check = deadline.checker;
      const rankOnce = (qq: EncodedQuery): CollapsedDocs => {
        if (mask !== null && exactFilter(mask, this.docs.passageCount, r.plaid.ndocs, r.topK)) return this.rankFiltered(qq, mask, r, timings);
        const marks = mask === null ? undefined : candidateMarks(this.arrays, this.docstore.pidToDoc, mask);
        return this.exactDocuments(qq, rankLate(latePlan(r, this.lateWant(r, mask), this.lateDepth(r), this.docs, mask?.allowed ?? null, marks, mask === null && r.topK >= this.manifest.counts.documents), (req) => this.local.score(qq, req, check), timings), r, check);
      };
      late = rankOnce(q);
      const prf = this.expandPrf(q, late, r, rw);
      if (prf !== null) {
        check();
        q = prf.query;
        rw = prf.rw;
        late = rankOnce(q);
      }
      timings.lateMs = performance.now() - t0;
    }
    return this.finish(query, q, late, r, timings, t0, mask, rw);
  }

  /**
   * Makes the returned documents' scores exact: PLAID scores a document by the passages that
   * survived its stages, so a long document whose best passage was pruned while a weaker one was
   * kept would rank by the weaker one (measured on a cisi subset: up to 0.648 below its exhaustive
   * score at k = 10). Every passage of each returned multi-passage document is scored exactly (a
   * handful per document) and the list re-sorted; single-passage documents are exact already.
   */
  private exactDocuments(q: EncodedQuery, late: CollapsedDocs, r: ResolvedSearch, check?: () => void): CollapsedDocs {
    if (r.exhaustive) return late;
    const multi = late.docs.filter((d) => this.docs.passagesOfDoc(d.key) > 1).map((d) => d.key);
    if (multi.length === 0) return late;
    const exact = scoreStoredDocs(q, multi, this.docs, (qq, pids) => this.local.exact(qq, pids, check));
    const rescored = new Map(exact.docs.map((d) => [d.key, d.score]));
    const docs = late.docs.map((d) => ({ key: d.key, score: rescored.get(d.key) ?? d.score })).sort((a, b) => b.score - a.score || a.key - b.key);
    for (const [key, pid] of exact.pidOf) late.pidOf.set(key, pid);
    return { docs, pidOf: late.pidOf, distinct: late.distinct };
  }

  private prepare(embedding: TokenEmbeddings | null, r: ResolvedSearch): EncodedQuery {
    if (embedding === null) throw new PlaitError('INVALID_ARGUMENT', { message: 'late-interaction search needs an encoded query' });
    const q = this.queries.prepare(embedding, r.idf, r.globalStats?.tokenIdf);
    const rows = (r as ResolvedWithRows).prfRows;
    return rows === undefined ? q : appendPrfRows(q, this.arrays.centroids, this.arrays.dim, rows);
  }

  /** Documents the late list returns: topK, or the fusion depth in hybrid mode. */
  private lateDepth(r: ResolvedSearch): number {
    return r.mode === 'hybrid' ? hybridDepth(r.topK) : r.topK;
  }

  /**
   * Documents the late list must hold before widening stops: topK (capped by the corpus). Hybrid
   * fusion takes whatever PLAID's survivors hold up to its depth; documents only BM25 finds get
   * exact late scores (hybrid.ts), so a shallower late list costs no fused quality.
   */
  private lateWant(r: ResolvedSearch, mask: DocMask | null = null): number {
    return Math.min(r.topK, mask === null ? this.manifest.counts.documents : mask.rowids.length);
  }

  /** The documents a metadata filter allows (null: no filter). */
  private mask(r: ResolvedSearch): DocMask | null {
    return r.filter === null ? null : docMask(this.docstore, this.docs, r.filter);
  }

  /**
   * ColBERT-PRF (colbert-prf.ts) after a first late pass, when the options ask for it: the expanded
   * query and the rewrite list with the expansion reported; null when off or there is no feedback.
   */
  private expandPrf(q: EncodedQuery, late: CollapsedDocs, r: ResolvedSearch, rw: RewrittenQuery | null): { query: EncodedQuery; rw: RewrittenQuery } | null {
    if (r.rewrite.prf === null || (r as ResolvedWithRows).prfRows !== undefined) return null;
    const pids = late.docs.slice(0, r.rewrite.prf.fbDocs).flatMap((d) => {
      const pid = late.pidOf.get(d.key);
      return pid === undefined ? [] : [pid];
    });
    const x = colbertPrf(this.arrays, q, pids, r.rewrite.prf);
    if (x === null) return null;
    const base: RewrittenQuery = rw ?? { lateText: '', bm25: { terms: new Map(), tokens: [] }, rewrites: [] };
    return { query: x.query, rw: { ...base, rewrites: [...base.rewrites, prfRewrite(x, pids.length)] } };
  }

  /**
   * The query as `options.rewrite` rewrites it before search (spelling, synonyms; RM3 and PRF come
   * during search): the text the late side encodes, the BM25 terms and the rewrites; null when the
   * options ask for no rewrite. A caller that encodes queries itself encodes `lateText` and passes
   * the rewrites to searchEncodedBatch (`options.rewritten`), which uses them for BM25 and reports them.
   */
  rewrite(query: string, options: SearchOptions = {}): RewrittenQuery | null {
    this.checkOpen();
    const r = this.resolveSearch(options);
    return this.rewriteAll([query], [unsearchable(query, 0)], r)?.[0] ?? null;
  }

  /** The rewriter of the served document store. */
  private rewriter(): QueryRewriter {
    if (this.rewriterOf === null || this.rewriterOf.docstore !== this.docstore) this.rewriterOf = { docstore: this.docstore, rewriter: new QueryRewriter(this.docstore) };
    return this.rewriterOf.rewriter;
  }

  /** Spelling and synonyms for each searchable query (null when the options ask for no rewrite). */
  private rewriteAll(queries: readonly string[], reasons: readonly (EmptyReason | null)[], r: ResolvedSearch): (RewrittenQuery | null)[] | null {
    if (!rewriteActive(r.rewrite)) return null;
    const rewriter = this.rewriter();
    return queries.map((q, i) => (reasons[i] === null ? rewriter.rewrite(q, r.rewrite, ENGLISH_STOPWORDS) : null));
  }

  /** BM25 and fusion (when the mode asks for them), then the page of hits. */
  private finish(query: string, q: EncodedQuery | null, late: CollapsedDocs, r: ResolvedSearch, timings: SearchTimings, t0: number, mask: DocMask | null = null, rw: RewrittenQuery | null = null): SearchResult {
    let ranked: ScoredDoc[] = late.docs;
    let bmMatched = 0;
    if (r.mode !== 'late') {
      const t = performance.now();
      const depth = r.mode === 'hybrid' ? hybridDepth(r.topK) : r.topK;
      if (rw !== null && r.rewrite.rm3 !== null) rw = this.rewriter().expandRm3(rw, r.rewrite.rm3, ENGLISH_STOPWORDS);
      const bq = rw?.bm25 ?? query;
      const bmOptions = r.globalStats?.bm25 === undefined ? {} : { corpus: r.globalStats.bm25 };
      const bmRanking = mask !== null ? filteredBm25(this.docstore, bq, depth, mask, bmOptions) : unfilteredBm25(this.docstore.bm25Ranking(bq, depth, bmOptions));
      const bm = bmRanking.docs;
      bmMatched = bmRanking.matched;
      timings.bm25Ms = performance.now() - t;
      if (r.mode === 'bm25') ranked = bm;
      else {
        const tf = performance.now();
        const scoreDocs = q === null ? null : (rowids: number[]) => scoreStoredDocs(q, rowids, this.docs, (qq, pids) => this.local.exact(qq, pids));
        // Equal fused scores in document-id order, as a cluster's coordinator breaks them (fusion.ts).
        const tie = (a: number, b: number): number => compareDocIds(this.docstore.rowidToDocId(a) ?? '', this.docstore.rowidToDocId(b) ?? '');
        ranked = fuseHybrid(late, bm, r, scoreDocs, tie);
        timings.fusionMs = performance.now() - tf;
      }
    }
    const end = Math.min(r.topK, this.manifest.counts.documents);
    // A page (paging.ts): ranks offset + 1 … topK of this search, which ran offset + pageSize deep.
    const top = ranked.slice(r.offset ?? 0, end);
    const hits = toHits(this.docstore, top, late.pidOf, r.includeText, r.offset ?? 0);
    timings.totalMs = performance.now() - t0;
    const page = r.offset !== null ? { offset: r.offset, totalHits: totalHits(Math.min(ranked.length, end), r.topK, r.mode === 'bm25' ? bmMatched : this.matching(mask)) } : {};
    // A filter that matched no live document says why; one comparing a field of several JSON types
    // says so whatever it matched (the store's type counts: a few rows, read once per generation).
    const filtered = r.filter === null ? {} : filterWarningsOf(r.filter.source, mask !== null && mask.rowids.length === 0, this.docstore);
    const result: SearchResult = rw !== null && rw.rewrites.length > 0 ? { hits, timings, truncated: false, rewrites: rw.rewrites, ...page, ...filtered } : { hits, timings, truncated: false, ...page, ...filtered };
    if (r.highlights !== null) {
      // Highlights come after ranking, for the returned hits only (searchSearchable), from the query that ranked them.
      const bm25 = r.mode === 'late' ? null : (rw?.bm25 ?? this.docstore.bm25Query(query));
      this.highlightSources.set(result, { q, bm25, lateText: rw?.lateText ?? query });
    }
    return result;
  }

  /**
   * The documents a late or hybrid ranking holds: late interaction ranks every live document (those
   * the filter allows, with one), and hybrid fuses that ranking with BM25's. (BM25's own ranking
   * holds the documents with a query term: DocStoreReader.bm25Ranking counts them as it scores.)
   */
  private matching(mask: DocMask | null): number {
    return mask === null ? this.manifest.counts.documents : mask.rowids.length;
  }

  /**
   * Scores stored documents against a query without re-encoding them (a mid-tier reranker over an
   * index): highest first; unknown ids are refused.
   * @throws PlaitError INVALID_ARGUMENT (docIds, topK, an options key IndexRerankOptions does not
   * have), DOCUMENT_NOT_FOUND (unknown id), EMPTY_TEXT (a query with no letter or digit, as
   * Reranker.rerank), INDEX_CLOSED.
   */
  async rerank(query: string, docIds: string[], options: IndexRerankOptions = {}): Promise<SearchHit[]> {
    return this.guardedCall(() => this.rerankNow(query, docIds, options));
  }

  private async rerankNow(query: string, docIds: string[], options: IndexRerankOptions): Promise<SearchHit[]> {
    this.checkOpen();
    checkOptionKeys(options, INDEX_RERANK_OPTION_KEYS, 'rerank option');
    const topK = options.topK ?? (Array.isArray(docIds) ? docIds.length : 0);
    if (!Number.isInteger(topK) || topK < 0) throw invalidArgument('topK', 'a non-negative integer', topK);
    const signal = checkSignal('signal', options.signal);
    const rowids = rowidsOf(this.docstore, docIds);
    if (unsearchable(query, 0) !== null) throw new PlaitError('EMPTY_TEXT', { message: 'the query has no letter or digit to rank by' });
    const cancelled = (): void => {
      if (signal?.aborted === true) throw abortedBy(signal, 'the rerank was cancelled before scoring');
    };
    cancelled();
    const [e] = await (await this.encoder()).encodeQueries([query], signal === undefined ? {} : { signal });
    this.checkOpen();
    cancelled();
    return this.scoreStored(e!, rowids, topK, options);
  }

  /**
   * `rerank` with an already-encoded query: the exact late-interaction score of each stored
   * document (best passage), highest first. A cluster shard scores the documents its coordinator
   * names this way, with the corpus-wide token IDF in `options.globalStats`.
   * @throws PlaitError INVALID_ARGUMENT (an unknown option key, docIds, topK), DOCUMENT_NOT_FOUND (unknown id), DIMENSION_MISMATCH, INDEX_CLOSED.
   */
  async rerankEncoded(embedding: TokenEmbeddings, docIds: string[], options: RerankEncodedOptions = {}): Promise<SearchHit[]> {
    return this.guardedCall(async () => {
      this.checkOpen();
      checkOptionKeys(options, RERANK_ENCODED_OPTION_KEYS, 'rerankEncoded option');
      const topK = options.topK ?? (Array.isArray(docIds) ? docIds.length : 0);
      if (!Number.isInteger(topK) || topK < 0) throw invalidArgument('topK', 'a non-negative integer', topK);
      return this.scoreStored(embedding, rowidsOf(this.docstore, docIds), topK, options);
    });
  }

  private scoreStored(e: TokenEmbeddings, rowids: number[], topK: number, options: Pick<EncodedSearchOptions, 'idfWeighting' | 'includeText' | 'globalStats' | 'prfRows'>): SearchHit[] {
    const prepared = this.queries.prepare(e, options.idfWeighting ?? this.manifest.model.idfWeighting, options.globalStats?.tokenIdf);
    const q = options.prfRows === undefined ? prepared : appendPrfRows(prepared, this.arrays.centroids, this.arrays.dim, options.prfRows);
    const { docs, pidOf } = scoreStoredDocs(q, rowids, this.docs, (qq, pids) => this.local.exact(qq, pids));
    return toHits(this.docstore, docs.slice(0, topK), pidOf, options.includeText ?? false);
  }

  /**
   * Why a document (its best passage) or a given passage scores as it does for `query`: per query
   * token, the passage token it matched, the similarity, weight and contribution (they sum to
   * `lateScore`, the score late-interaction search gives that passage); with BM25 in the mode, the
   * query's BM25 terms in the document; in hybrid mode, the fused score's parts when the document
   * is among this query's top `topK` hybrid hits.
   * @throws PlaitError DOCUMENT_NOT_FOUND (a docId the index does not hold, or a pid of a deleted
   *   document), INVALID_INPUT (a pid outside the index), EMPTY_TEXT (a blank query, or one without
   *   a letter or digit: search answers it with no hits), INVALID_ARGUMENT (a target that is neither
   *   a docId — a string, or an integer read as its decimal text — nor `{ pid }`; a fraction; options), INDEX_CLOSED.
   */
  async explain(query: string, target: string | number | { pid: number }, options: ExplainOptions = {}): Promise<Explanation> {
    return this.guardedCall(() => this.explainNow(query, target, options));
  }

  private async explainNow(query: string, given: string | number | { pid: number }, options: ExplainOptions): Promise<Explanation> {
    this.checkOpen();
    // An integer docId is its decimal text, as the writes store `docId: 5` and HTTP explains `"doc_id": 5` (document-id.ts lookupDocId).
    const target = typeof given === 'number' ? lookupDocId(given, 'target') : given;
    // Checked before any encoding: `{ docId: 'x' }` was read as a pid and refused as "no passage undefined".
    if (typeof target !== 'string' && (typeof target !== 'object' || target === null || !('pid' in target))) {
      throw invalidArgument('target', 'a docId (string) or { pid }', target);
    }
    const r = this.resolveSearch(options, EXPLAIN_OPTION_KEYS, 'explain option', EXPLAIN_OPTION_SCOPES);
    const empty = unsearchable(query, 0);
    if (empty !== null) {
      // Search answers these with no hits (query-text.ts); a late score for [MASK] padding alone would explain nothing.
      const what = empty === 'empty-query' ? 'the query is blank' : 'the query has no letter or digit';
      throw new PlaitError('EMPTY_TEXT', { message: `${what}: nothing to explain (search returns no hits for it, emptyReason "${empty}")`, emptyReason: empty });
    }
    if (r.rewrite.prf !== null) {
      throw invalidArgument('rewrite.prf', 'spelling, synonyms or rm3 in explain (ColBERT-PRF appends centroid embeddings, which have no query text to explain)', 'prf');
    }
    // Checked before the model loads (a second on first use): an already-aborted or late call gets its
    // ABORTED / TIMEOUT at once, as rerank and search do, not after loading a model it will not use.
    if (options.deadlineAt !== undefined) Deadline.start({ deadlineAt: options.deadlineAt }).dispose();
    throwIfAborted(options.signal);
    const encoder = await this.encoder();
    let rw = options.rewritten !== undefined ? options.rewritten : (this.rewriteAll([query], [null], r)?.[0] ?? null);
    const lateText = rw?.lateText ?? query;
    const [e] = await encoder.encodeQueries([lateText]);
    this.checkOpen();
    // One passage's scoring follows (milliseconds): the deadline and the abort signal are checked once, after the encoding.
    if (options.deadlineAt !== undefined) Deadline.start({ deadlineAt: options.deadlineAt }).dispose();
    if (options.signal?.aborted === true) throw abortError(options.signal);
    const q = this.queries.prepare(e!, r.idf, r.globalStats?.tokenIdf);
    const truncated = queryFit(encoder, lateText).truncated;
    let pid: number;
    if (typeof target === 'string') {
      const [rowid] = rowidsOf(this.docstore, [target]);
      const { docs, pidOf } = scoreStoredDocs(q, [rowid!], this.docs, (qq, pids) => this.local.exact(qq, pids));
      pid = docs.length === 0 ? -1 : pidOf.get(docs[0]!.key)!;
      if (pid < 0) throw new PlaitError('INVALID_INPUT', { message: `document "${target}" has no passages`, docId: target });
    } else {
      pid = target?.pid;
      if (!Number.isInteger(pid) || pid < 0 || pid >= this.manifest.counts.passages) {
        throw new PlaitError('INVALID_INPUT', { message: `no passage ${String(pid)} (the index has ${this.manifest.counts.passages})`, pid });
      }
      if (this.docs.isDeleted(pid)) throw new PlaitError('DOCUMENT_NOT_FOUND', { message: `passage ${pid} belongs to a deleted document`, pid });
    }
    const stored = this.docstore.getPassages([pid])[0];
    const doc = stored === null || stored === undefined ? null : this.docstore.getDocument(stored.docRowid);
    if (stored === null || stored === undefined || doc === null) throw new PlaitError('INDEX_CORRUPT', { message: `passage ${pid} is missing from the document store`, pid });
    const passageText = indexText(doc.title, doc.text).slice(stored.start, stored.end);
    const { tokens, lateScore } = explainLate(
      this.arrays,
      this.local.kernels,
      encoder,
      q,
      { text: lateText, rows: encoder.rows(lateText, 'query') },
      pid,
      { text: passageText, rows: encoder.rows(passageText, 'document') },
    );
    let bm25: Explanation['bm25'] = null;
    if (r.mode !== 'late') {
      if (rw !== null && r.rewrite.rm3 !== null && options.rewritten === undefined) rw = this.rewriter().expandRm3(rw, r.rewrite.rm3, ENGLISH_STOPWORDS);
      const terms = this.docstore.bm25Explain(rw?.bm25 ?? query, stored.docRowid, r.globalStats?.bm25 === undefined ? {} : { corpus: r.globalStats.bm25 });
      bm25 = { score: terms.reduce((sum, t) => sum + t.contribution, 0), terms };
    }
    let fusion: Explanation['fusion'] = null;
    // A cluster shard (globalStats) cannot fuse alone: its coordinator fills the fused parts.
    if (r.mode === 'hybrid' && r.globalStats === null) {
      const hit = (await this.searchBatchNow([query], { ...options, mode: 'hybrid' }))[0]!.hits.find((h) => h.docId === doc.docId);
      if (hit?.fusion !== undefined) fusion = { ...hit.fusion, score: hit.score, rank: hit.rank };
    }
    return {
      query,
      docId: doc.docId,
      pid,
      passage: { text: passageText, start: stored.start, end: stored.end },
      lateScore,
      idfWeighting: r.idf,
      tokens,
      bm25,
      fusion,
      rewrites: rw?.rewrites ?? [],
      ...(truncated ? { truncated: true as const } : {}),
    };
  }

  private checkOpen(): void {
    if (this.closing.signal.aborted) throw this.closedError();
  }

  private closedError(): PlaitError {
    return new PlaitError('INDEX_CLOSED', { message: `the index at ${this.path} is closed`, path: this.path });
  }

  /**
   * Closes the index: searches in flight reject with INDEX_CLOSED; an add still encoding rejects
   * with INDEX_CLOSED and writes nothing; a write that has committed resolves with its result;
   * workers and the encoder it created stop.
   */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(this.closedError());
    this.docstore.close();
    await PlaitIndex.retireGeneration(this.pool, this.arrays);
    await this.queryEncoder.close();
  }
}

/** An unfiltered BM25 ranking as fusion's scored documents, with its length. */
/**
 * A filtered search's warnings: why it matched nothing (`none`), and FILTER_TYPE_MIXED for each
 * comparison on a field of several JSON types (metadata-catalogue.ts); none when there are none.
 */
function filterWarningsOf(filter: MetadataFilter, none: boolean, docstore: DocStoreReader): { filterWarnings?: FilterWarning[] } {
  const types = docstore.metadataTypes();
  const all = [...(none ? noMatchWarnings(filter, docstore.fieldCatalogue()) : []), ...mixedFilterWarnings(filter, types)];
  return all.length === 0 ? {} : { filterWarnings: all };
}

function unfilteredBm25(r: { hits: Bm25Hit[]; matched: number }): { docs: ScoredDoc[]; matched: number } {
  return { docs: r.hits.map((h) => ({ key: h.docRowid, score: h.score })), matched: r.matched };
}
