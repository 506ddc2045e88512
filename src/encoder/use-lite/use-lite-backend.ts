/**
 * Runs USE-lite with TF.js on the wasm backend and returns the per-token states of the last
 * transformer layer, each row L2-normalised.
 *
 * The graph takes a sparse batch (`indices` [N,2] = (sentence, position), `values` [N] = piece ids)
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
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { USE_LITE_BATCH_DEFAULTS, USE_LITE_DEFAULTS } from '../../config/defaults.js';
import { PlaitError, invalidArgument } from '../../errors/index.js';
import type { EncoderBackend, ModelInfo, TextKind, TokenEmbeddings } from '../types.js';
import { normalizeRows } from '../../util/vectors.js';
import { readModelArtifacts } from './model-files.js';
import type { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';

/** The last transformer layer's output, [batch, tokens, 512]. */
export const TOKEN_STATES_NODE =
  'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_postprocess/add';

export interface UseLiteBackendOptions {
  maxPaddingRatio?: number;
  /** Padded token rows per graph call, >= the model's maxTokens (default USE_LITE_BATCH_DEFAULTS). */
  maxTokensPerCall?: number;
}

let wasmReady: Promise<void> | null = null;

/** Selects the wasm backend once per thread (TF.js state is per thread). */
function ensureWasmBackend(): Promise<void> {
  if (wasmReady === null) {
    wasmReady = (async () => {
      // PROD silences TF.js's console warnings: library code never writes to the console.
      tf.env().set('PROD', true);
      const require = createRequire(import.meta.url);
      const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      setWasmPaths(`${wasmDir}${path.sep}`);
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('tf.setBackend("wasm") returned false');
      await tf.ready();
    })();
    wasmReady.catch(() => {
      wasmReady = null;
    });
  }
  return wasmReady;
}

export class UseLiteBackend implements EncoderBackend {
  private disposed = false;

  private constructor(
    readonly info: ModelInfo,
    private readonly tokenizer: SentencePieceTokenizer,
    private readonly model: tf.GraphModel,
    private readonly maxPaddingRatio: number,
    private readonly maxTokensPerCall: number,
  ) {}

  /**
   * `options.maxPaddingRatio` bounds padded/real tokens per graph call (default in
   * USE_LITE_BATCH_DEFAULTS; Infinity sends a whole batch in one call, as tests do to check padding);
   * `options.maxTokensPerCall` bounds padded rows per call, so the wasm heap's high-water mark.
   */
  static async load(
    dir: string,
    info: ModelInfo,
    tokenizer: SentencePieceTokenizer,
    options: UseLiteBackendOptions = {},
  ): Promise<UseLiteBackend> {
    const maxPaddingRatio = options.maxPaddingRatio ?? USE_LITE_BATCH_DEFAULTS.maxPaddingRatio;
    if (!(maxPaddingRatio >= 1)) throw invalidArgument('maxPaddingRatio', 'a number >= 1', maxPaddingRatio);
    const maxTokensPerCall = options.maxTokensPerCall ?? USE_LITE_BATCH_DEFAULTS.maxTokensPerCall;
    if (!(maxTokensPerCall >= USE_LITE_DEFAULTS.maxTokens)) {
      throw invalidArgument('maxTokensPerCall', `a number >= ${USE_LITE_DEFAULTS.maxTokens}`, maxTokensPerCall);
    }
    const artifacts = await readModelArtifacts(dir);
    try {
      await ensureWasmBackend();
      const handler: tf.io.IOHandler = {
        load: async () => ({
          modelTopology: artifacts.json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
          weightSpecs: artifacts.json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
          weightData: artifacts.weightData,
          format: artifacts.json.format ?? 'graph-model',
          generatedBy: artifacts.json.generatedBy ?? '',
          convertedBy: artifacts.json.convertedBy ?? null,
        }),
      };
      const model = await tf.loadGraphModel(handler);
      return new UseLiteBackend(info, tokenizer, model, maxPaddingRatio, maxTokensPerCall);
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
    let total = 0;
    let longest = 0;
    for (const item of items) {
      total += item.length;
      longest = Math.max(longest, item.length);
    }
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

    let states: Float32Array;
    const inputs = { indices: tf.tensor2d(indices, [total, 2], 'int32'), values: tf.tensor1d(values, 'int32') };
    try {
      const result = (await this.model.executeAsync(inputs, TOKEN_STATES_NODE)) as tf.Tensor;
      try {
        const shape = result.shape;
        if (shape.length !== 3 || shape[0] !== items.length || shape[1] !== longest || shape[2] !== dim) {
          throw new PlaitError('ENCODE_FAILED', {
            message: `USE-lite returned shape [${shape.join(', ')}], expected [${items.length}, ${longest}, ${dim}]`,
          });
        }
        states = (await result.data()) as Float32Array;
      } finally {
        result.dispose();
      }
    } catch (cause) {
      if (cause instanceof PlaitError) throw cause;
      throw new PlaitError('ENCODE_FAILED', { message: `USE-lite: ${String(cause)}` }, { cause });
    } finally {
      inputs.indices.dispose();
      inputs.values.dispose();
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
    this.model.dispose();
  }
}


