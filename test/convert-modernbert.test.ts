import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import { pullModel } from '../src/encoder/hub/index.js';
import { ensureConvertedGraph, type ConvertManifest } from '../src/encoder/convert/index.js';
import { isPlaitError, type ErrorCode } from '../src/errors/index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { expectedModernEncoding, maxDeviation } from './helpers/convert-expect.js';
import { filesOf, startStaticHub } from './helpers/static-hub.js';
import { bpeContentIds, bpeTokenizerJson, makeModernBertCheckpoint, TINY_MODERNBERT, type ModernBertCheckpointOptions, type WrittenModernBert } from './helpers/tiny-modernbert.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
const QUERIES = ['what is late interaction retrieval?', 'protein gene study'];
const DOCUMENTS = [
  'the quick brown fox jumps over the lazy dog.',
  'search engine: index, query & document model!',
  // Longer than document_length (16): truncated, keeping [SEP]; 16 tokens span far more than the window of 4.
  'the cell study of blood, heat and water flow was run by people who read books in the library after work',
];

let root: string;
let cacheDir: string;
let n = 0;
const fresh = (): string => path.join(root, `m${n++}`);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-modernbert-'));
  cacheDir = path.join(root, 'cache');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

async function expectCode(p: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPlaitError(e, code), `expected ${code}, got ${String(e)}`);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
}

/** Worst |plait − reference| over QUERIES and DOCUMENTS encoded through the library from `model`. */
async function libraryDeviation(model: string, ck: WrittenModernBert, opts: { offline?: boolean; cache?: string } = {}): Promise<number> {
  const spec = await resolveModelSpec(model, { cacheDir: opts.cache ?? cacheDir, ...(opts.offline === true ? { offline: true } : {}) });
  const encoder = await createEncoder(spec, { threads: 0 });
  try {
    assert.equal(encoder.info.dim, ck.shape.dim);
    let worst = 0;
    const check = (e: TokenEmbeddings[], texts: string[], kind: 'query' | 'document'): void =>
      e.forEach((x, i) => (worst = Math.max(worst, maxDeviation(x, expectedModernEncoding(ck, texts[i]!, kind), ck.shape.dim))));
    check(await encoder.encodeQueries(QUERIES), QUERIES, 'query');
    check(await encoder.encodeDocuments(DOCUMENTS), DOCUMENTS, 'document');
    return worst;
  } finally {
    await encoder.close();
  }
}

