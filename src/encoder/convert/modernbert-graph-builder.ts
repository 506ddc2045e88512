/**
 * ModernBERT weights → an ONNX graph (opset 17, written by onnx-graph-builder.ts) computing what
 * transformers' ModernBertModel computes on its eager / SDPA path (modeling_modernbert.py), then
 * PyLate's ColBERT head:
 * - embeddings: Gather(tok_embeddings, input_ids) → LayerNorm (no position embeddings);
 * - rotary position embeddings (RoFormer; transformers' "rotate_half" convention, not GPT-J's
 *   interleaved pairs): for position p and i < d/2, θ_i = base^(−2i/d), angle p·θ_i computed in
 *   float32 as transformers does; q·cos + rotate_half(q)·sin with rotate_half(x) = [−x₂, x₁] on the
 *   halves of each head; base = global_rope_theta on global layers, local_rope_theta on local ones;
 * - attention masks as transformers builds them: padding keys get float32 min added (as BERT);
 *   on local layers keys farther than ⌊local_attention/2⌋ positions are set to float32 min
 *   (masked_fill, so a row whose every key is masked attends uniformly, as the additive mask does);
 * - pre-norm layers: x + Wo(attn(attn_norm(x))) (layer 0's attn_norm is the identity), then
 *   x + Wo(act(x'·Wi_input) ⊙ x'·Wi_gate) with x' = mlp_norm(x) (GeGLU with the configured GELU);
 * - final_norm, then the ColBERT projection and L2 normalisation (output `embeddings`).
 * Positions are 0…S−1 for every row (padding is on the right, so real tokens keep their positions).
 * int8 (`quantization`): every linear layer of the transformer with int8 weights; the GeGLU
 * output matrix takes its input quantised per row, the others per tensor (onnx-graph-builder.ts:
 * per-tensor there costs the cosine to float down to 0.985 on the GTE-ModernColBERT shape, per row
 * keeps it at 0.995 for 2.4× the float graph's tokens per CPU-second; bench/RESULTS.md).
 * test/convert-modernbert.test.ts checks the graph against test/helpers/reference-modernbert.ts.
 */
import type { ModernBertWeights } from './modernbert-weights.js';
import type { GraphMetadata, Quantization } from './graph-contract.js';
import { FLOAT, GraphBuilder, INT64, MASK_BIAS, valueInfo } from './onnx-graph-builder.js';

/** The ONNX bytes of a ModernBERT ColBERT encoder: inputs input_ids, attention_mask [batch, sequence] int64. */
export function buildModernBertGraph(w: ModernBertWeights, metadata: GraphMetadata = {}, quantization: Quantization = 'none'): Uint8Array {
  const a = w.arch;
  const g = new GraphBuilder(quantization);
  const H = a.hiddenSize;
  const heads = a.numHeads;
  const headDim = H / heads;
  const halfDim = headDim / 2;

  const c0 = g.ints('const.zero', [0], true);
  const c1 = g.ints('const.one', [1], true);
  const one = g.scalar('const.one_f', 1);
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), c1], { axis: 0 });
  const positions = g.op('Range', [c0, seqLen, c1]);
  let x = g.layerNorm(g.op('Gather', [g.tensor('embeddings.tok', w.tokEmbeddings.shape, w.tokEmbeddings.data), 'input_ids']), w.embeddingNorm, 'embeddings.norm', a.normEps);

  // cos and sin [S, headDim] per rotary base.
  const posColumn = g.op('Unsqueeze', [g.op('Cast', [positions], { to: FLOAT }), g.ints('const.axis_1', [1])]);
  const rotary = (base: number, name: string): { cos: string; sin: string } => {
    const invFreq = Float32Array.from({ length: halfDim }, (_, i) => 1 / base ** ((2 * i) / headDim));
    const freqs = g.op('MatMul', [posColumn, g.tensor(`${name}.inv_freq`, [1, halfDim], invFreq)]);
    const angles = g.op('Concat', [freqs, freqs], { axis: -1 });
    return { cos: g.op('Cos', [angles]), sin: g.op('Sin', [angles]) };
  };
  const tables = {
    global: a.layerTypes.includes('global') ? rotary(a.globalRopeTheta, 'rope.global') : null,
    local: a.layerTypes.includes('local') ? rotary(a.localRopeTheta, 'rope.local') : null,
  };

  // Padding bias [B, 1, 1, S]; the local layers' bias [B, 1, S, S] also masks keys outside the window.
  const mask = g.op('Cast', ['attention_mask'], { to: FLOAT });
  const maskBias = g.scalar('const.mask_bias', MASK_BIAS);
  const paddingBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, mask]), maskBias]), g.ints('const.axes_1_2', [1, 2])]);
  let localBias: string | null = null;
  if (tables.local !== null) {
    const distance = g.op('Abs', [g.op('Sub', [g.op('Unsqueeze', [positions, g.ints('const.axis_1_i', [1])]), g.op('Unsqueeze', [positions, g.ints('const.axis_0', [0])])])]);
    const far = g.op('Greater', [distance, g.ints('const.half_window', [Math.floor(a.localAttention / 2)], true)]);
    localBias = g.op('Where', [far, maskBias, paddingBias]);
  }

  const splitHeads = g.ints('const.split_heads', [0, 0, heads, headDim]);
  const mergeHeads = g.ints('const.merge_heads', [0, 0, H]);
  const halves = g.ints('const.halves', [halfDim, halfDim]);
  const scale = g.scalar('const.score_scale', 1 / Math.sqrt(headDim));

  w.layers.forEach((l, i) => {
    const p = `layer${i}`;
    const kind = a.layerTypes[i]!;
    const { cos, sin } = tables[kind]!;
    const toHeads = (t: string): string => g.op('Transpose', [g.op('Reshape', [t, splitHeads])], { perm: [0, 2, 1, 3] });
    const rope = (t: string): string => {
      const [x1, x2] = g.opN('Split', [t, halves], 2, { axis: -1 });
      const rotated = g.op('Concat', [g.op('Neg', [x2!]), x1!], { axis: -1 });
      return g.op('Add', [g.op('Mul', [t, cos]), g.op('Mul', [rotated, sin])]);
    };
    const h = l.attnNorm === null ? x : g.layerNorm(x, l.attnNorm, `${p}.attn_norm`, a.normEps);
    const q = rope(toHeads(g.linear(h, l.query, `${p}.query`)));
    const k = g.op('Transpose', [rope(toHeads(g.linear(h, l.key, `${p}.key`)))], { perm: [0, 1, 3, 2] });
    const v = toHeads(g.linear(h, l.value, `${p}.value`));
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), kind === 'local' ? localBias! : paddingBias]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeHeads]);
    x = g.op('Add', [x, g.linear(merged, l.attnOutput, `${p}.attn_output`)]);
    const m = g.layerNorm(x, l.mlpNorm, `${p}.mlp_norm`, a.normEps);
    const gated = g.op('Mul', [g.activation(g.linear(m, l.mlpInput, `${p}.mlp_input`), a.hiddenAct, `${p}.act`), g.linear(m, l.mlpGate, `${p}.mlp_gate`)]);
    x = g.op('Add', [x, g.linear(gated, l.mlpOutput, `${p}.mlp_output`, { perRow: true })]);
  });
  x = g.layerNorm(x, w.finalNorm, 'final_norm', a.normEps);
  const output = g.colbertHead(x, w.head.projections);
  const inputs = [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('attention_mask', INT64, ['batch', 'sequence'])];
  return g.encode(a.architecture, inputs, [output], metadata);
}
