/**
 * Metadata fields whose values mix JSON types (docstore/metadata-types.ts). An untyped CSV `year`
 * column stores "1962"; rows added later typed `year:number` store 1962; `{"year": {"$gte": 1960}}`
 * then matches the numbers alone (types compare as JSON types). Before, nothing said so at any door:
 * - a write that brings a field a new JSON type answers METADATA_TYPE_MIXED (library
 *   `metadataWarnings`, HTTP `warnings` in snake_case, CLI stderr), a build of a mixed corpus too;
 * - a comparison filter on such a field answers FILTER_TYPE_MIXED even when it matched documents
 *   (the catalogue used to be read only when a filter matched nothing);
 * - the counts live in the store's `metadata_types` table, kept by each write's transaction (a
 *   delete subtracts), so a filtered search reads a few rows instead of json_tree over every
 *   document; a store without the table (an older plait's) opens, searches and gets it at its
 *   first write.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openIndex, type PlaitIndex } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { postJson, servedCorpus, type ServedCorpus } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';
import { clusterTypeWarnings, documentFieldTypes, readMetadataTypes, scanMetadataTypes, type FieldTypeCounts } from '../src/docstore/metadata-types.js';
import { mixedFilterWarnings, readFieldCatalogue, type JsonType } from '../src/docstore/metadata-catalogue.js';
import type { MetadataFilter } from '../src/docstore/metadata-filter.js';

let dir: string;
let index: PlaitIndex;
let server: RunningServer;
let served: ServedCorpus | undefined;

// As an untyped CSV column stores them: strings.
const DOCS = [
  { _id: 'd1', title: 'Bread', text: 'Yeast makes bread dough rise while it proves.', metadata: { year: '1962', tags: ['baking', 'food'] } },
  { _id: 'd2', title: 'Tea', text: 'Green tea leaves are heated soon after picking to stop oxidation.', metadata: { year: '1971' } },
  { _id: 'd3', title: 'Coffee', text: 'Roasting turns green coffee beans brown; sugars caramelise.', metadata: { year: '1980', tags: [] } },
  { _id: 'd4', title: 'Cheese', text: 'Rennet curdles milk into curds and whey before pressing.' },
];

before(async () => {
  served = await servedCorpus('plait-metadata-types-', 'meta', DOCS.map((d) => JSON.stringify(d)), 0);
  ({ dir, index, server } = served);
});

after(async () => {
  await served?.dispose();
});

/** The store's table, as rows `field type docs`, sorted. */
function tableRows(path: string): string[] {
  const db = new Database(join(path, 'docs.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT field, type, docs FROM metadata_types ORDER BY field, type').all() as { field: string; type: string; docs: number }[]).map((r) => `${r.field} ${r.type} ${r.docs}`);
  } finally {
    db.close();
  }
}

type Warning = { code: string; field?: string; types?: { type: string; documents: number; example_id?: string }[]; new_types?: string[]; stored_counts?: { type: string; documents: number }[]; asked_type?: string; message: string };

test('counts by hand: a document counts once per field and type, array elements by their type, no path through a dotted key', () => {
  assert.deepEqual([...documentFieldTypes(JSON.stringify({ year: 1962, tags: ['a', 'b', 3], venue: { name: 'X' }, 'a.b': 1, n: null }))].sort(), [
    'n\u0000null', 'tags\u0000array', 'tags\u0000number', 'tags\u0000string', 'venue\u0000object', 'venue.name\u0000string', 'year\u0000number',
  ]);
  assert.equal(documentFieldTypes(null).size, 0);
  assert.equal(documentFieldTypes('[1,2]').size, 0);
  // The scan agrees with json_tree's catalogue on the same rows.
  const db = new Database(':memory:');
  db.exec('CREATE TABLE documents (doc_rowid INTEGER PRIMARY KEY, doc_id TEXT, metadata TEXT)');
  const put = db.prepare('INSERT INTO documents (metadata) VALUES (?)');
  put.run(JSON.stringify({ 'first author': 'Ada', venue: { name: 'X', year: 1 }, tags: ['a', 2], refs: [{ id: 1 }], n: null }));
  put.run(null);
  put.run(JSON.stringify({ venue: { name: 7 }, tags: ['b'] }));
  const counts = scanMetadataTypes(db);
  assert.deepEqual(Object.fromEntries([...counts].map(([f, m]) => [f, Object.fromEntries(m)])), {
    'first author': { string: 1 }, venue: { object: 2 }, 'venue.name': { string: 1, number: 1 }, 'venue.year': { number: 1 }, tags: { array: 2, string: 2, number: 1 }, refs: { array: 1, object: 1 }, n: { null: 1 },
  });
  assert.deepEqual(Object.fromEntries([...readFieldCatalogue(db)].map(([f, s]) => [f, [...s].sort()])), Object.fromEntries([...counts].map(([f, m]) => [f, [...m.keys()].sort()])));
  db.close();
});

