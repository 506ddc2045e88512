/**
 * Pagination (search/paging.ts): `offset` in the library, over HTTP (one query, a batch, pipelines)
 * and `plait search --offset`. The differential rule: a page (offset o, top_k s) is exactly the slice
 * [o, o + s) of the search for top_k = o + s — same documents, scores and ranks, ties broken the same
 * way (the corpus holds six copies of one document under different ids, so every mode has ties), and
 * the PLAID settings of k = o + s (o = 8, s = 4 crosses ColBERT's k ≤ 10 bucket). Before, `offset`
 * was refused (400) over HTTP and unknown to the library and the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPlaitError, type PlaitIndex } from '../src/index.js';
import { SEARCH_DEFAULTS } from '../src/config/defaults.js';
import type { RunningServer } from '../src/server/index.js';
import { SAMPLE, postJson, servedCorpus, type ServedCorpus } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';

let dir: string;
let path: string;
let index: PlaitIndex;
let server: RunningServer;
const QUERY = 'bread dough rises with yeast';
const DUPLICATES = ['dup-a', 'dup-b', 'dup-c', 'dup-d', 'dup-e', 'dup-f'];

let served: ServedCorpus | undefined;

before(async () => {
  const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
  // Six identical documents: equal scores in every mode, so the tie order is part of what is compared.
  for (const id of DUPLICATES) lines.push(JSON.stringify({ _id: id, title: 'Bread', text: 'Yeast makes bread dough rise; the dough rises while it proves.' }));
  served = await servedCorpus('plait-pagination-', 'paged', lines, 0);
  ({ dir, path, index, server } = served);
});

after(async () => {
  await served?.dispose();
});

type Hit = { doc_id: string; score: number; rank: number };
const url = (): string => `${server.url}/v1/indexes/sample/search`;
const MODES: Record<string, Record<string, unknown>> = {
  late: { mode: 'late' },
  bm25: { mode: 'bm25' },
  hybrid: { mode: 'hybrid' },
  'hybrid-rrf': { mode: 'hybrid', fusion: 'rrf' },
  exhaustive: { mode: 'late', exhaustive: true },
};
const PAGES: [number, number][] = [[0, 3], [3, 3], [8, 4], [2, 7], [40, 5], [44, 10]];

test('HTTP: a page is exactly the slice [offset, offset + top_k) of the search for top_k = offset + top_k, in every mode, ties included, with the PLAID settings of that k', async () => {
  for (const [name, mode] of Object.entries(MODES)) {
    for (const [offset, size] of PAGES) {
      const what = `${name} offset ${offset} top_k ${size}`;
      const full = await postJson(url(), { query: QUERY, top_k: offset + size, ...mode });
      const page = await postJson(url(), { query: QUERY, top_k: size, offset, ...mode });
      assert.equal(full.status, 200, `${what}: ${JSON.stringify(full.body)}`);
      assert.equal(page.status, 200, `${what}: ${JSON.stringify(page.body)}`);
      const want = (full.body.results[0].hits as Hit[]).slice(offset);
      const got = page.body.results[0].hits as Hit[];
      assert.deepEqual(got.map((h) => [h.doc_id, h.score, h.rank]), want.map((h) => [h.doc_id, h.score, h.rank]), what);
      assert.equal(page.body.results[0].offset, offset, what);
      assert.deepEqual(page.body.results[0].plaid, full.body.results[0].plaid, `${what}: the page runs with k = offset + top_k's settings`);
      if (name !== 'bm25') assert.equal(page.body.results[0].total_hits, 46, `${what}: late interaction ranks every document`);
    }
  }
  // The duplicates tie and are all in the late ranking: their order within a page is the full ranking's.
  const full = await postJson(url(), { query: QUERY, top_k: 20, mode: 'late', exhaustive: true });
  const ids = (full.body.results[0].hits as Hit[]).map((h) => h.doc_id);
  assert.ok(DUPLICATES.every((d) => ids.includes(d)), ids.join(' '));
  // k ≤ 10 and k ≤ 100 are different buckets: page 2 of size 4 starting at 8 searches with k = 12's settings, not k = 4's.
  const small = await postJson(url(), { query: QUERY, top_k: 4, mode: 'late' });
  const page = await postJson(url(), { query: QUERY, top_k: 4, offset: 8, mode: 'late' });
  assert.notDeepEqual(page.body.results[0].plaid, small.body.results[0].plaid);
});

test('HTTP: consecutive pages neither overlap nor skip, in a batch too; bm25 says total_hits, past its depth too', async () => {
  for (const mode of ['late', 'bm25', 'hybrid']) {
    const full = await postJson(url(), { queries: [QUERY, 'coffee'], top_k: 12, mode });
    for (let q = 0; q < 2; q++) {
      const seen: string[] = [];
      for (let offset = 0; offset < 12; offset += 4) {
        const page = await postJson(url(), { queries: [QUERY, 'coffee'], top_k: 4, offset, mode });
        assert.equal(page.status, 200, JSON.stringify(page.body));
        seen.push(...(page.body.results[q].hits as Hit[]).map((h) => h.doc_id));
      }
      assert.deepEqual(seen, (full.body.results[q].hits as Hit[]).map((h) => h.doc_id), `${mode} query ${q}`);
    }
  }
  const deep = await postJson(url(), { query: 'coffee', top_k: 100, offset: 0, mode: 'bm25' });
  assert.equal(deep.body.results[0].total_hits, deep.body.results[0].hits.length, 'the BM25 ranking ended before the depth: its length is the total');
  // Past the depth: the documents holding a query term, counted as BM25 scores them (before, null).
  const every = await postJson(url(), { query: QUERY, top_k: 100, mode: 'bm25' });
  const holding = (every.body.results[0].hits as Hit[]).length;
  assert.ok(holding > 2 && holding < 46, `${holding} documents hold a term of the query`);
  const shallow = await postJson(url(), { query: QUERY, top_k: 1, offset: 1, mode: 'bm25' });
  assert.equal(shallow.body.results[0].total_hits, holding, 'BM25 past the depth: every document holding a query term');
  const batch = await postJson(url(), { queries: [QUERY, 'coffee'], top_k: 1, offset: 0, mode: 'bm25' });
  assert.deepEqual(batch.body.results.map((r: { total_hits: number }) => r.total_hits), [holding, deep.body.results[0].hits.length]);
  // Without offset the answer is as before: no paging fields.
  const plain = await postJson(url(), { query: QUERY, top_k: 2 });
  assert.equal('offset' in plain.body.results[0], false);
  assert.equal('total_hits' in plain.body.results[0], false);
});

test('HTTP: offset + top_k past the result window is a 400 that says so; a negative offset is refused', async () => {
  const past = await postJson(url(), { query: QUERY, top_k: 10, offset: SEARCH_DEFAULTS.maxResultWindow - 5 });
  assert.equal(past.status, 400, JSON.stringify(past.body));
  assert.equal(past.body.error.code, 'INVALID_ARGUMENT');
  assert.match(past.body.error.message, /offset \+ top_k = 9995 \+ 10 = 10005 is past the deepest result a search reaches, 10000/);
  assert.equal(past.body.error.details.reason, 'resultWindow');
  assert.equal(past.body.error.details.max_result_window, SEARCH_DEFAULTS.maxResultWindow);
  const edge = await postJson(url(), { query: QUERY, top_k: 10, offset: SEARCH_DEFAULTS.maxResultWindow - 10, mode: 'bm25' });
  assert.equal(edge.status, 200, JSON.stringify(edge.body));
  assert.deepEqual(edge.body.results[0].hits, []);
  const negative = await postJson(url(), { query: QUERY, offset: -1 });
  assert.equal(negative.status, 400);
});

test('HTTP pipelines: the last stage runs offset deeper and the page is its slice; past the previous stage it is refused', async () => {
  for (const spec of ['bm25:40 > late:%d', 'late:%d', 'bm25:30 > hybrid:%d']) {
    for (const [offset, size] of [[0, 5], [5, 5], [7, 3]] as const) {
      const full = await postJson(url(), { query: QUERY, pipeline: spec.replace('%d', String(offset + size)) });
      const page = await postJson(url(), { query: QUERY, pipeline: spec.replace('%d', String(size)), offset });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const want = (full.body.results[0].hits as Hit[]).slice(offset);
      assert.deepEqual((page.body.results[0].hits as Hit[]).map((h) => [h.doc_id, h.score, h.rank]), want.map((h) => [h.doc_id, h.score, h.rank]), `${spec} ${offset}`);
      assert.equal(page.body.results[0].offset, offset);
    }
  }
  const over = await postJson(url(), { query: QUERY, pipeline: 'bm25:40 > late:10', offset: 35 });
  assert.equal(over.status, 400, JSON.stringify(over.body));
  assert.match(over.body.error.message, /offset 35 \+ the last stage's depth 10 = 45 is above the previous stage's depth, bm25:40/);
});

test('library: search and searchBatch take offset with the same slice rule; past the window INVALID_ARGUMENT', async () => {
  for (const mode of ['late', 'bm25', 'hybrid'] as const) {
    const full = await index.search(QUERY, { mode, topK: 11 });
    const page = await index.search(QUERY, { mode, topK: 5, offset: 6 });
    assert.deepEqual(page.hits.map((h) => [h.docId, h.score, h.rank]), full.hits.slice(6).map((h) => [h.docId, h.score, h.rank]), mode);
    assert.equal(page.offset, 6);
    const [batch] = await index.searchBatch([QUERY], { mode, topK: 5, offset: 6 });
    assert.deepEqual(batch!.hits.map((h) => h.docId), page.hits.map((h) => h.docId));
    // The whole ranking's length: every document for late and hybrid, those holding a query term for BM25.
    const all = await index.search(QUERY, { mode, topK: 100 });
    assert.equal(page.totalHits, mode === 'bm25' ? all.hits.length : 46, mode);
    assert.equal(batch!.totalHits, page.totalHits, mode);
  }
  await assert.rejects(index.search(QUERY, { topK: 10, offset: 9_991 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /offset \+ topK = 9991 \+ 10 = 10001/.test(e.message));
  await assert.rejects(index.search(QUERY, { offset: 1.5 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['name'] === 'offset');
});

test('CLI: plait search --offset prints the page of the deeper search, and refuses a page past the window in flags', () => {
  const full = runPlait(dir, ['search', 'paged', QUERY, '-k', '9', '--mode', 'late', '--json']);
  assert.equal(full.code, 0, full.stderr);
  const page = runPlait(dir, ['search', 'paged', QUERY, '-k', '4', '--offset', '5', '--mode', 'late', '--json']);
  assert.equal(page.code, 0, page.stderr);
  const f = JSON.parse(full.stdout) as { hits: { docId: string; rank: number }[] };
  const p = JSON.parse(page.stdout) as { hits: { docId: string; rank: number }[]; offset: number; totalHits: number };
  assert.deepEqual(p.hits.map((h) => [h.docId, h.rank]), f.hits.slice(5).map((h) => [h.docId, h.rank]));
  assert.equal(p.offset, 5);
  assert.equal(p.totalHits, 46);
  const text = runPlait(dir, ['search', 'paged', QUERY, '-k', '4', '--offset', '5', '--mode', 'late']);
  assert.match(text.stderr, /plait: hits 6–9 of 46/);
  const bm = runPlait(dir, ['search', 'paged', QUERY, '-k', '2', '--offset', '1', '--mode', 'bm25']);
  const bmAll = runPlait(dir, ['search', 'paged', QUERY, '-k', '100', '--mode', 'bm25', '--json']);
  assert.equal(bm.code, 0, bm.stderr);
  const holding = (JSON.parse(bmAll.stdout) as { hits: unknown[] }).hits.length;
  assert.match(bm.stderr, new RegExp(`plait: hits 2–3 of ${holding}\\n`), 'bm25 past its depth says of N');
  const past = runPlait(dir, ['search', 'paged', QUERY, '-k', '20', '--offset', '9990']);
  assert.equal(past.code, 2, past.stderr);
  assert.match(past.stderr, /--offset \+ -k = 9990 \+ 20 = 10010 is past the deepest result/);
  const piped = runPlait(dir, ['search', 'paged', QUERY, '--pipeline', 'bm25:40 > late:5', '--offset', '5', '--json']);
  assert.equal(piped.code, 0, piped.stderr);
  const deeper = runPlait(dir, ['search', 'paged', QUERY, '--pipeline', 'bm25:40 > late:10', '--json']);
  assert.deepEqual((JSON.parse(piped.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId), (JSON.parse(deeper.stdout) as { hits: { docId: string }[] }).hits.slice(5).map((h) => h.docId));
});
