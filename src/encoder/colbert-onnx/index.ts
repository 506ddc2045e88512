/**
 * The colbert-onnx model family: ColBERT checkpoints exported to ONNX (colbert-ir/colbertv2.0,
 * answerdotai/answerai-colbert-small-v1, PyLate exports). See checkpoint-config.ts for the layouts.
 */
import { PlaitError } from '../../errors/index.js';
import type { BackendOptions, EncoderBackend, ModelFamily, ModelSpec, TextTokenizer } from '../types.js';
import type { ColbertSpec } from './checkpoint-config.js';
import { ColbertOnnxBackend } from './colbert-backend.js';
import { loadColbertTokenizer } from './colbert-tokenizer.js';

function colbertSpec(spec: ModelSpec): ColbertSpec {
  if (spec.family !== 'colbert-onnx') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `colbert-onnx cannot load a "${spec.family}" model spec` });
  }
  return spec;
}

export const colbertOnnxFamily: ModelFamily = {
  name: 'colbert-onnx',
  loadTokenizer: (spec: ModelSpec): Promise<TextTokenizer> => loadColbertTokenizer(colbertSpec(spec)),
  loadBackend: (spec: ModelSpec, options: BackendOptions): Promise<EncoderBackend> => ColbertOnnxBackend.load(colbertSpec(spec), options),
};

export { readCheckpoint, checkpointFiles, ONNX_FILE_CANDIDATES, TOKENIZER_FILE, CONFIG_FILES } from './checkpoint-config.js';
export type { ColbertCheckpoint, ColbertSpec } from './checkpoint-config.js';
export { buildBatch, wrapTokens, contentRoom } from './colbert-inputs.js';
export type { ColbertBatch, SpecialIds, InputSettings } from './colbert-inputs.js';
export { BertTokenizer, wordPieceSettings, syncTokenizerFor } from './bert-tokenizer.js';
export { BridgedTokenizer, codePointsToUtf16 } from './tokenizer-bridge.js';
export { readOutputShape } from './onnx-output-shape.js';