test('FILTER_TYPE_MIXED by hand: comparisons of a type the mixed field holds, through $and/$or, not $not, not $in of two types, not a field of one type', () => {
  const counts: FieldTypeCounts = new Map<string, Map<JsonType, number>>([['year', new Map<JsonType, number>([['string', 812], ['number', 40]])], ['venue', new Map<JsonType, number>([['string', 5]])], ['tags', new Map<JsonType, number>([['array', 3], ['string', 3]])]]);
  const codes = (f: MetadataFilter): string[] => mixedFilterWarnings(f, counts).map((w) => `${w.field} ${w.askedType} ${w.at}`);
  assert.deepEqual(codes({ year: { $gte: 1960 } }), ['year number filter.year.$gte']);
  assert.deepEqual(codes({ $or: [{ venue: 'x' }, { year: '1962' }] }), ['year string filter.$or[1].year']);
  assert.deepEqual(codes({ year: { $in: [1962, 1963] } }), ['year number filter.year.$in']);
  assert.deepEqual(codes({ year: { $in: [1962, '1962'] } }), [], 'both types asked: it compares both');
  assert.deepEqual(codes({ $not: { year: 1962 } }), []);
  assert.deepEqual(codes({ year: true }), [], 'a type the field lacks: FILTER_TYPE_MISMATCH territory');
  assert.deepEqual(codes({ tags: 'a', venue: { $lt: 'z' } }), [], 'an array of strings and strings are one scalar type');
  assert.match(mixedFilterWarnings({ year: { $gte: 1960 } }, counts)[0]!.message, /^filter field "year" holds strings in 812 documents and numbers in 40 documents: this filter compares numbers only/);
});

test('a cluster add\'s METADATA_TYPE_MIXED by hand: the shards\' counts summed (numbers on one, strings on another is mixed), the add\'s own example preferred, nothing when no type is new', () => {
  // Shard 0 untouched (its counts now), shard 1 brought 1 string to `year`; `venue` strings on both, nothing new.
  const shard0 = [{ field: 'year', types: [{ type: 'number' as const, before: 2, after: 2, exampleId: 'n1' }] }, { field: 'venue', types: [{ type: 'string' as const, before: 1, after: 1, exampleId: 'v0' }] }];
  const shard1 = [{ field: 'year', types: [{ type: 'string' as const, before: 0, after: 1, exampleId: 's1', added: true as const }] }, { field: 'venue', types: [{ type: 'string' as const, before: 3, after: 4, exampleId: 'v1', added: true as const }] }];
  const w = clusterTypeWarnings([shard0, shard1]);
  assert.deepEqual(w.map((x) => [x.field, x.types, x.newTypes]), [['year', [{ type: 'string', documents: 1, exampleId: 's1' }, { type: 'number', documents: 2, exampleId: 'n1' }], ['string']]]);
  assert.match(w[0]!.message, /^metadata field "year" now holds strings in 1 document \(e\.g\. "s1"\) and numbers in 2 documents \(e\.g\. "n1"\): types compare as JSON types/);
  // A stored example on an earlier shard gives way to the add's own on a later one.
  const own = clusterTypeWarnings([[{ field: 'year', types: [{ type: 'string', before: 0, after: 1, exampleId: 's', added: true }, { type: 'number', before: 1, after: 1, exampleId: 'stored' }] }], [{ field: 'year', types: [{ type: 'number', before: 0, after: 1, exampleId: 'mine', added: true }] }]]);
  assert.deepEqual(own[0]!.types, [{ type: 'string', documents: 1, exampleId: 's' }, { type: 'number', documents: 2, exampleId: 'mine' }]);
  assert.deepEqual(clusterTypeWarnings([shard0, [{ field: 'year', types: [{ type: 'string', before: 1, after: 2, exampleId: 's2', added: true }] }]]), [], 'strings were there before: nothing new to say');
});

