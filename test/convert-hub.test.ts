import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { cachedModel, pullModel } from '../src/encoder/hub/index.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import type { ConvertManifest } from '../src/encoder/convert/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { expectedEncoding, maxDeviation } from './helpers/convert-expect.js';
import { filesOf, startStaticHub, type StaticHub } from './helpers/static-hub.js';
import { makeBertCheckpoint, type WrittenCheckpoint } from './helpers/tiny-bert.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
const COLBERT = 'colbert-ir/colbertv2.0';
const PYLATE = 'lightonai/tiny-pylate';
const XLMR = 'FacebookAI/xlm-roberta-base';
const CROSS = 'cross-encoder/ms-marco-MiniLM-L-6-v2';
const VOCAB_ONLY = 'org/colbert-vocab-txt';
/** The CLI in a child process, asynchronously: the stand-in hub answers from this process's event loop. */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}
const QUERY = 'what is late interaction retrieval?';
const DOCUMENT = 'search engine: index, query & document model!';

let root: string;
let hub: StaticHub;
const ck: Record<string, WrittenCheckpoint> = {};
let n = 0;
const freshCache = (): string => path.join(root, `cache-${n++}`);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-convert-hub-'));
  // Stand-ins with the real repositories' layouts (random tiny weights, no ONNX graph in any).
  ck[COLBERT] = await makeBertCheckpoint(path.join(root, 'src-colbert'), { layout: 'colbert' });
  ck[PYLATE] = await makeBertCheckpoint(path.join(root, 'src-pylate'), { layout: 'st-subfolder', format: 'torch' });
  ck[XLMR] = await makeBertCheckpoint(path.join(root, 'src-xlmr'), { layout: 'colbert', configOverrides: { model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'] } });
  ck[CROSS] = await makeBertCheckpoint(path.join(root, 'src-cross'), { layout: 'cross-encoder' });
  ck[VOCAB_ONLY] = await makeBertCheckpoint(path.join(root, 'src-vocab'), { layout: 'colbert', format: 'torch', vocabTxtOnly: true, seed: 21 });
  const repos: Record<string, Map<string, Buffer>> = {};
  for (const [id, c] of Object.entries(ck)) repos[id] = await filesOf(c.dir);
  hub = await startStaticHub(repos);
});
after(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

async function assertEncodesLikeReference(model: string, cacheDir: string, c: WrittenCheckpoint): Promise<void> {
  const spec = await resolveModelSpec(model, { cacheDir, offline: true });
  const encoder = await createEncoder(spec, { threads: 0 });
  try {
    const [q] = await encoder.encodeQueries([QUERY]);
    const [d] = await encoder.encodeDocuments([DOCUMENT]);
    assert.ok(maxDeviation(q!, expectedEncoding(c, QUERY, 'query'), c.shape.dim) < 1e-4);
    assert.ok(maxDeviation(d!, expectedEncoding(c, DOCUMENT, 'document'), c.shape.dim) < 1e-4);
  } finally {
    await encoder.close();
  }
}

describe('model pull of checkpoints without an ONNX graph', () => {
  test('colbertv2.0 layout: downloads the weights, builds model.onnx once, reuses it offline', async () => {
    const cacheDir = freshCache();
    const pulled = await pullModel(COLBERT, { cacheDir, endpoint: hub.endpoint });
    assert.equal(pulled.fromCache, false);
    assert.equal(pulled.converted?.graph, 'model.onnx');
    const files = pulled.files.map((f) => f.file);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'artifact.metadata', 'model.onnx']) assert.ok(files.includes(f), f);
    const manifest = JSON.parse(readFileSync(path.join(pulled.dir, 'plait-convert.json'), 'utf8')) as ConvertManifest;
    assert.deepEqual(manifest.head, { kind: 'colbert', output: 'embeddings', dim: 16 });
    assert.equal(manifest.sources.find((s) => s.file === 'model.safetensors')?.sha256, pulled.files.find((f) => f.file === 'model.safetensors')?.sha256);
    await assertEncodesLikeReference(COLBERT, cacheDir, ck[COLBERT]!);
    const before = hub.requests.length;
    const again = await pullModel(COLBERT, { cacheDir, endpoint: hub.endpoint });
    assert.equal(again.fromCache, true);
    assert.equal(hub.requests.length, before, 'no request for a cached pull');
  });

  test('sentence-transformers layout (modules.json → 0_Transformer/, 1_Dense/, pytorch_model.bin)', async () => {
    const cacheDir = freshCache();
    const pulled = await pullModel(PYLATE, { cacheDir, endpoint: hub.endpoint });
    const files = pulled.files.map((f) => f.file);
    for (const f of ['modules.json', '0_Transformer/config.json', '0_Transformer/pytorch_model.bin', '0_Transformer/tokenizer.json', '1_Dense/config.json', '1_Dense/pytorch_model.bin', 'model.onnx']) {
      assert.ok(files.includes(f), f);
    }
    await assertEncodesLikeReference(PYLATE, cacheDir, ck[PYLATE]!);
  });

  test('an unsupported architecture is refused after config.json, before the weights are fetched', async () => {
    const cacheDir = freshCache();
    await assert.rejects(pullModel(XLMR, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => isPlaitError(e, 'MODEL_UNSUPPORTED') && /xlm-roberta/.test(e.message));
    const asked = hub.requests.filter((r) => r.startsWith(`/${XLMR}/`));
    assert.ok(asked.some((r) => r.endsWith('/config.json')));
    assert.ok(!asked.some((r) => r.endsWith('.safetensors') || r.endsWith('.bin')), asked.join(', '));
  });

  test('a cross-encoder pulls and converts to a logits graph, and is refused as a ColBERT encoder', async () => {
    const cacheDir = freshCache();
    const pulled = await pullModel(CROSS, { cacheDir, endpoint: hub.endpoint });
    const manifest = JSON.parse(readFileSync(path.join(pulled.dir, 'plait-convert.json'), 'utf8')) as ConvertManifest;
    assert.deepEqual(manifest.head, { kind: 'classifier', output: 'logits', numLabels: 1 });
    assert.deepEqual(manifest.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
    await assert.rejects(resolveModelSpec(CROSS, { cacheDir, offline: true }), (e: unknown) => isPlaitError(e, 'MODEL_UNSUPPORTED'));
  });

  test('a repository with vocab.txt but no tokenizer.json gets one built from it, and encodes like the reference', async () => {
    const cacheDir = freshCache();
    const pulled = await pullModel(VOCAB_ONLY, { cacheDir, endpoint: hub.endpoint });
    const files = pulled.files.map((f) => f.file);
    for (const f of ['vocab.txt', 'tokenizer_config.json', 'tokenizer.json', 'pytorch_model.bin', 'model.onnx']) assert.ok(files.includes(f), f);
    await assertEncodesLikeReference(VOCAB_ONLY, cacheDir, ck[VOCAB_ONLY]!);
  });

  test('plait model pull then plait encode --model <hub id>, through the CLI', async () => {
    const cacheDir = freshCache();
    const env = { ...process.env, HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cacheDir };
    const pull = await runCli(['model', 'pull', COLBERT, '--json'], env);
    assert.equal(pull.status, 0, pull.stderr);
    const result = JSON.parse(pull.stdout) as { dir: string; converted?: { graph: string } };
    assert.equal(result.converted?.graph, 'model.onnx');
    assert.ok(existsSync(path.join(result.dir, 'model.onnx')));
    const enc = await runCli(['encode', '--model', COLBERT, '--query', '--json', '--vectors', QUERY], { ...env, PLAIT_OFFLINE: '1' });
    assert.equal(enc.status, 0, enc.stderr);
    const item = (JSON.parse(enc.stdout) as { items: { tokens: number; tokenIds: number[]; vectors: number[] }[] }).items[0]!;
    const e = { length: item.tokens, tokenIds: Int32Array.from(item.tokenIds), vectors: Float32Array.from(item.vectors) };
    assert.ok(maxDeviation(e, expectedEncoding(ck[COLBERT]!, QUERY, 'query'), 16) < 1e-4);
  });

  test('plait model pull repairs a damaged weight file of a converted model: only it is fetched again, and the graph rebuilt', async () => {
    // It answered "org/name → <dir>" from the cache without looking, and the model kept failing to load.
    const cacheDir = freshCache();
    const env = { ...process.env, HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cacheDir };
    const first = await runCli(['model', 'pull', COLBERT, '--json'], env);
    assert.equal(first.status, 0, first.stderr);
    const dir = (JSON.parse(first.stdout) as { dir: string }).dir;
    const weights = path.join(dir, 'model.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(weights, bytes);
    const before = hub.requests.length;
    const again = await runCli(['model', 'pull', COLBERT, '--json'], env);
    assert.equal(again.status, 0, again.stderr);
    const result = JSON.parse(again.stdout) as { fromCache: boolean; converted?: { graph: string }; files: { file: string }[] };
    assert.equal(result.fromCache, false);
    assert.equal(result.converted?.graph, 'model.onnx');
    assert.equal(result.files.filter((f) => f.file === 'model.onnx').length, 1);
    const fetched = hub.requests.slice(before).filter((r) => r.startsWith(`/${COLBERT}/`)).map((r) => r.split('/resolve/main/')[1]);
    assert.ok(fetched.includes('model.safetensors'), fetched.join(' '));
    assert.ok(!fetched.includes('config.json') && !fetched.includes('tokenizer.json'), `intact files were fetched again: ${fetched.join(' ')}`);
    await assertEncodesLikeReference(COLBERT, cacheDir, ck[COLBERT]!);
  });
});

describe('writes to the model cache on a full or unwritable disk', () => {
  const present = (file: string): boolean => {
    try {
      lstatSync(file);
      return true;
    } catch {
      return false;
    }
  };
  test('the converted graph, its manifest, a tokenizer.json built from vocab.txt and the pull manifest: NO_SPACE naming the file, nothing partial left, a later pull completes', { skip: !existsSync('/dev/full') && 'needs /dev/full' }, async () => {
    // Only downloads mapped ENOSPC: these writes threw it raw (a stack trace in the CLI, a 500 over HTTP).
    // Every write to /dev/full fails with ENOSPC: the temporary file's place in the cache points there.
    const cases: [string, string][] = [[COLBERT, 'model.onnx'], [COLBERT, 'plait-convert.json'], [VOCAB_ONLY, 'tokenizer.json'], [COLBERT, 'plait-manifest.json']];
    for (const [repo, file] of cases) {
      const cacheDir = freshCache();
      const dir = path.join(cacheDir, repo.replace('/', '--'), 'main');
      mkdirSync(dir, { recursive: true });
      const tmp = path.join(dir, `${file}.${process.pid}.tmp`);
      symlinkSync('/dev/full', tmp);
      await assert.rejects(pullModel(repo, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => {
        assert.ok(isPlaitError(e, 'NO_SPACE'), `${file}: ${String(e)}`);
        assert.match(e.message, new RegExp(`the disk is full \\(ENOSPC\\) writing ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${file.replace('.', '\\.')} \\(the model cache: PLAIT_CACHE_DIR`));
        assert.equal(e.details?.['file'], path.join(dir, file));
        return true;
      });
      assert.ok(!present(path.join(dir, file)), `${file}: a partial file was left`);
      assert.ok(!present(tmp), `${file}: the temporary file was left`);
      assert.equal(cachedModel(repo, { cacheDir }), null, `${file}: a failed pull was taken as complete`);
      const again = await pullModel(repo, { cacheDir, endpoint: hub.endpoint });
      assert.ok(existsSync(path.join(again.dir, file)), file);
      assert.equal(cachedModel(repo, { cacheDir })?.dir, dir);
    }
  });

  test('any other write failure is NOT_WRITABLE naming the file (a folder in the temporary file\'s place: EISDIR, since root ignores read-only folders)', async () => {
    const cacheDir = freshCache();
    const dir = path.join(cacheDir, 'colbert-ir--colbertv2.0', 'main');
    mkdirSync(path.join(dir, `model.onnx.${process.pid}.tmp`), { recursive: true });
    await assert.rejects(pullModel(COLBERT, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'NOT_WRITABLE'), String(e));
      assert.match(e.message, /cannot write .*\/model\.onnx \(the model cache: PLAIT_CACHE_DIR.*EISDIR.*a later run builds the graph again/);
      return true;
    });
    assert.ok(!existsSync(path.join(dir, 'model.onnx')));
  });
});

describe('resolveModelGraph (for stages that load the graph themselves)', () => {
  test('a cross-encoder hub id resolves to its folder and the converted logits graph', async () => {
    const { resolveModelGraph } = await import('../src/encoder/resolve-model.js');
    const cacheDir = freshCache();
    await pullModel(CROSS, { cacheDir, endpoint: hub.endpoint });
    const g = await resolveModelGraph(CROSS, { cacheDir, offline: true });
    assert.equal(g.name, CROSS);
    assert.equal(g.onnxPath, path.join(g.dir, 'model.onnx'));
    assert.deepEqual(g.converted?.head, { kind: 'classifier', output: 'logits', numLabels: 1 });
    assert.ok(existsSync(path.join(g.dir, 'tokenizer.json')));
    // A local folder converts into the cache, not into the folder.
    const local = await resolveModelGraph(ck[CROSS]!.dir, { cacheDir });
    assert.equal(local.dir, ck[CROSS]!.dir);
    assert.ok(local.onnxPath.startsWith(path.join(cacheDir, 'converted')));
    assert.equal(local.converted?.head.kind, 'classifier');
  });
});
