/**
 * The ltr stage over a small index (tiny ColBERT model, tiny cross-encoder): features against the
 * index's own scores (and the scores earlier stages leave on candidates against recomputed ones),
 * the order a hand-written model's trees imply, coded errors for a missing model and a missing
 * cross stage, and `plait ltr train` → search / eval / explain end to end through the CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { CrossEncoder } from '../src/rerank/cross-encoder/index.js';
import { SearchPipeline } from '../src/pipeline/index.js';
import { LtrModel, LTR_MODEL_FORMAT } from '../src/ltr/ltr-model.js';
import { explainLtr } from '../src/ltr/explain-ltr.js';
import { computeFeatures, featureNames } from '../src/ltr/features.js';
import { bm25Length } from '../src/docstore/bm25-terms.js';
import { indexText } from '../src/indexer/index-text.js';
import { isPlaitError } from '../src/errors/index.js';
import { mulberry32 } from '../src/util/random.js';
import { makeTinyColbert, tinyVocab } from '../fixtures/tiny-colbert.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';
import { handModel, type HandNode } from './helpers/xgboost-model.js';
import { needsXgboost } from './helpers/requirements.js';
import { runPlait } from './helpers/cli.js';
import { postJson } from './helpers/server-fixture.js';
import { Engine, resolveServerOptions, serveEngine } from '../src/server/index.js';
import { Reranker } from '../src/rerank/reranker.js';

const WORDS = tinyVocab().filter((t) => /^[a-z]{3,}$/.test(t));
const QUERY = 'protein gene blood cancer study';

let root: string;
let index: PlaitIndex;
let cross: CrossEncoder;
const YEAR = new Map<string, number>();

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-ltr-'));
  const rand = mulberry32(5);
  const pick = (n: number): string => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(' ');
  const docs = Array.from({ length: 60 }, (_, i) => {
    const meta = i % 4 === 3 ? undefined : { year: 1990 + (i % 30) };
    if (meta !== undefined) YEAR.set(`d${i}`, meta.year);
    return { _id: `d${i}`, title: i % 3 === 0 ? pick(2) : '', text: `${i % 5 === 0 ? QUERY.split(' ')[i % 4] : ''} ${pick(i % 15 === 4 ? 400 : 5 + Math.floor(rand() * 30))}`, ...(meta === undefined ? {} : { metadata: meta }) };
  });
  await writeFile(path.join(root, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
  const model = path.join(root, 'colbert');
  await makeTinyColbert(model, { dim: 16 });
  await buildIndex(path.join(root, 'corpus.jsonl'), { index: path.join(root, 'indexes', 'tiny'), model, encoderOptions: { threads: 0 } });
  index = await openIndex(path.join(root, 'indexes', 'tiny'), { encoderOptions: { threads: 0 } });
  await makeTinyCrossEncoder(path.join(root, 'cross'), { seed: 17 });
  cross = await CrossEncoder.create(path.join(root, 'cross'), { threads: 0 });
});

after(async () => {
  await cross?.close();
  await index?.close();
  await rm(root, { recursive: true, force: true });
});

function modelOf(features: string[], trees: HandNode[]): LtrModel {
  return LtrModel.fromJSON({ format: LTR_MODEL_FORMAT, version: 1, featureSet: 1, features, candidates: 'hybrid:30', xgboost: handModel(features.length, trees, 0) });
}

describe('features', () => {
  test('each feature equals the index\'s own score of the document', async () => {
    const names = featureNames(['year'], true);
    const { hits } = await index.search(QUERY, { mode: 'hybrid', topK: 25 });
    const list = hits.map((h) => ({ docId: h.docId }));
    const rows = await computeFeatures(index, QUERY, list, names);
    const col = (name: string, i: number): number => rows[i * names.length + names.indexOf(name)]!;
    const bm25 = new Map(index.docstore.bm25(QUERY, 1000).map((h) => [h.docId, h.score] as const));
    const withIdf = new Map((await index.rerank(QUERY, list.map((c) => c.docId), { idfWeighting: true })).map((h) => [h.docId, h] as const));
    const plain = new Map((await index.rerank(QUERY, list.map((c) => c.docId), { idfWeighting: false })).map((h) => [h.docId, h] as const));
    const qLen = (await index.encoder()).rows(QUERY, 'query').length;
    const f32 = Math.fround;
    list.forEach((c, i) => {
      assert.equal(col('bm25', i), f32(bm25.get(c.docId) ?? 0));
      assert.equal(col('late_idf', i), f32(withIdf.get(c.docId)!.score / qLen));
      assert.equal(col('late_plain', i), f32(plain.get(c.docId)!.score / qLen));
      assert.equal(col('query_length', i), qLen);
      const doc = index.docstore.getDocument(c.docId)!;
      assert.equal(col('doc_length', i), bm25Length(indexText(doc.title, doc.text)));
      const passages = index.docstore.passagesOf(doc.docRowid);
      assert.equal(col('best_passage', i), passages.findIndex((p) => p.pid === withIdf.get(c.docId)!.pid));
      assert.ok(Number.isNaN(col('cross', i)), 'no cross stage ran');
      assert.ok(YEAR.has(c.docId) ? col('meta:year', i) === YEAR.get(c.docId) : Number.isNaN(col('meta:year', i)));
    });
    // Ranks are 1..n within the list, ordered by their scores.
    for (const [rank, score] of [['bm25_rank', 'bm25'], ['late_rank', 'late_idf']] as const) {
      const ranks = list.map((_, i) => col(rank, i));
      assert.deepEqual([...ranks].sort((a, b) => a - b), list.map((_, i) => i + 1));
      for (let i = 0; i < list.length; i++) for (let j = 0; j < list.length; j++) if (col(score, i) > col(score, j)) assert.ok(col(rank, i) < col(rank, j));
    }
    assert.ok(list.some((_, i) => col('best_passage', i) > 0), 'a long document is best matched past its first window');
  });

  test('scores left by earlier stages equal the ones the ltr stage would compute', async () => {
    const names = featureNames([], true);
    for (const spec of ['bm25:40 > late:25', 'late:40 > hybrid:25', 'hybrid:40 > bm25:25 > cross:20']) {
      const pipeline = new SearchPipeline(index, spec, spec.includes('cross') ? { crossEncoder: cross } : {});
      const carried = await pipeline.candidates(QUERY);
      assert.ok(carried.every((c) => c.signals !== undefined), spec);
      const bare = carried.map((c) => ({ docId: c.docId, ...(c.signals?.cross === undefined ? {} : { signals: { cross: c.signals.cross } }) }));
      assert.deepEqual(await computeFeatures(index, QUERY, carried, names), await computeFeatures(index, QUERY, bare, names), spec);
    }
  });
});

describe('the ltr stage', () => {
  // Short documents first (+1), then the three best by BM25 among the candidates (+0.5).
  const TREES: HandNode[] = [
    { f: 0, t: 20, l: { leaf: 1 }, r: { leaf: -1 } },
    { f: 1, t: 3.5, l: { leaf: 0.5 }, r: { leaf: 0 } },
  ];

  test('orders candidates as its trees imply, ties in the previous stage\'s order', async () => {
    const model = modelOf(['doc_length', 'bm25_rank'], TREES);
    const before = await new SearchPipeline(index, 'hybrid:30').run(QUERY);
    const after = await new SearchPipeline(index, 'hybrid:30 > ltr:30', { ltrModel: model }).run(QUERY);
    assert.equal(after.orderedBy, 'ltr:30');
    const ids = before.hits.map((h) => h.docId);
    const bm25 = new Map(index.docstore.bm25(QUERY, 1000).map((h) => [h.docId, h.score] as const));
    const byBm25 = [...ids].map((id, i) => ({ id, i, s: bm25.get(id) ?? 0 })).sort((a, b) => b.s - a.s || a.i - b.i);
    const top3 = new Set(byBm25.slice(0, 3).map((d) => d.id));
    const score = (id: string): number => {
      const d = index.docstore.getDocument(id)!;
      return (bm25Length(indexText(d.title, d.text)) < 20 ? 1 : -1) + (top3.has(id) ? 0.5 : 0);
    };
    const expected = ids.map((id, i) => ({ id, i, s: score(id) })).sort((a, b) => b.s - a.s || a.i - b.i);
    assert.deepEqual(after.hits.map((h) => h.docId), expected.map((e) => e.id));
    assert.deepEqual(after.hits.map((h) => h.score), expected.map((e) => e.s));
    assert.ok(new Set(expected.map((e) => e.s)).size >= 3, 'the trees separate the candidates');
    const cut = await new SearchPipeline(index, 'hybrid:30 > ltr:5', { ltrModel: model }).run(QUERY);
    assert.deepEqual(cut.hits.map((h) => h.docId), expected.slice(0, 5).map((e) => e.id));
  });

  test('a pipeline with an ltr stage and no model, or ltr first, is INVALID_ARGUMENT', () => {
    assert.throws(() => new SearchPipeline(index, 'bm25:30 > ltr:10'), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /ranking model/.test(e.message));
    assert.throws(() => new SearchPipeline(index, 'ltr:10', { ltrModel: modelOf(['bm25'], [{ leaf: 1 }]) }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /ltr.*re-scores a list/.test(e.message));
  });

  test('a model that reads the cross-encoder score needs a cross stage before it (LTR_FEATURE_MISSING)', async () => {
    const model = modelOf(['cross', 'bm25'], [{ f: 0, t: 0, dl: false, l: { leaf: -1 }, r: { leaf: 1 } }]);
    assert.equal(model.needsCross, true);
    assert.throws(
      () => new SearchPipeline(index, 'hybrid:30 > ltr:10 > cross:5', { ltrModel: model, crossEncoder: cross }),
      (e: unknown) => isPlaitError(e, 'LTR_FEATURE_MISSING') && e.details?.feature === 'cross',
    );
    const r = await new SearchPipeline(index, 'hybrid:30 > cross:20 > ltr:10', { ltrModel: model, crossEncoder: cross }).run(QUERY);
    const crossScores = await new SearchPipeline(index, 'hybrid:30 > cross:20', { crossEncoder: cross }).run(QUERY);
    const positive = new Set(crossScores.hits.filter((h) => Math.fround(h.score) >= 0).map((h) => h.docId));
    // The stump sends cross ≥ 0 right (+1): those documents lead.
    assert.deepEqual(new Set(r.hits.slice(0, Math.min(10, positive.size)).map((h) => h.docId)), new Set([...positive].slice(0, 10)));
  });
});

/** Two servers over the same index and reranker: one holding `model` as its ranking model, one without. */
async function serveWithAndWithout(model: LtrModel): Promise<{ withModel: Awaited<ReturnType<typeof serveEngine>>; without: Awaited<ReturnType<typeof serveEngine>> }> {
  const reranker = await Reranker.create({ encoder: await index.encoder() });
  const options = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false }, {});
  const parts = { indexes: [{ name: 'tiny', index, borrowed: true }], rerankers: [{ names: ['tiny'], reranker, borrowed: true }] };
  return { withModel: await serveEngine(new Engine({ ...parts, ltrModel: model }, options)), without: await serveEngine(new Engine(parts, options)) };
}

