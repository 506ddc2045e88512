/**
 * `CrossEncoder`: scores (query, document) pairs with an ONNX cross-encoder (ms-marco MiniLM,
 * bge-reranker, ModernBERT rerankers…), the final, most precise and most expensive stage of a
 * ranking pipeline.
 *
 * - Pairs are tokenized on the calling thread (the `tokenizers` binding works off-thread), sorted
 *   by token count so a batch pads little, cut into batches of `batchSize`, and run on piscina
 *   worker threads; scores come back in input order. Sorting and batching do not change a score
 *   (test/cross-encoder.test.ts checks this against single-pair runs and a float64 forward pass).
 * - A document longer than the model's window is cut to fit (only the document; the query and the
 *   separators stay): its first maxLength − query − specials tokens are scored. In a pipeline over
 *   an index, the cross stage passes each document's best late-interaction passage instead (or its
 *   first passage for a BM25-only hit), see src/pipeline/stages.ts.
 * - Scores: a [B, 1] head gives the logit (sigmoid on request); a [B, n] head gives the softmax
 *   probability of the relevant class (config.json id2label; class 1 by convention).
 */
import { CROSS_ENCODER_DEFAULTS, ENCODER_DEFAULTS, THREAD_LIMITS } from '../../config/defaults.js';
import { PlaitError, abortedBy, checkSignal, describe, invalidArgument, workerCodedError } from '../../errors/index.js';
import type { RerankDocument, RerankResult } from '../reranker.js';
import { relevantClass, type CrossEncoderFiles, type CrossEncoderVariant } from './cross-encoder-files.js';
import { CrossEncoderSession, type CrossForward, type CrossSessionSpec } from './cross-encoder-session.js';
import type { CrossTask } from './cross-encoder-worker.js';
import type { EncodeFailure as WorkerFailure } from '../../encoder/encode-worker.js';
import { PairTokenizer, type PairBatch, type PairEncoding } from './pair-tokenizer.js';
import { RESOLVE_CROSS_ENCODER_OPTION_KEYS, resolveCrossEncoder, type ResolveCrossEncoderOptions } from './resolve-cross-encoder.js';
import { closeOnnxPool, onnxPool } from '../../util/onnx-pool.js';
import { cacheDamageError, pulledFolder, withCacheRepair, withRunRepair } from '../../encoder/hub/cache-repair.js';
import { checkOptionKeys, pickOptions, type OptionKeys } from '../../util/option-keys.js';

export interface CrossEncoderOptions extends ResolveCrossEncoderOptions {
  /** Worker threads running the model; 0 runs it on the calling thread (tests). Default CROSS_ENCODER_DEFAULTS.threads. */
  threads?: number;
  /** Pairs per ONNX run. Default CROSS_ENCODER_DEFAULTS.batchSize. */
  batchSize?: number;
  /** onnxruntime intra-op threads per worker. Default 1 (parallelism comes from the workers). */
  intraOpNumThreads?: number;
  /** [B, 1] heads: report sigmoid(logit) in (0, 1) instead of the raw logit. Default false. */
  sigmoid?: boolean;
  /** [B, n] heads: the relevant class, by index or id2label name (default: see relevantClass). */
  relevantLabel?: string | number;
}

/** Where a scoring call spent its time. */
export interface CrossScoreStats {
  pairs: number;
  batches: number;
  /** Real tokens and tokens after padding, over all batches. */
  tokens: number;
  paddedTokens: number;
  tokenizeMs: number;
  /** Sum over batches of the time inside onnxruntime's run (batches may overlap on several threads). */
  forwardMs: number;
  totalMs: number;
}

export interface CrossScoreOptions {
  /** Stops dispatching batches (running ones finish); rejects with ABORTED. */
  signal?: AbortSignal;
}

