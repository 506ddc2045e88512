/**
 * A cancelled write, then a crash: a child process (test/helpers/cancel-crash-child.ts) adds and
 * acknowledges a document, starts a large `add` (80 documents, three encoder batches) with an
 * AbortSignal, cancels it, and is SIGKILLed — while the cancelled write is still stopping its
 * encoding; after it rejected and a second write was acknowledged; and inside the write's
 * transaction, the cancellation arriving as its commit starts (a cancel then does not undo the
 * commit: `add` resolves) and the kill coming after one chosen file operation.
 *
 * Kill points inside the transaction come from a dry run that records its file operations (the
 * child wraps node:fs's synchronous calls): under SIGKILL every finished call stays visible (no
 * power loss), so the states that differ are those after each call that changes the folder —
 * a file created or written, a rename, an unlink. Taken: the last operation before the commit starts
 * (segments written, nothing published), every operation of the commit up to the manifest's rename
 * (the folder fsync, then — between two of them — the document store's SQLite commit, after which a
 * reader rolls forward, then the manifest's temporary file), every later create, write and rename,
 * the first and last unlink of the cleanup, and the transaction's last operation. (test/living-crash-states.test.ts enumerates power-loss states of the same
 * protocol from recorded operations; this test runs the real cancellation path to a real kill.)
 *
 * After every kill: the index verifies in full (every listed file's size and CRC-32; `plait info`
 * exits 0 too, up to the manifest's rename), its document store holds exactly the manifest's documents, every acknowledged write is
 * there, the cancelled write is all there or not at all (never when it was cancelled while
 * encoding; always when `add` had resolved), and the next writer leaves no stray file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/index.js';
import { SAMPLE } from './helpers/server-fixture.js';
import { checkAfterCrash, verifiedDocIds } from './helpers/crash-check.js';

const CHILD = fileURLToPath(new URL('./helpers/cancel-crash-child.js', import.meta.url));
let dir: string;
let base: string;
let runs = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cancel-crash-'));
  base = join(dir, 'base');
  await buildIndex(SAMPLE, { index: base, encoderOptions: { threads: 0 } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface ChildRun {
  lines: string[];
  killed: boolean;
}

/** Runs the child over a fresh copy of the base index; resolves with its lines and whether it died by SIGKILL. */
function runChild(path: string, mode: string, killAt: number, record: boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path, mode, String(killAt), record ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child exited ${code ?? signal}: ${err}`));
      else resolve({ lines: out.split('\n').filter((l) => l !== ''), killed: signal === 'SIGKILL' });
    });
  });
}

/** Kills the child as `mode` and `killAt` say, then checks the folder it leaves; returns the child's lines. */
async function crashAndCheck(mode: string, killAt: number, cli = true): Promise<{ lines: string[]; bigVisible: boolean }> {
  const path = join(dir, `run-${runs++}`);
  cpSync(base, path, { recursive: true });
  const { lines, killed } = await runChild(path, mode, killAt, false);
  const what = `${mode} kill at ${killAt} (${lines.filter((l) => !l.startsWith('op ')).join(' | ')})`;
  const big = Number(lines.find((l) => l.startsWith('ready '))?.split(' ')[1]);
  assert.ok(big > 0, `${what}: the child reached the large write`);
  if (killAt !== -1 || mode !== 'commit') assert.ok(killed, `${what}: the child was not killed`);
  const committed = lines.some((l) => l.startsWith('committed '));
  const bigVisible = checkAfterCrash(path, {
    what,
    acknowledged: lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)),
    prefix: 'big-',
    count: big,
    cancelled: mode !== 'commit' ? 'none' : committed ? 'all' : 'either',
    cli,
  });
  rmSync(path, { recursive: true, force: true });
  return { lines, bigVisible };
}

test('SIGKILL while a cancelled write stops encoding, and after it rejected and the next write was acknowledged: nothing of it, every acknowledged write', async () => {
  const stopping = await crashAndCheck('encoding', -1);
  assert.ok(!stopping.lines.some((l) => l.startsWith('committed ')));
  const after = await crashAndCheck('encoding-ack', -1);
  assert.ok(after.lines.includes('aborted ABORTED'), after.lines.join(' | '));
  assert.ok(after.lines.includes('ack ack-2'), after.lines.join(' | '));
});

test('SIGKILL at each changing file operation of a write cancelled as its commit starts: all of it or none, never part', async () => {
  // Dry run: the write's file operations, and a cancel at the commit's start does not stop it.
  const path = join(dir, 'dry');
  cpSync(base, path, { recursive: true });
  const dry = await runChild(path, 'commit', -1, true);
  assert.ok(dry.lines.includes('committed 80'), `a cancel once the commit started does not undo it: ${dry.lines.filter((l) => !l.startsWith('op ')).join(' | ')}`);
  assert.equal(verifiedDocIds(path).size, verifiedDocIds(base).size + 81);
  const ops = dry.lines.filter((l) => l.startsWith('op ')).map((l) => {
    const [, n, fn, phase] = l.split(' ');
    return { n: Number(n), fn: fn!, phase: phase! };
  });
  const commitStart = ops.findIndex((o) => o.phase === 'commit');
  assert.ok(commitStart > 0, 'the transaction wrote files before its commit');
  const unlinks = ops.filter((o) => o.phase === 'commit' && /^(unlinkSync|rmSync)$/.test(o.fn));
  const firstRename = ops.findIndex((o, i) => i >= commitStart && o.fn === 'renameSync');
  const points = new Set<number>([
    ops[commitStart - 1]!.n,
    // Up to the manifest's rename, every operation: the folder fsync, the store's SQLite commit (between two of them), the manifest's temporary file.
    ...ops.slice(commitStart, firstRename + 1).map((o) => o.n),
    ...ops.filter((o) => o.phase === 'commit' && /^(openSync|writeSync|renameSync)$/.test(o.fn)).map((o) => o.n),
    ...(unlinks.length > 0 ? [unlinks[0]!.n, unlinks.at(-1)!.n] : []),
    ops.at(-1)!.n,
  ]);
  assert.ok(points.size >= 6, `kill points ${[...points].join(', ')} of ${ops.length} operations`);
  let before = 0;
  let after = 0;
  for (const k of [...points].sort((a, b) => a - b)) {
    // plait info (a second process, ~0.5 s) up to the manifest's rename, where a reader may have to roll forward; verifyIndex checks every state.
    const r = await crashAndCheck('commit', k, k <= ops[firstRename]!.n);
    if (r.bigVisible) after++;
    else before++;
  }
  // The kills landed on both sides of the commit point.
  assert.ok(before > 0 && after > 0, `states: ${before} without the write, ${after} with it`);
  process.stderr.write(`# cancel-crash: ${points.size} kills of ${ops.length} file operations (${[...points].sort((a, b) => a - b).join(', ')}; commit from ${ops[commitStart]!.n}): ${before} left no trace of the write, ${after} all of it\n`);
});
