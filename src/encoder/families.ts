/** Registry of model families, keyed by name; imported by the encoder pool and its workers. */
import type { ModelFamily, ModelFamilyName } from './types.js';
import { PlaitError } from '../errors/index.js';

const loaders: Record<ModelFamilyName, () => Promise<ModelFamily>> = {
  'use-lite': async () => (await import('./use-lite/index.js')).useLiteFamily,
  'colbert-onnx': async () => (await import('./colbert-onnx/index.js')).colbertOnnxFamily,
};

export async function loadFamily(name: ModelFamilyName): Promise<ModelFamily> {
  const loader = loaders[name];
  if (loader === undefined) throw new PlaitError('MODEL_NOT_FOUND', { message: `unknown model family "${String(name)}"` });
  return loader();
}
