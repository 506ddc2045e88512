/**
 * A self-generated BERT cross-encoder for the tests and the benchmark: embeddings (word + position
 * + token type) → LayerNorm → `layers` × (multi-head self-attention, FFN with erf GELU, post-LN)
 * → pooler (tanh dense on [CLS]) → classifier → `logits` [batch, numLabels]; inputs input_ids,
 * attention_mask, token_type_ids, the interface of cross-encoder/ms-marco-MiniLM-L-6-v2's ONNX export.
 * Seeded random weights; the weights are returned too, so a test can run its own forward pass.
 * Hub layouts: 'transformers.js' (onnx/model.onnx + tokenizer.json + config.json at the root),
 * 'optimum' (model.onnx at the root), with optional quantised-variant file names.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mulberry32 as rng } from '../../src/util/random.js';
import { DataType, model, node, tensor, valueInfo, type ProtoWriter } from '../../fixtures/onnx-proto.js';
import { tinyTokenizerJson, tinyVocab } from '../../fixtures/tiny-colbert.js';

export interface CrossGraphOptions {
  vocabSize: number;
  hidden: number;
  heads: number;
  ffn: number;
  layers: number;
  maxPositions: number;
  numLabels: number;
  withTokenTypes: boolean;
  seed: number;
  /** Scale of the random classifier weights (larger spreads the logits). */
  classifierScale?: number;
  /** Reach the position table through an Identity node: no load-time walk sees it (fixtures/tiny-colbert.ts). */
  hidePositionTable?: boolean;
}

export type CrossWeights = Map<string, { dims: number[]; data: Float32Array }>;