describe('the server', () => {
  test('a pipeline with an ltr stage over HTTP equals the library\'s; without a served model it is a 400', async () => {
    const model = modelOf(['doc_length', 'bm25_rank'], [
      { f: 0, t: 20, l: { leaf: 1 }, r: { leaf: -1 } },
      { f: 1, t: 3.5, l: { leaf: 0.5 }, r: { leaf: 0 } },
    ]);
    const { withModel, without } = await serveWithAndWithout(model);
    try {
      const r = await postJson(`${withModel.url}/v1/indexes/tiny/search`, { query: QUERY, pipeline: 'hybrid:30 > ltr:5' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const lib = await new SearchPipeline(index, 'hybrid:30 > ltr:5', { ltrModel: model }).run(QUERY);
      const hits = (r.body.results?.[0] ?? r.body).hits as Array<{ doc_id: string; score: number }>;
      assert.deepEqual(hits.map((h) => h.doc_id), lib.hits.map((h) => h.docId));
      assert.deepEqual(hits.map((h) => h.score), lib.hits.map((h) => h.score));
      const refused = await postJson(`${without.url}/v1/indexes/tiny/search`, { query: QUERY, pipeline: 'hybrid:30 > ltr:5' });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'INVALID_ARGUMENT');
    } finally {
      await withModel.close();
      await without.close();
    }
  });
});

describe('explaining the served model over HTTP', () => {
  test('POST /explain with "ltr": true equals plait explain --ltr-model --json in snake_case, and sums to the served score', async () => {
    // Before: the route had no way to explain the served ranking model ("ltr" was refused as an unknown field).
    const model = modelOf(['doc_length', 'bm25_rank', 'late_idf'], [
      { f: 0, t: 20, l: { leaf: 1 }, r: { leaf: -1 } },
      { f: 1, t: 3.5, l: { f: 2, t: 0.5, l: { leaf: 0.25 }, r: { leaf: 0.75 } }, r: { leaf: 0 } },
    ]);
    const file = path.join(root, 'served-ltr.json');
    await writeFile(file, JSON.stringify(model.file));
    const { withModel, without } = await serveWithAndWithout(model);
    try {
      const served = await postJson(`${withModel.url}/v1/indexes/tiny/search`, { query: QUERY, pipeline: 'hybrid:30 > ltr:5' });
      assert.equal(served.status, 200, JSON.stringify(served.body));
      const hit = (served.body.results[0].hits as Array<{ doc_id: string; score: number; rank: number }>)[1]!;
      const r = await postJson(`${withModel.url}/v1/indexes/tiny/explain`, { query: QUERY, doc_id: hit.doc_id, ltr: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const cli = runPlait(root, ['explain', 'tiny', QUERY, hit.doc_id, '--ltr-model', file, '--json']);
      assert.equal(cli.code, 0, cli.stderr);
      const c = JSON.parse(cli.stdout) as { query: string; docId: string; candidates: string; inCandidates: boolean; rank: number; score: number; bias: number; features: unknown[] };
      assert.deepEqual(r.body, { query: c.query, doc_id: c.docId, candidates: c.candidates, in_candidates: c.inCandidates, rank: c.rank, score: c.score, bias: c.bias, features: c.features });
      assert.equal(r.body.rank, hit.rank);
      assert.ok(Math.abs(r.body.score - hit.score) < 1e-6, `${r.body.score} vs served ${hit.score}`);
      const sum = r.body.bias + (r.body.features as Array<{ contribution: number }>).reduce((s: number, f) => s + f.contribution, 0);
      assert.ok(Math.abs(sum - hit.score) < 1e-5);
      // Fields the ltr explanation would ignore, and a server with no model, are 400 INVALID_ARGUMENT naming the field.
      for (const [body, name] of [[{ pid: 0 }, 'pid'], [{ doc_id: hit.doc_id, mode: 'late' }, 'mode'], [{ doc_id: hit.doc_id, candidates: 'bm25:10', ltr: false }, 'candidates']] as const) {
        const bad = await postJson(`${withModel.url}/v1/indexes/tiny/explain`, { query: QUERY, ltr: true, ...body });
        assert.equal(bad.status, 400, JSON.stringify(bad.body));
        assert.equal(bad.body.error.details.name, name);
      }
      const none = await postJson(`${without.url}/v1/indexes/tiny/explain`, { query: QUERY, doc_id: hit.doc_id, ltr: true });
      assert.equal(none.status, 400);
      assert.equal(none.body.error.details.reason, 'noLtrModel');
      // Cancelled before anything runs: explainLtr checks its signal first.
      await assert.rejects(explainLtr(index, model, QUERY, hit.doc_id, { signal: AbortSignal.abort() }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    } finally {
      await withModel.close();
      await without.close();
    }
  });
});

describe('plait ltr train, search, eval and explain', () => {
  test('train writes a model that search, eval and explain use', { skip: needsXgboost() }, async () => {
    // Judgments: the documents holding a query word are relevant (grade 2 when they hold two).
    const queries = ['protein gene', 'blood cancer', 'gene study', 'protein blood', 'cancer study', 'gene blood', 'study protein', 'cancer gene'];
    const docs = index.docstore.getDocuments(Array.from({ length: 60 }, (_, i) => `d${i}`));
    const qrels: string[] = ['query-id\tcorpus-id\tscore'];
    queries.forEach((q, k) => {
      for (const d of docs) {
        const words = new Set(`${d!.title} ${d!.text}`.split(/\s+/));
        const hits = q.split(' ').filter((w) => words.has(w)).length;
        if (hits > 0) qrels.push(`q${k}\t${d!.docId}\t${hits}`);
      }
    });
    await writeFile(path.join(root, 'queries.tsv'), queries.map((q, k) => `q${k}\t${q}`).join('\n'));
    await writeFile(path.join(root, 'qrels.tsv'), qrels.join('\n'));
    const out = path.join(root, 'model.json');
    const train = runPlait(root, ['ltr', 'train', 'tiny', '--queries', 'queries.tsv', '--qrels', 'qrels.tsv', '--out', out, '--pipeline', 'hybrid:30', '--features', 'year', '--max-rounds', '20', '--valid-fraction', '0.25', '--json']);
    assert.equal(train.code, 0, train.stderr);
    const record = JSON.parse(train.stdout) as { features: string[]; training: { rounds: number; trainQueries: number; validQueries: number } };
    assert.deepEqual(record.features, featureNames(['year']));
    assert.equal(record.training.trainQueries + record.training.validQueries, 8);
    const model = await LtrModel.load(out);
    assert.equal(model.file.candidates, 'hybrid:30');
    // The index it learnt from is recorded (ltr-index-identity.test.ts covers another index's warning).
    assert.deepEqual({ index: model.file.trainedOn?.index, documents: model.file.trainedOn?.documents }, { index: 'tiny', documents: 60 });
    assert.equal(model.trees.trees.length, record.training.rounds);

    const search = runPlait(root, ['search', 'tiny', QUERY, '--pipeline', 'hybrid:30 > ltr:5', '--ltr-model', out, '--json']);
    assert.equal(search.code, 0, search.stderr);
    const result = JSON.parse(search.stdout) as { hits: Array<{ docId: string; score: number }>; orderedBy: string };
    assert.equal(result.orderedBy, 'ltr:5');
    assert.doesNotMatch(search.stderr, /warning/); // its own index
    const lib = await new SearchPipeline(index, 'hybrid:30 > ltr:5', { ltrModel: model }).run(QUERY);
    assert.deepEqual(result.hits.map((h) => h.docId), lib.hits.map((h) => h.docId));

    const top = lib.hits[0]!;
    const explain = runPlait(root, ['explain', 'tiny', QUERY, top.docId, '--ltr-model', out, '--json']);
    assert.equal(explain.code, 0, explain.stderr);
    const ex = JSON.parse(explain.stdout) as { score: number; bias: number; rank: number; features: Array<{ name: string; contribution: number }> };
    assert.equal(ex.rank, 1);
    assert.ok(Math.abs(ex.score - top.score) < 1e-6);
    assert.ok(Math.abs(ex.bias + ex.features.reduce((s, f) => s + f.contribution, 0) - ex.score) < 1e-5);
    const text = runPlait(root, ['explain', 'tiny', QUERY, top.docId, '--ltr-model', out]);
    assert.match(text.stdout, /ranking-model score: .* = bias .* contributions \(per-tree path gains\)\n.*\n\nfeature +value +contribution\n/);

    const evalRun = runPlait(root, ['eval', 'tiny', '--queries', 'queries.tsv', '--qrels', 'qrels.tsv', '--modes', 'bm25', '--pipelines', 'hybrid:30 > ltr:10', '--ltr-model', out, '--json', '-q']);
    assert.equal(evalRun.code, 0, evalRun.stderr);
    assert.match(evalRun.stdout, /hybrid:30 > ltr:10/);

    const missing = runPlait(root, ['search', 'tiny', QUERY, '--pipeline', 'hybrid:30 > ltr:5']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ranking model/);
    await writeFile(path.join(root, 'broken.json'), (await readFile(out, 'utf8')).replace('"featureSet":1', '"featureSet":9'));
    const broken = runPlait(root, ['search', 'tiny', QUERY, '--pipeline', 'hybrid:30 > ltr:5', '--ltr-model', path.join(root, 'broken.json'), '--json']);
    assert.equal(broken.code, 2);
    assert.match(broken.stdout + broken.stderr, /LTR_MODEL_INVALID/);
  });
});
