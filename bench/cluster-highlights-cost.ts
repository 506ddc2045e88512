/**
 * Where a cluster should compute search highlights (src/cluster/cluster-index.ts, addHighlights):
 * (A) in the search round, each shard highlighting every hit it returns, or (B) in a round after the
 * merge, each shard highlighting only its hits on the page. In one process over a sharded index's
 * shards (each opened as a PlaitIndex, as its replica opens it), per query and mode at top-k 10:
 * - A: each shard's search answer as the replica builds it — late: its top 10; hybrid: its late
 *   and BM25 lists at the fusion depth (the BM25-only documents' best passages by rerankEncoded) —
 *   highlighted whole with PlaitIndex.highlightHits;
 * - B: the merged page (cluster-index.ts mergeLists / mergeHybrid), each shard highlighting its
 *   hits on it.
 * Reported: hits highlighted a query, the CPU (Σ over shards) and latency (max over shards, as they
 * run in parallel) of the highlighting, ms, p50 / mean. B pays one request-reply more (NATS), not
 * counted here.
 *
 * Run: `node dist/bench/cluster-highlights-cost.js <sharded index> <queries.jsonl> [queries=40]`
 * (bench/RESULTS.md, "Cluster highlights: in the search round or after the merge").
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { openIndex, type PlaitIndex, type SearchHit } from '../src/index.js';
import { mergeHybrid, mergeLists } from '../src/cluster/cluster-index.js';
import type { ShardQueryResult } from '../src/cluster/shard-protocol.js';
import { hybridDepth } from '../src/search/search-options.js';
import { isMain, machine, percentiles } from './common.js';

type Ref = { docId: string; pid: number };

async function main(): Promise<void> {
  const [root, queriesFile, n = '40'] = process.argv.slice(2);
  if (root === undefined || queriesFile === undefined) throw new Error('usage: cluster-highlights-cost <sharded index> <queries.jsonl> [queries]');
  const queries = readFileSync(queriesFile, 'utf8').trim().split('\n').slice(0, Number(n)).map((l) => (JSON.parse(l) as { text: string }).text.trim().replace(/\s+/g, ' '));
  const shardDirs = readdirSync(root).filter((d) => /^shard-\d+$/.test(d)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  const shards: PlaitIndex[] = [];
  for (const d of shardDirs) shards.push(await openIndex(join(root, d)));
  const encoder = await shards[0]!.encoder();
  console.log(JSON.stringify({ machine: machine(), loadavg: loadavg(), shards: shards.length, queries: queries.length }));
  try {
    for (const mode of ['late', 'hybrid'] as const) {
      const rows = { aHits: [] as number[], aCpu: [] as number[], aLat: [] as number[], bHits: [] as number[], bCpu: [] as number[], bLat: [] as number[] };
      for (const [qi, q] of queries.entries()) {
        const [e] = await encoder.encodeQueries([q]);
        const query = { lateText: q, embedding: e!, bm25: mode === 'hybrid' ? q : null };
        // The shards' search answers, as shard-replica.ts builds them.
        const parts: ShardQueryResult[] = [];
        for (const s of shards) {
          if (mode === 'late') {
            const [r] = await s.searchEncodedBatch([q], [e!], { mode: 'late', topK: 10 });
            parts.push({ hits: r!.hits });
            continue;
          }
          const depth = hybridDepth(10);
          const [late] = await s.searchEncodedBatch([q], [e!], { mode: 'late', topK: depth });
          const [bm] = await s.searchEncodedBatch([q], [], { mode: 'bm25', topK: depth });
          const have = new Set(late!.hits.map((h) => h.docId));
          const missing = bm!.hits.filter((h) => !have.has(h.docId)).map((h) => h.docId);
          const extraLate = missing.length === 0 ? [] : await s.rerankEncoded(e!, missing);
          parts.push({ hits: late!.hits, bm25: bm!.hits, extraLate });
        }
        const timed = async (lists: Ref[][]): Promise<{ hits: number; cpu: number; lat: number }> => {
          let cpu = 0;
          let lat = 0;
          for (const [s, refs] of lists.entries()) {
            const t = performance.now();
            await shards[s]!.highlightHits(refs, query, true);
            const ms = performance.now() - t;
            cpu += ms;
            lat = Math.max(lat, ms);
          }
          return { hits: lists.reduce((a, l) => a + l.length, 0), cpu, lat };
        };
        const refsOf = (hits: readonly SearchHit[]): Ref[] => hits.map((h) => ({ docId: h.docId, pid: h.pid }));
        // A: every hit each shard returns (hybrid: both lists, a BM25-only document at its exact late stage's passage).
        const everyHit = parts.map((p) => {
          const byId = new Map<string, Ref>();
          for (const h of [...(p.extraLate ?? []), ...p.hits]) byId.set(h.docId, { docId: h.docId, pid: h.pid });
          for (const h of p.bm25 ?? []) if (!byId.has(h.docId)) byId.set(h.docId, { docId: h.docId, pid: h.pid });
          return [...byId.values()];
        });
        // B: the page, each shard its own hits on it.
        const page = mode === 'late' ? mergeLists(parts.map((p) => p.hits), 10) : mergeHybrid(parts, shards[0]!.resolveSearch({ mode: 'hybrid', topK: 10 }));
        const owner = new Map<string, number>();
        parts.forEach((p, s) => [...p.hits, ...(p.bm25 ?? []), ...(p.extraLate ?? [])].forEach((h) => owner.set(h.docId, s)));
        const onPage = shards.map((_, s) => refsOf(page.filter((h) => owner.get(h.docId) === s)));
        // Alternate which design runs first, so drift in host load falls on both.
        const [a, b] = qi % 2 === 0 ? [await timed(everyHit), await timed(onPage)] : (([y, x]) => [x, y])([await timed(onPage), await timed(everyHit)]);
        rows.aHits.push(a!.hits);
        rows.aCpu.push(a!.cpu);
        rows.aLat.push(a!.lat);
        rows.bHits.push(b!.hits);
        rows.bCpu.push(b!.cpu);
        rows.bLat.push(b!.lat);
      }
      const f = (x: number[]): string => {
        const p = percentiles(x);
        return `${p.p50.toFixed(2)} / ${p.mean.toFixed(2)}`;
      };
      console.log(`${mode}: A (in the search round) hits ${f(rows.aHits)}, CPU ms ${f(rows.aCpu)}, latency ms ${f(rows.aLat)} | B (after the merge) hits ${f(rows.bHits)}, CPU ms ${f(rows.bCpu)}, latency ms ${f(rows.bLat)}`);
    }
    console.log(JSON.stringify({ loadavg: loadavg() }));
  } finally {
    for (const s of shards) await s.close();
  }
}

if (isMain(import.meta.url)) await main();
