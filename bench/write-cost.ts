/**
 * Write cost of the living index (issue 20): bytes written and time of adding and deleting 0.1%
 * and 1% of an index, and of deleting 10% by a metadata filter, each on a fresh copy of the same
 * built index. Bytes written: the sizes of the files that are new or changed after the write (a
 * write only ever creates files; the manifest and registry included) — a measure that needs no hook,
 * so the same file runs against an older plait: "before" figures come from running it in a build of
 * the commit before issue 20 (bench/RESULTS.md "Write cost" gives the commands), in the same session.
 * Synthetic 128-d clustered vectors, 10–40 tokens a passage (no model: the engine's own costs).
 *
 *   node dist/bench/write-cost.js [passages=10000] [passages...]
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { updateIndex, type UpdateRequest } from '../src/mutate/index-updater.js';
import { listedFiles } from '../src/format/manifest.js';
import { readManifest } from '../src/format/index-reader.js';
import { sourceOf, syntheticModel } from '../fixtures/synthetic-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { encodedDoc } from '../test/helpers/living.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { isMain, machine } from './common.js';

const DIM = 128;
const REPEATS = 5;
const id = (i: number): string => `d${String(i).padStart(8, '0')}`;

interface Row {
  passages: number;
  write: string;
  bytesWritten: number;
  ms: number;
}

/** Name → [size, mtime] of the files in a folder. */
function listing(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).map((n) => {
    const st = statSync(join(dir, n));
    return [n, `${st.size}:${st.mtimeMs}:${st.ino}`];
  }));
}

function measure(work: string, req: UpdateRequest): { bytes: number; ms: number } {
  const before = listing(work);
  const t = performance.now();
  updateIndex(work, req, { autoCompactShare: 1 });
  const ms = performance.now() - t;
  let bytes = 0;
  for (const [n, sig] of listing(work)) if (before.get(n) !== sig) bytes += statSync(join(work, n)).size;
  return { bytes, ms };
}

export async function runWriteCost(n: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-write-'));
  try {
    const gen = new SyntheticVectors({ dim: DIM, clusters: 1024, spread: 0.3, seed: 4 });
    const passages: TokenEmbeddings[] = Array.from({ length: n }, () => gen.passage(gen.length(10, 40)));
    const base = join(dir, 'base');
    const t0 = performance.now();
    await buildIndexFromEmbeddings(sourceOf(passages, DIM), { index: base, model: syntheticModel(DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: id });
    const m = readManifest(base);
    const indexBytes = listedFiles(m).reduce((s, f) => s + f.entry.bytes, 0);
    process.stdout.write(`${JSON.stringify({ passages: n, tokens: m.counts.tokens, centroids: m.counts.centroids, indexBytes, docstoreBytes: m.files.docstore.bytes, ivfBytes: m.files.ivf.bytes, buildS: (performance.now() - t0) / 1000 })}\n`);
    const writes: Array<[string, (n: number) => UpdateRequest]> = [
      ['add 0.1%', (k) => ({ add: Array.from({ length: Math.max(1, Math.round(k * 0.001)) }, (_, j) => encodedDoc(`new${j}`, gen.passage(gen.length(10, 40)))) })],
      ['add 1%', (k) => ({ add: Array.from({ length: Math.round(k * 0.01) }, (_, j) => encodedDoc(`new${j}`, gen.passage(gen.length(10, 40)))) })],
      ['delete 0.1%', (k) => ({ delete: Array.from({ length: Math.max(1, Math.round(k * 0.001)) }, (_, j) => id((j * 997) % k)) })],
      ['delete 1%', (k) => ({ delete: Array.from({ length: Math.round(k * 0.01) }, (_, j) => id((j * 997) % k)) })],
      ['delete 10% by filter', (k) => ({ deleteWhere: { doc_id: { $lt: id(Math.round(k * 0.1)) } } })],
    ];
    const rows: Row[] = [];
    for (const [write, make] of writes) {
      // Median of REPEATS, each on a fresh copy: the machine is shared and its disk's fsyncs vary.
      const runs: Array<{ bytes: number; ms: number }> = [];
      for (let k = 0; k < REPEATS; k++) {
        const work = join(dir, 'work');
        rmSync(work, { recursive: true, force: true });
        cpSync(base, work, { recursive: true });
        runs.push(measure(work, make(n)));
        rmSync(work, { recursive: true, force: true });
      }
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
      rows.push({ passages: n, write, bytesWritten: runs[0]!.bytes, ms: ms[Math.floor(ms.length / 2)]! });
      process.stdout.write(`${JSON.stringify({ ...rows.at(-1), allMs: ms.map((x) => Math.round(x)) })}\n`);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const sizes = process.argv.slice(2).map(Number);
  process.stdout.write(`${JSON.stringify(machine())}\n`);
  for (const n of sizes.length > 0 ? sizes : [10_000]) await runWriteCost(n);
}
