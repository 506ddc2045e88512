/**
 * The searcher's start with scoring workers (search-15): what `openIndex(path, { workers })` costs
 * until every worker has answered, and the memory it holds, for 0 (the calling thread), 1, 2 and 4
 * workers. Each run is a fresh process:
 *   open → `warmUp({ encoder: false })` (every worker scores one PLAID query: its one-time setup,
 *   as the server's start pays it) → one batch of `max(1, workers)` encoded queries (the index's own
 *   centroid rows, so no model is loaded and only the searcher is measured).
 * Printed per worker count (median over the runs): openMs, warmUpMs, readyMs (open + warm-up: the
 * time to a searcher whose every thread is set up), firstBatchMs, and memory after the batch (MiB):
 * `rssMiB` and `anonMiB` (RssAnon: private anonymous memory — RSS also counts each worker's second
 * mapping of the index files, pages the page cache holds once), each also over the 0-worker process
 * (`…OverZeroMiB`: the price of the workers).
 * `profile` times, on this thread, each step a worker repeats at its start (mapping the files
 * again, the scratch marks, the int8 centroids, the centroid norms, the exact stage's norm cache).
 *
 * Run: `node dist/bench/worker-start.js <index> [runs=3] [workers=0,1,2,4]`
 *      `node dist/bench/worker-start.js profile <index>`
 * (bench/RESULTS.md, "Scoring workers' start, shared tables (search-15)").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openIndex, getKernels } from '../src/index.js';
import { isMain, machine } from './common.js';
import { loadIndexData } from '../src/format/index-reader.js';
import { toTransferable, fromTransferable } from '../src/format/shared-arrays.js';
import { scoringArraysOf, scratchMarks, type ScoringArrays } from '../src/search/plaid.js';
import { quantiseCentroids } from '../src/search/centroid-quantisation.js';
import { centroidNormsSq, tokenInverseNormsCache } from '../src/codec/code-scorer.js';

interface RunFigures {
  openMs: number;
  warmUpMs: number;
  firstBatchMs: number;
  rssMiB: number;
  /** /proc/self/status RssAnon: private anonymous memory (heaps, per-thread tables), which file mappings do not inflate. */
  anonMiB: number;
}

/** RssAnon in MiB (Linux; NaN elsewhere). A worker maps the index's files again, and RSS counts every mapping's pages although the page cache holds them once. */
function anonMiB(): number {
  try {
    const m = /RssAnon:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

const MiB = 1024 * 1024;

async function child(path: string, workers: number): Promise<RunFigures> {
  const t0 = performance.now();
  const index = await openIndex(path, { workers });
  const openMs = performance.now() - t0;
  try {
    let t = performance.now();
    await index.warmUp({ encoder: false });
    const warmUpMs = performance.now() - t;
    const a = index.scoringArrays;
    const n = Math.max(1, workers);
    const qLen = 12;
    const queries = Array.from({ length: n }, (_, i) => {
      const from = ((i + 1) * 97 * qLen) % Math.max(1, a.nCentroids - qLen);
      return { vectors: a.centroids.slice(from * a.dim, (from + qLen) * a.dim), length: qLen, tokenIds: new Int32Array(qLen) };
    });
    t = performance.now();
    await index.searchEncodedBatch(
      queries.map((_, i) => `q${i}`),
      queries,
      { mode: 'late', topK: 10 },
    );
    const firstBatchMs = performance.now() - t;
    return { openMs, warmUpMs, firstBatchMs, rssMiB: process.memoryUsage().rss / MiB, anonMiB: anonMiB() };
  } finally {
    await index.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (x: number): number => Number(x.toFixed(1));

export function run(path: string, runs = 3, workerCounts = [0, 1, 2, 4]): object {
  const self = fileURLToPath(import.meta.url);
  const load = [loadavg()[0]!];
  const out: Record<number, RunFigures[]> = {};
  for (let i = 0; i < runs; i++) {
    for (const w of workerCounts) {
      const r = spawnSync(process.execPath, [self, 'child', path, String(w)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`child (${w} workers) failed: ${r.stderr}`);
      (out[w] ??= []).push(JSON.parse(r.stdout) as RunFigures);
    }
    load.push(loadavg()[0]!);
  }
  const base = out[workerCounts[0]!]!;
  const rows = workerCounts.map((w) => {
    const rs = out[w]!;
    return {
      workers: w,
      openMs: r1(median(rs.map((x) => x.openMs))),
      warmUpMs: r1(median(rs.map((x) => x.warmUpMs))),
      readyMs: r1(median(rs.map((x) => x.openMs + x.warmUpMs))),
      firstBatchMs: r1(median(rs.map((x) => x.firstBatchMs))),
      rssMiB: r1(median(rs.map((x) => x.rssMiB))),
      rssOverZeroMiB: r1(median(rs.map((x) => x.rssMiB)) - median(base.map((x) => x.rssMiB))),
      anonMiB: r1(median(rs.map((x) => x.anonMiB))),
      anonOverZeroMiB: r1(median(rs.map((x) => x.anonMiB)) - median(base.map((x) => x.anonMiB))),
    };
  });
  return { benchmark: 'worker-start', machine: machine(), index: path, runs, loadavg1m: load.map((x) => Number(x.toFixed(2))), rows };
}

/** Each step a scoring worker repeats at its start, timed on this thread (ms), and the bytes it allocates. */
function profile(path: string): object {
  const kernels = getKernels();
  const time = <T>(f: () => T): [T, number] => {
    const t = performance.now();
    const v = f();
    return [v, r1(performance.now() - t)];
  };
  const [data, loadMs] = time(() => loadIndexData(path, kernels, { descriptors: true }));
  const arrays = scoringArraysOf(data);
  const [w, remapMs] = time(() => fromTransferable<ScoringArrays>(toTransferable(arrays), kernels));
  const [marks, marksMs] = time(() => scratchMarks(w));
  const [q, quantiseMs] = time(() => quantiseCentroids(w.centroids, w.nCentroids, w.dim));
  const [norms, normsMs] = time(() => centroidNormsSq({ dim: w.dim, nbits: w.nbits, centroids: w.centroids, weights: w.weights }));
  const [caches, invNormsMs] = time(() => w.segments.map((s) => tokenInverseNormsCache(s.residuals, s.codes.length)));
  const bytes = (x: { byteLength: number }[]): number => r1(x.reduce((s, v) => s + v.byteLength, 0) / MiB);
  return {
    benchmark: 'worker-start profile',
    machine: machine(),
    index: path,
    counts: { passages: w.doclens.length, tokens: w.segments.reduce((s, x) => s + x.codes.length, 0), centroids: w.nCentroids, dim: w.dim },
    loadIndexDataMs: loadMs,
    perWorker: {
      remapMs,
      marksMs,
      marksMiB: bytes([marks]),
      quantiseCentroidsMs: quantiseMs,
      quantisedMiB: bytes([q.bytes, q.scales]),
      centroidNormsMs: normsMs,
      centroidNormsMiB: bytes([norms]),
      tokenInverseNormsMs: invNormsMs,
      tokenInverseNormsMiB: bytes(caches),
    },
  };
}

if (isMain(import.meta.url)) {
  const [a, b, c] = process.argv.slice(2);
  if (a === 'child') console.log(JSON.stringify(await child(b!, Number(c))));
  else if (a === 'profile') console.log(JSON.stringify(profile(b!), null, 2));
  else console.log(JSON.stringify(run(a!, Number(b ?? 3), c === undefined ? undefined : c.split(',').map(Number)), null, 2));
}
