export {
  ensureConvertedGraph,
  convertCheckpoint,
  convertedGraphDir,
  convertManifestFor,
  isConvertibleCheckpoint,
  CONVERTER_VERSION,
  CONVERTED_GRAPH_FILE,
  CONVERT_MANIFEST_FILE,
} from './convert-checkpoint.js';
export type { ConvertedGraph, ConvertManifest, ConvertOptions, ConvertedHead, SourceFile, GraphQuantization } from './convert-checkpoint.js';
export { findCheckpointLayout, layoutSources, openWeights, WEIGHT_FILES, TRANSFORMER_DIRS, DENSE_DIR } from './checkpoint-layout.js';
export type { CheckpointLayout } from './checkpoint-layout.js';
export { bertArchitecture } from './bert-config.js';
export type { BertArchitecture, HiddenAct } from './bert-config.js';
export { modelArchitecture } from './model-architecture.js';
export type { ModelArchitecture } from './model-architecture.js';
export { modernBertArchitecture } from './modernbert-config.js';
export type { ModernBertArchitecture, AttentionKind } from './modernbert-config.js';
export { readModernBertWeights } from './modernbert-weights.js';
export type { ModernBertWeights } from './modernbert-weights.js';
export { buildModernBertGraph } from './modernbert-graph-builder.js';
export { readBertWeights } from './bert-weights.js';
export type { BertWeights, DenseConfig } from './bert-weights.js';
export { buildBertGraph, EMBEDDINGS_OUTPUT, LOGITS_OUTPUT, GRAPH_OPSET } from './bert-graph-builder.js';
export { SafetensorsReader } from './safetensors-reader.js';
export { TorchCheckpointReader } from './torch-checkpoint-reader.js';
export { readTorchPickle, ALLOWED_GLOBALS } from './torch-pickle.js';
export type { WeightSource, WeightTensor } from './weight-source.js';
