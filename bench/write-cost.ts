/**
 * Write cost of the living index (issue 20): bytes written and time of adding and deleting 0.1%
 * and 1% of an index, and of deleting 10% by a metadata filter, each on a fresh clone of the same
 * living index (built, then one write, so that every measured write is a write on a living index —
 * from schema 4 the first write on a built index is the one that copies its document store).
 *
 * Bytes written: `wchar` of /proc/self/io around the write — every byte this process handed to
 * write(2), pwrite(2), copy_file_range(2) and sendfile(2): new files, SQLite's WAL frames and
 * checkpoint, a copied store, the manifest and registry. It needs no hook, so the same file runs
 * against an older plait ("before": a build of an older commit, bench/RESULTS.md "Write cost" gives
 * the commands), in the same session. Clones hard-link every file but the document store (which a
 * schema-4 write changes in place), so that a clone of a 1M-passage index costs seconds.
 *
 *   node dist/bench/write-cost.js [passages=10000] [passages...]     # synthetic 128-d index, built here
 *   node dist/bench/write-cost.js --index <path> [--repeats 1] [--writes "add 0.1%,delete 10% by filter"]
 *   node dist/bench/write-cost.js --first-write [passages=10000]    # the same on a fresh synthetic build
 *   node dist/bench/write-cost.js --index <path> --first-write [--repeats 3]
 *       the first add (0.1%, 1%) on a built index whose store is in the older form (copied once by
 *       the first write) and in the form builds make now (born in place), in the same run
 *       an existing index (bench/msmarco-shaped.js assemble: docIds String(pid), 128-d; filter
 *       deletes take doc_id < "2", 11.1% of 1M such ids)
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { updateIndex, type UpdateRequest } from '../src/mutate/index-updater.js';
import { listedFiles } from '../src/format/manifest.js';
import { readManifest } from '../src/format/index-reader.js';
import { sourceOf, syntheticModel } from '../fixtures/synthetic-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { encodedDoc, setBuildStoreForm } from '../test/helpers/living.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { isMain, machine } from './common.js';

const DIM = 128;
const id = (i: number): string => `d${String(i).padStart(8, '0')}`;

interface Row {
  passages: number;
  write: string;
  bytesWritten: number;
  ms: number;
}

/** Bytes this process has handed to write-like system calls so far (/proc/self/io `wchar`). */
function wchar(): number {
  const m = /wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(m![1]);
}

/**
 * One write: bytes, wall time, and the time outside compressing the new passages (between the
 * updater's 'docstore-written' and 'segments-written' steps: assignment to the index's centroids,
 * the same in every plait version, and minutes at 131,072 centroids).
 */
function measure(work: string, req: UpdateRequest): { bytes: number; ms: number; msOutsideCompression: number; deleted: number } {
  const w0 = wchar();
  const steps = new Map<string, number>();
  const t = performance.now();
  const r = updateIndex(work, req, { autoCompactShare: 1, onStep: (s) => void steps.set(s, performance.now()) });
  const ms = performance.now() - t;
  const compress = (steps.get('segments-written') ?? 0) - (steps.get('docstore-written') ?? 0);
  return { bytes: wchar() - w0, ms, msOutsideCompression: ms - compress, deleted: r.deleted };
}

/** A clone of an index folder: hard links, but real copies of SQLite files (changed in place by schema-4 writes). */
function clone(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to);
  for (const n of readdirSync(from)) {
    if (/\.sqlite(-wal|-shm)?$/.test(n)) copyFileSync(join(from, n), join(to, n));
    else linkSync(join(from, n), join(to, n));
  }
}

type Write = [string, (n: number) => UpdateRequest];

function writesFor(gen: SyntheticVectors, idOf: (i: number) => string, filterBelow: (n: number) => string, length: () => number): Write[] {
  const newDocs = (k: number): UpdateRequest => ({ add: Array.from({ length: k }, (_, j) => encodedDoc(`new${j}`, gen.passage(length()))) });
  return [
    ['add 0.1%', (k) => newDocs(Math.max(1, Math.round(k * 0.001)))],
    ['add 1%', (k) => newDocs(Math.round(k * 0.01))],
    ['delete 1 doc', (k) => ({ delete: [idOf(Math.floor(k / 2))] })],
    ['delete 0.1%', (k) => ({ delete: Array.from({ length: Math.max(1, Math.round(k * 0.001)) }, (_, j) => idOf((j * 997) % k)) })],
    ['delete 1%', (k) => ({ delete: Array.from({ length: Math.round(k * 0.01) }, (_, j) => idOf((j * 997) % k)) })],
    ['delete 10% by filter', (k) => ({ deleteWhere: { doc_id: { $lt: filterBelow(k) } } })],
  ];
}

/** Runs each write `repeats` times on fresh clones of `living`; median time, bytes of the first run. */
function runWrites(living: string, n: number, writes: Write[], repeats: number, scratch: string): Row[] {
  const rows: Row[] = [];
  for (const [write, make] of writes) {
    const runs: Array<ReturnType<typeof measure>> = [];
    for (let k = 0; k < repeats; k++) {
      const work = join(scratch, 'work');
      clone(living, work);
      runs.push(measure(work, make(n)));
      rmSync(work, { recursive: true, force: true });
    }
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    rows.push({ passages: n, write, bytesWritten: runs[0]!.bytes, ms: ms[Math.floor(ms.length / 2)]! });
    const outside = runs.map((r) => r.msOutsideCompression).sort((a, b) => a - b);
    process.stdout.write(`${JSON.stringify({ ...rows.at(-1), deleted: runs[0]!.deleted, allMs: ms.map((x) => Math.round(x)), msOutsideCompression: Math.round(outside[Math.floor(outside.length / 2)]!) })}\n`);
  }
  return rows;
}

