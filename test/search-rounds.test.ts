/**
 * The rounds of late ranking in --timings (polish5): a search whose first PLAID round leaves fewer
 * than k documents widens (late-ranking.ts: ×4 ncells and ndocs, pruning off), and what each round
 * ran with is reported — in the library's SearchTimings.rounds, `plait search --timings` (text and
 * JSON) and the HTTP search route, the same rounds in each. Before, all three showed the first
 * round's settings only, with the last round's stage timings. A selective filter's exact scan,
 * which replaces PLAID, is reported as that, without PLAID settings.
 *
 * The corpus: 4,200 one-passage documents, metadata `half` 0 or 1. A filter allowing them all (or
 * half) is not selective (filtered-search.ts exactFilter: past FILTER_DEFAULTS.exactMaxShare of the
 * passages and past exactPerNdocs × ndocs), so it goes through PLAID; a filter on 200 doc_ids (~5%)
 * is selective, so its passages are scanned exactly. `--ndocs 4 -k 10` keeps one passage in PLAID's
 * first round (ndocs/4), so a second round is needed. A page covering every document (k ≥ 4,200,
 * or k ≥ a filter's documents) is one exhaustive (or filtered-exact) round: the PLAID rounds before
 * it could not have found them all (polish6).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILTER_DEFAULTS, plaidDefaultsFor } from '../src/config/defaults.js';
import { buildIndex, openIndex, type LateRound, type PlaitIndex, type SearchOptions } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { borrowedSample, postJson, serve } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';

const DOCS = 4200;
const WORDS = ['bread', 'yeast', 'wing', 'lift', 'coral', 'reef', 'ocean', 'river', 'stone', 'metal', 'engine', 'plane', 'storm', 'cloud', 'forest', 'seed', 'light', 'sound', 'glass', 'sugar'];
const QUERY = 'bread yeast storm';
const ALL = { half: { $in: [0, 1] } };
const HALF = { half: 1 };
/** 200 of the 4,200 documents: a selective filter. */
const SELECTIVE = { doc_id: { $in: Array.from({ length: 200 }, (_, i) => `d${i * 21}`) } };
let dir: string;
let path: string;
let index: PlaitIndex;

