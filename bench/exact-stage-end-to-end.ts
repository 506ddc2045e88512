/**
 * PLAID's exact stage end to end, the index's default method against `PLAIT_EXACT_SCORING=decompress`,
 * in one process on the same queries (issue 22's codec claims as a user meets them): each query is
 * searched with both methods back to back (the variable is read at each search), twice, and the
 * second pass's `timings.exactMs` are summed, so the norm cache and the pages are warm for both.
 * The kernels' own per-token figures are bench/code-scoring.ts and bench/ternary-code-scoring.ts.
 *
 * Run: `node dist/bench/exact-stage-end-to-end.js <queries.jsonl> <index>...` (first 100 queries,
 * k = 10, late mode). Figures: bench/RESULTS.md, "A new user's trial of search speed and codecs".
 */
import { readFileSync } from 'node:fs';
import { openIndex } from '../src/index.js';
import { isMain } from './common.js';

const QUERIES = 100;

if (isMain(import.meta.url)) {
  const [queriesPath, ...indexes] = process.argv.slice(2);
  if (queriesPath === undefined || indexes.length === 0) throw new Error('usage: exact-stage-end-to-end.js <queries.jsonl> <index>...');
  const queries = readFileSync(queriesPath, 'utf8').trim().split('\n').slice(0, QUERIES).map((l) => (JSON.parse(l) as { text: string }).text);
  for (const path of indexes) {
    const index = await openIndex(path);
    const embeddings = await (await index.encoder()).encodeQueries(queries);
    let byDefault = 0;
    let byDecompress = 0;
    let sameTop10 = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < queries.length; i++) {
        delete process.env['PLAIT_EXACT_SCORING'];
        const a = index.searchEncoded(queries[i]!, embeddings[i]!, { topK: 10, mode: 'late' });
        process.env['PLAIT_EXACT_SCORING'] = 'decompress';
        const b = index.searchEncoded(queries[i]!, embeddings[i]!, { topK: 10, mode: 'late' });
        if (pass === 0) continue;
        byDefault += a.timings.exactMs ?? 0;
        byDecompress += b.timings.exactMs ?? 0;
        if (a.hits.map((h) => h.docId).join() === b.hits.map((h) => h.docId).join()) sameTop10++;
      }
    }
    delete process.env['PLAIT_EXACT_SCORING'];
    console.log(`${path}: exact stage over ${queries.length} queries: default ${byDefault.toFixed(1)} ms, decompress ${byDecompress.toFixed(1)} ms (${(byDecompress / byDefault).toFixed(2)}×); identical top-10 ${sameTop10}/${queries.length}`);
    await index.close();
  }
}
