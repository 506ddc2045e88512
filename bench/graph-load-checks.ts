/**
 * What the load-time checks of a model graph cost on a BERT-base-shaped graph (vocabulary 30,522,
 * hidden 768, 12 layers, FFN 3072: 438 MB, random weights, written to a temporary folder):
 * - the converted-graph reuse check (convert-checkpoint.ts graphUnchanged): a stat (size + mtime)
 *   against a full sha256 of the graph, which is why a reuse hashes only when the mtime moved;
 * - the tokenizer-vs-graph vocabulary check (colbert-onnx/graph-vocabulary.ts readEmbeddingRows):
 *   a walk of the graph's nodes and initializer headers that skips the weights.
 * Run: npm run build:ts && node dist/bench/graph-load-checks.js
 */
import { statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crossEncoderGraph } from '../test/helpers/tiny-cross-encoder.js';
import { readEmbeddingRows } from '../src/encoder/colbert-onnx/graph-vocabulary.js';
import { sha256File } from '../src/util/file-sha256.js';

async function timed<T>(label: string, runs: number, f: () => T | Promise<T>): Promise<void> {
  const ms: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    last = await f();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label}: median ${ms[runs >> 1]!.toFixed(3)} ms, min ${ms[0]!.toFixed(3)} ms (${runs} runs) → ${JSON.stringify(last)}`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'plait-graph-checks-'));
try {
  const file = path.join(dir, 'model.onnx');
  const { bytes } = crossEncoderGraph({ vocabSize: 30522, hidden: 768, heads: 12, ffn: 3072, layers: 12, maxPositions: 512, numLabels: 1, withTokenTypes: true, seed: 1 });
  writeFileSync(file, bytes);
  console.log(`graph: ${bytes.length} bytes`);
  await timed('stat (size + mtime)', 21, () => {
    const st = statSync(file);
    return st.size;
  });
  await timed('readEmbeddingRows', 7, () => readEmbeddingRows(file));
  await timed('sha256File', 3, async () => (await sha256File(file)).slice(0, 8));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
