/**
 * Tensor names → the BERT weights the graph needs, every shape checked against config.json. The
 * transformer is found under the prefix its layout uses (`bert.` for ColBERT's HF_ColBERT and
 * transformers' BertFor* heads, none for a sentence-transformers / PyLate BertModel); the head is
 * one of:
 * - ColBERT projection: `linear.weight` beside the transformer (HF_ColBERT, no bias), or
 *   `1_Dense/` (`linear.weight`, optional `linear.bias`, Identity or Tanh activation) for PyLate;
 * - classifier (cross-encoders, BertForSequenceClassification): `bert.pooler.dense.*` then
 *   `classifier.*`, giving logits.
 * Old TF-converted checkpoints name LayerNorm parameters gamma/beta; both spellings are read.
 * Linear weights are stored transposed ([in, out]) so the graph multiplies without a Transpose.
 */
import { PlaitError } from '../../errors/index.js';
import type { BertArchitecture } from './bert-config.js';
import type { WeightSource, WeightTensor } from './weight-source.js';

export interface Linear {
  /** [inFeatures, outFeatures], row-major (torch's weight transposed). */
  weight: Float32Array;
  bias: Float32Array | null;
  inFeatures: number;
  outFeatures: number;
}

export interface Norm {
  gamma: Float32Array;
  beta: Float32Array;
}

export interface LayerWeights {
  query: Linear;
  key: Linear;
  value: Linear;
  attentionOutput: Linear;
  attentionNorm: Norm;
  intermediate: Linear;
  output: Linear;
  outputNorm: Norm;
}

/** One Dense module: y = activation(x·W + b). */
export interface Projection {
  linear: Linear;
  activation: 'identity' | 'tanh';
}

/** ColBERT: the projections applied in order, then L2 normalisation; cross-encoder: pooler + classifier. */
export type HeadWeights = { kind: 'colbert'; projections: Projection[] } | { kind: 'classifier'; pooler: Linear; classifier: Linear };

/** A Dense module's weights and its config.json. */
export interface DenseSource {
  src: WeightSource;
  config: DenseConfig;
}

export interface BertWeights {
  arch: BertArchitecture;
  wordEmbeddings: WeightTensor;
  positionEmbeddings: WeightTensor;
  tokenTypeEmbeddings: WeightTensor | null;
  embeddingNorm: Norm;
  layers: LayerWeights[];
  head: HeadWeights;
}

/** 1_Dense/config.json as sentence-transformers writes it. */
export interface DenseConfig {
  in_features?: number;
  out_features?: number;
  bias?: boolean;
  activation_function?: string;
}

const BERT_PREFIXES = ['bert.', '', 'model.', 'encoder.'] as const;

export function mismatch(file: string, message: string): PlaitError {
  return new PlaitError('MODEL_MISMATCH', { message: `${file}: ${message}; does config.json belong to these weights?`, file });
}

/** Tensors of one weights file under a name prefix, each taken with its shape checked. */
export class Tensors {
  constructor(
    readonly src: WeightSource,
    readonly prefix: string,
  ) {}

  has(name: string): boolean {
    return this.src.shape(this.prefix + name) !== null;
  }

  /** The tensor with the expected shape; MODEL_MISMATCH when absent or shaped otherwise. */
  take(name: string, expected: number[], why: string, aliases: string[] = []): WeightTensor {
    for (const n of [name, ...aliases]) {
      const full = this.prefix + n;
      const shape = this.src.shape(full);
      if (shape === null) continue;
      if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
        throw mismatch(this.src.file, `${full} has shape [${shape.join(', ')}] but ${why} implies [${expected.join(', ')}]`);
      }
      return this.src.get(full)!;
    }
    throw mismatch(this.src.file, `no tensor ${this.prefix + name} (${why})`);
  }

  linear(name: string, inFeatures: number, outFeatures: number, why: string, withBias = true): Linear {
    const w = this.take(`${name}.weight`, [outFeatures, inFeatures], why);
    const bias = withBias ? this.take(`${name}.bias`, [outFeatures], why).data : this.has(`${name}.bias`) ? this.take(`${name}.bias`, [outFeatures], why).data : null;
    return { weight: transpose(w.data, outFeatures, inFeatures), bias, inFeatures, outFeatures };
  }

  norm(name: string, size: number, why: string): Norm {
    return {
      gamma: this.take(`${name}.weight`, [size], why, [`${name}.gamma`]).data,
      beta: this.take(`${name}.bias`, [size], why, [`${name}.beta`]).data,
    };
  }
}

/** [rows, cols] → [cols, rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[base + c]!;
  }
  return out;
}

/** The prefix under which `src` keeps the BERT, or null when it holds none. */
export function bertPrefix(src: WeightSource): string | null {
  return BERT_PREFIXES.find((p) => src.shape(`${p}embeddings.word_embeddings.weight`) !== null) ?? null;
}

const DENSE_ACTIVATIONS: Record<string, 'identity' | 'tanh'> = {
  'torch.nn.modules.linear.Identity': 'identity',
  'torch.nn.modules.activation.Tanh': 'tanh',
};

/**
 * Reads every weight of `arch` from `main` (and the projection from `dense` when given).
 * Throws MODEL_MISMATCH when a tensor is missing or its shape contradicts the config, and
 * MODEL_UNSUPPORTED for a checkpoint with neither a ColBERT projection nor a classifier head.
 */
