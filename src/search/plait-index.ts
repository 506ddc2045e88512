/**
 * `openIndex(path)` → PlaitIndex: search (late interaction via PLAID or exhaustive, BM25, hybrid),
 * searchBatch, and rerank of stored documents without re-encoding.
 */
import { PlaitError, invalidArgument } from '../errors/index.js';
import { SEARCH_DEFAULTS, plaidDefaultsFor, type PlaidParams } from '../config/defaults.js';
import { loadIndexData, type IndexData } from '../format/index-reader.js';
import { resolveIndexPath } from '../format/index-path.js';
import { INDEX_FILES, type IndexManifest } from '../format/manifest.js';
import { calibratedPlaidParams } from '../format/calibration-record.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder, EncoderOptions, ModelInfo, TokenEmbeddings } from '../encoder/types.js';
import { DocStoreReader } from '../docstore/index.js';
import { join } from 'node:path';
import { plaidSearch, exactScores, exhaustiveRange, type EncodedQuery, type ScoringArrays, type PlaidTimings } from './plaid.js';
import { fuseMinMax, fuseRrf, type ScoredDoc } from './fusion.js';
import { idfWeights } from './idf.js';
import { SearchPool } from './search-pool.js';
import type { PassageHits } from './plaid.js';

interface Precomputed {
  hits: PassageHits;
  timings: PlaidTimings | null;
  ms: number;
}

/** How many documents each ranker contributes to hybrid fusion. */
function hybridDepth(topK: number): number {
  return Math.max(SEARCH_DEFAULTS.hybridDepth, 4 * topK);
}

function requestSignal(o: SearchOptions): AbortSignal | undefined {
  if (o.timeoutMs === undefined) return o.signal;
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) throw invalidArgument('timeoutMs', 'a positive number', o.timeoutMs);
  const t = AbortSignal.timeout(o.timeoutMs);
  return o.signal === undefined ? t : AbortSignal.any([o.signal, t]);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted !== true) return;
  const reason = signal.reason as { name?: string } | undefined;
  if (reason?.name === 'TimeoutError') throw new PlaitError('TIMEOUT', { message: 'search timed out' });
  throw new PlaitError('ABORTED', { message: 'search aborted' });
}

export type SearchMode = 'late' | 'bm25' | 'hybrid';

export interface SearchOptions {
  topK?: number;
  /** Default: the model profile's (hybrid for the bundled model, late for ColBERT checkpoints). */
  mode?: SearchMode;
  /** Score every passage exactly (the oracle for PLAID). */
  exhaustive?: boolean;
  nIvfProbe?: number;
  centroidScoreThreshold?: number;
  ndocs?: number;
  /** plait's relative pruning margin (see PlaidParams.centroidScoreMargin); default: the index's calibration, else none. */
  centroidScoreMargin?: number;
  /** Query-token IDF weights (default: the model profile). */
  idfWeighting?: boolean;
  fusion?: 'minmax' | 'rrf';
  /** Late-interaction weight in min-max fusion. */
  alpha?: number;
  rrfK?: number;
  /** Attach title, text and metadata to each hit. */
  includeText?: boolean;
  /** Cancels the search (rejects with ABORTED). */
  signal?: AbortSignal;
  /** Deadline for the whole call (rejects with TIMEOUT). */
  timeoutMs?: number;
}

export interface SearchHit {
  docId: string;
  /** The best-scoring passage of the document (-1 for a BM25-only hit). */
  pid: number;
  score: number;
  rank: number;
  title?: string;
  text?: string;
  metadata?: Record<string, unknown> | null;
}

export interface SearchTimings extends Partial<PlaidTimings> {
  encodeMs: number;
  lateMs: number;
  bm25Ms: number;
  fusionMs: number;
  totalMs: number;
}

export interface SearchResult {
  hits: SearchHit[];
  timings: SearchTimings;
}