test('the build writes the table: hand-computed counts, no warning for a corpus of one type a field', () => {
  assert.deepEqual(tableRows(served!.path), ['tags array 2', 'tags string 1', 'year string 3']);
});

test('HTTP and library: a write bringing numbers to a field of strings warns, a search comparing it warns with hits, a delete of the last strings clears it', async () => {
  // Before any mixing: a comparison filter matching documents says nothing.
  const plain = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', mode: 'late', filter: { year: { $gte: '1960' } } });
  assert.equal(plain.body.results[0].hits.length, 3);
  assert.equal(plain.body.results[0].warnings, undefined);

  const added = await postJson(`${server.url}/v1/indexes/sample/documents`, { documents: [{ doc_id: 'n1', title: 'Rye', text: 'Rye bread is dense and sour.', metadata: { year: 1975 } }] });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.equal(added.body.committed, true);
  const w = added.body.warnings as Warning[];
  assert.equal(w?.length, 1, JSON.stringify(added.body));
  assert.equal(w[0]!.code, 'METADATA_TYPE_MIXED');
  assert.equal(w[0]!.field, 'year');
  assert.deepEqual(w[0]!.types, [{ type: 'string', documents: 3, example_id: 'd1' }, { type: 'number', documents: 1, example_id: 'n1' }]);
  assert.deepEqual(w[0]!.new_types, ['number']);
  assert.match(w[0]!.message, /"year" now holds strings in 3 documents \(e\.g\. "d1"\) and numbers in 1 document \(e\.g\. "n1"\).*"year:number"/);
  assert.deepEqual(tableRows(served!.path), ['tags array 2', 'tags string 1', 'year number 1', 'year string 3']);

  // The search matches the number alone and says why the strings are not compared.
  const mixed = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', mode: 'late', filter: { year: { $gte: 1960 } } });
  assert.deepEqual(mixed.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id), ['n1']);
  const fw = mixed.body.results[0].warnings as Warning[];
  assert.deepEqual(fw.map((x) => x.code), ['FILTER_TYPE_MIXED']);
  assert.deepEqual(fw[0]!.stored_counts, [{ type: 'string', documents: 3 }, { type: 'number', documents: 1 }]);
  assert.equal(fw[0]!.asked_type, 'number');
  assert.match(fw[0]!.message, /holds strings in 3 documents and numbers in 1 document: this filter compares numbers only/);
  // $in of one type warns; a filter on another field does not.
  const inStrings = await index.search('bread', { mode: 'bm25', filter: { year: { $in: ['1962', '1971'] } } });
  assert.deepEqual(inStrings.filterWarnings?.map((x) => x.code), ['FILTER_TYPE_MIXED']);
  assert.equal((await index.search('bread', { mode: 'late', filter: { tags: 'food' } })).filterWarnings, undefined);

  // Another number: the field already holds numbers, so the write says nothing.
  const again = await index.add([{ docId: 'n2', title: 'Spelt', text: 'Spelt is an old wheat.', metadata: { year: 1990 } }]);
  assert.equal(again.metadataWarnings, undefined);

  // Deleting the last strings (d1, d2, d3) leaves numbers alone: no mixed warning any more.
  const del = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { doc_ids: ['d1', 'd2', 'd3'] });
  assert.equal(del.body.deleted, 3);
  assert.deepEqual(tableRows(served!.path), ['year number 2']);
  const clean = await index.search('bread', { mode: 'late', filter: { year: { $gte: 1960 } } });
  assert.deepEqual(clean.hits.map((h) => h.docId).sort(), ['n1', 'n2']);
  assert.equal(clean.filterWarnings, undefined);
});

