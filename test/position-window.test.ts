/**
 * Input length against the model's position table, at every door. A graph embeds positions
 * 0…rows−1; a window configured past it (ColBERT's doc_maxlen / query_maxlen, PyLate's
 * document_length / query_length, a cross-encoder's max_length, `overrides`, `--doc-maxlen`,
 * `--cross-max-length`) loaded without a word and failed at the first long text with onnxruntime's
 * Gather error (ENCODE_FAILED) — an index build, an add, a served /encode or /rerank. Now: a length
 * someone configured past the table is refused at load (MODEL_UNSUPPORTED naming the file, or
 * INVALID_ARGUMENT for an option), naming both numbers; a default no one chose is cut to the table;
 * a text longer than the window is truncated, never an error. Rotary models (ModernBERT) have no
 * table: config.json's max_position_embeddings is the bound.
 * Tiny graphs with a 64-row table keep this fast.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CrossEncoder, createEncoder, isPlaitError, resolveModelSpec } from '../src/index.js';
import { startServer } from '../src/server/index.js';
import { readGraphTables } from '../src/encoder/colbert-onnx/graph-tables.js';
import { makeTinyColbert, tinyOnnxModel, tinyVocab } from '../fixtures/tiny-colbert.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import { makeModernBertCheckpoint } from './helpers/tiny-modernbert.js';
import { runPlait, succeeded } from './helpers/cli.js';

const ROWS = 64;
/** About 300 tokens of the tiny vocabulary: past any 64-position window. */
const LONG = Array.from({ length: 60 }, (_, i) => `bread and butter ${i} fell`).join(' ');
let root: string;
/** doc_maxlen left unsaid (ColBERT's default 180 is past the table): cut to 64. */
let defaulted: string;
/** artifact.metadata's doc_maxlen 180 past the 64-row table. */
let docPast: string;
/** config_sentence_transformers.json's query_length 100 past the table. */
let queryPast: string;
/** config.json says nothing of a length (its max_position_embeddings is the table): the graph's 64. */
let cross: string;
/** tokenizer_config.json's model_max_length 128 past the table. */
let crossPast: string;

async function editJson(file: string, edit: (v: Record<string, unknown>) => void): Promise<void> {
  const v = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(v);
  await writeFile(file, JSON.stringify(v));
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-position-window-'));
  docPast = path.join(root, 'doc-past');
  await makeTinyColbert(docPast, { dim: 16, maxPositions: ROWS });
  defaulted = path.join(root, 'defaulted');
  await makeTinyColbert(defaulted, { dim: 16, maxPositions: ROWS });
  await editJson(path.join(defaulted, 'artifact.metadata'), (m) => delete m['doc_maxlen']);
  queryPast = path.join(root, 'query-past');
  await makeTinyColbert(queryPast, { dim: 16, maxPositions: ROWS, layout: 'pylate' });
  await editJson(path.join(queryPast, 'config_sentence_transformers.json'), (c) => Object.assign(c, { query_length: 100, document_length: 48 }));
  cross = path.join(root, 'cross');
  await makeTinyCrossEncoder(cross, { seed: 5, graphPositions: ROWS });
  crossPast = path.join(root, 'cross-past');
  await makeTinyCrossEncoder(crossPast, { seed: 5, graphPositions: ROWS, modelMaxLength: 128 });
  await writeFile(path.join(root, 'docs.jsonl'), [`{"_id":"a","text":"${LONG}"}`, '{"_id":"b","text":"stocks fell"}', '{"_id":"c","text":"bread and jam"}'].join('\n') + '\n');
  await writeFile(path.join(root, 'more.jsonl'), `{"_id":"d","text":"${LONG} again"}\n`);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function namesBoth(code: 'MODEL_UNSUPPORTED' | 'INVALID_ARGUMENT', asked: number, pattern: RegExp): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(isPlaitError(e, code), String(e));
    assert.match(e.message, pattern);
    assert.equal(e.details?.['asked'], asked);
    assert.equal(e.details?.['positions'], ROWS);
    return true;
  };
}

