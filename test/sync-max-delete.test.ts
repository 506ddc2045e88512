/**
 * `plait add <index> <input> --sync` given the wrong input — one file instead of the folder, a
 * subfolder, another corpus — made the index hold only that input: on a 333-document index, a
 * one-document input deleted 332 documents in one generation, without a question (only an empty
 * input was refused). A sync now deletes at most half the index's documents (at least 10) unless
 * `--max-delete` (`maxDelete`) allows more, as rsync's `--max-delete` bounds `--delete`; the refusal
 * comes before any model loads or anything is written, and says how many and how to allow them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addCorpus } from '../src/index.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { runPlait } from './helpers/cli.js';

let dir: string;
let index: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plait-sync-max-delete-'));
  index = join(dir, 'idx');
  // 24 documents d0 … d23: the default limit is max(10, 12) = 12.
  await buildSynthetic(index, syntheticPassages(24, 16, 9).passages, 16);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function generation(): Promise<number> {
  return (JSON.parse(await readFile(join(index, 'manifest.json'), 'utf8')) as { generation?: number }).generation ?? 0;
}

/** A JSONL input holding documents d0 … d(n-1). */
async function input(name: string, n: number): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, Array.from({ length: n }, (_, i) => JSON.stringify({ _id: `d${i}`, title: '', text: `document ${i}` })).join('\n') + '\n');
  return file;
}

test('plait add --sync of a one-document input over 24 documents is refused (exit 2), nothing written, naming the count and --max-delete', async () => {
  const one = await input('one.jsonl', 1);
  const g = await generation();
  for (const extra of [[], ['--dry-run']]) {
    const r = runPlait(dir, ['add', index, one, '--sync', ...extra]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the sync would delete 23 of the index's 24 documents .*more than the 12 a sync deletes by default .*--max-delete 23 .*\[INVALID_INPUT\]/);
    // The command it gives runs as written: the index and the input are in it (they were missing).
    assert.ok(r.stderr.includes(`allow them: plait add ${index} ${one} --sync --max-delete 23 (--max-delete all for no limit) [INVALID_INPUT]`), r.stderr);
  }
  // A limit given is named as the flag that gave it, not the library's maxDelete.
  const given = runPlait(dir, ['add', index, one, '--sync', '--dry-run', '--max-delete', '5']);
  assert.equal(given.code, 2, given.stderr);
  assert.match(given.stderr, /more than --max-delete 5: nothing was changed/);
  assert.equal(await generation(), g, 'nothing committed');
  const json = runPlait(dir, ['add', index, one, '--sync', '--json']);
  const err = (JSON.parse(json.stderr) as { error: { code: string; details: Record<string, unknown> } }).error;
  assert.deepEqual([err.code, err.details['reason'], err.details['wouldDelete'], err.details['maxDelete']], ['INVALID_INPUT', 'syncDeleteLimit', 23, 12]);
});

test('--max-delete allows the deletions; a sync within the default limit needs none; --max-delete without --sync is refused', async () => {
  const one = await input('one.jsonl', 1);
  const allowed = runPlait(dir, ['add', index, one, '--sync', '--dry-run', '--max-delete', '23']);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, /delete 23 documents \(dry run/);
  assert.equal(runPlait(dir, ['add', index, one, '--sync', '--dry-run', '--max-delete', 'all']).code, 0);
  assert.equal(runPlait(dir, ['add', index, one, '--sync', '--dry-run', '--max-delete', '22']).code, 2);
  const most = await input('most.jsonl', 12);
  const within = runPlait(dir, ['add', index, most, '--sync', '--dry-run']);
  assert.equal(within.code, 0, within.stderr);
  assert.match(within.stdout, /delete 12 documents/);
  const plain = runPlait(dir, ['add', index, one, '--max-delete', '3']);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /--max-delete bounds what --sync deletes/);
  assert.match(runPlait(dir, ['add', index, one, '--sync', '--max-delete', 'x']).stderr, /Expected a non-negative integer or "all" for --max-delete/);
});

test('addCorpus: the same limit and maxDelete in the library', async () => {
  const one = await input('one.jsonl', 1);
  await assert.rejects(addCorpus(index, one, { sync: true, dryRun: true }), (e: Error & { code?: string }) => e.code === 'INVALID_INPUT' && /would delete 23/.test(e.message));
  const r = await addCorpus(index, one, { sync: true, dryRun: true, maxDelete: 23 });
  assert.equal(r.deleted, 23);
  await assert.rejects(addCorpus(index, one, { maxDelete: 1 }), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /with sync only/.test(e.message));
});