test('CLI: plait add (and its --dry-run) of an untyped CSV column over a numeric field warns on stderr; --json carries metadataWarnings', () => {
  const csv = join(dir, 'more.csv');
  writeFileSync(csv, 'id,title,text,year\nc1,Oats,Oats make porridge thick.,1955\n');
  // A dry run says it too, as what the add would leave (it said nothing: the warning came from the commit only).
  const dry = runPlait(dir, ['add', 'meta', csv, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /^plait: warning: metadata field "year" would hold strings in 1 document \(e\.g\. "c1"\) and numbers in 2 documents \(e\.g\. "n\d"\).*\[METADATA_TYPE_MIXED\]$/m);
  const r = runPlait(dir, ['add', 'meta', csv]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^plait: warning: metadata field "year" now holds strings in 1 document \(e\.g\. "c1"\) and numbers in 2 documents \(e\.g\. "n\d"\).*\[METADATA_TYPE_MIXED\]$/m);
  const s = runPlait(dir, ['search', 'meta', 'oats porridge', '--mode', 'bm25', '--filter', '{"year": {"$lte": "1999"}}']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /c1/);
  assert.match(s.stderr, /^plait: warning: filter field "year" holds strings in 1 document and numbers in 2 documents: this filter compares strings only.*\[FILTER_TYPE_MIXED\]$/m);
  const typed = join(dir, 'typed.csv');
  writeFileSync(typed, 'id,title,text,flag\nc2,Barley,Barley makes malt.,yes\n');
  const j = runPlait(dir, ['add', 'meta', typed, '--json']);
  assert.equal(j.code, 0, j.stderr);
  assert.equal((JSON.parse(j.stdout) as { metadataWarnings?: unknown }).metadataWarnings, undefined, 'a field of one type: nothing to say');
});

test('a batch search (--queries) and a delete by filter on a mixed field say FILTER_TYPE_MIXED at the CLI and over HTTP; a batch whose filter matches nothing says why once', async () => {
  // The index holds year "1955" (c1) and 1975, 1990 (n1, n2): a comparison of numbers skips the string.
  const queries = join(dir, 'batch-queries.tsv');
  writeFileSync(queries, 'q1\toats porridge\nq2\trye bread\n');
  const batch = runPlait(dir, ['search', 'meta', '--queries', queries, '--mode', 'bm25', '-q', '--filter', '{"year": {"$gte": 1960}}']);
  assert.equal(batch.code, 0, batch.stderr);
  const mixedLines = batch.stderr.split('\n').filter((l) => l.includes('[FILTER_TYPE_MIXED]'));
  assert.equal(mixedLines.length, 1, batch.stderr);
  assert.match(mixedLines[0]!, /^plait: warning: filter field "year" holds strings in 1 document and numbers in 2 documents: this filter compares numbers only/);
  const typo = runPlait(dir, ['search', 'meta', '--queries', queries, '--mode', 'bm25', '-q', '--filter', '{"yeer": 1960}']);
  assert.equal(typo.code, 0, typo.stderr);
  assert.match(typo.stderr, /^plait: no hits for any query \(no document passes --filter\): filter field "yeer": no document has it; did you mean "year"\? \[FILTER_FIELD_UNKNOWN\]$/m);

  // A delete by the same kind of comparison takes the numbers alone: said, as the search says it.
  const del = runPlait(dir, ['delete', 'meta', '--filter', '{"year": {"$gte": 1985}}']);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /^deleted 1 document /);
  assert.match(del.stderr, /^plait: warning: filter field "year" holds strings in 1 document and numbers in 2 documents: this filter compares numbers only.*\[FILTER_TYPE_MIXED\]$/m);
  assert.doesNotMatch(del.stderr, /no document passes/);
  const none = runPlait(dir, ['delete', 'meta', '--filter', '{"year": {"$gte": 3000}}', '--json']);
  assert.equal(none.code, 0, none.stderr);
  assert.deepEqual((JSON.parse(none.stdout) as { filterWarnings: { code: string }[] }).filterWarnings.map((w) => w.code), ['FILTER_NO_MATCH', 'FILTER_TYPE_MIXED']);
  await index.refresh();
  const viaHttp = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { filter: { year: { $lt: 1980 } } });
  assert.equal(viaHttp.status, 200, JSON.stringify(viaHttp.body));
  assert.equal(viaHttp.body.deleted, 1);
  assert.deepEqual((viaHttp.body.warnings as Warning[]).map((x) => [x.code, x.asked_type, x.stored_counts]), [['FILTER_TYPE_MIXED', 'number', [{ type: 'string', documents: 1 }, { type: 'number', documents: 1 }]]]);
});

