/**
 * `resolveModelSpec(model)`: turns what a user typed after --model into a ModelSpec.
 * - nothing, "bundled" or "use-lite": the bundled USE-lite model;
 * - an existing folder: its ONNX graph as is when it has one; else, when it holds a BERT checkpoint
 *   (config.json + model.safetensors / pytorch_model.bin), the graph encoder/convert builds from it
 *   into `<cache>/converted/` once and reuses (spec.onnxFile is then that graph's absolute path);
 * - "org/name" (optionally "org/name@revision") that is not a local path: the cached hub copy, or a pull;
 * - anything else: MODEL_NOT_FOUND.
 * `resolveModelGraph(model)` does the same for any BERT checkpoint (cross-encoders too) and returns
 * the folder and graph path instead of an encoder spec.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { extendedError, isPlaitError, PlaitError, checkNonEmptyString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { checkpointFiles, ONNX_FILE_CANDIDATES } from './colbert-onnx/checkpoint-config.js';
import { readOutputShape } from './colbert-onnx/onnx-output-shape.js';
import { checkQuantization, CONVERT_MANIFEST_FILE, ensureConvertedGraph, type ConvertManifest } from './convert/convert-checkpoint.js';
import { findCheckpointLayout } from './convert/checkpoint-layout.js';
import { cachedModel, pullModel, type PullProgress } from './hub/pull-model.js';
import { defaultCacheDir, isRepoId, splitRepoRevision } from './hub/hub-env.js';
import { withCacheRepair } from './hub/cache-repair.js';
import type { ModelSpec } from './types.js';

export interface ResolveModelOptions {
  cacheDir?: string;
  /**
   * 'int8': run the int8 graph the converter builds from the checkpoint's weights (BERT and
   * ModernBERT checkpoints; a folder or repository that ships its own ONNX graph is refused with
   * MODEL_UNSUPPORTED). Recorded in the spec, hence in the index, so int8 and float vectors never meet.
   */
  quantize?: 'int8';
  offline?: boolean;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

/** ResolveModelOptions' keys: resolveModelSpec and resolveModelGraph refuse any other (`{ quantise: 'int8' }` ran the float graph). */
const RESOLVE_MODEL_OPTION_KEYS = { cacheDir: true, quantize: true, offline: true, onProgress: true, signal: true } as const satisfies OptionKeys<ResolveModelOptions>;

const BUNDLED = new Set(['bundled', 'use-lite']);

function looksLikePath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.includes('\\') || s.split('/').length > 2;
}

/** A checkpoint's folder and the ONNX graph to run, for stages that load the graph themselves. */
export interface ResolvedModelGraph {
  /** The checkpoint folder: tokenizer.json and the settings files are read from here. */
  dir: string;
  /** Absolute path of the graph: the folder's own, or the one plait converted from its weights. */
  onnxPath: string;
  /** The conversion manifest (head: ColBERT `embeddings` or cross-encoder `logits`) when plait built the graph. */
  converted: ConvertManifest | null;
  /** "org/name[@revision]" for hub models, else the folder's path. */
  name: string;
}

/**
 * A hub id ("org/name[@revision]") or a local folder → its folder and ONNX graph, pulling and
 * converting as needed (see the module header). The cross-encoder stage uses this; the encoder
 * goes through resolveModelSpec. Throws MODEL_NOT_FOUND, MODEL_FILE_MISSING, the hub's download
 * errors, and the converter's MODEL_UNSUPPORTED / MODEL_UNSAFE / MODEL_MISMATCH / MODEL_LOAD_FAILED.
 */
