/**
 * Living index (issue 12) on a synthetic index (128-d, clustered vectors, one passage a
 * document; no model, so the figures are the engine's own costs):
 *  - cost of a write: build on 99% of the passages, then add the last 1% (compress with the
 *    existing codec, new segment, merged IVF, docstore copy), delete 1%, compact;
 *  - filtered search: latency (one query at a time, calling thread) and recall@10 of filtered
 *    search against the exhaustive filtered oracle (every passage scored, then filtered), at
 *    selectivities 50%, 5% and 0.5% (doc_id range filters: ids are zero-padded, pids random
 *    w.r.t. the clusters).
 * Run: `node dist/bench/living-index.js [passages=20000]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { updateIndex, compactIndex } from '../src/mutate/index-updater.js';
import { openIndex } from '../src/search/plait-index.js';
import { sourceOf, syntheticModel } from '../fixtures/synthetic-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { encodedDoc } from '../test/helpers/living.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { isMain, machine, percentiles } from './common.js';
import { FILTER_DEFAULTS } from '../src/config/defaults.js';

const DIM = 128;

export async function runLivingBench(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-living-'));
  try {
    const gen = new SyntheticVectors({ dim: DIM, clusters: 1024, spread: 0.3, seed: 4 });
    const passages: TokenEmbeddings[] = Array.from({ length: n }, () => gen.passage(gen.length(10, 40)));
    const id = (i: number): string => `d${String(i).padStart(6, '0')}`;
    const nBuild = Math.round(n * 0.99);
    const path = join(dir, 'idx');
    let t = performance.now();
    await buildIndexFromEmbeddings(sourceOf(passages.slice(0, nBuild), DIM), { index: path, model: syntheticModel(DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: id });
    const buildMs = performance.now() - t;
    t = performance.now();
    updateIndex(path, { add: passages.slice(nBuild).map((e, j) => encodedDoc(id(nBuild + j), e)) }, { autoCompactShare: 1 });
    const addMs = performance.now() - t;
    t = performance.now();
    updateIndex(path, { delete: Array.from({ length: n - nBuild }, (_, j) => id(j * 97 % nBuild)) }, { autoCompactShare: 1 });
    const deleteMs = performance.now() - t;
    t = performance.now();
    compactIndex(path);
    const compactMs = performance.now() - t;
    process.stdout.write(`${JSON.stringify(machine())}\n`);
    process.stdout.write(`passages ${n}: build 99% ${(buildMs / 1000).toFixed(1)} s; add 1% ${addMs.toFixed(0)} ms (${((100 * addMs) / buildMs).toFixed(2)}% of the build); delete 1% ${deleteMs.toFixed(0)} ms; compact ${compactMs.toFixed(0)} ms\n`);

    const index = await openIndex(path);
    const live = index.manifest.counts.documents;
    // Queries with an answer: 8 tokens of a random document's passage, perturbed (as a query shares
    // a few terms with its relevant passage), rather than unrelated random vectors.
    const queries = Array.from({ length: 40 }, (_, i) => {
      const src = passages[(i * 7919) % n]!;
      const noise = gen.passage(8);
      const len = Math.min(8, src.length);
      const v = new Float32Array(len * DIM);
      for (let t = 0; t < len; t++) {
        let norm = 0;
        for (let d = 0; d < DIM; d++) {
          const x = src.vectors[t * DIM + d]! + 0.5 * noise.vectors[t * DIM + d]!;
          v[t * DIM + d] = x;
          norm += x * x;
        }
        for (let d = 0; d < DIM; d++) v[t * DIM + d]! /= Math.sqrt(norm);
      }
      return { vectors: v, length: len, tokenIds: noise.tokenIds.subarray(0, len) };
    });
    process.stdout.write('| selectivity | path | matching docs | filtered p50 ms | filtered p95 ms | exhaustive filtered p50 ms | recall@10 vs exhaustive filtered |\n|---|---|---|---|---|---|---|\n');
    const exact = { ...FILTER_DEFAULTS };
    const cases = [['100% (no filter)', 1, false], ['50%', 0.5, false], ['5%', 0.05, false], ['5%', 0.05, true], ['0.5%', 0.005, false], ['0.5%', 0.005, true]] as const;
    for (const [name, share, forcePlaid] of cases) {
      Object.assign(FILTER_DEFAULTS, exact, forcePlaid ? { exactMaxPassages: 0, exactPerNdocs: 0 } : {});
      const filter = { doc_id: { $lt: share === 1 ? 'e' : id(Math.round(n * share)) } };
      const allowed = Math.round(n * share);
      const path = forcePlaid || allowed > exact.exactMaxPassages || allowed > exact.exactMaxShare * n ? 'PLAID + filtered collapse, widening' : 'exact over allowed passages';
      const lat: number[] = [];
      const base: number[] = [];
      let found = 0;
      let want = 0;
      const matching = index.docstore.filterRowids('doc_id < ?', [filter.doc_id.$lt]).length;
      for (const q of queries) {
        let s = performance.now();
        const got = index.searchEncoded('', q, { topK: 10, filter, mode: 'late' }).hits.map((h) => h.docId);
        lat.push(performance.now() - s);
        s = performance.now();
        // The oracle: every passage scored exactly, unfiltered (the deepest page allowed), then filtered here.
        const all = index.searchEncoded('', q, { topK: Math.min(live, 10000), exhaustive: true, mode: 'late' }).hits.filter((h) => h.docId < filter.doc_id.$lt);
        base.push(performance.now() - s);
        const top = new Set(all.slice(0, 10).map((h) => h.docId));
        want += top.size;
        found += got.filter((d) => top.has(d)).length;
      }
      const p = percentiles(lat);
      process.stdout.write(`| ${name} | ${path} | ${matching} | ${p.p50.toFixed(2)} | ${p.p95.toFixed(2)} | ${percentiles(base).p50.toFixed(2)} | ${(found / want).toFixed(3)} |\n`);
    }
    Object.assign(FILTER_DEFAULTS, exact);
    await index.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runLivingBench(Number(process.argv[2] ?? 20000));
