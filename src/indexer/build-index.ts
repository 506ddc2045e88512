/**
 * `buildIndex(input, options)`: corpus → PLAID index, ColBERTv2 style.
 *
 *  1. Read the corpus (streamed), split long documents into overlapping passages of the model's
 *     window, store documents and passages in the SQLite document store, spill passage texts to a
 *     temporary file.
 *  2. Sample 1 + 16·sqrt(120·N) passages (ColBERT's formula), encode them, train spherical k-means
 *     with K = 2^floor(log2(16·sqrt(estimated tokens))) on all but a held-out 5%, fit the residual
 *     codec's cutoffs and weights on the held-out vectors.
 *  3. Encode every passage in chunks, compress (centroid id + nbits residual per dimension), append
 *     codes/residuals/doclens; count token document frequencies.
 *  4. Build the IVF, write the manifest last, rename the folder into place.
 */
import type { Bm25Stemmer } from '../docstore/schema.js';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { BUILD_DEFAULTS, BUILD_MEMORY_DEFAULTS, ENCODER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, abortedBy, checkSignal, invalidArgument, isPlaitError } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { checkNbits, type Nbits } from '../codec/residual-codec.js';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder, EncoderOptions, ModelSpec, TokenEmbeddings } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { getKernels } from '../kernels/index.js';
import { INDEX_FILES, type IndexManifest } from '../format/manifest.js';
import { resolveIndexPath } from '../format/index-path.js';
import { discardBuildDir, publishIndex, temporaryBuildDir } from '../format/publish.js';
import { CORPUS_READER_OPTION_KEYS, corpusReaderOptionsOf, emptyCorpusError, fieldsToRecord, openCorpus, isDocumentList, checkCorpusInput } from './corpus/index.js';

/** `settings.corpusFields` of a build given JSONL field names (corpus/recorded-fields.ts), else nothing. */
export function recordedFieldsOf(options: CorpusReaderOptions): { corpusFields?: NonNullable<ReturnType<typeof fieldsToRecord>> } {
  const fields = fieldsToRecord(options);
  return fields === undefined ? {} : { corpusFields: fields };
}
import type { CorpusDocumentInput, CorpusInput, CorpusReaderOptions, CorpusReadReport } from './corpus/types.js';
import type { MetadataTypeWarning } from '../docstore/metadata-types.js';
import { DocStoreWriter } from '../docstore/index.js';
import { compressPassages, type EmbeddingSource } from './compress-passages.js';
import { resolveCentroidAssignment, type CentroidAssignmentOptions } from './two-level-assign.js';
import { PassageSpill } from './passage-spill.js';
import { splitLongText } from './split-passages.js';
import { indexText } from './index-text.js';

export type BuildPhase = 'read' | 'sample' | 'kmeans' | 'encode' | 'ivf' | 'done';

export interface BuildProgress {
  /** The stage running: read the corpus, sample it, k-means, encode and compress, build the IVF, done. */
  phase: BuildPhase;
  /** Units of the phase finished (documents read, passages encoded, k-means iterations …). */
  done: number;
  /** Units of the phase in all. */
  total: number;
  /** Elapsed milliseconds since the build started. */
  elapsedMs: number;
}

