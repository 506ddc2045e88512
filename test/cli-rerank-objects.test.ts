/**
 * `plait rerank --docs` reads JSONL objects without a `text` the way the HTTP rerank routes rank
 * them (Together's default): on their fields, `field: value` lines, the id fields left out. Such a
 * line had been MALFORMED_JSONL 'no "text" string' at the CLI while the same object sent to
 * /v1/rerank was ranked (trial 2 of trial 10).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-rerank-objects-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ranked {
  id: string;
  score: number;
}

function rerank(lines: readonly unknown[], flags: readonly string[] = []): { code: number; stderr: string; ranked: Ranked[] } {
  const file = join(dir, `docs-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const r = runPlait(dir, ['rerank', '--query', 'how does bread rise', '--docs', file, '--json', ...flags]);
  return { code: r.code, stderr: r.stderr, ranked: r.code === 0 ? (JSON.parse(r.stdout) as Ranked[]) : [] };
}

test('an object without text is ranked on its other fields, as field: value lines', () => {
  const objects = rerank([
    { id: 'bread', title: 'Bread', body: 'yeast makes the dough rise', year: 2020 },
    { id: 'stocks', title: 'Stocks', body: 'markets fell on Monday' },
  ]);
  assert.equal(objects.code, 0, objects.stderr);
  // The same texts written out: the scores are those of `field: value` lines without the id.
  const written = rerank([
    { id: 'bread', text: 'title: Bread\nbody: yeast makes the dough rise\nyear: 2020' },
    { id: 'stocks', text: 'title: Stocks\nbody: markets fell on Monday' },
  ]);
  assert.equal(written.code, 0, written.stderr);
  assert.deepEqual(objects.ranked.map((r) => r.id), ['bread', 'stocks']);
  for (const r of objects.ranked) {
    const w = written.ranked.find((x) => x.id === r.id)!;
    assert.ok(Math.abs(r.score - w.score) < 1e-5, `${r.id}: ${r.score} vs ${w.score}`);
  }
});

test('an object with only an id, or a text that is not a string, is MALFORMED_JSONL with its line', () => {
  const error = (r: { code: number; stderr: string }): { code: string; message: string; details: { line: number } } => {
    assert.equal(r.code, 2, r.stderr);
    return (JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string; details: { line: number } } }).error;
  };
  const idOnly = error(rerank([{ id: 'a', text: 'bread' }, { id: 'x' }]));
  assert.equal(idOnly.code, 'MALFORMED_JSONL');
  assert.equal(idOnly.details.line, 2);
  assert.match(idOnly.message, /no "text" and no field but the id to rank on/);
  const number = error(rerank([{ id: 'x', text: 5 }]));
  assert.equal(number.code, 'MALFORMED_JSONL');
  assert.match(number.message, /at line 1: field "text" is not a string/);
});

// The routes' rank_fields and the library's rankFields had no CLI spelling: objects were ranked on
// their `text` or on all their fields, never on the fields the user named.
test('--rank-fields ranks objects on the fields named, in that order, and warns (stderr) of objects holding none', () => {
  const rows = [
    { id: 'bread', title: 'Bread', body: 'yeast makes the dough rise', text: 'ignored here' },
    { id: 'stocks', title: 'Stocks', body: 'markets fell on Monday' },
  ];
  const named = rerank(rows, ['--rank-fields', 'body, title']);
  assert.equal(named.code, 0, named.stderr);
  const written = rerank(rows.map((r) => ({ id: r.id, text: `body: ${r.body}\ntitle: ${r.title}` })));
  assert.deepEqual(named.ranked.map((r) => r.id), written.ranked.map((r) => r.id));
  for (const r of named.ranked) assert.ok(Math.abs(r.score - written.ranked.find((x) => x.id === r.id)!.score) < 1e-5, r.id);
  assert.doesNotMatch(named.stderr, /warning/);
  const typo = rerank(rows, ['--rank-fields', 'titel']);
  assert.equal(typo.code, 0, typo.stderr);
  assert.match(typo.stderr, /plait: warning: 2 documents have none of the rank_fields \["titel"\]: ranked as empty documents/);
  assert.ok(typo.ranked.every((r) => r.score <= -9999));
  const none = rerank(rows, ['--rank-fields', ' , ']);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /--rank-fields/);
});
