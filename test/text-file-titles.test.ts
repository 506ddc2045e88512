/**
 * The title of a .txt (or heading-less .md) file in a folder corpus (trial 11: cranfield as `207.txt`,
 * `208.txt`, …). Before, every file was titled by its name, and the title is indexed ahead of the
 * text, so "207" opened the first passage of document 207 — a token BM25 matched (`plait search
 * "207"` found it) and the encoder read as content. Now a name without a word (digits, a date, a
 * hash) is no title; a name in words still is one, and Markdown's front matter and heading win as before.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';
import { fileNameTitle } from '../src/indexer/corpus/text-file-parser.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-txt-titles-'));
  const notes = join(dir, 'notes');
  mkdirSync(notes);
  writeFileSync(join(notes, '207.txt'), 'laminar boundary layer oscillations on a flat plate\n');
  writeFileSync(join(notes, '2024-01-05.md'), 'shock waves ahead of blunt cones\n');
  writeFileSync(join(notes, '3f2a9c1e4b.txt'), 'heat transfer in hypersonic flow\n');
  writeFileSync(join(notes, 'Meeting notes.txt'), 'we spoke about wing flutter\n');
  writeFileSync(join(notes, '208.md'), '# Slender wings\n\nlift on slender wings\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

interface Hit {
  docId: string;
  title?: string;
}

function search(query: string): Hit[] {
  const r = runPlait(dir, ['search', './idx', query, '--mode', 'bm25', '--json', '-k', '10']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hits: Hit[] }).hits;
}

test('a folder of .txt/.md files: a file name of digits, a date or a hash is no title; a name in words and a heading are', () => {
  const r = runPlait(dir, ['index', 'notes', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  const titles = Object.fromEntries(search('boundary shock heat flutter slender').map((h) => [h.docId, h.title ?? '']));
  assert.deepEqual(titles, { '207': '', '2024-01-05': '', '3f2a9c1e4b': '', 'Meeting notes': 'Meeting notes', '208': 'Slender wings' });
  // The ids are not words of the documents: nothing matches them.
  assert.deepEqual(search('207'), []);
  assert.deepEqual(search('3f2a9c1e4b'), []);
  assert.deepEqual(search('meeting').map((h) => h.docId), ['Meeting notes']);
});

test('fileNameTitle: words stay a title; digits, dates, punctuation, hashes and UUIDs do not', () => {
  for (const name of ['Meeting notes', 'x', 'journal', 'café', '2024 plans', 'deadbeef', 'doc_0012']) assert.equal(fileNameTitle(name), name, name);
  for (const name of ['207', '2024-01-05', '0012_03', '3f2a9c1e4b', '9b2c4f1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f', '--']) assert.equal(fileNameTitle(name), '', name);
});
