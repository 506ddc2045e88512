/**
 * int8 graphs against float32 ones on random weights of real shapes: colbert-ir/colbertv2.0's
 * (BERT-base) and lightonai/GTE-ModernColBERT-v1's (ModernBERT-base + 768 → 128). For each shape it
 * builds both graphs from the same weights with the converter's builders, runs the same batches
 * (random token ids, full attention) on one onnxruntime thread, and prints
 * - the cosine between each int8 token vector and its float32 twin (min, 1st percentile, mean);
 * - tokens per second and per CPU-second of each graph, the ratio being the figure to read.
 * Random weights: no real checkpoint can be downloaded here; the cost of a forward pass does not
 * depend on the weights' values, their agreement does a little (real weights have outlier
 * channels that random ones lack, so the cosine here is an upper bound of what real weights give).
 * Run: `node dist/bench/quantize-int8.js [bert|modernbert|both] [batches=3] [seq=180]`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { bertArchitecture } from '../src/encoder/convert/bert-config.js';
import { buildBertGraph } from '../src/encoder/convert/bert-graph-builder.js';
import { readBertWeights } from '../src/encoder/convert/bert-weights.js';
import { modernBertArchitecture } from '../src/encoder/convert/modernbert-config.js';
import { buildModernBertGraph } from '../src/encoder/convert/modernbert-graph-builder.js';
import { readModernBertWeights } from '../src/encoder/convert/modernbert-weights.js';
import type { Quantization } from '../src/encoder/convert/onnx-graph-builder.js';
import type { WeightSource } from '../src/encoder/convert/weight-source.js';
import { Random } from '../src/util/random.js';
import { randomBertTensors, type Tensors } from '../test/helpers/tiny-bert.js';
import { GTE_MODERNCOLBERT_SHAPE, modernBertConfigJson, randomModernBertTensors } from '../test/helpers/tiny-modernbert.js';
import { COLBERTV2_SHAPE } from './convert-encode.js';

/** A WeightSource over the tensors `rename` keeps (it returns the stored name, or null to leave one out). */
function memorySource(t: Tensors, rename: (name: string) => string | null): WeightSource {
  const names = new Map([...t].flatMap(([n, x]) => {
    const stored = rename(n);
    return stored === null ? [] : [[stored, x] as const];
  }));
  return { file: '<memory>', names: () => [...names.keys()], shape: (n) => names.get(n)?.shape ?? null, get: (n) => names.get(n) ?? null };
}

export function graphsFor(kind: 'bert' | 'modernbert', quantization: Quantization, seed = 1): { bytes: Uint8Array; vocab: number; dim: number } {
  if (kind === 'bert') {
    const s = COLBERTV2_SHAPE;
    const config = { model_type: 'bert', architectures: ['HF_ColBERT'], hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads, intermediate_size: s.intermediate, vocab_size: s.vocabSize, max_position_embeddings: s.maxPositions };
    // HF_ColBERT's layout: the BERT under bert.*, the projection as linear.weight.
    const src = memorySource(randomBertTensors(s, seed), (n) => (/^(embeddings|encoder)\./.test(n) ? `bert.${n}` : n === 'linear.weight' ? n : null));
    return { bytes: buildBertGraph(readBertWeights(bertArchitecture(config, 'bench'), src, []), {}, quantization), vocab: s.vocabSize, dim: s.dim };
  }
  const s = GTE_MODERNCOLBERT_SHAPE;
  const t = randomModernBertTensors(s, seed);
  const arch = modernBertArchitecture(modernBertConfigJson(s), 'bench');
  const w = readModernBertWeights(arch, memorySource(t, (n) => (n.startsWith('linear.') ? null : n)), [{ src: memorySource(t, (n) => (n.startsWith('linear.') ? n : null)), config: {} }]);
  return { bytes: buildModernBertGraph(w, {}, quantization), vocab: s.vocabSize, dim: s.dim };
}

interface Timing {
  tokensPerSecond: number;
  tokensPerCpuSecond: number;
  outputs: Float32Array[];
}

