/**
 * Query rewriting through the server (issue 26): the search and explain routes take `rewrite`
 * ({spelling, rm3, prf}) and answer with the rewrites applied, as the library reports them; the
 * late side of a served search encodes the corrected text.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QueryRewriter } from '../src/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { runPlait } from './helpers/cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, parsePrometheus, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-server-rewrite-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('search: rewrite.spelling corrects the query, reports it, and finds what the correct query finds', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const right = await postJson(url, { query: 'why does bread rise', top_k: 3, mode: 'late' });
  const wrong = await postJson(url, { query: 'why does braed rise', top_k: 3, mode: 'late', rewrite: { spelling: true } });
  assert.equal(wrong.status, 200, JSON.stringify(wrong.body));
  const result = wrong.body.results[0];
  assert.deepEqual(result.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
  // The late side scored the corrected text: the same documents and scores as the correct query.
  assert.deepEqual(result.hits.map((h: { doc_id: string }) => h.doc_id), right.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id));
  assert.ok(Math.abs(result.hits[0].score - right.body.results[0].hits[0].score) < 1e-5);
  assert.equal(right.body.results[0].rewrites, undefined);
  const off = await postJson(url, { query: 'why does braed rise', top_k: 3, rewrite: null });
  assert.equal(off.status, 200);
  assert.equal(off.body.results[0].rewrites, undefined);
});

test('search: rm3 and prf report their expansions; a pipeline with an rm3 stage runs; unknown rewrite fields are refused', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const rm3 = await postJson(url, { query: 'how do planes stay in the air', mode: 'hybrid', top_k: 5, rewrite: { rm3: true, prf: true } });
  assert.equal(rm3.status, 200, JSON.stringify(rm3.body));
  assert.deepEqual(rm3.body.results[0].rewrites.map((r: { kind: string }) => r.kind).sort(), ['prf', 'rm3']);
  const piped = await postJson(url, { query: 'why does bread rise', pipeline: 'rm3:10 > late:3' });
  assert.equal(piped.status, 200, JSON.stringify(piped.body));
  assert.equal(piped.body.results[0].hits[0].doc_id, 'bread-yeast');
  const bad = await postJson(url, { query: 'bread', rewrite: { spellling: true } });
  assert.equal(bad.status, 400);
});

test('explain: rewrite.spelling explains the corrected query and lists the rewrite, naming the word as typed', async () => {
  // "Bräed" had been reported as the store's folding, "braed", which the user never typed.
  const r = await postJson(`${server.url}/v1/indexes/sample/explain`, { query: 'why does Bräed rise', doc_id: 'bread-yeast', mode: 'hybrid', rewrite: { spelling: true } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.rewrites, [{ kind: 'spelling', from: 'Bräed', to: 'bread' }]);
  assert.ok(r.body.bm25.terms.some((t: { term: string; tf: number }) => t.term === 'bread' && t.tf > 0));
});

test('search: each query is rewritten once per request (the engine passes its rewrites to the library), in every mode', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const original = QueryRewriter.prototype.rewrite;
  let calls = 0;
  QueryRewriter.prototype.rewrite = function (this: QueryRewriter, ...args: Parameters<QueryRewriter['rewrite']>) {
    calls++;
    return original.apply(this, args);
  };
  try {
    for (const mode of ['late', 'hybrid', 'bm25']) {
      calls = 0;
      // Texts new to this test (no cached results), two per request.
      const r = await postJson(url, { queries: [`why does braed rise ${mode}`, `how do bactreia spread ${mode}`], top_k: 3, mode, rewrite: { spelling: true } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(calls, 2, `${mode}: ${calls} rewrites for 2 queries`);
      assert.deepEqual(r.body.results[0].rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }], mode);
      assert.deepEqual(r.body.results[1].rewrites, [{ kind: 'spelling', from: 'bactreia', to: 'bacteria' }], mode);
    }
  } finally {
    QueryRewriter.prototype.rewrite = original;
  }
});

test('searchEncodedBatch: given rewrites are used and reported as given; one per query or INVALID_ARGUMENT', async () => {
  const rw = sample.index.rewrite('why does braed rise', { rewrite: { spelling: true } });
  assert.ok(rw !== null);
  // Given with the text of another query: BM25 searches the rewrite's terms, and the report is the rewrite's.
  const [r] = await sample.index.searchEncodedBatch(['zzzz'], [], { mode: 'bm25', topK: 1, rewrite: { spelling: true }, rewritten: [rw] });
  assert.deepEqual(r!.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
  assert.equal(r!.hits[0]?.docId, 'bread-yeast');
  await assert.rejects(sample.index.searchEncodedBatch(['a', 'b'], [], { mode: 'bm25', rewritten: [rw] }), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT');
});

// RM3's and ColBERT-PRF's parameters at every door. The library took `rewrite.rm3` / `rewrite.prf`
// objects, but `plait search` / `explain` and the HTTP API took only switches (`--rm3`, `"rm3": true`):
// `"rm3": {"fb_docs": 5}` was 400 "must be boolean". And the library took a string λ or β ("0.5" >= 0
// holds in JavaScript). Now each door takes them and refuses a value out of range or not a number
// with INVALID_ARGUMENT naming the parameter.
const QUERY = 'why does bread rise';
/** The expansion terms an rm3 rewrite's `to` lists (`term^weight` …). */
const addedTerms = (to: string): string[] => to.split(' ').filter((t) => t !== '');

