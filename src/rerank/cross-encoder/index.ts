export { CrossEncoder } from './cross-encoder.js';
export type { CrossEncoderOptions, CrossRerankOptions, CrossScoreOptions, CrossScoreStats, CrossScorer } from './cross-encoder.js';
export { crossEncoderFiles, relevantClass, onnxCandidates, VARIANT_FILES } from './cross-encoder-files.js';
export type { CrossEncoderFiles, CrossEncoderVariant } from './cross-encoder-files.js';
export { resolveCrossEncoder } from './resolve-cross-encoder.js';
export type { ResolveCrossEncoderOptions } from './resolve-cross-encoder.js';
export { PairTokenizer } from './pair-tokenizer.js';
export type { PairBatch, PairEncoding } from './pair-tokenizer.js';
