/**
 * int8 graphs (--quantize int8): the converter's int8 graph of a BERT and a ModernBERT checkpoint
 * really holds int8 weights and integer matmuls, gives token vectors within cosine 0.99 of the
 * float graph's, is cached beside the float graph, and is recorded in the index so a float encoder
 * is refused on an int8 index (MODEL_MISMATCH) and the other way round. A PLAID index built with
 * int8 vectors returns the float-built index's top-10 on the same corpus.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import { ensureConvertedGraph } from '../src/encoder/convert/index.js';
import { quantizeColumns } from '../src/encoder/convert/onnx-graph-builder.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { isPlaitError } from '../src/errors/index.js';
import type { ModelInfo, TokenEmbeddings } from '../src/encoder/types.js';
import { checkModel } from '../src/search/model-check.js';
import { Random } from '../src/util/random.js';
import { makeBertCheckpoint } from './helpers/tiny-bert.js';
import { makeModernBertCheckpoint } from './helpers/tiny-modernbert.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { Reranker } from '../src/rerank/reranker.js';
import { startServer } from '../src/server/index.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
const WORDS = 'what is late interaction retrieval protein gene study the quick brown fox jumps over lazy dog search engine index query document model cell of blood heat and water flow was run by people who read books in library after work'.split(' ');

let root: string;
let cacheDir: string;
let n = 0;
const fresh = (): string => path.join(root, `m${n++}`);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-int8-'));
  cacheDir = path.join(root, 'cache');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

/** Texts of random tiny-vocabulary words (every word one token in both tiny tokenizers). */
function texts(count: number, words: number, seed: number): string[] {
  const rnd = new Random(seed);
  return Array.from({ length: count }, () => Array.from({ length: words }, () => WORDS[Math.floor(rnd.next() * WORDS.length)]!).join(' '));
}

/** Cosines of matching rows. */
function rowCosines(a: TokenEmbeddings[], b: TokenEmbeddings[], dim: number): number[] {
  const out: number[] = [];
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.deepEqual(Array.from(x.tokenIds), Array.from(y.tokenIds));
    for (let r = 0; r < x.length; r++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += x.vectors[r * dim + k]! * y.vectors[r * dim + k]!;
      out.push(dot); // rows are unit vectors
    }
  });
  return out;
}

async function encodeBoth(dir: string, docs: string[], queries: string[]): Promise<{ dim: number; float: TokenEmbeddings[]; int8: TokenEmbeddings[] }> {
  const result: Record<string, TokenEmbeddings[]> = {};
  let dim = 0;
  for (const q of ['float', 'int8'] as const) {
    const spec = await resolveModelSpec(dir, { cacheDir, ...(q === 'int8' ? { quantize: 'int8' as const } : {}) });
    const encoder = await createEncoder(spec, { threads: 0 });
    try {
      dim = encoder.info.dim;
      assert.equal(encoder.info.quantization, q === 'int8' ? 'int8' : undefined);
      result[q] = [...(await encoder.encodeDocuments(docs)), ...(await encoder.encodeQueries(queries))];
    } finally {
      await encoder.close();
    }
  }
  return { dim, float: result['float']!, int8: result['int8']! };
}

