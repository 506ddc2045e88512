/**
 * Search highlights (src/search/highlights.ts, highlights-bm25.ts): the late-interaction spans are
 * the MaxSim argmax tokens of the hit's best passage (their scores plus otherScore sum to the hit's
 * late score), words known to be in a document are marked, the snippet is a word-bounded window
 * with the spans marked and the text HTML-escaped, BM25's come from FTS5 (stemmed as BM25 matched),
 * hybrid hits carry both; through the library, a real server and the real CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlaitError, type PlaitIndex, type SearchHit, type LateHighlights } from '../src/index.js';
import { postJson, SAMPLE, servedCorpus, type ServedCorpus } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';
import type { RunningServer } from '../src/server/index.js';
import { lateHighlights, resolveHighlights } from '../src/search/highlights.js';
import { lateMaxSim, type ExactQueryCache } from '../src/search/explain.js';
import { centroidScores, type ScoringArrays } from '../src/search/plaid.js';
import type { QueryPreparer } from '../src/search/prepared-query.js';
import type { DocStoreReader } from '../src/docstore/index.js';
import { typescriptKernels, type Kernels } from '../src/kernels/index.js';

let dir: string;
let index: PlaitIndex;
let server: RunningServer;

/** Documents whose words are known: the volcano one holds markup and an ampersand to escape. */
const EXTRA = [
  { _id: 'volcano-html', title: '', text: 'Field notes. <script>alert("x")</script> Volcanoes erupt molten lava & ash when magma rises through the crust; the eruption of Vesuvius buried Pompeii.' },
  { _id: 'penguin-ice', title: 'Emperor penguins', text: 'Emperor penguins huddle together on the Antarctic ice to survive the winter wind.' },
];

let served: ServedCorpus | undefined;

before(async () => {
  const lines = [...readFileSync(SAMPLE, 'utf8').trimEnd().split('\n'), ...EXTRA.map((d) => JSON.stringify(d))];
  served = await servedCorpus('plait-highlights-', 'hl', lines);
  ({ dir, index, server } = served);
});

after(async () => {
  await served?.dispose();
});

const close = (a: number, b: number, tol = 1e-5): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function late(h: SearchHit): LateHighlights {
  const l = h.highlights?.late;
  assert.ok(l !== undefined && l !== null, `${h.docId}: late highlights`);
  return l;
}

test('hand-checked: the words a query names are marked in the document that holds them, in the stored field at the stated offsets', async () => {
  const { hits } = await index.search('volcanoes erupt lava', { mode: 'late', exhaustive: true, topK: 3, highlights: true, includeText: true });
  const hit = hits.find((h) => h.docId === 'volcano-html')!;
  assert.ok(hit !== undefined, 'the volcano document is among the hits');
  const l = late(hit);
  const marked = l.spans.map((s) => s.text.toLowerCase());
  for (const w of ['volcanoes', 'erupt', 'lava']) assert.ok(marked.some((m) => m.split(/\s+/).includes(w)), `"${w}" marked: ${JSON.stringify(marked)}`);
  for (const s of l.spans) {
    assert.equal(s.field, 'text');
    assert.equal(hit.text!.slice(s.start, s.end), s.text, 'offsets point at the text they name');
    assert.match(s.text, /^[\p{L}\p{N}]/u, 'a span starts on a word, never on punctuation');
    assert.match(s.text, /[\p{L}\p{N}]$/u);
    for (const q of s.queryTokens) assert.ok('volcanoes erupt lava'.includes(q), `query token "${q}" is query text`);
  }
  // "Volcanoes erupt molten lava": adjacent marked words are one span; the snippet marks them.
  assert.match(l.snippet.text, /<em>Volcanoes erupt[^<]*<\/em>/);
  // Titles: the penguin document's title words are found in the title field.
  const p = await index.search('emperor penguins', { mode: 'late', exhaustive: true, topK: 1, highlights: true, includeText: true });
  assert.equal(p.hits[0]!.docId, 'penguin-ice');
  const titleSpans = late(p.hits[0]!).spans.filter((s) => s.field === 'title');
  assert.ok(titleSpans.length > 0);
  for (const s of titleSpans) assert.equal(p.hits[0]!.title!.slice(s.start, s.end), s.text);
});

