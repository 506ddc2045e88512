/**
 * Which models the cross-encoder stage takes, as a user brings them: a ColBERT encoder named there
 * by mistake is refused when named (library and CLI), not at its first pair; a local checkpoint
 * folder of a cross-encoder (config.json + weights, no graph) is converted as a hub id's is.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrossEncoder, isPlaitError, resolveCrossEncoder } from '../src/index.js';
import { makeBertCheckpoint } from './helpers/tiny-bert.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
let root: string;
let docs: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-cross-models-'));
  docs = path.join(root, 'docs.txt');
  await writeFile(docs, 'bread and butter\nstocks fell\n');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cache'), PLAIT_OFFLINE: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a ColBERT encoder named as the cross-encoder is MODEL_UNSUPPORTED when named, from the library and the CLI', async () => {
  // It was taken, and the first pair failed: WORKER_FAILED 'output "embeddings" … expected float32 [1, numLabels]'.
  const colbert = path.join(root, 'colbert');
  await makeTinyColbert(colbert, { dim: 16 });
  await assert.rejects(resolveCrossEncoder(colbert), (e: unknown) => {
    assert.ok(isPlaitError(e, 'MODEL_UNSUPPORTED'), String(e));
    assert.match((e as Error).message, /is not a cross-encoder: its ONNX graph's first output is one vector per token \(\[\?, \?, 16\]\)/);
    return true;
  });
  const r = cli(['rerank', '--query', 'bread', '--docs', docs, '--cross-encoder', colbert]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\[MODEL_UNSUPPORTED\]/);
  assert.doesNotMatch(r.stderr, /WORKER_FAILED/);
});

test('a local cross-encoder checkpoint without a graph is converted into the model cache, from the library and the CLI', async () => {
  // A fine-tuned cross-encoder as transformers saves it was MODEL_FILE_MISSING ("has no onnx/model.onnx or
  // model.onnx") as a folder, while the same files as a hub id were converted.
  const dir = path.join(root, 'cross-checkpoint');
  await makeBertCheckpoint(dir, { layout: 'cross-encoder' });
  const cacheDir = path.join(root, 'cache');
  const files = await resolveCrossEncoder(dir, { cacheDir });
  assert.ok(files.onnxPath.startsWith(path.join(cacheDir, 'converted')), files.onnxPath);
  assert.equal(files.dir, dir);
  const ce = await CrossEncoder.create(dir, { threads: 0, cacheDir });
  let scores: number[];
  try {
    scores = Array.from(await ce.score('bread', ['bread and butter', 'stocks fell']));
  } finally {
    await ce.close();
  }
  const r = cli(['rerank', '--query', 'bread', '--docs', docs, '--cross-encoder', dir, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const ranked = JSON.parse(r.stdout) as { index: number; score: number }[];
  assert.equal(ranked.length, 2);
  for (const { index, score } of ranked) assert.ok(Math.abs(score - scores[index]!) < 1e-5, `${score} vs ${scores[index]}`);
});
