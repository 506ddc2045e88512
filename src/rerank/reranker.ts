/**
 * The mid-tier reranker: given a query and a shortlist (from BM25 or a bi-encoder), encode the
 * documents on the fly and order them by exact MaxSim.
 *
 * Documents are scored as the index scores them: a document longer than the model's window is
 * split into the indexer's overlapping passages (split-passages.ts, same window and stride) and
 * its score is its best passage's (ColBERT's MaxP). Before, only the first window was encoded, so
 * an answer at the end of a long document was never seen. An empty document is not an error: it
 * has no tokens, scores ColBERT's -9999 per query token and ranks last (as Cohere's rerank API
 * ranks an empty document last instead of refusing the request). A query with no content
 * (blank, or no letter or digit) is refused with EMPTY_TEXT: there is nothing to rank by, and a
 * reranker must not invent an order.
 *
 * Passage embeddings are cached by content (SHA-1 of the text) in an LRU bounded in bytes, so a
 * document seen again costs no encoding, whatever the model's dim.
 *
 * How long documents are split can be bounded per call, the way the rerank APIs plait serves
 * define it: `maxTokensPerDocument` cuts each document to that many content tokens first (Cohere
 * v2's `max_tokens_per_doc`; TEI's `truncate`, keeping the end with `truncationDirection: 'left'`),
 * and `maxPassagesPerDocument` scores only a document's first passages (Cohere v1's
 * `max_chunks_per_doc`). A query or document that the model mostly cannot represent (unknown
 * tokens, unknown-tokens.ts) is reported in the results' `warnings`.
 *
 * `rerankWithUsage` also says how many tokens the call read (RerankUsage, the servers' `usage`),
 * counted from what the call has in hand anyway — the query's encoded rows and the token counts
 * of the tokenization that splits each document (done for every document, cached or not) — so it
 * costs no second tokenization and no encoding.
 */
import { plural } from '../util/plural.js';
import { createHash } from 'node:crypto';
import { BUILD_DEFAULTS, RERANK_DEFAULTS } from '../config/defaults.js';
import { PlaitError, abortedBy, checkSignal, invalidArgument, describe } from '../errors/index.js';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder, EncoderOptions, TokenEmbeddings } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { countUnknownTokens, unknownTokenWarning, type TextWarning } from '../encoder/unknown-tokens.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { passageWindows, splitIntoPassages } from '../indexer/split-passages.js';
import { LruCache } from './lru-cache.js';
import { CrossEncoder, type CrossEncoderOptions } from './cross-encoder/cross-encoder.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { prepareDocuments, rankedDocuments, rerankPrepared, RERANK_DOCUMENTS_OPTION_KEYS, type RankedDocument, type RerankDocumentsOptions, type RerankInput } from './rerank-documents.js';

export type RerankDocument = string | { id?: string; text: string };

export interface RerankResult {
  /** Position of the document in the input array. */
  index: number;
  /** The document's `id`, when it was given one. */
  id?: string;
  /** MaxSim of the document's best passage (Σ over query tokens; -9999 per query token for an empty document). */
  score: number;
  /**
   * Why this score may mean little: the query's warning (it concerns every result) and this
   * document's, when most of its content tokens are unknown to the model. Absent when none.
   */
  warnings?: TextWarning[];
}

/**
 * The tokens one rerank read, as the hosted rerank APIs count usage (Jina: query + documents).
 * Content tokens only: the rows the model adds around a text (CLS, SEP, markers, a query's [MASK]
 * padding) are not counted.
 */
export interface RerankUsage {
  /** The query's content tokens (the query's rows less the model's special tokens). */
  queryTokens: number;
  /**
   * The documents' content tokens as scored: after `maxTokensPerDocument`'s cut, the passages
   * scored (`maxPassagesPerDocument`), a token shared by two overlapping passages counted in each
   * (each passage is encoded on its own); a passage served from the cache counts as if encoded.
   */
  documentTokens: number;
}

