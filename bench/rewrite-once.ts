/**
 * What the server saves by rewriting each query once (polish, item 1): before, `plait serve` with
 * a rewrite computed `PlaitIndex.rewrite` to get the text to encode and the library derived the
 * same rewrite again for BM25 and the report; now the engine passes its rewrites to
 * searchEncodedBatch. The saving per query is one rewrite: timed here on a built index's judged
 * queries (spelling; spelling + synonyms), after a warm-up that builds the spelling index.
 *
 *   node dist/bench/rewrite-once.js <dataset folder> <index>
 */
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { parseSynonyms } from '../src/rewrite/synonyms.js';
import type { RewriteOptions } from '../src/rewrite/query-rewriter.js';
import { readJudgedSet } from './bm25-docstore.js';
import { corruptQuery } from './query-rewriting.js';
import { isMain, machine, percentiles } from './common.js';

export async function main(dataset: string, indexPath: string): Promise<void> {
  const set = await readJudgedSet(dataset, 'set');
  const queries = set.queries.map((q, i) => corruptQuery(q.text, i));
  const index = await openIndex(indexPath, { workers: 0 });
  const synonyms = parseSynonyms('cell, cells, cellular\nprotein, proteins\ncancer, tumor, tumour, neoplasm\ngene, genes, genetic\nrisk, hazard\ntreatment, therapy\n');
  const variants: [string, RewriteOptions][] = [
    ['spelling', { spelling: true }],
    ['spelling + synonyms (6 rules)', { spelling: true, synonyms }],
  ];
  try {
    for (const [name, rewrite] of variants) {
      for (const q of queries.slice(0, 20)) index.rewrite(q, { rewrite }); // builds the spelling index
      const ms: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const q of queries) {
          const t = performance.now();
          index.rewrite(q, { rewrite });
          ms.push(performance.now() - t);
        }
      }
      const p = percentiles(ms);
      console.log(JSON.stringify({ variant: name, queries: queries.length, rounds: 3, p50Ms: +p.p50.toFixed(3), p95Ms: +p.p95.toFixed(3), meanMs: +p.mean.toFixed(3) }));
    }
  } finally {
    await index.close();
  }
  console.log(JSON.stringify({ machine: machine() }));
}

if (isMain(import.meta.url)) {
  const [dataset = join('..', 'shared', 'data', 'scifact'), index = join('indexes', 'scifact')] = process.argv.slice(2);
  await main(dataset, index);
}
