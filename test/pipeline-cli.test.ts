/** The CLI's pipeline and cross-encoder flags, driven as a user would: search, rerank, eval, errors. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildIndex } from '../src/indexer/build-index.js';
import { CrossEncoder } from '../src/rerank/cross-encoder/index.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';

import { runPlait, type CliResult } from './helpers/cli.js';
let dir: string;
let crossDir: string;
let indexDir: string;

const plait = (...args: string[]): CliResult => runPlait(dir, args);

const TEXTS = [
  'protein gene blood cancer study',
  'heat air pressure wing flow',
  'search engine index query document',
  'the quick brown fox jumps over the lazy dog',
  'cancer patient blood data result',
  'library science paper books read',
  'water house cat dog play',
  'late interaction retrieval model token vector',
  'gene protein cell cells study data',
  'information system library search',
];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'plait-pipeline-cli-'));
  await writeFile(path.join(dir, 'corpus.jsonl'), TEXTS.map((t, i) => JSON.stringify({ _id: `d${i}`, title: '', text: t })).join('\n'));
  const model = path.join(dir, 'colbert');
  await makeTinyColbert(model, { dim: 16 });
  indexDir = path.join(dir, 'index');
  await buildIndex(path.join(dir, 'corpus.jsonl'), { index: indexDir, model, encoderOptions: { threads: 0 } });
  crossDir = path.join(dir, 'cross');
  await makeTinyCrossEncoder(crossDir, { seed: 3 });
  await writeFile(path.join(dir, 'docs.jsonl'), TEXTS.slice(0, 4).map((t, i) => JSON.stringify({ id: `x${i}`, text: t })).join('\n'));
  await writeFile(path.join(dir, 'queries.jsonl'), ['protein study', 'library search', 'dog cat'].map((t, i) => JSON.stringify({ _id: `q${i}`, text: t })).join('\n'));
  await writeFile(path.join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\td8\t1\nq1\td5\t1\nq1\td9\t1\nq2\td6\t1\nq2\td3\t1\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('plait search --pipeline … --cross-encoder: JSON with stages, orderedBy and the cross-encoder order', () => {
  const r = plait('search', indexDir, 'protein gene study data library search', '--pipeline', 'bm25:8 > late:6 > cross:3', '--cross-encoder', crossDir, '--cross-threads', '1', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { hits: { docId: string; rank: number; text: string }[]; stages: { label: string; status: string }[]; orderedBy: string; degraded: unknown };
  assert.equal(out.hits.length, 3);
  assert.equal(out.orderedBy, 'cross:3');
  assert.equal(out.degraded, null);
  assert.deepEqual(out.stages.map((s) => s.label), ['bm25:8', 'late:6', 'cross:3']);
  assert.equal(typeof out.hits[0]!.text, 'string');
  const human = plait('search', indexDir, 'protein gene study', '--pipeline', 'bm25:8 > cross:2', '--cross-encoder', crossDir, '--timings');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /bm25:8 .* ms .* ok/);
});

test('a bad pipeline exits 2 and shows the position', () => {
  const r = plait('search', indexDir, 'q', '--pipeline', 'bm25:10 > crosss:5');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown stage "crosss".*position 11/);
  const noModel = plait('search', indexDir, 'q', '--pipeline', 'bm25:10 > cross:5');
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /cross-encoder/);
});

test('plait rerank --cross-encoder prints the rerank JSON shape with cross-encoder scores', async () => {
  const r = plait('rerank', '--cross-encoder', crossDir, '--query', 'quick brown fox', '--docs', path.join(dir, 'docs.jsonl'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { index: number; id: string; score: number }[];
  const ce = await CrossEncoder.create(crossDir, { threads: 0 });
  try {
    const scores = await ce.score('quick brown fox', TEXTS.slice(0, 4));
    assert.equal(out.length, 4);
    for (const x of out) {
      assert.equal(x.id, `x${x.index}`);
      assert.ok(Math.abs(x.score - scores[x.index]!) < 1e-5);
    }
    assert.ok(out.every((x, i) => i === 0 || out[i - 1]!.score >= x.score));
  } finally {
    await ce.close();
  }
});

test('plait eval --pipelines adds a row per pipeline with per-stage latency and significance', () => {
  const r = plait(
    'eval', indexDir,
    '--queries', path.join(dir, 'queries.jsonl'),
    '--qrels', path.join(dir, 'qrels.tsv'),
    '--modes', 'bm25',
    '--depth', '10',
    '--pipelines', 'bm25:8 > late:5; bm25:8 > cross:5',
    '--cross-encoder', crossDir,
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { baseline: string; modes: { name: string; significance: unknown; stageLatency?: Record<string, { meanMs: number }>; mean: Record<string, number> }[] };
  assert.deepEqual(out.modes.map((m) => m.name), ['bm25', 'bm25:8 > late:5', 'bm25:8 > cross:5']);
  assert.equal(out.baseline, 'bm25');
  for (const m of out.modes.slice(1)) {
    assert.ok(m.significance !== null);
    assert.deepEqual(Object.keys(m.stageLatency!), m.name.split(' > '));
    assert.ok(typeof m.mean['ndcg@10'] === 'number');
  }
  const text = plait('eval', indexDir, '--queries', path.join(dir, 'queries.jsonl'), '--qrels', path.join(dir, 'qrels.tsv'), '--modes', 'bm25', '--depth', '10', '--pipelines', 'bm25:8 > late:5');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /per-stage latency[^\n]*\n\s+bm25:8 > late:5: bm25:8 [\d.]+ ms/);
});
