import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { colbertOnnxFamily, buildBatch, readOutputShape, readCheckpoint, type SpecialIds } from '../src/encoder/colbert-onnx/index.js';
import type { Encoder, ModelSpec, TokenEmbeddings } from '../src/encoder/types.js';
import { isPlaitError } from '../src/errors/index.js';
import { makeTinyColbert, tinyVocab } from '../fixtures/tiny-colbert.js';

const vocab = tinyVocab();
const id = (t: string): number => {
  const i = vocab.indexOf(t);
  assert.ok(i >= 0, `${t} in the tiny vocabulary`);
  return i;
};
const CLS = id('[CLS]');
const SEP = id('[SEP]');
const MASK = id('[MASK]');
const PAD = id('[PAD]');
const Q = id('[unused0]');
const D = id('[unused1]');

function assertUnitRows(e: TokenEmbeddings, dim: number): void {
  assert.equal(e.vectors.length, e.length * dim);
  for (let r = 0; r < e.length; r++) {
    let n = 0;
    for (let k = 0; k < dim; k++) n += e.vectors[r * dim + k]! ** 2;
    assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-5, `row ${r} has norm ${Math.sqrt(n)}`);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let root: string;
const dirs = { colbertv2: '', pylate: '', answerai: '' };

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-colbert-'));
  for (const layout of ['colbertv2', 'pylate', 'answerai'] as const) {
    dirs[layout] = path.join(root, layout);
    await makeTinyColbert(dirs[layout], { layout, dim: layout === 'answerai' ? 24 : 16 });
  }
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('buildBatch (ColBERT input layout, hand-computed)', () => {
  const special: SpecialIds = {
    cls: 101,
    sep: 102,
    pad: 0,
    mask: 103,
    queryMarker: Int32Array.of(1),
    documentMarker: Int32Array.of(2),
    skiplist: new Set([7]),
  };
  const settings = { queryMaxlen: 8, docMaxlen: 6, attendToMaskTokens: true, queryExpansion: true };

  test('query: [CLS] [Q] q [SEP] then [MASK] to queryMaxlen, masks attended, every row kept', () => {
    const b = buildBatch([[10, 11]], 'query', special, settings);
    assert.equal(b.seqLen, 8);
    assert.deepEqual([...b.inputIds].map(Number), [101, 1, 10, 11, 102, 103, 103, 103]);
    assert.deepEqual([...b.attentionMask].map(Number), [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual([...b.keep], [1, 1, 1, 1, 1, 1, 1, 1]);
    const quiet = buildBatch([[10, 11]], 'query', special, { ...settings, attendToMaskTokens: false });
    assert.deepEqual([...quiet.attentionMask].map(Number), [1, 1, 1, 1, 1, 0, 0, 0]);
  });

  test('query longer than queryMaxlen is cut and still ends with [SEP]', () => {
    const b = buildBatch([[10, 11, 12, 13, 14, 15, 16, 17, 18]], 'query', special, settings);
    assert.deepEqual([...b.inputIds].map(Number), [101, 1, 10, 11, 12, 13, 14, 102]);
  });

  test('documents: truncated keeping [SEP], padded to the longest, skiplist and pads not kept', () => {
    const b = buildBatch([[10, 7, 11, 12, 13], [20]], 'document', special, settings);
    assert.equal(b.seqLen, 6);
    assert.deepEqual([...b.inputIds].map(Number), [101, 2, 10, 7, 11, 102, 101, 2, 20, 102, 0, 0]);
    assert.deepEqual([...b.attentionMask].map(Number), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual([...b.keep], [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  test('no query expansion: queries pad like documents', () => {
    const b = buildBatch([[10], [10, 11]], 'query', special, { ...settings, queryExpansion: false });
    assert.equal(b.seqLen, 5);
    assert.deepEqual([...b.keep], [1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual([...b.inputIds].map(Number), [101, 1, 10, 102, 0, 101, 1, 10, 11, 102]);
  });
});

describe('tiny ONNX model', () => {
  test('declares its output shape, read without onnxruntime', () => {
    assert.deepEqual(readOutputShape(path.join(dirs.colbertv2, 'model.onnx')), [null, null, 16]);
    assert.deepEqual(readOutputShape(path.join(dirs.answerai, 'vespa_colbert.onnx')), [null, null, 24]);
  });
});

describe('colbert-onnx through createEncoder (threads: 0)', () => {
  let enc: Encoder;
  let spec: ModelSpec;
  before(async () => {
    spec = { family: 'colbert-onnx', dir: dirs.colbertv2 };
    enc = await createEncoder(spec, { threads: 0 });
  });
  after(async () => {
    await enc.close();
  });

  test('info comes from artifact.metadata and the graph', () => {
    assert.equal(enc.info.name, 'colbertv2');
    assert.equal(enc.info.family, 'colbert-onnx');
    assert.equal(enc.info.dim, 16);
    assert.equal(enc.info.queryMaxlen, 32);
    assert.equal(enc.info.docMaxlen, 180);
    assert.equal(enc.info.documentWindow, 177);
    assert.equal(enc.info.queryMarker, '[unused0]');
    assert.equal(enc.info.attendToMaskTokens, true);
    assert.equal(enc.info.idfWeighting, false);
    assert.equal(enc.info.defaultMode, 'late');
    assert.equal(enc.info.vocabSize, vocab.length);
  });

  test('query: [CLS] [unused0] tokens [SEP] then [MASK] up to 32 rows', async () => {
    const [q] = await enc.encodeQueries(['Hello world']);
    assert.equal(q!.length, 32);
    assert.deepEqual([...q!.tokenIds.subarray(0, 5)], [CLS, Q, id('hello'), id('world'), SEP]);
    assert.ok([...q!.tokenIds.subarray(5)].every((t) => t === MASK));
    assertUnitRows(q!, 16);
  });

  test('document: [CLS] [unused1] tokens [SEP], punctuation rows dropped', async () => {
    const [d] = await enc.encodeDocuments(['hello, world.']);
    assert.deepEqual([...d!.tokenIds], [CLS, D, id('hello'), id('world'), SEP]);
    assertUnitRows(d!, 16);
  });

  test('without a setting, queries do not attend to their [MASK] rows (ColBERTConfig and PyLate default)', async () => {
    const { readFileSync, writeFileSync, mkdtempSync, cpSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const copy = mkdtempSync(path.join(tmpdir(), 'plait-attend-'));
    try {
      cpSync(dirs.colbertv2, copy, { recursive: true });
      const meta = JSON.parse(readFileSync(path.join(copy, 'artifact.metadata'), 'utf8')) as Record<string, unknown>;
      delete meta['attend_to_mask_tokens'];
      writeFileSync(path.join(copy, 'artifact.metadata'), JSON.stringify(meta));
      assert.equal(readCheckpoint({ family: 'colbert-onnx', dir: copy }).attendToMaskTokens, false);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('attending to [MASK]s changes the content rows (they see the expansion tokens)', async () => {
    const short = await createEncoder({ ...spec, overrides: { queryMaxlen: 8 } } as ModelSpec, { threads: 0 });
    try {
      const [a] = await enc.encodeQueries(['hello world']);
      const [b] = await short.encodeQueries(['hello world']);
      assert.equal(b!.length, 8);
      assert.ok(maxAbsDiff(a!.vectors.subarray(0, 5 * 16), b!.vectors.subarray(0, 5 * 16)) > 1e-3);
    } finally {
      await short.close();
    }
  });

  test('a text gives the same vectors alone and in a padded batch', async () => {
    const text = 'the quick brown fox jumps over the lazy dog';
    const [alone] = await enc.encodeDocuments([text]);
    const batch = await enc.encodeDocuments(['short one', text, 'a much longer document about cells and protein and blood and cancer study data']);
    assert.deepEqual([...batch[1]!.tokenIds], [...alone!.tokenIds]);
    assert.ok(maxAbsDiff(alone!.vectors, batch[1]!.vectors) < 1e-5);
    const [qa] = await enc.encodeQueries([text]);
    const qb = await enc.encodeQueries(['cat', text]);
    assert.ok(maxAbsDiff(qa!.vectors, qb[1]!.vectors) < 1e-5);
  });

  test('tokenize gives content ids with UTF-16 offsets', () => {
    const text = 'Héllo, 🙂 world!';
    const t = enc.tokenize(text);
    assert.deepEqual([...t.ids], [id('hello'), id(','), id('[UNK]'), id('world'), id('!')]);
    assert.deepEqual([...t.offsets], [0, 5, 5, 6, 7, 9, 10, 15, 15, 16]);
    assert.equal(text.slice(t.offsets[6]!, t.offsets[7]!), 'world');
  });

  test('empty text is refused', async () => {
    await assert.rejects(enc.encodeDocuments(['   ']), (e: unknown) => isPlaitError(e, 'EMPTY_TEXT'));
    const backend = await colbertOnnxFamily.loadBackend(spec, { intraOpNumThreads: 1 });
    try {
      await assert.rejects(backend.encode([''], 'query'), (e: unknown) => isPlaitError(e, 'EMPTY_TEXT'));
    } finally {
      await backend.dispose();
    }
  });

  test('docMaxlen override truncates, keeping [SEP] last', async () => {
    const small = await createEncoder({ ...spec, overrides: { docMaxlen: 8 } } as ModelSpec, { threads: 0 });
    try {
      assert.equal(small.info.documentWindow, 5);
      const [d] = await small.encodeDocuments(['the cat and the dog read books in the house with water']);
      assert.equal(d!.length, 8);
      assert.equal(d!.tokenIds[0], CLS);
      assert.equal(d!.tokenIds[1], D);
      assert.equal(d!.tokenIds[7], SEP);
      assert.ok([...d!.tokenIds].every((t) => t !== PAD));
    } finally {
      await small.close();
    }
  });

  test('dim override keeps the first dims, renormalised', async () => {
    const narrow = await createEncoder({ ...spec, overrides: { dim: 8 } } as ModelSpec, { threads: 0 });
    try {
      assert.equal(narrow.info.dim, 8);
      const [wide] = await enc.encodeDocuments(['hello world']);
      const [d] = await narrow.encodeDocuments(['hello world']);
      assertUnitRows(d!, 8);
      // Row 2 ("hello") of the narrow output is the wide row's first 8 dims, rescaled.
      const w = wide!.vectors.subarray(2 * 16, 2 * 16 + 8);
      const norm = Math.hypot(...w);
      for (let k = 0; k < 8; k++) assert.ok(Math.abs(d!.vectors[2 * 8 + k]! - w[k]! / norm) < 1e-5);
    } finally {
      await narrow.close();
    }
  });
});

describe('colbert-onnx on a worker thread (threads: 1)', () => {
  test('gives the same vectors as in-process', async () => {
    const spec: ModelSpec = { family: 'colbert-onnx', dir: dirs.colbertv2, name: 'tiny' };
    const inproc = await createEncoder(spec, { threads: 0 });
    const pooled = await createEncoder(spec, { threads: 1 });
    try {
      assert.equal(pooled.info.name, 'tiny');
      const texts = ['hello, world.', 'search engine index'];
      const a = await inproc.encodeDocuments(texts);
      const b = await pooled.encodeDocuments(texts);
      for (let i = 0; i < texts.length; i++) {
        assert.deepEqual([...b[i]!.tokenIds], [...a[i]!.tokenIds]);
        assert.ok(maxAbsDiff(a[i]!.vectors, b[i]!.vectors) < 1e-6);
      }
      const [q] = await pooled.encodeQueries(['hello']);
      assert.equal(q!.length, 32);
    } finally {
      await inproc.close();
      await pooled.close();
    }
  });
});

describe('other layouts', () => {
  test('PyLate export: "[Q] " / "[D] " added-token markers, no [MASK] attention', async () => {
    const enc = await createEncoder({ family: 'colbert-onnx', dir: dirs.pylate }, { threads: 0 });
    try {
      const qMarker = vocab.length;
      const dMarker = vocab.length + 1;
      assert.equal(enc.info.queryMarker, '[Q] ');
      // No dim in PyLate's config: it comes from the graph's declared output shape.
      assert.equal(enc.info.dim, 16);
      assert.equal(enc.info.attendToMaskTokens, false);
      assert.equal(enc.info.documentWindow, 177);
      const [q] = await enc.encodeQueries(['hello world']);
      assert.equal(q!.length, 32);
      assert.deepEqual([...q!.tokenIds.subarray(0, 5)], [CLS, qMarker, id('hello'), id('world'), SEP]);
      const [d] = await enc.encodeDocuments(['hello, world.']);
      assert.deepEqual([...d!.tokenIds], [CLS, dMarker, id('hello'), id('world'), SEP]);
      assertUnitRows(d!, 16);
      // Not attending to the [MASK]s: the content rows do not depend on how many there are.
      const short = await createEncoder({ family: 'colbert-onnx', dir: dirs.pylate, overrides: { queryMaxlen: 8 } }, { threads: 0 });
      const [q8] = await short.encodeQueries(['hello world']);
      await short.close();
      assert.ok(maxAbsDiff(q!.vectors.subarray(0, 5 * 16), q8!.vectors.subarray(0, 5 * 16)) < 1e-5);
    } finally {
      await enc.close();
    }
  });

  test('answerai-colbert-small: vespa_colbert.onnx, output "contextual"', async () => {
    const enc = await createEncoder({ family: 'colbert-onnx', dir: dirs.answerai }, { threads: 0 });
    try {
      assert.equal(enc.info.dim, 24);
      assert.equal(enc.info.docMaxlen, 300);
      assert.equal(enc.info.documentWindow, 297);
      const [d] = await enc.encodeDocuments(['late interaction retrieval!']);
      assert.deepEqual([...d!.tokenIds], [CLS, D, id('late'), id('interaction'), id('retrieval'), SEP]);
      assertUnitRows(d!, 24);
    } finally {
      await enc.close();
    }
  });

  test('artifact.metadata wrapped as { config } (as ColBERT also reads it), and overrides winning over it', async () => {
    const wrapped = path.join(root, 'wrapped');
    await cp(dirs.colbertv2, wrapped, { recursive: true });
    const meta = { config: { query_maxlen: 24, doc_maxlen: 100, dim: 16, attend_to_mask_tokens: false } };
    await writeFile(path.join(wrapped, 'artifact.metadata'), JSON.stringify(meta));
    const tok = await colbertOnnxFamily.loadTokenizer({ family: 'colbert-onnx', dir: wrapped });
    assert.equal(tok.info.queryMaxlen, 24);
    assert.equal(tok.info.docMaxlen, 100);
    assert.equal(tok.info.attendToMaskTokens, false);
    const over = await colbertOnnxFamily.loadTokenizer({ family: 'colbert-onnx', dir: wrapped, overrides: { queryMaxlen: 40 } });
    assert.equal(over.info.queryMaxlen, 40);
    assert.equal(over.info.docMaxlen, 100);
  });

  test('a folder without the ONNX graph is MODEL_FILE_MISSING, naming the file', async () => {
    const broken = path.join(root, 'broken');
    await cp(dirs.colbertv2, broken, { recursive: true });
    await unlink(path.join(broken, 'model.onnx'));
    await assert.rejects(createEncoder({ family: 'colbert-onnx', dir: broken }, { threads: 0 }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'MODEL_FILE_MISSING'));
      assert.match((e as Error).message, /model\.onnx/);
      return true;
    });
    await unlink(path.join(broken, 'tokenizer.json'));
    await assert.rejects(colbertOnnxFamily.loadTokenizer({ family: 'colbert-onnx', dir: broken }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'MODEL_FILE_MISSING'));
      assert.match((e as Error).message, /tokenizer\.json/);
      return true;
    });
  });
});