before(async () => {
  // The filters allowing every document and half of them must go through PLAID; SELECTIVE must not.
  assert.ok(DOCS / 2 > FILTER_DEFAULTS.exactMaxShare * DOCS && DOCS / 2 > FILTER_DEFAULTS.exactPerNdocs * plaidDefaultsFor(10).ndocs);
  assert.ok(200 <= FILTER_DEFAULTS.exactMaxShare * DOCS);
  dir = mkdtempSync(join(tmpdir(), 'plait-rounds-'));
  const lines: string[] = [];
  for (let i = 0; i < DOCS; i++) {
    const text = [0, 1, 2, 3, 4, 5].map((k) => WORDS[(i * 7 + k * 13 + (i >> 3)) % WORDS.length]).join(' ');
    lines.push(JSON.stringify({ _id: `d${i}`, title: '', text: `${text} ${i}`, metadata: { half: i % 2 } }));
  }
  writeFileSync(join(dir, 'corpus.jsonl'), `${lines.join('\n')}\n`);
  path = join(dir, 'index');
  await buildIndex(join(dir, 'corpus.jsonl'), { index: path, encoderOptions: { threads: 1 } });
  index = await openIndex(path, { encoderOptions: { threads: 1 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The rounds without their times (which differ run to run). */
function shape(rounds: readonly LateRound[]): unknown[] {
  return rounds.map((r) => (r.kind === 'plaid' ? { kind: r.kind, params: r.params, candidates: r.candidates } : r.kind === 'filtered-exact' ? { kind: r.kind, passages: r.passages } : { kind: r.kind }));
}

test('library: a filtered search that widens reports every round; the stage timings are the last round\'s', async () => {
  const opts: SearchOptions = { mode: 'late', topK: 10, ndocs: 4, filter: ALL };
  const { hits, timings } = await index.search(QUERY, opts);
  assert.equal(hits.length, 10);
  const rounds = timings.rounds!;
  assert.ok(rounds.length >= 2, JSON.stringify(rounds));
  const [first, second] = rounds as [LateRound, LateRound];
  assert.ok(first.kind === 'plaid' && second.kind === 'plaid');
  assert.deepEqual({ ...first.params }, { ...index.resolveSearch(opts).plaid });
  assert.equal(first.params.ndocs, 4);
  // Widening: ×4 ncells and ndocs, pruning off.
  assert.equal(second.params.ndocs, 16);
  assert.equal(second.params.nIvfProbe, 4 * first.params.nIvfProbe);
  assert.equal(second.params.centroidScoreThreshold, -Infinity);
  const last = rounds.filter((r) => r.kind === 'plaid').at(-1)!;
  assert.ok(last.kind === 'plaid');
  assert.equal(timings.candidates, last.candidates);
  assert.equal(timings.exactMs, last.exactMs);
  for (const r of rounds) assert.ok(r.ms >= 0 && r.ms <= timings.lateMs, `${r.ms} within ${timings.lateMs}`);
  // Without the small ndocs the first round is enough: one round.
  const one = await index.search(QUERY, { mode: 'late', topK: 10, filter: ALL });
  assert.equal(one.timings.rounds!.length, 1);
  // bm25 mode ranks no late interaction: no rounds.
  assert.equal((await index.search(QUERY, { mode: 'bm25', topK: 10 })).timings.rounds, undefined);
});

test('library: a selective filter is one exact-scan round of its passages, an exhaustive search one exhaustive round', async () => {
  const filtered = await index.search(QUERY, { mode: 'late', topK: 10, ndocs: 4, filter: SELECTIVE });
  assert.deepEqual(shape(filtered.timings.rounds!), [{ kind: 'filtered-exact', passages: 200 }]);
  // Half the index is not selective: PLAID with the filter's marks (one round at the default ndocs).
  const half = await index.search(QUERY, { mode: 'late', topK: 10, filter: HALF });
  assert.deepEqual(half.timings.rounds!.map((r) => r.kind), ['plaid']);
  const exhaustive = await index.search(QUERY, { mode: 'late', topK: 10, exhaustive: true });
  assert.deepEqual(shape(exhaustive.timings.rounds!), [{ kind: 'exhaustive' }]);
});

test('library: a page covering every document is one exhaustive round; covering every allowed document, one exact scan of them', async () => {
  // k ≥ the index's documents: only the exhaustive scan finds them all (before: 3 PLAID rounds, then it).
  const all = await index.search(QUERY, { mode: 'late', topK: DOCS });
  assert.deepEqual(shape(all.timings.rounds!), [{ kind: 'exhaustive' }]);
  assert.equal(all.hits.length, DOCS);
  const more = await index.search(QUERY, { mode: 'late', topK: DOCS + 500 });
  assert.deepEqual(shape(more.timings.rounds!), [{ kind: 'exhaustive' }]);
  assert.equal(more.hits.length, DOCS);
  // The same ranking as the exhaustive search's.
  const oracle = await index.search(QUERY, { mode: 'late', topK: DOCS, exhaustive: true });
  assert.deepEqual(all.hits.map((h) => h.docId), oracle.hits.map((h) => h.docId));
  // k one short of every document: PLAID first, as before.
  assert.equal((await index.search(QUERY, { mode: 'late', topK: DOCS - 1 })).timings.rounds![0]!.kind, 'plaid');
  // A filter: k ≥ its 2,100 documents scans their passages exactly (before: PLAID rounds, then every passage of the index).
  const half = await index.search(QUERY, { mode: 'late', topK: DOCS / 2, filter: HALF });
  assert.deepEqual(shape(half.timings.rounds!), [{ kind: 'filtered-exact', passages: DOCS / 2 }]);
  assert.equal(half.hits.length, DOCS / 2);
  const halfOracle = oracle.hits.filter((h) => Number(h.docId.slice(1)) % 2 === 1).map((h) => h.docId);
  assert.deepEqual(half.hits.map((h) => h.docId), halfOracle);
});

test('CLI: --timings says each round in text, and --json --timings gives the library\'s rounds', () => {
  const args = ['search', path, QUERY, '--mode', 'late', '-k', '10', '--ndocs', '4', '--filter', JSON.stringify(ALL), '--timings'];
  const text = runPlait(dir, args);
  assert.equal(text.code, 0, text.stderr);
  const line = text.stdout.split('\n').find((l) => l.startsWith('timings:'))!;
  assert.match(line, /PLAID ncells \d+ per query token.*ndocs 4\b.*\(flags\+defaults\)/);
  assert.match(line, /\d rounds \(fewer than k documents survived\): round 1 \(\d+ candidates, [\d.]+ ms: candidates [\d.]+, prune [\d.]+, interaction [\d.]+, exact [\d.]+\); round 2 PLAID ncells \d+, no pruning, ndocs 16 \(\d+ candidates, [\d.]+ ms: candidates /);
  // The top-level stage timings are the last round's only: printed beside the first round's
  // settings they read as that round's, so with several rounds each round says its own instead.
  assert.match(line, /^timings: total [\d.]+ ms \(encode [\d.]+ ms, late [\d.]+ ms\); PLAID/);
  const json = runPlait(dir, [...args, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const t = JSON.parse(json.stdout).timings;
  assert.ok(t.rounds.length >= 2);
  assert.equal(t.rounds[0].params.ndocs, 4);
  assert.equal(t.rounds[1].params.ndocs, 16);
  assert.equal(t.rounds[1].params.centroidScoreThreshold, null, 'JSON has no -Infinity: null is pruning off');
  assert.equal(t.plaid.ndocs, 4);
  assert.equal(t.plaid.source, 'flags+defaults');
  // The selective filter: its exact scan is said, with no PLAID settings claimed.
  const sel = runPlait(dir, ['search', path, QUERY, '--mode', 'late', '-k', '10', '--filter', JSON.stringify(SELECTIVE), '--timings']);
  assert.equal(sel.code, 0, sel.stderr);
  const selLine = sel.stdout.split('\n').find((l) => l.startsWith('timings:'))!;
  assert.match(selLine, /exact scan of the filter's 200 passages \(no PLAID\)/);
  assert.doesNotMatch(selLine, /PLAID ncells/);
  const selJson = JSON.parse(runPlait(dir, ['search', path, QUERY, '--mode', 'late', '-k', '10', '--filter', JSON.stringify(SELECTIVE), '--timings', '--json']).stdout).timings;
  assert.equal(selJson.plaid, undefined);
  // An exhaustive search says so (the line named no method before).
  const ex = runPlait(dir, ['search', path, QUERY, '--mode', 'late', '-k', '10', '--exhaustive', '--timings']);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout.split('\n').find((l) => l.startsWith('timings:'))!, /; exact scan of every passage; exact stage /);
  assert.deepEqual(selJson.rounds.map((r: { kind: string; passages: number }) => [r.kind, r.passages]), [['filtered-exact', 200]]);
  // A page covering every document is one exact scan: no PLAID settings claimed (they were printed, unused).
  const every = runPlait(dir, ['search', path, QUERY, '--mode', 'late', '-k', String(DOCS), '--timings']);
  assert.equal(every.code, 0, every.stderr);
  const everyLine = every.stdout.split('\n').find((l) => l.startsWith('timings:'))!;
  assert.match(everyLine, /; exact scan of every passage; exact stage /);
  assert.doesNotMatch(everyLine, /PLAID ncells/);
});

test('HTTP: the search route gives the same rounds in snake_case next to the first round\'s plaid settings', async () => {
  let server: RunningServer | undefined;
  try {
    server = await serve(await borrowedSample(dir, path, index));
    const url = `${server.url}/v1/indexes/sample/search`;
    const res = await postJson(url, { query: QUERY, mode: 'late', top_k: 10, ndocs: 4, filter: ALL });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const result = res.body.results[0];
    const lib = (await index.search(QUERY, { mode: 'late', topK: 10, ndocs: 4, filter: ALL })).timings.rounds!;
    assert.equal(result.rounds.length, lib.length);
    lib.forEach((r, i) => {
      const got = result.rounds[i];
      assert.equal(got.kind, r.kind);
      assert.ok(r.kind === 'plaid');
      assert.equal(got.candidates, r.candidates);
      assert.equal(got.params.n_ivf_probe, r.params.nIvfProbe);
      assert.equal(got.params.ndocs, r.params.ndocs);
      assert.equal(got.params.centroid_score_threshold, Number.isFinite(r.params.centroidScoreThreshold) ? r.params.centroidScoreThreshold : null);
      assert.equal(typeof got.exact_ms, 'number');
    });
    assert.equal(result.plaid.ndocs, 4);
    assert.equal(result.plaid.source, 'flags+defaults');
    const sel = await postJson(url, { query: QUERY, mode: 'late', top_k: 10, filter: SELECTIVE });
    assert.equal(sel.status, 200, JSON.stringify(sel.body));
    assert.equal(sel.body.results[0].plaid, undefined, 'no PLAID ran: no PLAID settings');
    assert.deepEqual(sel.body.results[0].rounds.map((r: { kind: string; passages: number }) => [r.kind, r.passages]), [['filtered-exact', 200]]);
  } finally {
    await server?.close();
  }
});