export interface BuildOptions extends CorpusReaderOptions, CentroidAssignmentOptions {
  /** Index name (under indexes/) or path. Required. */
  index: string;
  /** Model: undefined → the bundled model; a local folder; or a hub repo id. */
  model?: string;
  /** 'int8': encode with the converter's int8 graph of `model` (recorded in the index's model spec). */
  quantize?: 'int8';
  /** An already-open encoder (its model wins over `model`); not closed by the build. */
  encoder?: Encoder;
  /** How the document encoder runs (EncoderOptions: threads, batch size …); `{ threads: 0 }` encodes on the calling thread. Ignored with `encoder`. */
  encoderOptions?: EncoderOptions;
  /** Residual width: 1, 2 (default, BUILD_DEFAULTS.nbits), 4 or 8 bits a dimension, or TERNARY_NBITS (1.6) for the ternary codec. */
  nbits?: number;
  /** k-means iterations, an integer ≥ 0 (0: the initial sampled centroids); default BUILD_DEFAULTS.kmeansIters (4, as ColBERT, at every sample size). */
  kmeansIters?: number;
  /** Override the model's doc_maxlen (ColBERT checkpoints only). */
  docMaxlen?: number;
  /** Split documents longer than the model's window into overlapping passages (default true). */
  split?: boolean;
  /** Stride between windows, in tokens (default 3/4 of the window). */
  stride?: number;
  /** Seed of the k-means sample and initial centroids: the same corpus, model and seed build the same index; default BUILD_DEFAULTS.seed. */
  seed?: number;
  /** Passages per encode/compress chunk (default: as many as fit BUILD_MEMORY_DEFAULTS.chunkBytes of vectors). */
  chunkSize?: number;
  /** Largest residual segment file in bytes (default FORMAT_DEFAULTS.segmentBytes; tests set a few KiB). */
  segmentBytes?: number;
  /** BM25's stemmer (docstore/schema.ts): 'porter' (default, English) or 'none' (other languages). */
  bm25Stemmer?: Bm25Stemmer;
  /** Called synchronously on the calling thread as each phase advances; keep it quick (the build waits for it). */
  onProgress?: (p: BuildProgress) => void;
  /**
   * Cancels the build: checked between documents, k-means steps and chunks, and by the encoder
   * between its batches; nothing is published. Rejects with ABORTED, TIMEOUT for
   * `AbortSignal.timeout()`, or the signal's reason when it is a PlaitError (abortedBy).
   */
  signal?: AbortSignal;
}

export interface BuildResult {
  /** The published index's folder, absolute. */
  path: string;
  /** Its manifest (model, counts, files). */
  manifest: IndexManifest;
  /** What the corpus reader read, skipped (`skipInvalid`) and warned about. */
  report: CorpusReadReport;
  /**
   * METADATA_TYPE_MIXED (docstore/metadata-types.ts): each metadata field the corpus holds with
   * values of several JSON types (string, number, boolean), with each type's document count and
   * its first docId; absent when none. Built all the same: a comparison filter on such a field
   * matches the values of its own type only.
   */
  metadataWarnings?: MetadataTypeWarning[];
}

/** BuildOptions' keys (util/option-keys.ts): `buildIndex(c, { index, encoderoptions: { threads: 0 } })` had built with the default threads without a word. */
export const BUILD_OPTION_KEYS = {
  index: true, model: true, quantize: true, encoder: true, encoderOptions: true, nbits: true, kmeansIters: true, docMaxlen: true,
  split: true, stride: true, seed: true, chunkSize: true, segmentBytes: true, bm25Stemmer: true, onProgress: true, signal: true,
  ...CORPUS_READER_OPTION_KEYS,
  centroidAssignment: true, coarseCentroids: true, coarseProbe: true,
} as const satisfies OptionKeys<BuildOptions>;

/**
 * Builds an index at `options.index` from a corpus: a file, a folder, a glob or a list of files
 * (CorpusInput), or documents held in memory, `[{ docId, text, title?, metadata? }]` as `index.add`
 * takes them (CorpusDocumentInput; read as JSONL records, so the corpus rules hold: DUPLICATE_ID,
 * EMPTY_TEXT, INVALID_ID, `skipInvalid`).
 * @throws PlaitError INVALID_ARGUMENT (options), FILE_NOT_FOUND (no such file or folder; `details.path`),
 * INVALID_INPUT (a list of both files and documents), EMPTY_CORPUS, the corpus readers' errors, the model's, ABORTED (`signal`), BUILD_FAILED.
 */
