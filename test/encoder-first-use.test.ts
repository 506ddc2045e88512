/**
 * A new user's first steps with a converted checkpoint (issue 23's features), through the CLI:
 * a ModernBERT ColBERT pulled from a stand-in hub, an int8 index, and the careless inputs a user
 * makes. Every refusal carries a stable code and says what to do:
 * - a PyLate folder copied without config_sentence_transformers.json (its markers unknown) is
 *   MODEL_FILE_MISSING naming that file, not vectors encoded with BERT's "[unused0]" as text;
 * - a folder without tokenizer.json says to copy it or pull the repository;
 * - a model cache that moved (another PLAIT_CACHE_DIR, an index from another machine) finds the
 *   index's hub model again by its id, int8 graph included, or says OFFLINE; an unreachable hub
 *   says to check the network or use a model already here;
 * - `--model` that does not fit the index is refused before the search, with the way out;
 * - `plait info` says an index runs the int8 graph;
 * - a mistyped `--option` gets commander's suggestion as its hint, not the '--' hint for queries.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesOf, startStaticHub, type StaticHub } from './helpers/static-hub.js';
import { makeModernBertCheckpoint, TINY_MODERNBERT } from './helpers/tiny-modernbert.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
const REPO = 'trial/modern-colbert';

let root: string;
let hub: StaticHub;

/** The CLI, asynchronously (the stand-in hub answers from this process). */
function plait(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, PLAIT_OFFLINE: '', HF_HUB_OFFLINE: '', ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-first-use-'));
  const ck = await makeModernBertCheckpoint(path.join(root, 'ck'), { seed: 3 });
  hub = await startStaticHub({ [REPO]: await filesOf(ck.dir) });
  await makeModernBertCheckpoint(path.join(root, 'ck24'), { seed: 9, shape: { ...TINY_MODERNBERT, dim: 24 } });
});

after(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

test('an int8 index of a hub model: info says int8; a moved model cache is found again by the hub id; offline says OFFLINE', async () => {
  const cacheA = path.join(root, 'cache-a');
  const env = { HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cacheA };
  const built = await plait(['index', SAMPLE, '--index', './idx8', '--model', REPO, '--quantize', 'int8', '-q', '--threads', '0'], env);
  assert.equal(built.code, 0, built.stderr);
  const info = await plait(['info', './idx8'], env);
  assert.match(info.stdout, /^model\s+trial\/modern-colbert \(colbert-onnx, 16-d, .*, int8 graph\)$/m);
  const search = (e: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> => plait(['search', './idx8', 'why does bread rise', '-k', '3', '--json'], e);
  const before = await search(env);
  assert.equal(before.code, 0, before.stderr);

  await rm(cacheA, { recursive: true });
  const moved = await search({ HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: path.join(root, 'cache-b') });
  assert.equal(moved.code, 0, moved.stderr);
  assert.deepEqual(JSON.parse(moved.stdout).hits, JSON.parse(before.stdout).hits, 'the same int8 model, found again: the same hits and scores');

  // No hub at all (a wrong HF_ENDPOINT, no network): DOWNLOAD_FAILED, saying what to do.
  const unreachable = await plait(['encode', '--model', 'trial/other', 'bread'], { HF_ENDPOINT: 'http://127.0.0.1:9', PLAIT_CACHE_DIR: path.join(root, 'cache-d') });
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /check the network \(HF_ENDPOINT names another hub or a mirror\), or use a model already here: .* \[DOWNLOAD_FAILED\]/);
  const offline = await plait(['search', './idx8', 'bread', '--json'], { PLAIT_CACHE_DIR: path.join(root, 'cache-c'), PLAIT_OFFLINE: '1' });
  assert.equal(offline.code, 1);
  const err = JSON.parse(offline.stderr).error as { code: string; message: string };
  assert.equal(err.code, 'OFFLINE');
  assert.match(err.message, /plait model pull trial\/modern-colbert/);
});

test('careless checkpoint folders: no settings file, no tokenizer.json — each names the file and what to do', async () => {
  const env = { PLAIT_CACHE_DIR: path.join(root, 'cache-local') };
  const noSettings = path.join(root, 'no-settings');
  await cp(path.join(root, 'ck'), noSettings, { recursive: true });
  await rm(path.join(noSettings, 'config_sentence_transformers.json'));
  const a = await plait(['encode', '--model', noSettings, 'bread rises', '--json'], env);
  assert.equal(a.code, 1, a.stderr);
  const ea = JSON.parse(a.stderr).error as { code: string; message: string };
  assert.equal(ea.code, 'MODEL_FILE_MISSING');
  assert.match(ea.message, /\[unused0\] and \[unused1\] were assumed, but .*tokenizer\.json has no such token: copy config_sentence_transformers\.json/);

  const noTokenizer = path.join(root, 'no-tokenizer');
  await cp(path.join(root, 'ck'), noTokenizer, { recursive: true });
  await rm(path.join(noTokenizer, 'tokenizer.json'));
  const b = await plait(['encode', '--model', noTokenizer, 'bread rises'], env);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /has no tokenizer\.json: copy tokenizer\.json .* or pull the whole repository \(plait model pull <org\/name>\) \[MODEL_FILE_MISSING\]/);
});

test('--model that does not fit the index is refused before the search, with the way out; a mistyped option gets its suggestion', async () => {
  const env = { PLAIT_CACHE_DIR: path.join(root, 'cache-local') };
  const built = await plait(['index', SAMPLE, '--index', './idx-local', '--model', path.join(root, 'ck'), '-q', '--threads', '0'], env);
  assert.equal(built.code, 0, built.stderr);
  const r = await plait(['search', './idx-local', 'bread', '--model', path.join(root, 'ck24')], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /dim: index 16, model 24\) \[MODEL_MISMATCH\]\nplait: --model .*ck24 is not the model this index was built with: leave out --model/);
  const typo = await plait(['search', './idx-local', 'bread', '--mdoe', 'late']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^plait: Usage: unknown option '--mdoe' \[USAGE\]\nplait: Did you mean --mode\?\n/);
  assert.doesNotMatch(typo.stderr, /goes after '--'/);
});
