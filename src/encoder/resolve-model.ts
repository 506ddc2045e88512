/**
 * `resolveModelSpec(model)`: turns what a user typed after --model into a ModelSpec.
 * - nothing, "bundled" or "use-lite": the bundled USE-lite model;
 * - an existing folder: a ColBERT ONNX checkpoint in it (its files are checked now);
 * - "org/name" (optionally "org/name@revision") that is not a local path: the cached hub copy, or a pull;
 * - anything else: MODEL_NOT_FOUND.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PlaitError } from '../errors/index.js';
import { checkpointFiles } from './colbert-onnx/checkpoint-config.js';
import { cachedModel, pullModel, type PullProgress } from './hub/pull-model.js';
import { isRepoId } from './hub/hub-env.js';
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
    checkpointFiles(dir);
    return { family: 'colbert-onnx', dir };
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
    checkpointFiles(pulled.dir);
    return { family: 'colbert-onnx', dir: pulled.dir, name: revision === undefined ? repoId : `${repoId}@${revision}` };
  }
  throw new PlaitError('MODEL_NOT_FOUND', {
    message: `"${model}" is neither a local folder nor a hub repo id (org/name); use --model <dir>, --model org/name, or leave it out for the bundled model`,
    model,
  });
}