test('library: parameters out of range or not numbers are INVALID_ARGUMENT naming them', async () => {
  const refused = (name: string) => (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.name === name;
  const bm25 = { mode: 'bm25' as const, topK: 3 };
  for (const [rm3, name] of [[{ fbDocs: 0 }, 'rm3.fbDocs'], [{ fbTerms: -1 }, 'rm3.fbTerms'], [{ fbDocs: 1e9 }, 'rm3.fbDocs'], [{ fbDocs: 2.5 }, 'rm3.fbDocs'], [{ originalQueryWeight: '0.5' }, 'rm3.originalQueryWeight'], [{ originalQueryWeight: 1.5 }, 'rm3.originalQueryWeight']] as const) {
    await assert.rejects(sample.index.search(QUERY, { ...bm25, rewrite: { rm3: rm3 as never } }), refused(name), JSON.stringify(rm3));
  }
  for (const [prf, name] of [[{ fbEmbeddings: 0 }, 'prf.fbEmbeddings'], [{ fbDocs: 101 }, 'prf.fbDocs'], [{ beta: '1' }, 'prf.beta'], [{ beta: -0.1 }, 'prf.beta']] as const) {
    await assert.rejects(sample.index.search(QUERY, { mode: 'late', topK: 3, rewrite: { prf: prf as never } }), refused(name), JSON.stringify(prf));
  }
  const one = await sample.index.search(QUERY, { ...bm25, rewrite: { rm3: { fbTerms: 1 } } });
  assert.equal(addedTerms(one.rewrites!.find((r) => r.kind === 'rm3')!.to).length <= 1, true);
});

test('HTTP: rewrite.rm3 and rewrite.prf take their parameters; out of range is 400 INVALID_ARGUMENT naming them', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const ok = await postJson(url, { query: QUERY, top_k: 3, mode: 'bm25', rewrite: { rm3: { fb_docs: 3, fb_terms: 1, original_query_weight: 0.7 } } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const rm3 = ok.body.results[0].rewrites.find((r: { kind: string }) => r.kind === 'rm3');
  assert.ok(rm3 !== undefined && addedTerms(rm3.to).length <= 1, JSON.stringify(ok.body.results[0].rewrites));
  // The same request through the library gives the same hits.
  const lib = await sample.index.search(QUERY, { mode: 'bm25', topK: 3, rewrite: { rm3: { fbDocs: 3, fbTerms: 1, originalQueryWeight: 0.7 } } });
  assert.deepEqual(ok.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id), lib.hits.map((h) => h.docId));
  const prf = await postJson(url, { query: QUERY, top_k: 3, mode: 'late', rewrite: { prf: { fb_docs: 2, fb_embeddings: 4, beta: 0.5 } } });
  assert.equal(prf.status, 200, JSON.stringify(prf.body));
  assert.ok(prf.body.results[0].rewrites.some((r: { kind: string }) => r.kind === 'prf'));
  for (const [rewrite, mode, name] of [
    // Named as the client wrote them (snake_case, the body's path), not as the library's options (rm3.fbDocs).
    [{ rm3: { fb_docs: 0 } }, 'bm25', 'body/rewrite/rm3/fb_docs'],
    [{ rm3: { original_query_weight: 2 } }, 'bm25', 'body/rewrite/rm3/original_query_weight'],
    [{ prf: { fb_embeddings: 1000 } }, 'late', 'body/rewrite/prf/fb_embeddings'],
    [{ prf: { beta: -1 } }, 'late', 'body/rewrite/prf/beta'],
  ] as const) {
    const r = await postJson(url, { query: QUERY, mode, rewrite });
    assert.equal(r.status, 400, JSON.stringify(rewrite));
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT');
    assert.equal(r.body.error.details.field, name, JSON.stringify(r.body));
    assert.ok(r.body.error.message.includes(name), JSON.stringify(r.body));
  }
  for (const rewrite of [{ rm3: { fb_docs: '5' } }, { rm3: { fbDocs: 5 } }, { prf: 'yes' }]) {
    const r = await postJson(url, { query: QUERY, mode: 'hybrid', rewrite });
    assert.equal(r.status, 400, JSON.stringify(rewrite));
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT', JSON.stringify(r.body));
  }
});

test('CLI: --rm3-* and --prf-* flags imply their feedback; out of range or not a number is INVALID_ARGUMENT, exit 2', () => {
  const ok = runPlait(sample.dir, ['search', sample.path, QUERY, '--mode', 'bm25', '--rm3-fb-terms', '1', '--rm3-fb-docs', '3', '-k', '3', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const out = JSON.parse(ok.stdout) as { rewrites: { kind: string; to: string }[] };
  const rm3 = out.rewrites.find((r) => r.kind === 'rm3');
  assert.ok(rm3 !== undefined && addedTerms(rm3.to).length <= 1, ok.stdout);
  for (const [flag, value, name] of [['--prf-fb-docs', '0', 'prf.fbDocs']] as const) {
    const r = runPlait(sample.dir, ['search', sample.path, QUERY, '--mode', 'hybrid', flag, value, '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout + r.stderr, /INVALID_ARGUMENT/);
    assert.match(r.stdout + r.stderr, new RegExp(name.replace('.', '\\.')));
  }
});

test('plait eval measures rewrites: "<mode>+<rewrite>" rows beside the plain mode, in the same run', () => {
  // Before, eval had no way to ask for spelling or synonyms (its --modes were the plain modes):
  // what a rewrite does to nDCG@10 could not be measured with plait eval.
  writeFileSync(join(sample.dir, 'typo-queries.tsv'), 'q1\tbraed\nq2\tboulangerie\n');
  writeFileSync(join(sample.dir, 'typo-qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\tbread-yeast\t1\nq2\tbread-yeast\t1\n');
  writeFileSync(join(sample.dir, 'loaf.txt'), 'boulangerie => bread\n');
  const args = ['eval', sample.path, '--queries', join(sample.dir, 'typo-queries.tsv'), '--qrels', join(sample.dir, 'typo-qrels.tsv'), '--depth', '10', '--json'];
  const ev = runPlait(sample.dir, [...args, '--modes', 'bm25,bm25+spelling+synonyms,bm25+rm3', '--synonyms', join(sample.dir, 'loaf.txt')]);
  assert.equal(ev.code, 0, ev.stderr);
  const c = JSON.parse(ev.stdout) as { modes: { name: string; mean: Record<string, number> }[]; meta: { modeDescriptions: Record<string, string> } };
  assert.deepEqual(c.modes.map((m) => m.name), ['bm25', 'bm25+spelling+synonyms', 'bm25+rm3']);
  const ndcg = (name: string) => c.modes.find((m) => m.name === name)!.mean['ndcg@10']!;
  assert.equal(ndcg('bm25'), 0); // neither word is in the index
  assert.equal(ndcg('bm25+spelling+synonyms'), 1); // "braed" → bread, "boulangerie" → bread: bread-yeast first for both
  assert.match(c.meta.modeDescriptions['bm25+rm3']!, /rewritten by rm3/);
  // An unknown rewrite, or +synonyms without a file, is refused before any search.
  const bad = runPlait(sample.dir, [...args, '--modes', 'bm25+synonyms']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /INVALID_ARGUMENT/);
  assert.match(bad.stderr, /needs --synonyms <file>/);
});

test('/metrics counts the queries searched as rewritten, by index and kind (it had no word of rewriting)', async () => {
  const count = async (kind: string): Promise<number> => {
    const rows = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    return rows.find((r) => r.name === 'plait_query_rewrites_total' && r.labels['index'] === 'sample' && r.labels['kind'] === kind)?.value ?? 0;
  };
  const [spelling0, rm30] = [await count('spelling'), await count('rm3')];
  const r = await postJson(`${server.url}/v1/indexes/sample/search`, { queries: ['why does braed rise', 'why does bread rise', 'braed and yeest'], top_k: 2, mode: 'bm25', rewrite: { spelling: true, rm3: true } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await count('spelling'), spelling0 + 2); // two of the three queries were corrected, one word or two
  assert.equal(await count('rm3'), rm30 + 3);
});
