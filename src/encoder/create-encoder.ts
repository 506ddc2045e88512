/**
 * `createEncoder(spec)`: the public encoder. Loads the family's tokenizer on the calling thread
 * (cheap; used for splitting and for ordering texts by length) and runs the model on piscina
 * worker threads, since onnxruntime's `run` and TF.js-wasm block the thread they run on.
 * Texts are sorted by token count before batching so that a batch pads little, then results are
 * put back in input order.
 */
import { plural } from '../util/plural.js';
import os from 'node:os';
import { ENCODER_DEFAULTS, THREAD_LIMITS } from '../config/defaults.js';
import { PlaitError, abortedBy, checkSignal, invalidArgument, workerCodedError, checkString, checkObject } from '../errors/index.js';
import { loadFamily } from './families.js';
import { unpackEmbeddings, type PackedEmbeddings } from './packing.js';
import type { EncodeFailure, EncodeTask } from './encode-worker.js';
import type {
  BackendOptions,
  EncodeOptions,
  Encoder,
  EncoderBackend,
  EncoderOptions,
  ModelInfo,
  ModelSpec,
  TextKind,
  TextTokenizer,
  RowToken,
  TokenEmbeddings,
  TokenizedText,
} from './types.js';
import { validateText } from './validate-text.js';
import { knownFileSha256, modelFingerprint } from './model-fingerprint.js';
import { cacheDamageError, pulledFolder, withCacheRepair, withRunRepair } from './hub/cache-repair.js';
import { relocateModelSpec } from './resolve-model.js';
import { closeOnnxPool, onnxPool } from '../util/onnx-pool.js';
import { checkOptionKeys } from '../util/option-keys.js';
import { ENCODE_OPTION_KEYS, ENCODER_OPTION_KEYS } from './types.js';

export interface ResolvedEncoderOptions {
  threads: number;
  batchSize: number;
  intraOpNumThreads: number;
}

/**
 * Fills in EncoderOptions. Workers: one per core, at most ENCODER_DEFAULTS.maxAutoThreads (0 =
 * in-process). onnxruntime intra-op threads per worker, when not given: ⌊cores / workers⌋ (at least
 * 1), so workers × threads fills the machine without oversubscribing it (4 workers × 4 threads on
 * 16 cores, 2 × 1 on 2); in-process, ENCODER_DEFAULTS.intraOpNumThreads. `cores` defaults to
 * os.availableParallelism(). Throws INVALID_ARGUMENT for a negative or fractional count, and for a
 * key EncoderOptions lacks (ENCODER_OPTION_KEYS).
 */
export function resolveEncoderOptions(options: EncoderOptions = {}, cores = os.availableParallelism()): ResolvedEncoderOptions {
  checkOptionKeys(options, ENCODER_OPTION_KEYS, 'encoder option');
  // Omitted: auto (one per core, capped); 0: in-process, as `threads: 0` means everywhere.
  const threads = options.threads ?? Math.min(cores, ENCODER_DEFAULTS.maxAutoThreads);
  const batchSize = options.batchSize ?? ENCODER_DEFAULTS.batchSize;
  const intraOpNumThreads = options.intraOpNumThreads ?? (threads > 0 && Number.isInteger(threads) ? Math.max(1, Math.floor(cores / threads)) : ENCODER_DEFAULTS.intraOpNumThreads);
  if (!Number.isInteger(threads) || threads < 0 || threads > THREAD_LIMITS.maxThreads) throw invalidArgument('threads', `an integer in [0, ${THREAD_LIMITS.maxThreads}]`, threads);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument('batchSize', 'a positive integer', batchSize);
  if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) {
    throw invalidArgument('intraOpNumThreads', 'a positive integer', intraOpNumThreads);
  }
  return { threads, batchSize, intraOpNumThreads };
}

/**
 * The encoder of `recorded` (see the module header).
 * @throws PlaitError INVALID_ARGUMENT (options), the resolver's errors (relocateModelSpec), and the
 *   loaders' MODEL_LOAD_FAILED / MODEL_FILE_MISSING; for a model pulled into the hub cache, a file that
 *   no longer matches what was pulled is named with the repair (details.repairWith, cache-repair.ts),
 *   and one that still loads is DOWNLOAD_CORRUPT rather than vectors from damaged weights
 */
