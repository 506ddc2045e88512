/**
 * The cross-encoder against an independent float64 forward pass, on tiny generated models in each
 * hub layout: scores, batching/sorting invariance, truncation, [B,1] and [B,2] heads, hub pulls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CrossEncoder, PairTokenizer, crossEncoderFiles } from '../src/rerank/cross-encoder/index.js';
import { rerank, closeRerankers } from '../src/rerank/reranker.js';
import { isPlaitError } from '../src/errors/index.js';
import { pullModel } from '../src/encoder/hub/index.js';
import { makeTinyCrossEncoder, referenceLogits, erf, type CrossGraphOptions, type CrossWeights } from './helpers/tiny-cross-encoder.js';
import { makeTinyColbert, tinyVocab } from '../fixtures/tiny-colbert.js';

const vocab = new Map(tinyVocab().map((t, i) => [t, i] as const));
const CLS = vocab.get('[CLS]')!;
const SEP = vocab.get('[SEP]')!;

/** The test's own tokenizer: the texts below are lower-case vocabulary words separated by spaces. */
function words(text: string): number[] {
  return text.split(' ').map((w) => {
    const id = vocab.get(w);
    if (id === undefined) throw new Error(`"${w}" is not a vocabulary word`);
    return id;
  });
}

/** [CLS] q [SEP] d [SEP] with token types 0…0 1…1, the document cut to fit maxLength. */
function pairIds(q: string, d: string, maxLength = 512): { ids: number[]; types: number[] } {
  const qi = words(q);
  const di = words(d).slice(0, maxLength - qi.length - 3);
  const ids = [CLS, ...qi, SEP, ...di, SEP];
  const types = ids.map((_, i) => (i < qi.length + 2 ? 0 : 1));
  return { ids, types };
}

const QUERY = 'quick brown fox';
const DOCS = [
  'the quick brown fox jumps over the lazy dog',
  'protein gene blood',
  'search engine index query document model token vector late interaction retrieval',
  'cat',
  'heat air pressure wing flow',
  'the dog and the cat were in the house with water',
];

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-cross-'));
});
after(async () => {
  await closeRerankers();
  await rm(root, { recursive: true, force: true });
});