test('the graph\'s position table is read at load (64 rows); hidden behind a node, it is not guessed', async () => {
  assert.deepEqual(readGraphTables(path.join(docPast, 'model.onnx')), { embeddingRows: tinyVocab().length, positionRows: ROWS });
  assert.equal(readGraphTables(path.join(cross, 'onnx', 'model.onnx')).positionRows, ROWS);
  const hidden = path.join(root, 'hidden.onnx');
  await writeFile(hidden, tinyOnnxModel({ vocabSize: tinyVocab().length, hidden: 32, dim: 16, maxPositions: ROWS, withTokenTypes: true, outputName: 'last_hidden_state', seed: 7, hidePositionTable: true }));
  assert.deepEqual(readGraphTables(hidden), { embeddingRows: tinyVocab().length, positionRows: null });
});

test('library: a length the checkpoint or the caller asks past the table is refused at load, naming both numbers', async () => {
  await assert.rejects(
    async () => createEncoder(await resolveModelSpec(docPast), { threads: 0 }),
    namesBoth('MODEL_UNSUPPORTED', 180, /artifact\.metadata asks for doc_maxlen 180 .* 64 positions/),
  );
  await assert.rejects(
    async () => createEncoder(await resolveModelSpec(queryPast), { threads: 0 }),
    namesBoth('MODEL_UNSUPPORTED', 100, /config_sentence_transformers\.json asks for query_length 100 .* 64 positions/),
  );
  const spec = await resolveModelSpec(defaulted);
  await assert.rejects(
    createEncoder({ ...spec, overrides: { docMaxlen: 1024 } } as typeof spec, { threads: 0 }),
    namesBoth('INVALID_ARGUMENT', 1024, /Expected at most 64 for docMaxlen but received 1024: the model has 64 positions/),
  );
  await assert.rejects(
    createEncoder({ ...spec, overrides: { queryMaxlen: 600 } } as typeof spec, { threads: 0 }),
    namesBoth('INVALID_ARGUMENT', 600, /Expected at most 64 for queryMaxlen but received 600: the model has 64 positions/),
  );
});

test('library: a default past the table is cut to it, and long texts are truncated on a worker as in-process', async () => {
  const enc = await createEncoder(await resolveModelSpec(defaulted), { threads: 1 });
  try {
    assert.equal(enc.info.docMaxlen, ROWS);
    const [q] = await enc.encodeQueries([LONG]);
    assert.equal(q!.length, 32);
    const [d] = await enc.encodeDocuments([LONG]);
    assert.ok(d!.length <= ROWS && d!.length > 32, String(d!.length));
  } finally {
    await enc.close();
  }
});

test('ModernBERT (rotary, no table): config.json\'s max_position_embeddings bounds the window', async () => {
  const dir = path.join(root, 'modernbert');
  await makeModernBertCheckpoint(dir, { docMaxlen: 100, configOverrides: { max_position_embeddings: ROWS } });
  const spec = await resolveModelSpec(dir, { cacheDir: path.join(root, 'cache') });
  assert.ok(spec.family === 'colbert-onnx' && spec.onnxFile !== undefined);
  // Rotary: the converted graph's Range feeds no table (the walker finds none to mistake).
  assert.equal(readGraphTables(spec.onnxFile).positionRows, null);
  await assert.rejects(
    createEncoder(spec, { threads: 0 }),
    namesBoth('MODEL_UNSUPPORTED', 100, /document_length 100 .* 64 positions .*max_position_embeddings/),
  );
});

