/**
 * Which search option applies where (src/search/option-scope.ts), end to end: every row of the
 * rule's table through the library, HTTP and the CLI, against a decision written down here apart
 * from the table (EXPECTED: the shapes each option acts in). Two new-user trials had found
 * `index.search(q, { mode: 'bm25', nIvfProbe: 4 })` and HTTP `{"mode": "bm25", "n_ivf_probe": 4}`
 * accepted and ignored while `plait search --mode bm25 --ncells 4` refused. EXPECTED and
 * LIBRARY_VALUE are typed over the table's keys, so a new option cannot reach the table without a
 * decision here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';
import { CircuitBreaker, PlaitError, SearchPipeline, isPlaitError, type SearchOptions } from '../src/index.js';
import { SEARCH_OPTION_RULES, applicableSearchOptions, type RuledOption } from '../src/search/option-scope.js';
import { STAGE_SEARCH_OPTION_KEYS } from '../src/pipeline/stages.js';
import type { RunningServer } from '../src/server/index.js';

const QUERY = 'why does bread dough rise with yeast';
let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-option-scope-');
  server = await serve(sample);
});

after(async () => {
  await server.close();
  await sample.dispose();
});

/** The searches each option is tried in; `default` gives no mode (the bundled model's profile: hybrid). */
const SHAPES = {
  late: { mode: 'late' },
  exhaustive: { mode: 'late', exhaustive: true },
  bm25: { mode: 'bm25' },
  hybrid: { mode: 'hybrid' },
  'hybrid-rrf': { mode: 'hybrid', fusion: 'rrf' },
  default: {},
} as const satisfies Record<string, SearchOptions>;
type Shape = keyof typeof SHAPES;
const ALL: readonly Shape[] = Object.keys(SHAPES) as Shape[];
const LATE: readonly Shape[] = ['late', 'exhaustive', 'hybrid', 'hybrid-rrf', 'default'];
const PLAID: readonly Shape[] = ['late', 'hybrid', 'hybrid-rrf', 'default'];

/** The decision: where each option acts (mode is the shape itself, so it is tried in none). */
const EXPECTED: Record<RuledOption, readonly Shape[]> = {
  signal: ALL,
  timeoutMs: ALL,
  deadlineAt: ALL,
  topK: ALL,
  offset: ALL,
  mode: [],
  exhaustive: ['late', 'exhaustive', 'hybrid', 'hybrid-rrf', 'default'],
  plaidDefaults: PLAID,
  nIvfProbe: PLAID,
  centroidScoreThreshold: PLAID,
  ndocs: PLAID,
  centroidScoreMargin: PLAID,
  nIvfProbeTotal: PLAID,
  ndocsQueryTokens: PLAID,
  interactionScoring: PLAID,
  nExact: PLAID,
  idfWeighting: LATE,
  // fusion: 'minmax' given over the rrf shape makes it min-max: still hybrid, so it applies.
  fusion: ['hybrid', 'hybrid-rrf', 'default'],
  alpha: ['hybrid', 'default'],
  rrfK: ['hybrid-rrf'],
  includeText: ALL,
  filter: ALL,
  rewrite: ALL,
  globalStats: ALL,
  highlights: ALL,
};

/** A valid value of each option (a value the search takes when the option applies). */
const LIBRARY_VALUE: Record<RuledOption, () => unknown> = {
  signal: () => new AbortController().signal,
  timeoutMs: () => 60_000,
  deadlineAt: () => Date.now() + 60_000,
  topK: () => 3,
  offset: () => 1,
  mode: () => 'late',
  exhaustive: () => true,
  plaidDefaults: () => 'colbert',
  nIvfProbe: () => 2,
  centroidScoreThreshold: () => 0.3,
  ndocs: () => 64,
  centroidScoreMargin: () => 0.1,
  nIvfProbeTotal: () => 8,
  ndocsQueryTokens: () => 4,
  interactionScoring: () => 'centroids',
  nExact: () => 16,
  idfWeighting: () => false,
  fusion: () => 'minmax',
  alpha: () => 0.4,
  rrfK: () => 30,
  includeText: () => true,
  filter: () => ({ doc_id: { $exists: true } }),
  rewrite: () => ({ spelling: true }),
  globalStats: () => ({}),
  highlights: () => true,
};

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

