/**
 * Every query's hits at plait's defaults, for checking that a speed-only change returns the same
 * results to the last bit (issue 22, part F): prints one line a query and k (k = 10 and 100) with each
 * hit's docId and score as JavaScript prints the float (exact for a float32). Run it in two built
 * trees and compare the outputs with `cmp`.
 *
 * Run: `PLAIT_DATA_DIR=… node dist/bench/hits-dump.js <dataset> <index> natural|keyword > hits.txt`.
 */
import { openIndex } from '../src/search/plait-index.js';
import { plaidDefaultsFor } from '../src/config/defaults.js';
import { judgedQueries, keywordOf } from './calibration.js';
import { isMain } from './common.js';

export async function dumpHits(dataset: string, indexPath: string, kind: 'natural' | 'keyword', write: (line: string) => void): Promise<void> {
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const texts = (await judgedQueries(dataset)).map((q, i) => (kind === 'keyword' ? keywordOf(q.text, i) : q.text));
    const emb = await (await index.encoder()).encodeQueries(texts);
    for (const k of [10, 100]) {
      texts.forEach((text, i) => {
        const r = index.searchEncoded(text, emb[i]!, { mode: 'late', topK: k, ...plaidDefaultsFor(k) });
        write(`${k}\t${i}\t${r.hits.map((h) => `${h.docId}:${h.score}`).join(' ')}\n`);
      });
    }
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, kind] = process.argv.slice(2);
  if (dataset === undefined || indexPath === undefined || (kind !== 'natural' && kind !== 'keyword')) {
    process.stderr.write('usage: node dist/bench/hits-dump.js <dataset> <index> natural|keyword\n');
    process.exit(2);
  }
  await dumpHits(dataset, indexPath, kind, (line) => process.stdout.write(line));
}
