/**
 * The library's rerank document model, the HTTP rerank routes' own: documents as strings,
 * `{ id?, text }`, or any object — ranked on `rankFields` (Cohere v1's `rank_fields`), else its
 * `text`, else all its fields (Together's default), by the one rule in field-lines.ts — with the
 * routes' limits, error codes and warnings, and the caller's own objects handed back in the results
 * (what LangChain's document compressors and LlamaIndex's node postprocessors need).
 *
 * Before, the library's `rerank` took `{ id?, text }` only: a caller holding objects had to flatten
 * them first, got no MISSING_RANK_FIELDS warning, no limit on the list (1,001 documents ran where
 * the routes answer 413) and errors naming a passage ("text 0") rather than `documents[i]`.
 *
 * The Reranker itself is used through its public `rerankWithUsage` only, on the texts this module
 * derives: how it encodes and scores is its own (reranker.ts), and the server calls it the same way.
 */
import { RERANK_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument } from '../errors/index.js';
import type { TextWarning } from '../encoder/unknown-tokens.js';
import { documentText, missingRankFields, type MissingRankFieldsWarning } from './field-lines.js';
import type { RerankOptions, RerankResult, RerankUsage, Reranker } from './reranker.js';
import { isWellFormed } from '../encoder/validate-text.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

/**
 * A document the library reranks: a string; an object with a string `text` (`{ id?, text }`, any
 * other field kept but not ranked); or any other object (a LangChain `Document`, a database row),
 * ranked on `rankFields` or, when it has no `text`, on all its fields as `field: value` lines.
 * Arrays and null are not documents (INVALID_INPUT).
 */
export type RerankInput = string | object;

/** Why a result's score may mean little: text the model mostly cannot represent, or none of the rank fields. */
export type RerankWarning = TextWarning | MissingRankFieldsWarning;

/** One ranked document: where it was, its score, and the caller's own document back. */
export interface RankedDocument<D extends RerankInput> {
  /** Position of the document in the input list (0-based). */
  index: number;
  /** The document's `id` when it is an object whose `id` is a string. */
  id?: string;
  /**
   * The model's score, higher is better: MaxSim of the document's best passage (Σ over query
   * tokens; −9999 a query token for an empty document or one holding none of the rank fields),
   * or, with the one-call `rerank`'s `crossEncoder`, the cross-encoder's score (CrossEncoder.score).
   */
  score: number;
  /** The input document itself (the same reference, not a copy). */
  document: D;
  /**
   * The query's unknown-token warning (it concerns every result), this document's, and
   * MISSING_RANK_FIELDS when this document holds none of the rank fields. Absent when none.
   */
  warnings?: RerankWarning[];
}

/** `rerankDocuments`' answer. */
export interface RankedDocuments<D extends RerankInput> {
  /** Highest score first (ties: input order); at most `topK`. */
  results: RankedDocument<D>[];
  /** The tokens the reranker read (the HTTP answers' `usage`: prompt_tokens = queryTokens + documentTokens). */
  usage: RerankUsage;
  /**
   * Every distinct warning of the call, documents cut by `topK` included: MISSING_RANK_FIELDS
   * first, then the unknown-token warnings of the results in result order. Their messages are the
   * HTTP routes' `meta.warnings` (less the ignored-field ones, which the library refuses instead).
   */
  warnings: RerankWarning[];
}

/** Options of `rerankDocuments`: a Reranker's, plus the fields object documents are ranked on. */
export interface RerankDocumentsOptions extends RerankOptions {
  /**
   * For object documents: the fields ranked on, as `field: value` lines in this order (a value
   * that is not a string written as JSON). Default (absent or []): the object's `text`, else all
   * its fields. Cohere v1's and Together's `rank_fields`.
   */
  rankFields?: readonly string[];
}

/**
 * RerankDocumentsOptions' keys (util/option-keys.ts): a typo such as `rankfields` is refused by
 * name, with the key meant. Written out rather than spread from reranker.ts's table so that this
 * module imports only types from there (reranker.ts's one-call `rerank` imports this one);
 * `satisfies` ties the table to the type, so the two cannot drift.
 */
export const RERANK_DOCUMENTS_OPTION_KEYS = {
  topK: true,
  signal: true,
  maxTokensPerDocument: true,
  truncationDirection: true,
  maxPassagesPerDocument: true,
  rankFields: true,
} as const satisfies OptionKeys<RerankDocumentsOptions>;

/** The checked texts of one call and what the caller is told about them. */
export interface PreparedDocuments {
  texts: string[];
  missing: MissingRankFieldsWarning | null;
}

/**
 * Checks a call's query, list and documents as the HTTP routes do, in their order, and derives
 * each document's text (field-lines.ts).
 * @throws PlaitError INVALID_ARGUMENT (query not a string, documents not an array, rankFields not
 * an array of strings), TEXT_NOT_UTF8 / EMPTY_TEXT (the query: an unpaired surrogate; blank),
 * QUERY_TOO_LARGE (more than RERANK_DEFAULTS.maxDocuments documents: `details.field` "documents",
 * `limit`, `received`; a document's text over ENCODER_DEFAULTS.maxTextLength), and documentText's
 * errors for a document, naming `documents[i]`.
 */