export function readBertWeights(arch: BertArchitecture, main: WeightSource, dense: DenseSource[]): BertWeights {
  const prefix = bertPrefix(main);
  if (prefix === null) {
    throw mismatch(main.file, `no BERT embeddings (looked for ${BERT_PREFIXES.map((p) => `${p}embeddings.word_embeddings.weight`).join(', ')})`);
  }
  const t = new Tensors(main, prefix);
  const H = arch.hiddenSize;
  const I = arch.intermediateSize;
  const cfg = `config.json (hidden_size ${H}, intermediate_size ${I}, vocab_size ${arch.vocabSize}, max_position_embeddings ${arch.maxPositions}, type_vocab_size ${arch.typeVocabSize})`;
  const wordEmbeddings = t.take('embeddings.word_embeddings.weight', [arch.vocabSize, H], cfg);
  const positionEmbeddings = t.take('embeddings.position_embeddings.weight', [arch.maxPositions, H], cfg);
  const tokenTypeEmbeddings = arch.typeVocabSize > 0 ? t.take('embeddings.token_type_embeddings.weight', [arch.typeVocabSize, H], cfg) : null;
  const embeddingNorm = t.norm('embeddings.LayerNorm', H, cfg);
  if (t.has(`encoder.layer.${arch.numLayers}.attention.self.query.weight`)) {
    throw mismatch(main.file, `it holds more than the ${arch.numLayers} layers config.json's num_hidden_layers says`);
  }
  const layers: LayerWeights[] = [];
  for (let l = 0; l < arch.numLayers; l++) {
    const p = `encoder.layer.${l}.`;
    const why = `${cfg} with num_hidden_layers ${arch.numLayers}`;
    layers.push({
      query: t.linear(`${p}attention.self.query`, H, H, why),
      key: t.linear(`${p}attention.self.key`, H, H, why),
      value: t.linear(`${p}attention.self.value`, H, H, why),
      attentionOutput: t.linear(`${p}attention.output.dense`, H, H, why),
      attentionNorm: t.norm(`${p}attention.output.LayerNorm`, H, why),
      intermediate: t.linear(`${p}intermediate.dense`, H, I, why),
      output: t.linear(`${p}output.dense`, I, H, why),
      outputNorm: t.norm(`${p}output.LayerNorm`, H, why),
    });
  }
  return { arch, wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embeddingNorm, layers, head: readHead(arch, main, prefix, dense) };
}

function readHead(arch: BertArchitecture, main: WeightSource, prefix: string, dense: DenseSource[]): HeadWeights {
  const H = arch.hiddenSize;
  const colbert = readColbertProjection(H, main, dense);
  if (colbert !== null) return colbert;
  if (main.shape('classifier.weight') !== null) {
    const why = `config.json (hidden_size ${H}, ${arch.numLabels} labels)`;
    return {
      kind: 'classifier',
      pooler: new Tensors(main, prefix).linear('pooler.dense', H, H, why),
      classifier: new Tensors(main, '').linear('classifier', H, arch.numLabels, why),
    };
  }
  throw new PlaitError('MODEL_UNSUPPORTED', {
    message: `${main.file} is a BERT without a ColBERT projection (linear.weight, or a 1_Dense/ folder) or a classifier head (classifier.weight); plait converts ColBERT and cross-encoder checkpoints: if this is one, copy its 1_Dense/ folder and modules.json from the repository (or pull it whole: plait model pull <org/name>)`,
    file: main.file,
  });
}

/**
 * ColBERT's projection from hidden size H: the Dense modules when given (PyLate,
 * sentence-transformers; one or a chain, each module's input the previous one's output), else a
 * root `linear.weight` beside the transformer (HF_ColBERT, no bias); null when neither is there.
 * Throws MODEL_MISMATCH / MODEL_UNSUPPORTED for a Dense module that contradicts its config or uses
 * another activation than Identity or Tanh.
 */
export function readColbertProjection(H: number, main: WeightSource, dense: DenseSource[]): Extract<HeadWeights, { kind: 'colbert' }> | null {
  if (dense.length > 0) {
    const projections: Projection[] = [];
    let width = H;
    for (const d of dense) {
      const shape = d.src.shape('linear.weight');
      if (shape === null || shape.length !== 2) throw mismatch(d.src.file, 'no 2-d linear.weight (the sentence-transformers Dense projection)');
      const out = shape[0]!;
      const c = d.config;
      if ((c.in_features !== undefined && c.in_features !== width) || (c.out_features !== undefined && c.out_features !== out)) {
        throw mismatch(d.src.file, `its config.json says ${c.in_features} → ${c.out_features} but the weights are ${shape[1]} → ${out} on an input of width ${width}`);
      }
      const act = c.activation_function ?? 'torch.nn.modules.linear.Identity';
      const activation = DENSE_ACTIVATIONS[act];
      if (activation === undefined) {
        throw new PlaitError('MODEL_UNSUPPORTED', { message: `${d.src.file}: the Dense projection's activation ${act} is not supported (Identity and Tanh are)`, file: d.src.file });
      }
      projections.push({ linear: new Tensors(d.src, '').linear('linear', width, out, `a ${width} → ${out} projection`, c.bias === true), activation });
      width = out;
    }
    return { kind: 'colbert', projections };
  }
  const linearShape = main.shape('linear.weight');
  if (linearShape !== null && linearShape.length === 2) {
    return { kind: 'colbert', projections: [{ linear: new Tensors(main, '').linear('linear', H, linearShape[0]!, `a ${H} → ${linearShape[0]} projection`, false), activation: 'identity' }] };
  }
  return null;
}
