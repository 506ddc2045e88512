/**
 * The bundled USE-lite model end to end: shapes, unit rows, determinism, padding invariance,
 * clipping, a semantic sanity check, the encoder pool in-process and on a worker, and errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { useLiteFamily, useLiteInfo, SentencePieceTokenizer, UseLiteBackend } from '../src/encoder/use-lite/index.js';
import { readVocabulary, resolveModelDir } from '../src/encoder/use-lite/model-files.js';
import type { EncoderBackend, TokenEmbeddings } from '../src/encoder/types.js';
import { isPlaitError } from '../src/errors/index.js';
import * as tf from '@tensorflow/tfjs';

const DIM = 512;
let backend: EncoderBackend;
let tokenizer: SentencePieceTokenizer;

before(async () => {
  backend = await useLiteFamily.loadBackend({ family: 'use-lite' }, { intraOpNumThreads: 1 });
  tokenizer = new SentencePieceTokenizer(await readVocabulary(resolveModelDir()));
});

after(async () => {
  await backend.dispose();
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Σ over query rows of the best dot product with a document row. */
function maxSim(q: TokenEmbeddings, d: TokenEmbeddings): number {
  let total = 0;
  for (let i = 0; i < q.length; i++) {
    let best = -Infinity;
    for (let j = 0; j < d.length; j++) {
      let dot = 0;
      for (let k = 0; k < DIM; k++) dot += q.vectors[i * DIM + k]! * d.vectors[j * DIM + k]!;
      best = Math.max(best, dot);
    }
    total += best;
  }
  return total;
}

test('info: the model profile of the bundled model', async () => {
  const tok = await useLiteFamily.loadTokenizer({ family: 'use-lite' });
  assert.deepEqual(tok.info, {
    name: 'bundled:use-lite',
    family: 'use-lite',
    dim: 512,
    queryMaxlen: 128,
    docMaxlen: 128,
    queryMarker: null,
    documentMarker: null,
    attendToMaskTokens: false,
    vocabSize: 8000,
    idfWeighting: true,
    defaultMode: 'hybrid',
    documentWindow: 128,
    queryWindow: 128,
  });
  assert.deepEqual(backend.info, tok.info);
});

test('shapes: one unit-norm 512-d row per token, token ids aligned', async () => {
  const text = 'The cat sat on the mat.';
  const [e] = await backend.encode([text], 'document');
  const ids = tokenizer.tokenize(text).ids;
  assert.equal(e!.length, 8);
  assert.equal(e!.length, ids.length);
  assert.equal(e!.vectors.length, 8 * DIM);
  assert.deepEqual(Array.from(e!.tokenIds), Array.from(ids));
  for (let r = 0; r < e!.length; r++) {
    let ss = 0;
    for (let k = 0; k < DIM; k++) ss += e!.vectors[r * DIM + k]! ** 2;
    assert.ok(Math.abs(Math.sqrt(ss) - 1) < 1e-5, `row ${r} has norm ${Math.sqrt(ss)}`);
  }
  // Rows differ from one another (contextual states, not one pooled vector repeated).
  assert.ok(maxAbsDiff(e!.vectors.subarray(0, DIM), e!.vectors.subarray(DIM, 2 * DIM)) > 0.01);
});

test('determinism, and queries encode exactly like documents', async () => {
  const texts = ['Vitamin D and bone density in older adults', 'x 😀 z'];
  const a = await backend.encode(texts, 'document');
  const b = await backend.encode(texts, 'document');
  const q = await backend.encode(texts, 'query');
  for (let i = 0; i < texts.length; i++) {
    assert.deepEqual(a[i]!.vectors, b[i]!.vectors);
    assert.deepEqual(a[i]!.vectors, q[i]!.vectors);
    assert.ok(a[i]!.vectors.every(Number.isFinite));
  }
});

test('padding does not change a text: alone or in one padded graph call, within 1e-5', async () => {
  const info = useLiteInfo(tokenizer.vocabSize);
  // Both bounds at Infinity put the whole batch in a single call, padded to its longest text;
  // maxTokensPerCall at the model's 128 makes every long text a call of its own.
  const oneCall = await UseLiteBackend.load(resolveModelDir(), info, tokenizer, {
    maxPaddingRatio: Infinity,
    maxTokensPerCall: Infinity,
  });
  const capped = await UseLiteBackend.load(resolveModelDir(), info, tokenizer, {
    maxPaddingRatio: Infinity,
    maxTokensPerCall: 128,
  });
  await assert.rejects(
    UseLiteBackend.load(resolveModelDir(), info, tokenizer, { maxTokensPerCall: 64 }),
    { code: 'INVALID_ARGUMENT' },
  );
  try {
    const texts = [
      'hi',
      'Aspirin reduces the risk of heart attack.',
      'A longer passage about protein folding, chaperones and misfolding diseases such as Alzheimer disease and prion disorders, with more words to pad.',
      'word '.repeat(200),
    ];
    const batched = await oneCall.encode(texts, 'document');
    const grouped = await backend.encode(texts, 'document');
    const split = await capped.encode(texts, 'document');
    for (let i = 0; i < texts.length; i++) {
      const [alone] = await oneCall.encode([texts[i]!], 'document');
      assert.equal(batched[i]!.length, alone!.length);
      assert.ok(maxAbsDiff(batched[i]!.vectors, alone!.vectors) < 1e-5, `text ${i} changed when batched`);
      assert.ok(maxAbsDiff(grouped[i]!.vectors, alone!.vectors) < 1e-5, `text ${i} changed when grouped`);
      assert.ok(maxAbsDiff(split[i]!.vectors, alone!.vectors) < 1e-5, `text ${i} changed under maxTokensPerCall`);
    }
  } finally {
    await capped.dispose();
    await oneCall.dispose();
  }
});