test('the table holds every SearchOptions key, and the pipeline keys are the stages\' (STAGE_SEARCH_OPTION_KEYS)', () => {
  assert.deepEqual(Object.keys(SEARCH_OPTION_RULES).sort(), Object.keys(EXPECTED).sort());
  const stages = Object.entries(SEARCH_OPTION_RULES).filter(([, r]) => r.pipeline === 'stages').map(([k]) => k);
  assert.deepEqual(stages.sort(), Object.keys(STAGE_SEARCH_OPTION_KEYS).sort());
});

test('library: every option in every mode is taken where it applies and refused, named with the mode, where it does not', async () => {
  for (const key of Object.keys(EXPECTED) as RuledOption[]) {
    if (key === 'mode') continue;
    for (const shape of ALL) {
      const options = { ...SHAPES[shape], topK: 3, [key]: LIBRARY_VALUE[key]() } as SearchOptions;
      const what = `${key} in ${shape}`;
      if (EXPECTED[key].includes(shape)) {
        const r = await sample.index.search(QUERY, options);
        assert.ok(r.hits.length > 0, what);
        continue;
      }
      await assert.rejects(sample.index.search(QUERY, options), (e) => {
        assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'), `${what}: ${String(e)}`);
        assert.equal(e.details?.['name'], key, `${what}: ${e.message}`);
        assert.match(e.message, new RegExp(`: ${key} does not apply to mode: "${options.mode ?? 'hybrid'}"`), what);
        assert.match(e.message, /it|them/);
        return true;
      }, what);
      // The synchronous and encoded entry points read the same rule.
      assert.throws(() => sample.index.resolveSearch(options), (e) => isPlaitError(e, 'INVALID_ARGUMENT'), what);
    }
  }
});

