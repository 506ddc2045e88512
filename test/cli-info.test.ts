/**
 * `plait info`'s output, as a new user reads it: the size table stays aligned however long a
 * segment file's name grows after living writes (columns as wide as the longest name), and the
 * terminal tables of other commands use the same rule (formatTable, src/cli/table.ts); the drift
 * line counts the added tokens still indexed after add, replace and compact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/indexer/build-index.js';
import { formatTable } from '../src/cli/table.js';
import { sizeTable } from '../src/cli/commands/index-commands.js';
import { readManifest } from '../src/format/index-reader.js';
import { DRIFT_DEFAULTS } from '../src/config/defaults.js';
import { runPlait } from './helpers/cli.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;
let path: string;
let lines: string[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cli-info-'));
  lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
  writeFileSync(join(dir, 'first.jsonl'), `${lines.slice(0, 30).join('\n')}\n`);
  writeFileSync(join(dir, 'rest.jsonl'), `${lines.slice(30).join('\n')}\n`);
  path = join(dir, 'sample');
  await buildIndex(join(dir, 'first.jsonl'), { index: path, encoderOptions: { threads: 1 } });
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('formatTable: columns as wide as their widest cell, text left and figures right, no trailing spaces', () => {
  assert.deepEqual(formatTable([['a', '1', 'x'], ['long name', '123', 'yz']], ['left', 'right', 'left']), ['a            1  x', 'long name  123  yz']);
  assert.deepEqual(formatTable([['k', '10%']], ['left', 'right'], { indent: '  ' }), ['  k  10%']);
  // Ragged rows: a missing cell is empty.
  assert.deepEqual(formatTable([['only'], ['b', '2']], ['left', 'right']), ['only   ', 'b     2']);
  // A character outside the BMP (two UTF-16 units) is one column.
  assert.deepEqual(formatTable([['\u{1F600}x', '1'], ['abc', '22']], ['left', 'right']), ['\u{1F600}x    1', 'abc  22']);
});

test('sizeTable: a long segment name widens the name column for every row, sizes end in one column', () => {
  const t = sizeTable({ 'centroids.f32': 1 << 20, 'residuals.g0123.0004.u8': 512, 'docs.sqlite': 2048 }, (1 << 20) + 2560);
  assert.deepEqual(t, [
    '  centroids.f32            1.0 MiB',
    '  residuals.g0123.0004.u8    512 B',
    '  docs.sqlite              2.0 KiB',
    '  total                    1.0 MiB',
  ]);
});

/** The lines of `plait info`'s size table (after "size on disk:"). */
function sizeLines(stdout: string): string[] {
  const all = stdout.split('\n');
  return all.slice(all.indexOf('size on disk:') + 1).filter((l) => l.startsWith('  '));
}

test('plait info after an add: the new segments\' long names stay in line with every other row', () => {
  const add = runPlait(dir, ['add', path, join(dir, 'rest.jsonl'), '--threads', '1', '-q']);
  assert.equal(add.code, 0, add.stderr);
  const info = runPlait(dir, ['info', path]);
  assert.equal(info.code, 0, info.stderr);
  const rows = sizeLines(info.stdout);
  const longest = Math.max(...rows.map((l) => l.trim().split(/\s+/)[0]!.length));
  assert.ok(longest > 18, `a segment name longer than the old fixed column: ${rows.join(' | ')}`);
  assert.ok(rows.some((l) => /residuals\.g\d+\.\d+\.u8/.test(l)), rows.join('\n'));
  assert.equal(rows.at(-1)!.trim().split(/\s+/)[0], 'total');
  // Every size ends at the same column, and each starts past the longest name plus the gap.
  assert.equal(new Set(rows.map((l) => l.length)).size, 1, rows.join('\n'));
  for (const l of rows) {
    const name = l.trim().split(/\s+/)[0]!;
    assert.ok(l.slice(2 + longest, 4 + longest) === '  ', `gap after the name column: "${l}"`);
    assert.ok(l.startsWith(`  ${name}`));
  }
});

test('plait info\'s drift after add, replace and compact: judged on the added tokens still indexed, and says what its mean covers', () => {
  // The previous test added rest.jsonl once; adding it again with new metadata replaces each of
  // those documents (same text, so the same tokens; an identical re-add would leave them unchanged).
  const added = readManifest(path).drift!.addedTokens;
  assert.ok(added > 0);
  const edited = join(dir, 'rest-edited.jsonl');
  writeFileSync(edited, `${lines.slice(30).map((l) => JSON.stringify({ ...(JSON.parse(l) as object), metadata: { edited: true } })).join('\n')}\n`);
  const again = runPlait(dir, ['add', path, edited, '--threads', '1', '-q']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /added 0 new documents, replaced 10 documents/);
  const compact = runPlait(dir, ['compact', path, '-q']);
  assert.equal(compact.code, 0, compact.stderr);
  const info = runPlait(dir, ['info', path]);
  assert.equal(info.code, 0, info.stderr);
  const drift = info.stdout.split('\n').find((l) => l.startsWith('drift'))!;
  assert.ok(drift.includes(`(${added} of the ${DRIFT_DEFAULTS.minAddedTokens} needed;`), drift);
  assert.ok(drift.includes(`over the ${2 * added} tokens added since the build, replaced and deleted ones included; ${added} of them still indexed)`), drift);
  assert.doesNotMatch(info.stdout, /^deleted/m, 'compaction left no deleted passage');
});