/** A clone of `built` after one write (deleting `warmId`): the living index the measured writes start from. */
function livingClone(built: string, warmId: string, scratch: string): string {
  const living = join(scratch, 'living');
  clone(built, living);
  updateIndex(living, { delete: [warmId] }, { autoCompactShare: 1 });
  return living;
}

/** Builds the synthetic index of `n` passages at `base` (prints its figures); returns the vector generator that made it. */
async function buildSyntheticIndex(n: number, base: string): Promise<SyntheticVectors> {
  const gen = new SyntheticVectors({ dim: DIM, clusters: 1024, spread: 0.3, seed: 4 });
  const passages: TokenEmbeddings[] = Array.from({ length: n }, () => gen.passage(gen.length(10, 40)));
  const t0 = performance.now();
  await buildIndexFromEmbeddings(sourceOf(passages, DIM), { index: base, model: syntheticModel(DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: id });
  const m = readManifest(base);
  const indexBytes = listedFiles(m).reduce((s, f) => s + f.entry.bytes, 0);
  process.stdout.write(`${JSON.stringify({ passages: n, tokens: m.counts.tokens, centroids: m.counts.centroids, indexBytes, docstoreBytes: m.files.docstore.bytes, ivfBytes: m.files.ivf.bytes, buildS: (performance.now() - t0) / 1000 })}\n`);
  return gen;
}

export async function runWriteCost(n: number, repeats = 5): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-write-'));
  try {
    const base = join(dir, 'base');
    const gen = await buildSyntheticIndex(n, base);
    const living = livingClone(base, id(n - 1), dir);
    return runWrites(living, n, writesFor(gen, id, (k) => id(Math.round(k * 0.1)), () => gen.length(10, 40)), repeats, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The writes on an existing index (msmarco-shaped `assemble`: docIds String(pid), passages of ~70 tokens). */
export function runWriteCostOn(index: string, repeats: number, only: string[] | null): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-write-'));
  try {
    const n = readManifest(index).counts.documents;
    const gen = new SyntheticVectors({ dim: DIM, clusters: 1024, spread: 0.3, seed: 4 });
    const living = livingClone(index, String(n - 1), dir);
    const writes = writesFor(gen, String, () => '2', () => gen.length(40, 100)).filter(([w]) => only === null || only.includes(w));
    return runWrites(living, n, writes, repeats, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The first write on a built index, with its store in each form (issue 20's polish): 'legacy', as
 * builds made it before stores were born in place (the first write copies it once), and 'inPlace',
 * as builds make it now. Both are clones of the same index in the same run (the store's content is
 * the same; only its journal mode and manifest entry differ, which is all a build now does
 * differently: DocStoreWriter.close). Adds 0.1% and 1% of the documents, `repeats` times each.
 */
export function runFirstWriteOn(index: string, repeats: number): Array<Row & { form: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-first-'));
  try {
    const m = readManifest(index);
    const n = m.counts.documents;
    const gen = new SyntheticVectors({ dim: m.dim, clusters: 1024, spread: 0.3, seed: 4 });
    const rows: Array<Row & { form: string }> = [];
    for (const [write, k] of [['first add 0.1%', Math.max(1, Math.round(n * 0.001))], ['first add 1%', Math.round(n * 0.01)]] as const) {
      for (const form of ['legacy', 'inPlace'] as const) {
        const built = join(dir, `built-${form}`);
        clone(index, built);
        setBuildStoreForm(built, form);
        const runs: Array<ReturnType<typeof measure>> = [];
        for (let r = 0; r < repeats; r++) {
          const work = join(dir, 'work');
          clone(built, work);
          runs.push(measure(work, { add: Array.from({ length: k }, (_, j) => encodedDoc(`first${j}`, gen.passage(gen.length(40, 100)))) }));
          rmSync(work, { recursive: true, force: true });
        }
        const ms = runs.map((x) => x.ms).sort((a, b) => a - b);
        rows.push({ passages: m.counts.passages, write, form, bytesWritten: runs[0]!.bytes, ms: ms[Math.floor(ms.length / 2)]! });
        process.stdout.write(`${JSON.stringify({ ...rows.at(-1), documents: n, storeBytes: statSync(join(built, 'docs.sqlite')).size, allMs: ms.map((x) => Math.round(x)) })}\n`);
      }
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args.splice(i, 2)[1];
  };
  const index = opt('--index');
  const repeats = opt('--repeats');
  const only = opt('--writes');
  process.stdout.write(`${JSON.stringify(machine())}\n`);
  const first = args.indexOf('--first-write');
  if (first >= 0) args.splice(first, 1);
  if (index !== undefined && first >= 0) runFirstWriteOn(index, Number(repeats ?? 3));
  else if (first >= 0) {
    // A fresh synthetic build (its store born in place) against the same build in the older form.
    for (const n of args.length > 0 ? args.map(Number) : [10_000]) {
      const dir = mkdtempSync(join(tmpdir(), 'plait-bench-first-build-'));
      try {
        await buildSyntheticIndex(n, join(dir, 'base'));
        runFirstWriteOn(join(dir, 'base'), Number(repeats ?? 3));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  else if (index !== undefined) runWriteCostOn(index, Number(repeats ?? 1), only === undefined ? null : only.split(',').map((s) => s.trim()));
  else for (const n of args.length > 0 ? args.map(Number) : [10_000]) await runWriteCost(n, Number(repeats ?? 5));
}
