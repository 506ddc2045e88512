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

test('--skip-invalid\'s help names front matter and CSV rows among the reasons it skips, on every command that takes it', () => {
  for (const command of [['index'], ['add'], ['eval'], ['cluster', 'add']]) {
    const r = runPlait(dir, [...command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.replace(/\s+/g, ' '), /--skip-invalid (when indexing a BEIR folder: )?skip invalid documents \(malformed line, CSV row or Markdown front matter,/, command.join(' '));
  }
});

test('odd front matter as notes are written: Hugo\'s +++ TOML, a number title, CRLF and a BOM, a note that is only front matter', () => {
  const odd = join(dir, 'odd');
  mkdirSync(odd);
  // Hugo's TOML front matter: it had been the note's text (`+++ title = "…"` in every snippet) and no metadata.
  writeFileSync(join(odd, 'hugo.md'), '+++\ntitle = "Kneading by hand"\ndate = 2024-02-01\nupdated = 2024-02-03T08:30:00Z\ntags = ["kitchen", "dough"]\n[params]\nminutes = 10\n+++\nFold and push the dough for ten minutes.\n');
  // YAML reads `title: 2001` as a number: it had been dropped for the file name ("space").
  writeFileSync(join(odd, 'space.md'), '\ufeff---\r\ntitle: 2001\r\nyear: 1968\r\n---\r\nA film about a monolith and a computer named HAL.\r\n');
  // Only front matter: it had been EMPTY_TEXT ("has no title and no text") beside its title.
  writeFileSync(join(odd, 'todo.md'), '---\ntitle: Call the miller about rye flour\ntags: [todo]\n---\n');
  const r = runPlait(dir, ['index', 'odd', '--index', './odd-idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  const find = (query: string, filter?: string): Hit[] => {
    const f = runPlait(dir, ['search', './odd-idx', query, '--mode', 'bm25', '--text', '--json', ...(filter === undefined ? [] : ['--filter', filter])]);
    assert.equal(f.code, 0, f.stderr);
    return (JSON.parse(f.stdout) as { hits: Hit[] }).hits;
  };
  const [hugo] = find('dough');
  assert.equal(hugo?.docId, 'hugo');
  assert.equal(hugo.title, 'Kneading by hand');
  assert.equal(hugo.text, 'Fold and push the dough for ten minutes.\n');
  // A TOML date-time as YAML keeps one written alike (smol-toml's ISO text had added .000).
  assert.deepEqual(hugo.metadata, { title: 'Kneading by hand', date: '2024-02-01', updated: '2024-02-03T08:30:00Z', tags: ['kitchen', 'dough'], params: { minutes: 10 } });
  assert.deepEqual(find('dough', '{"updated": {"$gte": "2024-02-03T08:30:00Z"}}').map((h) => h.docId), ['hugo']);
  // A TOML date is filtered as the ISO text it is stored as, as a YAML date is; nested tables by dot path.
  assert.deepEqual(find('dough minutes', '{"date": {"$gte": "2024-01-01"}, "params.minutes": 10}').map((h) => h.docId), ['hugo']);
  assert.deepEqual(find('dough', '{"date": {"$lt": "2024-01-01"}}'), []);
  const [space] = find('monolith');
  assert.equal(space?.title, '2001');
  assert.equal(space.text, 'A film about a monolith and a computer named HAL.\n');
  assert.deepEqual(space.metadata, { title: 2001, year: 1968 });
  const [todo] = find('miller rye');
  assert.equal(todo?.docId, 'todo');
  assert.equal(todo.title, 'Call the miller about rye flour');
  assert.deepEqual(todo.metadata, { title: 'Call the miller about rye flour', tags: ['todo'] });
});

test('a title that is a list or a map, TOML that does not parse, a YAML alias bomb: MALFORMED_FRONT_MATTER at the line; only front matter without a title is EMPTY_TEXT', () => {
  const cases: [string, string, string, number][] = [
    ['map', '---\ndraft: true\ntitle:\n  en: Bread\n  fr: Pain\n---\nbody\n', 'MALFORMED_FRONT_MATTER', 3],
    ['toml', '+++\ntitle = "Bread"\ntags = ["a",\n+++\nbody\n', 'MALFORMED_FRONT_MATTER', 3],
    ['bare', '---\ntags: [todo]\n---\n', 'EMPTY_TEXT', 1],
    // A YAML alias bomb (10^6 copies): it had failed the build as BUILD_FAILED, naming no file, unskippable.
    ['bomb', `---\na: &a [x, x, x, x, x, x, x, x, x, x]\n${[1, 2, 3, 4, 5].map((i) => `l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`).join('\n')}\n---\nbody\n`, 'MALFORMED_FRONT_MATTER', 2],
  ];
  for (const [name, text, code, line] of cases) {
    const folder = join(dir, `bad-${name}`);
    mkdirSync(folder);
    writeFileSync(join(folder, `${name}.md`), text);
    const r = runPlait(dir, ['index', `bad-${name}`, '--index', `./bad-${name}-idx`, '-q', '--threads', '0', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const err = (JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string; details: { line: number } } }).error;
    assert.equal(err.code, code, name);
    assert.equal(err.details.line, line, `${name}: ${err.message}`);
    if (name === 'map') assert.match(err.message, /"title" is a map, not text/);
    if (name === 'bomb') assert.match(err.message, /aliases expand to more than 100 copies/);
    if (name === 'toml') assert.match(err.message, /: TOML: unfinished array .*\(the front matter between .*`\+\+\+` \(TOML\)/);
  }
});