test('cross-encoder: max_length past the table is refused (file or option); a length no one chose is the table\'s, and a long pair scores', async () => {
  await assert.rejects(CrossEncoder.create(crossPast, { threads: 0 }), namesBoth('MODEL_UNSUPPORTED', 128, /tokenizer_config\.json asks for model_max_length 128 .* 64 positions/));
  await assert.rejects(CrossEncoder.create(cross, { threads: 0, maxLength: 128 }), namesBoth('INVALID_ARGUMENT', 128, /Expected at most 64 for maxLength but received 128: the model has 64 positions/));
  const ce = await CrossEncoder.create(cross, { threads: 1 });
  try {
    assert.equal(ce.maxLength, ROWS);
    const scores = await ce.score(LONG, [LONG, 'bread']);
    assert.ok(scores.every(Number.isFinite));
  } finally {
    await ce.close();
  }
});

test('CLI: --doc-maxlen and --cross-max-length past the table exit 2 naming both; index, add and search with long texts succeed', () => {
  const past = runPlait(root, ['index', path.join(root, 'docs.jsonl'), '-i', 'past', '--model', defaulted, '--doc-maxlen', '4096', '--quiet']);
  assert.equal(past.code, 2, past.stderr);
  assert.match(past.stderr, /Expected at most 64 for --doc-maxlen but received 4096: the model has 64 positions .*\[INVALID_ARGUMENT\]/s);
  // The cluster's build door (a sharded index) loads the encoder the same way.
  const sharded = runPlait(root, ['index', path.join(root, 'docs.jsonl'), '-i', 'sharded', '--model', defaulted, '--doc-maxlen', '4096', '--shards', '2', '--quiet']);
  assert.equal(sharded.code, 2, sharded.stderr);
  assert.match(sharded.stderr, /but received 4096: the model has 64 positions/);
  const rerank = runPlait(root, ['rerank', '--query', 'bread', '--docs', path.join(root, 'docs.jsonl'), '--cross-encoder', cross, '--cross-max-length', '128']);
  assert.equal(rerank.code, 2, rerank.stderr);
  assert.match(rerank.stderr, /Expected at most 64 for (--cross-max-length|maxLength) but received 128: the model has 64 positions .*\[INVALID_ARGUMENT\]/s);
  succeeded(runPlait(root, ['index', path.join(root, 'docs.jsonl'), '-i', 'long', '--model', defaulted, '--threads', '1', '--quiet']));
  succeeded(runPlait(root, ['add', 'long', path.join(root, 'more.jsonl'), '--quiet']));
  const hits = JSON.parse(succeeded(runPlait(root, ['search', 'long', LONG, '--json'])).stdout) as { hits: { docId: string }[] };
  assert.ok(hits.hits.length > 0);
});

test('HTTP: a model or cross-encoder asking past its table is refused at start; /encode, /rerank and /search with long texts answer 200 (they were ENCODE_FAILED)', async () => {
  await assert.rejects(startServer([], { host: '127.0.0.1', port: 0, models: [docPast], encoderThreads: 0, logLevel: 'silent' }), namesBoth('MODEL_UNSUPPORTED', 180, /doc_maxlen 180/));
  await assert.rejects(startServer([], { host: '127.0.0.1', port: 0, crossEncoders: [crossPast], logLevel: 'silent' }), namesBoth('MODEL_UNSUPPORTED', 128, /model_max_length 128/));
  const server = await startServer([path.join(root, 'indexes', 'long')], { host: '127.0.0.1', port: 0, models: [defaulted], crossEncoders: [cross], encoderThreads: 0, logLevel: 'silent' });
  try {
    const post = async (route: string, body: unknown): Promise<Record<string, unknown>> => {
      const r = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await r.json()) as Record<string, unknown>;
      assert.equal(r.status, 200, JSON.stringify(json));
      return json;
    };
    const enc = await post('/v1/encode', { texts: [LONG], kind: 'document' });
    assert.ok((enc['embeddings'] as { length: number }[])[0]!.length <= ROWS);
    await post('/v1/rerank', { query: LONG, documents: [LONG, 'bread'], model: 'cross' });
    const found = await post('/v1/indexes/long/search', { query: LONG, top_k: 2 });
    assert.ok((found['results'] as { hits: unknown[] }[])[0]!.hits.length > 0);
  } finally {
    await server.close();
  }
});
