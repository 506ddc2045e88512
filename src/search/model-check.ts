/**
 * The guard between an index and the model that encodes its queries: a query encoded by another
 * model scores garbage without any error, so a mismatch is refused (MODEL_MISMATCH).
 */
import { PlaitError } from '../errors/index.js';
import type { ModelInfo } from '../encoder/types.js';

const MODEL_KEYS = ['family', 'dim', 'queryMaxlen', 'queryMarker', 'documentMarker', 'attendToMaskTokens', 'vocabSize'] as const;

/**
 * Refuses an encoder whose model differs from the one that built the index.
 * @throws PlaitError MODEL_MISMATCH listing every differing field.
 */
export function checkModel(index: ModelInfo, model: ModelInfo): void {
  const diffs = MODEL_KEYS.filter((k) => index[k] !== model[k]).map((k) => `${k}: index ${String(index[k])}, model ${String(model[k])}`);
  if (index.name !== model.name && index.family !== model.family) diffs.unshift(`name: index ${index.name}, model ${model.name}`);
  if (diffs.length > 0) {
    throw new PlaitError('MODEL_MISMATCH', { message: `the index was built with ${index.name}, not ${model.name} (${diffs.join('; ')})`, index: index.name, model: model.name });
  }
}
