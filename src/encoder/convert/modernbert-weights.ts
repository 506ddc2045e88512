/**
 * Tensor names → the ModernBERT weights the graph needs, every shape checked against config.json.
 * Names are transformers' ModernBertModel's (modeling_modernbert.py): `embeddings.tok_embeddings`,
 * `embeddings.norm`, `layers.{i}.attn_norm` (absent for layer 0, an Identity there),
 * `layers.{i}.attn.Wqkv` ([3H, H]: query, key, value rows in that order, each heads × head_dim),
 * `layers.{i}.attn.Wo`, `layers.{i}.mlp_norm`, `layers.{i}.mlp.Wi` ([2I, H]: GeGLU's input rows
 * then its gate rows, torch's `chunk(2, dim=-1)`), `layers.{i}.mlp.Wo`, `final_norm`; biases only
 * where config.json's attention_bias / mlp_bias / norm_bias say. The transformer sits at the root
 * of its file (sentence-transformers / PyLate save the bare ModernBertModel) or under `model.`
 * (ModernBertForMaskedLM). The ColBERT projection is read as for BERT (the Dense modules, or `linear.weight`).
 * Wqkv and Wi are split here into separate [in, out] matrices, so the graph needs no Split.
 */
import { PlaitError } from '../../errors/index.js';
import { mismatch, readColbertProjection, Tensors, transpose, type DenseSource, type HeadWeights, type Linear } from './bert-weights.js';
import type { ModernBertArchitecture } from './modernbert-config.js';
import type { WeightSource, WeightTensor } from './weight-source.js';

/** A LayerNorm's scale and, when norm_bias is true, its shift. */
export interface ModernNorm {
  gamma: Float32Array;
  beta: Float32Array | null;
}

export interface ModernBertLayerWeights {
  /** Null for layer 0 (transformers' nn.Identity). */
  attnNorm: ModernNorm | null;
  query: Linear;
  key: Linear;
  value: Linear;
  attnOutput: Linear;
  mlpNorm: ModernNorm;
  /** GeGLU: Wo(act(x·Wi_input) ⊙ x·Wi_gate). */
  mlpInput: Linear;
  mlpGate: Linear;
  mlpOutput: Linear;
}

export interface ModernBertWeights {
  arch: ModernBertArchitecture;
  tokEmbeddings: WeightTensor;
  embeddingNorm: ModernNorm;
  layers: ModernBertLayerWeights[];
  finalNorm: ModernNorm;
  head: Extract<HeadWeights, { kind: 'colbert' }>;
}

const MODERNBERT_PREFIXES = ['', 'model.'] as const;

/** The prefix under which `src` keeps the ModernBERT, or null when it holds none. */
export function modernBertPrefix(src: WeightSource): string | null {
  return MODERNBERT_PREFIXES.find((p) => src.shape(`${p}embeddings.tok_embeddings.weight`) !== null) ?? null;
}

/** Rows [from, from + count) of a torch [out, in] weight (and its bias) as a Linear. */
function rowsOf(w: WeightTensor, bias: WeightTensor | null, from: number, count: number, inFeatures: number): Linear {
  const rows = w.data.subarray(from * inFeatures, (from + count) * inFeatures);
  return {
    weight: transpose(rows, count, inFeatures),
    bias: bias === null ? null : bias.data.slice(from, from + count),
    inFeatures,
    outFeatures: count,
  };
}

/**
 * Reads every weight of `arch` from `main` (and the projection from `dense` when given).
 * Throws MODEL_MISMATCH when a tensor is missing or its shape contradicts the config, and
 * MODEL_UNSUPPORTED when there is no ColBERT projection (ModernBERT cross-encoders are not converted).
 */
export function readModernBertWeights(arch: ModernBertArchitecture, main: WeightSource, dense: DenseSource[]): ModernBertWeights {
  const prefix = modernBertPrefix(main);
  if (prefix === null) {
    throw mismatch(main.file, `no ModernBERT embeddings (looked for ${MODERNBERT_PREFIXES.map((p) => `${p}embeddings.tok_embeddings.weight`).join(', ')})`);
  }
  const t = new Tensors(main, prefix);
  const H = arch.hiddenSize;
  const I = arch.intermediateSize;
  const cfg = `config.json (hidden_size ${H}, intermediate_size ${I}, vocab_size ${arch.vocabSize}, num_hidden_layers ${arch.numLayers})`;
  const norm = (name: string): ModernNorm => ({
    gamma: t.take(`${name}.weight`, [H], cfg).data,
    beta: arch.normBias ? t.take(`${name}.bias`, [H], `${cfg} with norm_bias true`).data : null,
  });
  const weightAndBias = (name: string, out: number, inF: number, withBias: boolean): [WeightTensor, WeightTensor | null] => [
    t.take(`${name}.weight`, [out, inF], cfg),
    withBias ? t.take(`${name}.bias`, [out], cfg) : null,
  ];
  const tokEmbeddings = t.take('embeddings.tok_embeddings.weight', [arch.vocabSize, H], cfg);
  if (t.has(`layers.${arch.numLayers}.attn.Wqkv.weight`)) {
    throw mismatch(main.file, `it holds more than the ${arch.numLayers} layers config.json's num_hidden_layers says`);
  }
  const layers: ModernBertLayerWeights[] = [];
  for (let l = 0; l < arch.numLayers; l++) {
    const p = `layers.${l}.`;
    const [qkv, qkvBias] = weightAndBias(`${p}attn.Wqkv`, 3 * H, H, arch.attentionBias);
    const [wi, wiBias] = weightAndBias(`${p}mlp.Wi`, 2 * I, H, arch.mlpBias);
    layers.push({
      attnNorm: l === 0 ? null : norm(`${p}attn_norm`),
      query: rowsOf(qkv, qkvBias, 0, H, H),
      key: rowsOf(qkv, qkvBias, H, H, H),
      value: rowsOf(qkv, qkvBias, 2 * H, H, H),
      attnOutput: t.linear(`${p}attn.Wo`, H, H, cfg, arch.attentionBias),
      mlpNorm: norm(`${p}mlp_norm`),
      mlpInput: rowsOf(wi, wiBias, 0, I, H),
      mlpGate: rowsOf(wi, wiBias, I, I, H),
      mlpOutput: t.linear(`${p}mlp.Wo`, I, H, cfg, arch.mlpBias),
    });
  }
  const head = readColbertProjection(H, main, dense);
  if (head === null) {
    throw new PlaitError('MODEL_UNSUPPORTED', {
      message: `${main.file} is a ModernBERT without a ColBERT projection (a 1_Dense/ folder, or linear.weight); plait converts ModernBERT ColBERT checkpoints (PyLate layout): if this is one, copy its 1_Dense/ folder and modules.json from the repository (or pull it whole: plait model pull <org/name>); a plain ModernBERT or a ModernBERT cross-encoder needs an ONNX export (optimum-cli export onnx) instead`,
      file: main.file,
    });
  }
  return { arch, tokEmbeddings, embeddingNorm: norm('embeddings.norm'), layers, finalNorm: norm('final_norm'), head };
}
