/** An empty corpus is bad input with its own code (issue 8, item 27): EMPTY_CORPUS, exit 2 in the CLI. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/indexer/build-index.js';
import { isPlaitError } from '../src/errors/index.js';
import { exitCodeFor } from '../src/cli/main.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-emptycorpus-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a corpus with no documents, or none left after skipping, is EMPTY_CORPUS and leaves nothing behind', async () => {
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  await assert.rejects(buildIndex(empty, { index: join(dir, 'a'), encoderOptions: { threads: 0 } }), (e) => isPlaitError(e, 'EMPTY_CORPUS') && e.message.includes('empty.jsonl'));
  const blanks = join(dir, 'blanks.jsonl');
  writeFileSync(blanks, '{"_id": "x", "text": ""}\n{"_id": "y", "text": "   "}\n');
  await assert.rejects(buildIndex(blanks, { index: join(dir, 'b'), skipInvalid: true, encoderOptions: { threads: 0 } }), (e) => isPlaitError(e, 'EMPTY_CORPUS'));
  assert.equal(existsSync(join(dir, 'a')) || existsSync(join(dir, 'b')), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), []);
});

test('the CLI exits 2 on an empty corpus, as on other bad input', () => {
  assert.equal(exitCodeFor(new (class extends Error {})()), 1);
  const empty = join(dir, 'empty2.jsonl');
  writeFileSync(empty, '');
  const r = spawnSync(process.execPath, [BIN, 'index', empty, '--index', join(dir, 'c')], { encoding: 'utf8', cwd: dir, env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /EMPTY_CORPUS|Empty corpus/);
});
