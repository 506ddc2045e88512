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
 */
import { createHash } from 'node:crypto';
import { BUILD_DEFAULTS, RERANK_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument, describe } from '../errors/index.js';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder, EncoderOptions, TokenEmbeddings } from '../encoder/types.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { splitIntoPassages } from '../indexer/split-passages.js';
import { LruCache } from './lru-cache.js';

export type RerankDocument = string | { id?: string; text: string };

export interface RerankResult {
  /** Position of the document in the input array. */
  index: number;
  id?: string;
  /** MaxSim of the document's best passage (Σ over query tokens; -9999 per query token for an empty document). */
  score: number;
}

export interface RerankerOptions {
  /** Model: undefined → the bundled model; a local ColBERT ONNX folder; or a hub repo id. */
  model?: string;
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  /** Bytes of cached passage embeddings (default RERANK_DEFAULTS.cacheBytes, 64 MiB); 0 disables the cache. */
  cacheBytes?: number;
  /** Optional cap on the number of cached passages (default: none, the byte budget decides). */
  cacheEntries?: number;
  kernels?: Kernels;
}

export interface RerankOptions {
  /** Results to return, a non-negative integer (default: all documents). */
  topK?: number;
}

/** Bytes an entry holds: its vectors and token ids (the key and object overhead are small beside them). */
function entryBytes(e: TokenEmbeddings): number {
  return e.vectors.byteLength + e.tokenIds.byteLength;
}

export class Reranker {
  private readonly cache: LruCache<string, TokenEmbeddings>;
  private readonly window: number;
  private readonly stride: number;

  private constructor(
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

  /** @throws PlaitError INVALID_ARGUMENT for a bad cache size; the model's errors when it cannot load. */
  static async create(options: RerankerOptions = {}): Promise<Reranker> {
    const cacheBytes = options.cacheBytes ?? RERANK_DEFAULTS.cacheBytes;
    if (!Number.isInteger(cacheBytes) || cacheBytes < 0) throw invalidArgument('cacheBytes', 'a non-negative integer', cacheBytes);
    const cacheEntries = options.cacheEntries ?? Infinity;
    if (cacheEntries !== Infinity && (!Number.isInteger(cacheEntries) || cacheEntries < 0)) throw invalidArgument('cacheEntries', 'a non-negative integer', cacheEntries);
    const encoder = options.encoder ?? (await createEncoder(await resolveModelSpec(options.model, {}), options.encoderOptions ?? {}));
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
   * @throws PlaitError INVALID_ARGUMENT (documents, topK), INVALID_INPUT (a document of the wrong
   * shape), EMPTY_TEXT (a query with no content), QUERY_TOO_LARGE / TEXT_NOT_UTF8 (from the encoder).
   */
  async rerank(query: string, documents: readonly RerankDocument[], options: RerankOptions = {}): Promise<RerankResult[]> {
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of strings or { id, text } objects', documents);
    const texts = documents.map((d, i) => {
      if (typeof d === 'string') return d;
      if (d !== null && typeof d === 'object' && typeof d.text === 'string') return d.text;
      throw new PlaitError('INVALID_INPUT', { message: `document ${i} must be a string or { id, text } but received ${describe(d)}`, index: i });
    });
    const topK = options.topK ?? documents.length;
    if (!Number.isInteger(topK) || topK < 0) throw invalidArgument('topK', 'a non-negative integer', topK);
    if (typeof query !== 'string') throw invalidArgument('query', 'a string', query);
    if (!/[\p{L}\p{N}]/u.test(query)) throw new PlaitError('EMPTY_TEXT', { message: 'the query has no letter or digit to rank by' });
    if (documents.length === 0) return [];
    const [q] = await this.encoder.encodeQueries([query]);

    // Each document's passages (none for an empty document), then one MaxSim call over them all.
    const passageTexts: string[] = [];
    const passageDoc: number[] = [];
    texts.forEach((t, i) => {
      for (const p of this.passagesOf(t)) {
        passageTexts.push(p);
        passageDoc.push(i);
      }
    });
    const embeddings = await this.embed(passageTexts);
    const scores = this.documentScores(q!, embeddings, passageDoc, texts.length);
    const order = this.kernels.topK(scores, scores.length, Math.min(topK, scores.length));
    return Array.from(order, (i) => {
      const d = documents[i]!;
      const out: RerankResult = { index: i, score: scores[i]! };
      if (typeof d !== 'string' && d.id !== undefined) out.id = d.id;
      return out;
    });
  }

  /** The indexer's passages of one document; none when it is blank. */
  private passagesOf(text: string): string[] {
    if (text.trim().length === 0) return [];
    const tokens = this.encoder.tokenize(text);
    if (tokens.ids.length <= this.window) return [text];
    return splitIntoPassages(text, tokens, this.window, this.stride).map((p) => p.text);
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

  private async embed(texts: string[]): Promise<TokenEmbeddings[]> {
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
      const encoded = await this.encoder.encodeDocuments(unique.map((k) => texts[firstIndex.get(k)!]!));
      unique.forEach((k, j) => this.cache.set(k, encoded[j]!));
      const byKey = new Map(unique.map((k, j) => [k, encoded[j]!] as const));
      for (const i of missing) out[i] = byKey.get(keys[i]!);
    }
    return out as TokenEmbeddings[];
  }

  async close(): Promise<void> {
    if (this.ownsEncoder) await this.encoder.close();
  }
}

/**
 * One-call reranking: `rerank(query, documents, { model, topK })` → `[{ index, id?, score }]`,
 * highest first. Keeps one reranker per model alive for the process (so its cache pays off);
 * call `closeRerankers()` before exit if you want its worker threads gone sooner.
 */
const shared = new Map<string, Promise<Reranker>>();

export async function rerank(query: string, documents: readonly RerankDocument[], options: RerankOptions & { model?: string } = {}): Promise<RerankResult[]> {
  const key = options.model ?? '';
  let r = shared.get(key);
  if (r === undefined) {
    r = Reranker.create({ model: options.model, encoderOptions: { threads: 1 } });
    shared.set(key, r);
    r.catch(() => shared.delete(key));
  }
  return (await r).rerank(query, documents, options);
}

export async function closeRerankers(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map(async (r) => (await r.catch(() => null))?.close()));
}
