/**
 * PLAID fidelity against exhaustive MaxSim on judged data (scifact, cranfield; indexes built with
 * the bundled model, e.g. by `plait eval ../shared/data/<name>`): the share of the exhaustive
 * top-10 that PLAID finds (goal ≥ 0.99) and the nDCG@10 difference (goal ≤ 0.005) at default
 * settings, plus a latency/quality table over ncells and ndocs. Late-interaction mode only (the
 * hybrid layer on top is the same for both). Query encoding is excluded from latencies.
 *
 * Run: `node dist/bench/plaid-fidelity.js [datasets=scifact,cranfield]`
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openIndex, type SearchOptions } from '../src/search/plait-index.js';
import { resolveIndexPath } from '../src/format/index-path.js';
import { readQueries, readQrels, evaluateRun, type Run } from '../src/eval/index.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { dataDir, isMain, machine, percentiles } from './common.js';

const SETTINGS: Array<{ label: string; options: SearchOptions }> = [
  { label: 'defaults (k=10: ncells 1, thr 0.5, ndocs 256)', options: {} },
  { label: 'ncells 1, ndocs 1024', options: { nIvfProbe: 1, ndocs: 1024 } },
  { label: 'ncells 2, thr 0.45, ndocs 1024', options: { nIvfProbe: 2, centroidScoreThreshold: 0.45, ndocs: 1024 } },
  { label: 'ncells 4, thr 0.4, ndocs 4096', options: { nIvfProbe: 4, centroidScoreThreshold: 0.4, ndocs: 4096 } },
  { label: 'ncells 8, no threshold, ndocs 8192', options: { nIvfProbe: 8, centroidScoreThreshold: -1, ndocs: 8192 } },
];

async function dataset(name: string): Promise<object> {
  const data = dataDir();
  const path = resolveIndexPath(name);
  if (data === null || !existsSync(join(data, name))) return { skipped: `no data set ${name} under ../shared/data` };
  if (!existsSync(join(path, 'manifest.json'))) return { skipped: `no index at ${path} (build it: plait eval ../shared/data/${name})` };
  const [queries, qrels] = await Promise.all([readQueries(join(data, name, 'queries.jsonl')), readQrels(join(data, name, 'qrels', 'test.tsv'))]);
  const judged = queries.filter((q) => qrels.has(q.id));
  const index = await openIndex(path, { encoderOptions: { threads: 2 }, workers: 2 });
  try {
    const emb = await (await index.encoder()).encodeQueries(judged.map((q) => q.text));
    const runWith = async (options: SearchOptions): Promise<{ run: Run; ms: number[] }> => {
      const run: Run = new Map();
      const ms: number[] = [];
      for (let i = 0; i < judged.length; i++) {
        const q = judged[i]!;
        const o: SearchOptions = { mode: 'late', topK: 10, ...options };
        const t = performance.now();
        // Exhaustive search splits across the scoring workers; PLAID runs on this thread.
        const { hits } = o.exhaustive ? (await index.searchEncodedBatch([q.text], [emb[i]!], o))[0]! : index.searchEncoded(q.text, emb[i]!, o);
        ms.push(performance.now() - t);
        run.set(q.id, hits.map((h) => ({ docId: h.docId, score: h.score })));
      }
      return { run, ms };
    };
    const exact = await runWith({ exhaustive: true });
    const exactNdcg = evaluateRun(exact.run, qrels).mean['ndcg@10'];
    const rows = [];
    for (const { label, options } of SETTINGS) {
      const r = await runWith(options);
      let found = 0;
      let total = 0;
      for (const [qid, hits] of exact.run) {
        const got = new Set(r.run.get(qid)!.map((h) => h.docId));
        for (const h of hits) {
          total++;
          if (got.has(h.docId)) found++;
        }
      }
      const ndcg = evaluateRun(r.run, qrels).mean['ndcg@10'];
      rows.push({ setting: label, top10Found: found / total, ndcg10: ndcg, ndcgDiff: ndcg - exactNdcg, latencyMs: percentiles(r.ms) });
    }
    return {
      dataset: name,
      queries: judged.length,
      passages: index.manifest.counts.passages,
      exhaustive: { ndcg10: exactNdcg, latencyMs: percentiles(exact.ms) },
      settings: rows,
    };
  } finally {
    await index.close();
  }
}

export async function run(datasets = ['scifact', 'cranfield']): Promise<object> {
  const out: object[] = [];
  for (const d of datasets) out.push(await dataset(d));
  return { benchmark: 'plaid-fidelity', machine: machine(), kernels: kernelsStatus().active, results: out };
}

if (isMain(import.meta.url)) console.log(JSON.stringify(await run(process.argv[2]?.split(',')), null, 2));