function softmax(z: Float64Array): number[] {
  const m = Math.max(...z);
  const e = Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

test('erf of the reference pass matches known values', () => {
  assert.ok(Math.abs(erf(0.5) - 0.5204998778130465) < 1e-13);
  assert.ok(Math.abs(erf(-1.5) + 0.9661051464753108) < 1e-13);
  assert.ok(Math.abs(erf(3.5) - 0.9999992569016276) < 1e-13);
});

describe('layouts and scores', () => {
  const layouts = [
    { name: 'transformers.js (onnx/model.onnx)', layout: 'transformers.js' as const, file: 'model.onnx', variant: undefined },
    { name: 'optimum (model.onnx at the root)', layout: 'optimum' as const, file: 'model.onnx', variant: undefined },
    { name: 'quantised variant (onnx/model_quantized.onnx)', layout: 'transformers.js' as const, file: 'model_quantized.onnx', variant: 'quantized' as const },
    { name: 'int8 variant (model_int8.onnx at the root)', layout: 'optimum' as const, file: 'model_int8.onnx', variant: 'int8' as const },
  ];
  for (const l of layouts) {
    test(`${l.name}: scores equal the float64 reference forward pass`, async () => {
      const dir = path.join(root, `layout-${l.layout}-${l.file}`);
      const { graph, weights } = await makeTinyCrossEncoder(dir, { layout: l.layout, onnxFile: l.file, seed: 5 });
      const ce = await CrossEncoder.create(dir, { threads: 0, ...(l.variant === undefined ? {} : { variant: l.variant }) });
      try {
        assert.equal(ce.files.onnxPath, path.join(dir, l.layout === 'transformers.js' ? 'onnx' : '', l.file));
        const scores = await ce.score(QUERY, DOCS);
        DOCS.forEach((d, i) => {
          const { ids, types } = pairIds(QUERY, d);
          const ref = referenceLogits(weights, graph, ids, types)[0]!;
          assert.ok(Math.abs(scores[i]! - ref) < 1e-4, `doc ${i}: ${scores[i]} vs reference ${ref}`);
        });
        // Different documents get different scores (the check above is not vacuous).
        assert.ok(new Set(Array.from(scores, (s) => s.toFixed(4))).size === DOCS.length);
      } finally {
        await ce.close();
      }
    });
  }

  test('a graph without token_type_ids (XLM-R / bge-reranker style) gets only the inputs it declares', async () => {
    const dir = path.join(root, 'no-types');
    const { graph, weights } = await makeTinyCrossEncoder(dir, { withTokenTypes: false, seed: 8 });
    const ce = await CrossEncoder.create(dir, { threads: 0 });
    try {
      const scores = await ce.score(QUERY, DOCS);
      DOCS.forEach((d, i) => {
        const { ids, types } = pairIds(QUERY, d);
        assert.ok(Math.abs(scores[i]! - referenceLogits(weights, graph, ids, types)[0]!) < 1e-4);
      });
    } finally {
      await ce.close();
    }
  });

  test('the fp32 variant does not pick up a quantised file, and a missing variant is named', async () => {
    const dir = path.join(root, 'only-quantized');
    await makeTinyCrossEncoder(dir, { onnxFile: 'model_quantized.onnx' });
    assert.throws(
      () => crossEncoderFiles(dir),
      (e: unknown) => isPlaitError(e, 'MODEL_FILE_MISSING') && /onnx\/model\.onnx or model\.onnx/.test(e.message),
    );
    assert.equal(crossEncoderFiles(dir, { variant: 'quantized' }).onnxPath, path.join(dir, 'onnx', 'model_quantized.onnx'));
  });
});

describe('batching, truncation and heads', () => {
  let dir: string;
  let graph: CrossGraphOptions;
  let weights: CrossWeights;
  before(async () => {
    dir = path.join(root, 'short');
    ({ graph, weights } = await makeTinyCrossEncoder(dir, { modelMaxLength: 16, seed: 9 }));
  });

  test('batch size, length sorting and worker threads do not change a score', async () => {
    const many = [...DOCS, ...DOCS.map((d) => d.split(' ').reverse().join(' ')), 'fox', 'lazy dog'];
    const one = await CrossEncoder.create(dir, { threads: 0, batchSize: 1 });
    const three = await CrossEncoder.create(dir, { threads: 0, batchSize: 3 });
    const workers = await CrossEncoder.create(dir, { threads: 2, batchSize: 4 });
    try {
      const a = await one.score(QUERY, many);
      const b = await three.score(QUERY, many);
      const { scores: c, stats } = await workers.scoreWithStats(QUERY, many);
      assert.equal(stats.batches, Math.ceil(many.length / 4));
      // Sorting by length really happened: the padding is below that of input order.
      assert.ok(stats.paddedTokens >= stats.tokens);
      for (let i = 0; i < many.length; i++) {
        assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5 && Math.abs(a[i]! - c[i]!) < 1e-5, `pair ${i}: ${a[i]} ${b[i]} ${c[i]}`);
      }
    } finally {
      await Promise.all([one.close(), three.close(), workers.close()]);
    }
  });

  test('truncation cuts only the document: the query and both separators stay', async () => {
    const files = crossEncoderFiles(dir);
    assert.equal(files.maxLength, 16);
    assert.equal(files.maxLengthSource, 'tokenizer_config.json');
    const tok = PairTokenizer.load(files.tokenizerPath, files.maxLength);
    const long = 'the quick brown fox jumps over the lazy dog and the cat were in the house with water';
    const [e] = await tok.encodePairs(QUERY, [long]);
    const expected = pairIds(QUERY, long, 16);
    assert.equal(e!.length, 16);
    assert.deepEqual(Array.from(e!.ids), expected.ids);
    assert.deepEqual(Array.from(e!.typeIds), expected.types);
    assert.equal(e!.ids[0], CLS);
    assert.equal(e!.ids[4], SEP);
    assert.equal(e!.ids[15], SEP);
    const ce = await CrossEncoder.create(dir, { threads: 0 });
    try {
      const [s] = await ce.score(QUERY, [long]);
      const ref = referenceLogits(weights, graph, expected.ids, expected.types)[0]!;
      assert.ok(Math.abs(s! - ref) < 1e-4);
    } finally {
      await ce.close();
    }
  });

  test('a query longer than half the window is cut at a token boundary, leaving the document room', async () => {
    const files = crossEncoderFiles(dir);
    const tok = PairTokenizer.load(files.tokenizerPath, files.maxLength);
    const q = 'the quick brown fox jumps over the lazy dog and the cat';
    const [e] = await tok.encodePairs(q, ['protein gene blood cancer patient study']);
    const qi = words(q).slice(0, 8);
    assert.deepEqual(Array.from(e!.ids), [CLS, ...qi, SEP, ...words('protein gene blood cancer patient study').slice(0, 16 - 8 - 3), SEP]);
  });

  test('[B, 1] head: the score is the logit; sigmoid on request', async () => {
    const plain = await CrossEncoder.create(dir, { threads: 0 });
    const sig = await CrossEncoder.create(dir, { threads: 0, sigmoid: true });
    try {
      const a = await plain.score(QUERY, DOCS.slice(0, 3));
      const b = await sig.score(QUERY, DOCS.slice(0, 3));
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(b[i]! - 1 / (1 + Math.exp(-a[i]!))) < 1e-6);
    } finally {
      await Promise.all([plain.close(), sig.close()]);
    }
  });

  for (const labels of [undefined, { '0': 'relevant', '1': 'not_relevant' }]) {
    test(`[B, 2] head: softmax probability of the relevant class (id2label ${JSON.stringify(labels ?? 'LABEL_0/LABEL_1')})`, async () => {
      const d2 = path.join(root, `two-${labels === undefined ? 'default' : 'named'}`);
      const made = await makeTinyCrossEncoder(d2, { numLabels: 2, seed: 13, ...(labels === undefined ? {} : { id2label: labels }) });
      const relevant = labels === undefined ? 1 : 0;
      const ce = await CrossEncoder.create(d2, { threads: 0 });
      try {
        const scores = await ce.score(QUERY, DOCS);
        DOCS.forEach((d, i) => {
          const { ids, types } = pairIds(QUERY, d);
          const p = softmax(referenceLogits(made.weights, made.graph, ids, types))[relevant]!;
          assert.ok(Math.abs(scores[i]! - p) < 1e-5, `doc ${i}: ${scores[i]} vs ${p}`);
        });
        const ranked = await ce.rerank(QUERY, DOCS.map((text, i) => ({ id: `d${i}`, text })), { topK: 3 });
        assert.equal(ranked.length, 3);
        assert.deepEqual(
          ranked.map((r) => r.id),
          Array.from(scores)
            .map((s, i) => [s, i] as const)
            .sort((x, y) => y[0] - x[0] || x[1] - y[1])
            .slice(0, 3)
            .map(([, i]) => `d${i}`),
        );
      } finally {
        await ce.close();
      }
    });
  }

  test('rerank() takes a cross-encoder option: same result shape, cross-encoder scores', async () => {
    const ce = await CrossEncoder.create(dir, { threads: 0 });
    try {
      const direct = await ce.score(QUERY, DOCS);
      const out = await rerank(QUERY, DOCS, { crossEncoder: dir, crossEncoderOptions: { threads: 0 }, topK: 2 });
      assert.equal(out.length, 2);
      for (const r of out) assert.ok(Math.abs(r.score - direct[r.index]!) < 1e-6);
      assert.ok(out[0]!.score >= out[1]!.score);
    } finally {
      await ce.close();
    }
  });

  test('an aborted signal stops scoring with ABORTED; bad input is refused with a stable code', async () => {
    const ce = await CrossEncoder.create(dir, { threads: 0, batchSize: 1 });
    try {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(ce.score(QUERY, DOCS, { signal: ac.signal }), (e: unknown) => isPlaitError(e, 'ABORTED'));
      // A signal that is not an AbortSignal is refused, not ignored (the scores came back).
      await assert.rejects(ce.score(QUERY, DOCS, { signal: 'abort' as unknown as AbortSignal }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /Expected an AbortSignal for signal/.test(e.message));
      await assert.rejects(ce.score('  ', DOCS), (e: unknown) => isPlaitError(e, 'EMPTY_TEXT'));
      await assert.rejects(ce.score(QUERY, [42 as unknown as string]), (e: unknown) => isPlaitError(e, 'INVALID_INPUT'));
      assert.deepEqual(Array.from(await ce.score(QUERY, [])), []);
    } finally {
      await ce.close();
    }
  });

  test('a graph that is not a cross-encoder fails with a stable code', async () => {
    const colbert = path.join(root, 'colbert');
    await makeTinyColbert(colbert);
    // A ColBERT graph has the right inputs, but its declared output is [B, S, dim]: refused when named
    // (it had been refused only at the first run, ENCODE_FAILED; cross-encoder-models.test.ts has the doors).
    await assert.rejects(CrossEncoder.create(colbert, { threads: 0, onnxFile: 'model.onnx' }), (e: unknown) => isPlaitError(e, 'MODEL_UNSUPPORTED') && /one vector per token/.test(e.message));
    await assert.rejects(CrossEncoder.create(path.join(root, 'nowhere')), (e: unknown) => isPlaitError(e, 'MODEL_NOT_FOUND'));
  });
});

