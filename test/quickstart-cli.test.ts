/**
 * A newcomer's first commands after the quick start. `plait quickstart` run more than once rebuilds
 * its own untouched sample index, and refuses to replace an index that holds anything else — the
 * sample after `plait add` (a second `npm run quickstart` had silently rebuilt it, dropping the
 * documents added), or another corpus's index named with --index. `plait info` without an index and
 * `plait search "<query>"` without one name the indexes there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait, type CliResult } from './helpers/cli.js';

let dir: string;
const plait = (...args: string[]): CliResult => runPlait(dir, args);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-quickstart-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function documents(name: string): number {
  const info = plait('info', name, '--json');
  assert.equal(info.code, 0, info.stderr);
  return (JSON.parse(info.stdout) as { manifest: { counts: { documents: number } } }).manifest.counts.documents;
}

test('quickstart rebuilds its own untouched sample, and refuses to replace the sample once written to, or another index', () => {
  const first = plait('quickstart');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^indexed 40 documents /m);
  for (let i = 0; i < 2; i++) {
    // A rebuild commits a generation of its own: the untouched sample stays replaceable after it.
    const again = plait('quickstart');
    assert.equal(again.code, 0, again.stderr);
  }
  assert.equal(documents('sample'), 40);

  writeFileSync(join(dir, 'mine.jsonl'), '{"_id": "mine", "title": "Mine", "text": "A document the user added to the sample index."}\n');
  const added = plait('add', 'sample', join(dir, 'mine.jsonl'), '-q');
  assert.equal(added.code, 0, added.stderr);
  const refused = plait('quickstart');
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^plait: Index already exists: .*indexes\/sample holds an index that is not quickstart's untouched sample \(generation \d+, 41 documents\): choose another --index, or remove it first \[INDEX_EXISTS\]$/m);
  assert.equal(documents('sample'), 41, 'the added document is still there');

  writeFileSync(join(dir, 'other.jsonl'), '{"_id": "a", "text": "An index of another corpus."}\n{"_id": "b", "text": "Its second document."}\n');
  assert.equal(plait('index', join(dir, 'other.jsonl'), '--index', 'other', '-q').code, 0);
  const other = plait('quickstart', '--index', 'other');
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /holds an index that is not quickstart's untouched sample \(generation 0, 2 documents\)/);
  assert.equal(documents('other'), 2);
});

test('plait info without an index names the indexes in the index home, or says there is none yet', () => {
  // It said only "give an index name or path": after the quick start a newcomer had no command that lists them.
  const listed = plait('info');
  assert.equal(listed.code, 2);
  assert.match(listed.stderr, /^plait: Usage: give an index name or path \(or --kernels\) \[USAGE\]$/m);
  assert.match(listed.stderr, /^plait: indexes in .*indexes: other, sample$/m);
  const empty = mkdtempSync(join(tmpdir(), 'plait-quickstart-none-'));
  try {
    const none = runPlait(empty, ['info']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^plait: no index in .*indexes yet \(plait quickstart builds one\)$/m);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('plait search with a query but no index says the index comes first and names the indexes there', () => {
  // `plait search "bread rise"` read the query as the index's name, then asked for a query ("give a query").
  const r = plait('search', 'why bread rises');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^plait: Index not found: no index "why bread rises": looked in .* \[INDEX_NOT_FOUND\]$/m);
  assert.match(r.stderr, /^plait: plait search <index> "<query>": the index comes first \(indexes in .*indexes: other, sample\)$/m);
  const known = plait('search', 'sample');
  assert.match(known.stderr, /give a query, or --queries <file> \[USAGE\]/, 'an index without a query is still asked for one');
});