describe('ModernBERT checkpoints equal a float64 reference forward pass', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    test(`PyLate layout (transformer at the root, 1_Dense), safetensors ${dtype}: queries and documents within 1e-4`, async () => {
      const ck = await makeModernBertCheckpoint(fresh(), { dtype });
      const worst = await libraryDeviation(ck.dir, ck);
      assert.ok(worst < 1e-4, `max deviation ${worst}`);
    });
  }

  test('0_Transformer/ layout, pytorch_model.bin, model.* names, expansion tokens attended, tanh GELU: within 1e-4', async () => {
    const ck = await makeModernBertCheckpoint(fresh(), {
      layout: 'st-subfolder',
      format: 'torch',
      tensorPrefix: 'model.',
      attendToExpansion: true,
      shape: { ...TINY_MODERNBERT, hiddenAct: 'gelu_pytorch_tanh', normBias: true, attentionBias: true, mlpBias: true },
      seed: 3,
    });
    const worst = await libraryDeviation(ck.dir, ck);
    assert.ok(worst < 1e-4, `max deviation ${worst}`);
  });

  test('a chain of Dense modules (1_Dense 32 → 24, 2_Dense 24 → 16, the modules.json of lightonai/LateOn-Code-edge): within 1e-4', async () => {
    const ck = await makeModernBertCheckpoint(fresh(), { shape: { ...TINY_MODERNBERT, denseWidths: [24, 16] }, seed: 4 });
    assert.ok((await libraryDeviation(ck.dir, ck)) < 1e-4);
    // Leaving out 2_Dense would give 24-d vectors: the chain is really applied.
    const graph = await ensureConvertedGraph(ck.dir, { cacheDir });
    assert.equal(graph.manifest.head.kind === 'colbert' ? graph.manifest.head.dim : 0, 16);
    assert.deepEqual(graph.manifest.sources.map((s) => s.file), ['config.json', 'model.safetensors', '1_Dense/config.json', '1_Dense/model.safetensors', '2_Dense/config.json', '2_Dense/model.safetensors']);
  });

  test('the local window, the local rotary base and the skiplist each change the output (the check is not vacuous)', async () => {
    const ck = await makeModernBertCheckpoint(fresh());
    const spec = await resolveModelSpec(ck.dir, { cacheDir });
    const encoder = await createEncoder(spec, { threads: 0 });
    try {
      const [doc] = await encoder.encodeDocuments([DOCUMENTS[2]!]);
      const [query] = await encoder.encodeQueries([QUERIES[0]!]);
      assert.ok(maxDeviation(doc!, expectedModernEncoding(ck, DOCUMENTS[2]!, 'document'), ck.shape.dim) < 1e-4);
      for (const shape of [{ ...TINY_MODERNBERT, localAttention: 64 }, { ...TINY_MODERNBERT, localTheta: TINY_MODERNBERT.globalTheta }, { ...TINY_MODERNBERT, globalEvery: 1 }]) {
        const other = { ...ck, shape };
        assert.ok(maxDeviation(doc!, expectedModernEncoding(other, DOCUMENTS[2]!, 'document'), ck.shape.dim) > 1e-3, JSON.stringify(shape));
      }
      // Expansion tokens not attended: the query rows of [MASK] still differ with attention to them.
      assert.ok(maxDeviation(query!, expectedModernEncoding({ ...ck, attendToExpansion: true }, QUERIES[0]!, 'query'), ck.shape.dim) > 1e-3);
      assert.equal(query!.length, ck.queryMaxlen);
      // "," and "." rows are dropped from documents; " &" is another token and stays (PyLate's convert_tokens_to_ids).
      const [punct] = await encoder.encodeDocuments([DOCUMENTS[1]!]);
      assert.equal(punct!.length, expectedModernEncoding(ck, DOCUMENTS[1]!, 'document').ids.length);
      // The synchronous row layout (splitting, explain) goes through the byte-level BPE too and agrees with the encoder.
      for (const [text, kind, encoded] of [[DOCUMENTS[1]!, 'document', punct!], [QUERIES[0]!, 'query', query!]] as const) {
        const rows = encoder.rows(text, kind);
        assert.deepEqual(rows.map((r) => r.id), Array.from(encoded.tokenIds), `${kind} rows`);
      }
      const tokens = encoder.tokenize(DOCUMENTS[1]!);
      assert.deepEqual(Array.from(tokens.ids), bpeContentIds(DOCUMENTS[1]!));
    } finally {
      await encoder.close();
    }
  });

  test('transformers 5 config fields (layer_types, rope_parameters) convert to the same graph outputs', async () => {
    const types = Array.from({ length: TINY_MODERNBERT.layers }, (_, i) => (i % TINY_MODERNBERT.globalEvery === 0 ? 'full_attention' : 'sliding_attention'));
    const ck = await makeModernBertCheckpoint(fresh(), {
      configOverrides: {
        global_rope_theta: undefined,
        local_rope_theta: undefined,
        global_attn_every_n_layers: undefined,
        layer_types: types,
        rope_parameters: { full_attention: { rope_type: 'default', rope_theta: TINY_MODERNBERT.globalTheta }, sliding_attention: { rope_type: 'default', rope_theta: TINY_MODERNBERT.localTheta } },
      },
    });
    assert.ok((await libraryDeviation(ck.dir, ck)) < 1e-4);
  });

  test('plait encode (CLI) prints the reference vectors for queries and documents', async () => {
    const ck = await makeModernBertCheckpoint(fresh(), { seed: 9 });
    const env = { ...process.env, PLAIT_CACHE_DIR: path.join(root, 'cli-cache') };
    for (const [kind, texts] of [['query', QUERIES], ['document', DOCUMENTS]] as const) {
      const r = await runCli(['encode', '--model', ck.dir, '--json', '--vectors', ...(kind === 'query' ? ['--query'] : []), ...texts], env);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { dim: number; items: { tokens: number; tokenIds: number[]; vectors: number[] }[] };
      assert.equal(out.dim, ck.shape.dim);
      out.items.forEach((item, i) => {
        const e = { length: item.tokens, tokenIds: Int32Array.from(item.tokenIds), vectors: Float32Array.from(item.vectors) };
        const worst = maxDeviation(e, expectedModernEncoding(ck, texts[i]!, kind), ck.shape.dim);
        assert.ok(worst < 1e-4, `${kind} ${i}: max deviation ${worst}`);
      });
    }
  });
});

