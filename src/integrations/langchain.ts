/**
 * LangChain.js integration, imported as `plait/langchain` (never from `plait` itself, so that a user
 * without LangChain can still import the engine): a retriever over a plait index and a document
 * compressor that reranks with plait's late interaction in-process.
 *
 * - `PlaitRetriever` extends `BaseRetriever` (@langchain/core/retrievers): `invoke(query)` runs
 *   `PlaitIndex.search` and returns one `Document` a hit, in plait's order, `pageContent` the
 *   stored text and `metadata` the stored metadata plus `docId`, `score`, `rank` and `generation`,
 *   and the query's `queryRewrites` / `queryTruncated` when the search rewrote or cut it.
 * - `PlaitRerank` extends `BaseDocumentCompressor` (@langchain/core/retrievers/document_compressors):
 *   `compressDocuments(docs, query)` orders `docs` by plait's Reranker (exact MaxSim, long texts as
 *   their best passage) and adds `metadata.relevanceScore`, the key @langchain/cohere's CohereRerank
 *   writes, so the two swap in a ContextualCompressionRetriever (@langchain/classic).
 *
 * Written against @langchain/core 1.4 (its BaseRetriever and BaseDocumentCompressor type
 * definitions); @langchain/core is an optional peer dependency of plait (package.json
 * peerDependenciesMeta).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import { ensureConfig, type RunnableConfig } from '@langchain/core/runnables';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { checkShape, invalidArgument } from '../errors/index.js';
import type { PlaitIndex } from '../search/plait-index.js';
import { SEARCH_OPTION_KEYS, type SearchOptions } from '../search/search-options.js';
import { INTEGRATION_RERANKER_KEYS, RerankerHandle, checkTopN, type IntegrationRerankerOptions } from './reranker-handle.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { QueryRewrite } from '../rewrite/query-rewriter.js';

export type { IntegrationRerankerOptions } from './reranker-handle.js';

/**
 * Metadata of a retrieved Document: the document's stored metadata, then plait's fields (which win
 * over stored keys of the same name).
 */
export type PlaitDocumentMetadata = Record<string, unknown> & {
  /** The user's document id (also the Document's `id`). */
  docId: string;
  /** plait's score of the hit: MaxSim in late mode, BM25 in bm25 mode, the fused score in hybrid mode. */
  score: number;
  /** 1-based position in the result. */
  rank: number;
  /** The index generation that answered (0: the build; each add, delete or compaction commits the next). */
  generation: number;
  /** The stored title, when the document has one. */
  title?: string;
  /**
   * The rewrites the search applied to the query (`searchOptions.rewrite`: spelling, synonyms, RM3,
   * ColBERT-PRF), in order, as `SearchResult.rewrites`; present only when the query was rewritten.
   * The same list on every Document of the call: a retriever's answer is its Documents.
   */
  queryRewrites?: QueryRewrite[];
  /** true when the query had more tokens than the model keeps and was searched on its first ones (`SearchResult.truncated`); absent otherwise. */
  queryTruncated?: true;
};

export interface PlaitRetrieverInput extends BaseRetrieverInput {
  /** An open index (`openIndex(path)`); the caller owns it and closes it. */
  index: PlaitIndex;
  /**
   * Search options of every call (topK, mode, filter, timeoutMs, PLAID settings; see SearchOptions).
   * `includeText` is always on (a Document needs its text); the AbortSignal is the call's
   * (`invoke(query, { signal, timeout })`, or the enclosing chain's).
   */
  searchOptions?: Omit<SearchOptions, 'includeText' | 'signal'>;
}

/**
 * The retriever's fields: its own two and BaseRetrieverInput's (@langchain/core 1.4: callbacks, tags,
 * metadata, verbose; the table stops compiling when a core release adds one). `new PlaitRetriever({
 * index, searchoptions: { topK: 3 } })` used to search with the defaults without a word.
 */
