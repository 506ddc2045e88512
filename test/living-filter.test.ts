/**
 * Metadata filters (issue 12): the compiler's hand-checked SQL and INVALID_FILTER messages,
 * injection attempts, and filtered search against an oracle (exhaustive search without a filter,
 * then filtered in JavaScript) at selectivities 50%, 5% and ~1% on a synthetic index whose
 * documents carry metadata — PLAID and exact paths both return topK whenever that many match.
 */
import Database from 'better-sqlite3';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../src/docstore/metadata-filter.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { isPlaitError } from '../src/errors/index.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc } from './helpers/living.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { FILTER_DEFAULTS } from '../src/config/defaults.js';
import { candidateMarks, docMask } from '../src/search/filtered-search.js';
import { DocPassages } from '../src/search/doc-passages.js';
import { plaidSearch } from '../src/search/plaid.js';
import { getKernels } from '../src/kernels/index.js';

const DIM = 32;
const N = 400;
let dir: string;
let index: PlaitIndex;
let embs: TokenEmbeddings[];
const meta = (i: number): Record<string, unknown> => ({
  year: 2000 + (i % 25),
  half: i % 2 === 0,
  tag: i % 20 === 0 ? 'rare' : i % 100 === 7 ? "o'brien; DROP TABLE documents; --" : 'common',
  venue: { name: i % 3 === 0 ? 'SIGIR' : 'ECIR' },
  ...(i % 4 === 0 ? { note: null } : {}),
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-filter-'));
  const path = join(dir, 'idx');
  embs = syntheticPassages(N, DIM, 31, 64, 0.35).passages;
  // Build without metadata (embeddings builds store none), then upsert every document with it:
  // this also exercises replacing every document of an index.
  await buildSynthetic(path, embs, DIM);
  updateIndex(path, { add: embs.map((e, i) => encodedDoc(`d${i}`, e, meta(i))) }, { autoCompactShare: 1 });
  index = await openIndex(path);
});
after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('$ne, $nin and $not match documents without the field (MongoDB\'s rule; a fresh-user trial found them dropped)', () => {
  // Rows: one with the field true, one with it false, one without it, one without any metadata.
  const db = new Database(':memory:');
  db.exec('CREATE TABLE documents (doc_id TEXT, metadata TEXT)');
  const rows: Array<[string, string | null]> = [['t', '{"draft": true, "year": 2024}'], ['f', '{"draft": false, "year": 2019}'], ['none', '{"year": 2021}'], ['null', null]];
  for (const r of rows) db.prepare('INSERT INTO documents VALUES (?, ?)').run(...r);
  const ids = (filter: object): string[] => {
    const c = compileFilter(filter);
    return (db.prepare(`SELECT doc_id FROM documents WHERE ${c.where} ORDER BY rowid`).pluck().all(...c.params) as string[]);
  };
  assert.deepEqual(ids({ $not: { draft: true } }), ['f', 'none', 'null']);
  assert.deepEqual(ids({ draft: { $ne: true } }), ['f', 'none', 'null']);
  assert.deepEqual(ids({ year: { $nin: [2019] } }), ['t', 'none', 'null']);
  assert.deepEqual(ids({ year: { $gte: 2020 }, $not: { draft: true } }), ['none']);
  assert.deepEqual(ids({ $not: { year: { $gte: 2020 } } }), ['f', 'null']);
  assert.deepEqual(ids({ draft: true }), ['t']);
  db.close();
});

test('filters compile to parameterised SQL; values and paths are parameters only', () => {
  const c = compileFilter({ year: { $gte: 2020 }, 'venue.name': 'SIGIR' });
  // One json_type and one json_extract per scalar row; json_each over an array field's elements.
  const field = (elementTest: string, whens: string): string =>
    `COALESCE(CASE json_type(metadata, ?) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(metadata, ?) AS e WHERE ${elementTest})${whens} ELSE 0 END, 0)`;
  assert.equal(
    c.where,
    `(${field("(e.type IN ('integer', 'real') AND e.value >= ?)", " WHEN 'integer' THEN json_extract(metadata, ?) >= ? WHEN 'real' THEN json_extract(metadata, ?) >= ?")} AND ${field("(e.type = 'text' AND e.value = ?)", " WHEN 'text' THEN json_extract(metadata, ?) = ?")})`,
  );
  const y = '$."year"';
  const v = '$."venue"."name"';
  assert.deepEqual(c.params, [y, y, 2020, y, 2020, y, 2020, v, v, 'SIGIR', v, 'SIGIR']);
  // A list is one JSON parameter, whatever its length.
  assert.deepEqual(compileFilter({ doc_id: { $in: ['a', 'b'] } }), {
    where: 'COALESCE(doc_id IN (SELECT value FROM json_each(?)), 0)',
    params: ['["a","b"]'],
    source: { doc_id: { $in: ['a', 'b'] } },
  });
  const evil = "x' OR 1=1; DROP TABLE documents; --";
  const e = compileFilter({ tag: evil, [evil]: 1, $or: [{ doc_id: evil }, { $not: { year: { $lt: evil } } }] });
  assert.ok(!e.where.includes(evil) && !e.where.includes('DROP'), 'no user text in the SQL');
  assert.ok(e.params.includes(evil));
});