describe('the tokenizers binding and ModernBERT-style BPE', () => {
  test('merges as "a b" strings (tokenizers < 0.20) and as [a, b] pairs (as ModernBERT tokenizer.json files hold them) tokenize alike', async () => {
    const { Tokenizer } = await import('tokenizers');
    const base = JSON.parse(bpeTokenizerJson()) as { model: Record<string, unknown> & { vocab: Record<string, number> } };
    const pairs = [['Ġ', 'd'], ['Ġd', 'o'], ['Ġdo', 'g'], ['l', 'a'], ['la', 'z'], ['laz', 'y']];
    // ignore_merges off: "lazy" and "Ġdog" can only come from the merges, applied by rank.
    const vocab = { ...base.model.vocab };
    for (const t of ['Ġd', 'Ġdo', 'la', 'laz']) vocab[t] = Object.keys(vocab).length;
    for (const merges of [pairs.map((p) => p.join(' ')), pairs]) {
      const json = { ...base, model: { ...base.model, vocab, ignore_merges: false, merges } };
      const tok = Tokenizer.fromString(JSON.stringify(json));
      const enc = await tok.encode('lazy dog', null, { addSpecialTokens: false });
      assert.deepEqual(enc.getTokens(), ['lazy', 'Ġdog']);
      const special = await tok.encode('lazy dog');
      assert.deepEqual(special.getTokens(), ['[CLS]', 'lazy', 'Ġdog', '[SEP]']);
    }
  });
});

describe('ModernBERT from the hub', () => {
  test('a GTE-ModernColBERT-v1-shaped repository and one with two Dense modules pull, convert once, and encode like the reference (library and CLI)', async () => {
    const repo = 'lightonai/GTE-ModernColBERT-v1';
    const ck = await makeModernBertCheckpoint(path.join(root, 'src-gte'), { seed: 13 });
    await writeFile(path.join(ck.dir, 'README.md'), '# stand-in');
    // A stand-in repository with two Dense modules and the transformer in 0_Transformer/ (not a copy of any real repository's files).
    const edge = 'org/modernbert-two-dense';
    const edgeCk = await makeModernBertCheckpoint(path.join(root, 'src-edge'), { layout: 'st-subfolder', shape: { ...TINY_MODERNBERT, denseWidths: [24, 16] }, seed: 17 });
    const hub = await startStaticHub({ [repo]: await filesOf(ck.dir), [edge]: await filesOf(edgeCk.dir) });
    try {
      const cache = path.join(root, 'hub-cache');
      const pulled = await pullModel(repo, { cacheDir: cache, endpoint: hub.endpoint });
      const files = pulled.files.map((f) => f.file);
      for (const f of ['modules.json', 'config.json', 'model.safetensors', 'tokenizer.json', 'config_sentence_transformers.json', '1_Dense/config.json', '1_Dense/model.safetensors', 'model.onnx']) {
        assert.ok(files.includes(f), f);
      }
      const manifest = JSON.parse(readFileSync(path.join(pulled.dir, 'plait-convert.json'), 'utf8')) as ConvertManifest;
      assert.equal(manifest.architecture.family, 'modernbert');
      assert.deepEqual(manifest.head, { kind: 'colbert', output: 'embeddings', dim: ck.shape.dim });
      assert.deepEqual(manifest.inputs, ['input_ids', 'attention_mask']);
      assert.ok((await libraryDeviation(repo, ck, { offline: true, cache })) < 1e-4);
      // The int8 graph of a pulled repository is built beside its float graph and named relatively in the spec.
      const int8 = await resolveModelSpec(repo, { cacheDir: cache, offline: true, quantize: 'int8' });
      assert.equal(int8.family === 'colbert-onnx' ? `${int8.onnxFile}|${int8.quantize}` : '', 'int8/model.onnx|int8');
      const encoder = await createEncoder(int8, { threads: 0 });
      try {
        const [q] = await encoder.encodeQueries([QUERIES[0]!]);
        assert.equal(encoder.info.quantization, 'int8');
        assert.equal(q!.length, ck.queryMaxlen);
      } finally {
        await encoder.close();
      }
      const cliCache = path.join(root, 'hub-cli-cache');
      const r = await runCli(['encode', '--model', repo, '--json', '--vectors', '--query', QUERIES[0]!], { ...process.env, HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cliCache });
      assert.equal(r.status, 0, r.stderr);
      const item = (JSON.parse(r.stdout) as { items: { tokens: number; tokenIds: number[]; vectors: number[] }[] }).items[0]!;
      const e = { length: item.tokens, tokenIds: Int32Array.from(item.tokenIds), vectors: Float32Array.from(item.vectors) };
      assert.ok(maxDeviation(e, expectedModernEncoding(ck, QUERIES[0]!, 'query'), ck.shape.dim) < 1e-4);
      assert.ok(existsSync(path.join(cliCache)));
      // Two Dense modules and the transformer in 0_Transformer/: modules.json says which folders to fetch.
      const edgePull = await pullModel(edge, { cacheDir: cache, endpoint: hub.endpoint });
      for (const f of ['0_Transformer/config.json', '0_Transformer/model.safetensors', '0_Transformer/tokenizer.json', '1_Dense/model.safetensors', '2_Dense/config.json', '2_Dense/model.safetensors']) {
        assert.ok(edgePull.files.some((x) => x.file === f), f);
      }
      assert.ok((await libraryDeviation(edge, edgeCk, { offline: true, cache })) < 1e-4);
    } finally {
      await hub.close();
    }
  });
});