export async function resolveModelGraph(model: string, opts: ResolveModelOptions = {}): Promise<ResolvedModelGraph> {
  checkOptionKeys(opts, RESOLVE_MODEL_OPTION_KEYS, 'resolveModelGraph option');
  if (typeof model !== 'string' || model.trim().length === 0) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a model folder or hub repo id for model but received ${JSON.stringify(model)}`, name: 'model' });
  }
  if (existsSync(model)) {
    const dir = path.resolve(model);
    if (!statSync(dir).isDirectory()) {
      throw new PlaitError('MODEL_NOT_FOUND', { message: `${dir} is a file; pass the folder that holds model.onnx and tokenizer.json`, model });
    }
    const own = ONNX_FILE_CANDIDATES.find((f) => existsSync(path.join(dir, f)));
    if (own !== undefined || findCheckpointLayout(dir) === null) {
      // Its own graph, used as is (or nothing to run: checkpointFiles names what is missing).
      const onnxPath = checkpointFiles(dir).onnxPath;
      refuseOwnGraphQuantization(opts, dir);
      return { dir, onnxPath, converted: null, name: dir };
    }
    const graph = await ensureConvertedGraph(dir, { cacheDir: opts.cacheDir ?? defaultCacheDir(), ...quantizeOption(opts) });
    return { dir, onnxPath: graph.onnxPath, converted: graph.manifest, name: dir };
  }
  // The repo id is what comes before "@": a revision may hold "/" (the hub's refs/pr/1), which made
  // "org/name@refs/pr/1" look like a path and MODEL_NOT_FOUND.
  const { repoId, revision } = splitRepoRevision(model);
  if (!looksLikePath(repoId) && isRepoId(repoId)) {
    const where = { ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }), ...(revision === undefined ? {} : { revision }) };
    const pulled =
      cachedModel(repoId, where) ??
      (await pullModel(repoId, {
        ...where,
        ...(opts.offline === undefined ? {} : { offline: opts.offline }),
        ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      }));
    const name = revision === undefined ? repoId : `${repoId}@${revision}`;
    try {
      // A graph plait converted when pulling is checked against its sources (and a newer converter).
      if (existsSync(path.join(pulled.dir, CONVERT_MANIFEST_FILE))) {
        const graph = await ensureConvertedGraph(pulled.dir, { outDir: pulled.dir, ...quantizeOption(opts) });
        return { dir: pulled.dir, onnxPath: graph.onnxPath, converted: graph.manifest, name };
      }
      const onnxPath = checkpointFiles(pulled.dir).onnxPath;
      refuseOwnGraphQuantization(opts, name);
      return { dir: pulled.dir, onnxPath, converted: null, name };
    } catch (err) {
      // A damaged cache file (corrupt weights, a config.json that is not JSON) is named with its repair.
      throw await withCacheRepair(err, pulled.dir);
    }
  }
  throw new PlaitError('MODEL_NOT_FOUND', {
    // Said to every reader alike (the CLI's --model, the library's `model`, an integration's model id): no flag named.
    message: `"${model}" is neither a local folder nor a hub repo id (org/name): name a model folder or a hub repo id, or leave the model out for the bundled one`,
    model,
  });
}

/**
 * A folder's own graph that is not a ColBERT encoder is refused here, when the model is named, as
 * a converted cross-encoder is: a cross-encoder export (cross-encoder/ms-marco-MiniLM-L-6-v2 ships
 * onnx/model.onnx, `logits` [batch, 1]) had been accepted and failed at its first encode with
 * ENCODE_FAILED ("output logits … expected float32 [1, 5, dim]"), after an index build had begun.
 * Told by config.json's architecture (…ForSequenceClassification) or the graph's first output
 * declaring one row per text ([batch, n]) instead of one per token ([batch, tokens, dim]).
 */
function refuseNonColbertGraph(g: ResolvedModelGraph): void {
  const config = readJsonIfAny(path.join(g.dir, 'config.json'));
  const architectures = Array.isArray(config?.['architectures']) ? (config['architectures'] as unknown[]).filter((a): a is string => typeof a === 'string') : [];
  const classifier = architectures.find((a) => a.endsWith('ForSequenceClassification'));
  const shape = readOutputShape(g.onnxPath);
  const perText = shape !== null && shape.length === 2;
  if (classifier === undefined && !perText) return;
  const what =
    classifier !== undefined
      ? `a cross-encoder (config.json: ${classifier}), not a ColBERT encoder; use it as the re-ranking model`
      : `not a ColBERT encoder: its ONNX graph's first output is one row per text ([${shape!.map((d) => d ?? '?').join(', ')}]), not one vector per token ([batch, tokens, dim]); a cross-encoder is used as the re-ranking model, and a sentence-embedding model is not supported`;
  throw new PlaitError('MODEL_UNSUPPORTED', { message: `${g.name} is ${what}`, model: g.name });
}

