/**
 * Runs USE-lite and returns the per-token states of the last transformer layer, each row
 * L2-normalised. Two engines compute the same states: onnxruntime on the graph use-lite-graph.ts
 * rebuilds from the TF.js weights (the default: several times faster, see bench/RESULTS.md
 * "Bundled model on onnxruntime"), and TF.js on the wasm backend running the shipped graph, kept as
 * the reference the ONNX graph is tested against (`engine: 'tfjs'`, or PLAIT_USE_LITE_ENGINE=tfjs).
 *
 * The TF.js graph takes a sparse batch (`indices` [N,2] = (sentence, position), `values` [N] = piece ids)
 * and densifies it internally, padding every sentence to the longest one and masking the padding in
 * attention (a text's vectors are the same alone or in a batch; test/use-lite.test.ts checks it).
 * Since padded positions still cost compute, a batch is cut into calls of similar lengths. The graph
 * also drops positions >= 128; we clip first so that returned rows and token ids agree.
 *
 * TF.js keeps global state (one backend per thread), which suits the encoder pool: one backend per
 * worker, or one in-process with `threads: 0`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from '../native-runtimes.js';
import { USE_LITE_BATCH_DEFAULTS, USE_LITE_DEFAULTS } from '../../config/defaults.js';
import { PlaitError, invalidArgument } from '../../errors/index.js';
import type { EncoderBackend, ModelInfo, TextKind, TokenEmbeddings } from '../types.js';
import { normalizeRows } from '../../util/vectors.js';
import { readModelArtifacts, type ModelArtifactsOnDisk } from './model-files.js';
import type { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import { buildUseLiteGraph, USE_LITE_STATES_OUTPUT } from './use-lite-graph.js';

type Tf = typeof import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;

/** The last transformer layer's output, [batch, tokens, 512]. */
export const TOKEN_STATES_NODE =
  'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_postprocess/add';

/** Which runtime computes the states: onnxruntime (default) or TF.js-wasm (the reference). */
export type UseLiteEngine = 'onnx' | 'tfjs';

export interface UseLiteBackendOptions {
  /** Default: PLAIT_USE_LITE_ENGINE when set to onnx or tfjs, else 'onnx'. */
  engine?: UseLiteEngine;
  /** onnxruntime intra-op threads (the onnx engine; TF.js-wasm runs single-threaded under Node). */
  intraOpNumThreads?: number;
  maxPaddingRatio?: number;
  /** Padded token rows per graph call, >= the model's maxTokens (default USE_LITE_BATCH_DEFAULTS). */
  maxTokensPerCall?: number;
}

let wasmReady: Promise<Tf> | null = null;

/** Loads TF.js and selects its wasm backend once per thread (TF.js state is per thread). */
function ensureWasmBackend(): Promise<Tf> {
  if (wasmReady === null) {
    wasmReady = (async () => {
      const tf = await import('@tensorflow/tfjs');
      const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
      // PROD silences TF.js's console warnings: library code never writes to the console.
      tf.env().set('PROD', true);
      const require = createRequire(import.meta.url);
      const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      setWasmPaths(`${wasmDir}${path.sep}`);
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('tf.setBackend("wasm") returned false');
      await tf.ready();
      return tf;
    })();
    wasmReady.catch(() => {
      wasmReady = null;
    });
  }
  return wasmReady;
}

/** States [items, longest, dim] of token ids, padded to the longest item. */
type StatesRunner = { run(items: TokenEmbeddings[], longest: number): Promise<Float32Array>; dispose(): Promise<void> };

