/**
 * Writes over HTTP to an index whose storage refuses them: a folder the server process may not
 * write (a read-only mount) answers 403 NOT_WRITABLE, a full disk 507 NO_SPACE; both had been a
 * 500 INTERNAL ("internal error; the server log has the detail"), which paged as a server fault,
 * made the SDKs retry and told the client nothing. Searches keep being served, nothing is
 * committed, and once space is freed the same write goes through.
 *
 * The read-only folder is a read-only bind mount (root) or chmod (non-root); the full disk a small
 * tmpfs (root only): where neither can be made the test says so and skips, as readonly-index.test.ts does.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openIndex } from '../src/index.js';
import { PLAIT_BIN } from './helpers/plait-serve.js';
import { borrowedSample, buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;

before(async () => {
  sample = await buildSample('plait-server-storage-');
});
after(async () => {
  await sample?.dispose();
});

const DOC = { documents: [{ doc_id: 'new-1', text: 'Sourdough starters keep wild yeast and lactic bacteria alive between bakes.' }] };

/** Makes `path` read-only for this process; returns the read-only path and an undo, or null where it cannot. */
function readOnly(path: string): { path: string; undo: () => void } | null {
  if (process.getuid?.() !== 0) {
    chmodSync(path, 0o555);
    return { path, undo: () => chmodSync(path, 0o755) };
  }
  const mnt = mkdtempSync(join(sample.dir, 'ro-mount-'));
  if (spawnSync('mount', ['--bind', path, mnt]).status !== 0) return null;
  if (spawnSync('mount', ['-o', 'remount,ro,bind', mnt]).status !== 0) {
    spawnSync('umount', [mnt]);
    return null;
  }
  return { path: mnt, undo: () => void spawnSync('umount', ['-l', mnt]) };
}

async function searchOk(url: string): Promise<string> {
  const r = await postJson(`${url}/v1/indexes/sample/search`, { query: 'bread yeast', top_k: 2 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.results[0].hits.length, 2);
  return r.body.generation as string;
}

test('a served index in a read-only folder: searches 200, writes 403 NOT_WRITABLE naming the index, no server path', async (t) => {
  const copy = join(sample.dir, 'ro-copy');
  cpSync(sample.path, copy, { recursive: true });
  const ro = readOnly(copy);
  if (ro === null) {
    t.skip('needs a read-only folder: run as a non-root user, or as root where mount --bind is allowed');
    return;
  }
  const index = await openIndex(ro.path, { encoderOptions: { threads: 1 }, workers: 1 });
  const log: { level: number; msg: string; index?: string }[] = [];
  const server = await serve(await borrowedSample(sample.dir, ro.path, index), { logLevel: 'warn', logDestination: { write: (line) => void log.push(JSON.parse(line) as { level: number; msg: string }) } }, index);
  try {
    // Said at the start, not only at the first write.
    assert.deepEqual(
      log.filter((l) => l.level === 40).map((l) => [l.index, l.msg]),
      [['sample', 'index "sample" is read-only for this process: searches are served, writes will answer 403 NOT_WRITABLE']],
    );
    const before = await searchOk(server.url);
    for (const [route, body] of [['documents', DOC], ['documents/delete', { doc_ids: ['bread'] }]] as const) {
      const w = await postJson(`${server.url}/v1/indexes/sample/${route}`, body);
      assert.equal(w.status, 403, JSON.stringify(w.body)); // before the fix: 500 INTERNAL
      assert.equal(w.body.error.code, 'NOT_WRITABLE');
      assert.match(w.body.error.message, /index "sample" is read-only on this server/);
      assert.doesNotMatch(JSON.stringify(w.body), /\/tmp|ro-mount|write\.lock/);
    }
    assert.equal(await searchOk(server.url), before, 'nothing was committed');
  } finally {
    await server.close();
    await index.close();
    ro.undo();
  }
});

test('a served index on a full disk: a write is 507 NO_SPACE (plait add: NO_SPACE, no stack trace), commits nothing, and goes through once space is freed', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs a small tmpfs (mount -t tmpfs): run as root');
    return;
  }
  const mnt = join(sample.dir, 'small-disk');
  mkdirSync(mnt);
  // The index and 16 MiB more; the filler then takes all but a few KiB of it.
  const indexBytes = readdirSync(sample.path).reduce((n, f) => n + statSync(join(sample.path, f)).size, 0);
  const sizeMiB = Math.ceil(indexBytes / 2 ** 20) + 16;
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', mnt]).status !== 0) {
    t.skip('mount -t tmpfs is not allowed here');
    return;
  }
  try {
    const path = join(mnt, 'sample');
    cpSync(sample.path, path, { recursive: true });
    const fs = statfsSync(mnt);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 8 * 1024)));
    const index = await openIndex(path, { encoderOptions: { threads: 1 }, workers: 1 });
    const server = await serve(await borrowedSample(sample.dir, path, index), {}, index);
    try {
      const before = await searchOk(server.url);
      const w = await postJson(`${server.url}/v1/indexes/sample/documents`, DOC);
      assert.equal(w.status, 507, JSON.stringify(w.body)); // before the fix: 500 INTERNAL
      assert.equal(w.body.error.code, 'NO_SPACE');
      assert.match(w.body.error.message, /the disk holding index "sample" is full \((ENOSPC|SQLITE_FULL)\): the write committed nothing/);
      assert.doesNotMatch(JSON.stringify(w.body), /\/tmp|small-disk/);
      assert.equal(await searchOk(server.url), before, 'nothing was committed');
      // `plait add` from another process meets the same disk: one line with its code and a hint, not ENOSPC's stack trace.
      const jsonl = join(sample.dir, 'one.jsonl');
      writeFileSync(jsonl, `${JSON.stringify({ _id: 'cli-1', text: 'Kilns fire clay.' })}\n`);
      const cli = spawnSync(process.execPath, [PLAIT_BIN, 'add', path, jsonl], { encoding: 'utf8' });
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(cli.stderr, /^plait: No space left: the disk is full \((ENOSPC|SQLITE_FULL)\): .* \[NO_SPACE\]\nplait: free space on that disk and run the command again/);
      assert.doesNotMatch(cli.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(await searchOk(server.url), before, 'nothing was committed');
      rmSync(filler);
      const again = await postJson(`${server.url}/v1/indexes/sample/documents`, DOC);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.added, 1);
    } finally {
      await server.close();
      await index.close();
    }
  } finally {
    spawnSync('umount', ['-l', mnt]);
  }
});