/** The ONNX bytes (opset 17) and the weights by initializer name. */
export function crossEncoderGraph(o: CrossGraphOptions): { bytes: Uint8Array; weights: CrossWeights } {
  const rand = rng(o.seed);
  const H = o.hidden;
  const d = H / o.heads;
  if (!Number.isInteger(d)) throw new Error('hidden must be a multiple of heads');
  const weights: CrossWeights = new Map();
  const init: ProtoWriter[] = [];
  const param = (name: string, dims: number[], scale: number, fill?: number): string => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = fill ?? (rand() * 2 - 1) * scale;
    weights.set(name, { dims, data });
    init.push(tensor(name, dims, data));
    return name;
  };
  const constant = (name: string, value: Float32Array | BigInt64Array, dims: number[] = []): string => {
    init.push(tensor(name, dims, value));
    return name;
  };
  constant('c_zero', BigInt64Array.of(0n));
  constant('c_one', BigInt64Array.of(1n));
  constant('c_axes12', BigInt64Array.of(1n, 2n), [2]);
  constant('c_onef', Float32Array.of(1));
  constant('c_half', Float32Array.of(0.5));
  constant('c_neg', Float32Array.of(-10000));
  constant('c_sqrt2', Float32Array.of(Math.SQRT2));
  constant('c_scale', Float32Array.of(1 / Math.sqrt(d)));
  constant('c_split', BigInt64Array.of(0n, 0n, BigInt(o.heads), BigInt(d)), [4]);
  constant('c_merge', BigInt64Array.of(0n, 0n, BigInt(H)), [3]);
  const nodes: ProtoWriter[] = [];
  const ln = (x: string, name: string, out: string): void => {
    param(`${name}_g`, [H], 0, 1);
    param(`${name}_b`, [H], 0.1);
    nodes.push(node('LayerNormalization', [x, `${name}_g`, `${name}_b`], [out], { axis: -1, epsilon: { float: 1e-12 } }));
  };
  const dense = (x: string, name: string, inDim: number, outDim: number, scale: number, out: string): void => {
    param(`${name}_w`, [inDim, outDim], scale);
    param(`${name}_bias`, [outDim], 0.1);
    nodes.push(node('MatMul', [x, `${name}_w`], [`${out}_mm`]), node('Add', [`${out}_mm`, `${name}_bias`], [out]));
  };

  param('W_word', [o.vocabSize, H], 1);
  param('W_pos', [o.maxPositions, H], 0.3);
  if (o.hidePositionTable === true) nodes.push(node('Identity', ['W_pos'], ['W_pos_seen']));
  nodes.push(
    node('Gather', ['W_word', 'input_ids'], ['tok']),
    node('Shape', ['input_ids'], ['shp']),
    node('Gather', ['shp', 'c_one'], ['seqlen'], { axis: 0 }),
    node('Range', ['c_zero', 'seqlen', 'c_one'], ['pos_ids']),
    node('Gather', [o.hidePositionTable === true ? 'W_pos_seen' : 'W_pos', 'pos_ids'], ['pos']),
    node('Add', ['tok', 'pos'], ['emb0']),
  );
  let emb = 'emb0';
  if (o.withTokenTypes) {
    param('W_type', [2, H], 0.3);
    nodes.push(node('Gather', ['W_type', 'token_type_ids'], ['typ']), node('Add', ['emb0', 'typ'], ['emb1']));
    emb = 'emb1';
  }
  ln(emb, 'ln_emb', 'x0');
  nodes.push(
    node('Cast', ['attention_mask'], ['mf'], { to: DataType.FLOAT }),
    node('Sub', ['c_onef', 'mf'], ['inv']),
    node('Mul', ['inv', 'c_neg'], ['madd']),
    node('Unsqueeze', ['madd', 'c_axes12'], ['madd4']),
  );
  const ws = 1 / Math.sqrt(H);
  let x = 'x0';
  for (let l = 0; l < o.layers; l++) {
    const p = `l${l}`;
    for (const m of ['q', 'k', 'v']) {
      dense(x, `${p}_${m}`, H, H, ws, `${p}_${m}`);
      nodes.push(node('Reshape', [`${p}_${m}`, 'c_split'], [`${p}_${m}4`]));
    }
    nodes.push(
      node('Transpose', [`${p}_q4`], [`${p}_qh`], { perm: [0, 2, 1, 3] }),
      node('Transpose', [`${p}_k4`], [`${p}_kt`], { perm: [0, 2, 3, 1] }),
      node('Transpose', [`${p}_v4`], [`${p}_vh`], { perm: [0, 2, 1, 3] }),
      node('MatMul', [`${p}_qh`, `${p}_kt`], [`${p}_s0`]),
      node('Mul', [`${p}_s0`, 'c_scale'], [`${p}_s1`]),
      node('Add', [`${p}_s1`, 'madd4'], [`${p}_s2`]),
      node('Softmax', [`${p}_s2`], [`${p}_pr`], { axis: -1 }),
      node('MatMul', [`${p}_pr`, `${p}_vh`], [`${p}_ctx`]),
      node('Transpose', [`${p}_ctx`], [`${p}_ctxt`], { perm: [0, 2, 1, 3] }),
      node('Reshape', [`${p}_ctxt`, 'c_merge'], [`${p}_ctx3`]),
    );
    dense(`${p}_ctx3`, `${p}_o`, H, H, ws, `${p}_att`);
    nodes.push(node('Add', [`${p}_att`, x], [`${p}_res1`]));
    ln(`${p}_res1`, `${p}_ln1`, `${p}_h1`);
    dense(`${p}_h1`, `${p}_f1`, H, o.ffn, ws, `${p}_f1`);
    nodes.push(
      node('Div', [`${p}_f1`, 'c_sqrt2'], [`${p}_g0`]),
      node('Erf', [`${p}_g0`], [`${p}_g1`]),
      node('Add', [`${p}_g1`, 'c_onef'], [`${p}_g2`]),
      node('Mul', [`${p}_f1`, `${p}_g2`], [`${p}_g3`]),
      node('Mul', [`${p}_g3`, 'c_half'], [`${p}_gelu`]),
    );
    dense(`${p}_gelu`, `${p}_f2`, o.ffn, H, 1 / Math.sqrt(o.ffn), `${p}_f2`);
    nodes.push(node('Add', [`${p}_f2`, `${p}_h1`], [`${p}_res2`]));
    ln(`${p}_res2`, `${p}_ln2`, `${p}_out`);
    x = `${p}_out`;
  }
  nodes.push(node('Gather', [x, 'c_zero'], ['cls'], { axis: 1 }));
  dense('cls', 'pool', H, H, ws, 'pool_lin');
  nodes.push(node('Tanh', ['pool_lin'], ['pooled']));
  dense('pooled', 'cls_head', H, o.numLabels, o.classifierScale ?? 1, 'logits');
  const inputs = [valueInfo('input_ids', DataType.INT64, ['batch', 'sequence']), valueInfo('attention_mask', DataType.INT64, ['batch', 'sequence'])];
  if (o.withTokenTypes) inputs.push(valueInfo('token_type_ids', DataType.INT64, ['batch', 'sequence']));
  const bytes = model({ name: 'tiny-cross-encoder', nodes, initializers: init, inputs, outputs: [valueInfo('logits', DataType.FLOAT, ['batch', o.numLabels])] }, 17);
  return { bytes, weights };
}