export interface RerankerOptions {
  /** Model: undefined → the bundled model; a local ColBERT ONNX folder; or a hub repo id. */
  model?: string;
  /**
   * 'int8': run the int8 graph plait builds from a BERT / ModernBERT checkpoint's weights (as
   * `plait index --quantize int8`). Ignored when `encoder` is given.
   * @throws PlaitError MODEL_UNSUPPORTED for the bundled model or a repository that ships its own ONNX graph.
   */
  quantize?: 'int8';
  /** An encoder the caller owns (its model wins over `model`; not closed by `close()`). */
  encoder?: Encoder;
  /** How the Reranker's own encoder runs (EncoderOptions: threads, batch size …). Ignored with `encoder`. */
  encoderOptions?: EncoderOptions;
  /** Bytes of cached passage embeddings (default RERANK_DEFAULTS.cacheBytes, 64 MiB); 0 disables the cache. */
  cacheBytes?: number;
  /** Optional cap on the number of cached passages (default: none, the byte budget decides). */
  cacheEntries?: number;
  /** The MaxSim kernels; default getKernels(): native when it loads, else TypeScript. */
  kernels?: Kernels;
}

export interface RerankOptions {
  /** Results to return, a non-negative integer (default: all documents). */
  topK?: number;
  /**
   * Cancels the call: checked before each stage (query encoding, document encoding, scoring) and by
   * the encoder between its batches. Rejects with ABORTED (`controller.abort()`), TIMEOUT
   * (`AbortSignal.timeout()`), or the signal's reason when it is a PlaitError — as searches and writes do.
   */
  signal?: AbortSignal;
  /**
   * Cut each document to this many content tokens before it is split (a positive integer; default:
   * no cut, the whole document is scored). Cohere v2's `max_tokens_per_doc`; TEI's `truncate` uses
   * the model's window.
   */
  maxTokensPerDocument?: number;
  /** Which end `maxTokensPerDocument` keeps: 'right' cuts the right end (keeps the start; default), 'left' the left. */
  truncationDirection?: 'right' | 'left';
  /** Score at most this many passages of each document, its first (a positive integer; default: all). Cohere v1's `max_chunks_per_doc`. */
  maxPassagesPerDocument?: number;
}

/** RerankerOptions' keys (util/option-keys.ts): `Reranker.create({ cachebytes: 0 })` had kept the 64 MiB cache without a word. */
const RERANKER_OPTION_KEYS = { model: true, quantize: true, encoder: true, encoderOptions: true, cacheBytes: true, cacheEntries: true, kernels: true } as const satisfies OptionKeys<RerankerOptions>;

/** RerankOptions' keys: `reranker.rerank(q, docs, { topk: 1 })` had returned every document. */
const RERANK_OPTION_KEYS = { topK: true, signal: true, maxTokensPerDocument: true, truncationDirection: true, maxPassagesPerDocument: true } as const satisfies OptionKeys<RerankOptions>;

/** The validated split bounds of one call. */
interface SplitBounds {
  maxTokens: number;
  keep: 'right' | 'left';
  maxPassages: number;
}

/** Bytes an entry holds: its vectors and token ids (the key and object overhead are small beside them). */
function entryBytes(e: TokenEmbeddings): number {
  return e.vectors.byteLength + e.tokenIds.byteLength;
}

export class Reranker {
  private readonly cache: LruCache<string, TokenEmbeddings>;
  private readonly window: number;
  private readonly stride: number;
  private closed = false;

  private constructor(
    /** The encoder documents and queries are encoded with (the caller's `encoder`, else the Reranker's own). */
    readonly encoder: Encoder,
    private readonly ownsEncoder: boolean,
    private readonly kernels: Kernels,
    cacheBytes: number,
    cacheEntries: number,
  ) {
    this.cache = new LruCache(cacheBytes, entryBytes, cacheEntries);
    // The indexer's passage windows (build-index.ts): the model's document window, stride 3/4 of it.
    this.window = encoder.info.documentWindow;
    this.stride = Math.max(1, Math.floor(this.window * BUILD_DEFAULTS.splitStrideFraction));
  }