export async function buildIndex(input: CorpusInput | readonly CorpusDocumentInput[], options: BuildOptions): Promise<BuildResult> {
  if (options !== null && typeof options === 'object') {
    checkOptionKeys(options, BUILD_OPTION_KEYS, 'buildIndex option');
    checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option');
  }
  if (typeof options?.index !== 'string' || options.index.length === 0) throw invalidArgument('index', 'an index name or path', options?.index);
  // Checked as every other door checks it: a string or {} had been ignored (the build ran to its end).
  const signal = checkSignal('signal', options.signal);
  const nbits: Nbits = checkNbits(options.nbits ?? BUILD_DEFAULTS.nbits);
  const seed = options.seed ?? BUILD_DEFAULTS.seed;
  const chunkSize = options.chunkSize;
  if (chunkSize !== undefined && (!Number.isInteger(chunkSize) || chunkSize < 1)) throw invalidArgument('chunkSize', 'a positive integer', chunkSize);
  const assignment = resolveCentroidAssignment(options);
  const target = resolveIndexPath(options.index);
  // Before the model loads (a second or more): a wrong input fails at once.
  if (!isDocumentList(input)) checkCorpusInput(input);
  const started = Date.now();
  let last: { phase: BuildPhase; done: number; total: number } = { phase: 'read', done: 0, total: 0 };
  const progress = (phase: BuildPhase, done: number, total: number): void => {
    last = { phase, done, total };
    options.onProgress?.({ phase, done, total, elapsedMs: Date.now() - started });
  };
  const checkAbort = (): void => {
    if (signal?.aborted === true) throw abortedBy(signal, 'index build aborted');
  };

  const ownEncoder = options.encoder === undefined;
  const encoder = options.encoder ?? (await createEncoder(await modelSpecFor(options), options.encoderOptions ?? {}));
  const info = encoder.info;
  const window = info.documentWindow;
  const split = options.split ?? true;
  const stride = options.stride ?? Math.max(1, Math.floor(window * BUILD_DEFAULTS.splitStrideFraction));
  if (!Number.isInteger(stride) || stride < 1 || stride > window) throw invalidArgument('stride', `an integer in [1, ${window}]`, stride);

  const tmp = temporaryBuildDir(target);
  let spill: PassageSpill | null = null;
  let docstore: DocStoreWriter | null = null;
  try {
    const text = new PassageSpill(join(tmp, 'passages.spill'));
    spill = text;
    // 1. Read, split, store.
    const corpus = await openCorpus(input, corpusReaderOptionsOf(options));
    docstore = new DocStoreWriter(join(tmp, INDEX_FILES.docstore), options.bm25Stemmer === undefined ? {} : { stemmer: options.bm25Stemmer });
    let nDocs = 0;
    for await (const doc of corpus) {
      checkAbort();
      const full = indexText(doc.title, doc.text);
      const rowid = docstore.addDocument({ docId: doc.docId, title: doc.title, text: doc.text, metadata: doc.metadata });
      // Long documents are tokenized and split block by block (no document-length limit); unsplit,
      // the model reads only its first window, so the encoder gets at most its text limit of it.
      const pieces = split
        ? splitLongText(full, (t) => encoder.tokenize(t), window, stride, BUILD_MEMORY_DEFAULTS.splitBlockChars)
        : [{ text: full.slice(0, ENCODER_DEFAULTS.maxTextLength), start: 0, end: full.length }];
      for (const p of pieces) {
        docstore.addPassage(rowid, p.start, p.end);
        spill.append(p.text);
      }
      nDocs++;
      if (nDocs % 256 === 0) progress('read', nDocs, 0);
    }
    progress('read', nDocs, nDocs);
    const typeWarnings = docstore.typeWarnings();
    const nPassages = spill.length;
    if (nPassages === 0) throw emptyCorpusError(input, corpus.report, 'index');

    // 2–3. Sample, k-means, codec; then encode and compress every passage.
    const kernels = getKernels();
    const source: EmbeddingSource = {
      nPassages,
      dim: info.dim,
      vocabSize: info.vocabSize,
      // Encoded in steps so that progress moves every few seconds, not once a chunk (a chunk of
      // the bundled model takes minutes): each counts on from the phase's last reported figure,
      // which stays below the phase's next report.
      embed: (pids) =>
        embedInSteps(pids, (p) => encoder.encodeDocuments(readSpill(text, p), signal === undefined ? {} : { signal }), (n) => {
          if (last.phase === 'sample' || last.phase === 'encode') options.onProgress?.({ ...last, done: Math.min(last.total, last.done + n), elapsedMs: Date.now() - started });
        }),
    };
    const store = docstore;
    const c = await compressPassages(tmp, source, { nbits, seed, chunkSize, segmentBytes: options.segmentBytes, assignment, kmeansIters: options.kmeansIters, kernels, progress, checkAbort, onPassageTokens: (pid, ids) => store.setPassageTokens(pid, ids, source.vocabSize) });
    const writer = c.writer;

    // 4. IVF, document store, manifest, publish.
    progress('ivf', 0, 1);
    writer.finishArrays();
    docstore.setTokenDf(c.df, nPassages);
    docstore.close();
    docstore = null;
    spill.dispose();
    const report = corpus.report;
    writer.writeManifest({
      createdAt: new Date().toISOString(),
      buildMs: Date.now() - started,
      model: info,
      modelSpec: encoder.spec,
      counts: { documents: nDocs, passages: nPassages, tokens: writer.tokens, centroids: c.codec.nCentroids },
      settings: { split, window, stride, kmeansIters: c.kmeansIters, seed, sampledPassages: c.sampledPassages, kmeansVectors: c.kmeansVectors, centroidAssignment: c.centroidAssignment, ...recordedFieldsOf(options) },
      avgResidual: c.avgResidual,
      skipped: Object.fromEntries(Object.entries(report.skipped).filter(([, n]) => n > 0)),
    });
    const published = publishIndex(tmp, target);
    progress('done', 1, 1);
    return { path: target, manifest: published, report, ...(typeWarnings.length === 0 ? {} : { metadataWarnings: typeWarnings }) };
  } catch (err) {
    try {
      docstore?.abort();
    } catch {
      // The folder is removed below either way.
    }
    try {
      spill?.dispose();
    } catch {
      // The spill may already be closed.
    }
    discardBuildDir(tmp);
    if (isPlaitError(err)) throw err;
    throw new PlaitError('BUILD_FAILED', { message: (err as Error).message ?? String(err) }, { cause: err });
  } finally {
    if (ownEncoder) await encoder.close();
  }
}

