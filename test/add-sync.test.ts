/**
 * Keeping an index in step with a folder of notes (sync10), through the real CLI: `plait add <index>
 * <folder> --sync` after notes were edited, removed and renamed. Before, `plait add` had no way to
 * drop the notes removed from the folder (they stayed searchable for ever) and re-encoded every note
 * whether it had changed or not; `--sync` and `--dry-run` were unknown options. Evidence that
 * unchanged notes were not re-encoded, without timings: their passages are not tombstoned (a
 * re-encoded note's old passages await compaction), and in the library the encoder's own counter
 * (`encodedTexts`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';
import { addCorpus } from '../src/mutate/add-corpus.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { readManifest } from '../src/format/index-reader.js';
import { writeClusterManifest } from '../src/cluster/cluster-manifest.js';
import { isPlaitError } from '../src/errors/index.js';

let dir: string;
const N = 20;
/** Each note's own word, so that a search finds exactly it. */
const WORDS = ['apricot', 'badger', 'cobalt', 'dolphin', 'ember', 'falcon', 'granite', 'harbor', 'iris', 'juniper', 'kestrel', 'lantern', 'meadow', 'nutmeg', 'orchid', 'pebble', 'quartz', 'raven', 'saffron', 'thistle'];
const name = (i: number): string => `n${String(i).padStart(2, '0')}`;
const note = (i: number, year = 2020, extra = ''): string => `---\nyear: ${year}\n---\n# Note ${i}\n\nThis note is about the ${WORDS[i]} and nothing else.${extra}\n`;

interface AddJson {
  committed: boolean;
  dryRun: boolean;
  generation: number;
  added: number;
  replaced: number;
  unchanged: number;
  deleted: number;
  encoded: number;
  counts: { documents: number };
  passages: { live: number; awaitingCompaction: number };
}

