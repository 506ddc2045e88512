/**
 * Ids written as JSON numbers keep their digits. A corpus exported with 64-bit ids as numbers
 * (tweets, snowflake ids: 1405933483485474817) was read through JSON.parse and String(), which
 * round past 2^53: two such ids of one file became "1405933483485474800" and the build stopped
 * on DUPLICATE_ID naming an id the file does not hold, and a lone one was stored rounded, so its
 * qrels and runs never met. The corpus (index, add, buildIndex) and the queries reader (eval,
 * search --queries) take such a number as written; an in-memory document whose id is already a
 * rounded number is refused instead of stored under a wrong id.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';
import { openCorpus, type CorpusDocument } from '../src/indexer/corpus/index.js';
import { buildIndex, parseQueries, isPlaitError } from '../src/index.js';
import { topLevelValueText } from '../src/util/json-number-text.js';

let dir: string;
const A = '1405933483485474817';
const B = '1405933483485474818';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-numeric-ids-'));
  writeFileSync(
    join(dir, 'tweets.jsonl'),
    [
      `{"id": ${A}, "text": "bread rises with yeast in a warm kitchen"}`,
      `{"id": ${B}, "text": "the tide comes in twice a day at the harbour"}`,
      `{"id": 7, "text": "stocks fell on monday after the report"}`,
      `{"id": 9007199254740993, "text": "planes fly because wings make lift"}`,
    ].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'more.jsonl'), `{"id": 1405933483485474819, "text": "sourdough needs a starter and patience"}\n`);
  writeFileSync(join(dir, 'queries.jsonl'), `{"_id": 20000000000000001, "text": "yeast bread"}\n{"_id": 20000000000000003, "text": "harbour tide"}\n`);
  writeFileSync(join(dir, 'qrels.tsv'), `query-id\tcorpus-id\tscore\n20000000000000001\t${A}\t1\n20000000000000003\t${B}\t1\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the corpus reader keeps a number id as written (past 2^53 too); safe integers read as before', async () => {
  const docs: CorpusDocument[] = [];
  for await (const d of await openCorpus(join(dir, 'tweets.jsonl'))) docs.push(d);
  assert.deepEqual(docs.map((d) => d.docId), [A, B, '7', '9007199254740993']);
});

test('a number is read back as written at the top-level key, past nested values, strings with escapes and a BOM', () => {
  const line = '\ufeff{"meta": {"id": 1, "x": [1, {"id": 2}]}, "s": "a\\"}id", "id" : 12345678901234567890 , "t": 1}';
  assert.equal(topLevelValueText(line, 'id'), '12345678901234567890');
  assert.equal(topLevelValueText(line, 'missing'), null);
});

test('plait index, search and add give every id with its own digits', () => {
  const r = runPlait(dir, ['index', 'tweets.jsonl', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  const s = runPlait(dir, ['search', './idx', 'yeast bread tide harbour stocks planes', '-k', '4', '--mode', 'bm25', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const ids = (JSON.parse(s.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId).sort();
  assert.deepEqual(ids, [A, B, '7', '9007199254740993'].sort());
  const a = runPlait(dir, ['add', './idx', 'more.jsonl', '-q', '--threads', '0', '--json']);
  assert.equal(a.code, 0, a.stderr);
  const f = runPlait(dir, ['search', './idx', 'sourdough starter', '--mode', 'bm25', '--json', '--filter', JSON.stringify({ doc_id: '1405933483485474819' })]);
  assert.equal(f.code, 0, f.stderr);
  assert.deepEqual((JSON.parse(f.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId), ['1405933483485474819']);
});

test('plait eval meets qrels written with the same digits: number query ids past 2^53 kept too', () => {
  const run = join(dir, 'runs');
  const r = runPlait(dir, ['eval', './idx', '--queries', 'queries.jsonl', '--qrels', 'qrels.tsv', '--modes', 'bm25', '--run-dir', run, '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(join(run, 'bm25.trec'), 'utf8').trim().split('\n');
  assert.ok(lines.some((l) => l.startsWith(`20000000000000001 Q0 ${A} 1 `)), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`20000000000000003 Q0 ${B} 1 `)), lines.join('\n'));
  const out = JSON.parse(r.stdout) as { queries: number; modes: { name: string; mean: Record<string, number> }[] };
  assert.equal(out.queries, 2);
  assert.equal(out.modes[0]?.mean['ndcg@10'], 1);
  assert.deepEqual(
    parseQueries('{"_id": 20000000000000001, "text": "q"}\n{"_id": 3, "text": "r"}\n').map((q) => q.id),
    ['20000000000000001', '3'],
  );
});

test('buildIndex refuses an in-memory id that is already a rounded number, naming the fix', async () => {
  await assert.rejects(
    buildIndex([{ docId: 1405933483485474817 as unknown as string, text: 'bread' }], { index: join(dir, 'mem') }),
    (e: unknown) => isPlaitError(e, 'MALFORMED_JSONL') && /past 2\^53.*give the id as a string/.test(e.message),
  );
});

test('plait rerank --docs echoes number ids as written', () => {
  writeFileSync(join(dir, 'shortlist.jsonl'), `{"id": ${A}, "text": "yeast bread"}\n{"_id": ${B}, "text": "harbour tide"}\n`);
  const r = runPlait(dir, ['rerank', '--query', 'yeast bread', '--docs', 'shortlist.jsonl', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { id: string }[]).map((h) => h.id).sort(), [A, B]);
});

test('plait eval of a BEIR folder with number ids: built, then reused (its corpus check reads the ids as the reader does)', () => {
  const beir = join(dir, 'beir');
  mkdirSync(join(beir, 'qrels'), { recursive: true });
  writeFileSync(join(beir, 'corpus.jsonl'), readFileSync(join(dir, 'tweets.jsonl'), 'utf8').replaceAll('{"id":', '{"_id":')); // BEIR's id field
  copyFileSync(join(dir, 'queries.jsonl'), join(beir, 'queries.jsonl'));
  copyFileSync(join(dir, 'qrels.tsv'), join(beir, 'qrels', 'test.tsv'));
  for (const round of ['built', 'reused']) {
    const r = runPlait(dir, ['eval', beir, '--index', './beir-idx', '--modes', 'bm25', '--json']); // no -q: it would silence the corpus check's warning
    assert.equal(r.code, 0, `${round}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /differ|warning/, round);
    assert.equal((JSON.parse(r.stdout) as { modes: { mean: Record<string, number> }[] }).modes[0]?.mean['ndcg@10'], 1, round);
  }
});
