/**
 * The messages between a coordinator and a shard's replicas (msgpack over NATS request-reply, on
 * `<shardService>.<verb>`, subjects.ts). Query embeddings travel as raw little-endian bytes, encoded
 * once by the coordinator. Every reply is `{ ok: true, … }` or `{ ok: false, code, message }`
 * (a PlaitError's stable code, re-thrown by the coordinator as the same error).
 *
 * - `info`   → the shard's number, its index manifest, codebook checksum and commit id.
 * - `stats`  → the shard's share of the corpus statistics for a batch of queries: documents and
 *              their total BM25 length, each query's BM25 term dfs, passages and each query token's
 *              passage df (query-token IDF). The coordinator sums them (exact: shards partition the
 *              documents and passages).
 * - `search` → per query, with the summed statistics: the late list, the BM25 list, and (hybrid) the
 *              exact late scores of the BM25-only documents, so that fusion at the coordinator equals
 *              a single index's.
 * - `ping`   → (every replica, no queue group) who is alive, for the replicas-seen gauge.
 *
 * A staged pipeline's re-scoring stages name their documents, so the coordinator asks only the
 * shards that hold them (shardOf), with the corpus statistics where a score needs them:
 * - `rerank`    → exact late-interaction scores of listed documents (PlaitIndex.rerankEncoded);
 * - `bm25`      → BM25 scores of listed documents (0 for one without a query term);
 * - `passages`  → each listed document's passage text (the given pid of this shard, else its first);
 * - `documents` → stored documents (title, text, metadata; null for an unknown id), for includeText;
 * - `positions` → each listed candidate's passage position in its document (the ltr stage's best_passage).
 *
 * Search highlights (SearchOptions.highlights; ClusterIndex.addHighlights), a round after the merge:
 * - `highlights` → the highlights of this shard's hits on the merged page (`refs`: docId and the
 *                  pid this shard returned), per query: late interaction's from the query's embedding
 *                  (of its rewritten text), the corpus's token IDF and ColBERT-PRF's rows, as the
 *                  search round weighted it; BM25's from the query's BM25 reading (the coordinator's
 *                  rewrite, else the text). Why a second round and not highlights in every `search`
 *                  answer: cluster-index.ts, addHighlights. A replica before this verb is not
 *                  subscribed (no responders, asked once): its hits are left without highlights and
 *                  the shard is named missing, as a shard missing from the `documents` round is.
 *
 * Query rewriting (spelling, synonyms) at the coordinator (cluster-rewrite.ts):
 * - `tokenize`   → (any one shard: every shard of a build tokenises alike) a query as the store's
 *                  BM25 reads it (terms with counts, tokens) and the BM25 terms of other texts;
 * - `vocabulary` → the shard's word vocabulary with document frequencies, and its commit id (the
 *                  coordinator sums the shards' and keeps the sum until a shard's commit changes);
 * - `stats` takes explicit `terms` (a rewritten BM25 query's) and answers with the shard's commit;
 * - `feedback`   → RM3's term counts of listed feedback documents (rewrite/rm3.ts feedbackTerms).
 *
 * Writes (the write log is JetStream's; these only inform a writer):
 * - `filter` → (one replica per shard) how many live documents a metadata filter matches and, when
 *              none, why (FILTER_FIELD_UNKNOWN…): a filter delete's preview before it is published
 *              (filter-preview.ts). A replica before this verb is not subscribed: no responders.
 * - `types`  → (one replica per shard) the shard's live documents per scalar JSON type of named
 *              metadata fields (and, asked, an example docId each): a waited add's METADATA_TYPE_MIXED
 *              over the corpus counts the shards it did not touch (replica-wait.ts clusterAddTypes). A
 *              replica before this verb: no responders, the cluster's types unknown.
 *
 * ColBERT-PRF at the coordinator (search/colbert-prf.ts; ClusterIndex.expandPrf):
 * - `codes` → how many tokens of listed feedback passages (`refs`: docId and the pid this shard
 *             returned in the first pass) fall in each centroid cell (prfCodeCounts);
 * - `cells` → the shard's IVF cell sizes (passages per centroid), its passages and its commit id
 *             (the coordinator sums them over the shards and keeps each shard's until its commit,
 *             which every `search` reply reports, changes);
 * - `search` takes, per query, `prf`: the chosen centroid ids and weights, appended by the shard
 *   from its own copy of the shared codebook; a replica that applied them says so (`prf: true` in
 *   its result), so a replica predating PRF is reported missing rather than answering unexpanded.
 */