function readJsonIfAny(file: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function quantizeOption(opts: ResolveModelOptions): { quantize?: 'int8' } {
  return opts.quantize === undefined ? {} : { quantize: opts.quantize };
}

/** int8 graphs are built by the converter; a graph someone else exported is run as it is. */
function refuseOwnGraphQuantization(opts: ResolveModelOptions, model: string): void {
  if (opts.quantize !== 'int8') return;
  throw new PlaitError('MODEL_UNSUPPORTED', {
    message: `${model} ships its own ONNX graph; plait quantises only the graphs it builds from a checkpoint's weights (config.json + model.safetensors / pytorch_model.bin). Use the repository's own quantised graph, or leave int8 quantisation out`,
    model,
    quantize: 'int8',
  });
}

export async function resolveModelSpec(model: string | undefined, opts: ResolveModelOptions = {}): Promise<ModelSpec> {
  checkOptionKeys(opts, RESOLVE_MODEL_OPTION_KEYS, 'resolveModelSpec option');
  if (model !== undefined) checkNonEmptyString('model', model, 'a model name, folder or hub repo id, or undefined (the bundled model)');
  checkQuantization(opts.quantize);
  if (model === undefined || BUNDLED.has(model.trim())) {
    if (opts.quantize === 'int8') {
      throw new PlaitError('MODEL_UNSUPPORTED', { message: 'the bundled model has no int8 graph; int8 quantisation applies to the BERT and ModernBERT checkpoints plait converts (a model folder or hub repo id)', model: model ?? 'bundled', quantize: 'int8' });
    }
    return { family: 'use-lite' };
  }
  const g = await resolveModelGraph(model, opts);
  try {
    return colbertSpec(g, model);
  } catch (err) {
    throw await withCacheRepair(err, g.dir);
  }
}

/** The encoder spec of a resolved graph, refusing a cross-encoder (MODEL_UNSUPPORTED) and a folder without its files. */
function colbertSpec(g: ResolvedModelGraph, model: string): ModelSpec {
  if (g.converted !== null && g.converted.head.kind !== 'colbert') {
    throw new PlaitError('MODEL_UNSUPPORTED', {
      message: `${g.name} is a cross-encoder (a classifier head with ${g.converted.head.numLabels} label(s)), not a ColBERT encoder; use it as the re-ranking model`,
      model,
    });
  }
  checkpointFiles(g.dir, g.onnxPath);
  if (g.converted === null) refuseNonColbertGraph(g);
  const hub = g.name !== g.dir;
  // A graph outside the folder (converted into the model cache) travels in the spec as an absolute path.
  const relative = path.relative(g.dir, g.onnxPath);
  const outside = relative.startsWith('..');
  const int8 = g.converted?.quantization === 'int8';
  // The int8 graph of a hub pull sits in its int8/ subfolder: named relatively, so the spec stays portable.
  const onnxFile = outside ? { onnxFile: g.onnxPath } : int8 ? { onnxFile: relative.split(path.sep).join('/') } : {};
  return { family: 'colbert-onnx', dir: g.dir, ...(hub ? { name: g.name } : {}), ...onnxFile, ...(int8 ? { quantize: 'int8' as const } : {}) };
}

/**
 * A recorded spec (an index's `modelSpec`) whose model folder is gone — a moved or cleared model
 * cache, another PLAIT_CACHE_DIR, an index copied to another machine — is found again by its hub
 * id in today's cache (downloaded if allowed, with its int8 graph when it had one); the index's
 * model check (fingerprint) still guards that it is the same model. Other specs are returned as
 * they are (a missing local folder is then MODEL_NOT_FOUND, naming it).
 * @throws PlaitError as resolveModelSpec (OFFLINE when downloads are off and the cache lacks it)
 */
export async function relocateModelSpec(spec: ModelSpec, opts: Omit<ResolveModelOptions, 'quantize'> = {}): Promise<ModelSpec> {
  if (spec.family !== 'colbert-onnx' || existsSync(spec.dir) || spec.name === undefined || !isRepoId(spec.name.split('@', 1)[0]!)) return spec;
  try {
    return await resolveModelSpec(spec.name, { ...opts, ...(spec.quantize === undefined ? {} : { quantize: spec.quantize }) });
  } catch (err) {
    // The generic advice ("use a local model folder or the bundled model instead") does not fit a
    // recorded model: nothing but that model (checked by the index's fingerprint) can stand in for it.
    const recordedModel = spec.name;
    if (isPlaitError(err, 'OFFLINE')) {
      throw new PlaitError('OFFLINE', {
        message:
          `the recorded model ${recordedModel} is no longer at ${spec.dir} and is not in the model cache, and downloads are off (offline mode): ` +
          `put its folder back, name where it is now as the model (its folder, or set PLAIT_CACHE_DIR to the cache it moved to; an index checks that it is the same model), ` +
          `or go online (unset PLAIT_OFFLINE / HF_HUB_OFFLINE) and pull it again (pullModel, or "plait model pull ${recordedModel}")`,
        repoId: recordedModel,
        recordedModel,
      }, { cause: err });
    }
    if (isPlaitError(err)) throw extendedError(err, ` (the recorded model ${recordedModel}, no longer at ${spec.dir}: only it can stand in, not the bundled model)`, { recordedModel });
    throw err;
  }
}
