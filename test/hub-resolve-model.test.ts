import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import { isPlaitError } from '../src/errors/index.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';

let root: string;
let model: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-resolve-'));
  model = path.join(root, 'my-colbert');
  await makeTinyColbert(model, { dim: 8, hidden: 8 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('no model, "bundled" and "use-lite" give the bundled model', async () => {
  for (const m of [undefined, 'bundled', 'use-lite']) assert.deepEqual(await resolveModelSpec(m), { family: 'use-lite' });
});

test('a local folder gives a colbert-onnx spec for it', async () => {
  assert.deepEqual(await resolveModelSpec(model), { family: 'colbert-onnx', dir: model });
  const rel = path.relative(process.cwd(), model);
  assert.deepEqual(await resolveModelSpec(rel), { family: 'colbert-onnx', dir: model });
});

test('a folder without tokenizer.json is MODEL_FILE_MISSING naming it', async () => {
  const broken = path.join(root, 'broken');
  await cp(model, broken, { recursive: true });
  await unlink(path.join(broken, 'tokenizer.json'));
  await assert.rejects(resolveModelSpec(broken), (e: unknown) => {
    assert.ok(isPlaitError(e, 'MODEL_FILE_MISSING'));
    assert.match((e as Error).message, /tokenizer\.json/);
    return true;
  });
});

test('a path that does not exist, or a file, is MODEL_NOT_FOUND', async () => {
  for (const m of ['./no/such/folder', path.join(root, 'missing'), 'not a repo id', path.join(model, 'model.onnx')]) {
    await assert.rejects(resolveModelSpec(m), (e: unknown) => isPlaitError(e, 'MODEL_NOT_FOUND'), m);
  }
});

test('an uncached hub repo id offline is OFFLINE', async () => {
  await assert.rejects(
    resolveModelSpec('acme/never-pulled', { cacheDir: path.join(root, 'cache'), offline: true }),
    (e: unknown) => isPlaitError(e, 'OFFLINE'),
  );
});