async function timeGraph(file: string, feeds: Record<string, ort.Tensor>[], tokensPerBatch: number): Promise<Timing> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    await session.run(feeds[0]!);
    const outputs: Float32Array[] = [];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const f of feeds) outputs.push((await session.run(f))['embeddings']!.data as Float32Array);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const tokens = tokensPerBatch * feeds.length;
    return { tokensPerSecond: tokens / seconds, tokensPerCpuSecond: tokens / ((cpu.user + cpu.system) / 1e6), outputs };
  } finally {
    await session.release();
  }
}

/** Cosines between matching rows of two [rows, dim] outputs. */
function cosines(a: Float32Array, b: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / dim; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let k = 0; k < dim; k++) {
      const x = a[r * dim + k]!;
      const y = b[r * dim + k]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out.push(dot / Math.sqrt(na * nb));
  }
  return out;
}

export async function compare(kind: 'bert' | 'modernbert', batches: number, seq: number, batchSize = 8): Promise<{ minCos: number; p01Cos: number; meanCos: number; float: Timing; int8: Timing }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-int8-'));
  try {
    const files: Record<Quantization, string> = { none: path.join(dir, 'float.onnx'), int8: path.join(dir, 'int8.onnx') };
    let vocab = 0;
    let dim = 0;
    for (const q of ['none', 'int8'] as Quantization[]) {
      const g = graphsFor(kind, q);
      vocab = g.vocab;
      dim = g.dim;
      await writeFile(files[q], g.bytes);
    }
    const rnd = new Random(5);
    const feeds = Array.from({ length: batches }, () => {
      // ids ≥ 1000 avoid the specials; a real tokenizer's ids, as far as the cost goes.
      const ids = BigInt64Array.from({ length: batchSize * seq }, () => BigInt(1000 + Math.floor(rnd.next() * (vocab - 1000))));
      const feed: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', ids, [batchSize, seq]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(batchSize * seq).fill(1n), [batchSize, seq]),
      };
      if (kind === 'bert') feed['token_type_ids'] = new ort.Tensor('int64', new BigInt64Array(batchSize * seq), [batchSize, seq]);
      return feed;
    });
    const float = await timeGraph(files.none, feeds, batchSize * seq);
    const int8 = await timeGraph(files.int8, feeds, batchSize * seq);
    const all = float.outputs.flatMap((o, i) => cosines(o, int8.outputs[i]!, dim)).sort((x, y) => x - y);
    return { minCos: all[0]!, p01Cos: all[Math.floor(all.length * 0.01)]!, meanCos: all.reduce((a, b) => a + b, 0) / all.length, float, int8 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(which = 'both', batches = 3, seq = 180): Promise<void> {
  for (const kind of which === 'both' ? (['bert', 'modernbert'] as const) : ([which] as ('bert' | 'modernbert')[])) {
    const r = await compare(kind, batches, seq);
    console.log(
      `${kind === 'bert' ? 'colbertv2.0 shape (BERT-base)' : 'GTE-ModernColBERT-v1 shape (ModernBERT-base)'}, batches of 8 × ${seq} tokens, 1 thread: ` +
        `cosine int8 vs float min ${r.minCos.toFixed(4)}, p1 ${r.p01Cos.toFixed(4)}, mean ${r.meanCos.toFixed(5)}; ` +
        `float ${r.float.tokensPerSecond.toFixed(0)} tok/s (${r.float.tokensPerCpuSecond.toFixed(0)} per CPU-s), ` +
        `int8 ${r.int8.tokensPerSecond.toFixed(0)} tok/s (${r.int8.tokensPerCpuSecond.toFixed(0)} per CPU-s): ` +
        `${(r.int8.tokensPerSecond / r.float.tokensPerSecond).toFixed(2)}× wall, ${(r.int8.tokensPerCpuSecond / r.float.tokensPerCpuSecond).toFixed(2)}× per CPU-second`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2], process.argv[3] === undefined ? undefined : Number(process.argv[3]), process.argv[4] === undefined ? undefined : Number(process.argv[4]));
}