export function prepareDocuments(query: unknown, documents: unknown, rankFields: unknown): PreparedDocuments {
  if (typeof query !== 'string') throw invalidArgument('query', 'a string', query);
  if (!isWellFormed(query)) throw new PlaitError('TEXT_NOT_UTF8', { message: 'query contains an unpaired surrogate', field: 'query' });
  if (query.trim().length === 0) throw new PlaitError('EMPTY_TEXT', { message: 'query is empty', field: 'query' });
  if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of strings or objects', documents);
  const limit = RERANK_DEFAULTS.maxDocuments;
  if (documents.length > limit) {
    throw new PlaitError('QUERY_TOO_LARGE', { message: `${documents.length} items in documents; the limit is ${limit}`, field: 'documents', limit, received: documents.length });
  }
  if (rankFields !== undefined && (!Array.isArray(rankFields) || !rankFields.every((f) => typeof f === 'string'))) {
    throw invalidArgument('rankFields', 'an array of field names (strings)', rankFields);
  }
  const fields = rankFields as readonly string[] | undefined;
  return { texts: documents.map((d, i) => documentText(d, i, fields)), missing: missingRankFields(documents, fields) };
}

/**
 * The caller's documents back on the reranker's results, with the MISSING_RANK_FIELDS warning on
 * each document it names (as the query's warning rides on every result).
 */
export function rankedDocuments<D extends RerankInput>(documents: readonly D[], results: readonly RerankResult[], missing: MissingRankFieldsWarning | null): RankedDocument<D>[] {
  const lacking = new Set(missing?.documents ?? []);
  return results.map((r) => {
    const document = documents[r.index]!;
    const out: RankedDocument<D> = { index: r.index, score: r.score, document };
    const id = typeof document === 'object' ? (document as { id?: unknown }).id : undefined;
    if (typeof id === 'string') out.id = id;
    const warnings: RerankWarning[] = [...(lacking.has(r.index) && missing !== null ? [missing] : []), ...(r.warnings ?? [])];
    if (warnings.length > 0) out.warnings = warnings;
    return out;
  });
}

/**
 * Reranks the caller's documents with `reranker` (its cache and model), as the HTTP rerank routes
 * rank a request's: `rerankDocuments(reranker, 'bread rise', rows, { rankFields: ['title', 'body'], topK: 3 })`.
 *
 * @param query the query: a non-blank string.
 * @param documents at most RERANK_DEFAULTS.maxDocuments (1,000) strings or objects (RerankInput);
 *   [] answers `{ results: [], usage: { queryTokens: 0, documentTokens: 0 }, warnings: [] }`.
 * @returns results highest first, each with its input `index`, its `document` (the same object), its
 *   `id` when a string one, its `score` and warnings; the call's `usage` and every warning.
 * @throws PlaitError as prepareDocuments (the routes' checks: INVALID_ARGUMENT, EMPTY_TEXT,
 *   TEXT_NOT_UTF8, QUERY_TOO_LARGE, INVALID_INPUT naming `documents[i]`), then as
 *   `Reranker.rerankWithUsage` (an unknown option key, topK, the split bounds, ABORTED / TIMEOUT, CLOSED).
 */
export async function rerankDocuments<D extends RerankInput>(reranker: Reranker, query: string, documents: readonly D[], options: RerankDocumentsOptions = {}): Promise<RankedDocuments<D>> {
  checkOptionKeys(options, RERANK_DOCUMENTS_OPTION_KEYS, 'rerank option');
  const { rankFields, ...rerankOptions } = options;
  return rerankPrepared(reranker, query, documents, prepareDocuments(query, documents, rankFields), rerankOptions);
}

/**
 * `rerankDocuments` once the documents are checked (`prepared` from prepareDocuments): the one-call
 * `rerank` checks them before it loads a model, so a refused list costs no load.
 */
export async function rerankPrepared<D extends RerankInput>(reranker: Reranker, query: string, documents: readonly D[], prepared: PreparedDocuments, options: RerankOptions): Promise<RankedDocuments<D>> {
  const { results, usage } = await reranker.rerankWithUsage(query, prepared.texts, options);
  const ranked = rankedDocuments(documents, results, prepared.missing);
  return { results: ranked, usage, warnings: callWarnings(ranked, prepared.missing) };
}

/** MISSING_RANK_FIELDS, then each distinct unknown-token warning of `results` (the query's once), in result order. */
function callWarnings(results: readonly RankedDocument<RerankInput>[], missing: MissingRankFieldsWarning | null): RerankWarning[] {
  const seen = new Map<string, RerankWarning>();
  for (const r of results) {
    for (const w of r.warnings ?? []) if (w.code === 'MOSTLY_UNKNOWN_TOKENS') seen.set(w.text === 'query' ? 'query' : `document ${w.index}`, w);
  }
  return [...(missing === null ? [] : [missing]), ...seen.values()];
}
