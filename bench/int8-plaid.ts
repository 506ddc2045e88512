/**
 * PLAID top-10 of an index built with int8 vectors against one built with float32 vectors, on the
 * same scifact passages and queries, with a random checkpoint of GTE-ModernColBERT-v1's shape
 * (bench/convert-modernbert.ts describes it; tiny byte-level BPE tokenizer). Each index is searched
 * with its own encoder (the index's model spec). The noise floor is a second float32 index that
 * differs only in its k-means seed: int8 costs nothing in ranking if its overlap with the float
 * index is no lower than that one's.
 * Each passage is its first 128-token window (split off: the tiny tokenizer turns scientific words
 * into bytes, so whole abstracts would be thousands of tokens). Random weights rank arbitrarily,
 * so this measures agreement, not quality.
 * Run: `node dist/bench/int8-plaid.js [docs=200] [queries=30]`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { GTE_MODERNCOLBERT_SHAPE, makeModernBertCheckpoint } from '../test/helpers/tiny-modernbert.js';

const DATA = fileURLToPath(new URL('../../../shared/data/scifact/', import.meta.url));

async function jsonl(file: string, limit: number): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (out.length >= limit) break;
    if (line.trim().length > 0) out.push(JSON.parse(line) as Record<string, string>);
  }
  return out;
}

export async function run(docs = 200, queryCount = 30): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-int8-plaid-'));
  const previousCache = process.env['PLAIT_CACHE_DIR'];
  process.env['PLAIT_CACHE_DIR'] = path.join(root, 'cache');
  try {
    const model = path.join(root, 'model');
    await makeModernBertCheckpoint(model, { shape: GTE_MODERNCOLBERT_SHAPE, queryMaxlen: 32, docMaxlen: 128, seed: 1 });
    const corpus = path.join(root, 'corpus.jsonl');
    await writeFile(corpus, (await jsonl(path.join(DATA, 'corpus.jsonl'), docs)).map((d) => JSON.stringify(d)).join('\n'));
    const queries = (await jsonl(path.join(DATA, 'queries.jsonl'), queryCount)).map((q) => q['text']!);
    const builds = { float: { seed: 1 }, 'float (k-means seed 2)': { seed: 2 }, int8: { seed: 1, quantize: 'int8' as const } };
    const tops: Record<string, string[][]> = {};
    for (const [name, b] of Object.entries(builds)) {
      const index = path.join(root, name.replace(/\W+/g, '-'));
      const t0 = performance.now();
      await buildIndex(corpus, { index, model, split: false, seed: b.seed, ...('quantize' in b ? { quantize: b.quantize } : {}), encoderOptions: { threads: 2 } });
      const opened = await openIndex(index, { encoderOptions: { threads: 0 } });
      try {
        tops[name] = [];
        for (const q of queries) tops[name]!.push((await opened.search(q, { topK: 10, mode: 'late' })).hits.map((h) => h.docId));
      } finally {
        await opened.close();
      }
      console.log(`${name}: built and searched in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const overlap = (a: string[][], b: string[][]): number => a.reduce((s, top, i) => s + top.filter((d) => b[i]!.includes(d)).length / Math.max(1, top.length), 0) / a.length;
    console.log(
      `top-10 overlap with the float32 index over ${queries.length} queries, ${docs} passages: int8 ${overlap(tops['float']!, tops['int8']!).toFixed(3)}, ` +
        `float32 with another k-means seed ${overlap(tops['float']!, tops['float (k-means seed 2)']!).toFixed(3)}`,
    );
  } finally {
    if (previousCache === undefined) delete process.env['PLAIT_CACHE_DIR'];
    else process.env['PLAIT_CACHE_DIR'] = previousCache;
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2] === undefined ? undefined : Number(process.argv[2]), process.argv[3] === undefined ? undefined : Number(process.argv[3]));
}
