import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import { ensureConvertedGraph, SafetensorsReader, TorchCheckpointReader, type ConvertedGraph } from '../src/encoder/convert/index.js';
import { bf16ToF32, f16ToF32 } from '../src/encoder/convert/half-float.js';
import { isPlaitError, type ErrorCode } from '../src/errors/index.js';
import { expectedEncoding, maxDeviation, contentIds, vocabOf } from './helpers/convert-expect.js';
import { referenceLogits } from './helpers/reference-bert.js';
import { makeBertCheckpoint, safetensorsBytes, TINY_SHAPE, type BertLayout, type CheckpointOptions, type WrittenCheckpoint } from './helpers/tiny-bert.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import { maliciousTorchCheckpoint, stateDictPickle, storedZip, torchCheckpoint } from './helpers/torch-zip-writer.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
const QUERIES = ['what is late interaction retrieval?', 'protein gene study'];
const DOCUMENTS = [
  'the quick brown fox jumps over the lazy dog.',
  'search engine: index, query & document model!',
  // Longer than doc_maxlen (16): truncated, keeping [SEP].
  'the cell study of blood, heat and water flow was run by the people who read books in the library after work',
];

let root: string;
let cacheDir: string;
let n = 0;
const fresh = (): string => path.join(root, `m${n++}`);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-convert-'));
  cacheDir = path.join(root, 'cache');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function expectCode(p: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPlaitError(e, code), `expected ${code}, got ${String(e)}`);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
}

/** Encodes QUERIES and DOCUMENTS through the library and returns the worst deviation from the reference. */
async function libraryDeviation(ck: WrittenCheckpoint): Promise<number> {
  const spec = await resolveModelSpec(ck.dir, { cacheDir });
  const encoder = await createEncoder(spec, { threads: 0 });
  try {
    assert.equal(encoder.info.dim, ck.shape.dim);
    let worst = 0;
    const queries = await encoder.encodeQueries(QUERIES);
    queries.forEach((e, i) => (worst = Math.max(worst, maxDeviation(e, expectedEncoding(ck, QUERIES[i]!, 'query'), ck.shape.dim))));
    const docs = await encoder.encodeDocuments(DOCUMENTS);
    docs.forEach((e, i) => (worst = Math.max(worst, maxDeviation(e, expectedEncoding(ck, DOCUMENTS[i]!, 'document'), ck.shape.dim))));
    return worst;
  } finally {
    await encoder.close();
  }
}