describe('ModernBERT checkpoints plait cannot convert give coded errors', () => {
  const convert = async (opts: ModernBertCheckpointOptions): Promise<unknown> => {
    const ck = await makeModernBertCheckpoint(fresh(), opts);
    return ensureConvertedGraph(ck.dir, { cacheDir });
  };

  test('scaled rotary embeddings are MODEL_UNSUPPORTED', async () => {
    await expectCode(convert({ configOverrides: { rope_parameters: { full_attention: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } } } }), 'MODEL_UNSUPPORTED', /yarn rotary scaling/);
    await expectCode(convert({ configOverrides: { rope_scaling: { type: 'linear', factor: 2 } } }), 'MODEL_UNSUPPORTED', /rope_scaling/);
  });

  test('a config that contradicts the weights is MODEL_MISMATCH naming the tensor', async () => {
    await expectCode(convert({ configOverrides: { intermediate_size: 40 } }), 'MODEL_MISMATCH', /mlp\.Wi\.weight has shape \[96, 32\]/);
    await expectCode(convert({ configOverrides: { num_hidden_layers: 3 } }), 'MODEL_MISMATCH', /more than the 3 layers/);
    await expectCode(convert({ configOverrides: { norm_bias: true } }), 'MODEL_MISMATCH', /no tensor layers\.0\.mlp_norm\.bias/);
    await expectCode(convert({ configOverrides: { num_attention_heads: 32 } }), 'MODEL_MISMATCH', /even multiple/);
  });

  test('a ModernBERT without a ColBERT projection is MODEL_UNSUPPORTED; a Pooling module too', async () => {
    const pooled = await makeModernBertCheckpoint(fresh());
    const modules = JSON.parse(await readFile(path.join(pooled.dir, 'modules.json'), 'utf8')) as unknown[];
    await writeFile(path.join(pooled.dir, 'modules.json'), JSON.stringify([...modules, { idx: 2, name: '2', path: '2_Pooling', type: 'sentence_transformers.models.Pooling' }]));
    await expectCode(ensureConvertedGraph(pooled.dir, { cacheDir }), 'MODEL_UNSUPPORTED', /Pooling module/);
    const ck = await makeModernBertCheckpoint(fresh());
    await rm(path.join(ck.dir, '1_Dense'), { recursive: true });
    await rm(path.join(ck.dir, 'modules.json'));
    await expectCode(ensureConvertedGraph(ck.dir, { cacheDir }), 'MODEL_UNSUPPORTED', /without a ColBERT projection/);
    const config = JSON.parse(await readFile(path.join(ck.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['model_type'], 'modernbert');
  });
});
