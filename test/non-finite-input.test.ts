/**
 * A NaN or infinite embedding value is refused with INVALID_INPUT naming where it is, by a build and
 * by a write, and nothing is committed (trial of issue 20's writes: updateIndex accepted NaN, which
 * compresses into a valid-looking code whose MaxSim silently drops the token).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { updateIndex } from '../src/mutate/index-updater.js';
import { readManifest } from '../src/format/index-reader.js';
import { isPlaitError } from '../src/errors/index.js';
import { firstNonFinite } from '../src/util/vectors.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc } from './helpers/living.js';

const DIM = 16;

test('firstNonFinite finds the first NaN or ±Infinity, and −1 on finite values (large and −0 included)', () => {
  assert.equal(firstNonFinite(Float32Array.of(1, -0, 3.4e38, -3.4e38)), -1);
  assert.equal(firstNonFinite(new Float32Array(0)), -1);
  assert.equal(firstNonFinite(Float32Array.of(0, 1, Number.NaN, Infinity)), 2);
  assert.equal(firstNonFinite(Float32Array.of(0, -Infinity)), 1);
});

test('a build and a write refuse a non-finite embedding value, naming document/passage, token and dimension; nothing is committed', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'plait-nonfinite-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { passages } = syntheticPassages(30, DIM, 4, 32, 0.3);
  const bad = passages.map((p) => ({ ...p, vectors: Float32Array.from(p.vectors) }));
  bad[7]!.vectors[2 * DIM + 5] = Number.POSITIVE_INFINITY;
  const broken = join(root, 'broken');
  await assert.rejects(buildSynthetic(broken, bad, DIM), (e) => isPlaitError(e, 'INVALID_INPUT') && /passage 7 .*token 2, dimension 5/.test((e as Error).message));
  assert.ok(!existsSync(join(broken, 'manifest.json')), 'no index left behind');

  const path = join(root, 'idx');
  await buildSynthetic(path, passages, DIM);
  const before = readManifest(path);
  const nan = { ...passages[0]!, vectors: Float32Array.from(passages[0]!.vectors) };
  nan.vectors[DIM + 9] = Number.NaN;
  assert.throws(() => updateIndex(path, { add: [encodedDoc('new-ok', passages[1]!), encodedDoc('new-nan', nan)] }), (e) => isPlaitError(e, 'INVALID_INPUT') && /"new-nan".*token 1, dimension 9/.test((e as Error).message));
  const after = readManifest(path);
  assert.equal(after.generation, before.generation);
  assert.equal(after.counts.documents, before.counts.documents);
});
