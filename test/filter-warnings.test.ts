/**
 * A filter that matches no document says why (docstore/metadata-catalogue.ts), in the library
 * (`SearchResult.filterWarnings`), over HTTP (the result's `warnings`, snake_case) and at the CLI
 * (its "no hits" line gains the reason): a field no document has, with a did-you-mean
 * (`metadata.year` → `year`, `yeer` → `year`), and a value of a JSON type the field never stores
 * (`1962` asked, `"1962"` stored). Before, each answered `hits: []` with no explanation.
 * The catalogue is per index generation: a field added by a write is known to the next search.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { PlaitIndex } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { postJson, servedCorpus, type ServedCorpus } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';
import { filterWarnings, readFieldCatalogue } from '../src/docstore/metadata-catalogue.js';
import Database from 'better-sqlite3';

let dir: string;
let index: PlaitIndex;
let server: RunningServer;

const DOCS = [
  { _id: 'd1', title: 'Bread', text: 'Yeast makes bread dough rise while it proves.', metadata: { year: '1962', tags: ['baking', 'food'], venue: { name: 'Kitchen' } } },
  { _id: 'd2', title: 'Tea', text: 'Green tea leaves are heated soon after picking to stop oxidation.', metadata: { year: '1971', tags: ['drink'], venue: { name: 'Garden' } } },
  { _id: 'd3', title: 'Coffee', text: 'Roasting turns green coffee beans brown; sugars caramelise.', metadata: { year: '1980', tags: [] } },
  { _id: 'd4', title: 'Cheese', text: 'Rennet curdles milk into curds and whey before pressing.' },
];

let served: ServedCorpus | undefined;

before(async () => {
  served = await servedCorpus('plait-filter-warnings-', 'meta', DOCS.map((d) => JSON.stringify(d)), 0);
  ({ dir, index, server } = served);
});

after(async () => {
  await served?.dispose();
});

type Warning = { code: string; field?: string; suggestion?: string; asked_type?: string; stored_types?: string[]; message: string };
const search = async (body: Record<string, unknown>): Promise<{ status: number; hits: unknown[]; warnings: Warning[] | undefined }> => {
  const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', ...body });
  return { status: r.status, hits: r.body.results?.[0]?.hits, warnings: r.body.results?.[0]?.warnings };
};

test('HTTP: a filter field no document has is FILTER_FIELD_UNKNOWN with a did-you-mean, in every mode', async () => {
  for (const mode of ['late', 'bm25', 'hybrid']) {
    const nested = await search({ mode, filter: { 'metadata.year': '1962' } });
    assert.equal(nested.status, 200);
    assert.deepEqual(nested.hits, []);
    assert.equal(nested.warnings?.length, 1, JSON.stringify(nested.warnings));
    assert.equal(nested.warnings![0]!.code, 'FILTER_FIELD_UNKNOWN');
    assert.equal(nested.warnings![0]!.field, 'metadata.year');
    assert.equal(nested.warnings![0]!.suggestion, 'year');
    assert.match(nested.warnings![0]!.message, /filter field "metadata.year": no document has it; did you mean "year"\? \(filter paths start inside the metadata\)/);
    const typo = await search({ mode, filter: { yeer: { $gte: '1900' } } });
    assert.equal(typo.warnings?.[0]?.code, 'FILTER_FIELD_UNKNOWN', mode);
    assert.equal(typo.warnings?.[0]?.suggestion, 'year');
  }
  // A nested field the documents have is known by its dotted path.
  const venue = await search({ mode: 'late', filter: { 'venue.name': 'Kitchen' } });
  assert.equal(venue.hits.length, 1);
  assert.equal(venue.warnings, undefined);
});

test('HTTP: a value of another JSON type than every stored one is FILTER_TYPE_MISMATCH naming the stored type', async () => {
  for (const filter of [{ year: 1962 }, { year: { $in: [1962, 1971] } }, { year: { $gte: 1900 } }]) {
    const r = await search({ mode: 'late', filter });
    assert.equal(r.status, 200);
    assert.deepEqual(r.hits, []);
    assert.equal(r.warnings?.[0]?.code, 'FILTER_TYPE_MISMATCH', JSON.stringify(filter));
    assert.equal(r.warnings![0]!.field, 'year');
    assert.equal(r.warnings![0]!.asked_type, 'number');
    assert.deepEqual(r.warnings![0]!.stored_types, ['string']);
    assert.match(r.warnings![0]!.message, /is given a number \((1962|1900)\) but every stored value of it is a string/);
  }
  // Array fields are checked by their elements' types.
  const tags = await search({ mode: 'bm25', filter: { tags: 3 } });
  assert.equal(tags.warnings?.[0]?.code, 'FILTER_TYPE_MISMATCH');
  // Fields and types exist, the value does not: FILTER_NO_MATCH. A filter that matches: no warning.
  const none = await search({ mode: 'late', filter: { year: '1800' } });
  assert.deepEqual(none.warnings?.map((w) => w.code), ['FILTER_NO_MATCH']);
  const some = await search({ mode: 'late', filter: { year: '1962' } });
  assert.equal(some.hits.length, 1);
  assert.equal(some.warnings, undefined);
  // $ne / $exists: false match documents without the field: never an unknown-field warning.
  const ne = await search({ mode: 'late', filter: { yeer: { $ne: 1 } } });
  assert.equal(ne.hits.length, 4);
  assert.equal(ne.warnings, undefined);
});

test('library: filterWarnings on the result; the catalogue follows the index generation', async () => {
  const r = await index.search('bread', { mode: 'late', filter: { rating: 5 } });
  assert.deepEqual(r.hits, []);
  assert.equal(r.filterWarnings?.[0]?.code, 'FILTER_FIELD_UNKNOWN');
  await index.add([{ docId: 'd5', title: 'Rye', text: 'Rye bread is dense and sour.', metadata: { rating: 5 } }]);
  const after = await index.search('bread', { mode: 'late', filter: { rating: 5 } });
  assert.deepEqual(after.hits.map((h) => h.docId), ['d5']);
  assert.equal(after.filterWarnings, undefined);
  const typed = await index.search('bread', { mode: 'late', filter: { rating: '5' } });
  assert.equal(typed.filterWarnings?.[0]?.code, 'FILTER_TYPE_MISMATCH', 'the new generation\'s catalogue holds rating as a number');
});

test('CLI: the "no hits" line names the reason and its code', () => {
  const r = runPlait(dir, ['search', 'meta', 'bread', '--mode', 'late', '--filter', '{"metadata.year": "1962"}']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^plait: no hits \(no document passes --filter\): filter field "metadata.year": no document has it; did you mean "year"\?.*\[FILTER_FIELD_UNKNOWN\]$/m);
  const typed = runPlait(dir, ['search', 'meta', 'bread', '--mode', 'bm25', '--filter', '{"year": 1962}', '--json']);
  assert.equal((JSON.parse(typed.stdout) as { filterWarnings: { code: string }[] }).filterWarnings[0]!.code, 'FILTER_TYPE_MISMATCH');
});

test('the catalogue: dotted paths, quoted keys, array elements by type, arrays of objects not descended', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE documents (doc_rowid INTEGER PRIMARY KEY, metadata TEXT)');
  const put = db.prepare('INSERT INTO documents (metadata) VALUES (?)');
  put.run(JSON.stringify({ 'first author': 'Ada', venue: { name: 'X', year: 1 }, tags: ['a', 2], refs: [{ id: 1 }], n: null }));
  put.run(null);
  put.run(JSON.stringify({ venue: { name: 7 } }));
  const c = readFieldCatalogue(db);
  assert.deepEqual([...c.keys()].sort(), ['first author', 'n', 'refs', 'tags', 'venue', 'venue.name', 'venue.year']);
  assert.deepEqual([...c.get('tags')!].sort(), ['array', 'number', 'string']);
  assert.deepEqual([...c.get('venue.name')!].sort(), ['number', 'string']);
  assert.deepEqual(filterWarnings({ $or: [{ 'venue.nme': 'X' }, { n: { $exists: true } }] }, c).map((w) => [w.code, w.suggestion]), [['FILTER_FIELD_UNKNOWN', 'venue.name']]);
  db.close();
});
