/**
 * What the framework adapters cost over calling plait directly (issue 21), in the same process on
 * the same objects, so only the adapter differs:
 *
 * - rerank: `Reranker.rerank` (baseline) vs `PlaitRerank.compressDocuments` (LangChain) vs `rerank()`
 *   from `ai` with `plait.reranking()` (AI SDK), all on one Reranker whose cache holds the
 *   documents, so each call is query encoding + MaxSim + the adapter.
 * - retrieve: `PlaitIndex.search` (baseline) vs `PlaitRetriever.invoke` on an index of the sample
 *   corpus built with the bundled model in a temporary folder.
 *
 * The variants run interleaved, one call each in turn, for `rounds` rounds; each figure is the
 * median per-call time, and each ratio is against its baseline in the same run.
 * Run: `node dist/bench/integrations-overhead.js [rounds]` (default 200).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document } from '@langchain/core/documents';
import { rerank as aiRerank } from 'ai';
import { Reranker } from '../src/rerank/reranker.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { PlaitRerank, PlaitRetriever } from '../src/integrations/langchain.js';
import { plait } from '../src/integrations/ai-sdk.js';
import { isMain, machine, percentiles } from './common.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
const QUERY = 'why does bread dough rise with yeast';

/** Median ms per call of each variant, run interleaved. */
async function interleaved(variants: Record<string, () => Promise<unknown>>, rounds: number): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const f of Object.values(variants)) await f(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of Object.entries(variants)) {
      const t = performance.now();
      await f();
      times[k]!.push(performance.now() - t);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, ms]) => [k, percentiles(ms).p50]));
}

function withRatios(ms: Record<string, number>, baseline: string): Record<string, { ms: number; ratio: number }> {
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, { ms: Number(v.toFixed(3)), ratio: Number((v / ms[baseline]!).toFixed(3)) }]));
}

export async function run(rounds = 200): Promise<unknown> {
  const lines = (await readFile(SAMPLE, 'utf8')).trim().split('\n');
  const texts = lines.map((l) => (JSON.parse(l) as { text: string }).text).slice(0, 20);
  const docs = texts.map((t) => new Document({ pageContent: t }));
  const reranker = await Reranker.create({ encoderOptions: { threads: 1 } });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-integrations-'));
  try {
    const compressor = new PlaitRerank({ reranker });
    const model = plait.reranking('bundled', { reranker });
    const rerank = await interleaved(
      {
        'Reranker.rerank': () => reranker.rerank(QUERY, texts),
        'PlaitRerank.compressDocuments': () => compressor.compressDocuments(docs, QUERY),
        'ai rerank(plait.reranking())': () => aiRerank({ model, query: QUERY, documents: texts }),
      },
      rounds,
    );
    await buildIndex(SAMPLE, { index: path.join(dir, 'idx'), encoderOptions: { threads: 1 } });
    const index = await openIndex(path.join(dir, 'idx'), { encoderOptions: { threads: 1 } });
    try {
      const retriever = new PlaitRetriever({ index, searchOptions: { topK: 10 } });
      const retrieve = await interleaved(
        {
          'PlaitIndex.search': () => index.search(QUERY, { topK: 10, includeText: true }),
          'PlaitRetriever.invoke': () => retriever.invoke(QUERY),
        },
        rounds,
      );
      return {
        benchmark: 'integrations-overhead',
        machine: machine(),
        loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
        rounds,
        documents: texts.length,
        rerank: withRatios(rerank, 'Reranker.rerank'),
        retrieve: withRatios(retrieve, 'PlaitIndex.search'),
      };
    } finally {
      await index.close();
    }
  } finally {
    await reranker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await run(Number(process.argv[2] ?? 200)), null, 2));
}
