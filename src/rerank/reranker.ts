/**
 * The mid-tier reranker: given a query and a shortlist (from BM25 or a bi-encoder), encode the
 * documents on the fly and order them by exact MaxSim. Document embeddings are cached by content
 * (SHA-1 of the text) in an LRU, so a document seen again costs no encoding.
 */
import { createHash } from 'node:crypto';
import { RERANK_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument, describe } from '../errors/index.js';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder, EncoderOptions, TokenEmbeddings } from '../encoder/types.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { LruCache } from './lru-cache.js';

export type RerankDocument = string | { id?: string; text: string };

export interface RerankResult {
  /** Position of the document in the input array. */
  index: number;
  id?: string;
  score: number;
}

export interface RerankerOptions {
  /** Model: undefined → the bundled model; a local ColBERT ONNX folder; or a hub repo id. */
  model?: string;
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  /** Cached document embeddings (by content). */
  cacheEntries?: number;
  kernels?: Kernels;
}

export interface RerankOptions {
  topK?: number;
  /** Cancels the call between its stages (query encoding, document encoding, scoring); rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class Reranker {
  private readonly cache: LruCache<string, TokenEmbeddings>;

  private constructor(
    readonly encoder: Encoder,
    private readonly ownsEncoder: boolean,
    private readonly kernels: Kernels,
    cacheEntries: number,
  ) {
    this.cache = new LruCache(cacheEntries);
  }

  static async create(options: RerankerOptions = {}): Promise<Reranker> {
    const cacheEntries = options.cacheEntries ?? RERANK_DEFAULTS.cacheEntries;
    if (!Number.isInteger(cacheEntries) || cacheEntries < 0) throw invalidArgument('cacheEntries', 'a non-negative integer', cacheEntries);
    const encoder = options.encoder ?? (await createEncoder(await resolveModelSpec(options.model, {}), options.encoderOptions ?? {}));
    return new Reranker(encoder, options.encoder === undefined, options.kernels ?? getKernels(), cacheEntries);
  }

  get cachedDocuments(): number {
    return this.cache.size;
  }

  async rerank(query: string, documents: readonly RerankDocument[], options: RerankOptions = {}): Promise<RerankResult[]> {
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of strings or { id, text } objects', documents);
    const texts = documents.map((d, i) => {
      if (typeof d === 'string') return d;
      if (d !== null && typeof d === 'object' && typeof d.text === 'string') return d.text;
      throw new PlaitError('INVALID_INPUT', { message: `document ${i} must be a string or { id, text } but received ${describe(d)}`, index: i });
    });
    const topK = options.topK ?? documents.length;
    if (!Number.isInteger(topK) || topK < 0) throw invalidArgument('topK', 'a non-negative integer', topK);
    if (documents.length === 0) return [];
    options.signal?.throwIfAborted();
    const [q] = await this.encoder.encodeQueries([query]);
    options.signal?.throwIfAborted();
    const embeddings = await this.embed(texts);
    options.signal?.throwIfAborted();
    const dim = this.encoder.info.dim;
    let rows = 0;
    for (const e of embeddings) rows += e.length;
    const docs = new Float32Array(rows * dim);
    const starts = new Int32Array(embeddings.length);
    const lens = new Int32Array(embeddings.length);
    let r = 0;
    embeddings.forEach((e, i) => {
      docs.set(e.vectors.subarray(0, e.length * dim), r * dim);
      starts[i] = r;
      lens[i] = e.length;
      r += e.length;
    });
    const scores = new Float32Array(embeddings.length);
    this.kernels.maxsim(q!.vectors, q!.length, dim, docs, starts, lens, embeddings.length, scores);
    const order = this.kernels.topK(scores, scores.length, Math.min(topK, scores.length));
    return Array.from(order, (i) => {
      const d = documents[i]!;
      const out: RerankResult = { index: i, score: scores[i]! };
      if (typeof d !== 'string' && d.id !== undefined) out.id = d.id;
      return out;
    });
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