export interface OpenIndexOptions {
  /** Model to encode queries with; default: the model recorded in the index. Must match it. */
  model?: string;
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  kernels?: Kernels;
  /**
   * Scoring worker threads (0: score on the calling thread). With workers, the queries of a batch
   * are scored in parallel and exhaustive search splits its passages across them.
   */
  workers?: number;
}

interface ResolvedSearch {
  topK: number;
  mode: SearchMode;
  exhaustive: boolean;
  plaid: PlaidParams;
  idf: boolean;
  fusion: 'minmax' | 'rrf';
  alpha: number;
  rrfK: number;
  includeText: boolean;
}

const MODEL_KEYS = ['family', 'dim', 'queryMaxlen', 'queryMarker', 'documentMarker', 'attendToMaskTokens', 'vocabSize'] as const;

/** Refuses an encoder whose model differs from the one that built the index. */
export function checkModel(index: ModelInfo, model: ModelInfo): void {
  const diffs = MODEL_KEYS.filter((k) => index[k] !== model[k]).map((k) => `${k}: index ${String(index[k])}, model ${String(model[k])}`);
  if (index.name !== model.name && index.family !== model.family) diffs.unshift(`name: index ${index.name}, model ${model.name}`);
  if (diffs.length > 0) {
    throw new PlaitError('MODEL_MISMATCH', { message: `the index was built with ${index.name}, not ${model.name} (${diffs.join('; ')})`, index: index.name, model: model.name });
  }
}

export async function openIndex(nameOrPath: string, options: OpenIndexOptions = {}): Promise<PlaitIndex> {
  const path = resolveIndexPath(nameOrPath);
  const kernels = options.kernels ?? getKernels();
  const data = loadIndexData(path, kernels);
  const docstore = DocStoreReader.open(join(path, INDEX_FILES.docstore));
  if (options.encoder !== undefined) checkModel(data.manifest.model, options.encoder.info);
  return new PlaitIndex(data, docstore, kernels, options);
}

export class PlaitIndex {
  readonly path: string;
  readonly manifest: IndexManifest;
  private encoderPromise: Promise<Encoder> | null = null;
  private readonly ownsEncoder: boolean;
  private readonly arrays: ScoringArrays;
  private readonly mark: Uint8Array;
  private readonly pidToDoc: Int32Array;
  private df: { n: number; df: Int32Array } | null = null;
  private closed = false;
  private readonly pool: SearchPool | null;
  private firstPid: Int32Array | null = null;

