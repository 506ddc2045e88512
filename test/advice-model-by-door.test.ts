/**
 * The model's advice fits its reader (the advice-by-door rule, for the model's own errors): offline
 * with a hub id that is not cached, an unreachable hub, int8 asked of the bundled model. The
 * library's messages had said "--model <dir>" and "leave out --quantize" to library and AI SDK
 * readers, who have no flags; they now name no flag, and the CLI adds its flags as a hint line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rerank as aiRerank } from 'ai';
import { isPlaitError, resolveModelSpec } from '../src/index.js';
import { plait } from '../src/integrations/ai-sdk.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/plait.js');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr });
    });
  });
}

test('offline with an uncached hub id: the library and the AI SDK name no flag; the CLI adds --model as its hint', async () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'plait-advice-model-'));
  try {
    await assert.rejects(resolveModelSpec('acme/not-cached', { cacheDir, offline: true }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'OFFLINE'), String(e));
      assert.match(e.message, /acme\/not-cached is not in the model cache and downloads are off/);
      assert.match(e.message, /a local model folder or the bundled model/);
      assert.doesNotMatch(e.message, /--model|--quantize/);
      return true;
    });
    const prior = { offline: process.env['PLAIT_OFFLINE'], cache: process.env['PLAIT_CACHE_DIR'] };
    process.env['PLAIT_OFFLINE'] = '1';
    process.env['PLAIT_CACHE_DIR'] = cacheDir;
    const m = plait.reranking('acme/not-cached', { rerankerOptions: { encoderOptions: { threads: 0 } } });
    try {
      await assert.rejects(aiRerank({ model: m, query: 'bread', documents: ['a', 'b'] }), (e: unknown) => {
        assert.ok(isPlaitError(e, 'OFFLINE'), String(e));
        assert.doesNotMatch(e.message, /--model/);
        return true;
      });
    } finally {
      await m.close?.();
      for (const [k, v] of [['PLAIT_OFFLINE', prior.offline], ['PLAIT_CACHE_DIR', prior.cache]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const docs = path.join(cacheDir, 'docs.txt');
    writeFileSync(docs, 'bread and butter\nsoup\n');
    const r = await cli(['rerank', '--query', 'bread', '--docs', docs, '--model', 'acme/not-cached'], { PLAIT_OFFLINE: '1', PLAIT_CACHE_DIR: cacheDir });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^plait: Offline: acme\/not-cached is not in the model cache .* \[OFFLINE\]\nplait: --model <dir> names a local model folder; leave out --model for the bundled model\n$/);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('int8 of the bundled model: the library names no flag; the CLI hints --quantize and --model', async () => {
  await assert.rejects(resolveModelSpec(undefined, { quantize: 'int8' }), (e: unknown) => {
    assert.ok(isPlaitError(e, 'MODEL_UNSUPPORTED'), String(e));
    assert.match(e.message, /the bundled model has no int8 graph/);
    assert.doesNotMatch(e.message, /--model|--quantize/);
    return true;
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'plait-advice-int8-'));
  try {
    const docs = path.join(dir, 'docs.txt');
    writeFileSync(docs, 'bread\n');
    const r = await cli(['rerank', '--query', 'bread', '--docs', docs, '--quantize', 'int8'], {});
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\[MODEL_UNSUPPORTED\]\nplait: --quantize int8 needs --model <a BERT or ModernBERT checkpoint folder or hub id>; otherwise leave out --quantize\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an index whose hub model left the cache, offline: no door offers the bundled model; the CLI hints --model <where it is now>; model pull hints no --model", async () => {
  // Searching such an index offline said "use a local model folder or the bundled model instead" and
  // hinted "leave out --model for the bundled model", though leaving it out is what had failed and
  // the bundled model can never search that index; `plait model pull` (which has no --model) hinted the same.
  const root = mkdtempSync(path.join(tmpdir(), 'plait-advice-recorded-'));
  try {
    const cache = path.join(root, 'cache');
    const dir = path.join(cache, 'acme--m', 'main');
    await makeTinyColbert(dir, { dim: 16 });
    const files = readdirSync(dir).map((file) => ({ file, bytes: statSync(path.join(dir, file)).size, sha256: '' }));
    writeFileSync(path.join(dir, 'plait-manifest.json'), JSON.stringify({ repoId: 'acme/m', revision: 'main', files }));
    const corpus = path.join(root, 'corpus.jsonl');
    writeFileSync(corpus, ['bread and butter', 'yeast makes dough rise', 'stocks fell'].map((t, i) => JSON.stringify({ _id: `d${i}`, text: t })).join('\n'));
    const index = path.join(root, 'idx');
    const offline = { PLAIT_OFFLINE: '1', PLAIT_CACHE_DIR: cache };
    const built = await cli(['index', corpus, '--index', index, '--model', 'acme/m'], offline);
    assert.equal(built.code, 0, built.stderr);
    const manifest = JSON.parse(readFileSync(path.join(index, 'manifest.json'), 'utf8')) as { modelSpec: { name?: string } };
    assert.equal(manifest.modelSpec.name, 'acme/m');
    renameSync(cache, path.join(root, 'cache-moved'));
    const r = await cli(['search', index, 'bread'], offline);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the recorded model acme\/m is no longer at .* \[OFFLINE\]\nplait: --model <dir> names where the index's model is now/);
    assert.doesNotMatch(r.stderr, /bundled/);
    const pull = await cli(['model', 'pull', 'acme/m'], offline);
    assert.equal(pull.code, 1, pull.stderr);
    assert.match(pull.stderr, /\[OFFLINE\]\nplait: --cache-dir <dir> looks in another model cache\n$/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
