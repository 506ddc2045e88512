/**
 * The guard between an index and the model that encodes its queries: a query encoded by another
 * model scores garbage without any error, so a mismatch is refused (MODEL_MISMATCH).
 */
import { PlaitError, checkObject } from '../errors/index.js';
import type { ModelInfo } from '../encoder/types.js';

const MODEL_KEYS = ['family', 'dim', 'queryMaxlen', 'queryMarker', 'documentMarker', 'attendToMaskTokens', 'vocabSize', 'quantization'] as const;

/**
 * Refuses an encoder whose model differs from the one that built the index: any of the fields
 * that shape the vectors, or (when both sides carry one) the fingerprint of its files.
 * @throws PlaitError MODEL_MISMATCH listing every differing field.
 */
export function checkModel(index: ModelInfo, model: ModelInfo): void {
  checkObject('index', index, 'the index\'s ModelInfo');
  checkObject('model', model, 'a ModelInfo');
  // quantization is absent for float graphs (and in indexes older than int8 graphs).
  const show = (k: (typeof MODEL_KEYS)[number], v: unknown): string => (k === 'quantization' && v === undefined ? 'float32' : String(v));
  const diffs = MODEL_KEYS.filter((k) => index[k] !== model[k]).map((k) => `${k}: index ${show(k, index[k])}, model ${show(k, model[k])}`);
  if (index.name !== model.name && index.family !== model.family) diffs.unshift(`name: index ${index.name}, model ${model.name}`);
  // Same family and shape can still be another checkpoint: its weights tell (indexes built before
  // fingerprints were recorded have none, and are checked by the fields above only).
  if (diffs.length === 0 && index.fingerprint !== undefined && model.fingerprint !== undefined && index.fingerprint !== model.fingerprint) {
    diffs.push(`fingerprint: index ${index.fingerprint.slice(0, 12)}…, model ${model.fingerprint.slice(0, 12)}… (same family and shape, different weights or tokenizer)`);
  }
  if (diffs.length > 0) {
    throw new PlaitError('MODEL_MISMATCH', { message: `the index was built with ${index.name}, not ${model.name} (${diffs.join('; ')})`, index: index.name, model: model.name });
  }
}
