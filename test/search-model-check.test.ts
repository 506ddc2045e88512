/**
 * The model guard (issue 8, item 15): a different checkpoint of the same family and shape is
 * refused by its fingerprint; an index without one (built before fingerprints) still opens;
 * index.rerank validates topK.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { checkModel } from '../src/search/model-check.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { modelFingerprint } from '../src/encoder/model-fingerprint.js';
import { isPlaitError } from '../src/errors/index.js';
import { makeTinyColbert } from './helpers/tiny-colbert.js';

let dir: string;
const A = (): string => join(dir, 'model-a');
const B = (): string => join(dir, 'model-b');
const INDEX = (): string => join(dir, 'idx');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-modelcheck-'));
  // Same layout, dim and vocabulary; only the random weights differ.
  await makeTinyColbert(A(), { seed: 1 });
  await makeTinyColbert(B(), { seed: 2 });
  const corpus = join(dir, 'c.jsonl');
  writeFileSync(
    corpus,
    ['hello world search engine', 'late interaction retrieval model', 'query document token vector']
      .map((t, i) => JSON.stringify({ _id: `t${i}`, text: t }))
      .join('\n'),
  );
  await buildIndex(corpus, { index: INDEX(), model: A(), encoderOptions: { threads: 0 } });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the fingerprint depends on the weights, not on the folder', async () => {
  const a = await modelFingerprint({ family: 'colbert-onnx', dir: A() });
  const b = await modelFingerprint({ family: 'colbert-onnx', dir: B() });
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, b);
  const copy = join(dir, 'model-a-copy');
  await makeTinyColbert(copy, { seed: 1 });
  assert.equal(await modelFingerprint({ family: 'colbert-onnx', dir: copy }), a);
  // The bundled model has one too.
  assert.match(await modelFingerprint({ family: 'use-lite' }), /^[0-9a-f]{64}$/);
});

test('the build records the fingerprint; another checkpoint of the same shape is MODEL_MISMATCH', async () => {
  const manifest = JSON.parse(readFileSync(join(INDEX(), 'manifest.json'), 'utf8')) as { model: { fingerprint?: string } };
  assert.equal(manifest.model.fingerprint, await modelFingerprint({ family: 'colbert-onnx', dir: A() }));
  const same = await openIndex(INDEX(), { model: A(), encoderOptions: { threads: 0 } });
  assert.equal((await same.search('retrieval model', { topK: 1, mode: 'late' })).hits.length, 1);
  await same.close();
  const other = await openIndex(INDEX(), { model: B(), encoderOptions: { threads: 0 } });
  await assert.rejects(other.search('retrieval model', { mode: 'late' }), (e) => isPlaitError(e, 'MODEL_MISMATCH') && /fingerprint/.test(e.message));
  await other.close();
  const enc = await createEncoder({ family: 'colbert-onnx', dir: B() }, { threads: 0 });
  try {
    await assert.rejects(openIndex(INDEX(), { encoder: enc }), (e) => isPlaitError(e, 'MODEL_MISMATCH'));
  } finally {
    await enc.close();
  }
});

test('an index without a fingerprint (older builds) is checked by its fields only', async () => {
  const enc = await createEncoder({ family: 'colbert-onnx', dir: B() }, { threads: 0 });
  try {
    const { fingerprint: _, ...old } = enc.info;
    assert.doesNotThrow(() => checkModel(old, enc.info));
    assert.throws(() => checkModel({ ...old, dim: old.dim + 1 }, enc.info), (e) => isPlaitError(e, 'MODEL_MISMATCH'));
  } finally {
    await enc.close();
  }
});

test('index.rerank validates topK', async () => {
  const idx = await openIndex(INDEX(), { encoderOptions: { threads: 0 } });
  try {
    for (const topK of [-1, 1.5, Number.NaN]) {
      await assert.rejects(idx.rerank('retrieval', ['t0', 't1'], { topK }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /topK/.test(e.message), String(topK));
    }
    assert.deepEqual(await idx.rerank('retrieval', ['t0', 't1'], { topK: 0 }), []);
    const two = await idx.rerank('late interaction retrieval model', ['t0', 't1', 't2'], { topK: 2 });
    assert.equal(two.length, 2);
    assert.equal(two[0]!.docId, 't1');
  } finally {
    await idx.close();
  }
});