/** Float64 erf: Maclaurin series below |x| = 3, the erfc continued fraction (60 terms, backwards) above; error < 1e-12. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))).
  let k = ax;
  for (let n = 60; n >= 1; n--) k = ax + n / 2 / k;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * k));
}

/**
 * The reference forward pass in float64, written from the architecture (not from the graph):
 * logits of one pair given its ids, token types and length (no padding: every position attends).
 */
export function referenceLogits(w: CrossWeights, o: CrossGraphOptions, ids: readonly number[], types: readonly number[]): Float64Array {
  const H = o.hidden;
  const S = ids.length;
  const get = (n: string): Float32Array => w.get(n)!.data;
  const layerNorm = (x: Float64Array, name: string): Float64Array => {
    const g = get(`${name}_g`);
    const b = get(`${name}_b`);
    const out = new Float64Array(x.length);
    for (let t = 0; t < S; t++) {
      let mean = 0;
      for (let k = 0; k < H; k++) mean += x[t * H + k]!;
      mean /= H;
      let v = 0;
      for (let k = 0; k < H; k++) v += (x[t * H + k]! - mean) ** 2;
      v /= H;
      const inv = 1 / Math.sqrt(v + 1e-12);
      for (let k = 0; k < H; k++) out[t * H + k] = (x[t * H + k]! - mean) * inv * g[k]! + b[k]!;
    }
    return out;
  };
  const linear = (x: Float64Array, rows: number, name: string, inDim: number, outDim: number): Float64Array => {
    const W = get(`${name}_w`);
    const b = get(`${name}_bias`);
    const out = new Float64Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < outDim; j++) {
        let s = b[j]!;
        for (let k = 0; k < inDim; k++) s += x[r * inDim + k]! * W[k * outDim + j]!;
        out[r * outDim + j] = s;
      }
    }
    return out;
  };
  let x: Float64Array = new Float64Array(S * H);
  const word = get('W_word');
  const pos = get('W_pos');
  const typ = o.withTokenTypes ? get('W_type') : null;
  for (let t = 0; t < S; t++) {
    for (let k = 0; k < H; k++) {
      x[t * H + k] = word[ids[t]! * H + k]! + pos[t * H + k]! + (typ === null ? 0 : typ[types[t]! * H + k]!);
    }
  }
  x = layerNorm(x, 'ln_emb');
  const heads = o.heads;
  const d = H / heads;
  for (let l = 0; l < o.layers; l++) {
    const p = `l${l}`;
    const q = linear(x, S, `${p}_q`, H, H);
    const kk = linear(x, S, `${p}_k`, H, H);
    const v = linear(x, S, `${p}_v`, H, H);
    const ctx = new Float64Array(S * H);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < S; i++) {
        const s = new Float64Array(S);
        let max = -Infinity;
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q[i * H + h * d + e]! * kk[j * H + h * d + e]!;
          s[j] = dot / Math.sqrt(d);
          max = Math.max(max, s[j]!);
        }
        let z = 0;
        for (let j = 0; j < S; j++) {
          s[j] = Math.exp(s[j]! - max);
          z += s[j]!;
        }
        for (let e = 0; e < d; e++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += (s[j]! / z) * v[j * H + h * d + e]!;
          ctx[i * H + h * d + e] = acc;
        }
      }
    }
    const att = linear(ctx, S, `${p}_o`, H, H);
    for (let i = 0; i < att.length; i++) att[i]! += x[i]!;
    const h1 = layerNorm(att, `${p}_ln1`);
    const f1 = linear(h1, S, `${p}_f1`, H, o.ffn);
    for (let i = 0; i < f1.length; i++) f1[i] = 0.5 * f1[i]! * (1 + erf(f1[i]! / Math.SQRT2));
    const f2 = linear(f1, S, `${p}_f2`, o.ffn, H);
    for (let i = 0; i < f2.length; i++) f2[i]! += h1[i]!;
    x = layerNorm(f2, `${p}_ln2`);
  }
  const pooled = linear(x.subarray(0, H), 1, 'pool', H, H).map(Math.tanh);
  return linear(pooled, 1, 'cls_head', H, o.numLabels);
}