import type { FilterWarning, WireFieldTypes } from '../docstore/metadata-catalogue.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';
import type { FieldTypeChange } from '../docstore/metadata-types.js';
import { pack, unpack } from '../util/msgpack.js';
import { PlaitError, type ErrorCode, type ErrorDetails } from '../errors/index.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import type { IndexManifest } from '../format/manifest.js';
import type { ExplainOptions, SearchHit, SearchOptions } from '../search/plait-index.js';
import type { EmptyReason } from '../search/query-text.js';
import type { PassageRef, PipelineDocument } from '../pipeline/pipeline-index.js';
import type { QueryToken } from '../docstore/fts-query-tokenizer.js';
import type { PrfRows } from '../search/colbert-prf.js';
import type { HitHighlights } from '../search/highlights.js';
import type { QueryRewrite } from '../rewrite/query-rewriter.js';
import type { TransactionApplied } from './write-transaction.js';

export type ShardVerb = 'info' | 'stats' | 'search' | 'explain' | 'ping' | 'rerank' | 'bm25' | 'passages' | 'documents' | 'positions' | 'tokenize' | 'vocabulary' | 'feedback' | 'codes' | 'cells' | 'filter' | 'highlights' | 'types';

export interface WireEmbedding {
  /** Float32 little-endian bytes, length × dim. */
  vectors: Uint8Array;
  /** Int32 little-endian bytes, one per row. */
  tokenIds: Uint8Array;
  length: number;
}

export interface ShardInfo {
  shard: number;
  shards: number;
  cluster: string;
  manifest: IndexManifest;
  codebook: string;
  commit: string;
  pid: number;
}

export interface StatsRequest {
  /**
   * Per query: the BM25 text (null: no BM25 in this mode), the BM25 terms whose dfs are asked
   * instead of the text's (a rewritten query's; absent: the text's), and the token ids (null: no IDF).
   */
  queries: { text: string | null; terms?: string[] | null; tokenIds: Uint8Array | null }[];
  /** Read-your-writes: the write-log sequence this shard must have applied first (0: none). */
  minSequence?: number;
  /** Epoch ms by which the shard must answer. */
  deadlineAt?: number;
}

export interface StatsReply {
  documents: number;
  totalLength: number;
  passages: number;
  /** Per query: df of each BM25 term (as the store tokenises and stems it). */
  termDf: Record<string, number>[];
  /** Per query: passage df of each query token, Int32 bytes aligned with its tokenIds. */
  tokenDf: (Uint8Array | null)[];
  /** The commit id of the index that answered (cluster-rewrite.ts keys its vocabulary cache by it). */
  commit?: string;
}

/** The corpus-wide statistics of one query, as the coordinator sends them back. */
export interface WireStats {
  bm25?: { documents: number; avgLength: number; df: Record<string, number> };
  tokenIdf?: { passages: number; df: Uint8Array };
}

/** The search options a shard needs: the library's, less what does not travel (signal, rewrite, stats, deadline). */
export type WireSearchOptions = Omit<SearchOptions, 'signal' | 'timeoutMs' | 'globalStats' | 'rewrite'>;

export interface SearchRequest {
  /** Per query; `bm25Terms`: a rewritten query's BM25 terms with weights (absent: the text's). */
  queries: { text: string; embedding: WireEmbedding | null; stats: WireStats; bm25Terms?: [string, number][]; prf?: WirePrfRows }[];
  options: WireSearchOptions;
  /** Epoch ms by which the shard must answer (it stops its own work then). */
  deadlineAt: number;
  /** Read-your-writes: the write-log sequence this shard must have applied first (0: none). */
  minSequence?: number;
}

/** ColBERT-PRF rows to append to a query (colbert-prf.ts PrfRows): Int32 centroid ids and Float32 weights, little-endian bytes, aligned. */
export interface WirePrfRows {
  centroids: Uint8Array;
  weights: Uint8Array;
}

/** `codes`: token counts per centroid cell of the listed feedback passages (centroid ids and counts, Int32 bytes, aligned). */
export interface CodesReply {
  centroids: Uint8Array;
  counts: Uint8Array;
}

/** `cells`: IVF cell sizes (Int32 bytes, one per centroid), the shard's passages (N's share) and the commit they are of. */
export interface CellsReply {
  commit: string;
  passages: number;
  sizes: Uint8Array;
}

/** Why a document of this shard scores as it does (PlaitIndex.explain with the corpus statistics). */
export interface ExplainRequest {
  query: string;
  docId: string;
  options: Omit<ExplainOptions, 'globalStats' | 'rewrite' | 'rewritten'>;
  /** The coordinator's rewrite of the query (spelling, synonyms, RM3): the text the late side explains, the BM25 terms with weights, the rewrites reported (absent: none). */
  rewritten?: { lateText: string; bm25Terms: [string, number][]; rewrites: QueryRewrite[] };
  stats: WireStats;
  deadlineAt: number;
  minSequence?: number;
}

/** Fields of every request about listed documents: the deadline and read-your-writes. */
interface DocsRequestBase {
  /** The documents, every one on this shard. */
  docIds: string[];
  /** Epoch ms by which the shard must answer. */
  deadlineAt: number;
  /** Read-your-writes: the write-log sequence this shard must have applied first (0: none). */
  minSequence?: number;
}