export async function createEncoder(recorded: ModelSpec, options: EncoderOptions = {}): Promise<Encoder> {
  checkString('modelSpec.family', checkObject<Partial<ModelSpec>>('modelSpec', recorded, 'a model spec (from resolveModelSpec)').family, 'a model family');
  const resolved = resolveEncoderOptions(options);
  // A hub model whose recorded folder is gone (a moved cache, an index from another machine) is found again by its id.
  const spec = await relocateModelSpec(recorded);
  try {
    return await loadEncoder(spec, resolved);
  } catch (err) {
    throw await withCacheRepair(err, pulledDir(spec));
  }
}

/** The folder of a hub model, where a pull manifest may be; undefined for the bundled model. */
function pulledDir(spec: ModelSpec): string | undefined {
  return spec.family === 'colbert-onnx' ? spec.dir : undefined;
}

async function loadEncoder(spec: ModelSpec, resolved: ResolvedEncoderOptions): Promise<Encoder> {
  const family = await loadFamily(spec.family);
  const loaded = await family.loadTokenizer(spec);
  const fingerprint = await modelFingerprint(spec);
  // A damaged file that still loads (a truncated or flipped graph) would encode wrong vectors, or
  // fail an index's fingerprint check as "another model"; the fingerprint has just hashed the graph,
  // tokenizer and settings, so checking them against the pull manifest costs no read (weights: size).
  const dir = pulledDir(spec);
  const damage = dir === undefined ? null : await cacheDamageError(dir, { sha256Of: knownFileSha256, skipConvertedGraph: true });
  if (damage !== null) throw damage;
  const tokenizer: TextTokenizer = {
    info: { ...loaded.info, fingerprint },
    tokenize: (text) => loaded.tokenize(text),
    rows: (text, kind) => loaded.rows(text, kind),
    tokenText: (id) => loaded.tokenText(id),
    ...(loaded.unknownTokenId === undefined ? {} : { unknownTokenId: loaded.unknownTokenId }),
    ...(loaded.specialTokenIds === undefined ? {} : { specialTokenIds: loaded.specialTokenIds }),
  };
  // The windows the tokenizer fitted to the graph's position table, for the backend on every thread.
  const backendOptions: BackendOptions = { intraOpNumThreads: resolved.intraOpNumThreads, lengths: { queryMaxlen: loaded.info.queryMaxlen, docMaxlen: loaded.info.docMaxlen } };
  // A run that onnxruntime fails names the repair of a pulled model too (cache-repair.ts withRunRepair).
  const pulled = dir === undefined ? null : pulledFolder(dir);
  const repairing = (runner: Runner): Runner => ({
    run: (texts, kind) => runner.run(texts, kind).catch(async (err: unknown) => {
      throw await withRunRepair(err, pulled);
    }),
    close: () => runner.close(),
  });
  if (resolved.threads === 0) {
    const backend = await family.loadBackend(spec, backendOptions);
    return new BatchingEncoder(spec, tokenizer, resolved, repairing({
      run: (texts, kind) => backend.encode(texts, kind),
      close: () => backend.dispose(),
    }));
  }
  const pool = onnxPool(new URL('./encode-worker.js', import.meta.url).href, resolved.threads);
  const dim = tokenizer.info.dim;
  return new BatchingEncoder(spec, tokenizer, resolved, repairing({
    run: async (texts, kind) => {
      const task: EncodeTask = { spec, options: backendOptions, texts, kind };
      let out: PackedEmbeddings | EncodeFailure;
      try {
        out = (await pool.run(task)) as PackedEmbeddings | EncodeFailure;
      } catch (cause) {
        if (cause instanceof PlaitError) throw cause;
        const err = cause as { code?: string; message?: string; name?: string };
        // A batch still queued when the encoder closed (closeOnnxPool cancels the queue, awaits the running runs).
        if (err.name === 'AbortError') throw new PlaitError('ABORTED', { message: 'the encoder was closed before this batch ran' }, { cause });
        // Errors thrown in a worker arrive as plain Errors; keep their code when it is one of ours.
        // The graph loads in the worker, at its first batch: a damaged cache file is named with its repair there too.
        if (typeof err.code === 'string' && err.code.length > 0 && typeof err.message === 'string') throw await withCacheRepair(workerCodedError(err.code, err.message, cause), dir);
        throw new PlaitError('WORKER_FAILED', { message: String(err.message ?? cause) }, { cause });
      }
      if ('failed' in out) throw await withCacheRepair(Object.assign(new PlaitError(out.failed.code, out.failed.details ?? {}), { message: out.failed.message }), dir);
      return unpackEmbeddings(out, dim);
    },
    close: () => closeOnnxPool(pool),
  }));
}

