import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, cpSync, truncateSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { INDEX_FILES } from '../src/format/manifest.js';
import { crc32 } from 'node:zlib';
import { isPlaitError } from '../src/errors/index.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';

const DIM = 16;
let dir: string;
let good: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-format-'));
  good = join(dir, 'good');
  await buildSynthetic(good, syntheticPassages(300, DIM, 9).passages, DIM);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function copy(name: string): string {
  const p = join(dir, name);
  cpSync(good, p, { recursive: true });
  return p;
}

test('build → reopen → same counts, and every file is listed with size and checksum (the document store in place)', async () => {
  const m = readManifest(good);
  // The build's content is all in the store file: its WAL was checkpointed (a reader that opened it
  // during the build leaves an empty -wal and a -shm behind, as any reader of an in-place store does).
  const wal = join(good, `${INDEX_FILES.docstore}-wal`);
  assert.equal(existsSync(wal) ? statSync(wal).size : 0, 0);
  const idx = await openIndex(good);
  assert.equal(idx.manifest.counts.passages, 300);
  assert.equal(idx.manifest.counts.tokens, m.counts.tokens);
  // Every role is listed, with the file's real size and its CRC-32 (recomputed here).
  assert.deepEqual(Object.keys(m.files).sort(), Object.keys(INDEX_FILES).sort());
  for (const [role, entry] of Object.entries(m.files)) {
    const file = join(good, INDEX_FILES[role as keyof typeof INDEX_FILES]);
    if (role === 'docstore') {
      // Born in the in-place form (WAL: SQLite header bytes 18–19 = 2), listed in place with its size and CRC as built.
      assert.equal(entry.inPlace, true);
      assert.deepEqual([...readFileSync(file).subarray(18, 20)], [2, 2]);
    }
    assert.equal(entry.bytes, statSync(file).size, role);
    assert.equal(entry.crc32, crc32(readFileSync(file)) >>> 0, role);
  }
  await idx.close();
  // The build left nothing behind beside the index.
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), []);
});

test('a truncated file is refused with INDEX_CORRUPT naming the file', async () => {
  const p = copy('truncated');
  truncateSync(join(p, 'residuals.0000.u8'), statSync(join(p, 'residuals.0000.u8')).size - 7);
  await assert.rejects(openIndex(p), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /residuals\.0000\.u8/.test(e.message));
});

test('a flipped byte is caught by the checksum', async () => {
  const p = copy('flipped');
  const f = join(p, 'codes.0000.i32');
  const b = readFileSync(f);
  b[5] = b[5]! ^ 0xff;
  writeFileSync(f, b);
  await assert.rejects(openIndex(p), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /checksum/.test(e.message));
});

test('a missing or garbled manifest, a missing file and another format version fail clearly', async () => {
  const a = copy('nomanifest');
  rmSync(join(a, 'manifest.json'));
  await assert.rejects(openIndex(a), (e) => isPlaitError(e, 'INDEX_NOT_FOUND'));
  const b = copy('garbled');
  writeFileSync(join(b, 'manifest.json'), '{"format": "plait-index", "formatVer');
  await assert.rejects(openIndex(b), (e) => isPlaitError(e, 'INDEX_CORRUPT'));
  const c = copy('future');
  const m = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8')) as { formatVersion: number };
  m.formatVersion = 99;
  writeFileSync(join(c, 'manifest.json'), JSON.stringify(m));
  await assert.rejects(openIndex(c), (e) => isPlaitError(e, 'INDEX_VERSION'));
  const d = copy('nofile');
  rmSync(join(d, 'ivf.i32'));
  await assert.rejects(openIndex(d), (e) => isPlaitError(e, 'INDEX_CORRUPT'));
  await assert.rejects(openIndex(join(dir, 'does-not-exist')), (e) => isPlaitError(e, 'INDEX_NOT_FOUND'));
});

test('kill -9 during a rebuild leaves the previous index intact and openable', async () => {
  const p = copy('victim');
  const before = readManifest(p).createdAt;
  // A child process rebuilds the same index path with an embedding source that stalls for good on
  // its second call (after saying so), so the kill lands mid-build on any machine, fast or loaded.
  const script = `
    import { buildSynthetic, sourceOf, syntheticPassages } from ${JSON.stringify(new URL('../fixtures/synthetic-index.js', import.meta.url).href)};
    const { passages } = syntheticPassages(3000, ${DIM}, 1);
    const inMemory = sourceOf(passages, ${DIM});
    let calls = 0;
    setInterval(() => {}, 1000); // keeps the process alive while the source stalls
    const stalling = { ...inMemory, embed: async (pids) => {
      if (calls++ === 1) {
        process.stdout.write('stalled\\n');
        await new Promise(() => {});
      }
      return inMemory.embed(pids);
    } };
    await buildSynthetic(${JSON.stringify(p)}, passages, ${DIM}, 2, stalling);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => b.toString().includes('stalled') && resolve()));
  assert.ok(readdirSync(dir).some((f) => f.startsWith('.victim.building-')), 'the stalled build has its temporary folder');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const idx = await openIndex(p);
  assert.equal(idx.manifest.createdAt, before);
  assert.equal(idx.manifest.counts.passages, 300);
  await idx.close();
  // The next build cleans the dead build's folder away.
  await buildSynthetic(p, syntheticPassages(50, DIM, 2).passages, DIM);
  assert.equal(readManifest(p).counts.passages, 50);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.victim')), []);
  assert.ok(existsSync(p));
});