test('doc_id compared with an integer compares with its decimal text, as every write door stores a number id (HTTP {"doc_id": 5}, JSONL {"_id": 5})', () => {
  assert.deepEqual(compileFilter({ doc_id: 5 }).params, compileFilter({ doc_id: '5' }).params);
  assert.deepEqual(compileFilter({ doc_id: { $ne: -5 } }).params, compileFilter({ doc_id: { $ne: '-5' } }).params);
  assert.deepEqual(compileFilter({ doc_id: { $in: [5, 'a b'] } }).params, ['["5","a b"]']);
});

test('INVALID_FILTER names the bad part', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ year: { $gte: [1] } }, /filter\.year\.\$gte/],
    [{ year: { $regex: 'x' } }, /filter\.year\.\$regex: unknown operator/],
    [{ $where: 'x' }, /filter\.\$where: unknown operator/],
    [{ 'a"b': 1 }, /filter\.a"b: .*metadata path/],
    [{ 'a..b': 1 }, /metadata path/],
    [{ $or: [] }, /filter\.\$or: expected a non-empty array/],
    [{ $and: [{ year: 1 }, { tag: { $in: 'x' } }] }, /filter\.\$and\[1\]\.tag\.\$in/],
    // An integer is the id's decimal text, as the writes read it (below); a fraction names no one id.
    [{ doc_id: 1.5 }, /doc_id is compared with ids: strings, or integers read as their decimal text \(5 is the id "5"\).* \(received 1\.5\)/],
    // The element at fault, not the list (it said "received an array of length 3").
    [{ doc_id: { $in: ['1', '2', 1.5] } }, /filter\.doc_id\.\$in\[2\]: doc_id is compared with ids.*\(received 1\.5\)/],
    [{ doc_id: { $gt: 3 } }, /filter\.doc_id\.\$gt: doc_id is ordered as text/],
    [{ year: { $exists: 'yes' } }, /\$exists: expected true or false/],
    [{}, /empty filter/],
    ['year > 2020', /expected an object/],
    [{ year: Number.NaN }, /finite number/],
  ];
  for (const [f, re] of cases) {
    assert.throws(() => compileFilter(f), (e) => isPlaitError(e, 'INVALID_FILTER') && re.test((e as Error).message), JSON.stringify(f));
  }
});

/** The oracle: exhaustive unfiltered ranking of every document, filtered here. */
function oracle(q: TokenEmbeddings, keep: (i: number) => boolean, k: number): string[] {
  const all = index.searchEncoded('', q, { topK: N, exhaustive: true }).hits;
  return all.filter((h) => keep(Number(h.docId.slice(1)))).slice(0, k).map((h) => h.docId);
}

test('filtered search equals exhaustive filtered search at 50%, 5% and ~1% selectivity, and fills topK', () => {
  const cases: Array<[string, object, (i: number) => boolean]> = [
    ['50%', { half: true }, (i) => i % 2 === 0],
    ['5%', { tag: 'rare' }, (i) => i % 20 === 0],
    ['1%', { tag: "o'brien; DROP TABLE documents; --" }, (i) => i % 100 === 7],
    ['range+or', { $or: [{ year: { $gte: 2022, $lt: 2024 } }, { doc_id: 'd5' }] }, (i) => (i % 25 >= 22 && i % 25 < 24) || i === 5],
    ['not/exists', { $not: { note: { $exists: true } }, 'venue.name': { $in: ['SIGIR'] } }, (i) => i % 4 !== 0 && i % 3 === 0],
    ['null', { note: null }, (i) => i % 4 === 0],
  ];
  for (const [name, filter, keep] of cases) {
    const matching = Array.from({ length: N }, (_, i) => i).filter(keep).length;
    for (const qi of [3, 120, 377]) {
      const q = embs[qi]!;
      const want = oracle(q, keep, 10);
      assert.equal(want.length, Math.min(10, matching));
      for (const exhaustive of [false, true]) {
        const got = index.searchEncoded('', q, { topK: 10, filter: filter as never, exhaustive }).hits.map((h) => h.docId);
        assert.equal(got.length, Math.min(10, matching), `${name} q${qi}: topK filled`);
        for (const id of got) assert.ok(keep(Number(id.slice(1))), `${name}: ${id} does not match`);
        if (exhaustive) assert.deepEqual(got, want, `${name} q${qi} exhaustive`);
        else assert.equal(got[0], want[0], `${name} q${qi}: PLAID's best equals the oracle's`);
      }
    }
  }
  // The 50% filter allows more passages than the exact path takes: PLAID + widening served it.
  assert.ok(N / 2 <= FILTER_DEFAULTS.exactMaxPassages, 'this corpus is small: both paths are covered through exhaustive vs PLAID');
  // A filter nothing matches returns nothing; the stored injection string was data, the table is intact.
  assert.deepEqual(index.searchEncoded('', embs[0]!, { filter: { tag: 'none' } }).hits, []);
  assert.equal(index.docstore.nDocuments, N);
});

