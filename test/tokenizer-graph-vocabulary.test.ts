/**
 * A tokenizer.json whose ids reach past its ONNX graph's embedding table is refused when the model
 * loads (MODEL_UNSUPPORTED naming both sizes), for the cross-encoder and the ColBERT encoder, at
 * every door: library, CLI (--cross-encoder, --model) and server start. It was accepted, and the
 * first pair (or text) failed with onnxruntime's Gather error as ENCODE_FAILED.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrossEncoder, createEncoder, isPlaitError, resolveModelSpec } from '../src/index.js';
import { startServer } from '../src/server/index.js';
import { readEmbeddingRows, tokenizerIdBound } from '../src/encoder/colbert-onnx/graph-vocabulary.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import { makeTinyColbert, tinyVocab } from '../fixtures/tiny-colbert.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
/** Ids above 10 move up by this much: the tokenizer of a larger vocabulary than the graph's. */
const SHIFT = 1000;
let root: string;
let docs: string;
let cross: string;
let colbert: string;
let rows: number;

/** Moves the tokenizer's ids past the graph's table (what a tokenizer.json of another checkpoint does). */
async function shiftIds(file: string): Promise<number> {
  const tok = JSON.parse(await readFile(file, 'utf8')) as { model: { vocab: Record<string, number> } };
  let max = 0;
  for (const k of Object.keys(tok.model.vocab)) {
    if (tok.model.vocab[k]! > 10) tok.model.vocab[k] = tok.model.vocab[k]! + SHIFT;
    max = Math.max(max, tok.model.vocab[k]!);
  }
  await writeFile(file, JSON.stringify(tok));
  return max + 1;
}

let bound: number;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-graph-vocab-'));
  docs = path.join(root, 'docs.txt');
  await writeFile(docs, 'bread and butter\nstocks fell\n');
  cross = path.join(root, 'cross');
  await makeTinyCrossEncoder(cross, { seed: 5 });
  bound = await shiftIds(path.join(cross, 'tokenizer.json'));
  colbert = path.join(root, 'colbert');
  await makeTinyColbert(colbert, { dim: 16 });
  await shiftIds(path.join(colbert, 'tokenizer.json'));
  rows = tinyVocab().length;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function cli(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cache'), PLAIT_OFFLINE: '1' } });
  return { status: r.status, stderr: r.stderr };
}

function refused(e: unknown): true {
  assert.ok(isPlaitError(e, 'MODEL_UNSUPPORTED'), String(e));
  assert.match((e as Error).message, new RegExp(`gives token ids up to ${bound - 1} \\(${bound} ids\\) but the graph .* embeds ${rows} tokens`));
  assert.equal(e.details?.['graphRows'], rows);
  assert.equal(e.details?.['tokenizerIds'], bound);
  return true;
}

test('the graph\'s table and the tokenizer\'s ids are read as they are (the fitting models load)', async () => {
  const fitting = path.join(root, 'fitting-cross');
  await makeTinyCrossEncoder(fitting, { seed: 5, vocabSize: 300 });
  assert.equal(readEmbeddingRows(path.join(fitting, 'onnx', 'model.onnx')), 300);
  assert.equal(tokenizerIdBound(JSON.parse(await readFile(path.join(fitting, 'tokenizer.json'), 'utf8'))), 300);
  assert.equal(tokenizerIdBound({ model: { vocab: [['a', 0], ['b', -1]] }, added_tokens: [{ id: 7 }] }), 8);
  assert.equal(tokenizerIdBound({ model: {} }), null);
  const ce = await CrossEncoder.create(fitting, { threads: 0 });
  await ce.close();
  const fittingColbert = path.join(root, 'fitting-colbert');
  await makeTinyColbert(fittingColbert, { dim: 16 });
  assert.equal(readEmbeddingRows(path.join(fittingColbert, 'model.onnx')), rows);
  const enc = await createEncoder(await resolveModelSpec(fittingColbert), { threads: 0 });
  await enc.close();
});

test('library: CrossEncoder.create refuses the tokenizer at load, on the calling thread and with workers', async () => {
  await assert.rejects(CrossEncoder.create(cross, { threads: 0 }), refused);
  await assert.rejects(CrossEncoder.create(cross, { threads: 1 }), refused);
});

test('library: createEncoder refuses a ColBERT model\'s tokenizer the same way', async () => {
  await assert.rejects(async () => createEncoder(await resolveModelSpec(colbert), { threads: 0 }), refused);
});

test('CLI: --cross-encoder and --model name both sizes, exit 1, no onnxruntime error', () => {
  const r = cli(['rerank', '--query', 'bread', '--docs', docs, '--cross-encoder', cross]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`embeds ${rows} tokens .*\\[MODEL_UNSUPPORTED\\]`));
  assert.doesNotMatch(r.stderr, /ENCODE_FAILED|Gather/);
  const e = cli(['encode', '--model', colbert, 'bread and butter']);
  assert.equal(e.status, 1, e.stderr);
  assert.match(e.stderr, new RegExp(`embeds ${rows} tokens .*\\[MODEL_UNSUPPORTED\\]`));
});

test('server start: a --cross-encoder whose tokenizer does not fit is refused before listening', async () => {
  await assert.rejects(startServer([], { host: '127.0.0.1', port: 0, crossEncoders: [cross] }), refused);
});