  /** @throws PlaitError INVALID_ARGUMENT for an unknown option key or a bad cache size; the model's errors when it cannot load. */
  static async create(options: RerankerOptions = {}): Promise<Reranker> {
    checkOptionKeys(options, RERANKER_OPTION_KEYS, 'Reranker option');
    checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option');
    const cacheBytes = options.cacheBytes ?? RERANK_DEFAULTS.cacheBytes;
    if (!Number.isInteger(cacheBytes) || cacheBytes < 0) throw invalidArgument('cacheBytes', 'a non-negative integer', cacheBytes);
    const cacheEntries = options.cacheEntries ?? Infinity;
    if (cacheEntries !== Infinity && (!Number.isInteger(cacheEntries) || cacheEntries < 0)) throw invalidArgument('cacheEntries', 'a non-negative integer', cacheEntries);
    const encoder = options.encoder ?? (await createEncoder(await resolveModelSpec(options.model, options.quantize === undefined ? {} : { quantize: options.quantize }), options.encoderOptions ?? {}));
    return new Reranker(encoder, options.encoder === undefined, options.kernels ?? getKernels(), cacheBytes, cacheEntries);
  }

  /** Passage embeddings in the cache. */
  get cachedDocuments(): number {
    return this.cache.size;
  }

  /** Bytes of passage embeddings in the cache. */
  get cachedBytes(): number {
    return this.cache.weight;
  }

  /**
   * Orders `documents` by MaxSim against `query`, highest first (ties: input order).
   * @throws PlaitError INVALID_ARGUMENT (an unknown option key, named with the one meant when one is
   * close; documents, topK), INVALID_INPUT (a document of the wrong shape), EMPTY_TEXT (a query with
   * no content), QUERY_TOO_LARGE / TEXT_NOT_UTF8 (from the encoder), ABORTED / TIMEOUT (`signal`),
   * CLOSED (after `close()`).
   */
  async rerank(query: string, documents: readonly RerankDocument[], options: RerankOptions = {}): Promise<RerankResult[]> {
    return (await this.rerankWithUsage(query, documents, options)).results;
  }