/** Exact late-interaction scores of listed documents with the corpus's token IDF (`stats.tokenIdf`). */
export interface RerankRequest extends DocsRequestBase {
  embedding: WireEmbedding;
  idfWeighting?: boolean;
  stats: WireStats;
}

/** BM25 scores of listed documents with the corpus's statistics (`stats.bm25`). */
export interface Bm25Request extends DocsRequestBase {
  text: string;
  stats: WireStats;
}

/** The passage text (`passages`) or position (`positions`) of each listed candidate (`refs`, aligned; docIds repeats their ids). */
export interface PassagesRequest extends DocsRequestBase {
  refs: PassageRef[];
}

/** Stored documents, for includeText. */
export type DocumentsRequest = DocsRequestBase;

export interface RerankReply {
  hits: SearchHit[];
}
export interface Bm25Reply {
  /** Aligned with the request's docIds. */
  scores: number[];
}
export interface PassagesReply {
  texts: string[];
  pids: number[];
}
export interface PositionsReply {
  /** Aligned with the request's refs; -1: not a passage of that document. */
  positions: number[];
}
export interface DocumentsReply {
  documents: (PipelineDocument | null)[];
}

/** One query of a `highlights` request and this shard's hits of it on the page. */
export interface WireHighlightQuery {
  /** The text the embedding encodes (the rewrite's lateText, else the query). */
  lateText: string;
  /** Null: no late side (bm25 mode). */
  embedding: WireEmbedding | null;
  /** The corpus's token IDF (the search round's `stats.tokenIdf`) when `idfWeighting`. */
  stats: WireStats;
  prf?: WirePrfRows;
  /** The BM25 side: the query text as the store reads it, or the coordinator's rewrite (`bm25Terms` and `bm25Tokens`); absent: none (late mode). */
  bm25Text?: string;
  bm25Terms?: [string, number][];
  bm25Tokens?: QueryToken[];
  /** The hits, this shard's pids (the search round's). */
  refs: PassageRef[];
}

/** `highlights`: the highlights of this shard's hits on the merged page (search/highlights.ts). */
export interface HighlightsRequest {
  queries: WireHighlightQuery[];
  /** The resolved highlight options (HighlightOptions' keys, every one given). */
  options: { snippetChars: number; preTag: string; postTag: string; escape: boolean };
  /** The search's resolved query-token IDF weighting. */
  idfWeighting: boolean;
  /** Epoch ms by which the shard must answer. */
  deadlineAt: number;
  /** Read-your-writes: the write-log sequence this shard must have applied first (0: none). */
  minSequence?: number;
}

/** Per query of the request, aligned with its refs: the hit's highlights, or null for a document this replica does not hold. */
export interface HighlightsReply {
  highlights: (HitHighlights | null)[][];
}

/** A query's BM25 reading and other texts' BM25 terms (`tokenize`). */
export interface TokenizeRequest {
  /** Read as `bm25Query(query, { stopwords: ENGLISH_STOPWORDS })` (null: none). */
  query: string | null;
  /** Texts whose BM25 terms are asked (synonym phrases, spelling corrections). */
  texts: string[];
  deadlineAt: number;
}

export interface TokenizeReply {
  schemaVersion: number;
  query: { terms: [string, number][]; tokens: QueryToken[] } | null;
  terms: string[][];
}

/** RM3's counts of each listed document (null: unknown id), aligned with the request's docIds. */
export interface FeedbackReply {
  docs: ({ tf: [string, number][]; total: number } | null)[];
}

export interface VocabularyRequest {
  deadlineAt: number;
  minSequence?: number;
}

export interface VocabularyReply {
  commit: string;
  words: string[];
  /** Int32 bytes aligned with words. */
  df: Uint8Array;
}

/** A replica's answer to `ping`: who it is and how far it applied its shard's write log (null: no log). */
export interface PingReply {
  shard: number;
  pid: number;
  applied: number | null;
  /** Asked with `{ txn }` (a writer's wait): what this replica did with that transaction; null when it does not know (not applied yet, or since its restart). */
  transaction?: TransactionApplied | null;
}

/** `ping`'s request: empty, or a transaction whose applied counts the writer waits for. */
export interface PingRequest {
  txn?: string;
}

/**
 * `types`' request: the metadata fields (dotted paths) whose type counts a writer sums over the
 * shards; `examples`: also a live document per type held (asked only for the fields the sum warns of).
 */
export interface TypesRequest {
  fields: string[];
  examples?: boolean;
}

/** `types`' answer: the shard's counts of those it holds now (`before` = `after`), with `examples` an example docId per type. */
export interface TypesReply {
  fieldTypes: FieldTypeChange[];
}

