/**
 * A ranking model records the index it was trained on, and says so when it runs on another (a
 * cranfield model ran on cisi without a word). The record is the index's identity
 * (format/index-identity.ts): it must survive the index's own adds and compactions and differ
 * for another build. Another index is a warning — in the pipeline's results, as a
 * `plait: warning:` line, in the server's start — not a refusal; a file without the record loads
 * and runs as before; a malformed record, or trees that disagree with the feature list, stay
 * refusals. Indexes: the sample corpus (40 documents) and its first 20 (another collection),
 * bundled model, in-process encoder; hand-written trees (no XGBoost needed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addCorpus, buildIndex, compactIndex, openIndex, readManifest, type PlaitIndex } from '../src/index.js';
import { SearchPipeline } from '../src/pipeline/index.js';
import { LtrModel, LTR_MODEL_FORMAT, ltrTrainedOn, type LtrTrainedOn } from '../src/ltr/ltr-model.js';
import { collectLtrGroups } from '../src/ltr/train-ltr.js';
import { featureNames } from '../src/ltr/features.js';
import { indexIdentityOf } from '../src/format/index-identity.js';
import { isPlaitError } from '../src/errors/index.js';
import { openEngine, resolveServerOptions, startServer } from '../src/server/index.js';
import { handModel } from './helpers/xgboost-model.js';
import { runPlait } from './helpers/cli.js';
import { SAMPLE, postJson } from './helpers/server-fixture.js';
import { startPlaitServe } from './helpers/plait-serve.js';

const QUERY = 'why does bread rise';
let dir: string;
let pathA: string;
let pathB: string;
let a: PlaitIndex;
let b: PlaitIndex;
let trainedOn: LtrTrainedOn;
const FEATURES = featureNames();

function modelJson(record?: unknown, nFeatures = FEATURES.length): Record<string, unknown> {
  // One split on bm25 (feature 0): the model ranks by BM25, two leaves.
  return {
    format: LTR_MODEL_FORMAT, version: 1, featureSet: 1, features: FEATURES, candidates: 'bm25:20',
    ...(record === undefined ? {} : { trainedOn: record }),
    xgboost: handModel(nFeatures, [{ f: 0, t: 1, l: { leaf: -1 }, r: { leaf: 1 } }], 0),
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-ltr-identity-'));
  pathA = join(dir, 'indexes', 'sample');
  pathB = join(dir, 'indexes', 'half');
  const half = join(dir, 'half.jsonl');
  writeFileSync(half, readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, 20).join('\n'));
  await buildIndex(SAMPLE, { index: pathA, encoderOptions: { threads: 0 } });
  await buildIndex(half, { index: pathB, encoderOptions: { threads: 0 } });
  a = await openIndex(pathA, { workers: 0, encoderOptions: { threads: 0 } });
  b = await openIndex(pathB, { workers: 0, encoderOptions: { threads: 0 } });
  trainedOn = ltrTrainedOn(pathA, a.manifest);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson(trainedOn)));
});

after(async () => {
  await a?.close();
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('collectLtrGroups records the index it read; the record names it and its identity', async () => {
  const { trainedOn: got } = await collectLtrGroups(a, [{ id: 'q1', text: QUERY }], new Map([['q1', new Map([['bread-yeast', 1]])]]), { candidates: 'bm25:5' });
  assert.deepEqual(got, { identity: indexIdentityOf(a.manifest), index: 'sample', documents: 40, model: a.manifest.model.name });
  assert.match(got.identity, /^[0-9a-f]{16}$/);
});

test('the identity survives adds and compaction of the same index, and differs for another build', async () => {
  const copy = join(dir, 'living');
  cpSync(pathA, copy, { recursive: true });
  const extra = join(dir, 'extra.jsonl');
  writeFileSync(extra, `${JSON.stringify({ _id: 'new-doc', title: 'Sourdough', text: 'A sourdough starter keeps wild yeast and lactic bacteria alive in flour and water.' })}\n`);
  await addCorpus(copy, extra, { encoderOptions: { threads: 0 } });
  const added = readManifest(copy);
  assert.equal(added.counts.documents, 41);
  assert.notEqual(added.commit, a.manifest.commit);
  assert.equal(indexIdentityOf(added), trainedOn.identity);
  const compacted = compactIndex(copy);
  assert.equal(indexIdentityOf(compacted), trainedOn.identity);
  const model = LtrModel.fromJSON(modelJson(trainedOn));
  assert.equal(model.indexWarning(compacted), null);
  assert.notEqual(indexIdentityOf(b.manifest), trainedOn.identity);
});

test('on another index the pipeline runs and warns in every result; on its own index, or without a record, nothing is said', async () => {
  const model = LtrModel.fromJSON(modelJson(trainedOn));
  const other = new SearchPipeline(b, 'bm25:20 > ltr:3', { ltrModel: model });
  assert.equal(other.warnings.length, 1);
  assert.match(other.warnings[0]!, /trained on index "sample" \(40 documents, .*\), not on this index \(20 documents/);
  // Both indexes named the same way, identity inside the parentheses (it read "not on this index (20 documents, …), identity …").
  assert.match(other.warnings[0]!, /trained on index "sample" \(40 documents, [^;()]+; identity [0-9a-f]{16}\), not on this index \(20 documents, [^;()]+; identity [0-9a-f]{16}\): /);
  const r = await other.run(QUERY);
  assert.equal(r.hits.length, 3);
  assert.deepEqual(r.warnings, other.warnings);
  const own = await new SearchPipeline(a, 'bm25:20 > ltr:3', { ltrModel: model }).run(QUERY);
  assert.equal(own.warnings, undefined);
  // A model file written before the record: loads, runs, says nothing.
  const old = await new SearchPipeline(b, 'bm25:20 > ltr:3', { ltrModel: LtrModel.fromJSON(modelJson()) }).run(QUERY);
  assert.equal(old.warnings, undefined);
  assert.deepEqual(old.hits.map((h) => h.docId), r.hits.map((h) => h.docId));
  // No ltr stage: the model would reach no stage, and is refused (pipeline-settings.ts).
  assert.throws(() => new SearchPipeline(b, 'bm25:20', { ltrModel: model }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['name'] === 'ltrModel');
});

test('a malformed record, and trees that disagree with the features, are still refused', () => {
  assert.throws(() => LtrModel.fromJSON(modelJson({ identity: 7 })), (e) => isPlaitError(e, 'LTR_MODEL_INVALID') && /trainedOn/.test(e.message));
  assert.throws(() => LtrModel.fromJSON(modelJson(trainedOn, FEATURES.length + 1)), (e) => isPlaitError(e, 'LTR_MODEL_INVALID') && /features/.test(e.message));
});

test('plait search --ltr-model prints a warning on another index and none on its own', () => {
  const args = (index: string): string[] => ['search', index, QUERY, '--pipeline', 'bm25:20 > ltr:3', '--ltr-model', join(dir, 'model.json'), '--json'];
  const other = runPlait(dir, args('half'));
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stderr, /^plait: warning: .*model\.json: the ranking model was trained on index "sample"/m);
  assert.equal((JSON.parse(other.stdout) as { hits: unknown[] }).hits.length, 3);
  const own = runPlait(dir, args('sample'));
  assert.equal(own.code, 0, own.stderr);
  assert.doesNotMatch(own.stderr, /warning/);
});

test('the server says it once at start, for each served index the model was not trained on', async () => {
  const engine = await openEngine([pathA, pathB], resolveServerOptions({ ltrModel: join(dir, 'model.json'), scoringWorkers: 0, encoderThreads: 0 }));
  try {
    assert.deepEqual(engine.ltrWarnings.map((w) => w.index), ['half']);
    assert.match(engine.ltrWarnings[0]!.message, /trained on index "sample"/);
  } finally {
    await engine.close();
  }
});

test('an HTTP search answer of an ltr pipeline carries the warning, on the index the model was not trained on only (a client never saw the start-up log)', async () => {
  const server = await startServer([pathA, pathB], { port: 0, ltrModel: join(dir, 'model.json'), scoringWorkers: 0, encoderThreads: 0, logLevel: false });
  try {
    const search = (index: string, body: Record<string, unknown>) => postJson(`${server.url}/v1/indexes/${index}/search`, body);
    const other = await search('half', { queries: [QUERY, 'yeast'], pipeline: 'bm25:20 > ltr:3' });
    assert.equal(other.status, 200, JSON.stringify(other.body));
    for (const r of other.body.results) {
      assert.ok(r.hits.length > 0);
      assert.equal(r.warnings.length, 1);
      assert.equal(r.warnings[0].code, 'LTR_MODEL_OTHER_INDEX');
      assert.match(r.warnings[0].message, /^the ranking model was trained on index "sample" .*retrain it on this index/);
    }
    const own = await search('sample', { query: QUERY, pipeline: 'bm25:20 > ltr:3' });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(own.body.results[0].warnings, undefined);
    // A pipeline without the ltr stage does not use the model: nothing to say.
    const plain = await search('half', { query: QUERY, pipeline: 'bm25:20 > late:3' });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.equal(plain.body.results[0].warnings, undefined);
  } finally {
    await server.close();
  }
});

test('plait serve logs the warning at start, as a warn line naming the index', async () => {
  const server = await startPlaitServe([pathB, '--ltr-model', join(dir, 'model.json')]);
  try {
    const line = await server.logged((o: { msg?: string }) => typeof o.msg === 'string' && /trained on index "sample"/.test(o.msg));
    assert.equal(line.level, 40);
    assert.equal(line.index, 'half');
  } finally {
    await server.stop();
  }
});
