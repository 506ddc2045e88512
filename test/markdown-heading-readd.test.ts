/**
 * An index built while a Markdown note's title heading was also kept in its text (indexed twice):
 * its next add of the folder replaces those notes once (the change that takes the duplicate out, as
 * README "Markdown notes" says), leaves the others alone, and the add after finds them unchanged.
 * A dry run counts it without a model.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex } from '../src/indexer/build-index.js';
import { addCorpus } from '../src/mutate/add-corpus.js';

let dir: string;
let index: string;
let notes: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-md-readd-'));
  notes = join(dir, 'notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'ideas.md'), '# Ideas\n\nFirst idea about bread.\n');
  writeFileSync(join(notes, 'Meeting notes.txt'), 'stocks fell on monday\n');
  // What the folder reader gave before: the heading both the title and the text's first line.
  const old = [
    { _id: 'ideas', title: 'Ideas', text: '# Ideas\n\nFirst idea about bread.\n' },
    { _id: 'Meeting notes', title: 'Meeting notes', text: 'stocks fell on monday\n' },
  ];
  writeFileSync(join(dir, 'old.jsonl'), `${old.map((l) => JSON.stringify(l)).join('\n')}\n`);
  index = join(dir, 'index');
  await buildIndex(join(dir, 'old.jsonl'), { index, encoderOptions: { threads: 0 } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the next add replaces the notes whose title heading left the text, once', async () => {
  const dry = await addCorpus(index, notes, { dryRun: true });
  assert.deepEqual([dry.replaced, dry.unchanged, dry.added], [1, 1, 0]);
  const first = await addCorpus(index, notes, { encoderOptions: { threads: 0 } });
  assert.deepEqual([first.replaced, first.unchanged, first.added, first.encoded], [1, 1, 0, 1]);
  const again = await addCorpus(index, notes, { dryRun: true });
  assert.deepEqual([again.replaced, again.unchanged], [0, 2]);
});
