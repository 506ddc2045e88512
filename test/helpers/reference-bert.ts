/**
 * An independent BERT forward pass for the converter's differential tests, written plainly from
 * the BERT paper / transformers' modeling_bert.py with float64 accumulation: no ONNX, no code
 * shared with src/encoder/convert. Weights are read by their transformers names in torch's
 * [out, in] layout. Masked keys are left out of each softmax (what an additive −∞ bias does).
 */
import type { BertShape, Tensors } from './tiny-bert.js';

type Rows = Float64Array[];

function w(t: Tensors, name: string): Float32Array {
  const x = t.get(name);
  if (x === undefined) throw new Error(`reference: no tensor ${name}`);
  return x.data;
}

/** y = x·Wᵀ + b for each row; W is [out, in]. */
function linear(x: Rows, t: Tensors, name: string, inF: number, outF: number, bias = true): Rows {
  const W = w(t, `${name}.weight`);
  const b = bias ? w(t, `${name}.bias`) : null;
  return x.map((row) => {
    const y = new Float64Array(outF);
    for (let o = 0; o < outF; o++) {
      let acc = b === null ? 0 : b[o]!;
      for (let i = 0; i < inF; i++) acc += row[i]! * W[o * inF + i]!;
      y[o] = acc;
    }
    return y;
  });
}

function layerNorm(x: Rows, t: Tensors, name: string, eps: number): Rows {
  const g = w(t, `${name}.weight`);
  const b = w(t, `${name}.bias`);
  return x.map((row) => {
    const n = row.length;
    let mean = 0;
    for (const v of row) mean += v;
    mean /= n;
    let variance = 0;
    for (const v of row) variance += (v - mean) * (v - mean);
    variance /= n;
    const inv = 1 / Math.sqrt(variance + eps);
    return Float64Array.from(row, (v, i) => (v - mean) * inv * g[i]! + b[i]!);
  });
}

/** erf to ~1e-9: Maclaurin series below 3, the asymptotic erfc series above. */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    const x2 = a * a;
    const series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2) + 105 / (16 * x2 ** 4);
    r = 1 - (Math.exp(-x2) / (a * Math.sqrt(Math.PI))) * series;
  }
  return x < 0 ? -r : r;
}

function activation(v: number, act: BertShape['hiddenAct']): number {
  if (act === 'relu') return Math.max(0, v);
  if (act === 'gelu') return 0.5 * v * (1 + erf(v / Math.SQRT2));
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
}

/** The last hidden state [S][H] of one sequence. */
export function referenceHidden(t: Tensors, s: BertShape, ids: number[], mask: number[], types: number[] = ids.map(() => 0)): Rows {
  const H = s.hidden;
  const word = w(t, 'embeddings.word_embeddings.weight');
  const pos = w(t, 'embeddings.position_embeddings.weight');
  const typ = w(t, 'embeddings.token_type_embeddings.weight');
  let x: Rows = ids.map((id, p) => Float64Array.from({ length: H }, (_, k) => word[id * H + k]! + pos[p * H + k]! + typ[types[p]! * H + k]!));
  x = layerNorm(x, t, 'embeddings.LayerNorm', s.layerNormEps);
  const heads = s.heads;
  const d = H / heads;
  for (let l = 0; l < s.layers; l++) {
    const p = `encoder.layer.${l}.`;
    const q = linear(x, t, `${p}attention.self.query`, H, H);
    const k = linear(x, t, `${p}attention.self.key`, H, H);
    const v = linear(x, t, `${p}attention.self.value`, H, H);
    const context: Rows = x.map(() => new Float64Array(H));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < x.length; i++) {
        const scores: number[] = [];
        for (let j = 0; j < x.length; j++) {
          if (mask[j] === 0) {
            scores.push(-Infinity);
            continue;
          }
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[i]![h * d + c]! * k[j]![h * d + c]!;
          scores.push(dot / Math.sqrt(d));
        }
        const max = Math.max(...scores);
        const e = scores.map((sc) => (sc === -Infinity ? 0 : Math.exp(sc - max)));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < x.length; j++) {
          if (e[j] === 0) continue;
          for (let c = 0; c < d; c++) context[i]![h * d + c]! += (e[j]! / z) * v[j]![h * d + c]!;
        }
      }
    }
    const attn = linear(context, t, `${p}attention.output.dense`, H, H);
    const h1 = layerNorm(attn.map((row, i) => row.map((val, c) => val + x[i]![c]!)), t, `${p}attention.output.LayerNorm`, s.layerNormEps);
    const inter = linear(h1, t, `${p}intermediate.dense`, H, s.intermediate).map((row) => row.map((val) => activation(val, s.hiddenAct)));
    const out = linear(inter, t, `${p}output.dense`, s.intermediate, H);
    x = layerNorm(out.map((row, i) => row.map((val, c) => val + h1[i]![c]!)), t, `${p}output.LayerNorm`, s.layerNormEps);
  }
  return x;
}

/** ColBERT rows [S][dim]: projection (optional bias / tanh), then L2 normalisation. */
export function referenceColbert(t: Tensors, s: BertShape, ids: number[], mask: number[], head: { bias: boolean; tanh: boolean }): Rows {
  const y = linear(referenceHidden(t, s, ids, mask), t, 'linear', s.hidden, s.dim, head.bias).map((row) => (head.tanh ? row.map(Math.tanh) : row));
  return y.map((row) => {
    const n = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    return row.map((v) => v / Math.max(n, 1e-12));
  });
}

/** Cross-encoder logits [numLabels]: [CLS] row → pooler (tanh) → classifier. */
export function referenceLogits(t: Tensors, s: BertShape, ids: number[], mask: number[], types: number[]): Float64Array {
  const cls = referenceHidden(t, s, ids, mask, types)[0]!;
  const pooled = linear([cls], t, 'pooler.dense', s.hidden, s.hidden).map((row) => row.map(Math.tanh));
  return linear(pooled, t, 'classifier', s.hidden, s.numLabels)[0]!;
}