test('a related pair scores higher (MaxSim) than an unrelated pair', async () => {
  const [q, related, unrelated] = await backend.encode(
    [
      'Does smoking cause lung cancer?',
      'Tobacco smoking is the leading cause of lung cancer.',
      'The football team won the championship game on Sunday.',
    ],
    'document',
  );
  const rel = maxSim(q!, related!);
  const unrel = maxSim(q!, unrelated!);
  assert.ok(rel > unrel + 0.05 * q!.length, `related ${rel} should beat unrelated ${unrel}`);
});

test('a 10k-word text is clipped to the first 128 tokens', async () => {
  const words: string[] = [];
  for (let i = 0; i < 10_000; i++) words.push(['protein', 'binding', 'assay', 'results', 'in', 'mice'][i % 6]!);
  const text = words.join(' ');
  const [e] = await backend.encode([text], 'document');
  assert.equal(e!.length, 128);
  assert.equal(e!.vectors.length, 128 * DIM);
  assert.deepEqual(Array.from(e!.tokenIds), Array.from(tokenizer.tokenize(text).ids.subarray(0, 128)));
  assert.ok(e!.vectors.every(Number.isFinite));
});

test('createEncoder in-process (threads 0): encodes, and refuses empty text with EMPTY_TEXT', async () => {
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 0 });
  try {
    assert.equal(encoder.info.name, 'bundled:use-lite');
    await assert.rejects(encoder.encodeDocuments(['fine', '']), (e: unknown) => isPlaitError(e, 'EMPTY_TEXT'));
    await assert.rejects(encoder.encodeQueries([' \n\t ']), (e: unknown) => isPlaitError(e, 'EMPTY_TEXT'));
    const [e] = await encoder.encodeQueries(['The cat sat on the mat.']);
    const [direct] = await backend.encode(['The cat sat on the mat.'], 'query');
    assert.ok(maxAbsDiff(e!.vectors, direct!.vectors) < 1e-6);
  } finally {
    await encoder.close();
  }
});

test('createEncoder on a worker thread (threads 1) gives the in-process vectors', async () => {
  const texts = ['Does smoking cause lung cancer?', 'hi', 'A second, somewhat longer document about smoking and health.'];
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 1, batchSize: 2 });
  try {
    const fromWorker = await encoder.encodeDocuments(texts);
    const inProcess = await backend.encode(texts, 'document');
    for (let i = 0; i < texts.length; i++) {
      assert.deepEqual(Array.from(fromWorker[i]!.tokenIds), Array.from(inProcess[i]!.tokenIds));
      assert.ok(maxAbsDiff(fromWorker[i]!.vectors, inProcess[i]!.vectors) < 1e-6);
    }
    await assert.rejects(encoder.encodeDocuments(['   ']), (e: unknown) => isPlaitError(e, 'EMPTY_TEXT'));
  } finally {
    await encoder.close();
  }
});

test('a missing model file gives MODEL_FILE_MISSING naming the path', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plait-use-lite-'));
  try {
    await assert.rejects(useLiteFamily.loadTokenizer({ family: 'use-lite', dir }), (e: unknown) => {
      return isPlaitError(e, 'MODEL_FILE_MISSING') && e.message.includes(path.join(dir, 'vocab.json'));
    });
    await assert.rejects(createEncoder({ family: 'use-lite', dir }, { threads: 0 }), (e: unknown) =>
      isPlaitError(e, 'MODEL_FILE_MISSING'),
    );
    // With the vocabulary present the tokenizer loads, and the backend names the missing graph.
    await copyFile(path.join(resolveModelDir(), 'vocab.json'), path.join(dir, 'vocab.json'));
    const tok = await useLiteFamily.loadTokenizer({ family: 'use-lite', dir });
    assert.equal(tok.info.vocabSize, 8000);
    await assert.rejects(useLiteFamily.loadBackend({ family: 'use-lite', dir }, { intraOpNumThreads: 1 }), (e: unknown) => {
      return isPlaitError(e, 'MODEL_FILE_MISSING') && e.message.includes(path.join(dir, 'model.json'));
    });
    // model.json present but a weight shard missing: that shard is named.
    await copyFile(path.join(resolveModelDir(), 'model.json'), path.join(dir, 'model.json'));
    await assert.rejects(useLiteFamily.loadBackend({ family: 'use-lite', dir }, { intraOpNumThreads: 1 }), (e: unknown) => {
      return isPlaitError(e, 'MODEL_FILE_MISSING') && /group1-shard\dof7/.test(e.message);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('encoding frees its tensors: TF.js memory does not grow', async () => {
  const texts = ['Memory should stay flat.', 'word '.repeat(150), 'hi'];
  await backend.encode(texts, 'document');
  const before = tf.memory();
  for (let i = 0; i < 5; i++) await backend.encode(texts, 'document');
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
});