function add(args: string[]): { json: AddJson; stderr: string } {
  const r = runPlait(dir, ['add', './idx', 'notes', '--threads', '0', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { json: JSON.parse(r.stdout) as AddJson, stderr: r.stderr };
}

function searchIds(query: string): string[] {
  const r = runPlait(dir, ['search', './idx', query, '--mode', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hits: Array<{ docId: string }> }).hits.map((h) => h.docId);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-add-sync-'));
  mkdirSync(join(dir, 'notes'));
  for (let i = 0; i < N; i++) writeFileSync(join(dir, 'notes', `${name(i)}.md`), note(i));
  const r = runPlait(dir, ['index', 'notes', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readManifest(join(dir, 'idx')).counts.passages, N, 'one passage a note');
  // The user's edits: n03's text and n04's front matter changed, n05 removed, n07 renamed.
  writeFileSync(join(dir, 'notes', 'n03.md'), note(3, 2020, ' Later: a walrus too.'));
  writeFileSync(join(dir, 'notes', 'n04.md'), note(4, 2024));
  rmSync(join(dir, 'notes', 'n05.md'));
  renameSync(join(dir, 'notes', 'n07.md'), join(dir, 'notes', 'n07-renamed.md'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('plait add --sync --dry-run prints the counts and writes nothing', () => {
  const generation = readManifest(join(dir, 'idx')).generation ?? 0;
  const { json } = add(['--sync', '--dry-run']);
  assert.deepEqual(
    { committed: json.committed, dryRun: json.dryRun, added: json.added, replaced: json.replaced, unchanged: json.unchanged, deleted: json.deleted, encoded: json.encoded },
    { committed: false, dryRun: true, added: 1, replaced: 2, unchanged: 16, deleted: 2, encoded: 0 },
  );
  assert.equal(json.generation, generation);
  assert.equal(readManifest(join(dir, 'idx')).generation ?? 0, generation, 'nothing committed');
  const text = runPlait(dir, ['add', './idx', 'notes', '--sync', '--dry-run']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^would add 1 new document, replace 2 documents, 16 unchanged, delete 2 documents \(dry run: nothing written; generation \d+, 20 documents\)\n$/);
  assert.deepEqual(searchIds(WORDS[5]!), ['n05'], 'the removed note is still indexed after a dry run');
  // A plain add's dry run: the same upserts (an unchanged document is a no-op for a plain add too,
  // add-unchanged.test.ts; it had counted all 18 indexed ids as replaced), nothing deleted.
  const plain = add(['--dry-run']).json;
  assert.deepEqual([plain.added, plain.replaced, plain.unchanged, plain.deleted], [1, 2, 16, 0]);
});

test('plait add --sync: one generation that upserts the changed and new notes, deletes the removed ones and re-encodes nothing else', () => {
  const before = readManifest(join(dir, 'idx')).generation ?? 0;
  const { json } = add(['--sync']);
  assert.deepEqual(
    { committed: json.committed, added: json.added, replaced: json.replaced, unchanged: json.unchanged, deleted: json.deleted, encoded: json.encoded },
    { committed: true, added: 1, replaced: 2, unchanged: 16, deleted: 2, encoded: 3 },
  );
  assert.equal(json.generation, before + 1, 'one generation');
  assert.equal(json.counts.documents, 19);
  // The 16 unchanged notes kept their passages: a re-encoded (replaced) note leaves its old passages
  // tombstoned until compaction, and only n03's, n04's and the deleted n05's and n07's are.
  assert.deepEqual(json.passages, { live: 19, awaitingCompaction: 4 });
  assert.deepEqual(searchIds(WORDS[5]!), [], 'the removed note is gone');
  assert.deepEqual(searchIds(WORDS[7]!), ['n07-renamed'], 'the renamed note is found under its new id only');
  assert.deepEqual(searchIds('walrus'), ['n03']);
  assert.deepEqual(searchIds(WORDS[9]!), ['n09'], 'an unchanged note is still found');
  const filtered = runPlait(dir, ['search', './idx', WORDS[4]!, '--mode', 'bm25', '--json', '--filter', '{"year": 2024}']);
  assert.deepEqual((JSON.parse(filtered.stdout) as { hits: Array<{ docId: string }> }).hits.map((h) => h.docId), ['n04'], 'a front-matter-only edit is a change');
});

test('plait add --sync of a folder the index already holds commits nothing and encodes nothing', () => {
  const generation = readManifest(join(dir, 'idx')).generation;
  const { json } = add(['--sync']);
  assert.deepEqual([json.committed, json.added, json.replaced, json.unchanged, json.deleted, json.encoded], [false, 0, 0, 19, 0, 0]);
  assert.deepEqual(json.passages, { live: 19, awaitingCompaction: 4 }, 'no passage replaced');
  assert.equal(readManifest(join(dir, 'idx')).generation, generation);
  const text = runPlait(dir, ['add', './idx', 'notes', '--sync', '-q']);
  assert.match(text.stdout, /^added 0 new documents, replaced 0 documents, 19 unchanged, deleted 0 documents: the index already holds the input \(generation \d+ unchanged; 19 documents/);
});

test('addCorpus({ sync: true }) encodes only the changed note (the encoder\'s own count); so does a plain add, and then nothing', async () => {
  const path = join(dir, 'idx');
  writeFileSync(join(dir, 'notes', 'n10.md'), note(10, 2020, ' And a lynx.'));
  const encoder = await createEncoder(readManifest(path).modelSpec, { threads: 0 });
  try {
    const at = encoder.encodedTexts?.document ?? NaN;
    const r = await addCorpus(path, join(dir, 'notes'), { sync: true, encoder });
    assert.deepEqual([r.added, r.replaced, r.unchanged, r.deleted, r.encoded], [0, 1, 18, 0, 1]);
    assert.equal(encoder.encodedTexts!.document - at, 1, 'one note encoded');
    // A plain add of the same notes: every one unchanged, none encoded (it had re-encoded and replaced all 19).
    const plain = await addCorpus(path, join(dir, 'notes'), { encoder });
    assert.deepEqual([plain.committed, plain.replaced, plain.unchanged, plain.encoded], [false, 0, 19, 0]);
    assert.equal(encoder.encodedTexts!.document - at, 1, 'a plain add encodes no unchanged note');
    writeFileSync(join(dir, 'notes', 'n10.md'), note(10, 2020, ' And a lynx, twice.'));
    const edited = await addCorpus(path, join(dir, 'notes'), { encoder });
    assert.deepEqual([edited.committed, edited.replaced, edited.unchanged, edited.encoded], [true, 1, 18, 1]);
    assert.equal(encoder.encodedTexts!.document - at, 2, 'a plain add encodes the edited note alone');
  } finally {
    await encoder.close();
  }
});

test('a sync is refused beside --no-replace or --skip-invalid, on an empty folder, and on a cluster\'s shard; nothing is written', async () => {
  const path = join(dir, 'idx');
  const generation = readManifest(path).generation;
  for (const flag of ['--no-replace', '--skip-invalid']) {
    const r = runPlait(dir, ['add', './idx', 'notes', '--sync', flag]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--sync .*${flag}.*\\[USAGE\\]`, 's'));
  }
  await assert.rejects(addCorpus(path, join(dir, 'notes'), { sync: true, noReplace: true }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /noReplace/.test(e.message));
  await assert.rejects(addCorpus(path, join(dir, 'notes'), { sync: true, skipInvalid: true }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /skipInvalid/.test(e.message));
  // An emptied (or mistyped) folder does not delete the whole index.
  mkdirSync(join(dir, 'empty'));
  const empty = runPlait(dir, ['add', './idx', 'empty', '--sync']);
  assert.notEqual(empty.code, 0);
  assert.match(empty.stderr, /holds no corpus.*INVALID_INPUT|EMPTY_CORPUS/);
  assert.equal(readManifest(path).generation, generation);
  // A cluster's shard: plait add refuses it (USAGE), --sync and --dry-run alike.
  const root = join(dir, 'big');
  cpSync(path, join(root, 'shard-0'), { recursive: true });
  const shardInfo = [{ commit: 'a', documents: 0, passages: 0 }, { commit: 'b', documents: 0, passages: 0 }];
  writeClusterManifest(root, { format: 'plait-cluster', version: 1, name: 'big', shards: 2, routing: 'jump-consistent-hash/sha256-be64', codebook: 'c', shardInfo, createdAt: new Date(0).toISOString() });
  for (const extra of [[], ['--dry-run']]) {
    const r = runPlait(dir, ['add', join(root, 'shard-0'), 'notes', '--sync', ...extra]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is shard 0 of cluster big: .*plait cluster add.*\[USAGE\]/);
  }
  // The cluster's root is no one index: refused as plait add refuses it (INDEX_NOT_FOUND naming cluster.json).
  const whole = runPlait(dir, ['add', root, 'notes', '--sync']);
  assert.equal(whole.code, 2, whole.stderr);
  assert.match(whole.stderr, /is a sharded index .*cluster\.json.*\[INDEX_NOT_FOUND\]/);
  assert.equal(readManifest(join(root, 'shard-0')).generation, generation);
});