/** onnxruntime on the rebuilt graph: dense input_ids / attention_mask. */
async function onnxRunner(artifacts: ModelArtifactsOnDisk, intraOpNumThreads: number): Promise<StatesRunner> {
  const session = await onnxRuntime().InferenceSession.create(buildUseLiteGraph(artifacts), { intraOpNumThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  return {
    async run(items, longest) {
      const n = items.length;
      const ids = new BigInt64Array(n * longest);
      const mask = new BigInt64Array(n * longest);
      items.forEach((item, b) => {
        for (let t = 0; t < item.length; t++) {
          ids[b * longest + t] = BigInt(item.tokenIds[t]!);
          mask[b * longest + t] = 1n;
        }
      });
      const out = await session.run({ input_ids: new (onnxRuntime().Tensor)('int64', ids, [n, longest]), attention_mask: new (onnxRuntime().Tensor)('int64', mask, [n, longest]) });
      return out[USE_LITE_STATES_OUTPUT]!.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

/** TF.js-wasm on the shipped graph: a sparse batch of (sentence, position) → piece id. */
async function tfjsRunner(artifacts: ModelArtifactsOnDisk, dim: number): Promise<StatesRunner> {
  const tf = await ensureWasmBackend();
  const handler: import('@tensorflow/tfjs').io.IOHandler = {
    load: async () => ({
      modelTopology: artifacts.json.modelTopology as import('@tensorflow/tfjs').io.ModelArtifacts['modelTopology'],
      weightSpecs: artifacts.json.weightsManifest.flatMap((g) => g.weights) as import('@tensorflow/tfjs').io.WeightsManifestEntry[],
      weightData: artifacts.weightData,
      format: artifacts.json.format ?? 'graph-model',
      generatedBy: artifacts.json.generatedBy ?? '',
      convertedBy: artifacts.json.convertedBy ?? null,
    }),
  };
  const model = await tf.loadGraphModel(handler);
  return {
    async run(items, longest) {
      let total = 0;
      for (const item of items) total += item.length;
      const indices = new Int32Array(total * 2);
      const values = new Int32Array(total);
      let k = 0;
      items.forEach((item, sentence) => {
        for (let p = 0; p < item.length; p++, k++) {
          indices[2 * k] = sentence;
          indices[2 * k + 1] = p;
          values[k] = item.tokenIds[p]!;
        }
      });
      const inputs = { indices: tf.tensor2d(indices, [total, 2], 'int32'), values: tf.tensor1d(values, 'int32') };
      try {
        const result = (await model.executeAsync(inputs, TOKEN_STATES_NODE)) as TfTensor;
        try {
          const shape = result.shape;
          if (shape.length !== 3 || shape[0] !== items.length || shape[1] !== longest || shape[2] !== dim) {
            throw new PlaitError('ENCODE_FAILED', { message: `USE-lite returned shape [${shape.join(', ')}], expected [${items.length}, ${longest}, ${dim}]` });
          }
          return (await result.data()) as Float32Array;
        } finally {
          result.dispose();
        }
      } finally {
        inputs.indices.dispose();
        inputs.values.dispose();
      }
    },
    dispose: async () => model.dispose(),
  };
}

function engineFrom(option: UseLiteEngine | undefined): UseLiteEngine {
  const chosen = option ?? (process.env['PLAIT_USE_LITE_ENGINE'] as UseLiteEngine | undefined) ?? 'onnx';
  if (chosen !== 'onnx' && chosen !== 'tfjs') throw invalidArgument('engine', '"onnx" or "tfjs" (PLAIT_USE_LITE_ENGINE)', chosen);
  return chosen;
}

export class UseLiteBackend implements EncoderBackend {
  private disposed = false;

  private constructor(
    readonly info: ModelInfo,
    readonly engine: UseLiteEngine,
    private readonly tokenizer: SentencePieceTokenizer,
    private readonly runner: StatesRunner,
    private readonly maxPaddingRatio: number,
    private readonly maxTokensPerCall: number,
  ) {}

  /**
   * `options.engine` picks onnxruntime (default) or TF.js-wasm; `options.maxPaddingRatio` bounds
   * padded/real tokens per graph call (default in USE_LITE_BATCH_DEFAULTS; Infinity sends a whole
   * batch in one call, as tests do to check padding); `options.maxTokensPerCall` bounds padded rows
   * per call, so the memory high-water mark. Throws INVALID_ARGUMENT, MODEL_LOAD_FAILED.
   */
  static async load(
    dir: string,
    info: ModelInfo,
    tokenizer: SentencePieceTokenizer,
    options: UseLiteBackendOptions = {},
  ): Promise<UseLiteBackend> {
    const engine = engineFrom(options.engine);
    const maxPaddingRatio = options.maxPaddingRatio ?? USE_LITE_BATCH_DEFAULTS.maxPaddingRatio;
    if (!(maxPaddingRatio >= 1)) throw invalidArgument('maxPaddingRatio', 'a number >= 1', maxPaddingRatio);
    const maxTokensPerCall = options.maxTokensPerCall ?? USE_LITE_BATCH_DEFAULTS.maxTokensPerCall;
    if (!(maxTokensPerCall >= USE_LITE_DEFAULTS.maxTokens)) {
      throw invalidArgument('maxTokensPerCall', `a number >= ${USE_LITE_DEFAULTS.maxTokens}`, maxTokensPerCall);
    }
    const artifacts = await readModelArtifacts(dir);
    try {
      const runner = engine === 'onnx' ? await onnxRunner(artifacts, options.intraOpNumThreads ?? 1) : await tfjsRunner(artifacts, info.dim);
      return new UseLiteBackend(info, engine, tokenizer, runner, maxPaddingRatio, maxTokensPerCall);
    } catch (cause) {
      if (cause instanceof PlaitError) throw cause;
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `USE-lite from ${dir}: ${String(cause)}`, path: dir }, { cause });
    }
  }

  /** Queries and documents are encoded the same way: this model has no markers or query augmentation. */
  async encode(texts: string[], _kind: TextKind): Promise<TokenEmbeddings[]> {
    if (this.disposed) throw new PlaitError('ENCODE_FAILED', { message: 'the USE-lite backend is disposed' });
    const maxTokens = USE_LITE_DEFAULTS.maxTokens;
    const out: TokenEmbeddings[] = texts.map((t) => {
      const all = this.tokenizer.tokenize(t).ids;
      const ids = all.length > maxTokens ? all.slice(0, maxTokens) : all;
      return { vectors: new Float32Array(ids.length * this.info.dim), tokenIds: ids, length: ids.length };
    });
    // Texts with no tokens stay empty and never reach the graph (a sentence with no entries would
    // shift the batch). The rest go in calls of similar lengths, shortest first.
    const order = out
      .map((_, i) => i)
      .filter((i) => out[i]!.length > 0)
      .sort((a, b) => out[a]!.length - out[b]!.length || a - b);
    let group: TokenEmbeddings[] = [];
    let groupTokens = 0;
    for (const i of order) {
      const item = out[i]!;
      const padded = (group.length + 1) * item.length;
      const tooPadded = padded > this.maxPaddingRatio * (groupTokens + item.length);
      if (group.length > 0 && (tooPadded || padded > this.maxTokensPerCall)) {
        await this.runGraph(group);
        group = [];
        groupTokens = 0;
      }
      group.push(item);
      groupTokens += item.length;
    }
    if (group.length > 0) await this.runGraph(group);
    return out;
  }

  /** One graph call: fills each item's `vectors` from its `tokenIds`, rows L2-normalised. */
  private async runGraph(items: TokenEmbeddings[]): Promise<void> {
    const dim = this.info.dim;
    let longest = 0;
    for (const item of items) longest = Math.max(longest, item.length);
    let states: Float32Array;
    try {
      states = await this.runner.run(items, longest);
    } catch (cause) {
      if (cause instanceof PlaitError) throw cause;
      throw new PlaitError('ENCODE_FAILED', { message: `USE-lite: ${String(cause)}` }, { cause });
    }
    items.forEach((item, sentence) => {
      const base = sentence * longest * dim;
      item.vectors.set(states.subarray(base, base + item.length * dim));
      normalizeRows(item.vectors, item.length, dim);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runner.dispose();
  }
}


