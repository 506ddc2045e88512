/**
 * A folder that holds no index is left as the user had it when a build, restore, backup or write
 * into it fails (format/publish.ts giveBackFolder, write-lock.ts `removeFile`). A build into an
 * empty folder the user had made took its write lock there when it started and, failing (a
 * malformed JSONL line, a wrong dimension, SIGTERM while encoding), left `write.lock` in it for
 * good; a write or backup naming a folder that is not an index left one there too. Real CLI
 * processes where the CLI is the door (a real SIGTERM while it encodes), the library where it is.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { backupIndex } from '../src/mutate/index-backup.js';
import { acquireWriteLock, lockKind, LOCK_FILE } from '../src/format/write-lock.js';
import { CLAIM_FILES } from '../src/format/index-path.js';
import { isPlaitError } from '../src/errors/index.js';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';

let dir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-give-back-'));
  model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  writeFileSync(join(dir, 'bad.jsonl'), '{"_id":"a","text":"wing heat flow"}\n{not json\n');
  const docs = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: Array.from({ length: 40 }, (_, j) => `w${(i * 31 + j * 7) % 997}`).join(' ') }));
  writeFileSync(join(dir, 'big.jsonl'), `${docs.join('\n')}\n`);
  writeFileSync(join(dir, 'good-lib.jsonl'), Array.from({ length: 8 }, (_, i) => JSON.stringify({ _id: `g${i}`, text: `wing heat flow ${i}` })).join('\n'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A folder the user made and left empty. */
function userFolder(name: string): string {
  const p = join(dir, name);
  mkdirSync(p);
  return p;
}

/** Nothing of a build is left beside `folder` (its `.<name>.building-*` folder). */
function noBuildFolderBeside(folder: string): void {
  const name = folder.slice(folder.lastIndexOf('/') + 1);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(`.${name}.`)), [], 'no temporary folder beside it');
}

test('plait index into an empty folder of the user\'s: a malformed line fails the build and the folder is empty again', () => {
  const empty = userFolder('cli-empty');
  const r = runPlait(dir, ['index', 'bad.jsonl', '--index', empty, '--model', model, '--threads', '0']);
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /MALFORMED_JSONL/);
  assert.deepEqual(readdirSync(empty), [], 'the folder is as the user made it (it held write.lock)');
  noBuildFolderBeside(empty);
  // And the same folder takes a good build afterwards.
  writeFileSync(join(dir, 'good.jsonl'), '{"_id":"a","text":"wing heat flow"}\n{"_id":"b","text":"boundary layer"}\n');
  const ok = runPlait(dir, ['index', 'good.jsonl', '--index', empty, '--model', model, '--threads', '0', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(existsSync(join(empty, 'manifest.json')));
});

test('plait index into an empty folder of the user\'s, SIGTERM while it encodes: the folder is empty again', async () => {
  const empty = userFolder('cli-term');
  const child = spawn(process.execPath, [PLAIT_BIN, 'index', 'big.jsonl', '--index', empty, '--model', model, '--threads', '1'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let during: string[] | null = null;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr += d;
    // Once it encodes (sampling for k-means, or compressing), the folder has long been claimed.
    if (during === null && /"phase":"(sample|encode)"/.test(stderr)) {
      during = readdirSync(empty);
      child.kill('SIGTERM');
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGTERM', stderr);
  const held = during as string[] | null; // set by the listener above
  assert.ok(held !== null && held.length === 1 && CLAIM_FILES.has(held[0]!), `the build held the folder (its lock) when the signal came: ${String(held)}`);
  assert.deepEqual(readdirSync(empty), [], `the folder is as the user made it: ${stderr}`);
  noBuildFolderBeside(empty);
});

test('buildIndex (library) into an empty folder: a malformed line, and a wrong dimension mid-build, leave it empty', async () => {
  const empty = userFolder('lib-empty');
  await assert.rejects(buildIndex(join(dir, 'bad.jsonl'), { index: empty, model, encoderOptions: { threads: 0 } }), (e: unknown) => isPlaitError(e, 'MALFORMED_JSONL'));
  assert.deepEqual(readdirSync(empty), []);
  // Vectors of the wrong width, found only once encoding has begun (the folder claimed by then).
  const { manifest } = await buildIndex(join(dir, 'good-lib.jsonl'), { index: join(dir, 'lib-good'), model, encoderOptions: { threads: 0 } });
  const dim = manifest.model.dim;
  const source = {
    nPassages: 4,
    dim,
    vocabSize: 100,
    embed: async (pids: Int32Array) => Array.from(pids, () => ({ vectors: new Float32Array(3 * (dim + 1)).fill(0.1), length: 3, tokenIds: new Int32Array(3) })),
  };
  await assert.rejects(buildIndexFromEmbeddings(source, { index: empty, model: manifest.model, modelSpec: manifest.modelSpec }), (e: unknown) => isPlaitError(e));
  assert.deepEqual(readdirSync(empty), [], 'the folder is as the user made it');
  noBuildFolderBeside(empty);
});

test('a write or a backup naming a folder that is not an index fails and leaves no lock file in it', async () => {
  const notIndex = userFolder('not-an-index');
  writeFileSync(join(notIndex, 'notes.txt'), 'mine\n');
  assert.throws(() => updateIndex(notIndex, { delete: ['x'] }), (e: unknown) => isPlaitError(e, 'INDEX_NOT_FOUND'));
  assert.deepEqual(readdirSync(notIndex), ['notes.txt'], 'no write.lock left by the write');
  const dest = userFolder('backup-dest');
  await assert.rejects(backupIndex(notIndex, dest), (e: unknown) => isPlaitError(e, 'INDEX_NOT_FOUND'));
  assert.deepEqual(readdirSync(notIndex), ['notes.txt'], 'no write.lock left in the source');
  assert.deepEqual(readdirSync(dest), [], 'the empty destination is as the user made it');
  noBuildFolderBeside(dest);
  await assert.rejects(backupIndex(notIndex, join(dir, 'backup-new')), (e: unknown) => isPlaitError(e, 'INDEX_NOT_FOUND'));
  assert.equal(existsSync(join(dir, 'backup-new')), false, 'a new name claimed for the copy is removed');
});

test('a flock file removed by its holder is never held twice: the next writer locks the new file, and locks again after it', { skip: lockKind() !== 'flock' && 'the flock kind only (a record lock is always removed by its holder)' }, () => {
  const folder = userFolder('lock-handover');
  const first = acquireWriteLock(folder);
  assert.deepEqual(readdirSync(folder), [LOCK_FILE]);
  assert.throws(() => acquireWriteLock(folder), (e: unknown) => isPlaitError(e, 'INDEX_LOCKED'));
  first.release({ removeFile: true });
  assert.deepEqual(readdirSync(folder), [], 'the holder removed its file');
  const second = acquireWriteLock(folder);
  assert.throws(() => acquireWriteLock(folder), (e: unknown) => isPlaitError(e, 'INDEX_LOCKED'));
  second.release();
  assert.deepEqual(readdirSync(folder), [LOCK_FILE], 'kept unless asked');
});