  /**
   * `rerank`, and the tokens it read (RerankUsage: query and documents, integers ≥ 0; 0 documents
   * → documentTokens 0). Same arguments, order and errors as `rerank`.
   */
  async rerankWithUsage(query: string, documents: readonly RerankDocument[], options: RerankOptions = {}): Promise<{ results: RerankResult[]; usage: RerankUsage }> {
    if (this.closed) throw new PlaitError('CLOSED', { message: 'the reranker is closed (close() was called); create another with Reranker.create()' });
    checkOptionKeys(options, RERANK_OPTION_KEYS, 'rerank option');
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of strings or { id, text } objects', documents);
    const texts = documents.map((d, i) => {
      if (typeof d === 'string') return d;
      if (d !== null && typeof d === 'object' && typeof d.text === 'string') return d.text;
      throw new PlaitError('INVALID_INPUT', { message: `document ${i} must be a string or { id, text } but received ${describe(d)}`, index: i });
    });
    const topK = options.topK ?? documents.length;
    if (!Number.isInteger(topK) || topK < 0) throw invalidArgument('topK', 'a non-negative integer', topK);
    const bounds = splitBounds(options);
    const signal = checkSignal('signal', options.signal);
    if (typeof query !== 'string') throw invalidArgument('query', 'a string', query);
    if (!/[\p{L}\p{N}]/u.test(query)) throw new PlaitError('EMPTY_TEXT', { message: 'the query has no letter or digit to rank by' });
    if (documents.length === 0) return { results: [], usage: { queryTokens: 0, documentTokens: 0 } };
    const cancelled = (): void => {
      if (signal?.aborted === true) throw abortedBy(signal, `the rerank of ${plural(documents.length, 'document')} was cancelled`);
    };
    cancelled();
    // The query and the documents are encoded at once, not one after the other: beside a large
    // rerank's document chunks, a query encoded first waited for the chunk running, and then its
    // documents waited for the chunk the large call had started meanwhile (two chunks, seconds each
    // on a loaded host; bench/RESULTS.md, "Query and documents at once"). The query is handed over
    // first, so it still runs first where the encoder serves calls in order. Its errors still come
    // first: when it fails, the documents' encoding is stopped (`stop`) and the query's error thrown.
    const stop = new AbortController();
    const both = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    const queryRun = this.encoder.encodeQueries([query], signal === undefined ? {} : { signal });
    // Settled either way before it is awaited below; this only keeps a rejection from counting as unhandled meanwhile.
    queryRun.catch(() => {});
    let documentsRun: Promise<TokenEmbeddings[]>;
    // Each document's passages (none for an empty document), then one MaxSim call over them all.
    const passageTexts: string[] = [];
    const passageDoc: number[] = [];
    let documentTokens = 0;
    try {
      texts.forEach((t, i) => {
        const { passages, tokens } = this.passagesOf(t, bounds);
        documentTokens += tokens;
        for (const p of passages) {
          passageTexts.push(p);
          passageDoc.push(i);
        }
      });
      documentsRun = this.embed(passageTexts, both);
      documentsRun.catch(() => {}); // awaited below unless the query fails or the call is cancelled first
    } catch (err) {
      await queryRun; // a failed query's error comes first, as when it was encoded first
      throw err;
    }
    let q: TokenEmbeddings | undefined;
    try {
      [q] = await queryRun;
    } catch (err) {
      stop.abort(); // the documents' encoding rejects with the stop; the query's error is the answer
      throw err;
    }
    cancelled();
    const embeddings = await documentsRun;
    cancelled();
    const scores = this.documentScores(q!, embeddings, passageDoc, texts.length);
    const order = this.kernels.topK(scores, scores.length, Math.min(topK, scores.length));
    const queryWarning = unknownTokenWarning(countUnknownTokens(this.encoder, [q!]), 'query');
    const byDoc: TokenEmbeddings[][] = texts.map(() => []);
    embeddings.forEach((e, j) => byDoc[passageDoc[j]!]!.push(e));
    const results = Array.from(order, (i) => {
      const d = documents[i]!;
      const out: RerankResult = { index: i, score: scores[i]! };
      if (typeof d !== 'string' && d.id !== undefined) out.id = d.id;
      const warnings = [queryWarning, unknownTokenWarning(countUnknownTokens(this.encoder, byDoc[i]!), 'document', i)].filter((w): w is TextWarning => w !== null);
      if (warnings.length > 0) out.warnings = warnings;
      return out;
    });
    return { results, usage: { queryTokens: this.contentRows(q!), documentTokens } };
  }

  /** Rows of an encoded text that stand for its content (its rows less the model's special tokens, [MASK] padding included). */
  private contentRows(e: TokenEmbeddings): number {
    const special = this.encoder.specialTokenIds;
    if (special === undefined) return e.length;
    let n = 0;
    for (let r = 0; r < e.length; r++) if (!special.has(e.tokenIds[r]!)) n++;
    return n;
  }

  /**
   * The indexer's passages of one document (cut and bounded by `bounds`; none when it is blank),
   * and the content tokens they hold (RerankUsage.documentTokens: each passage's window, from the
   * tokenization this split does anyway).
   */
  private passagesOf(text: string, bounds: SplitBounds): { passages: string[]; tokens: number } {
    if (text.trim().length === 0) return { passages: [], tokens: 0 };
    let tokens = this.encoder.tokenize(text);
    const n = tokens.ids.length;
    if (n > bounds.maxTokens) {
      text = bounds.keep === 'right' ? text.slice(0, tokens.offsets[2 * (bounds.maxTokens - 1) + 1]!) : text.slice(tokens.offsets[2 * (n - bounds.maxTokens)]!);
      tokens = this.encoder.tokenize(text);
    }
    if (tokens.ids.length <= this.window) return { passages: [text], tokens: tokens.ids.length };
    // splitIntoPassages cuts the text at these windows (split-passages.ts): their lengths are the passages' tokens.
    const windows = passageWindows(tokens.ids.length, this.window, this.stride).slice(0, bounds.maxPassages);
    return {
      passages: splitIntoPassages(text, tokens, this.window, this.stride)
        .slice(0, bounds.maxPassages)
        .map((p) => p.text),
      tokens: windows.reduce((sum, [from, to]) => sum + (to - from), 0),
    };
  }

