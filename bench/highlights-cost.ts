/**
 * What `highlights` adds to a search (src/search/highlights.ts): each query searched without and
 * with highlights, alternately (the order flipped every query, so drift in host load falls on both),
 * top-k 10, one process, calling thread; per mode the wall time of both, their paired difference and
 * `timings.highlightsMs` (the highlighting itself), as p50 / p95 / mean over the queries; and the
 * paired difference of the process's CPU time (user + system, every thread) per search, which moves
 * far less than wall time when other work shares the cores.
 *
 * Run: `node dist/bench/highlights-cost.js <index> <queries.jsonl> [queries=100]`
 * (bench/RESULTS.md, "Search highlights": scifact built with `plait index /work/shared/data/scifact`).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { openIndex, type SearchMode } from '../src/index.js';
import { isMain, machine, percentiles } from './common.js';

async function main(): Promise<void> {
  const [path, queriesFile, n = '100'] = process.argv.slice(2);
  if (path === undefined || queriesFile === undefined) throw new Error('usage: highlights-cost <index> <queries.jsonl> [queries]');
  const queries = readFileSync(queriesFile, 'utf8').trim().split('\n').slice(0, Number(n)).map((l) => (JSON.parse(l) as { text: string }).text);
  const index = await openIndex(path, { warmUp: true });
  console.log(JSON.stringify({ machine: machine(), loadavg: loadavg(), queries: queries.length }));
  try {
    for (const mode of ['late', 'hybrid', 'bm25'] as SearchMode[]) {
      // One untimed pass: the tokenizer's and FTS5's first use are not a query's cost.
      await index.search(queries[0]!, { mode, topK: 10, highlights: true });
      const plain: number[] = [];
      const lit: number[] = [];
      const diff: number[] = [];
      const own: number[] = [];
      const cpuDiff: number[] = [];
      for (let i = 0; i < queries.length; i++) {
        const q = queries[i]!;
        const cpu: [number, number] = [0, 0];
        const runOne = async (h: boolean): Promise<number> => {
          const c = process.cpuUsage();
          const t = performance.now();
          const r = await index.search(q, { mode, topK: 10, ...(h ? { highlights: true } : {}) });
          const wall = performance.now() - t;
          const u = process.cpuUsage(c);
          cpu[h ? 1 : 0] = (u.user + u.system) / 1000;
          if (h) own.push(r.timings.highlightsMs ?? 0);
          return wall;
        };
        let a: number;
        let b: number;
        if (i % 2 === 0) {
          a = await runOne(false);
          b = await runOne(true);
        } else {
          b = await runOne(true);
          a = await runOne(false);
        }
        plain.push(a);
        lit.push(b);
        diff.push(b - a);
        cpuDiff.push(cpu[1] - cpu[0]);
      }
      const f = (x: number[]): string => {
        const p = percentiles(x);
        return `p50 ${p.p50.toFixed(2)} p95 ${p.p95.toFixed(2)} mean ${p.mean.toFixed(2)}`;
      };
      console.log(`${mode}: without ${f(plain)} | with ${f(lit)} | paired difference ${f(diff)} | highlightsMs ${f(own)} | CPU paired difference ${f(cpuDiff)} (ms)`);
    }
  } finally {
    await index.close();
  }
  console.log(JSON.stringify({ loadavgAfter: loadavg() }));
}

if (isMain(import.meta.url)) await main();