test('the spans\' scores plus otherScore sum to the hit\'s late-interaction score (late: its score, hybrid: fusion.late), PLAID and exhaustive', async () => {
  let checked = 0;
  for (const query of ['why does bread dough rise with yeast', 'wings and lift on an aircraft', 'coral bleaching in warm water', 'magma and lava']) {
    for (const exhaustive of [false, true]) {
      for (const idfWeighting of [true, false]) {
        const { hits } = await index.search(query, { mode: 'late', exhaustive, topK: 5, idfWeighting, highlights: true });
        for (const hit of hits) {
          const l = late(hit);
          assert.equal(l.pid, hit.pid);
          assert.ok(close(l.lateScore, hit.score), `${query} ${hit.docId}: ${l.lateScore} vs ${hit.score}`);
          const sum = l.spans.reduce((s, x) => s + x.score, 0) + l.otherScore;
          assert.ok(close(sum, hit.score), `${query} ${hit.docId}: Σ ${sum} vs ${hit.score}`);
          checked++;
        }
      }
    }
    // ColBERT-PRF appends centroid rows to the query: they have no text, and count in otherScore.
    for (const hit of (await index.search(query, { mode: 'late', topK: 5, rewrite: { prf: true }, highlights: true })).hits) {
      const l = late(hit);
      assert.ok(close(l.spans.reduce((s, x) => s + x.score, 0) + l.otherScore, hit.score), `${query} ${hit.docId} prf`);
      checked++;
    }
    const hybrid = await index.search(query, { mode: 'hybrid', topK: 5, highlights: true });
    for (const hit of hybrid.hits) {
      const l = hit.highlights!.late;
      if (hit.fusion?.late === null || l === null || l === undefined) continue;
      assert.ok(close(l.spans.reduce((s, x) => s + x.score, 0) + l.otherScore, hit.fusion!.late), `${query} ${hit.docId} hybrid`);
      checked++;
    }
  }
  assert.ok(checked > 40, `${checked} hits checked`);
});

