/**
 * `resolveCrossEncoder(model)`: a local folder, or a hub repo id ("org/name", optionally
 * "org/name@revision") fetched through the encoder's hub code (model cache, resumed downloads,
 * sha256 manifest, offline errors) with the cross-encoder's own file list. A local checkpoint folder
 * without a graph (config.json + weights) is converted into the model cache (encoder/convert), as a
 * hub id's checkpoint is converted into its pulled folder.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PlaitError } from '../../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../../util/option-keys.js';
import { cachedModel, pullModel, type PullProgress } from '../../encoder/hub/pull-model.js';
import { isRepoId } from '../../encoder/hub/hub-env.js';
import { withCacheRepair } from '../../encoder/hub/cache-repair.js';
import { findCheckpointLayout } from '../../encoder/convert/checkpoint-layout.js';
import { resolveModelGraph } from '../../encoder/resolve-model.js';
import { CROSS_ENCODER_SETTINGS_FILES, crossEncoderFiles, onnxCandidates, type CrossEncoderFiles, type CrossEncoderVariant } from './cross-encoder-files.js';

export interface ResolveCrossEncoderOptions {
  variant?: CrossEncoderVariant;
  /** Graph file relative to the model folder, instead of the variant's candidates. */
  onnxFile?: string;
  maxLength?: number;
  cacheDir?: string;
  offline?: boolean;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

/** ResolveCrossEncoderOptions' keys: resolveCrossEncoder refuses any other (`{ maxlength: 128 }` kept the model's length). */
export const RESOLVE_CROSS_ENCODER_OPTION_KEYS = {
  variant: true, onnxFile: true, maxLength: true, cacheDir: true, offline: true, onProgress: true, signal: true,
} as const satisfies OptionKeys<ResolveCrossEncoderOptions>;

export async function resolveCrossEncoder(model: string, opts: ResolveCrossEncoderOptions = {}): Promise<CrossEncoderFiles> {
  checkOptionKeys(opts, RESOLVE_CROSS_ENCODER_OPTION_KEYS, 'resolveCrossEncoder option');
  if (typeof model !== 'string' || model.trim().length === 0) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a cross-encoder folder or hub repo id but received ${JSON.stringify(model)}`, name: 'crossEncoder' });
  }
  const fileOpts = {
    ...(opts.variant === undefined ? {} : { variant: opts.variant }),
    ...(opts.onnxFile === undefined ? {} : { onnxFile: opts.onnxFile }),
    ...(opts.maxLength === undefined ? {} : { maxLength: opts.maxLength }),
  };
  if (existsSync(model)) {
    const dir = path.resolve(model);
    // A checkpoint folder without a graph (config.json + weights, as transformers / sentence-transformers
    // save a fine-tuned cross-encoder) is converted into the model cache, as a hub id's is; it was
    // MODEL_FILE_MISSING ("has no onnx/model.onnx or model.onnx"), though a hub id of the same files converted.
    const plainFp32 = opts.onnxFile === undefined && (opts.variant ?? 'fp32') === 'fp32';
    if (plainFp32 && statSync(dir).isDirectory() && !onnxCandidates('fp32').some((f) => existsSync(path.join(dir, f))) && findCheckpointLayout(dir) !== null) {
      const graph = await resolveModelGraph(dir, opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir });
      return crossEncoderFiles(dir, { ...fileOpts, onnxFile: graph.onnxPath });
    }
    return crossEncoderFiles(dir, fileOpts);
  }
  const [repoId, revision] = model.split('@', 2) as [string, string | undefined];
  if (model.startsWith('.') || model.startsWith('/') || !isRepoId(repoId)) {
    throw new PlaitError('MODEL_NOT_FOUND', { message: `"${model}" is neither a local folder nor a hub repo id (org/name)`, model });
  }
  const candidates = opts.onnxFile === undefined ? onnxCandidates(opts.variant ?? 'fp32') : [opts.onnxFile];
  const where = { ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }), ...(revision === undefined ? {} : { revision }) };
  const cached = cachedModel(repoId, where);
  const pulled =
    cached !== null && cached.files.some((f) => candidates.includes(f.file))
      ? cached
      : await pullModel(repoId, {
          ...where,
          onnxCandidates: candidates,
          optionalFiles: CROSS_ENCODER_SETTINGS_FILES,
          // A checkpoint without a graph is converted (BERT + classifier) only for the plain fp32 variant.
          convertIfMissing: opts.onnxFile === undefined && (opts.variant ?? 'fp32') === 'fp32',
          ...(opts.offline === undefined ? {} : { offline: opts.offline }),
          ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
          ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        });
  try {
    return crossEncoderFiles(pulled.dir, { ...fileOpts, name: revision === undefined ? repoId : `${repoId}@${revision}` });
  } catch (err) {
    // A damaged settings file (config.json that is not JSON) is named with its repair, as for encoders.
    throw await withCacheRepair(err, pulled.dir);
  }
}