describe('differential: converted checkpoints equal a float64 reference forward pass', () => {
  for (const layout of ['colbert', 'pylate', 'st-subfolder'] as BertLayout[]) {
    test(`${layout} layout, safetensors F32: queries and documents within 1e-4 through the library`, async () => {
      const ck = await makeBertCheckpoint(fresh(), { layout });
      const worst = await libraryDeviation(ck);
      assert.ok(worst < 1e-4, `max deviation ${worst}`);
      // The graph went into the model cache, not into the user's folder.
      assert.ok(!existsSync(path.join(ck.dir, 'model.onnx')));
      assert.ok(existsSync(path.join(cacheDir, 'converted')));
    });
  }

  test('the query rows really depend on the layout settings (a wrong marker would fail)', async () => {
    // Guard against a reference that agrees with anything: swap the markers and the check must fail.
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert' });
    const swapped: WrittenCheckpoint = { ...ck, markers: [ck.markers[1], ck.markers[0]] };
    const spec = await resolveModelSpec(ck.dir, { cacheDir });
    const encoder = await createEncoder(spec, { threads: 0 });
    try {
      const [q] = await encoder.encodeQueries([QUERIES[0]!]);
      assert.throws(() => maxDeviation(q!, expectedEncoding(swapped, QUERIES[0]!, 'query'), ck.shape.dim));
    } finally {
      await encoder.close();
    }
  });

  test('pytorch_model.bin (zip + pickle, a strided view among the tensors) converts to the same outputs', async () => {
    for (const layout of ['colbert', 'pylate'] as BertLayout[]) {
      const ck = await makeBertCheckpoint(fresh(), { layout, format: 'torch' });
      const worst = await libraryDeviation(ck);
      assert.ok(worst < 1e-4, `${layout}: max deviation ${worst}`);
    }
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    test(`${dtype} safetensors convert to the F32 reference's outputs within 1e-2`, async () => {
      const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', dtype });
      const reader = SafetensorsReader.open(path.join(ck.dir, 'model.safetensors'));
      assert.equal(reader.dtype('linear.weight'), dtype);
      const worst = await libraryDeviation(ck);
      assert.ok(worst < 1e-2, `max deviation ${worst}`);
      assert.ok(worst > 1e-6, `rounding to ${dtype} must show (${worst})`);
    });
  }

  test('gelu_new (tanh) and relu activations follow config.json', async () => {
    for (const hiddenAct of ['gelu_new', 'relu'] as const) {
      const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', shape: { ...TINY_SHAPE, hiddenAct }, seed: 5 });
      const worst = await libraryDeviation(ck);
      assert.ok(worst < 1e-4, `${hiddenAct}: max deviation ${worst}`);
    }
  });

  test('plait encode (CLI) prints the reference vectors for queries and documents', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', seed: 3 });
    const env = { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cli-cache') };
    for (const [kind, texts] of [['query', QUERIES], ['document', DOCUMENTS]] as const) {
      const args = [BIN, 'encode', '--model', ck.dir, '--json', '--vectors', ...(kind === 'query' ? ['--query'] : []), ...texts];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { dim: number; items: { tokens: number; tokenIds: number[]; vectors: number[] }[] };
      assert.equal(out.dim, ck.shape.dim);
      out.items.forEach((item, i) => {
        const e = { length: item.tokens, tokenIds: Int32Array.from(item.tokenIds), vectors: Float32Array.from(item.vectors) };
        const worst = maxDeviation(e, expectedEncoding(ck, texts[i]!, kind), ck.shape.dim);
        assert.ok(worst < 1e-4, `${kind} ${i}: max deviation ${worst}`);
      });
    }
  });
});

describe('cross-encoder checkpoints', () => {
  test('BertForSequenceClassification converts to logits [B, num_labels] equal to the reference', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'cross-encoder', shape: { ...TINY_SHAPE, numLabels: 2 } });
    const graph = await ensureConvertedGraph(ck.dir, { cacheDir });
    assert.deepEqual(graph.manifest.head, { kind: 'classifier', output: 'logits', numLabels: 2 });
    const session = await ort.InferenceSession.create(graph.onnxPath, { intraOpNumThreads: 1 });
    try {
      assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
      assert.deepEqual(session.outputNames, ['logits']);
      // Two (query, passage) pairs as a cross-encoder sees them: [CLS] q [SEP] p [SEP], types 0 then 1, padded.
      const vocab = vocabOf(ck);
      const tok = (t: string): number => vocab.indexOf(t);
      const pair = (q: string, p: string): { ids: number[]; types: number[] } => {
        const a = [tok('[CLS]'), ...contentIds(vocab, q), tok('[SEP]')];
        const b = [...contentIds(vocab, p), tok('[SEP]')];
        return { ids: [...a, ...b], types: [...a.map(() => 0), ...b.map(() => 1)] };
      };
      const pairs = [pair(QUERIES[0]!, DOCUMENTS[0]!), pair(QUERIES[1]!, DOCUMENTS[1]!)];
      const S = Math.max(...pairs.map((p) => p.ids.length));
      const feed = (f: (p: { ids: number[]; types: number[] }, t: number) => number): ort.Tensor =>
        new ort.Tensor('int64', BigInt64Array.from(pairs.flatMap((p) => Array.from({ length: S }, (_, t) => BigInt(f(p, t))))), [2, S]);
      const out = await session.run({
        input_ids: feed((p, t) => p.ids[t] ?? 0),
        attention_mask: feed((p, t) => (t < p.ids.length ? 1 : 0)),
        token_type_ids: feed((p, t) => p.types[t] ?? 0),
      });
      const logits = out['logits'] as ort.Tensor;
      assert.deepEqual(logits.dims, [2, 2]);
      pairs.forEach((p, b) => {
        const expected = referenceLogits(ck.tensors, ck.shape, p.ids, p.ids.map(() => 1), p.types);
        for (let l = 0; l < 2; l++) assert.ok(Math.abs((logits.data as Float32Array)[b * 2 + l]! - expected[l]!) < 1e-4, `pair ${b} label ${l}`);
      });
    } finally {
      await session.release();
    }
  });

  test('a cross-encoder is refused where a ColBERT encoder is asked for', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'cross-encoder' });
    await expectCode(resolveModelSpec(ck.dir, { cacheDir }), 'MODEL_UNSUPPORTED', /cross-encoder/);
  });

  test('a cross-encoder that ships its own ONNX graph is refused as a ColBERT encoder when named, not at its first encode', async () => {
    // It was accepted, and `plait index --model` failed once encoding began: ENCODE_FAILED, 'output "logits" … expected float32 [1, 5, dim]'.
    const dir = fresh();
    await makeTinyCrossEncoder(dir);
    await expectCode(resolveModelSpec(dir, { cacheDir }), 'MODEL_UNSUPPORTED', /cross-encoder \(config\.json: BertForSequenceClassification\).*re-ranking model/);
    // Without config.json, the graph's [batch, 1] output tells.
    const bare = fresh();
    await makeTinyCrossEncoder(bare);
    await rm(path.join(bare, 'config.json'));
    await expectCode(resolveModelSpec(bare, { cacheDir }), 'MODEL_UNSUPPORTED', /one row per text \(\[\?, 1\]\)/);
    const corpus = path.join(root, 'cross-corpus.jsonl');
    await writeFile(corpus, '{"_id":"a","text":"hello world"}\n');
    const out = path.join(root, 'cross-index');
    const r = spawnSync(process.execPath, [BIN, 'index', corpus, '--index', out, '--model', dir], { encoding: 'utf8', env: { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cli-cache') } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /MODEL_UNSUPPORTED/);
    assert.doesNotMatch(r.stderr, /ENCODE_FAILED/);
  });
});

describe('model cache and manifest', () => {
  test('the graph is built once, reused, and rebuilt when a source file changes', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert' });
    const first = await ensureConvertedGraph(ck.dir, { cacheDir });
    assert.equal(first.fromCache, false);
    const manifest = JSON.parse(readFileSync(first.manifestPath, 'utf8')) as ConvertedGraph['manifest'];
    assert.deepEqual(manifest.sources.map((s) => s.file), ['config.json', 'model.safetensors']);
    assert.match(manifest.sources[1]!.sha256, /^[0-9a-f]{64}$/);
    assert.equal(manifest.graph.bytes, statSync(first.onnxPath).size);
    const again = await ensureConvertedGraph(ck.dir, { cacheDir });
    assert.equal(again.fromCache, true);
    assert.equal(again.onnxPath, first.onnxPath);
    // Same bytes, new mtime: reused after re-hashing.
    const weights = path.join(ck.dir, 'model.safetensors');
    const later = new Date(Date.now() + 5000);
    await utimes(weights, later, later);
    assert.equal((await ensureConvertedGraph(ck.dir, { cacheDir })).fromCache, true);
    // Different weights of the same size: rebuilt, and the graph's bytes change.
    const other = await makeBertCheckpoint(fresh(), { layout: 'colbert', seed: 99 });
    await writeFile(weights, await readFile(path.join(other.dir, 'model.safetensors')));
    const rebuilt = await ensureConvertedGraph(ck.dir, { cacheDir });
    assert.equal(rebuilt.fromCache, false);
    assert.notEqual(rebuilt.manifest.graph.sha256, first.manifest.graph.sha256);
  });

  test('a folder that has its own ONNX graph is used as is', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert' });
    const graph = await ensureConvertedGraph(ck.dir, { cacheDir });
    await writeFile(path.join(ck.dir, 'model.onnx'), await readFile(graph.onnxPath));
    const spec = await resolveModelSpec(ck.dir, { cacheDir });
    assert.deepEqual(spec, { family: 'colbert-onnx', dir: path.resolve(ck.dir) });
  });
});

