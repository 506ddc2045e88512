/**
 * `plait restore` end to end, as a user meets it after `plait backup`: the bundled model's index of
 * the sample corpus, served (the server polls the folder for other processes' writes), backed up,
 * changed by `plait delete`, then restored through the command line — refused without --force,
 * replacing with it (the server switches to the restored generation whole and answers as the
 * backup did; `plait search` too), onto a new name, and a corrupt backup refused with the index
 * untouched. `--json` and `--help` are checked as printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { restoreIndex } from '../src/mutate/index-restore.js';
import { isPlaitError } from '../src/errors/index.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../src/format/index-reader.js';
import { listedFiles } from '../src/format/manifest.js';
import { indexGeneration } from '../src/server/engine.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';
import { strayFiles } from './helpers/living.js';

const INTERRUPT_CHILD = fileURLToPath(new URL('./helpers/interrupt-child.js', import.meta.url));

const QUERIES = ['honey bees', 'why the sky is blue', 'bread'];
let sample: SampleIndex;
let server: RunningServer;
let bak: string;
/** `plait search --json` top-5 docIds of QUERIES on the backup. */
let bakAnswers: string[][];

function plait(...args: string[]): { code: number; stdout: string; stderr: string } {
  return runPlait(sample.dir, args);
}

function cliAnswers(path: string): string[][] {
  return QUERIES.map((q) => {
    const r = plait('search', path, q, '-k', '5', '--json');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { hits: Array<{ docId: string }> }).hits.map((h) => h.docId);
  });
}

async function servedAnswers(): Promise<{ generation: string; answers: string[][] }> {
  let generation = '';
  const answers: string[][] = [];
  for (const q of QUERIES) {
    const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query: q, top_k: 5 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Each answer names the generation it came from: a swap between two queries gives no single one.
    generation = generation === '' || generation === r.body.generation ? (r.body.generation as string) : 'mixed';
    answers.push((r.body.results[0].hits as Array<{ doc_id: string }>).map((h) => h.doc_id));
  }
  return { generation, answers };
}

/** The server's answers once it serves `generation` (its poller's refresh), or after 10 s. */
async function servedUntil(generation: string, first: Awaited<ReturnType<typeof servedAnswers>>): Promise<Awaited<ReturnType<typeof servedAnswers>>> {
  let now = first;
  for (let i = 0; i < 100 && now.generation !== generation; i++) {
    await sleep(100);
    now = await servedAnswers();
  }
  return now;
}

function errorOf(stderr: string): { code: string; message: string } {
  return (JSON.parse(stderr.trim().split('\n').pop()!) as { error: { code: string; message: string } }).error;
}

