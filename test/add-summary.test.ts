/**
 * `plait add`'s summary says what the add did (polish5): new documents and replaced ones apart,
 * and the passages search reads apart from the replaced (or deleted) documents' old passages, which
 * stay tombstoned in the segments until compaction. Before, the summary counted those old passages
 * with the live ones ("41 documents, 42 passages" after replacing one of 40 one-passage documents
 * and adding one) and printed "replaced 1" without a unit. Through the CLI, text and JSON, with
 * delete and compact after it. The sample corpus (40 one-passage documents), bundled model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPlait } from './helpers/cli.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;
let index: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-add-summary-'));
  index = join(dir, 'sample');
  const built = runPlait(dir, ['index', SAMPLE, '--index', index, '--threads', '1', '-q']);
  assert.equal(built.code, 0, built.stderr);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Counts {
  counts: { documents: number; passages: number };
  passages: { live: number; awaitingCompaction: number };
  added: number;
  replaced: number;
}

test('compact on a freshly built index (generation 0, no generation field in its manifest) leaves it as it is and says generation 0', () => {
  const manifest = readFileSync(join(index, 'manifest.json'));
  const text = runPlait(dir, ['compact', index, '-q']);
  assert.equal(text.code, 0, text.stderr);
  // Before: "generation undefined unchanged", and --json left generation out.
  assert.equal(text.stdout.trim(), `nothing to compact in ${index}: generation 0 unchanged (one segment, no passages awaiting compaction)`);
  const json = runPlait(dir, ['compact', index, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as { compacted: boolean; generation?: number };
  assert.deepEqual([j.compacted, j.generation], [false, 0]);
  assert.deepEqual(readFileSync(join(index, 'manifest.json')), manifest, 'no new generation');
});

/** `docs` as a JSONL file at `path`. */
function writeDocs(path: string, docs: object[]): void {
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n'));
}

test('add: new and replaced documents apart; the replaced documents\' old passages apart from the searched ones', () => {
  const info = JSON.parse(runPlait(dir, ['info', index, '--json']).stdout) as { manifest: { counts: { documents: number; passages: number } } };
  assert.deepEqual([info.manifest.counts.documents, info.manifest.counts.passages], [40, 40], 'the sample: 40 one-passage documents');
  const input = join(dir, 'add.jsonl');
  writeDocs(input, [
    { _id: 'bread-yeast', title: 'Bread', text: 'A new version of the bread document: yeast ferments sugar.' },
    { _id: 'brand-new', title: 'New', text: 'A document the index did not have.' },
  ]);
  const first = runPlait(dir, ['add', index, input, '-q', '--threads', '0']);
  assert.equal(first.code, 0, first.stderr);
  // 40 − 1 old passage + 2 new = 41 searched; the replaced document's old passage awaits compaction.
  assert.equal(first.stdout.trim(), 'added 1 new document, replaced 1 document (generation 1; 41 documents, 41 passages searched; 1 passage of replaced or deleted documents awaiting compaction (plait compact))');
  // Both again, edited: each replaces its indexed version (an identical re-add would be a no-op, add-unchanged.test.ts).
  const edited = join(dir, 'edited.jsonl');
  writeDocs(edited, [
    { _id: 'bread-yeast', title: 'Bread', text: 'A third version of the bread document: yeast ferments sugar into gas.' },
    { _id: 'brand-new', title: 'New', text: 'A document the index did not have, edited.' },
  ]);
  const again = runPlait(dir, ['add', index, edited, '-q', '--threads', '0', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const j = JSON.parse(again.stdout) as Counts;
  assert.deepEqual([j.added, j.replaced], [0, 2]);
  assert.deepEqual(j.passages, { live: 41, awaitingCompaction: 3 });
  assert.equal(j.counts.passages, j.passages.live + j.passages.awaitingCompaction, 'the manifest counts both');
  // What search reads is the searched count: every live document once.
  const all = JSON.parse(runPlait(dir, ['search', index, 'document', '--mode', 'late', '--exhaustive', '-k', '100', '--json']).stdout) as { hits: unknown[] };
  assert.equal(all.hits.length, 41);
});

test('delete and compact say the same counts', () => {
  const ids = join(dir, 'ids.txt');
  writeFileSync(ids, 'brand-new\n');
  const del = runPlait(dir, ['delete', index, '--ids', ids, '-q']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout.trim(), 'deleted 1 document (generation 3; left: 40 documents, 40 passages searched; 4 passages of replaced or deleted documents awaiting compaction (plait compact))');
  const compact = runPlait(dir, ['compact', index, '-q']);
  assert.equal(compact.code, 0, compact.stderr);
  // It says what it dropped: the 4 passages the delete's summary said were awaiting compaction.
  assert.match(compact.stdout, /generation 4, 40 documents, 40 passages \(dropped 4 passages of replaced or deleted documents\)$/m);
  const again = runPlait(dir, ['compact', index, '--json']);
  assert.equal(again.code, 0, again.stderr);
  // A second compaction has nothing to do (one segment, no tombstone): no new generation, no rewrite.
  const second = JSON.parse(again.stdout) as { compacted: boolean; generation: number; dropped?: number };
  assert.deepEqual([second.compacted, second.generation, second.dropped], [false, 4, undefined]);
  const third = runPlait(dir, ['compact', index, '-q']);
  assert.equal(third.stdout.trim(), `nothing to compact in ${index}: generation 4 unchanged (one segment, no passages awaiting compaction)`);
  const input = join(dir, 'one.jsonl');
  writeFileSync(input, JSON.stringify({ _id: 'another', title: '', text: 'One more new document.' }));
  const add = runPlait(dir, ['add', index, input, '-q', '--threads', '0']);
  assert.equal(add.stdout.trim(), 'added 1 new document, replaced 0 documents (generation 5; 41 documents, 41 passages searched)', 'nothing awaits compaction: nothing said');
});