  /** Max over each document's passages; a document without passages (or tokens) gets the kernel's empty-document score. */
  private documentScores(q: TokenEmbeddings, passages: TokenEmbeddings[], passageDoc: number[], nDocs: number): Float32Array {
    const dim = this.encoder.info.dim;
    let rows = 0;
    for (const e of passages) rows += e.length;
    const docs = new Float32Array(rows * dim);
    const starts = new Int32Array(passages.length + nDocs);
    const lens = new Int32Array(passages.length + nDocs);
    let r = 0;
    passages.forEach((e, i) => {
      docs.set(e.vectors.subarray(0, e.length * dim), r * dim);
      starts[i] = r;
      lens[i] = e.length;
      r += e.length;
    });
    // One extra zero-length row per document scores "no tokens" the kernel's way, so an empty
    // document's score comes from the same rule on every path.
    const n = passages.length + nDocs;
    const passageScores = new Float32Array(n);
    this.kernels.maxsim(q.vectors, q.length, dim, docs, starts, lens, n, passageScores);
    const scores = new Float32Array(nDocs);
    for (let d = 0; d < nDocs; d++) scores[d] = passageScores[passages.length + d]!;
    const seen = new Uint8Array(nDocs);
    passages.forEach((_, i) => {
      const d = passageDoc[i]!;
      const s = passageScores[i]!;
      if (seen[d] === 0 || s > scores[d]!) scores[d] = s;
      seen[d] = 1;
    });
    return scores;
  }

  private async embed(texts: string[], signal: AbortSignal | undefined): Promise<TokenEmbeddings[]> {
    const keys = texts.map((t) => createHash('sha1').update(t).digest('base64'));
    const out: (TokenEmbeddings | undefined)[] = keys.map((k) => this.cache.get(k));
    const missing: number[] = [];
    out.forEach((e, i) => {
      if (e === undefined) missing.push(i);
    });
    // Each distinct missing text is encoded once, even when it appears twice in the input.
    const unique = [...new Set(missing.map((i) => keys[i]!))];
    const firstIndex = new Map(missing.map((i) => [keys[i]!, i] as const));
    if (unique.length > 0) {
      const encoded = await this.encoder.encodeDocuments(unique.map((k) => texts[firstIndex.get(k)!]!), signal === undefined ? {} : { signal });
      unique.forEach((k, j) => this.cache.set(k, encoded[j]!));
      const byKey = new Map(unique.map((k, j) => [k, encoded[j]!] as const));
      for (const i of missing) out[i] = byKey.get(keys[i]!);
    }
    return out as TokenEmbeddings[];
  }

