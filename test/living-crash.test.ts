/**
 * Crash safety of the living index (issue 12): a child process writes (add, delete, compact) in a
 * loop and is killed with SIGKILL at seeded random moments. After every kill the index must open,
 * hold every acknowledged write, show no partial batch, and the next writer (even one that changes
 * nothing) must leave no file its manifest does not list (control files aside). Kills: PLAIT_CRASH_KILLS (default 50, ~45 s on
 * this loaded 2-core machine: each cycle starts a child; bench/RESULTS.md records a 100-kill run).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIndex } from '../src/search/plait-index.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { Random } from '../src/util/random.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { strayFiles } from './helpers/living.js';
import { batchEmbeddings, liveBatches, LIVING_DIM } from './helpers/living-writer.js';

const WRITER = fileURLToPath(new URL('./helpers/living-writer.js', import.meta.url));
const KILLS = Number(process.env.PLAIT_CRASH_KILLS ?? 50);
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-crash-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until `delayMs` after it is ready, then SIGKILLs it; returns its intent and ack lines. */
function runAndKill(path: string, seed: number, first: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, path, String(seed), String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (timer === null && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code}: ${err}`));
      else resolve(out.split('\n').filter((l) => l.startsWith('ack ') || l.startsWith('intent ')));
    });
  });
}

test(`${KILLS} random kill -9s during add, delete and compact lose no acknowledged write`, async () => {
  const path = join(dir, 'idx');
  await buildSynthetic(path, syntheticPassages(40, LIVING_DIM, 5, 64, 0.35).passages, LIVING_DIM);
  const rng = new Random(12);
  const acknowledgedLive = new Set<number>();
  const acknowledgedDeleted = new Set<number>();
  let next = 0;
  let acks = 0;
  let midWrite = 0;
  const ops = new Map<string, number>();
  for (let kill = 0; kill < KILLS; kill++) {
    const lines = await runAndKill(path, 1000 + kill, next, rng.int(700));
    // The write in flight when the kill came: its intent is the last line, with no ack after it.
    const last = lines.at(-1);
    const inFlight = last?.startsWith('intent ') === true ? last.split(' ') : null;
    for (const l of lines) {
      if (!l.startsWith('ack ')) continue;
      const [, op, n] = l.split(' ');
      ops.set(op!, (ops.get(op!) ?? 0) + 1);
      acks++;
      if (op === 'add') acknowledgedLive.add(Number(n));
      if (op === 'delete') {
        acknowledgedLive.delete(Number(n));
        acknowledgedDeleted.add(Number(n));
      }
    }
    // The index opens; every batch is whole; acknowledged writes hold.
    const live = liveBatches(path);
    for (const [b, count] of live) assert.equal(count, 3, `kill ${kill}: batch ${b} is partial`);
    for (const b of acknowledgedLive) {
      if (live.has(b)) continue;
      // Only an unacknowledged delete of that very batch, committed before the kill, may remove it.
      assert.ok(inFlight !== null && inFlight[1] === 'delete' && Number(inFlight[2]) === b, `kill ${kill}: acknowledged batch ${b} lost`);
      acknowledgedLive.delete(b);
      acknowledgedDeleted.add(b);
    }
    for (const b of acknowledgedDeleted) assert.ok(!live.has(b), `kill ${kill}: deleted batch ${b} is back`);
    // A batch committed just before the kill (not acknowledged) counts as written from here on.
    for (const b of live.keys()) if (!acknowledgedDeleted.has(b)) acknowledgedLive.add(b);
    next = Math.max(next, ...[...live.keys()].map((b) => b + 1), ...[...acknowledgedDeleted].map((b) => b + 1));
    if (inFlight !== null) midWrite++; // killed inside a write (it held the lock)
    // The next writer (the kernel released the killed writer's lock) leaves no stray file, even one that changes nothing.
    updateIndex(path, { delete: [] }, { autoCompactShare: 1 });
    assert.deepEqual(strayFiles(path), [], `kill ${kill}: stray files after the next write`);
  }
  // Search agrees: every live batch's documents are found by their own vectors, nothing else is returned.
  const index = await openIndex(path);
  try {
    const live = liveBatches(path);
    for (const b of [...live.keys()].slice(-5)) {
      const hits = index.searchEncoded('', batchEmbeddings(b)[1]!, { topK: 5, exhaustive: true }).hits;
      assert.equal(hits[0]!.docId, `b${b}-1`);
    }
    // Every document (how many depends on how many writes the random kills let through: 1,156 once).
    const all = index.searchEncoded('', batchEmbeddings(0)[0]!, { topK: index.manifest.counts.documents }).hits;
    assert.equal(all.length, index.manifest.counts.documents);
    for (const h of all) {
      const m = /^b(\d+)-/.exec(h.docId);
      if (m) assert.ok(live.has(Number(m[1])), `${h.docId} returned but not live`);
    }
  } finally {
    await index.close();
  }
  assert.ok(acks > KILLS / 2, `writes were acknowledged between kills (${acks}: ${JSON.stringify([...ops])})`);
  assert.ok(midWrite > 0, 'some kills landed inside a write');
  process.stderr.write(`# crash test: ${KILLS} kills (${midWrite} inside a write, lock held), ${acks} acknowledged writes ${JSON.stringify(Object.fromEntries(ops))}\n`);
});