test('delete by filter removes exactly the matching documents', async () => {
  const path = join(dir, 'idx');
  const other = await openIndex(path);
  try {
    const r = updateIndex(path, { deleteWhere: { tag: "o'brien; DROP TABLE documents; --" } }, { autoCompactShare: 1 });
    assert.equal(r.deleted, 4);
    assert.throws(() => updateIndex(path, { deleteWhere: { tag: { $like: '%' } } as never }), (e) => isPlaitError(e, 'INVALID_FILTER'));
    await other.refresh();
    assert.equal(other.docstore.nDocuments, N - 4);
    const hits = other.searchEncoded('', embs[7]!, { topK: N, exhaustive: true }).hits;
    assert.equal(hits.length, N - 4);
    assert.ok(!hits.some((h) => Number(h.docId.slice(1)) % 100 === 7));
  } finally {
    await other.close();
  }
});

/** Sends every filter through PLAID (filtered-search.ts exactFilter: no exact scan of allowed passages); returns the defaults to restore. */
function forcePlaid(): typeof FILTER_DEFAULTS {
  const saved = { ...FILTER_DEFAULTS };
  Object.assign(FILTER_DEFAULTS, { exactMaxPassages: 0, exactPerNdocs: 0 });
  return saved;
}

test('a broad filter past the exact threshold goes through PLAID and widening', async () => {
  const saved = forcePlaid();
  try {
    for (const [filter, keep] of [[{ half: true }, (i: number) => i % 2 === 0], [{ tag: 'rare' }, (i: number) => i % 20 === 0]] as const) {
      for (const qi of [3, 120]) {
        const r = index.searchEncoded('', embs[qi]!, { topK: 10, filter });
        assert.equal(r.timings.rounds![0]!.kind, 'plaid');
        const got = r.hits.map((h) => h.docId);
        assert.equal(got.length, 10);
        for (const id of got) assert.ok(keep(Number(id.slice(1))));
        // PLAID is approximate on this synthetic data (no filter: a low share of the exhaustive
        // top-10), so its best filtered hit must be among exhaustive filtered search's top 10,
        // not necessarily its first.
        assert.ok(oracle(embs[qi]!, keep, 10).includes(got[0]!), `${JSON.stringify(filter)} q${qi}: ${got[0]}`);
      }
    }
  } finally {
    Object.assign(FILTER_DEFAULTS, saved);
  }
});

test('a broad filter keeps excluded passages out of PLAID candidate generation (calling thread and workers)', async () => {
  const a = index.scoringArrays;
  const mask = docMask(index.docstore, new DocPassages(index.docstore.pidToDoc, index.docstore.rowidSpan), compileFilter({ tag: 'rare' }));
  const marks = candidateMarks(a, index.docstore.pidToDoc, mask);
  const q = { vectors: embs[3]!.vectors, length: embs[3]!.length, weights: null };
  const all = { nIvfProbe: a.nCentroids, centroidScoreThreshold: -Infinity, ndocs: 10_000 };
  for (let run = 0; run < 2; run++) {
    const { timings, hits } = plaidSearch(a, q, all, getKernels(), marks);
    assert.equal(timings.candidates, mask.passages, 'exactly the allowed passages are candidates');
    for (const pid of hits.pids) assert.equal(mask.allowed[index.docstore.pidToDoc[pid]!], 1);
  }
  const saved = forcePlaid();
  const pooled = await openIndex(join(dir, 'idx'), { workers: 1 });
  try {
    const [r] = await pooled.searchEncodedBatch([''], [embs[120]!], { topK: 10, filter: { tag: 'rare' } });
    assert.equal(r!.hits.length, 10);
    assert.equal(r!.timings.rounds![0]!.kind, 'plaid');
    for (const h of r!.hits) assert.equal(Number(h.docId.slice(1)) % 20, 0);
  } finally {
    Object.assign(FILTER_DEFAULTS, saved);
    await pooled.close();
  }
});
