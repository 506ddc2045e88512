/**
 * An independent ModernBERT forward pass for the converter's differential tests, written plainly
 * from transformers' modeling_modernbert.py (eager path) and PyLate's ColBERT head, in float64: no
 * ONNX, no code shared with src/encoder/convert. Weights are read by their transformers names in
 * torch's [out, in] layout (Wqkv rows: query, key, value; Wi rows: GeGLU input, then gate).
 * - embeddings: tok_embeddings[id] → LayerNorm (weight, bias only when present);
 * - layer l: h = l = 0 ? x : LN(x); q, k, v from Wqkv; rotary on q and k per head with
 *   angle(p, i) = p · θ^(−2i/d) for i < d/2 applied to (x_i, x_{i+d/2}) pairs (rotate_half);
 *   scores q·k/√d over the keys a row may see: attention_mask 1, and on local layers
 *   |i − j| ≤ ⌊local_attention/2⌋; a row that may see no key averages all values uniformly (what
 *   transformers' additive float32-min mask gives); x += Wo(context); x += Wo(gelu(a) ⊙ b) with
 *   [a | b] = Wi(LN(x));
 * - final_norm, projection, L2 normalisation.
 */
import { erf } from './reference-bert.js';
import type { Tensors } from './tiny-bert.js';
import { denseWidths, projectionName, type ModernBertShape } from './tiny-modernbert.js';

type Rows = Float64Array[];

function w(t: Tensors, name: string): Float32Array {
  const x = t.get(name);
  if (x === undefined) throw new Error(`reference: no tensor ${name}`);
  return x.data;
}

/** y = x·Wᵀ (+ b): W [out, in]. */
function linear(x: Rows, t: Tensors, name: string, inF: number, outF: number): Rows {
  const W = w(t, `${name}.weight`);
  const b = t.get(`${name}.bias`)?.data ?? null;
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
  const b = t.get(`${name}.bias`)?.data ?? null;
  return x.map((row) => {
    const n = row.length;
    const mean = row.reduce((a, v) => a + v, 0) / n;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
    const inv = 1 / Math.sqrt(variance + eps);
    return Float64Array.from(row, (v, i) => (v - mean) * inv * g[i]! + (b === null ? 0 : b[i]!));
  });
}

function gelu(v: number, act: ModernBertShape['hiddenAct']): number {
  return act === 'gelu' ? 0.5 * v * (1 + erf(v / Math.SQRT2)) : 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
}

/** Rotates one head's vector (length d, at `offset` in `row`) in place for position p. */
function rotate(row: Float64Array, offset: number, d: number, p: number, theta: number): void {
  const half = d / 2;
  for (let i = 0; i < half; i++) {
    const angle = p * theta ** ((-2 * i) / d);
    const a = row[offset + i]!;
    const b = row[offset + i + half]!;
    row[offset + i] = a * Math.cos(angle) - b * Math.sin(angle);
    row[offset + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
  }
}

/** The last hidden state [S][H] of one sequence. */
export function referenceModernHidden(t: Tensors, s: ModernBertShape, ids: number[], mask: number[]): Rows {
  const H = s.hidden;
  const d = H / s.heads;
  const S = ids.length;
  const tok = w(t, 'embeddings.tok_embeddings.weight');
  let x: Rows = layerNorm(
    ids.map((id) => Float64Array.from({ length: H }, (_, k) => tok[id * H + k]!)),
    t,
    'embeddings.norm',
    s.normEps,
  );
  for (let l = 0; l < s.layers; l++) {
    const p = `layers.${l}.`;
    const global = l % s.globalEvery === 0;
    const theta = global ? s.globalTheta : s.localTheta;
    const h = l === 0 ? x : layerNorm(x, t, `${p}attn_norm`, s.normEps);
    const qkv = linear(h, t, `${p}attn.Wqkv`, H, 3 * H);
    const q = qkv.map((row) => row.slice(0, H));
    const k = qkv.map((row) => row.slice(H, 2 * H));
    const v = qkv.map((row) => row.slice(2 * H));
    for (let i = 0; i < S; i++) {
      for (let hd = 0; hd < s.heads; hd++) {
        rotate(q[i]!, hd * d, d, i, theta);
        rotate(k[i]!, hd * d, d, i, theta);
      }
    }
    const context: Rows = x.map(() => new Float64Array(H));
    for (let hd = 0; hd < s.heads; hd++) {
      for (let i = 0; i < S; i++) {
        const visible = (j: number): boolean => mask[j] === 1 && (global || Math.abs(i - j) <= Math.floor(s.localAttention / 2));
        const keys = Array.from({ length: S }, (_, j) => j).filter(visible);
        const weights = new Float64Array(S);
        if (keys.length === 0) weights.fill(1 / S);
        else {
          const scores = keys.map((j) => {
            let dot = 0;
            for (let c = 0; c < d; c++) dot += q[i]![hd * d + c]! * k[j]![hd * d + c]!;
            return dot / Math.sqrt(d);
          });
          const max = Math.max(...scores);
          const e = scores.map((sc) => Math.exp(sc - max));
          const z = e.reduce((a, b) => a + b, 0);
          keys.forEach((j, n) => (weights[j] = e[n]! / z));
        }
        for (let j = 0; j < S; j++) {
          if (weights[j] === 0) continue;
          for (let c = 0; c < d; c++) context[i]![hd * d + c]! += weights[j]! * v[j]![hd * d + c]!;
        }
      }
    }
    const attn = linear(context, t, `${p}attn.Wo`, H, H);
    x = x.map((row, i) => row.map((val, c) => val + attn[i]![c]!));
    const wi = linear(layerNorm(x, t, `${p}mlp_norm`, s.normEps), t, `${p}mlp.Wi`, H, 2 * s.intermediate);
    const gated = wi.map((row) => Float64Array.from({ length: s.intermediate }, (_, c) => gelu(row[c]!, s.hiddenAct) * row[s.intermediate + c]!));
    const mlp = linear(gated, t, `${p}mlp.Wo`, s.intermediate, H);
    x = x.map((row, i) => row.map((val, c) => val + mlp[i]![c]!));
  }
  return layerNorm(x, t, 'final_norm', s.normEps);
}

/** ColBERT rows [S][dim]: PyLate's Dense projections in order (no bias), then L2 normalisation. */
export function referenceModernColbert(t: Tensors, s: ModernBertShape, ids: number[], mask: number[]): Rows {
  let y = referenceModernHidden(t, s, ids, mask);
  let width = s.hidden;
  denseWidths(s).forEach((out, k) => {
    y = linear(y, t, projectionName(k), width, out);
    width = out;
  });
  return y.map((row) => {
    const n = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    return row.map((v) => v / Math.max(n, 1e-12));
  });
}