export async function modelSpecFor(options: BuildOptions): Promise<ModelSpec> {
  const spec = await resolveModelSpec(options.model, options.quantize === undefined ? {} : { quantize: options.quantize });
  if (options.docMaxlen === undefined) return spec;
  if (!Number.isInteger(options.docMaxlen) || options.docMaxlen < 8) throw invalidArgument('docMaxlen', 'an integer >= 8', options.docMaxlen);
  if (spec.family !== 'colbert-onnx') {
    throw invalidArgument('docMaxlen', 'no override for the bundled model (its window is fixed at 128 tokens)', options.docMaxlen);
  }
  return { ...spec, overrides: { ...spec.overrides, docMaxlen: options.docMaxlen } };
}

/**
 * Passages encoded per progress report inside a chunk: 16 encoder batches, as the sample phase
 * steps (compress-passages.ts). Smaller steps would leave encoder workers idle at each step's end
 * (its batches are sorted by length, so the last one is the longest); 512 keeps that to 1/16.
 */
const PROGRESS_STEP = 512;

export async function embedInSteps(pids: Int32Array, embed: (pids: Int32Array) => Promise<TokenEmbeddings[]>, onStep: (encoded: number) => void): Promise<TokenEmbeddings[]> {
  if (pids.length <= PROGRESS_STEP) return embed(pids);
  const out: TokenEmbeddings[] = [];
  for (let i = 0; i < pids.length; i += PROGRESS_STEP) {
    out.push(...(await embed(pids.subarray(i, i + PROGRESS_STEP))));
    onStep(Math.min(i + PROGRESS_STEP, pids.length));
  }
  return out;
}

/** Texts of the given passages: one sequential read for a run of consecutive pids. */
export function readSpill(spill: PassageSpill, pids: Int32Array): string[] {
  const n = pids.length;
  if (n > 0 && pids[n - 1]! - pids[0]! === n - 1) return spill.read(pids[0]!, pids[n - 1]! + 1);
  return Array.from(pids, (pid) => spill.readOne(pid));
}
