/**
 * Readers during writes (issue 12): a child process streams adds, deletes and compactions into a
 * synthetic living index while this process searches in a loop and refreshes concurrently. No
 * search may fail, and every answer must come from one whole generation: each hit is a live
 * document of the generation the index serves, and no batch of 3 documents is ever half present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { batchEmbeddings, LIVING_DIM } from './helpers/living-writer.js';

const WRITER = fileURLToPath(new URL('./helpers/living-writer.js', import.meta.url));

/** Batch number → documents present, in the generation the index serves now. */
function batchesOf(index: PlaitIndex): Map<number, number> {
  const counts = new Map<number, number>();
  for (let r = 0; r < index.docstore.rowidSpan; r++) {
    const m = /^b(\d+)-\d$/.exec(index.docstore.rowidToDocId(r) ?? '');
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  }
  return counts;
}

/**
 * The loop below, on an index opened with `workers` scoring threads. With workers, every refresh
 * starts a pool whose threads map the new generation's files while the child's next commit may
 * unlink them: before the threads mapped the opening thread's descriptors, a thread that started
 * late found a file gone (ENOENT), its searches failed with WORKER_FAILED and the pool's unhandled
 * error ended the process.
 */
async function readersDuringWrites(workers: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'plait-concurrent-'));
  const path = join(dir, 'idx');
  let child: ChildProcess | null = null;
  try {
    await buildSynthetic(path, syntheticPassages(60, LIVING_DIM, 8, 64, 0.35).passages, LIVING_DIM);
    // Descriptors of this index's files held by this process (Linux; elsewhere none are counted).
    const indexFds = (): string[] =>
      existsSync('/proc/self/fd')
        ? readdirSync('/proc/self/fd').flatMap((fd) => {
            try {
              const target = readlinkSync(`/proc/self/fd/${fd}`);
              return target.startsWith(path) ? [target] : [];
            } catch {
              return []; // closed while listed
            }
          })
        : [];
    const index = await openIndex(path, { workers });
    // The writer waits for SEARCHES_PER_WRITE search batches a write (the pace file): unpaced, a
    // loaded machine could let it commit its 40 writes while few searches ran, and the counts below
    // (generations seen, answers checked) depended on how the CPU was shared.
    const pace = join(dir, 'searches');
    const writer = spawn(process.execPath, [WRITER, path, '77', '0', '40', pace], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = writer;
    let done = false;
    const exited = new Promise<number | null>((resolve) => writer.on('exit', (code) => {
      done = true;
      resolve(code);
    }));
    let searches = 0;
    let checked = 0;
    let swappedBetween = 0;
    let generations = new Set<number>();
    const searcher = (async () => {
      for (let q = 0; !done; q++) {
        const queries = [0, 1, 2, 3].map((i) => batchEmbeddings((q + i) % 30)[i % 3]!);
        const results = await index.searchEncodedBatch(['', '', '', ''], queries, { topK: 10 });
        // Each answer names its generation; when the index still serves it, its hits are checked
        // against that generation's document store (a refresh may have swapped in between).
        for (const r of results) {
          if (r.generation !== index.generation) {
            swappedBetween++;
            continue;
          }
          checked++;
          assert.equal(r.hits.length, Math.min(10, index.manifest.counts.documents));
          for (const h of r.hits) assert.notEqual(index.docstore.docIdToRowid(h.docId), null, `${h.docId} is not live in generation ${index.generation}`);
        }
        for (const [b, n] of batchesOf(index)) assert.equal(n, 3, `batch ${b} half applied in generation ${index.generation}`);
        generations.add(index.generation);
        searches++;
        writeFileSync(pace, String(searches));
      }
    })();
    const refresher = (async () => {
      while (!done) {
        await index.refresh();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // Failures surface through Promise.all below; note them now so none is reported unhandled.
    searcher.catch(() => {});
    refresher.catch(() => {});
    await Promise.race([exited, searcher, refresher]);
    done = true;
    await Promise.all([searcher, refresher]);
    assert.equal(await exited, 0);
    await index.refresh();
    assert.ok(index.generation >= 30, `the writes committed (generation ${index.generation})`);
    assert.ok(generations.size > 3, `searches saw several generations (${generations.size}, ${searches} batches)`);
    // In one thread most answers are checked; with workers a search takes longer beside the refreshes, so
    // more answers come from a generation already swapped out (16 checked against 40 seen once): enough are checked.
    if (workers === 0) assert.ok(checked > swappedBetween, `most answers checked (${checked} checked, ${swappedBetween} answered by a generation swapped out before the check)`);
    else assert.ok(checked >= 3, `answers checked (${checked} checked, ${swappedBetween} answered by a generation swapped out before the check)`);
    await index.close();
    // Each retired generation closed the descriptors it kept for its workers: none of the index's
    // files is held open once it is closed (before, one per mapped file and generation: 100+).
    assert.deepEqual(indexFds(), [], 'descriptors of the index left open after close');
  } finally {
    // A failed search leaves the writer waiting for searches that never come: end it.
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('searches in a loop during a stream of writes never fail and never see a half-applied write', async () => {
  await readersDuringWrites(0);
});

test('the same with scoring worker threads: each refreshed pool maps files the next commit unlinks', async () => {
  await readersDuringWrites(2);
});
