/**
 * Index precomputed token embeddings (your own encoder's output, or synthetic vectors for
 * benchmarks): each passage becomes one document. Same format, same crash safety as `buildIndex`.
 */
import { join } from 'node:path';
import { BUILD_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument, isPlaitError, checkShape } from '../errors/index.js';
import { checkNbits } from '../codec/residual-codec.js';
import type { ModelInfo, ModelSpec } from '../encoder/types.js';
import { getKernels } from '../kernels/index.js';
import { INDEX_FILES, type IndexManifest } from '../format/manifest.js';
import { resolveIndexPath } from '../format/index-path.js';
import { discardBuildDir, publishIndex, temporaryBuildDir } from '../format/publish.js';
import { DocStoreWriter } from '../docstore/index.js';
import { compressPassages, type EmbeddingSource } from './compress-passages.js';
import { resolveCentroidAssignment, type CentroidAssignmentOptions } from './two-level-assign.js';
import type { BuildProgress } from './build-index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface EmbeddingsBuildOptions extends CentroidAssignmentOptions {
  index: string;
  /** The model the vectors come from (recorded in the manifest; search checks it). */
  model: ModelInfo;
  modelSpec: ModelSpec;
  /** Document id of a passage (default: its pid as a string). */
  docId?: (pid: number) => string;
  /** Residual width: 1, 2 (default, BUILD_DEFAULTS.nbits), 4 or 8 bits a dimension, or TERNARY_NBITS (1.6) for the ternary codec. */
  nbits?: number;
  kmeansIters?: number;
  seed?: number;
  /** Passages per encode/compress chunk (default: as many as fit BUILD_MEMORY_DEFAULTS.chunkBytes of vectors). */
  chunkSize?: number;
  /** Largest residual segment file in bytes (default FORMAT_DEFAULTS.segmentBytes; tests set a few KiB). */
  segmentBytes?: number;
  onProgress?: (p: BuildProgress) => void;
}

/** EmbeddingsBuildOptions' keys (util/option-keys.ts): `{ kmeansiters: 4 }` had built with the default iterations. */
const EMBEDDINGS_BUILD_OPTION_KEYS = {
  index: true, model: true, modelSpec: true, docId: true, nbits: true, kmeansIters: true, seed: true, chunkSize: true, segmentBytes: true, onProgress: true,
  centroidAssignment: true, coarseCentroids: true, coarseProbe: true,
} as const satisfies OptionKeys<EmbeddingsBuildOptions>;

/** @throws PlaitError INVALID_ARGUMENT (an unknown option key, nPassages, nbits), DIMENSION_MISMATCH, and the build's errors. */
export async function buildIndexFromEmbeddings(source: EmbeddingSource, options: EmbeddingsBuildOptions): Promise<{ path: string; manifest: IndexManifest }> {
  checkOptionKeys(options, EMBEDDINGS_BUILD_OPTION_KEYS, 'buildIndexFromEmbeddings option');
  checkShape('source', source, 'an EmbeddingSource ({ nPassages, dim, embed })', ['nPassages', 'dim', 'embed']);
  checkShape('options', options, 'build options with index and model', ['model']);
  if (source.dim !== options.model.dim) throw new PlaitError('DIMENSION_MISMATCH', { expected: options.model.dim, received: source.dim });
  if (!Number.isInteger(source.nPassages) || source.nPassages < 1) throw invalidArgument('nPassages', 'a positive integer', source.nPassages);
  const nbits = checkNbits(options.nbits ?? BUILD_DEFAULTS.nbits);
  const seed = options.seed ?? BUILD_DEFAULTS.seed;
  const chunkSize = options.chunkSize;
  if (chunkSize !== undefined && (!Number.isInteger(chunkSize) || chunkSize < 1)) throw invalidArgument('chunkSize', 'a positive integer', chunkSize);
  const assignment = resolveCentroidAssignment(options);
  const target = resolveIndexPath(options.index);
  const started = Date.now();
  const progress = (phase: BuildProgress['phase'], done: number, total: number): void =>
    options.onProgress?.({ phase, done, total, elapsedMs: Date.now() - started });
  const tmp = temporaryBuildDir(target);
  let docstore: DocStoreWriter | null = null;
  try {
    docstore = new DocStoreWriter(join(tmp, INDEX_FILES.docstore));
    const docId = options.docId ?? ((pid: number) => String(pid));
    for (let pid = 0; pid < source.nPassages; pid++) {
      const rowid = docstore.addDocument({ docId: docId(pid), title: '', text: '' });
      docstore.addPassage(rowid, 0, 0);
    }
    progress('read', source.nPassages, source.nPassages);
    const store = docstore;
    const c = await compressPassages(tmp, source, { nbits, seed, chunkSize, segmentBytes: options.segmentBytes, assignment, kmeansIters: options.kmeansIters, kernels: getKernels(), progress, checkAbort: () => {}, onPassageTokens: (pid, ids) => store.setPassageTokens(pid, ids, source.vocabSize) });
    progress('ivf', 0, 1);
    c.writer.finishArrays();
    docstore.setTokenDf(c.df, source.nPassages);
    docstore.close();
    docstore = null;
    c.writer.writeManifest({
      createdAt: new Date().toISOString(),
      buildMs: Date.now() - started,
      model: options.model,
      modelSpec: options.modelSpec,
      counts: { documents: source.nPassages, passages: source.nPassages, tokens: c.writer.tokens, centroids: c.codec.nCentroids },
      settings: { split: false, window: options.model.documentWindow, stride: options.model.documentWindow, kmeansIters: c.kmeansIters, seed, sampledPassages: c.sampledPassages, kmeansVectors: c.kmeansVectors, centroidAssignment: c.centroidAssignment },
      avgResidual: c.avgResidual,
    });
    const published = publishIndex(tmp, target);
    progress('done', 1, 1);
    return { path: target, manifest: published };
  } catch (err) {
    docstore?.abort();
    discardBuildDir(tmp);
    if (isPlaitError(err)) throw err;
    throw new PlaitError('BUILD_FAILED', { message: (err as Error).message ?? String(err) }, { cause: err });
  }
}