before(async () => {
  sample = await buildSample('plait-restore-cli-');
  server = await serve(sample, { refreshIntervalMs: 100 });
  bak = join(sample.dir, 'sample.bak');
  const b = plait('backup', sample.path, bak, '--json');
  assert.equal(b.code, 0, b.stderr);
  bakAnswers = cliAnswers(bak);
  // The index moves on after the backup: the top hit of each query is deleted.
  writeFileSync(join(sample.dir, 'gone.txt'), `${[...new Set(bakAnswers.map((a) => a[0]!))].join('\n')}\n`);
  const d = plait('delete', sample.path, '--ids', join(sample.dir, 'gone.txt'), '--json');
  assert.equal(d.code, 0, d.stderr);
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('plait restore onto the index without --force: INDEX_EXISTS (exit 2), nothing touched', () => {
  const before = readFileSync(join(sample.path, 'manifest.json'), 'utf8');
  const r = plait('restore', bak, sample.path, '--json');
  assert.equal(r.code, 2, r.stderr);
  const e = errorOf(r.stderr);
  assert.equal(e.code, 'INDEX_EXISTS');
  assert.match(e.message, /--force/);
  assert.equal(readFileSync(join(sample.path, 'manifest.json'), 'utf8'), before);
});

test('a corrupt backup is refused (INDEX_CORRUPT) before the index is touched', () => {
  const bad = join(sample.dir, 'bad.bak');
  cpSync(bak, bad, { recursive: true });
  const f = join(bad, listedFiles(readManifest(bad)).find((x) => x.name.startsWith('codes.'))!.name);
  const bytes = readFileSync(f);
  bytes[0] ^= 0x01;
  writeFileSync(f, bytes);
  const before = readFileSync(join(sample.path, 'manifest.json'), 'utf8');
  const entries = readdirSync(sample.dir).sort();
  const r = plait('restore', bad, sample.path, '--force', '--json');
  assert.notEqual(r.code, 0);
  const e = errorOf(r.stderr);
  assert.equal(e.code, 'INDEX_CORRUPT');
  assert.match(e.message, /the backup at .* is not whole, nothing was restored/);
  assert.equal(readFileSync(join(sample.path, 'manifest.json'), 'utf8'), before);
  assert.deepEqual(readdirSync(sample.dir).sort(), entries, 'no temporary folder beside the index');
});

test('a <backup> that is no backup (a folder without manifest.json, a file, nothing) is INDEX_NOT_FOUND saying so, at the CLI and the library (it said "no index" or "not whole")', async () => {
  const folder = join(sample.dir, 'notes');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.txt'), 'a note');
  const cases: [string, RegExp][] = [
    [folder, /no backup at .*notes: the folder has no manifest\.json; a backup is the folder plait backup writes/],
    [join(folder, 'a.txt'), /no backup at .*a\.txt: it is a file, not a folder/],
    [join(sample.dir, 'absent.bak'), /no backup at .*absent\.bak: nothing is there/],
  ];
  for (const [backup, message] of cases) {
    const r = plait('restore', backup, join(sample.dir, 'restored'), '--json');
    assert.equal(r.code, 2, r.stderr);
    const e = errorOf(r.stderr);
    assert.equal(e.code, 'INDEX_NOT_FOUND');
    assert.match(e.message, message);
    await assert.rejects(restoreIndex(backup, join(sample.dir, 'restored')), (x: unknown) => isPlaitError(x, 'INDEX_NOT_FOUND') && message.test((x as Error).message));
  }
});

test('Ctrl-C during plait restore --force, before its commit: "nothing changed", exit by SIGINT, the index and its folder as they were', async () => {
  const before = readFileSync(join(sample.path, 'manifest.json'), 'utf8');
  const entries = readdirSync(sample.dir).sort();
  // The child holds the restore's transaction once it begins (the target's lock taken, the
  // temporary folder made) until the signal is sent and the release file made; the signal is
  // handled at the restore's next await, before the commit.
  const release = join(sample.dir, 'interrupt-release');
  const r = await new Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [INTERRUPT_CHILD, 'begin', release, '--', 'restore', bak, sample.path, '--force'], { cwd: sample.dir });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('@@hold') && child.signalCode === null && !stderr.includes('@@sent')) {
        stderr += '@@sent';
        child.kill('SIGINT');
        writeFileSync(release, '');
      }
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
  rmSync(release, { force: true });
  assert.deepEqual({ status: r.status, signal: r.signal }, { status: null, signal: 'SIGINT' }, r.stderr);
  assert.match(r.stderr, /interrupted by SIGINT before commit: nothing changed/);
  assert.equal(readFileSync(join(sample.path, 'manifest.json'), 'utf8'), before);
  assert.deepEqual(readdirSync(sample.dir).sort(), entries, 'the temporary folder is removed');
  assert.deepEqual(strayFiles(sample.path), []);
});

test('plait restore --force replaces the served index: the server switches to the restored generation and answers as the backup did', async () => {
  const old = readManifest(sample.path);
  const served = await servedUntil(indexGeneration(old), await servedAnswers());
  assert.equal(served.generation, indexGeneration(old), 'the server serves the delete');
  assert.notDeepEqual(served.answers, bakAnswers, 'the changed index answers differently');
  const r = plait('restore', bak, sample.path, '--force', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out).sort(), ['backup', 'backupGeneration', 'bytes', 'commit', 'counts', 'files', 'generation', 'path', 'replaced']);
  assert.equal(out['replaced'], true);
  assert.equal(out['generation'], (old.generation ?? 0) + 1);
  assert.equal(out['backupGeneration'], readManifest(bak).generation ?? 0);
  const restored = readManifest(sample.path);
  assert.equal(out['commit'], restored.commit);
  // The server picks the restored generation up as it picks up any other process's write.
  const now = await servedUntil(indexGeneration(restored), served);
  assert.equal(now.generation, indexGeneration(restored), 'the server serves the restored generation');
  assert.deepEqual(now.answers, bakAnswers, 'the server answers as the backup');
  assert.deepEqual(cliAnswers(sample.path), bakAnswers, 'plait search answers as the backup');
  const info = plait('info', sample.path, '--json');
  assert.equal(info.code, 0, info.stderr);
});

test('plait restore onto a new name, and its text output and help', () => {
  const r = plait('restore', bak, 'copy');
  assert.equal(r.code, 0, r.stderr);
  const path = join(sample.dir, 'indexes', 'copy');
  assert.match(r.stdout, new RegExp(`^restored ${bak} \\(generation \\d+\\) to ${path}: generation \\d+, \\d+ documents, \\d+ files, [\\d.]+ MiB\\n$`));
  assert.ok(statSync(join(path, 'manifest.json')).isFile());
  assert.deepEqual(cliAnswers('copy'), bakAnswers, 'found by name in the index home, answering as the backup');
  const help = plait('restore', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: plait restore \[options\] <backup> <index>/);
  assert.match(help.stdout, /-f, --force/);
  assert.match(help.stdout, /--lock-wait-s/);
});