describe('bad checkpoints give coded errors', () => {
  const convert = (ck: { dir: string }): Promise<ConvertedGraph> => ensureConvertedGraph(ck.dir, { cacheDir });

  test('a pickle naming os.system is refused before anything runs (MODEL_UNSAFE)', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', format: 'torch' });
    const marker = path.join(root, 'pwned');
    await writeFile(path.join(ck.dir, 'pytorch_model.bin'), maliciousTorchCheckpoint(`touch ${marker}`));
    await expectCode(convert(ck), 'MODEL_UNSAFE', /os\.system/);
    assert.ok(!existsSync(marker));
    assert.throws(() => TorchCheckpointReader.fromBytes(maliciousTorchCheckpoint('id')), (e: unknown) => isPlaitError(e, 'MODEL_UNSAFE'));
  });

  test('builtins.eval hidden in a tensor rebuild call is refused too', () => {
    const t = { shape: [2], data: Float32Array.of(1, 2) };
    const pickle = Buffer.from(stateDictPickle([['w', t]]).toString('latin1').replace('torch._utils\n_rebuild_tensor_v2', 'builtins\neval'), 'latin1');
    assert.throws(() => TorchCheckpointReader.fromBytes(torchCheckpoint([['w', t]], pickle)), (e: unknown) => isPlaitError(e, 'MODEL_UNSAFE') && /builtins\.eval/.test(e.message));
  });

  test('a truncated safetensors file or pytorch_model.bin is MODEL_LOAD_FAILED', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert' });
    const file = path.join(ck.dir, 'model.safetensors');
    const whole = await readFile(file);
    for (const keep of [whole.length - 100, 200, 5]) {
      await writeFile(file, whole.subarray(0, keep));
      await expectCode(convert(ck), 'MODEL_LOAD_FAILED', /truncated|shorter/);
    }
    const tk = await makeBertCheckpoint(fresh(), { layout: 'colbert', format: 'torch' });
    const bin = path.join(tk.dir, 'pytorch_model.bin');
    const bytes = await readFile(bin);
    await writeFile(bin, bytes.subarray(0, bytes.length - 300));
    await expectCode(convert(tk), 'MODEL_LOAD_FAILED');
  });

  test('a malformed safetensors header is MODEL_LOAD_FAILED', () => {
    const good = safetensorsBytes([['a', { shape: [2, 2], data: new Float32Array(4) }]]);
    const lying = Buffer.from(good.toString('latin1').replace('"shape":[2,2]', '"shape":[2,3]'), 'latin1');
    assert.throws(() => SafetensorsReader.fromBytes(lying), (e: unknown) => isPlaitError(e, 'MODEL_LOAD_FAILED') && /needs 24/.test(e.message));
    const notJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]);
    assert.throws(() => SafetensorsReader.fromBytes(notJson), (e: unknown) => isPlaitError(e, 'MODEL_LOAD_FAILED'));
  });

  test('a config that does not match the weights is MODEL_MISMATCH naming the tensor', async () => {
    const cases: [CheckpointOptions['configOverrides'], RegExp][] = [
      [{ hidden_size: 48 }, /word_embeddings\.weight has shape \[\d+, 32\]/],
      [{ num_hidden_layers: 3 }, /no tensor bert\.encoder\.layer\.2\./],
      [{ num_hidden_layers: 1 }, /more than the 1 layers/],
      [{ intermediate_size: 128 }, /intermediate\.dense\.weight has shape \[64, 32\]/],
      [{ vocab_size: 1000 }, /word_embeddings/],
      [{ num_attention_heads: 5 }, /not a multiple/],
    ];
    for (const [configOverrides, pattern] of cases) {
      const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', configOverrides });
      await expectCode(convert(ck), 'MODEL_MISMATCH', pattern);
    }
    const dim = await makeBertCheckpoint(fresh(), { layout: 'colbert' });
    const meta = JSON.parse(await readFile(path.join(dim.dir, 'artifact.metadata'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(dim.dir, 'artifact.metadata'), JSON.stringify({ ...meta, dim: 128 }));
    await expectCode(convert(dim), 'MODEL_MISMATCH', /dim 128 but the projection's weights give 16/);
  });

  test('other architectures are MODEL_UNSUPPORTED naming the architecture and what to do', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model_type: 'deberta-v2', architectures: ['DebertaV2Model'] }, /"deberta-v2" model \(DebertaV2Model\)/],
      [{ model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'] }, /"xlm-roberta"/],
      [{ architectures: ['JinaBertModel'], auto_map: { AutoModel: 'jinaai/jina-bert-implementation--modeling_bert.JinaBertModel' }, position_embedding_type: 'alibi' }, /JinaBertModel/],
      [{ hidden_act: 'swish' }, /hidden_act "swish"/],
    ];
    for (const [configOverrides, pattern] of cases) {
      const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', configOverrides });
      await expectCode(convert(ck), 'MODEL_UNSUPPORTED', pattern);
      await expectCode(convert(ck), 'MODEL_UNSUPPORTED', /export this model to ONNX with Python/);
    }
  });

  test('plait encode on an unsupported checkpoint exits 1 with the code', async () => {
    const ck = await makeBertCheckpoint(fresh(), { layout: 'colbert', configOverrides: { model_type: 'deberta-v2', architectures: ['DebertaV2Model'] } });
    const r = spawnSync(process.execPath, [BIN, 'encode', '--model', ck.dir, 'hello'], { encoding: 'utf8', env: { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cli-cache') } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /MODEL_UNSUPPORTED/);
    assert.match(r.stderr, /deberta-v2/);
  });
});

describe('half floats', () => {
  test('F16 and BF16 bit patterns widen to the values IEEE 754 defines', () => {
    assert.equal(f16ToF32(0x3c00), 1);
    assert.equal(f16ToF32(0xc000), -2);
    assert.equal(f16ToF32(0x3555), 0.333251953125);
    assert.equal(f16ToF32(0x7bff), 65504);
    assert.equal(f16ToF32(0x0001), 2 ** -24);
    assert.equal(f16ToF32(0x7c00), Infinity);
    assert.ok(Number.isNaN(f16ToF32(0x7e00)));
    assert.equal(bf16ToF32(0x3f80), 1);
    assert.equal(bf16ToF32(0xc040), -3);
    assert.equal(bf16ToF32(0x3eab), 0.333984375);
  });
});

describe('tokenizer.json from vocab.txt', () => {
  test('tokenizes like the hand-written WordPiece tokenizer.json, special tokens and accents included', async () => {
    const { Tokenizer } = await import('tokenizers');
    const { wordpieceTokenizerJson } = await import('../src/encoder/convert/wordpiece-tokenizer-json.js');
    const { tinyTokenizerJson, tinyVocab } = await import('../fixtures/tiny-colbert.js');
    const built = Tokenizer.fromString(wordpieceTokenizerJson(`${tinyVocab().join('\n')}\n`, { do_lower_case: true }, null, 'vocab.txt'));
    const reference = Tokenizer.fromString(tinyTokenizerJson());
    for (const text of ['Hello World! the café is naïve.', 'running runs quickly: 42 proteins [MASK] xyzzy', 'Über résumé 中 data-flow']) {
      const a = await built.encode(text);
      const b = await reference.encode(text);
      assert.deepEqual(a.getIds(), b.getIds(), text);
    }
    assert.throws(() => wordpieceTokenizerJson('a\nb\n', null, null, 'vocab.txt'), (e: unknown) => isPlaitError(e, 'MODEL_LOAD_FAILED'));
  });
});

describe('torch pickle reader', () => {
  test('protocol 4 opcodes (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, _rebuild_parameter) read the same tensor', () => {
    const parts: Buffer[] = [];
    const raw = (...b: number[]): void => void parts.push(Buffer.from(b));
    const sstr = (s: string): void => {
      raw(0x8c, Buffer.byteLength(s));
      parts.push(Buffer.from(s));
      raw(0x94); // MEMOIZE
    };
    const stackGlobal = (m: string, n: string): void => {
      sstr(m);
      sstr(n);
      raw(0x93, 0x94); // STACK_GLOBAL, MEMOIZE
    };
    raw(0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0); // PROTO 4, FRAME (length unused by the reader)
    raw(0x7d, 0x94); // EMPTY_DICT
    sstr('w');
    stackGlobal('torch._utils', '_rebuild_parameter');
    stackGlobal('torch._utils', '_rebuild_tensor_v2');
    raw(0x28, 0x28); // MARK (arguments), MARK (persistent id)
    sstr('storage');
    stackGlobal('torch', 'FloatStorage');
    sstr('0');
    sstr('cpu');
    raw(0x4b, 6, 0x74, 0x94, 0x51, 0x94); // numel 6, TUPLE, BINPERSID
    raw(0x4b, 0, 0x4b, 2, 0x4b, 3, 0x86, 0x94, 0x4b, 1, 0x4b, 2, 0x86, 0x94); // offset 0, size (2, 3), stride (1, 2): a transposed view
    raw(0x89, 0x29, 0x74, 0x94, 0x52, 0x94); // False, () as hooks, TUPLE, REDUCE
    raw(0x88, 0x29, 0x87, 0x94, 0x52, 0x94); // (tensor, True, ()) → _rebuild_parameter
    raw(0x73, 0x2e); // SETITEM, STOP
    const storage = Buffer.from(Float32Array.of(0, 1, 2, 3, 4, 5).buffer);
    const zip = storedZip([['archive/data.pkl', Buffer.concat(parts)], ['archive/data/0', storage], ['archive/byteorder', Buffer.from('little')]]);
    const reader = TorchCheckpointReader.fromBytes(zip);
    const t = reader.get('w')!;
    assert.deepEqual(t.shape, [2, 3]);
    // Element (i, j) is storage[i·1 + j·2].
    assert.deepEqual(Array.from(t.data), [0, 2, 4, 1, 3, 5]);
  });
});