/** `filter`'s request: a metadata filter a writer is about to delete by (filter-preview.ts). */
export interface FilterRequest {
  filter: MetadataFilter;
}

/** `filter`'s answer: the shard's live documents the filter matches now and, when none, why (metadata-catalogue.ts). */
export interface FilterReply {
  matches: number;
  filterWarnings?: FilterWarning[];
  /**
   * The shard's live document counts per JSON type of each field the filter compares
   * (comparedFieldTypes), which the writer sums over the shards to say FILTER_TYPE_MIXED over the
   * corpus, as a search's coordinator sums ShardQueryResult.filterTypes. Absent from replicas predating it.
   */
  filterTypes?: WireFieldTypes;
}

export interface ShardQueryResult {
  emptyReason?: EmptyReason;
  /** late and bm25 modes: the shard's top-k. hybrid: the late list (fusion depth). */
  hits: SearchHit[];
  /** hybrid: the BM25 list (fusion depth), scored with the corpus statistics. */
  bm25?: SearchHit[];
  /** hybrid: exact late scores of the BM25 list's documents missing from the late list. */
  extraLate?: SearchHit[];
  generation?: number;
  /** True when the query's `prf` rows were appended (absent: none asked, or a replica predating PRF). */
  prf?: true;
  /** The shard's own stage times (late interaction, BM25), ms; absent from replicas predating them. */
  timings?: { lateMs: number; bm25Ms: number };
  /** Why the query's filter matched none of the shard's documents (SearchResult.filterWarnings), and the shard's own FILTER_TYPE_MIXED. */
  filterWarnings?: FilterWarning[];
  /**
   * With a filter: the shard's live document counts per JSON type of each field the filter compares
   * (docstore/metadata-catalogue.ts comparedFieldTypes); the coordinator sums them to say
   * FILTER_TYPE_MIXED over the corpus. Absent from replicas predating it.
   */
  filterTypes?: WireFieldTypes;
  /**
   * How many of the shard's documents the query's whole ranking holds (SearchResult.totalHits), when
   * the coordinator pages (it sends offset 0): the coordinator sums them. Absent from replicas predating it.
   */
  totalHits?: number | null;
}

export interface SearchReply {
  results: ShardQueryResult[];
  /** The commit id of the index that answered (the coordinator's PRF cell-size cache is keyed by it). */
  commit?: string;
}

/**
 * A replica's answer: its payload, or the PlaitError it raised — `message` as the replica rendered
 * it (template prefix included) and the error's `details` (plain data), so the
 * coordinator re-raises the same error a single server would (same message, same details).
 */
export type Reply<T> = ({ ok: true } & T) | { ok: false; code: ErrorCode; message: string; details?: ErrorDetails };

export function encodeMessage(value: unknown): Uint8Array {
  return pack(value);
}

export function decodeMessage<T>(data: Uint8Array): T {
  return unpack(data) as T;
}

/** A reply's payload, or its error re-thrown as the PlaitError the replica raised. */
export function replyValue<T>(r: Reply<T>): T {
  if (r.ok) return r;
  // The message arrives rendered ("Invalid input: unknown document id …"): rendering it through the
  // code's template again would repeat the prefix, so it is set as it came.
  const err = new PlaitError(r.code, { ...(r.details ?? {}), message: '' });
  err.message = r.message;
  throw err;
}

export function errorReply(err: unknown): Reply<never> {
  if (err instanceof PlaitError) return err.details === undefined ? { ok: false, code: err.code, message: err.message } : { ok: false, code: err.code, message: err.message, details: err.details };
  return { ok: false, code: 'INTERNAL', message: new PlaitError('INTERNAL', { message: err instanceof Error ? err.message : String(err) }).message };
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Copies bytes into an aligned Int32Array (a decoded message's bytes are a Buffer view into a larger pool: Buffer#slice would not copy). */
export function int32Of(b: Uint8Array): Int32Array {
  return new Int32Array(new Uint8Array(b).buffer);
}

export function float32Of(b: Uint8Array): Float32Array {
  return new Float32Array(new Uint8Array(b).buffer);
}

export function toWirePrfRows(rows: PrfRows): WirePrfRows {
  return { centroids: bytesOf(rows.centroids), weights: bytesOf(rows.weights) };
}

export function fromWirePrfRows(w: WirePrfRows): PrfRows {
  return { centroids: int32Of(w.centroids), weights: float32Of(w.weights) };
}

export function toWireEmbedding(e: TokenEmbeddings): WireEmbedding {
  return { vectors: bytesOf(e.vectors), tokenIds: bytesOf(e.tokenIds), length: e.length };
}

export function fromWireEmbedding(w: WireEmbedding): TokenEmbeddings {
  return { vectors: float32Of(w.vectors), tokenIds: int32Of(w.tokenIds), length: w.length };
}
