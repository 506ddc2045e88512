/**
 * Which models the cross-encoder stage takes, as a user brings them: a ColBERT encoder named there
 * by mistake is refused when named (library and CLI), not at its first pair.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPlaitError, resolveCrossEncoder } from '../src/index.js';
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

function cli(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cache'), PLAIT_OFFLINE: '1' } });
  return { status: r.status, stderr: r.stderr };
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
