/**
 * `resolveModelSpec(model)`: turns what a user typed after --model into a ModelSpec.
 * - nothing, "bundled" or "use-lite": the bundled USE-lite model;
 * - an existing folder: its ONNX graph as is when it has one; else, when it holds a BERT checkpoint
 *   (config.json + model.safetensors / pytorch_model.bin), the graph encoder/convert builds from it
 *   into `<cache>/converted/` once and reuses (spec.onnxFile is then that graph's absolute path);
 * - "org/name" (optionally "org/name@revision") that is not a local path: the cached hub copy, or a pull;
 * - anything else: MODEL_NOT_FOUND.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PlaitError } from '../errors/index.js';
import { checkpointFiles, ONNX_FILE_CANDIDATES } from './colbert-onnx/checkpoint-config.js';
import { CONVERT_MANIFEST_FILE, ensureConvertedGraph, type ConvertedGraph } from './convert/convert-checkpoint.js';
import { findCheckpointLayout } from './convert/checkpoint-layout.js';
import { cachedModel, pullModel, type PullProgress } from './hub/pull-model.js';
import { defaultCacheDir, isRepoId } from './hub/hub-env.js';
import type { ModelSpec } from './types.js';

export interface ResolveModelOptions {
  cacheDir?: string;
  offline?: boolean;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

const BUNDLED = new Set(['bundled', 'use-lite']);

function looksLikePath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.includes('\\') || s.split('/').length > 2;
}

export async function resolveModelSpec(model: string | undefined, opts: ResolveModelOptions = {}): Promise<ModelSpec> {
  if (model === undefined || BUNDLED.has(model.trim())) return { family: 'use-lite' };
  if (typeof model !== 'string' || model.trim().length === 0) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a model folder or hub repo id for model but received ${JSON.stringify(model)}`, name: 'model' });
  }
  if (existsSync(model)) {
    const dir = path.resolve(model);
    if (!statSync(dir).isDirectory()) {
      throw new PlaitError('MODEL_NOT_FOUND', { message: `${dir} is a file; pass the folder that holds model.onnx and tokenizer.json`, model });
    }
    const onnxFile = await localGraph(dir, opts);
    checkpointFiles(dir, onnxFile);
    return onnxFile === undefined ? { family: 'colbert-onnx', dir } : { family: 'colbert-onnx', dir, onnxFile };
  }
  const [repoId, revision] = model.split('@', 2) as [string, string | undefined];
  if (!looksLikePath(model) && isRepoId(repoId)) {
    const where = { ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }), ...(revision === undefined ? {} : { revision }) };
    const pulled =
      cachedModel(repoId, where) ??
      (await pullModel(repoId, {
        ...where,
        ...(opts.offline === undefined ? {} : { offline: opts.offline }),
        ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      }));
    // A graph plait converted when pulling is checked against its sources (and a newer converter).
    if (existsSync(path.join(pulled.dir, CONVERT_MANIFEST_FILE))) colbertHead(await ensureConvertedGraph(pulled.dir, { outDir: pulled.dir }), repoId);
    checkpointFiles(pulled.dir);
    return { family: 'colbert-onnx', dir: pulled.dir, name: revision === undefined ? repoId : `${repoId}@${revision}` };
  }
  throw new PlaitError('MODEL_NOT_FOUND', {
    message: `"${model}" is neither a local folder nor a hub repo id (org/name); use --model <dir>, --model org/name, or leave it out for the bundled model`,
    model,
  });
}

/** Refuses a converted cross-encoder where a ColBERT encoder is wanted. */
function colbertHead(graph: ConvertedGraph, model: string): void {
  if (graph.manifest.head.kind !== 'colbert') {
    throw new PlaitError('MODEL_UNSUPPORTED', {
      message: `${model} is a cross-encoder (a classifier head with ${graph.manifest.head.numLabels} label(s)), not a ColBERT encoder; use it as the re-ranking model`,
      model,
    });
  }
}

/**
 * The graph a local folder is encoded with: undefined when the folder has its own ONNX graph (used
 * as is), else the absolute path of the graph converted from its weights into the model cache.
 */
async function localGraph(dir: string, opts: ResolveModelOptions): Promise<string | undefined> {
  if (ONNX_FILE_CANDIDATES.some((f) => existsSync(path.join(dir, f)))) return undefined;
  if (findCheckpointLayout(dir) === null) return undefined;
  const graph = await ensureConvertedGraph(dir, { cacheDir: opts.cacheDir ?? defaultCacheDir() });
  colbertHead(graph, dir);
  return graph.onnxPath;
}
