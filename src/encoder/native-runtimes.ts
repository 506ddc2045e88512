/**
 * The two native runtimes under the encoders, loaded at their first use (util/lazy-module.ts), not
 * at import. onnxruntime-node (24 CommonJS modules and its binding) had been loaded by every process
 * that imports plait — `plait info`, a delete, the main thread of a server or a CLI command whose
 * encoder runs on worker threads — though only the thread that runs a graph needs it; `tokenizers`
 * serves only checkpoints with a tokenizer.json. Types come from `import type`, which loads nothing.
 */
import { lazyModule } from '../util/lazy-module.js';

/** onnxruntime-node's module: `InferenceSession`, `Tensor`. */
export const onnxRuntime = lazyModule<typeof import('onnxruntime-node')>('onnxruntime-node');

/**
 * Hugging Face's `tokenizers` (a native addon), loaded when the first tokenizer.json is read: the
 * bundled model tokenizes in TypeScript, so most processes never need it.
 */
export const hfTokenizers = lazyModule<typeof import('tokenizers')>('tokenizers');