const PLAIT_RETRIEVER_INPUT_KEYS = { callbacks: true, tags: true, metadata: true, verbose: true, index: true, searchOptions: true } as const satisfies OptionKeys<PlaitRetrieverInput>;
/** searchOptions' keys: SearchOptions' but the two the retriever sets itself on every call. */
const { includeText: _includeText, signal: _signal, ...RETRIEVER_SEARCH_OPTION_KEYS } = SEARCH_OPTION_KEYS;

/**
 * The AbortSignal of the `invoke` call in progress. @langchain/core 1.4's BaseRetriever.invoke does
 * not hand the call's config to `_getRelevantDocuments`, so `invoke` records its signal here, per
 * asynchronous call chain (concurrent calls each see their own).
 */
const callSignal = new AsyncLocalStorage<AbortSignal | undefined>();

/**
 * A LangChain retriever over a plait index.
 *
 * @example
 * const retriever = new PlaitRetriever({ index: await openIndex('./my-index'), searchOptions: { topK: 5 } });
 * const docs = await retriever.invoke('why does bread rise');
 */
export class PlaitRetriever extends BaseRetriever<PlaitDocumentMetadata> {
  static override lc_name(): string {
    return 'PlaitRetriever';
  }

  lc_namespace = ['plait', 'retrievers'];
  readonly index: PlaitIndex;
  readonly searchOptions: Omit<SearchOptions, 'includeText' | 'signal'>;

  /** @throws PlaitError INVALID_ARGUMENT for a field or searchOptions key the retriever does not know (checked here, not at the first call). */
  constructor(fields: PlaitRetrieverInput) {
    // A misspelt key (`searchOption`) had been dropped in silence: every search ran with plait's defaults.
    checkOptionKeys(fields, PLAIT_RETRIEVER_INPUT_KEYS, 'PlaitRetriever field');
    checkShape('fields', fields, 'PlaitRetriever fields ({ index, searchOptions? })', ['index']);
    // Any value had been taken for the index, and the first invoke() threw "this.index.search is not a function".
    checkShape('fields.index', fields.index, 'a PlaitIndex (from openIndex)', ['search']);
    checkOptionKeys(fields.searchOptions, RETRIEVER_SEARCH_OPTION_KEYS, 'PlaitRetriever searchOptions key');
    super(fields);
    this.index = fields.index;
    this.searchOptions = fields.searchOptions ?? {};
  }

  /**
   * Runs the retriever as BaseRetriever does, with the call's AbortSignal (config `signal`, `timeout`,
   * or the enclosing chain's, as ensureConfig combines them) passed to the search.
   */
  override invoke(input: string, options?: RunnableConfig): Promise<DocumentInterface<PlaitDocumentMetadata>[]> {
    const config = ensureConfig(options);
    return callSignal.run(config.signal, () => super.invoke(input, config));
  }

  /**
   * The hits of `PlaitIndex.search(query, searchOptions)` as Documents, highest first. A query with no
   * content (blank, or no letter or digit) gives no Documents, as it gives no hits.
   * @throws PlaitError from the search: INVALID_ARGUMENT / INVALID_FILTER for bad options, TIMEOUT
   * (searchOptions.timeoutMs, or the call's `timeout`), ABORTED (the call's signal), INDEX_CLOSED.
   */
  override async _getRelevantDocuments(query: string): Promise<DocumentInterface<PlaitDocumentMetadata>[]> {
    const signal = callSignal.getStore();
    const result = await this.index.search(query, { ...this.searchOptions, includeText: true, ...(signal !== undefined ? { signal } : {}) });
    const generation = result.generation ?? this.index.generation;
    return result.hits.map((h) => {
      const metadata: PlaitDocumentMetadata = { ...(h.metadata ?? {}), docId: h.docId, score: h.score, rank: h.rank, generation };
      if (h.title !== undefined && h.title !== '') metadata.title = h.title;
      if (result.rewrites !== undefined && result.rewrites.length > 0) metadata.queryRewrites = result.rewrites.map((r) => ({ ...r }));
      if (result.truncated) metadata.queryTruncated = true;
      return new Document<PlaitDocumentMetadata>({ pageContent: h.text ?? '', metadata, id: h.docId });
    });
  }
}