interface Runner {
  run(texts: string[], kind: TextKind): Promise<TokenEmbeddings[]>;
  close(): Promise<void>;
}

class BatchingEncoder implements Encoder {
  readonly info: ModelInfo;
  readonly unknownTokenId: number | undefined;
  readonly specialTokenIds: ReadonlySet<number> | undefined;
  readonly encodedTexts: Record<TextKind, number> = { query: 0, document: 0 };
  /** Batches of batchSize texts, one lane a worker thread (see encode()). */
  readonly batchShape: Readonly<{ batchSize: number; lanes: number }>;
  private closed = false;

  constructor(
    readonly spec: ModelSpec,
    private readonly tokenizer: TextTokenizer,
    private readonly options: ResolvedEncoderOptions,
    private readonly runner: Runner,
  ) {
    this.info = tokenizer.info;
    this.batchShape = { batchSize: options.batchSize, lanes: Math.max(1, options.threads) };
    this.unknownTokenId = tokenizer.unknownTokenId;
    this.specialTokenIds = tokenizer.specialTokenIds;
  }

  tokenize(text: string): TokenizedText {
    return this.tokenizer.tokenize(validateText(text, 0));
  }

  rows(text: string, kind: TextKind): RowToken[] {
    return this.tokenizer.rows(validateText(text, 0), kind);
  }

  tokenText(id: number): string {
    return this.tokenizer.tokenText(id);
  }

  async encodeQueries(texts: string[], options: EncodeOptions = {}): Promise<TokenEmbeddings[]> {
    checkOptionKeys(options, ENCODE_OPTION_KEYS, 'encode option');
    return this.encode(texts, 'query', checkSignal('signal', options.signal));
  }

  async encodeDocuments(texts: string[], options: EncodeOptions = {}): Promise<TokenEmbeddings[]> {
    checkOptionKeys(options, ENCODE_OPTION_KEYS, 'encode option');
    return this.encode(texts, 'document', checkSignal('signal', options.signal));
  }

  /**
   * Batches of `batchSize` texts, in order of length, run by one lane per worker (one lane
   * in-process): a lane starts its next batch when its last one finished, unless the signal was
   * aborted or another batch failed. So a cancelled call stops within one batch a worker, and the
   * pool's queue never holds batches that a cancel could not take back (all batches queued at once,
   * as before, kept a 504'd write encoding to its end). Rejects only once every lane has stopped.
   */
  private async encode(texts: string[], kind: TextKind, signal: AbortSignal | undefined): Promise<TokenEmbeddings[]> {
    if (this.closed) throw new PlaitError('CLOSED', { message: 'the encoder is closed (close() was called); create another with createEncoder()' });
    if (!Array.isArray(texts)) throw invalidArgument('texts', 'an array of strings', texts);
    texts.forEach((t, i) => validateText(t, i));
    const cancelled = (): PlaitError => abortedBy(signal!, `the encoding of ${plural(texts.length, 'text')} was cancelled`);
    if (signal?.aborted === true) throw cancelled();
    if (texts.length === 0) return [];
    // Order by length (characters are a good proxy for tokens and free to compute).
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length || a - b);
    const batches: number[][] = [];
    for (let i = 0; i < order.length; i += this.options.batchSize) batches.push(order.slice(i, i + this.options.batchSize));
    const out = new Array<TokenEmbeddings>(texts.length);
    // At most one batch of this call per encoder thread in flight: the worker pool serves its queue
    // first come, first served, so batches handed to it all at once put any call that arrives
    // meanwhile behind every one of them — a 64-document write over HTTP held a search's query for
    // 18.7 s (cisi, one encoder thread). Handed over one per thread as threads free up, a later call
    // waits for one batch at most, and every thread still has work.
    let next = 0;
    let failure: { error: unknown } | null = null;
    const lane = async (): Promise<void> => {
      while (next < batches.length && failure === null) {
        if (signal?.aborted === true) {
          failure = { error: cancelled() };
          return;
        }
        const batch = batches[next++]!;
        try {
          const encoded = await this.runner.run(
            batch.map((i) => texts[i]!),
            kind,
          );
          batch.forEach((textIndex, j) => {
            out[textIndex] = encoded[j]!;
          });
          this.encodedTexts[kind] += batch.length;
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(batches.length, Math.max(1, this.options.threads)) }, lane));
    if (failure !== null) throw (failure as { error: unknown }).error;
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runner.close();
  }
}

export type { EncoderBackend };
