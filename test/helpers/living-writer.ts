/**
 * Child process for the crash and concurrency tests: writes to a synthetic living index in a loop
 * and prints `intent <op> <batch>` before each write and `ack <op> <batch>` (synchronously, after
 * the write returned, i.e. after its commit) for each acknowledged write. Batches are 3 documents `b<k>-0..2` with embeddings seeded by k;
 * a delete removes the oldest live batch whole; every 7th write compacts.
 * argv: <index> <seed> <first batch> [max writes] [pace file]. With a pace file, write n (from 0)
 * waits until the file holds a number ≥ SEARCHES_PER_WRITE × n (the readers' count of searches), so
 * that the readers are not outrun however the machine's load shares the CPU between the processes.
 */
import { readFileSync, writeSync } from 'node:fs';
import { updateIndex, compactIndex } from '../../src/mutate/index-updater.js';
import { DocStoreReader } from '../../src/docstore/docstore-reader.js';
import { readManifest } from '../../src/format/index-reader.js';
import { roleFileName } from '../../src/format/manifest.js';
import { Random } from '../../src/util/random.js';
import { join } from 'node:path';
import { SyntheticVectors } from '../../fixtures/synthetic.js';
import { encodedDoc } from './living.js';

export const LIVING_DIM = 32;

/** With a pace file: searches the readers complete for each write (see the header). */
export const SEARCHES_PER_WRITE = 3;

/** Resolves once `file` holds a number ≥ `n` (a missing or half-written file reads as 0). */
async function pacedTo(file: string, n: number): Promise<void> {
  for (;;) {
    let done = 0;
    try {
      done = Number(readFileSync(file, 'utf8')) || 0;
    } catch {
      // not written yet
    }
    if (done >= n) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The embeddings of batch k's documents (the same in every process). */
export function batchEmbeddings(k: number) {
  const gen = new SyntheticVectors({ dim: LIVING_DIM, clusters: 64, spread: 0.35, seed: 1000 + k });
  return [0, 1, 2].map(() => gen.passage(gen.length(5, 30)));
}

/** Live batch numbers in the index, from its document store. */
export function liveBatches(path: string): Map<number, number> {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')));
  try {
    const counts = new Map<number, number>();
    for (let r = 0; r < store.rowidSpan; r++) {
      const id = store.rowidToDocId(r);
      const b = id === null ? null : /^b(\d+)-\d$/.exec(id);
      if (b) counts.set(Number(b[1]), (counts.get(Number(b[1])) ?? 0) + 1);
    }
    return counts;
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const [path, seedArg, firstArg, maxArg, pace] = process.argv.slice(2);
  const rng = new Random(Number(seedArg));
  let k = Number(firstArg);
  const max = maxArg === undefined ? Infinity : Number(maxArg);
  writeSync(1, 'ready\n');
  for (let n = 0; n < max; n++) {
    if (pace !== undefined) await pacedTo(pace, SEARCHES_PER_WRITE * n);
    const roll = rng.int(7);
    if (roll === 0) {
      writeSync(1, `intent compact -1\n`);
      compactIndex(path!);
      writeSync(1, `ack compact -1\n`);
    } else if (roll <= 2) {
      const live = [...liveBatches(path!).keys()].sort((a, b) => a - b);
      if (live.length === 0) continue;
      const j = live[0]!;
      writeSync(1, `intent delete ${j}\n`);
      updateIndex(path!, { delete: [0, 1, 2].map((i) => `b${j}-${i}`) }, { autoCompactShare: 1 });
      writeSync(1, `ack delete ${j}\n`);
    } else {
      const embs = batchEmbeddings(k);
      writeSync(1, `intent add ${k}\n`);
      updateIndex(path!, { add: embs.map((e, i) => encodedDoc(`b${k}-${i}`, e)) }, { autoCompactShare: 1 });
      writeSync(1, `ack add ${k}\n`);
      k++;
    }
  }
}

// Run as a child with its arguments only (`node --test dist/test/` also loads this file, without them).
if (process.argv[1]?.endsWith('living-writer.js') && process.argv.length >= 5) {
  main().catch((e: unknown) => {
    writeSync(2, `${String((e as Error).stack ?? e)}\n`);
    process.exit(1);
  });
}