describe('int8 graphs', () => {
  test('per-column int8 weights: hand-computed scales and rounding', () => {
    // [2, 3] row-major: columns (1, -4), (0.5, 0.25), (0, 0).
    const { weight, scales } = quantizeColumns(Float32Array.of(1, 0.5, 0, -4, 0.25, 0), 2, 3);
    assert.deepEqual(Array.from(scales), [Math.fround(4 / 127), Math.fround(0.5 / 127), 1]);
    assert.deepEqual(Array.from(weight), [32, 127, 0, -127, 64, 0]);
  });

  for (const kind of ['bert', 'modernbert'] as const) {
    test(`${kind}: the int8 graph holds int8 weights and integer matmuls, and its token vectors are within cosine 0.99 of the float graph's`, async (t) => {
      const dir = fresh();
      if (kind === 'bert') await makeBertCheckpoint(dir, { layout: 'colbert' });
      else await makeModernBertCheckpoint(dir);
      const int8 = await ensureConvertedGraph(dir, { cacheDir, quantize: 'int8' });
      const float = await ensureConvertedGraph(dir, { cacheDir });
      assert.equal(int8.manifest.quantization, 'int8');
      assert.equal(float.manifest.quantization, 'none');
      assert.equal(path.dirname(int8.onnxPath), path.join(path.dirname(float.onnxPath), 'int8'));
      assert.equal((await ensureConvertedGraph(dir, { cacheDir, quantize: 'int8' })).fromCache, true);
      const graph = onnxProto.onnx.ModelProto.decode(readFileSync(int8.onnxPath)).graph!;
      const ops = new Map<string, number>();
      for (const node of graph.node ?? []) ops.set(node.opType!, (ops.get(node.opType!) ?? 0) + 1);
      const layers = kind === 'bert' ? 2 : 4;
      // Q, K, V, attention output, and two FFN matrices (three with GeGLU) per layer; the projection stays float.
      assert.equal(ops.get('MatMulInteger'), layers * (kind === 'bert' ? 6 : 7));
      assert.ok((graph.initializer ?? []).some((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8));
      const docs = texts(6, 14, 1);
      const queries = texts(3, 5, 2);
      const out = await encodeBoth(dir, docs, queries);
      const cos = rowCosines(out.float, out.int8, out.dim).sort((a, b) => a - b);
      t.diagnostic(`${cos.length} token vectors, cosine int8/float min ${cos[0]!.toFixed(4)}, mean ${(cos.reduce((a, b) => a + b, 0) / cos.length).toFixed(5)}`);
      assert.ok(cos[0]! >= 0.99, `min cosine ${cos[0]}`);
      assert.ok(cos[0]! < 0.999999, `int8 must differ from float somewhere (min cosine ${cos[0]})`);
    });
  }

  test('an index built with int8 vectors refuses a float query encoder (checkModel both ways); PLAID top-10 matches the float-built index', async (t) => {
    const dir = fresh();
    await makeModernBertCheckpoint(dir, { docMaxlen: 24, seed: 5 });
    const corpus = path.join(root, 'corpus.jsonl');
    const docs = texts(120, 18, 3);
    writeFileSync(corpus, docs.map((t, i) => JSON.stringify({ _id: `d${i}`, text: t })).join('\n'));
    const env = { ...process.env, PLAIT_CACHE_DIR: cacheDir };
    process.env['PLAIT_CACHE_DIR'] = cacheDir;
    try {
      const idx = { float: path.join(root, 'idx-float'), float2: path.join(root, 'idx-float-seed2'), int8: path.join(root, 'idx-int8') };
      await buildIndex(corpus, { index: idx.float, model: dir, encoderOptions: { threads: 0 }, seed: 1 });
      await buildIndex(corpus, { index: idx.float2, model: dir, encoderOptions: { threads: 0 }, seed: 2 });
      await buildIndex(corpus, { index: idx.int8, model: dir, quantize: 'int8', encoderOptions: { threads: 0 }, seed: 1 });
      const manifest = JSON.parse(readFileSync(path.join(idx.int8, 'manifest.json'), 'utf8')) as { model: { quantization?: string }; modelSpec: { quantize?: string } };
      assert.equal(manifest.model.quantization, 'int8');
      assert.equal(manifest.modelSpec.quantize, 'int8');
      const floatOnInt8 = await openIndex(idx.int8, { model: dir, encoderOptions: { threads: 0 } });
      await assert.rejects(floatOnInt8.search('protein gene study', { mode: 'late' }), (e) => isPlaitError(e, 'MODEL_MISMATCH') && /quantization: index int8, model float32/.test(e.message));
      await floatOnInt8.close();
      const floatManifest = JSON.parse(readFileSync(path.join(idx.float, 'manifest.json'), 'utf8')) as { model: ModelInfo };
      const int8Info = (JSON.parse(readFileSync(path.join(idx.int8, 'manifest.json'), 'utf8')) as { model: ModelInfo }).model;
      assert.throws(() => checkModel(floatManifest.model, int8Info), (e) => isPlaitError(e, 'MODEL_MISMATCH') && /quantization: index float32, model int8/.test(e.message));
      // Two float builds that differ only in their k-means seed set the noise floor of PLAID's top-10
      // on this near-tied toy corpus; the int8 build must stay within it.
      const queries = texts(16, 4, 9);
      const tops: Record<string, string[][]> = {};
      for (const [name, folder] of Object.entries(idx)) {
        const index = await openIndex(folder, { encoderOptions: { threads: 0 } });
        try {
          tops[name] = [];
          for (const q of queries) tops[name]!.push((await index.search(q, { topK: 10, mode: 'late' })).hits.map((h) => h.docId));
        } finally {
          await index.close();
        }
      }
      const overlap = (x: string[][], y: string[][]): number => x.reduce((s, top, i) => s + top.filter((d) => y[i]!.includes(d)).length / 10, 0) / x.length;
      const int8Overlap = overlap(tops['float']!, tops['int8']!);
      const seedOverlap = overlap(tops['float']!, tops['float2']!);
      t.diagnostic(`top-10 overlap: float/int8 ${int8Overlap.toFixed(3)}, float seed 1/seed 2 ${seedOverlap.toFixed(3)}`);
      assert.ok(int8Overlap >= seedOverlap - 0.1, `top-10 overlap float/int8 ${int8Overlap}, float/float (other seed) ${seedOverlap}`);
      assert.ok(int8Overlap >= 0.6, `top-10 overlap float/int8 ${int8Overlap}`);
      // The CLI says which graph ran, and refuses int8 where there is no checkpoint to quantise.
      const r = await runCli(['encode', '--model', dir, '--quantize', 'int8', '--json', 'protein study'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { quantization?: string }).quantization, 'int8');
      // plait index --quantize int8, then plait search with the index's own (int8) encoder.
      const cliIndex = path.join(root, 'idx-cli-int8');
      const built = await runCli(['index', corpus, '-i', cliIndex, '--model', dir, '--quantize', 'int8', '--threads', '0', '--json', '-q'], env);
      assert.equal(built.status, 0, built.stderr);
      assert.equal((JSON.parse(readFileSync(path.join(cliIndex, 'manifest.json'), 'utf8')) as { modelSpec: { quantize?: string } }).modelSpec.quantize, 'int8');
      const searched = await runCli(['search', cliIndex, 'protein gene study', '-k', '3', '--json'], env);
      assert.equal(searched.status, 0, searched.stderr);
      assert.match(searched.stdout, /"d\d+"/);
      const bundled = await runCli(['encode', '--quantize', 'int8', '--json', 'protein study'], env);
      assert.equal(bundled.status, 1);
      assert.match(bundled.stderr, /MODEL_UNSUPPORTED/);
      const own = fresh();
      await makeTinyColbert(own, {});
      await assert.rejects(resolveModelSpec(own, { cacheDir, quantize: 'int8' }), (e) => isPlaitError(e, 'MODEL_UNSUPPORTED') && /ships its own ONNX graph/.test(e.message));
      await assert.rejects(resolveModelSpec(dir, { cacheDir, quantize: 'int4' as 'int8' }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /"int4"/.test(e.message));
    } finally {
      delete process.env['PLAIT_CACHE_DIR'];
    }
  });
  test('rerank models run the int8 graph too: Reranker.create, plait rerank and plait serve take --quantize int8; the bundled model is refused before the server listens', async () => {
    const dir = fresh();
    await makeBertCheckpoint(dir, { layout: 'colbert' });
    const env = { ...process.env, PLAIT_CACHE_DIR: cacheDir };
    process.env['PLAIT_CACHE_DIR'] = cacheDir;
    try {
      const docs = texts(8, 12, 21);
      const query = 'protein gene study';
      const float = await Reranker.create({ model: dir, encoderOptions: { threads: 0 } });
      const int8 = await Reranker.create({ model: dir, quantize: 'int8', encoderOptions: { threads: 0 } });
      try {
        assert.equal(float.encoder.info.quantization, undefined);
        assert.equal(int8.encoder.info.quantization, 'int8');
        const f = await float.rerank(query, docs);
        const q = await int8.rerank(query, docs);
        const fScore = new Map(f.map((r) => [r.index, r.score]));
        // Same documents, scores close (cosine ≥ 0.99 per token vector) but not equal: the int8 graph ran.
        let differs = false;
        for (const r of q) {
          const want = fScore.get(r.index)!;
          assert.ok(Math.abs(r.score - want) <= 0.05 * Math.abs(want) + 1e-3, `doc ${r.index}: int8 ${r.score} vs float ${want}`);
          if (r.score !== want) differs = true;
        }
        assert.ok(differs, 'int8 scores equal the float ones exactly: the int8 graph did not run');
      } finally {
        await float.close();
        await int8.close();
      }
      const docsFile = path.join(root, 'rerank-docs.jsonl');
      writeFileSync(docsFile, docs.map((t, i) => JSON.stringify({ id: `r${i}`, text: t })).join('\n'));
      const cli = await runCli(['rerank', '--query', query, '--docs', docsFile, '--model', dir, '--quantize', 'int8', '--json'], env);
      assert.equal(cli.status, 0, cli.stderr);
      assert.equal((JSON.parse(cli.stdout) as unknown[]).length, docs.length);
      const badKind = await runCli(['rerank', '--query', query, '--docs', docsFile, '--model', dir, '--quantize', 'int4'], env);
      assert.equal(badKind.status, 2);
      assert.match(badKind.stderr, /int4/);
      const server = await startServer([], { port: 0, models: [dir], quantize: 'int8', logLevel: 'silent', encoderThreads: 0 });
      try {
        assert.equal(server.engine.rerankers[0]!.reranker.encoder.info.quantization, 'int8');
        const res = await fetch(`${server.url}/v2/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: dir, query, documents: docs, top_n: 3 }) });
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal(((await res.json()) as { results: unknown[] }).results.length, 3);
      } finally {
        await server.close();
      }
      const bundled = await runCli(['serve', '--quantize', 'int8', '--port', '0'], env);
      assert.notEqual(bundled.status, 0);
      assert.match(bundled.stderr, /MODEL_UNSUPPORTED/);
    } finally {
      delete process.env['PLAIT_CACHE_DIR'];
    }
  });
});
