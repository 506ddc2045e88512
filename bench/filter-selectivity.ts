/**
 * Filtered search by selectivity (trial of the merged main, item 2): on a real index, filters
 * passing ~100%, ~50%, ~5% of the documents and one document, searched (late interaction, one query
 * at a time on the calling thread, encoded beforehand) three ways — the exact scan of the allowed
 * passages, PLAID with the filter's marks and widening, and the default rule (filtered-search.ts
 * exactFilter) — p50 / p95 ms, and whether each query's top-k equals the exhaustive filtered top-k
 * (every passage scored exactly, then filtered). Run:
 * `nice -n 10 node dist/bench/filter-selectivity.js <index> <queries.jsonl> [queries=30] [k=10]`.
 */
import { readFileSync } from 'node:fs';
import { FILTER_DEFAULTS } from '../src/config/defaults.js';
import { openIndex } from '../src/search/plait-index.js';
import type { MetadataFilter } from '../src/docstore/metadata-filter.js';
import { isMain, percentiles } from './common.js';

type Path = 'exact' | 'plaid' | 'rule';

function force(path: Path, saved: typeof FILTER_DEFAULTS): void {
  const f = FILTER_DEFAULTS as { -readonly [K in keyof typeof FILTER_DEFAULTS]: number };
  Object.assign(f, saved);
  if (path === 'exact') Object.assign(f, { exactMaxPassages: Infinity, exactMaxShare: 1 });
  if (path === 'plaid') Object.assign(f, { exactMaxPassages: 0, exactPerNdocs: 0 });
}

export async function runFilterSelectivity(indexPath: string, queriesPath: string, nQueries: number, k: number): Promise<void> {
  const index = await openIndex(indexPath, { workers: 0, encoderOptions: { threads: 1 } });
  try {
    const texts = readFileSync(queriesPath, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, nQueries).map((l) => (JSON.parse(l) as { text: string }).text);
    const encoder = await index.encoder();
    const embeddings = await encoder.encodeQueries(texts);
    const ids = index.docstore.filterRowids('1', []).map((r) => index.docstore.getDocument(r)!.docId);
    const saved = { ...FILTER_DEFAULTS };
    // The oracle: every passage scored exactly, every document ranked, then filtered here.
    const oracle = embeddings.map((e, i) => index.searchEncoded(texts[i]!, e, { topK: Math.min(ids.length, 10_000), exhaustive: true, mode: 'late' }).hits.map((h) => h.docId));
    console.log(`${indexPath}: ${ids.length} documents, ${index.manifest.counts.passages} passages, ${texts.length} queries, k = ${k}`);
    console.log('| filter passes | documents | passages | exact scan p50 / p95 ms | PLAID + filter p50 / p95 ms | rule: path, p50 ms | top-k = exhaustive filtered (exact / PLAID / rule) |\n|---|---|---|---|---|---|---|');
    // Every n-th id: spread over the index, not one cluster of ids.
    const shares: [string, string[]][] = [['~100%', ids], ['~50%', ids.filter((_, i) => i % 2 === 0)], ['~25%', ids.filter((_, i) => i % 4 === 0)], ['~10%', ids.filter((_, i) => i % 10 === 0)], ['~5%', ids.filter((_, i) => i % 20 === 0)], ['1 document', [ids[Math.floor(ids.length / 3)]!]]];
    for (const [name, allowedIds] of shares) {
      const allowed = new Set(allowedIds);
      const filter: MetadataFilter = { doc_id: { $in: allowedIds } };
      const row: Record<Path, { p50: number; p95: number; equal: number; path: string }> = {} as never;
      let passages = 0;
      for (const path of ['exact', 'plaid', 'rule'] as const) {
        force(path, saved);
        const ms: number[] = [];
        let equal = 0;
        const kinds = new Set<string>();
        for (let rep = 0; rep < 2; rep++) {
          embeddings.forEach((e, i) => {
            const t = performance.now();
            const r = index.searchEncoded(texts[i]!, e, { topK: k, filter, mode: 'late' });
            const took = performance.now() - t;
            if (rep === 0) return; // warm-up pass
            ms.push(took);
            for (const round of r.timings.rounds ?? []) {
              kinds.add(round.kind);
              if (round.kind === 'filtered-exact') passages = round.passages;
            }
            const want = oracle[i]!.filter((d) => allowed.has(d)).slice(0, k);
            const got = r.hits.map((h) => h.docId);
            if (got.length === want.length && got.every((d, j) => d === want[j])) equal++;
          });
        }
        const p = percentiles(ms);
        row[path] = { p50: p.p50, p95: p.p95, equal, path: [...kinds].join('+') };
      }
      force('rule', saved);
      const f = (x: number): string => x.toFixed(2);
      console.log(`| ${name} | ${allowed.size} | ${passages} | ${f(row.exact.p50)} / ${f(row.exact.p95)} | ${f(row.plaid.p50)} / ${f(row.plaid.p95)} | ${row.rule.path}, ${f(row.rule.p50)} | ${row.exact.equal} / ${row.plaid.equal} / ${row.rule.equal} of ${texts.length} |`);
    }
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [indexPath, queriesPath, n, k] = process.argv.slice(2);
  if (indexPath === undefined || queriesPath === undefined) throw new Error('usage: filter-selectivity <index> <queries.jsonl> [queries=30] [k=10]');
  await runFilterSelectivity(indexPath, queriesPath, Number(n ?? 30), Number(k ?? 10));
}