/** CrossEncoderOptions' keys (util/option-keys.ts): `CrossEncoder.create(m, { maxlength: 128 })` had kept the model's length without a word. */
const CROSS_ENCODER_OPTION_KEYS = {
  ...RESOLVE_CROSS_ENCODER_OPTION_KEYS,
  threads: true, batchSize: true, intraOpNumThreads: true, sigmoid: true, relevantLabel: true,
} as const satisfies OptionKeys<CrossEncoderOptions>;
const CROSS_SCORE_OPTION_KEYS = { signal: true } as const satisfies OptionKeys<CrossScoreOptions>;

/** CrossEncoder.rerank's options: Reranker.rerank's that a cross-encoder honours. */
export interface CrossRerankOptions {
  /** Results to return, a non-negative integer (default: all documents). */
  topK?: number;
  signal?: AbortSignal;
}
const CROSS_RERANK_OPTION_KEYS = { topK: true, signal: true } as const satisfies OptionKeys<CrossRerankOptions>;

/** What a pipeline needs from a cross-encoder; `CrossEncoder` is one, tests wrap one to inject faults. */
export interface CrossScorer {
  readonly name: string;
  /** Longest pair in tokens that the model scores (longer pairs are cut); absent: unknown. A server's admission caps a pair's estimated cost at it. */
  readonly maxLength?: number;
  score(query: string, documents: readonly string[], options?: CrossScoreOptions): Promise<Float32Array>;
}

interface Runner {
  run(batch: PairBatch): Promise<CrossForward>;
  close(): Promise<void>;
}

function workerError(cause: unknown): PlaitError {
  if (cause instanceof PlaitError) return cause;
  const err = cause as { code?: string; message?: string; name?: string };
  if (err.name === 'AbortError') return new PlaitError('ABORTED', { message: 'cross-encoder scoring aborted' }, { cause });
  // Errors thrown in a worker arrive as plain Errors; keep their code when it is one of ours.
  if (typeof err.code === 'string' && err.code.length > 0 && typeof err.message === 'string') return workerCodedError(err.code, err.message, cause);
  return new PlaitError('WORKER_FAILED', { message: String(err.message ?? cause) }, { cause });
}