export interface PlaitRerankInput extends IntegrationRerankerOptions {
  /** Documents to keep, a non-negative integer (default: all, reordered). */
  topN?: number;
}

/** One reranked input: its position in the input list and plait's score (MaxSim of its best passage). */
/** PlaitRerank.rerank's options: how many to keep, and a signal that cancels the call. */
export interface PlaitRerankCallOptions {
  topN?: number;
  signal?: AbortSignal;
}

/** The compressor's keys (util/option-keys.ts): `new PlaitRerank({ topn: 3 })` had kept every document. */
const PLAIT_RERANK_INPUT_KEYS = { ...INTEGRATION_RERANKER_KEYS, topN: true } as const satisfies OptionKeys<PlaitRerankInput>;
const PLAIT_RERANK_CALL_KEYS = { topN: true, signal: true } as const satisfies OptionKeys<PlaitRerankCallOptions>;

export interface PlaitRerankResult {
  index: number;
  relevanceScore: number;
}

/**
 * A LangChain document compressor that reranks with plait's late interaction, in-process (no server).
 * Give it a Reranker you own (`{ reranker }`), or a model (`{ model }`, default the bundled model)
 * for a Reranker it creates on first use and frees in `close()`.
 *
 * @example
 * const compressor = new PlaitRerank({ topN: 3 });
 * const top = await compressor.compressDocuments(docs, 'why does bread rise');
 * await compressor.close();
 */
export class PlaitRerank extends BaseDocumentCompressor {
  readonly topN: number | undefined;
  private readonly handle: RerankerHandle;

  /** @throws PlaitError INVALID_ARGUMENT for an unknown key, a topN that is not an integer ≥ 0, or a reranker given with model options. */
  constructor(fields: PlaitRerankInput = {}) {
    super();
    checkOptionKeys(fields, PLAIT_RERANK_INPUT_KEYS, 'PlaitRerank field');
    this.topN = checkTopN(fields.topN, 0);
    this.handle = new RerankerHandle(fields, 'new PlaitRerank({ model })');
  }

  /**
   * `documents` ordered by plait's score against `query`, highest first (ties: input order), at most
   * `topN`; each a new Document with the input's content, id and metadata plus `relevanceScore`.
   * @throws PlaitError EMPTY_TEXT (a query with no letter or digit), the model's load errors.
   */
  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const ranked = await this.rerank(documents, query, this.topN === undefined ? {} : { topN: this.topN });
    return ranked.map(({ index, relevanceScore }) => {
      const d = documents[index]!;
      return new Document({ pageContent: d.pageContent, metadata: { ...d.metadata, relevanceScore }, ...(d.id !== undefined ? { id: d.id } : {}) });
    });
  }

  /**
   * The ranking alone, as CohereRerank.rerank gives it: `[{ index, relevanceScore }]`, highest first,
   * at most `options.topN` (default: all; this call's, not the constructor's). Strings are ranked as
   * they are, Documents by their `pageContent`; `options.signal` cancels the call between its stages.
   * @throws PlaitError INVALID_ARGUMENT (documents; an unknown option key; a topN that is not an integer ≥ 0), EMPTY_TEXT, the model's load errors.
   */
  async rerank(documents: ReadonlyArray<DocumentInterface | string>, query: string, options: PlaitRerankCallOptions = {}): Promise<PlaitRerankResult[]> {
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of Documents or strings', documents);
    checkOptionKeys(options, PLAIT_RERANK_CALL_KEYS, 'rerank option');
    checkTopN(options.topN, 0);
    const texts = documents.map((d) => (typeof d === 'string' ? d : d.pageContent));
    const reranker = await this.handle.get();
    const ranked = await reranker.rerank(query, texts, { ...(options.topN !== undefined ? { topK: options.topN } : {}), ...(options.signal !== undefined ? { signal: options.signal } : {}) });
    return ranked.map((r) => ({ index: r.index, relevanceScore: r.score }));
  }

  /** Frees the Reranker this compressor created (a Reranker given as `reranker` is the caller's to close). */
  close(): Promise<void> {
    return this.handle.close();
  }
}