describe('hub ids', () => {
  let server: http.Server;
  let endpoint: string;
  const requested: string[] = [];
  before(async () => {
    const src = path.join(root, 'hub-src');
    await makeTinyCrossEncoder(src, { layout: 'transformers.js', seed: 21 });
    await makeTinyCrossEncoder(path.join(root, 'hub-src-q'), { layout: 'transformers.js', onnxFile: 'model_quantized.onnx', seed: 21 });
    const files: Record<string, Buffer> = {
      'onnx/model.onnx': await readFile(path.join(src, 'onnx', 'model.onnx')),
      'onnx/model_quantized.onnx': await readFile(path.join(root, 'hub-src-q', 'onnx', 'model_quantized.onnx')),
      'tokenizer.json': await readFile(path.join(src, 'tokenizer.json')),
      'config.json': await readFile(path.join(src, 'config.json')),
    };
    server = http.createServer((req, res) => {
      const m = /^\/acme\/tiny-reranker\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      const body = m === null ? undefined : files[decodeURIComponent(m[1]!)];
      requested.push(req.url ?? '');
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a hub id is pulled into the cache (onnx/ layout), reused offline, and a quantised variant pulled beside it', async () => {
    const cacheDir = path.join(root, 'cache');
    const saved = process.env['HF_ENDPOINT'];
    process.env['HF_ENDPOINT'] = endpoint;
    try {
      const ce = await CrossEncoder.create('acme/tiny-reranker', { threads: 0, cacheDir });
      const s1 = await ce.score(QUERY, DOCS.slice(0, 2));
      await ce.close();
      assert.ok(requested.some((u) => u.endsWith('/onnx/model.onnx')));
      const offline = await CrossEncoder.create('acme/tiny-reranker', { threads: 0, cacheDir, offline: true });
      assert.deepEqual(await offline.score(QUERY, DOCS.slice(0, 2)), s1);
      await offline.close();
      await assert.rejects(CrossEncoder.create('acme/tiny-reranker', { threads: 0, cacheDir, offline: true, variant: 'quantized' }), (e: unknown) => isPlaitError(e, 'OFFLINE'));
      const q = await CrossEncoder.create('acme/tiny-reranker', { threads: 0, cacheDir, variant: 'quantized' });
      assert.ok(q.files.onnxPath.endsWith(path.join('onnx', 'model_quantized.onnx')));
      await q.close();
      // A damaged file of the pull names its repair (it had been a bare MODEL_LOAD_FAILED), and pullModel repairs it.
      // Its size no longer the pulled one, it is DOWNLOAD_CORRUPT before onnxruntime reads it, as an encoder's is.
      const pulledDir = path.join(cacheDir, 'acme--tiny-reranker', 'main');
      const good = await readFile(path.join(pulledDir, 'onnx', 'model.onnx'));
      await writeFile(path.join(pulledDir, 'onnx', 'model.onnx'), good.subarray(0, good.length >> 1));
      await assert.rejects(CrossEncoder.create('acme/tiny-reranker', { threads: 0, cacheDir, offline: true }), (e: unknown) => {
        assert.ok(isPlaitError(e, 'DOWNLOAD_CORRUPT'), String(e));
        assert.equal(e.details?.['repairWith'], 'acme/tiny-reranker');
        assert.match(e.message, /onnx\/model\.onnx in .* differs from what was pulled of acme\/tiny-reranker .*pullModel/);
        return true;
      });
      await pullModel('acme/tiny-reranker', { cacheDir });
      const repaired = await CrossEncoder.create('acme/tiny-reranker', { threads: 0, cacheDir, offline: true });
      assert.deepEqual(await repaired.score(QUERY, DOCS.slice(0, 2)), s1);
      await repaired.close();
    } finally {
      if (saved === undefined) delete process.env['HF_ENDPOINT'];
      else process.env['HF_ENDPOINT'] = saved;
    }
  });
});

test('pairs of a document list keep the input order when a document is empty', async () => {
  const dir = path.join(root, 'empty-doc');
  await makeTinyCrossEncoder(dir);
  const tok = PairTokenizer.load(path.join(dir, 'tokenizer.json'), 512);
  const [e] = await tok.encodePairs(QUERY, ['']);
  assert.deepEqual(Array.from(e!.ids), [CLS, ...words(QUERY), SEP, SEP]);
  await writeFile(path.join(dir, 'unused'), '');
});
