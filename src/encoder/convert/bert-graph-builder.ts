/**
 * BERT weights → an ONNX model (opset 17, IR 8, written by onnx-graph-builder.ts), standard operators only:
 * - embeddings: Gather(word, input_ids) + Gather(position, Range(0, S)) [+ Gather(type,
 *   token_type_ids)], LayerNormalization;
 * - N layers, as transformers' BertLayer: Q/K/V MatMul+Add, Reshape to heads, scores·1/√d_head plus
 *   the attention mask as an additive bias ((1 − mask)·float32 min, transformers'
 *   get_extended_attention_mask), Softmax, context, output dense + residual + LayerNorm; then the
 *   FFN with GELU as config.json names it (erf: 0.5x(1+erf(x/√2)); tanh: 0.5x(1+tanh(√(2/π)(x +
 *   0.044715x³)))), output dense + residual + LayerNorm;
 * - ColBERT head: the projection (no bias in HF_ColBERT), then x / max(‖x‖₂, 1e-12) (torch's
 *   F.normalize, as ColBERT's colbert.py): output `embeddings` [batch, sequence, dim];
 * - classifier head (cross-encoders): [CLS] row → pooler dense + Tanh → classifier: `logits`
 *   [batch, num_labels].
 * onnxruntime fuses the LayerNorm/GELU/attention patterns itself at session creation
 * (graphOptimizationLevel 'all'), so the graph stays plain.
 */
import type { BertWeights } from './bert-weights.js';
import { LOGITS_OUTPUT, type GraphMetadata, type Quantization } from './graph-contract.js';
import { FLOAT, GraphBuilder, INT64, MASK_BIAS, valueInfo } from './onnx-graph-builder.js';
import type { onnx as OnnxTypes } from 'onnx-proto';

export { EMBEDDINGS_OUTPUT, GRAPH_IR_VERSION, GRAPH_OPSET, LOGITS_OUTPUT } from './graph-contract.js';
export type { GraphMetadata } from './graph-contract.js';

/** The ONNX bytes of `w` (a ColBERT encoder or a cross-encoder, by its head). */
export function buildBertGraph(w: BertWeights, metadata: GraphMetadata = {}, quantization: Quantization = 'none'): Uint8Array {
  const a = w.arch;
  const g = new GraphBuilder(quantization);
  const H = a.hiddenSize;
  const heads = a.numHeads;
  const headDim = H / heads;
  const withTypes = w.tokenTypeEmbeddings !== null;

  // Embeddings.
  const c0 = g.ints('const.zero', [0], true);
  const c1 = g.ints('const.one', [1], true);
  const one = g.scalar('const.one_f', 1);
  const word = g.op('Gather', [g.tensor('embeddings.word', w.wordEmbeddings.shape, w.wordEmbeddings.data), 'input_ids']);
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), c1], { axis: 0 });
  const positionIds = g.op('Range', [c0, seqLen, c1]);
  let emb = g.op('Add', [word, g.op('Gather', [g.tensor('embeddings.position', w.positionEmbeddings.shape, w.positionEmbeddings.data), positionIds])]);
  if (w.tokenTypeEmbeddings !== null) {
    const types = g.op('Gather', [g.tensor('embeddings.token_type', w.tokenTypeEmbeddings.shape, w.tokenTypeEmbeddings.data), 'token_type_ids']);
    emb = g.op('Add', [emb, types]);
  }
  let x = g.layerNorm(emb, w.embeddingNorm, 'embeddings.norm', a.layerNormEps);

  // Additive attention bias [B, 1, 1, S]: 0 where attended, float32 min elsewhere.
  const mask = g.op('Cast', ['attention_mask'], { to: FLOAT });
  const bias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, mask]), g.scalar('const.mask_bias', MASK_BIAS)]), g.ints('const.axes_1_2', [1, 2])]);
  const splitHeads = g.ints('const.split_heads', [0, 0, heads, headDim]);
  const mergeHeads = g.ints('const.merge_heads', [0, 0, H]);
  const scale = g.scalar('const.score_scale', 1 / Math.sqrt(headDim));

  w.layers.forEach((l, i) => {
    const p = `layer${i}`;
    const heads4 = (t: string, perm: number[]): string => g.op('Transpose', [g.op('Reshape', [t, splitHeads])], { perm });
    const q = heads4(g.linear(x, l.query, `${p}.query`), [0, 2, 1, 3]);
    const k = heads4(g.linear(x, l.key, `${p}.key`), [0, 2, 3, 1]);
    const v = heads4(g.linear(x, l.value, `${p}.value`), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), bias]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeHeads]);
    const attended = g.op('Add', [g.linear(merged, l.attentionOutput, `${p}.attention_output`), x]);
    const h = g.layerNorm(attended, l.attentionNorm, `${p}.attention_norm`, a.layerNormEps);
    const f = g.linear(h, l.intermediate, `${p}.intermediate`);
    const act = g.activation(f, a.hiddenAct, `${p}.act`);
    const out = g.op('Add', [g.linear(act, l.output, `${p}.output`), h]);
    x = g.layerNorm(out, l.outputNorm, `${p}.output_norm`, a.layerNormEps);
  });

  let output: OnnxTypes.IValueInfoProto;
  if (w.head.kind === 'colbert') output = g.colbertHead(x, w.head.projections);
  else {
    const cls = g.op('Gather', [x, c0], { axis: 1 });
    const pooled = g.op('Tanh', [g.linear(cls, w.head.pooler, 'pooler')]);
    const logits = g.linear(pooled, w.head.classifier, 'classifier');
    g.op('Identity', [logits], {}, LOGITS_OUTPUT);
    output = valueInfo(LOGITS_OUTPUT, FLOAT, ['batch', w.head.classifier.outFeatures]);
  }

  const inputs = [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('attention_mask', INT64, ['batch', 'sequence'])];
  if (withTypes) inputs.push(valueInfo('token_type_ids', INT64, ['batch', 'sequence']));
  return g.encode(a.architecture, inputs, [output], metadata);
}