/** ABORTED, TIMEOUT for `AbortSignal.timeout()`, or the signal's PlaitError reason (abortedBy), as a bi-encoder rerank rejects. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortedBy(signal, 'cross-encoder scoring aborted');
}

export class CrossEncoder implements CrossScorer {
  readonly name: string;
  private closed = false;
  private relevant: number | null = null;

  private constructor(
    readonly files: CrossEncoderFiles,
    readonly variant: CrossEncoderVariant,
    private readonly tokenizer: PairTokenizer,
    private readonly runner: Runner,
    private readonly batchSize: number,
    /** Batches in flight at once: one per worker thread. */
    private readonly lanes: number,
    private readonly options: CrossEncoderOptions,
  ) {
    this.name = files.name;
  }

  /**
   * Opens a cross-encoder: `model` is a folder or a hub repo id ("org/name[@revision]").
   * @throws PlaitError INVALID_ARGUMENT (an unknown option key, threads, batchSize, intraOpNumThreads), and the model's errors;
   *   DOWNLOAD_CORRUPT (details.repairWith) for a pulled model whose files' sizes are no longer those pulled.
   */
  static async create(model: string, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
    checkOptionKeys(options, CROSS_ENCODER_OPTION_KEYS, 'CrossEncoder option');
    const threads = options.threads ?? CROSS_ENCODER_DEFAULTS.threads;
    const batchSize = options.batchSize ?? CROSS_ENCODER_DEFAULTS.batchSize;
    const intraOpNumThreads = options.intraOpNumThreads ?? ENCODER_DEFAULTS.intraOpNumThreads;
    if (!Number.isInteger(threads) || threads < 0 || threads > THREAD_LIMITS.maxThreads) throw invalidArgument('threads', `an integer in [0, ${THREAD_LIMITS.maxThreads}]`, threads);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument('batchSize', 'a positive integer', batchSize);
    if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) throw invalidArgument('intraOpNumThreads', 'a positive integer', intraOpNumThreads);
    const files = await resolveCrossEncoder(model, pickOptions<ResolveCrossEncoderOptions>(options, RESOLVE_CROSS_ENCODER_OPTION_KEYS));
    // A damaged file of a pulled model that still loads would score with damaged weights: refused
    // with its repair, as createEncoder refuses one. By size only (a stat a file): an encoder compares
    // the hashes its fingerprint computed anyway, a cross-encoder has none, and a sha256 of the graph
    // at every start costs ~1 s for a BERT-base graph (bench/RESULTS.md, "Load-time checks").
    const damage = await cacheDamageError(files.dir, { sha256Of: () => undefined, skipConvertedGraph: true });
    if (damage !== null) throw damage;
    try {
      return await CrossEncoder.load(files, options, threads, batchSize, intraOpNumThreads);
    } catch (err) {
      // A damaged file of a pulled model is named with its repair (encoder/hub/cache-repair.ts), as for encoders.
      throw await withCacheRepair(err, files.dir);
    }
  }

  private static async load(files: CrossEncoderFiles, options: CrossEncoderOptions, threads: number, batchSize: number, intraOpNumThreads: number): Promise<CrossEncoder> {
    const tokenizer = PairTokenizer.load(files.tokenizerPath, files.maxLength, files.onnxPath, files.embeddingRows);
    const spec: CrossSessionSpec = { onnxPath: files.onnxPath, intraOpNumThreads };
    // A run that onnxruntime fails names the repair of a pulled model, as an encoder's does (cache-repair.ts withRunRepair).
    const pulled = pulledFolder(files.dir);
    const repairing = (run: Runner['run']): Runner['run'] => (batch) =>
      run(batch).catch(async (err: unknown) => {
        throw await withRunRepair(err, pulled);
      });
    let runner: Runner;
    if (threads === 0) {
      // Loaded now, so a broken graph fails here and not on the first query.
      const session = await CrossEncoderSession.load(spec);
      runner = { run: repairing((batch) => session.run(batch)), close: () => session.dispose() };
    } else {
      const pool = onnxPool(new URL('./cross-encoder-worker.js', import.meta.url).href, threads);
      runner = {
        run: repairing(async (batch) => {
          const task: CrossTask = { spec, batch };
          let out: CrossForward | WorkerFailure;
          try {
            out = (await pool.run(task)) as CrossForward | WorkerFailure;
          } catch (cause) {
            throw workerError(cause);
          }
          // The worker's PlaitError, code and details kept (they do not survive a thrown Error's trip).
          if ('failed' in out) throw Object.assign(new PlaitError(out.failed.code, out.failed.details ?? {}), { message: out.failed.message });
          return out;
        }),
        close: () => closeOnnxPool(pool),
      };
      // Load the graph on a worker now, so a broken graph fails here and not on the first query.
      const probe = tokenizer.batch(await tokenizer.encodePairs('a', ['a']));
      await runner.run(probe).catch(async (e: unknown) => {
        await closeOnnxPool(pool);
        throw e;
      });
    }
    return new CrossEncoder(files, options.variant ?? 'fp32', tokenizer, runner, batchSize, Math.max(1, threads), options);
  }

  /** Longest pair in tokens (specials included). */
  get maxLength(): number {
    return this.files.maxLength;
  }

  /** Relevance scores of (query, document) pairs, in document order (higher is more relevant). */
  async score(query: string, documents: readonly string[], options: CrossScoreOptions = {}): Promise<Float32Array> {
    return (await this.scoreWithStats(query, documents, options)).scores;
  }

  async scoreWithStats(query: string, documents: readonly string[], options: CrossScoreOptions = {}): Promise<{ scores: Float32Array; stats: CrossScoreStats }> {
    const t0 = performance.now();
    if (this.closed) throw new PlaitError('CLOSED', { message: 'the cross-encoder is closed (close() was called); create another with CrossEncoder.create()' });
    checkOptionKeys(options, CROSS_SCORE_OPTION_KEYS, 'score option');
    const signal = checkSignal('signal', options.signal);
    if (typeof query !== 'string' || query.trim().length === 0) throw new PlaitError('EMPTY_TEXT', { message: 'the query is empty' });
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of strings', documents);
    documents.forEach((d, i) => {
      if (typeof d !== 'string') throw new PlaitError('INVALID_INPUT', { message: `document ${i} must be a string but received ${describe(d)}`, index: i });
    });
    const stats: CrossScoreStats = { pairs: documents.length, batches: 0, tokens: 0, paddedTokens: 0, tokenizeMs: 0, forwardMs: 0, totalMs: 0 };
    const scores = new Float32Array(documents.length);
    if (documents.length === 0) return { scores, stats };
    throwIfAborted(signal);
    const encodings = await this.tokenizer.encodePairs(query, documents);
    stats.tokenizeMs = performance.now() - t0;
    const order = encodings.map((_, i) => i).sort((a, b) => encodings[a]!.length - encodings[b]!.length || a - b);
    const batches: number[][] = [];
    for (let i = 0; i < order.length; i += this.batchSize) batches.push(order.slice(i, i + this.batchSize));
    stats.batches = batches.length;
    // As many batches in flight as there are workers; the signal is checked before each dispatch.
    // A running batch is never cut short (piscina would terminate its worker, and the next call
    // would pay for reloading the model), so an abort costs at most one batch per worker.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batches.length) {
        throwIfAborted(signal);
        const rows = batches[next++]!;
        const picked: PairEncoding[] = rows.map((i) => encodings[i]!);
        const batch = this.tokenizer.batch(picked);
        for (const e of picked) stats.tokens += e.length;
        stats.paddedTokens += batch.batchSize * batch.seqLen;
        const out = await this.runner.run(batch);
        stats.forwardMs += out.forwardMs;
        this.toScores(out, rows, scores);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.lanes, batches.length) }, lane));
    throwIfAborted(signal);
    stats.totalMs = performance.now() - t0;
    return { scores, stats };
  }

  private toScores(out: CrossForward, rows: readonly number[], scores: Float32Array): void {
    const n = out.numLabels;
    if (n === 1) {
      const sigmoid = this.options.sigmoid === true;
      rows.forEach((i, b) => {
        const z = out.logits[b]!;
        scores[i] = sigmoid ? 1 / (1 + Math.exp(-z)) : z;
      });
      return;
    }
    this.relevant ??= relevantClass(this.files.labels, n, this.options.relevantLabel);
    const c = this.relevant;
    rows.forEach((i, b) => {
      let max = -Infinity;
      for (let k = 0; k < n; k++) max = Math.max(max, out.logits[b * n + k]!);
      let z = 0;
      for (let k = 0; k < n; k++) z += Math.exp(out.logits[b * n + k]! - max);
      scores[i] = Math.exp(out.logits[b * n + c]! - max) / z;
    });
  }

  /** `Reranker.rerank`'s contract with cross-encoder scores: `[{ index, id?, score }]`, highest first. */
  async rerank(query: string, documents: readonly RerankDocument[], options: CrossRerankOptions = {}): Promise<RerankResult[]> {
    checkOptionKeys(options, CROSS_RERANK_OPTION_KEYS, 'rerank option');
    if (!Array.isArray(documents)) throw invalidArgument('documents', 'an array of strings or { id, text } objects', documents);
    const texts = documents.map((d, i) => {
      if (typeof d === 'string') return d;
      if (d !== null && typeof d === 'object' && typeof d.text === 'string') return d.text;
      throw new PlaitError('INVALID_INPUT', { message: `document ${i} must be a string or { id, text } but received ${describe(d)}`, index: i });
    });
    const topK = options.topK ?? documents.length;
    if (!Number.isInteger(topK) || topK < 0) throw invalidArgument('topK', 'a non-negative integer', topK);
    const scores = await this.score(query, texts, options.signal === undefined ? {} : { signal: options.signal });
    const order = texts.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    return order.slice(0, topK).map((i) => {
      const d = documents[i]!;
      const out: RerankResult = { index: i, score: scores[i]! };
      if (typeof d !== 'string' && d.id !== undefined) out.id = d.id;
      return out;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runner.close();
  }
}