  constructor(
    data: IndexData,
    readonly docstore: DocStoreReader,
    private readonly kernels: Kernels,
    private readonly options: OpenIndexOptions,
  ) {
    this.path = data.path;
    this.manifest = data.manifest;
    this.ownsEncoder = options.encoder === undefined;
    if (options.encoder !== undefined) this.encoderPromise = Promise.resolve(options.encoder);
    this.arrays = {
      dim: data.manifest.dim,
      nbits: data.manifest.nbits,
      nCentroids: data.codec.nCentroids,
      centroids: data.centroids,
      weights: data.codec.weights,
      doclens: data.doclens,
      tokenStarts: data.tokenStarts,
      codes: data.codes,
      residuals: data.residuals,
      ivf: data.ivf,
      ivfOffsets: data.ivfOffsets,
    };
    this.mark = new Uint8Array(data.doclens.length);
    this.pidToDoc = docstore.pidToDoc;
    const workers = options.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) throw invalidArgument('workers', 'a non-negative integer', workers);
    this.pool = workers > 0 ? new SearchPool(this.arrays, workers) : null;
  }

  get info(): IndexManifest {
    return this.manifest;
  }

  /** The shared arrays (for worker pools and benchmarks). */
  get scoringArrays(): ScoringArrays {
    return this.arrays;
  }

  /** The query encoder, created on first use from the model recorded in the index (or the one given). */
  encoder(): Promise<Encoder> {
    if (this.encoderPromise !== null) return this.encoderPromise;
    const spec = this.options.model !== undefined ? resolveModelSpec(this.options.model, {}) : Promise.resolve(this.manifest.modelSpec);
    const created = spec
      .then((spec) => createEncoder(spec, this.options.encoderOptions ?? { threads: 1 }))
      .then((enc) => {
        checkModel(this.manifest.model, enc.info);
        return enc;
      });
    this.encoderPromise = created;
    created.catch(() => {
      this.encoderPromise = null;
    });
    return created;
  }

  resolveSearch(options: SearchOptions = {}): ResolvedSearch {
    const topK = options.topK ?? SEARCH_DEFAULTS.topK;
    if (!Number.isInteger(topK) || topK < 1 || topK > SEARCH_DEFAULTS.maxTopK) throw invalidArgument('topK', `an integer in [1, ${SEARCH_DEFAULTS.maxTopK}]`, topK);
    const mode = options.mode ?? this.manifest.model.defaultMode;
    if (!['late', 'bm25', 'hybrid'].includes(mode)) throw invalidArgument('mode', '"late", "bm25" or "hybrid"', mode);
    const d = calibratedPlaidParams(this.manifest.calibration, topK) ?? plaidDefaultsFor(topK);
    const plaid: PlaidParams = {
      nIvfProbe: options.nIvfProbe ?? d.nIvfProbe,
      centroidScoreThreshold: options.centroidScoreThreshold ?? d.centroidScoreThreshold,
      ndocs: options.ndocs ?? d.ndocs,
    };
    const margin = options.centroidScoreMargin ?? d.centroidScoreMargin;
    if (margin !== undefined) plaid.centroidScoreMargin = margin;
    if (margin !== undefined && !(typeof margin === 'number' && margin >= 0)) throw invalidArgument('centroidScoreMargin', 'a number >= 0', margin);
    if (!Number.isInteger(plaid.nIvfProbe) || plaid.nIvfProbe < 1) throw invalidArgument('nIvfProbe', 'a positive integer', plaid.nIvfProbe);
    if (!Number.isInteger(plaid.ndocs) || plaid.ndocs < 1) throw invalidArgument('ndocs', 'a positive integer', plaid.ndocs);
    if (typeof plaid.centroidScoreThreshold !== 'number' || Number.isNaN(plaid.centroidScoreThreshold)) {
      throw invalidArgument('centroidScoreThreshold', 'a number', plaid.centroidScoreThreshold);
    }
    const alpha = options.alpha ?? SEARCH_DEFAULTS.hybridAlpha;
    if (!(alpha >= 0 && alpha <= 1)) throw invalidArgument('alpha', 'a number in [0, 1]', alpha);
    const fusion = options.fusion ?? 'minmax';
    if (fusion !== 'minmax' && fusion !== 'rrf') throw invalidArgument('fusion', '"minmax" or "rrf"', fusion);
    return {
      topK,
      mode,
      exhaustive: options.exhaustive ?? false,
      plaid,
      idf: options.idfWeighting ?? this.manifest.model.idfWeighting,
      fusion,
      alpha,
      rrfK: options.rrfK ?? SEARCH_DEFAULTS.rrfK,
      includeText: options.includeText ?? false,
    };
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: string[], options: SearchOptions = {}): Promise<SearchResult[]> {
    this.checkOpen();
    if (!Array.isArray(queries)) throw invalidArgument('queries', 'an array of strings', queries);
    if (queries.length > SEARCH_DEFAULTS.maxBatchQueries) {
      throw new PlaitError('QUERY_TOO_LARGE', { message: `${queries.length} queries in one batch; the limit is ${SEARCH_DEFAULTS.maxBatchQueries}` });
    }
    const r = this.resolveSearch(options);
    const signal = requestSignal(options);
    let embeddings: TokenEmbeddings[] = [];
    let encodeMs = 0;
    if (r.mode !== 'bm25') {
      const t = performance.now();
      embeddings = await (await this.encoder()).encodeQueries(queries);
      encodeMs = (performance.now() - t) / Math.max(1, queries.length);
    }
    return this.searchResolvedBatch(queries, embeddings, r, signal, encodeMs);
  }

  /**
   * Batch search with already-encoded queries (evaluation and benchmarks measure search without
   * encoding this way); uses the worker pool when the index has one.
   */
  async searchEncodedBatch(queries: string[], embeddings: TokenEmbeddings[], options: SearchOptions = {}): Promise<SearchResult[]> {
    this.checkOpen();
    const r = this.resolveSearch(options);
    if (r.mode !== 'bm25' && embeddings.length !== queries.length) throw invalidArgument('embeddings', `one per query (${queries.length})`, embeddings);
    return this.searchResolvedBatch(queries, embeddings, r, requestSignal(options), 0);
  }

  private async searchResolvedBatch(queries: string[], embeddings: TokenEmbeddings[], r: ResolvedSearch, signal: AbortSignal | undefined, encodeMs: number): Promise<SearchResult[]> {
    throwIfAborted(signal);
    const pre = await this.scoreOnPool(embeddings, r, signal);
    return queries.map((q, i) => {
      throwIfAborted(signal);
      const result = this.searchResolved(q, embeddings[i] ?? null, r, pre?.[i]);
      result.timings.encodeMs = encodeMs;
      result.timings.totalMs += encodeMs;
      return result;
    });
  }

  /** Late-interaction passage scores of every query on the worker pool (null without a pool). */
  private async scoreOnPool(embeddings: TokenEmbeddings[], r: ResolvedSearch, signal: AbortSignal | undefined): Promise<Precomputed[] | null> {
    if (this.pool === null || r.mode === 'bm25' || embeddings.length === 0) return null;
    const pool = this.pool;
    return Promise.all(
      embeddings.map(async (e): Promise<Precomputed> => {
        const q = this.encodedQuery(e, r.idf);
        const t = performance.now();
        if (r.exhaustive) return { hits: await pool.exhaustive(q, signal), timings: null, ms: performance.now() - t };
        const res = await pool.plaid(q, r.plaid, signal);
        return { hits: res.hits, timings: res.timings, ms: performance.now() - t };
      }),
    );
  }

  /** Search with an already-encoded query (benchmarks measure search without encoding this way). */
  searchEncoded(query: string, embedding: TokenEmbeddings | null, options: SearchOptions = {}): SearchResult {
    this.checkOpen();
    throwIfAborted(options.signal);
    return this.searchResolved(query, embedding, this.resolveSearch(options));
  }

  private encodedQuery(e: TokenEmbeddings, idf: boolean): EncodedQuery {
    if (e.vectors.length !== e.length * this.arrays.dim) {
      throw new PlaitError('DIMENSION_MISMATCH', { expected: this.arrays.dim, received: e.length === 0 ? 0 : e.vectors.length / e.length });
    }
    let weights: Float32Array | null = null;
    if (idf) {
      this.df ??= this.docstore.tokenDf();
      weights = idfWeights(e.tokenIds, this.df.df, this.df.n);
    }
    return { vectors: e.vectors, length: e.length, weights };
  }

  private searchResolved(query: string, embedding: TokenEmbeddings | null, r: ResolvedSearch, pre?: Precomputed): SearchResult {
    const t0 = performance.now();
    const timings: SearchTimings = { encodeMs: 0, lateMs: 0, bm25Ms: 0, fusionMs: 0, totalMs: 0 };
    const nDocs = this.manifest.counts.documents;
    const depth = r.mode === 'hybrid' ? hybridDepth(r.topK) : r.topK;
    let late: ScoredDoc[] = [];
    let pidOf = new Map<number, number>();
    let q: EncodedQuery | null = null;
    if (r.mode !== 'bm25') {
      if (embedding === null) throw new PlaitError('INVALID_ARGUMENT', { message: 'late-interaction search needs an encoded query' });
      q = this.encodedQuery(embedding, r.idf);
      const t = performance.now();
      // Hybrid fusion takes whatever PLAID's survivors hold (up to `depth` documents) and needs
      // only topK of them to be sure of a full page; documents that only BM25 finds get exact late
      // scores below, so a shallower late list costs no fused quality.
      const res = this.lateDocs(q, depth, r, timings, pre, r.topK);
      late = res.docs;
      pidOf = res.pidOf;
      timings.lateMs = performance.now() - t + (pre?.ms ?? 0);
    }
    let ranked: ScoredDoc[] = late;
    if (r.mode !== 'late') {
      const t = performance.now();
      const bm = this.docstore.bm25(query, depth).map((h) => ({ key: h.docRowid, score: h.score }));
      timings.bm25Ms = performance.now() - t;
      if (r.mode === 'bm25') ranked = bm;
      else {
        const tf = performance.now();
        // Documents that only BM25 found get their exact late-interaction score too.
        const have = new Set(late.map((d) => d.key));
        const missing = bm.filter((d) => !have.has(d.key)).map((d) => d.key);
        if (missing.length > 0 && q !== null) {
          for (const d of this.scoreDocRowids(q, missing, pidOf)) late.push(d);
        }
        const fused = r.fusion === 'rrf' ? fuseRrf(late.sort((a, b) => b.score - a.score || a.key - b.key), bm, r.rrfK) : fuseMinMax(late, bm, r.alpha);
        ranked = fused.map((f) => ({ key: f.key, score: f.score }));
        timings.fusionMs = performance.now() - tf;
      }
    }
    const top = ranked.slice(0, Math.min(r.topK, nDocs));
    const hits = this.toHits(top, pidOf, r.includeText);
    timings.totalMs = performance.now() - t0;
    return { hits, timings };
  }

  /** Late-interaction document ranking: PLAID (or exhaustive) over passages, collapsed per document by max. */
  private lateDocs(q: EncodedQuery, k: number, r: ResolvedSearch, timings: SearchTimings, pre?: Precomputed, minDocs = k): { docs: ScoredDoc[]; pidOf: Map<number, number> } {
    const nPassages = this.arrays.doclens.length;
    const nDocs = this.manifest.counts.documents;
    const want = Math.min(minDocs, nDocs);
    let params = r.plaid;
    for (let attempt = 0; ; attempt++) {
      let pids: Int32Array;
      let scores: Float32Array;
      if (attempt === 0 && pre !== undefined) {
        pids = pre.hits.pids;
        scores = pre.hits.scores;
        if (pre.timings !== null) Object.assign(timings, pre.timings);
      } else if (r.exhaustive || attempt >= 3) {
        scores = exhaustiveRange(this.arrays, q, 0, nPassages, this.kernels);
        pids = Int32Array.from({ length: nPassages }, (_, i) => i);
      } else {
        const res = plaidSearch(this.arrays, q, params, this.kernels, this.mark);
        pids = res.hits.pids;
        scores = res.hits.scores;
        Object.assign(timings, res.timings);
      }
      const { docs, pidOf } = this.collapse(pids, scores);
      if (docs.length >= want || r.exhaustive || attempt >= 3) return { docs: docs.slice(0, k), pidOf };
      // Too few distinct documents: widen the probe and the candidate pool, as a user would.
      params = { nIvfProbe: params.nIvfProbe * 4, centroidScoreThreshold: -Infinity, ndocs: params.ndocs * 4 };
    }
  }

  private collapse(pids: Int32Array, scores: Float32Array): { docs: ScoredDoc[]; pidOf: Map<number, number> } {
    const best = new Map<number, number>();
    const pidOf = new Map<number, number>();
    for (let i = 0; i < pids.length; i++) {
      const doc = this.pidToDoc[pids[i]!]!;
      const s = scores[i]!;
      const cur = best.get(doc);
      if (cur === undefined || s > cur || (s === cur && pids[i]! < pidOf.get(doc)!)) {
        best.set(doc, s);
        pidOf.set(doc, pids[i]!);
      }
    }
    const docs = [...best].map(([key, score]) => ({ key, score })).sort((a, b) => b.score - a.score || a.key - b.key);
    return { docs, pidOf };
  }

  /** Exact late-interaction scores of whole documents (max over their passages). */
  private scoreDocRowids(q: EncodedQuery, docRowids: number[], pidOf: Map<number, number>): ScoredDoc[] {
    const pidList: number[] = [];
    // A document's passages have consecutive pids (they are written document by document).
    const first = this.docFirstPid();
    for (const d of docRowids) for (let pid = first[d]!; pid < first[d + 1]!; pid++) pidList.push(pid);
    const pids = Int32Array.from(pidList);
    const scores = exactScores(this.arrays, q, pids, this.kernels);
    const { docs, pidOf: own } = this.collapse(pids, scores);
    for (const [k, v] of own) pidOf.set(k, v);
    return docs;
  }

  /** docFirstPid[d]..docFirstPid[d + 1] are document d's pids; derived once from pidToDoc. */
  private docFirstPid(): Int32Array {
    if (this.firstPid === null) {
      const nDocs = this.manifest.counts.documents;
      const first = new Int32Array(nDocs + 1).fill(-1);
      for (let pid = this.pidToDoc.length - 1; pid >= 0; pid--) first[this.pidToDoc[pid]!] = pid;
      first[nDocs] = this.pidToDoc.length;
      for (let d = nDocs - 1; d >= 0; d--) if (first[d] === -1) first[d] = first[d + 1]!;
      this.firstPid = first;
    }
    return this.firstPid;
  }

  /**
   * Scores stored documents against a query without re-encoding them (a mid-tier reranker over an
   * index): highest first; unknown ids are refused.
   */
  async rerank(query: string, docIds: string[], options: Pick<SearchOptions, 'topK' | 'idfWeighting' | 'includeText'> = {}): Promise<SearchHit[]> {
    this.checkOpen();
    if (!Array.isArray(docIds)) throw invalidArgument('docIds', 'an array of document ids', docIds);
    const rowids = docIds.map((id) => {
      const r = this.docstore.docIdToRowid(id);
      if (r === null) throw new PlaitError('INVALID_INPUT', { message: `unknown document id "${id}"`, docId: id });
      return r;
    });
    const [e] = await (await this.encoder()).encodeQueries([query]);
    const q = this.encodedQuery(e!, options.idfWeighting ?? this.manifest.model.idfWeighting);
    const pidOf = new Map<number, number>();
    const docs = this.scoreDocRowids(q, [...new Set(rowids)], pidOf).sort((a, b) => b.score - a.score || a.key - b.key);
    return this.toHits(docs.slice(0, options.topK ?? docs.length), pidOf, options.includeText ?? false);
  }

  private toHits(docs: ScoredDoc[], pidOf: Map<number, number>, includeText: boolean): SearchHit[] {
    const stored = this.docstore.getDocuments(docs.map((d) => d.key));
    return docs.map((d, i) => {
      const doc = stored[i];
      if (doc === null || doc === undefined) throw new PlaitError('INDEX_CORRUPT', { message: `document ${d.key} is missing from the document store` });
      const hit: SearchHit = { docId: doc.docId, pid: pidOf.get(d.key) ?? -1, score: d.score, rank: i + 1 };
      if (includeText) {
        hit.title = doc.title;
        hit.text = doc.text;
        hit.metadata = doc.metadata ?? null;
      }
      return hit;
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new PlaitError('INVALID_ARGUMENT', { message: 'the index is closed' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.docstore.close();
    await this.pool?.close();
    if (this.ownsEncoder && this.encoderPromise !== null) await (await this.encoderPromise.catch(() => null))?.close();
  }
}
