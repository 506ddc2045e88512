/**
 * What a document id may be, the same at every door (indexer/corpus/document-id.ts). A folder of
 * Markdown notes (an Obsidian vault: "Meeting notes 2026-03.md", "Project X/Ideas.md") had been
 * refused by `plait index` with ID_WHITESPACE, as had "a b" over HTTP and the library's add, for
 * the sake of TREC run files; and HTTP refused `{"doc_id": 123}` where a JSONL corpus line's
 * `"_id": 123` is the id "123". Now: spaces inside an id are accepted at every write door and the
 * id round-trips through search, explain, filters and delete (CLI --ids file and stdin, HTTP);
 * a control character, a line break or white space at an end is INVALID_ID at every door; an
 * integer id is its decimal text at every door (a fraction, or past 2^53 without the JSON text,
 * refused); and the one output that cannot carry a spaced id — a TREC run — refuses it at its own
 * door with ID_WHITESPACE, before any search where the query ids alone decide it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAIT_BIN, runPlait, type CliResult } from './helpers/cli.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { formatRun, isPlaitError, parseQrels, parseQueries } from '../src/index.js';
import { checkDocument } from '../src/mutate/encode-documents.js';
import { describeSkipped } from '../src/cli/commands/index-commands.js';
import type { RunningServer } from '../src/server/index.js';

let dir: string;
const plait = (...args: string[]): CliResult => runPlait(dir, args);

function errorOf(r: CliResult): { code: string; message: string; details?: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
}

function hitIds(r: CliResult): string[] {
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-document-ids-'));
  const vault = join(dir, 'vault');
  mkdirSync(join(vault, 'Project X'), { recursive: true });
  writeFileSync(join(vault, 'Meeting notes 2026-03.md'), '# Meeting notes\n\nWe agreed to move the glacier survey to April and to buy two new drones.\n');
  writeFileSync(join(vault, 'Project X', 'Ideas.md'), '# Ideas\n\nA sourdough starter kept warm in the proofing drawer rises twice as fast.\n');
  writeFileSync(join(vault, 'plain.md'), '# Plain\n\nTide tables for the harbour: high water twice a day.\n');
  const later = join(dir, 'later');
  mkdirSync(later);
  writeFileSync(join(later, 'Later notes.md'), '# Later\n\nThe kite festival is on the beach when the wind is steady.\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a folder of notes with spaces in their names is indexed, added to, searched, explained and deleted by id (file and stdin)', () => {
  const built = plait('index', 'vault', '--index', 'notes', '--threads', '0', '-q');
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /indexed 3 documents/);
  assert.deepEqual(hitIds(plait('search', 'notes', 'glacier survey drones', '-k', '1', '--json')), ['Meeting notes 2026-03']);
  assert.deepEqual(hitIds(plait('search', 'notes', 'sourdough starter', '-k', '1', '--mode', 'bm25', '--json')), ['Project X/Ideas']);
  assert.deepEqual(hitIds(plait('search', 'notes', 'sourdough starter', '--mode', 'bm25', '--json', '--filter', JSON.stringify({ doc_id: 'Project X/Ideas' }))), ['Project X/Ideas']);
  const explained = plait('explain', 'notes', 'glacier survey', 'Meeting notes 2026-03', '--json');
  assert.equal(explained.code, 0, explained.stderr);
  assert.equal((JSON.parse(explained.stdout) as { docId: string }).docId, 'Meeting notes 2026-03');

  const added = plait('add', 'notes', 'later', '--threads', '0', '-q');
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(hitIds(plait('search', 'notes', 'kite festival on the beach', '-k', '1', '--mode', 'bm25', '--json')), ['Later notes']);

  const ids = join(dir, 'ids.txt');
  writeFileSync(ids, 'Meeting notes 2026-03\nProject X/Ideas\n');
  const del = plait('delete', 'notes', '--ids', ids, '--json');
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual((JSON.parse(del.stdout) as { deleted: number; missing: string[] }).deleted, 2);
  const piped = spawnSync(process.execPath, [PLAIT_BIN, 'delete', 'notes', '--ids', '-', '--json'], { cwd: dir, encoding: 'utf8', input: 'Later notes\n', env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
  assert.equal(piped.status, 0, piped.stderr);
  assert.deepEqual(JSON.parse(piped.stdout).missing, []);
  assert.equal(JSON.parse(piped.stdout).deleted, 1);
  assert.deepEqual(hitIds(plait('search', 'notes', 'glacier sourdough kite tide', '--mode', 'bm25', '--json')), ['plain']);
});

test('a control character, a line break or white space at an end of an id is INVALID_ID with file and line; --skip-invalid counts it', () => {
  const cases: [string, RegExp][] = [
    ['tab\there', /holds a tab \(U\+0009\)/],
    ['line\nbreak', /holds a line feed \(U\+000A\)/],
    [' leading', /begins or ends with white space/],
    ['trailing ', /begins or ends with white space/],
  ];
  for (const [id, why] of cases) {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ _id: 'fine id', text: 'kites and wind' })}\n${JSON.stringify({ _id: id, text: 'bad id' })}\n`);
    const r = plait('index', file, '--index', 'bad', '--threads', '0', '-q', '--json');
    assert.equal(r.code, 2, r.stderr);
    const e = errorOf(r);
    assert.equal(e.code, 'INVALID_ID', r.stderr);
    assert.match(e.message, why);
    assert.deepEqual([e.details?.['id'], e.details?.['line']], [id, 2]);
  }
  const skipped = plait('index', join(dir, 'bad.jsonl'), '--index', 'bad', '--threads', '0', '-q', '--skip-invalid');
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stdout, /indexed 1 document .*skipped 1 invalid \(1 INVALID_ID\)/);
});

test('a TREC run cannot carry an id with white space: plait search refuses it at the run door (ID_WHITESPACE), --json carries it', () => {
  const queries = join(dir, 'queries.tsv');
  writeFileSync(queries, 'q1\ttide tables for the harbour\n');
  // The spaced document id comes back from the search: refused where the run is written, no file left.
  const built = plait('index', 'vault', '--index', 'notes2', '--threads', '0', '-q');
  assert.equal(built.code, 0, built.stderr);
  const out = join(dir, 'out.trec');
  // Late interaction ranks every note (BM25 would return the one holding the words, "plain").
  let r = plait('search', 'notes2', '--queries', queries, '--run', out, '-k', '3');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /document id "(Meeting notes 2026-03|Project X\/Ideas)" .*white space.*TREC run.*--json.*\[ID_WHITESPACE\]/s);
  assert.ok(!existsSync(out), 'no run file written');
  const json = plait('search', 'notes2', '--queries', queries, '-k', '3', '--json');
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as Record<string, { docId: string }[]>)['q1']!.length, 3);
  // plait eval --run-dir: the figures are printed, then the run files' refusal (not NOT_WRITABLE).
  const qrels = join(dir, 'qrels.tsv');
  writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq1\tMeeting notes 2026-03\t1\n');
  const ev = plait('eval', 'notes2', '--queries', queries, '--qrels', qrels, '--modes', 'exhaustive', '--run-dir', join(dir, 'runs'));
  assert.equal(ev.code, 2, ev.stderr);
  assert.match(ev.stdout, /exhaustive/);
  assert.match(ev.stderr, /document id "(Meeting notes 2026-03|Project X\/Ideas)" .*\[ID_WHITESPACE\]\nplait: the results were printed above/);
  // A spaced query id is known before any search: refused at once when the output is a TREC run.
  writeFileSync(queries, 'query one\ttide tables\n');
  r = plait('search', 'notes2', '--queries', queries, '--mode', 'bm25');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /query id "query one" .*white space.*\[ID_WHITESPACE\]/s);
  assert.equal(r.stdout, '');
});

test('the readers take spaced ids where the format can hold them; formatRun refuses them with ID_WHITESPACE', () => {
  // BEIR qrels are tab-separated: a space inside an id is part of the id.
  const qrels = parseQrels('query-id\tcorpus-id\tscore\nq 1\tMeeting notes 2026-03\t1\n');
  assert.deepEqual([...qrels.get('q 1')!], [['Meeting notes 2026-03', 1]]);
  assert.deepEqual(parseQueries('{"_id": "q 1", "text": "glacier"}\n', { format: 'beir-jsonl' }).map((q) => q.id), ['q 1']);
  assert.throws(
    () => formatRun(new Map([['q1', [{ docId: 'Meeting notes', score: 1 }]]])),
    (e: unknown) => isPlaitError(e, 'ID_WHITESPACE') && e.details?.['id'] === 'Meeting notes' && /TREC run/.test(e.message),
  );
  assert.throws(() => formatRun(new Map([['q 1', [{ docId: 'd', score: 1 }]]])), (e: unknown) => isPlaitError(e, 'ID_WHITESPACE'));
});

test('the library door: checkDocument takes spaces and integers (as their text), refuses control characters, fractions and integers past 2^53', () => {
  assert.equal(checkDocument({ docId: 'Meeting notes 2026-03', text: 'x' }, 0).docId, 'Meeting notes 2026-03');
  assert.equal(checkDocument({ docId: 123, text: 'x' }, 0).docId, '123');
  assert.equal(checkDocument({ docId: -7, text: 'x' }, 0).docId, '-7');
  assert.throws(() => checkDocument({ docId: 'a\tb', text: 'x' }, 3), (e: unknown) => isPlaitError(e, 'INVALID_ID') && e.details?.['reason'] === 'controlCharacter' && /documents\[3\]/.test(e.message));
  assert.throws(() => checkDocument({ docId: 'a\u0000b', text: 'x' }, 0), (e: unknown) => isPlaitError(e, 'INVALID_ID'));
  assert.throws(() => checkDocument({ docId: 1.5, text: 'x' }, 0), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /not an integer/.test(e.message));
  assert.throws(() => checkDocument({ docId: 2 ** 53 + 2, text: 'x' }, 0), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /past 2\^53/.test(e.message));
  assert.throws(() => checkDocument({ docId: '', text: 'x' }, 0), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
});

test('an index built before spaced ids were allowed still names its skipped ids by their code (plait info, eval)', () => {
  assert.equal(describeSkipped({ idWhitespace: 2, invalidId: 1, emptyText: 0 }), '2 ID_WHITESPACE, 1 INVALID_ID');
});

test('JSONL files: a fraction id is refused as the other doors refuse it; an integer is its text', async () => {
  const file = join(dir, 'numbers.jsonl');
  writeFileSync(file, '{"_id": 12, "text": "kites"}\n{"_id": 1.5, "text": "wind"}\n');
  const r = plait('index', file, '--index', 'numbers', '--threads', '0', '-q', '--json');
  assert.equal(r.code, 2, r.stderr);
  assert.equal(errorOf(r).code, 'MALFORMED_JSONL');
  assert.match(errorOf(r).message, /"_id" is the number 1\.5, not an integer/);
});

let sample: SampleIndex;
let server: RunningServer;

test('HTTP: spaced and integer doc_ids are written, found by search, filter and explain, and deleted; bad ids are refused as at the other doors', async (t) => {
  sample = await buildSample('plait-document-ids-http-');
  server = await serve(sample);
  t.after(async () => {
    await server.close();
    await sample.dispose();
  });
  const base = `${server.url}/v1/indexes/sample`;
  const add = await postJson(`${base}/documents`, {
    documents: [
      { doc_id: 'Meeting notes 2026-03', text: 'We agreed to move the glacier survey to April and to buy two new drones.' },
      { doc_id: 123, text: 'A sourdough starter kept warm in the proofing drawer rises twice as fast.' },
    ],
  });
  assert.equal(add.status, 200, JSON.stringify(add.body));
  assert.equal(add.body.added, 2);
  const search = async (query: string, extra: Record<string, unknown> = {}): Promise<string[]> => {
    const r = await postJson(`${base}/search`, { query, top_k: 1, mode: 'bm25', ...extra });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id);
  };
  assert.deepEqual(await search('glacier survey drones'), ['Meeting notes 2026-03']);
  assert.deepEqual(await search('sourdough starter proofing drawer'), ['123']);
  // A filter on doc_id takes the id as the write took it: 123 is the id "123".
  assert.deepEqual(await search('sourdough starter', { filter: { doc_id: 123 } }), ['123']);
  assert.deepEqual(await search('sourdough starter', { filter: { doc_id: { $in: [123, 'Meeting notes 2026-03'] } } }), ['123']);
  const explained = await postJson(`${base}/explain`, { query: 'sourdough', doc_id: 123 });
  assert.equal(explained.status, 200, JSON.stringify(explained.body));
  assert.equal(explained.body.doc_id, '123');

  const cases: [unknown, string][] = [
    [{ doc_id: 'tab\tid', text: 'x' }, 'INVALID_ID'],
    [{ doc_id: ' lead', text: 'x' }, 'INVALID_ID'],
    [{ doc_id: 2 ** 53 + 2, text: 'x' }, 'INVALID_ARGUMENT'],
    [{ doc_id: 1.5, text: 'x' }, 'INVALID_ARGUMENT'],
    [{ doc_id: true, text: 'x' }, 'INVALID_ARGUMENT'],
  ];
  for (const [doc, code] of cases) {
    const r = await postJson(`${base}/documents`, { documents: [doc] });
    assert.equal(r.status, 400, JSON.stringify(doc));
    assert.equal(r.body.error.code, code, JSON.stringify([doc, r.body]));
  }
  const del = await postJson(`${base}/documents/delete`, { doc_ids: [123, 'Meeting notes 2026-03'] });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual([del.body.deleted, del.body.missing], [2, []]);
  const bad = await postJson(`${base}/documents/delete`, { doc_ids: [1.5] });
  assert.deepEqual([bad.status, bad.body.error.code], [400, 'INVALID_ARGUMENT']);

  // The library door of the same index: add and delete by an integer and a spaced id, as HTTP does.
  const added = await sample.index.add([{ docId: 77, text: 'A lighthouse keeper logs the fog horn hours.' }, { docId: 'Project X/Ideas', text: 'Kites need steady wind.' }]);
  assert.equal(added.added, 2);
  assert.equal((await sample.index.search('lighthouse fog horn', { topK: 1, mode: 'bm25' })).hits[0]?.docId, '77');
  const gone = await sample.index.delete([77, 'Project X/Ideas']);
  assert.deepEqual([gone.deleted, gone.missing], [2, []]);
  await assert.rejects(sample.index.delete([0.5]), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /docIds\[0\] is the number 0\.5, not an integer/.test(e.message));
});
