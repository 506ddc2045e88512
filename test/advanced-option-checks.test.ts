/**
 * Careless input to the advanced features (trial 7): a typo in an option key of a pipeline, its
 * stage search options or run options, calibration, LTR training and query rewriting is refused
 * with the nearest known key, before any work — each used to be ignored, so the caller got the
 * defaults without a word (`calibrateIndex(index, { maxCostRation: 2 })` calibrated under the
 * default ceiling and wrote the record). And the CLI refuses a model flag without the stage that
 * uses it (`plait search --ltr-model m.json` without an ltr stage searched without the model), and
 * checks `plait eval --pipelines` before the modes run rather than after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { SearchPipeline, runPipeline } from '../src/pipeline/search-pipeline.js';
import { parsePipeline } from '../src/pipeline/pipeline-spec.js';
import { calibrateIndex } from '../src/calibrate/calibrate-index.js';
import { collectLtrGroups, trainLtrModel } from '../src/ltr/train-ltr.js';
import { readManifest } from '../src/format/index-reader.js';
import { isPlaitError } from '../src/errors/index.js';
import { runPlait } from './helpers/cli.js';

const DIM = 16;
let dir: string;
let path: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-advopts-'));
  path = join(dir, 'idx');
  await buildSynthetic(path, syntheticPassages(20, DIM, 5, 32, 0.35).passages, DIM);
  index = await openIndex(path);
});
after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An INVALID_ARGUMENT naming the unknown key, and the suggestion when one is expected. */
function refused(key: string, suggestion?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'), String(e));
    assert.match(e.message, new RegExp(`unknown .*"${key}"`));
    assert.equal(e.details?.suggestion, suggestion);
    return true;
  };
}

test('pipeline options: the constructor, its search options, run and runPipeline refuse unknown keys with the nearest one', async () => {
  assert.throws(() => new SearchPipeline(index, 'bm25:10', { ltrmodel: {} } as never), refused('ltrmodel', 'ltrModel'));
  assert.throws(() => new SearchPipeline(index, 'bm25:10', { crossencoder: {} } as never), refused('crossencoder', 'crossEncoder'));
  assert.throws(() => new SearchPipeline(index, 'bm25:10', { search: { nIvfProbes: 4 } } as never), refused('nIvfProbes', 'nIvfProbe'));
  // Nothing close: the known keys are listed instead.
  assert.throws(() => new SearchPipeline(index, 'bm25:10', { search: { ncells: 4 } } as never), (e: unknown) => refused('ncells')(e) && /known: nIvfProbe/.test((e as Error).message));
  const pipeline = new SearchPipeline(index, 'late:10', { search: { nIvfProbe: 2 } });
  await assert.rejects(pipeline.run('x', { includetext: true } as never), refused('includetext', 'includeText'));
  await assert.rejects(runPipeline(index, 'x', 'bm25:10', { includeTxt: true } as never), refused('includeTxt', 'includeText'));
});

test('calibrateIndex refuses an unknown option or grid key before any work, and writes nothing', async () => {
  await assert.rejects(calibrateIndex(index, { maxCostRation: 2, budgetS: 1 } as never), refused('maxCostRation', 'maxCostRatio'));
  await assert.rejects(calibrateIndex(index, { budgetS: 1, grid: { nIvfProbes: [1, 2] } } as never), refused('nIvfProbes', 'nIvfProbe'));
  assert.equal(readManifest(path).calibration, undefined, 'no record was written');
});