export type CrossLayout = 'transformers.js' | 'optimum';

export interface TinyCrossEncoderOptions {
  layout?: CrossLayout;
  numLabels?: number;
  /** ONNX file name (default model.onnx); e.g. model_quantized.onnx to imitate a quantised variant. */
  onnxFile?: string;
  id2label?: Record<string, string>;
  seed?: number;
  hidden?: number;
  heads?: number;
  ffn?: number;
  layers?: number;
  /** Max length recorded in tokenizer_config.json (model_max_length); none when undefined. */
  modelMaxLength?: number;
  /** Vocabulary padded to this size with filler tokens (the benchmark's 30,522). */
  vocabSize?: number;
  classifierScale?: number;
  /** Declare token_type_ids (BERT) or not (XLM-R, bge-reranker, ModernBERT exports). Default true. */
  withTokenTypes?: boolean;
  /** Position rows of the graph only (config.json keeps 512). Default 512. */
  graphPositions?: number;
  /**
   * With graphPositions: the table reached through an Identity node, so no load check sees it and
   * onnxruntime fails any pair longer than graphPositions at run time (a real model error).
   */
  hidePositionTable?: boolean;
}

/** The tiny WordPiece vocabulary, padded with "fillerN" tokens to `size`. */
export function paddedVocabTokenizer(size: number | undefined): { json: string; vocabSize: number } {
  const base = tinyVocab().length;
  if (size === undefined || size <= base) return { json: tinyTokenizerJson(), vocabSize: base };
  const json = JSON.parse(tinyTokenizerJson()) as { model: { vocab: Record<string, number> } };
  for (let i = base; i < size; i++) json.model.vocab[`filler${i}`] = i;
  return { json: JSON.stringify(json), vocabSize: size };
}

/** Writes a cross-encoder of the given layout into `dir`; returns the graph options and weights. */
export async function makeTinyCrossEncoder(dir: string, opts: TinyCrossEncoderOptions = {}): Promise<{ graph: CrossGraphOptions; weights: CrossWeights }> {
  const layout = opts.layout ?? 'transformers.js';
  const numLabels = opts.numLabels ?? 1;
  const tok = paddedVocabTokenizer(opts.vocabSize);
  const graph: CrossGraphOptions = {
    vocabSize: tok.vocabSize,
    hidden: opts.hidden ?? 16,
    heads: opts.heads ?? 2,
    ffn: opts.ffn ?? 32,
    layers: opts.layers ?? 2,
    maxPositions: opts.graphPositions ?? 512,
    numLabels,
    withTokenTypes: opts.withTokenTypes ?? true,
    seed: opts.seed ?? 11,
    ...(opts.hidePositionTable === true ? { hidePositionTable: true } : {}),
    ...(opts.classifierScale === undefined ? {} : { classifierScale: opts.classifierScale }),
  };
  const { bytes, weights } = crossEncoderGraph(graph);
  const onnxDir = layout === 'transformers.js' ? path.join(dir, 'onnx') : dir;
  await mkdir(onnxDir, { recursive: true });
  await writeFile(path.join(onnxDir, opts.onnxFile ?? 'model.onnx'), bytes);
  await writeFile(path.join(dir, 'tokenizer.json'), tok.json);
  const id2label = opts.id2label ?? (numLabels === 1 ? { '0': 'LABEL_0' } : Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`])));
  const config = {
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    hidden_size: graph.hidden,
    num_attention_heads: graph.heads,
    num_hidden_layers: graph.layers,
    intermediate_size: graph.ffn,
    vocab_size: graph.vocabSize,
    max_position_embeddings: 512,
    id2label,
    label2id: Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)])),
  };
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (opts.modelMaxLength !== undefined) {
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: opts.modelMaxLength, do_lower_case: true }, null, 2));
  }
  return { graph, weights };
}
