/**
 * The bundled USE-lite on onnxruntime (use-lite/use-lite-graph.ts) against TF.js-wasm, its
 * reference: same token vectors on scifact passages (batched, so padding is exercised) within 1e-4.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { SentencePieceTokenizer, UseLiteBackend, useLiteFamily, useLiteInfo } from '../src/encoder/use-lite/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { readModelArtifacts, readVocabulary, resolveModelDir } from '../src/encoder/use-lite/model-files.js';
import { buildUseLiteGraph, USE_LITE_STATES_OUTPUT } from '../src/encoder/use-lite/use-lite-graph.js';
import type { TextTokenizer } from '../src/encoder/types.js';
import { dataPath, needsData } from './helpers/requirements.js';

const skip = needsData('scifact');
let passages: string[] = [];
before(() => {
  if (skip !== false) return;
  passages = readFileSync(dataPath('scifact/corpus.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .slice(0, 24)
    .map((l) => {
      const d = JSON.parse(l) as { title?: string; text?: string };
      return `${d.title ?? ''} ${d.text ?? ''}`.trim();
    });
});

test('USE-lite rebuilt for onnxruntime gives TF.js-wasm token vectors within 1e-4 on scifact passages', { skip }, async (t) => {
  const tokenizer: TextTokenizer = await useLiteFamily.loadTokenizer({ family: 'use-lite' });
  const tfjs = await UseLiteBackend.load(resolveModelDir(), tokenizer.info, new SentencePieceTokenizer(await readVocabulary(resolveModelDir())), { engine: 'tfjs' });
  const bytes = buildUseLiteGraph(await readModelArtifacts(resolveModelDir()));
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const texts = [...passages, 'what is late interaction retrieval?', 'a'];
    const reference = await tfjs.encode(texts, 'document');
    // One padded batch of all texts: the short ones exercise the padding mask.
    const ids = reference.map((r) => Array.from(r.tokenIds));
    const S = Math.max(...ids.map((x) => x.length));
    const B = ids.length;
    const inputIds = new BigInt64Array(B * S);
    const mask = new BigInt64Array(B * S);
    ids.forEach((row, b) => row.forEach((id, i) => ((inputIds[b * S + i] = BigInt(id)), (mask[b * S + i] = 1n))));
    const out = await session.run({ input_ids: new ort.Tensor('int64', inputIds, [B, S]), attention_mask: new ort.Tensor('int64', mask, [B, S]) });
    const states = out[USE_LITE_STATES_OUTPUT]!.data as Float32Array;
    const dim = tokenizer.info.dim;
    let worst = 0;
    let rows = 0;
    reference.forEach((r, b) => {
      for (let i = 0; i < r.length; i++, rows++) {
        let norm = 0;
        for (let k = 0; k < dim; k++) norm += states[(b * S + i) * dim + k]! ** 2;
        const inv = 1 / Math.sqrt(norm);
        for (let k = 0; k < dim; k++) worst = Math.max(worst, Math.abs(states[(b * S + i) * dim + k]! * inv - r.vectors[i * dim + k]!));
      }
    });
    t.diagnostic(`${rows} token vectors of ${B} texts (longest ${S}), max |onnx − tfjs| ${worst.toExponential(2)}`);
    assert.ok(rows > 1000);
    assert.ok(worst < 1e-4, `max deviation ${worst}`);
  } finally {
    await session.release();
    await tfjs.dispose();
  }
});

test('the backend runs onnxruntime by default and TF.js when asked; both give the same vectors through the batching path', { skip }, async () => {
  const tokenizer = new SentencePieceTokenizer(await readVocabulary(resolveModelDir()));
  const info = useLiteInfo(tokenizer.vocabSize);
  const onnx = await UseLiteBackend.load(resolveModelDir(), info, tokenizer);
  const tfjs = await UseLiteBackend.load(resolveModelDir(), info, tokenizer, { engine: 'tfjs' });
  try {
    assert.equal(onnx.engine, 'onnx');
    assert.equal(tfjs.engine, 'tfjs');
    const texts = passages.slice(0, 8);
    const [a, b] = [await onnx.encode(texts, 'document'), await tfjs.encode(texts, 'document')];
    a.forEach((e, i) => {
      assert.deepEqual(Array.from(e.tokenIds), Array.from(b[i]!.tokenIds));
      for (let k = 0; k < e.vectors.length; k++) assert.ok(Math.abs(e.vectors[k]! - b[i]!.vectors[k]!) < 1e-4);
    });
    await assert.rejects(UseLiteBackend.load(resolveModelDir(), info, tokenizer, { engine: 'gpu' as 'onnx' }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  } finally {
    await onnx.dispose();
    await tfjs.dispose();
  }
});
