/**
 * ENCODE_FAILED — onnxruntime failing a run — of a model pulled into the hub cache names the repair
 * (details.repairWith; the CLI's `plait model pull <id>` hint), as the load failures do, for the
 * ColBERT encoder and the cross-encoder, in-process and on worker threads. It said only
 * onnxruntime's words; and a cross-encoder on workers lost the code itself (WORKER_FAILED
 * "Worker failed: Encoding failed: …").
 * The run failure is real: graphs whose position table (4 or 8 rows) is shorter than the texts
 * (8 for the cross-encoder: its load-time probe pair, 5 tokens, must run), reached through an
 * Identity node so that the load-time position check (position-window.ts) does not see it and
 * refuse the model first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrossEncoder, createEncoder, isPlaitError, resolveModelSpec } from '../src/index.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import { makeTinyColbert, tinyOnnxModel, tinyVocab } from '../fixtures/tiny-colbert.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
const LONG = 'bread and butter with stocks that fell and rose again over the year';
let root: string;
let cross: string;
let colbert: string;

/** Writes the pull manifest (plait-manifest.json) that pull-model.ts writes, for the folder's files as they are. */
async function asPulled(dir: string, repoId: string): Promise<void> {
  const files: { file: string; bytes: number; sha256: string }[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const file = path.join(dir, entry);
    if (!(await stat(file)).isFile()) continue;
    const bytes = await readFile(file);
    files.push({ file: entry.split(path.sep).join('/'), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  await writeFile(path.join(dir, 'plait-manifest.json'), JSON.stringify({ repoId, revision: 'main', files }));
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-run-repair-'));
  cross = path.join(root, 'cross');
  await makeTinyCrossEncoder(cross, { seed: 3, graphPositions: 8, hidePositionTable: true });
  await asPulled(cross, 'org/tiny-cross');
  colbert = path.join(root, 'colbert');
  await makeTinyColbert(colbert, { dim: 16 });
  await writeFile(
    path.join(colbert, 'model.onnx'),
    tinyOnnxModel({ vocabSize: tinyVocab().length, hidden: 32, dim: 16, maxPositions: 4, withTokenTypes: true, outputName: 'last_hidden_state', seed: 7, hidePositionTable: true }),
  );
  await asPulled(colbert, 'org/tiny-colbert');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function namesRepair(repoId: string): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(isPlaitError(e, 'ENCODE_FAILED'), String(e));
    assert.equal(e.details?.['repairWith'], repoId);
    assert.match(e.message, new RegExp(`the model is ${repoId} from the hub cache .*pull it again`));
    return true;
  };
}

test('cross-encoder: a failed run names the repair, in-process and on a worker (where it was WORKER_FAILED)', async () => {
  for (const threads of [0, 1]) {
    const ce = await CrossEncoder.create(cross, { threads });
    try {
      await assert.rejects(ce.score('bread', [LONG]), namesRepair('org/tiny-cross'));
    } finally {
      await ce.close();
    }
  }
});

test('ColBERT encoder: a failed run names the repair, in-process and on a worker', async () => {
  const spec = await resolveModelSpec(colbert);
  for (const threads of [0, 1]) {
    const enc = await createEncoder(spec, { threads });
    try {
      await assert.rejects(enc.encodeDocuments([LONG]), namesRepair('org/tiny-colbert'));
    } finally {
      await enc.close();
    }
  }
});

test('CLI: plait rerank --cross-encoder prints the pull command under ENCODE_FAILED', async () => {
  const docs = path.join(root, 'docs.txt');
  await writeFile(docs, `${LONG}\n`);
  const r = spawnSync(process.execPath, [BIN, 'rerank', '--query', 'bread', '--docs', docs, '--cross-encoder', cross], {
    encoding: 'utf8',
    env: { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cache'), PLAIT_OFFLINE: '1' },
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\[ENCODE_FAILED\]\nplait: plait model pull org\/tiny-cross re-checks every file's sha256/);
});

test('cross-encoder: a pulled file that still loads but is no longer the size pulled is refused at create with its repair, as an encoder\'s is', async () => {
  // It was taken, and scored with whatever the damaged file held; createEncoder refused it already.
  const dir = path.join(root, 'cross-damaged');
  await makeTinyCrossEncoder(dir, { seed: 3 });
  await asPulled(dir, 'org/tiny-cross-damaged');
  await writeFile(path.join(dir, 'config.json'), `${await readFile(path.join(dir, 'config.json'), 'utf8')}\n\n`);
  await assert.rejects(CrossEncoder.create(dir, { threads: 0 }), (e: unknown) => {
    assert.ok(isPlaitError(e, 'DOWNLOAD_CORRUPT'), String(e));
    assert.equal(e.details?.['repairWith'], 'org/tiny-cross-damaged');
    assert.deepEqual(e.details?.['damaged'], ['config.json']);
    return true;
  });
});