test('LTR: collectLtrGroups and trainLtrModel refuse unknown option keys', async () => {
  await assert.rejects(collectLtrGroups(index, [{ id: 'q', text: 'x' }], new Map(), { candidate: 'bm25:10' } as never), refused('candidate', 'candidates'));
  await assert.rejects(trainLtrModel([], ['bm25'], 'bm25:10', { maxdepth: 3 } as never), refused('maxdepth', 'maxDepth'));
  // A candidate pipeline ending in an ltr stage: the advice is to give the stages before it, not a ranking model.
  await assert.rejects(collectLtrGroups(index, [], new Map(), { candidates: 'bm25:10 > ltr:5' }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /"bm25:10 > ltr:5" has an ltr stage \(give the stages before it\)/.test(e.message));
  // Arguments of the wrong shape are named (a Map of queries had failed as "queries.filter is not a function").
  await assert.rejects(collectLtrGroups(index, new Map() as never, new Map()), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /queries must be an array/.test(e.message));
  await assert.rejects(collectLtrGroups(index, [], {} as never), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /qrels must be a Map/.test(e.message));
});

test('the CLI refuses --ltr-model / --cross-encoder without their stage and a stage without its model, in search and before eval runs its modes', () => {
  writeFileSync(join(dir, 'model.json'), '{}');
  writeFileSync(join(dir, 'q.tsv'), 'q1\tx\n');
  writeFileSync(join(dir, 'qrels.tsv'), 'q1\t0\td1\t1\n');
  const cases: [string[], RegExp][] = [
    [['search', path, 'x', '--ltr-model', join(dir, 'model.json')], /--ltr-model needs --pipeline with an ltr stage/],
    [['search', path, 'x', '--pipeline', 'bm25:10', '--ltr-model', join(dir, 'model.json')], /--ltr-model needs --pipeline with an ltr stage/],
    [['search', path, 'x', '--pipeline', 'bm25:10', '--cross-encoder', join(dir, 'no-such-model')], /--cross-encoder needs --pipeline with a cross stage/],
    [['search', path, 'x', '--pipeline', 'bm25:10 > ltr:5'], /--pipeline has an ltr stage; give its ranking model with --ltr-model/],
    // ltr train: a cross-encoder without a cross stage in the candidates was loaded and not used.
    [['ltr', 'train', path, '--queries', join(dir, 'q.tsv'), '--qrels', join(dir, 'qrels.tsv'), '--out', join(dir, 'm.json'), '--cross-encoder', join(dir, 'no-such-model')], /--cross-encoder needs --pipeline with a cross stage.*the candidates are "hybrid:100"/],
    [['eval', path, '--queries', join(dir, 'q.tsv'), '--qrels', join(dir, 'qrels.tsv'), '--modes', 'bm25', '--ltr-model', join(dir, 'model.json')], /--ltr-model needs --pipelines with an ltr stage/],
    [['eval', path, '--queries', join(dir, 'q.tsv'), '--qrels', join(dir, 'qrels.tsv'), '--modes', 'bm25', '--pipelines', 'bm25:10; bm25:10 > ltr:5'], /--pipelines has an ltr stage/],
    // A typo in the second spec is found before the modes run (their progress never starts).
    [['eval', path, '--queries', join(dir, 'q.tsv'), '--qrels', join(dir, 'qrels.tsv'), '--modes', 'bm25', '--pipelines', 'bm25:10; bm2:10'], /unknown stage "bm2"/],
  ];
  for (const [args, message] of cases) {
    const r = runPlait(dir, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, /INVALID_ARGUMENT/);
    assert.doesNotMatch(r.stderr, /"phase"/, 'refused before any search ran');
  }
});

test('plait search --pipeline warns about a query it cannot search, as a one-mode search does', () => {
  for (const [query, reason] of [['', 'the query is empty \\(empty-query\\)'], ['!!!', 'the query has no letter or digit \\(no-content\\)']] as const) {
    const r = runPlait(dir, ['search', path, query, '--pipeline', 'bm25:10']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'no hits');
    assert.match(r.stderr, new RegExp(`plait: warning: nothing to search: ${reason}`));
  }
});

test('a pipeline depth is decimal digits: hex, exponent, fraction and sign are refused whole, naming what came', () => {
  for (const [spec, found] of [['bm25:0x10 > late:10', '0x10'], ['bm25:1e3', '1e3'], ['late:2.5', '2.5'], ['bm25:-10', '-10'], ['bm25:10abc', '10abc']]) {
    assert.throws(() => parsePipeline(spec!), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && (e as Error).message.includes(`expected a positive integer depth after`) && (e as Error).message.includes(`but found "${found}"`), spec);
  }
  assert.deepEqual(parsePipeline('bm25:0100 > late:10@150ms').map((s) => s.depth), [100, 10]);
});