test('differential: each hit\'s late highlights (spans, snippet, scores) are deep-equal to the old path\'s: whole centroid-score matrix and the TypeScript twin\'s similarities (late and hybrid, PLAID and exhaustive)', async () => {
  // The old path, kept as the oracle: K × qLen centroid scores computed whole (given in the cache,
  // which then uses them as they are) and fast-scan's similarities from the TypeScript twin, through the
  // same lateHighlights. The search's own path computes only the rows its passages read, on the addon.
  const inner = index as unknown as { arrays: ScoringArrays; queries: QueryPreparer; docstore: DocStoreReader; local: { kernels: Kernels } };
  const a = inner.arrays;
  const encoder = await index.encoder();
  const options = resolveHighlights(true)!;
  let checked = 0;
  for (const query of ['why does bread dough rise with yeast', 'volcanoes erupt molten lava & ash', 'emperor penguins on the ice', 'wings and lift on an aircraft', 'coral bleaching']) {
    const [e] = await encoder.encodeQueries([query]);
    const q = inner.queries.prepare(e!, true);
    const queryRows = encoder.rows(query, 'query');
    for (const [mode, exhaustive] of [['late', false], ['late', true], ['hybrid', false]] as const) {
      const { hits } = await index.search(query, { mode, exhaustive, topK: 10, highlights: true, includeText: true });
      for (const hit of hits) {
        const got = hit.highlights?.late;
        if (hit.pid < 0) continue;
        const p = inner.docstore.getPassages([hit.pid])[0]!;
        const cache: ExactQueryCache = { scores: centroidScores(a, q, typescriptKernels) };
        const want = lateHighlights(a, typescriptKernels, encoder, q, { text: query, rows: queryRows, appendedRows: 0 }, hit.pid, { title: hit.title!, text: hit.text!, passageStart: p.start, passageEnd: p.end }, options, cache);
        assert.deepStrictEqual(got, want, `${mode} ${exhaustive} ${query} ${hit.docId}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 100, `${checked} hits checked`);
  // Two queries' caches interleaved over the same passages (the thread's row scratch changes hands,
  // and its shape with the query length): each row still the whole matrix's bits.
  // Two of the same length (the stamps decide which rows are whose) and a longer one (a new shape).
  const texts = ['bread dough rises', 'lava flows fast', 'ice sheets melt', 'volcanoes erupt molten lava and ash over the town'];
  const all = await Promise.all(texts.map(async (t) => inner.queries.prepare((await encoder.encodeQueries([t]))[0]!, true)));
  const same = all.findIndex((x, i) => i > 0 && i < 3 && x.length === all[0]!.length);
  assert.ok(same > 0, `two queries of one length: ${all.map((x) => x.length).join(', ')}`);
  const qs = [all[0]!, all[same]!, all[3]!];
  assert.notEqual(qs[2]!.length, qs[0]!.length);
  const caches: ExactQueryCache[] = [{}, {}, {}];
  const pids = Array.from({ length: Math.min(12, a.doclens.length) }, (_, i) => i);
  for (const pid of [...pids, ...pids]) {
    for (const j of [0, 1, 0, 2]) {
      const got = lateMaxSim(a, inner.local.kernels, qs[j]!, pid, caches[j]);
      const want = lateMaxSim(a, typescriptKernels, qs[j]!, pid, { scores: centroidScores(a, qs[j]!, typescriptKernels) });
      assert.deepStrictEqual(got, want, `query ${j} passage ${pid}`);
    }
  }
});

test('the bundled model has no [MASK] rows, but a query\'s special rows go to otherScore, never to a span (the stated rule)', async () => {
  const { hits } = await index.search('bread', { mode: 'late', topK: 1, highlights: true, includeText: true });
  const l = late(hits[0]!);
  for (const s of l.spans) for (const q of s.queryTokens) assert.match(q, /[\p{L}\p{N}]/u);
});

test('snippet: a word-bounded window of snippetChars around the best spans, HTML-escaped with the default <em> tags, raw with escape: false', async () => {
  const q = 'volcanoes erupt lava';
  const esc = (await index.search(q, { mode: 'late', exhaustive: true, topK: 3, highlights: true, includeText: true })).hits.find((h) => h.docId === 'volcano-html')!;
  const s = late(esc).snippet;
  assert.ok(!s.text.includes('<script>'), s.text);
  assert.ok(s.text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;') || s.start > esc.text!.indexOf('<script>'), s.text);
  assert.ok(s.text.includes('&amp;'), s.text);
  const raw = (await index.search(q, { mode: 'late', exhaustive: true, topK: 3, highlights: { escape: false, preTag: '[[', postTag: ']]', snippetChars: 40 }, includeText: true })).hits.find((h) => h.docId === 'volcano-html')!;
  const r = late(raw).snippet;
  const plain = r.text.replaceAll('[[', '').replaceAll(']]', '');
  assert.equal(plain, raw.text!.slice(r.start, r.end), 'the snippet is its window of the field, marks aside');
  assert.ok(plain.length <= 40, `${plain.length} characters: ${plain}`);
  assert.ok(r.start === 0 || /\s/.test(raw.text![r.start - 1]!), 'starts on a word boundary');
  assert.ok(r.end === raw.text!.length || /[\s]/.test(raw.text![r.end]!) || /[^\p{L}\p{N}]/u.test(raw.text![r.end - 1]!), `ends on a word boundary: ${JSON.stringify(raw.text!.slice(r.end - 5, r.end + 5))}`);
  assert.match(r.text, /\[\[[^\]]+\]\]/, 'a span inside the window is marked');
  // The best cluster: the window holds the span with the highest score.
  const best = late(raw).spans.filter((x) => x.field === r.field).sort((a, b) => b.score - a.score)[0]!;
  assert.ok(best.start >= r.start && best.end <= r.end, 'the best span is inside the snippet');
});

test('bm25 mode: FTS5\'s own highlights, stemmed as BM25 matched ("volcano" marks "Volcanoes"); hybrid hits carry both, labelled; none without the option', async () => {
  const bm = await index.search('volcano eruption', { mode: 'bm25', topK: 1, highlights: true, includeText: true });
  const hit = bm.hits[0]!;
  assert.equal(hit.docId, 'volcano-html');
  assert.equal(hit.highlights!.late, undefined, 'no late highlights in bm25 mode');
  const b = hit.highlights!.bm25!;
  // Porter-stemmed as BM25 scored: "eruption" marks "erupt" and "eruption", "volcano" marks "Volcanoes".
  assert.deepEqual(b.spans.map((s) => s.text), ['Volcanoes', 'erupt', 'eruption']);
  for (const s of b.spans) assert.equal(hit.text!.slice(s.start, s.end), s.text);
  assert.ok(b.snippet !== null);
  assert.match(b.snippet.text, /<em>Volcanoes<\/em>/);
  assert.ok(!b.snippet.text.includes('<script>'), 'the FTS5 snippet is escaped too');
  const hy = await index.search('volcano eruption', { mode: 'hybrid', topK: 3, highlights: true });
  const h = hy.hits.find((x) => x.docId === 'volcano-html')!;
  assert.ok(h.highlights!.late !== undefined && h.highlights!.bm25 !== undefined, 'hybrid: both kinds');
  assert.ok(hy.timings.highlightsMs !== undefined && hy.timings.highlightsMs >= 0);
  const none = await index.search('volcano eruption', { mode: 'hybrid', topK: 3 });
  assert.ok(none.hits.every((x) => x.highlights === undefined));
  assert.equal(none.timings.highlightsMs, undefined);
});

test('refusals: bad options by name, a pipeline, and the synchronous searchEncoded', async () => {
  for (const bad of [{ snippetChars: 5 }, { snipetChars: 100 }, { preTag: 3 }, { escape: 'yes' }, 'yes']) {
    await assert.rejects(index.search('lava', { highlights: bad as never }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'), JSON.stringify(bad));
  }
  const [e] = await (await index.encoder()).encodeQueries(['lava']);
  assert.throws(() => index.searchEncoded('lava', e!, { mode: 'late', highlights: true }), (x) => isPlaitError(x, 'INVALID_ARGUMENT') && x.details?.['name'] === 'highlights');
});

test('HTTP: highlights true or options in snake_case; answers in snake_case; bad options 400', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const r = await postJson(url, { query: 'volcanoes erupt lava', mode: 'hybrid', top_k: 3, highlights: { snippet_chars: 60, pre_tag: '<b>', post_tag: '</b>' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const hit = r.body.results[0].hits.find((h: { doc_id: string }) => h.doc_id === 'volcano-html');
  assert.ok(hit !== undefined);
  const l = hit.highlights.late;
  assert.equal(typeof l.late_score, 'number');
  assert.equal(typeof l.other_score, 'number');
  assert.ok(Array.isArray(l.spans[0].query_tokens));
  assert.match(l.snippet.text, /<b>[^<]+<\/b>/);
  assert.ok(hit.highlights.bm25.spans.length > 0);
  assert.equal(typeof r.body.results[0].timings.highlights_ms, 'number');
  const plain = await postJson(url, { query: 'volcanoes', mode: 'bm25', highlights: true });
  assert.equal(plain.status, 200);
  assert.match(plain.body.results[0].hits[0].highlights.bm25.snippet.text, /<em>Volcanoes<\/em>/);
  for (const bad of [{ snippet_chars: 5 }, { snippetChars: 100 }, 'yes']) {
    const x = await postJson(url, { query: 'lava', highlights: bad });
    assert.equal(x.status, 400, JSON.stringify(bad));
  }
  const cached = await postJson(url, { query: 'volcanoes', mode: 'bm25' });
  assert.equal(cached.status, 200);
  assert.equal(cached.body.results[0].hits[0].highlights, undefined, 'a result cached with highlights is not served to a request without them');
});

test('CLI: --highlights marks the words in the text output, --json carries the library\'s highlights, a batch says it ignores it', () => {
  const text = runPlait(dir, ['search', 'hl', 'volcanoes erupt lava', '--mode', 'late', '-k', '3', '--highlights']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /volcano-html\n\s+late: .*«Volcanoes erupt[^»]*»/);
  const hybrid = runPlait(dir, ['search', 'hl', 'volcano eruption', '--mode', 'hybrid', '-k', '1', '--highlights']);
  assert.equal(hybrid.code, 0, hybrid.stderr);
  assert.match(hybrid.stdout, /\n\s+late: .*\n\s+bm25: .*«Volcanoes»/);
  const json = runPlait(dir, ['search', 'hl', 'volcano eruption', '--mode', 'bm25', '-k', '1', '--highlights', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { hits: SearchHit[] };
  assert.match(out.hits[0]!.highlights!.bm25!.snippet!.text, /<em>Volcanoes<\/em>/);
  writeFileSync(join(dir, 'q.jsonl'), '{"_id": "1", "text": "lava"}\n');
  const batch = runPlait(dir, ['search', 'hl', '--queries', join(dir, 'q.jsonl'), '--highlights', '-q']);
  assert.equal(batch.code, 0, batch.stderr);
  assert.match(batch.stderr, /--highlights does not apply with --queries/);
  const pipe = runPlait(dir, ['search', 'hl', 'lava', '--pipeline', 'bm25:20 > late:5', '--highlights']);
  assert.notEqual(pipe.code, 0);
  assert.match(pipe.stderr, /--highlights/);
});

test('highlightHits (a cluster shard\'s door): listed hits get what the search gave them; an unknown docId null; a pid of another document late: null', async () => {
  const q = 'volcanoes erupt lava';
  const encoder = await index.encoder();
  const [e] = await encoder.encodeQueries([q]);
  for (const mode of ['late', 'hybrid', 'bm25'] as const) {
    const { hits } = await index.searchEncodedBatch([q], mode === 'bm25' ? [] : [e!], { mode, exhaustive: mode !== 'bm25', topK: 5, highlights: true }).then((r) => r[0]!);
    assert.ok(hits.length >= 2);
    const got = await index.highlightHits(hits, { lateText: q, embedding: mode === 'bm25' ? null : e!, bm25: mode === 'late' ? null : q }, true);
    assert.deepEqual(got, hits.map((h) => h.highlights), mode);
  }
  const { hits } = await index.search(q, { mode: 'late', exhaustive: true, topK: 2 });
  const [unknown, wrongPid] = await index.highlightHits([{ docId: 'no-such-doc', pid: hits[0]!.pid }, { docId: hits[0]!.docId, pid: hits[1]!.pid }], { lateText: q, embedding: e!, bm25: null }, true);
  assert.equal(unknown, null);
  assert.deepEqual(wrongPid, { late: null });
});