test('library: the model profile decides when no mode is given, and says so; a calibration-free default is never refused', async () => {
  // The bundled model's default mode is hybrid: alpha applies, nIvfProbe too.
  assert.equal(sample.index.manifest.model.defaultMode, 'hybrid');
  await assert.rejects(sample.index.search(QUERY, { rrfK: 20 }), (e) => {
    assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.match(e.message, /rrfK does not apply to mode: "hybrid" \(the model profile's default mode\) with fusion: "minmax": rrfK applies to mode: "hybrid" with fusion: "rrf"/);
    return true;
  });
  // Several conflicts are named together; the exhaustive search says why PLAID's settings cannot apply.
  await assert.rejects(sample.index.search(QUERY, { mode: 'late', exhaustive: true, ndocs: 64, nIvfProbe: 2 }), (e) => {
    assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.deepEqual(e.details?.['options'], ['nIvfProbe', 'ndocs']);
    assert.match(e.message, /with exhaustive: true.*without exhaustive: true \(PLAID\)/);
    return true;
  });
  // exhaustive: false asks for nothing and is taken in every mode.
  assert.ok((await sample.index.search(QUERY, { mode: 'bm25', exhaustive: false })).hits.length > 0);
});

test('library explain: its topK (the fused parts\' depth) applies to hybrid only, alpha to min-max fusion', async () => {
  await assert.rejects(sample.index.explain(QUERY, 'bread-yeast', { mode: 'late', topK: 5 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['name'] === 'topK');
  await assert.rejects(sample.index.explain(QUERY, 'bread-yeast', { mode: 'bm25', alpha: 0.3 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['name'] === 'alpha');
  const ex = await sample.index.explain(QUERY, 'bread-yeast', { mode: 'hybrid', topK: 5, alpha: 0.3 });
  assert.equal(ex.docId, 'bread-yeast');
});

/** The HTTP body's field for each option the search route takes (the others have no field). */
const HTTP_FIELD: Partial<Record<RuledOption, unknown>> = {
  timeoutMs: 60_000,
  topK: 3,
  offset: 1,
  exhaustive: true,
  plaidDefaults: 'colbert',
  nIvfProbe: 2,
  centroidScoreThreshold: 0.3,
  ndocs: 64,
  interactionScoring: 'centroids',
  idfWeighting: false,
  fusion: 'minmax',
  alpha: 0.4,
  rrfK: 30,
  includeText: true,
  filter: { doc_id: { $exists: true } },
  rewrite: { spelling: true },
  highlights: true,
};

test('HTTP search: the same rule, each conflict named in snake_case with the mode in the body\'s spelling', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  for (const [key, value] of Object.entries(HTTP_FIELD) as [RuledOption, unknown][]) {
    for (const shape of ALL) {
      const field = snake(key);
      const body = { query: QUERY, ...snakeShape(shape), ...(key === 'topK' ? {} : { top_k: 3 }), [field]: value };
      const r = await postJson(url, body);
      const what = `${field} in ${shape}: ${JSON.stringify(r.body)}`;
      if (EXPECTED[key].includes(shape)) {
        assert.equal(r.status, 200, what);
        continue;
      }
      assert.equal(r.status, 400, what);
      assert.equal(r.body.error.code, 'INVALID_ARGUMENT', what);
      assert.equal(r.body.error.details.name, field, what);
      assert.match(r.body.error.message, new RegExp(`: ${field} does not apply to "mode": "${(SHAPES[shape] as SearchOptions).mode ?? 'hybrid'}"`), what);
    }
  }
  // The trial's request, word for word.
  const trial = await postJson(url, { query: QUERY, mode: 'bm25', n_ivf_probe: 4 });
  assert.equal(trial.status, 400);
  assert.match(trial.body.error.message, /n_ivf_probe does not apply to "mode": "bm25": n_ivf_probe applies to "mode": "late" or "mode": "hybrid" without "exhaustive": true \(PLAID\)/);
});

function snakeShape(shape: Shape): Record<string, unknown> {
  return Object.fromEntries(Object.entries(SHAPES[shape]).map(([k, v]) => [snake(k), v]));
}

test('HTTP explain refuses what the explanation would ignore, in snake_case', async () => {
  const r = await postJson(`${server.url}/v1/indexes/sample/explain`, { query: QUERY, doc_id: 'bread-yeast', mode: 'late', alpha: 0.3 });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error.details.name, 'alpha');
  const k = await postJson(`${server.url}/v1/indexes/sample/explain`, { query: QUERY, doc_id: 'bread-yeast', mode: 'bm25', top_k: 5 });
  assert.equal(k.status, 400, JSON.stringify(k.body));
  assert.equal(k.body.error.details.name, 'top_k');
  const ok = await postJson(`${server.url}/v1/indexes/sample/explain`, { query: QUERY, doc_id: 'bread-yeast', mode: 'hybrid', alpha: 0.3, top_k: 5 });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('pipelines: each stage takes only what applies to its mode, so PLAID and fusion settings meant for one stage do not stop another', async () => {
  // Every setting here is read by some stage; each stage's search gets only its mode's part (a bm25
  // first stage given alpha or PLAID settings would be refused by its own search).
  for (const [spec, search] of [
    ['hybrid:20 > late:5', { nIvfProbe: 4, ndocs: 64, centroidScoreThreshold: 0.3, alpha: 0.3, idfWeighting: true }],
    ['late:20 > bm25:5', { nIvfProbe: 4, ndocs: 64, idfWeighting: true }],
    ['bm25:100 > hybrid:10', { alpha: 0.3, idfWeighting: true }],
    ['bm25:100 > late:10', { idfWeighting: false }],
    ['exhaustive:10', { idfWeighting: true }],
  ] as const) {
    const r = await new SearchPipeline(sample.index, spec, { search }).run(QUERY);
    assert.ok(r.hits.length > 0, spec);
  }
  // And the HTTP route, with the same settings in snake_case.
  const http = await postJson(`${server.url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:100 > hybrid:10', alpha: 0.3, idf_weighting: true });
  assert.equal(http.status, 200, JSON.stringify(http.body));
  // What a pipeline does not take is refused beside it (filter had been dropped without a word).
  const filtered = await postJson(`${server.url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:100 > late:10', filter: { doc_id: 'bread-yeast' } });
  assert.equal(filtered.status, 400);
  assert.match(filtered.body.error.message, /: filter cannot apply with pipeline/);
});

test('pipelines: a setting no stage reads is refused by name with the stages there are, in the library, over HTTP and by plait search (it had been taken and ignored)', async () => {
  // "bm25:100 > late:10": its late stage re-scores the list exactly, so PLAID never runs.
  for (const [spec, search, names, acts] of [
    ['bm25:100 > late:10', { nIvfProbe: 4, ndocs: 64 }, ['nIvfProbe', 'ndocs'], /nIvfProbe, ndocs apply to a first stage late, hybrid or prf \(PLAID retrieval/],
    ['exhaustive:10', { centroidScoreThreshold: 0.3 }, ['centroidScoreThreshold'], /PLAID retrieval/],
    ['rm3:20 > late:5', { alpha: 0.3 }, ['alpha'], /alpha applies to a hybrid stage with fusion: "minmax" \(the default\)/],
    ['hybrid:20 > late:5', { fusion: 'rrf', alpha: 0.3 }, ['alpha'], /alpha applies to a hybrid stage with fusion: "minmax"/],
    ['bm25:20 > cross:5', { idfWeighting: true }, ['idfWeighting'], /idfWeighting applies to a late-interaction stage/],
    ['bm25:100 > late:10', { rewrite: { prf: true } }, ['rewrite.prf'], /rewrite\.prf applies to a first stage that retrieves by late interaction/],
  ] as const) {
    assert.throws(() => new SearchPipeline(sample.index, spec, { search, ...(spec.includes('cross') ? { crossEncoder: { score: async () => new Float64Array() } as never } : {}) }), (e: unknown) => {
      assert.ok(e instanceof PlaitError && e.code === 'INVALID_ARGUMENT', String(e));
      assert.deepEqual(e.details?.['options'], names, spec);
      assert.equal(e.details?.['reason'], 'noStage');
      assert.ok(e.message.startsWith(`Invalid argument: ${names.join(', ')} ${names.length === 1 ? 'reaches' : 'reach'} no stage of the pipeline "${spec}" (`), e.message);
      assert.match(e.message, acts);
      return true;
    }, spec);
  }
  assert.throws(() => new SearchPipeline(sample.index, 'bm25:100 > late:10', { search: { nIvfProbe: 4 } }), /\(bm25:100 retrieves, late:10 re-scores\)/);
  const http = await postJson(`${server.url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:100 > late:10', n_ivf_probe: 4, alpha: 0.3 });
  assert.equal(http.status, 400, JSON.stringify(http.body));
  assert.equal(http.body.error.code, 'INVALID_ARGUMENT');
  assert.match(http.body.error.message, /^Invalid argument: n_ivf_probe, alpha reach no stage of pipeline "bm25:100 > late:10" \(bm25:100 retrieves, late:10 re-scores\): n_ivf_probe applies to .*; alpha applies to a hybrid stage with "fusion": "minmax"/);
  const cli = runPlait(sample.dir, ['search', sample.path, QUERY, '-q', '--pipeline', 'bm25:20 > late:5', '--ncells', '4', '--alpha', '0.3']);
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /--ncells, --alpha reach no stage of --pipeline "bm25:20 > late:5" \(bm25:20 retrieves, late:5 re-scores\)/);
  // A model named for a stage the pipeline lacks, over HTTP and on the command line: the stages there are, named.
  const crossHttp = await postJson(`${server.url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:100 > late:10', cross_encoder: 'any' });
  assert.equal(crossHttp.status, 400, JSON.stringify(crossHttp.body));
  assert.match(crossHttp.body.error.message, /cross_encoder reaches no stage of pipeline "bm25:100 > late:10" \(stages: bm25, late\)/);
  const crossCli = runPlait(sample.dir, ['search', sample.path, QUERY, '--pipeline', 'bm25:20 > late:5', '--cross-encoder', 'any']);
  assert.equal(crossCli.code, 2, crossCli.stderr);
  assert.match(crossCli.stderr, /--cross-encoder needs --pipeline with a cross stage, e\.g\. --pipeline "bm25:100 > cross:10" \(the stages given: bm25, late\)/);
  const prf = runPlait(sample.dir, ['search', sample.path, QUERY, '-q', '--pipeline', 'bm25:20 > late:5', '--prf']);
  assert.equal(prf.code, 2, prf.stderr);
  assert.match(prf.stderr, /--prf reaches no stage of --pipeline/);
});

test("pipelines: the library's stage-bound settings without their stage are refused by name (crossEncoder, ltrModel, breakers.<stage>, breaker)", () => {
  const scorer = { score: async () => new Float64Array() } as never;
  const ranker = { needsCross: false, featureRows: async () => new Float32Array(), score: () => new Float64Array() } as never;
  for (const [spec, options, name, why] of [
    ['bm25:100 > late:10', { crossEncoder: scorer }, 'crossEncoder', /it scores a cross stage/],
    ['bm25:100 > late:10', { ltrModel: ranker }, 'ltrModel', /it scores an ltr stage/],
    ['bm25:100 > late:10', { breakers: { cross: new CircuitBreaker() } }, 'breakers.cross', /a breaker guards a stage after the first \(here: late\)/],
    ['late:100 > cross:10', { crossEncoder: scorer, breakers: { late: new CircuitBreaker() } }, 'breakers.late', /\(here: cross\)/],
    ['bm25:10', { breaker: { windowSize: 4 } }, 'breaker', /this pipeline has none/],
  ] as const) {
    assert.throws(() => new SearchPipeline(sample.index, spec, options as never), (e: unknown) => {
      assert.ok(e instanceof PlaitError && e.code === 'INVALID_ARGUMENT', String(e));
      assert.equal(e.details?.['name'], name);
      assert.ok(e.message.startsWith(`Invalid argument: ${name} reaches no stage of the pipeline "${spec}"`), e.message);
      assert.match(e.message, why);
      return true;
    }, name);
  }
  // With their stage they are taken.
  const p = new SearchPipeline(sample.index, 'late:100 > cross:10', { crossEncoder: scorer, breakers: { cross: new CircuitBreaker() }, breaker: { windowSize: 4 } });
  assert.equal(p.spec, 'late:100 > cross:10');
});

test('applicableSearchOptions keeps what applies, drops the rest and the rewrite that cannot apply', () => {
  const wide: SearchOptions = { topK: 5, nIvfProbe: 2, alpha: 0.3, rrfK: 10, idfWeighting: true, exhaustive: true, rewrite: { rm3: true, prf: true, spelling: true } };
  assert.deepEqual(applicableSearchOptions(wide, { mode: 'bm25', exhaustive: false, fusion: 'minmax' }), { topK: 5, rewrite: { rm3: true, spelling: true } });
  assert.deepEqual(applicableSearchOptions(wide, { mode: 'late', exhaustive: true, fusion: 'minmax' }), { topK: 5, idfWeighting: true, exhaustive: true, rewrite: { prf: true, spelling: true } });
  assert.deepEqual(applicableSearchOptions({ ...wide, exhaustive: false }, { mode: 'hybrid', exhaustive: false, fusion: 'rrf' }), { topK: 5, nIvfProbe: 2, rrfK: 10, idfWeighting: true, rewrite: { rm3: true, prf: true, spelling: true } });
});

test('CLI: plait search and plait explain refuse by the same rule, in flags; each mode\'s own flags still run', () => {
  const plait = (...args: string[]) => runPlait(sample.dir, args);
  for (const [flags, message] of [
    [['--mode', 'bm25', '--ncells', '4'], /--ncells does not apply to --mode bm25: --ncells applies to --mode late or --mode hybrid without --exhaustive \(PLAID\)/],
    [['--mode', 'late', '--alpha', '0.3'], /--alpha does not apply to --mode late: --alpha applies to --mode hybrid with --fusion minmax/],
    [['--fusion', 'rrf', '--alpha', '0.3'], /--alpha does not apply to --mode hybrid \(the model profile's default mode\) with --fusion rrf/],
    [['--mode', 'bm25', '--no-idf'], /--idf\/--no-idf does not apply to --mode bm25/],
  ] as const) {
    const r = plait('search', sample.path, QUERY, '-q', ...flags);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\[INVALID_ARGUMENT\]/);
  }
  const filtered = plait('search', sample.path, QUERY, '--pipeline', 'bm25:20 > late:5', '--filter', '{"doc_id": "bread-yeast"}');
  assert.equal(filtered.code, 2, filtered.stderr);
  assert.match(filtered.stderr, /--filter cannot apply with --pipeline/);
  const piped = plait('search', sample.path, QUERY, '-q', '--pipeline', 'bm25:20 > hybrid:5', '--alpha', '0.3');
  assert.equal(piped.code, 0, piped.stderr);
  const explained = plait('explain', sample.path, QUERY, 'bread-yeast', '--mode', 'late', '-k', '5');
  assert.equal(explained.code, 2, explained.stderr);
  assert.match(explained.stderr, /-k does not apply to --mode late: -k applies to --mode hybrid/);
  const explainedLate = plait('explain', sample.path, QUERY, 'bread-yeast', '--mode', 'late');
  assert.equal(explainedLate.code, 0, explainedLate.stderr);
});

test('explain reports the late score in every mode, so its idfWeighting is taken in bm25 mode too', async () => {
  const ex = await sample.index.explain(QUERY, 'bread-yeast', { mode: 'bm25', idfWeighting: false });
  assert.ok(ex.bm25 !== null && Number.isFinite(ex.lateScore));
});
