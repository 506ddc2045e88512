/**
 * `config.json` → the architecture of a checkpoint plait can convert, by its `model_type`:
 * "modernbert" → ModernBertArchitecture, anything else through bertArchitecture (which refuses
 * what is not an absolute-position BERT with MODEL_UNSUPPORTED).
 */
import { bertArchitecture, type BertArchitecture } from './bert-config.js';
import { modernBertArchitecture, type ModernBertArchitecture } from './modernbert-config.js';

export type ModelArchitecture = BertArchitecture | ModernBertArchitecture;

/** Throws MODEL_UNSUPPORTED, MODEL_MISMATCH or MODEL_LOAD_FAILED as the family's reader does. */
export function modelArchitecture(config: Record<string, unknown>, source: string): ModelArchitecture {
  return config['model_type'] === 'modernbert' ? modernBertArchitecture(config, source) : bertArchitecture(config, source);
}
