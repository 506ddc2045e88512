/**
 * What a converted graph promises its callers, apart from how it is written: its opset and IR
 * version, its output names, its metadata and its quantisation. Kept out of onnx-graph-builder.ts so
 * that the public declarations reaching these names (convert-checkpoint → bert-graph-builder) do not
 * import onnx-proto's typings, which name a global `Long` that only @types/long declares: a strict
 * TypeScript consumer without skipLibCheck failed on them (TS2304 "Cannot find name 'Long'", 24 times).
 */

export const GRAPH_OPSET = 17;
export const GRAPH_IR_VERSION = 8;
/** Output names: ColBERT token embeddings, cross-encoder scores. */
export const EMBEDDINGS_OUTPUT = 'embeddings';
export const LOGITS_OUTPUT = 'logits';

export interface GraphMetadata {
  /** Free-form key → value pairs stored in ModelProto.metadata_props (e.g. the source hashes). */
  [key: string]: string;
}

/** How linear layers are written: float32 MatMul, or int8 weights with dynamically quantised activations. */
export type Quantization = 'none' | 'int8';