test('CLI: a build of a mixed corpus warns; a store without the table (an older plait) opens, searches and gets the table at its first write', async () => {
  const corpus = join(dir, 'mixed.jsonl');
  writeFileSync(corpus, [
    { _id: 'a', text: 'Wheat flour has gluten.', metadata: { year: '1962' } },
    { _id: 'b', text: 'Rice flour has none.', metadata: { year: 1970 } },
    { _id: 'c', text: 'Corn flour thickens sauces.', metadata: { year: 1980 } },
  ].map((d) => JSON.stringify(d)).join('\n') + '\n');
  const path = join(dir, 'indexes', 'mixed');
  // Through the CLI, which prints buildIndex's metadataWarnings.
  const built = runPlait(dir, ['index', corpus, '--index', 'mixed', '--threads', '1']);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stderr, /^plait: warning: metadata field "year" now holds strings in 1 document \(e\.g\. "a"\) and numbers in 2 documents \(e\.g\. "b"\).*"year:number".*\[METADATA_TYPE_MIXED\]$/m);
  // As an older plait left it: no table, no state (after a first write, so the manifest lists the store in place, with no checksum).
  const first = await openIndex(path, { encoderOptions: { threads: 1 } });
  await first.add([{ docId: 'e', text: 'Barley flour is nutty.' }]);
  await first.close();
  const db = new Database(join(path, 'docs.sqlite'));
  db.exec("DROP TABLE metadata_types; DELETE FROM meta WHERE key = 'metadata_types_state'");
  db.close();
  const old = await openIndex(path, { encoderOptions: { threads: 1 } });
  try {
    const r = await old.search('flour', { mode: 'bm25', filter: { year: { $gte: 1960 } } });
    assert.deepEqual(r.hits.map((h) => h.docId).sort(), ['b', 'c']);
    assert.deepEqual(r.filterWarnings?.map((w) => [w.code, w.storedCounts]), [['FILTER_TYPE_MIXED', [{ type: 'string', documents: 1 }, { type: 'number', documents: 2 }]]]);
    const check = new Database(join(path, 'docs.sqlite'), { readonly: true });
    assert.equal(readMetadataTypes(check), null, 'a search does not write the table');
    check.close();
    const w = await old.add([{ docId: 'd', text: 'Oat flour is sweet.', metadata: { year: 1990 } }]);
    assert.equal(w.metadataWarnings, undefined, 'numbers were held already');
    assert.deepEqual(tableRows(path), ['year number 3', 'year string 1']);
    // An older plait's later write (which keeps no table) leaves it stale: read as absent, not trusted.
    const stale = new Database(join(path, 'docs.sqlite'));
    stale.prepare("UPDATE meta SET value = value + 1 WHERE key = 'rowid_span'").run();
    assert.equal(readMetadataTypes(stale), null);
    stale.close();
  } finally {
    await old.close();
  }
});