  /** Frees the encoder it created (one passed to `create` stays the caller's); later calls reject with CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsEncoder) await this.encoder.close();
  }
}

/** @throws PlaitError INVALID_ARGUMENT for a bound that is not a positive integer or a direction that is neither 'right' nor 'left'. */
function splitBounds(o: RerankOptions): SplitBounds {
  const positive = (name: string, v: number | undefined): number => {
    if (v === undefined) return Infinity;
    if (!Number.isInteger(v) || v < 1) throw invalidArgument(name, 'a positive integer', v);
    return v;
  };
  const keep = o.truncationDirection ?? 'right';
  if (keep !== 'right' && keep !== 'left') throw invalidArgument('truncationDirection', '"right" or "left"', keep);
  return { maxTokens: positive('maxTokensPerDocument', o.maxTokensPerDocument), keep, maxPassages: positive('maxPassagesPerDocument', o.maxPassagesPerDocument) };
}

/**
 * One-call reranking keeps one reranker per model alive for the process (so its cache pays off);
 * call `closeRerankers()` before exit if you want its worker threads gone sooner.
 */
const shared = new Map<string, Promise<Reranker>>();

/** Options of the one-call `rerank`: a Reranker's, the fields object documents are ranked on, and which model (or cross-encoder) scores. */
export type RerankCallOptions = RerankDocumentsOptions & { model?: string; crossEncoder?: string; crossEncoderOptions?: CrossEncoderOptions };

/** RerankCallOptions' keys (option-keys.ts): `rerank(q, docs, { topk: 1 })` had returned every document. */
const RERANK_CALL_OPTION_KEYS = { ...RERANK_DOCUMENTS_OPTION_KEYS, model: true, crossEncoder: true, crossEncoderOptions: true } as const satisfies OptionKeys<RerankCallOptions>;

/**
 * One-call reranking: `rerank(query, documents, { model, topK, rankFields })` → the caller's
 * documents, highest first, each `{ index, id?, score, document, warnings? }` (RankedDocument).
 * Documents are the HTTP rerank routes' (rerank-documents.ts): strings, `{ id?, text }`, or any
 * object, ranked on `rankFields`, else its `text`, else all its fields; generic over their type, so
 * `document` is the caller's own object. For the call's usage and every warning (those of documents
 * cut by `topK` too), use `rerankDocuments` with a Reranker.
 *
 * @param documents at most RERANK_DEFAULTS.maxDocuments (1,000); [] answers [].
 * @throws PlaitError INVALID_ARGUMENT for an options key RerankCallOptions does not have (named,
 * with the key meant when one is close), and as `rerankDocuments` (EMPTY_TEXT, TEXT_NOT_UTF8,
 * QUERY_TOO_LARGE, INVALID_INPUT naming `documents[i]`, topK and split bounds, ABORTED / TIMEOUT);
 * the model's or cross-encoder's errors when it cannot load.
 */
export async function rerank<D extends RerankInput>(query: string, documents: readonly D[], options: RerankCallOptions = {}): Promise<RankedDocument<D>[]> {
  checkOptionKeys(options, RERANK_CALL_OPTION_KEYS, 'rerank option');
  // Which scorer is this function's choice; the scorer gets only its own options (it refuses others).
  const { model, crossEncoder, crossEncoderOptions, rankFields, ...rerankOptions } = options;
  // The routes' checks, before any model loads: a refused list costs no load.
  const prepared = prepareDocuments(query, documents, rankFields);
  // With a cross-encoder (folder or hub id), the scores are its (long documents: their first window).
  if (crossEncoder !== undefined) {
    const { topK, signal } = rerankOptions;
    const cross = await sharedCrossEncoder(crossEncoder, crossEncoderOptions);
    const results = await cross.rerank(query, prepared.texts, { ...(topK === undefined ? {} : { topK }), ...(signal === undefined ? {} : { signal }) });
    return rankedDocuments(documents, results, prepared.missing);
  }
  const key = model ?? '';
  let r = shared.get(key);
  if (r === undefined) {
    r = Reranker.create({ model, encoderOptions: { threads: 1 } });
    shared.set(key, r);
    r.catch(() => shared.delete(key));
  }
  return (await rerankPrepared(await r, query, documents, prepared, rerankOptions)).results;
}

const sharedCross = new Map<string, Promise<CrossEncoder>>();

function sharedCrossEncoder(model: string, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
  const key = JSON.stringify([model, options]);
  let c = sharedCross.get(key);
  if (c === undefined) {
    c = CrossEncoder.create(model, options);
    sharedCross.set(key, c);
    c.catch(() => sharedCross.delete(key));
  }
  return c;
}

export async function closeRerankers(): Promise<void> {
  const all = [...shared.values()];
  const cross = [...sharedCross.values()];
  shared.clear();
  sharedCross.clear();
  await Promise.all([...all.map(async (r) => (await r.catch(() => null))?.close()), ...cross.map(async (c) => (await c.catch(() => null))?.close())]);
}
