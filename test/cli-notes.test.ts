/**
 * A folder of Markdown notes with YAML front matter, driven through the real CLI (trial 10): the
 * front matter is each note's metadata — `plait search --filter` selects on it, `--json` hits carry
 * it — and its title, and no part of the stored text; `plait add` of an edited note reads it the same
 * way. Before, every note had `metadata: null`, a filter on `year` matched nothing, and each hit's
 * text began with the YAML.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';

let dir: string;

const note = (year: number, tags: string[], title: string, body: string): string =>
  `---\ntitle: "${title}"\nyear: ${year}\ntags: [${tags.join(', ')}]\n---\n\n# ${title}\n\n${body}\n`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cli-notes-'));
  mkdirSync(join(dir, 'notes'));
  writeFileSync(join(dir, 'notes', 'bread.md'), note(2019, ['kitchen'], 'Bread', 'Yeast makes the dough rise overnight.'));
  writeFileSync(join(dir, 'notes', 'sourdough.md'), note(2023, ['kitchen', 'starter'], 'Sourdough', 'A starter of wild yeast leavens the bread.'));
  writeFileSync(join(dir, 'notes', 'tides.md'), note(2023, ['sea'], 'Tides', 'The tide comes in twice a day.'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

interface Hit {
  docId: string;
  title: string;
  text: string;
  metadata: Record<string, unknown> | null;
}

function search(query: string, extra: string[]): Hit[] {
  const r = runPlait(dir, ['search', './idx', query, '--mode', 'bm25', '--text', '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hits: Hit[] }).hits;
}

test('plait index of a notes folder: front matter is filterable metadata and the title, not text', () => {
  const r = runPlait(dir, ['index', 'notes', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  const all = search('yeast bread', []);
  assert.deepEqual(all.map((h) => h.docId).sort(), ['bread', 'sourdough']);
  const sourdough = all.find((h) => h.docId === 'sourdough')!;
  assert.deepEqual(sourdough.metadata, { title: 'Sourdough', year: 2023, tags: ['kitchen', 'starter'] });
  assert.equal(sourdough.title, 'Sourdough');
  assert.doesNotMatch(sourdough.text, /year:|tags:|---/);
  assert.deepEqual(search('yeast bread', ['--filter', '{"year": {"$gte": 2020}}']).map((h) => h.docId), ['sourdough']);
  assert.deepEqual(search('yeast bread tide', ['--filter', '{"tags": {"$all": ["kitchen"]}}']).map((h) => h.docId).sort(), ['bread', 'sourdough']);
  // The YAML's keys are not words of any note.
  assert.deepEqual(search('year tags title', []), []);
});

test('plait add of an edited note reads its front matter the same way', () => {
  writeFileSync(join(dir, 'notes', 'tides.md'), note(2024, ['sea', 'moon'], 'Tides', 'The moon pulls the tide in twice a day.'));
  const r = runPlait(dir, ['add', './idx', join('notes', 'tides.md'), '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  const hits = search('moon tide', ['--filter', '{"year": 2024}']);
  assert.deepEqual(hits.map((h) => [h.docId, h.metadata?.['tags']]), [['tides', ['sea', 'moon']]]);
});

test('a note whose front matter does not parse: exit 2, MALFORMED_FRONT_MATTER naming file and line; --skip-invalid skips it', () => {
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'ok.md'), note(2020, ['a'], 'Fine', 'A fine note about gardens.'));
  writeFileSync(join(dir, 'bad', 'broken.md'), '---\ntitle: Broken\ntags: [a, b\n---\nbody\n');
  const r = runPlait(dir, ['index', 'bad', '--index', './bad-idx', '-q', '--threads', '0', '--json']);
  assert.equal(r.code, 2, r.stderr);
  const err = (JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string; details: { file: string; line: number } } }).error;
  assert.equal(err.code, 'MALFORMED_FRONT_MATTER');
  assert.equal(err.details.file, join('bad', 'broken.md'));
  assert.equal(err.details.line, 3);
  const skipped = runPlait(dir, ['index', 'bad', '--index', './bad-idx', '-q', '--threads', '0', '--skip-invalid']);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stderr, /skipped 1 invalid document \(1 MALFORMED_FRONT_MATTER\)/);
});

test('--skip-invalid\'s help names front matter among the reasons it skips, on every command that takes it', () => {
  for (const command of [['index'], ['add'], ['eval'], ['cluster', 'add']]) {
    const r = runPlait(dir, [...command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.replace(/\s+/g, ' '), /--skip-invalid (when indexing a BEIR folder: )?skip invalid documents \(malformed line or Markdown front matter,/, command.join(' '));
  }
});
