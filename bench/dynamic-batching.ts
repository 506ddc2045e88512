/**
 * Concurrent queries with and without dynamic batching (encoder/dynamic-batching.ts), as
 * `plait serve` sees them: N single-query encodeQueries calls issued at once against one encoder
 * (1 worker × 1 onnxruntime thread), on a random checkpoint of colbert-ir/colbertv2.0's shape
 * (BERT-base, query_maxlen 32). Prints the wall time for all N, CPU per query, and per-query
 * latency p50 / p95, both ways in the same run (repeated `rounds` times, alternating).
 * Run: `node dist/bench/dynamic-batching.js [concurrent=32] [rounds=3]`.
 *
 * `node dist/bench/dynamic-batching.js documents [rounds=3] [docs=50] [docChars=500]`: the document
 * lane as `plait serve`'s reranker sees it (bundled model, the encoder's default threads, scifact
 * abstracts cut to `docChars`, each made unique): a lone `docs`-document call (ms, docs/s); 4 such
 * calls at once (wall, docs/s: the throughput of large calls); and a 3-document call made just
 * after 2 large ones (its latency, and the first large call's).
 *
 * `node dist/bench/dynamic-batching.js rerank [rounds=16] [docs=50] [small=3] [docChars=500] [threads=1]`:
 * that encoder with `threads` workers (1: `plait serve`'s default) under a Reranker, as /rerank runs it:
 * 4 `docs`-document reranks at once, before and after the rounds (wall, docs/s: large-rerank
 * throughput); and each round, 2 such reranks, then, once their first document chunk has started
 * and a further 0–660 ms (a fixed sequence, so that builds compared see the same offsets), a
 * `small`-document rerank: its latency p50 / p99 over the rounds.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { DynamicBatchingEncoder } from '../src/encoder/dynamic-batching.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import type { Encoder } from '../src/encoder/types.js';
import { Reranker } from '../src/rerank/reranker.js';
import { makeBertCheckpoint } from '../test/helpers/tiny-bert.js';
import { dataDir, machine, percentiles } from './common.js';
import { COLBERTV2_SHAPE } from './convert-encode.js';

const QUERIES = ['what causes heat flow in a wing', 'protein gene expression in blood cancer', 'how is information indexed in a library', 'quick brown fox', 'late interaction retrieval model'];

async function burst(encoder: Encoder, n: number): Promise<{ wallMs: number; cpuMsPerQuery: number; p50: number; p95: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const s = performance.now();
      await encoder.encodeQueries([QUERIES[i % QUERIES.length]!]);
      return performance.now() - s;
    }),
  );
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  latencies.sort((a, b) => a - b);
  return { wallMs, cpuMsPerQuery: (c.user + c.system) / 1000 / n, p50: latencies[Math.floor(n / 2)]!, p95: latencies[Math.min(n - 1, Math.floor(n * 0.95))]! };
}

export async function run(n = 32, rounds = 3): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-dynbatch-'));
  try {
    const dir = path.join(root, 'colbertv2-shape');
    await makeBertCheckpoint(dir, { layout: 'colbert', shape: COLBERTV2_SHAPE, queryMaxlen: 32, docMaxlen: 180, seed: 1 });
    const spec = await resolveModelSpec(dir, { cacheDir: path.join(root, 'cache') });
    const plain = await createEncoder(spec, { threads: 1, intraOpNumThreads: 1 });
    const batched = new DynamicBatchingEncoder(await createEncoder(spec, { threads: 1, intraOpNumThreads: 1 }));
    try {
      await plain.encodeQueries(['warm up']);
      await batched.encodeQueries(['warm up']);
      for (let r = 0; r < rounds; r++) {
        for (const [label, enc] of [['one call per query', plain], ['dynamic batching', batched]] as const) {
          const b = await burst(enc, n);
          console.log(`round ${r + 1}, ${label}: ${n} concurrent queries in ${b.wallMs.toFixed(0)} ms, ${b.cpuMsPerQuery.toFixed(1)} ms CPU per query, latency p50 ${b.p50.toFixed(0)} ms, p95 ${b.p95.toFixed(0)} ms`);
        }
      }
      console.log(`dynamic batching made ${batched.calls.query} encoder calls for ${rounds * n + 1} queries`);
    } finally {
      await plain.close();
      await batched.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Document texts: scifact abstracts cut to `chars` (repeated when too few), each made unique by a suffix. */
function documentTexts(chars: number): (n: number) => string[] {
  const dir = dataDir();
  const abstracts =
    dir === null
      ? [QUERIES.join(' ').repeat(Math.ceil(chars / 100)).slice(0, chars)]
      : readFileSync(path.join(dir, 'scifact', 'corpus.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => (JSON.parse(l) as { text: string }).text)
          .filter((t) => t.length >= chars)
          .map((t) => t.slice(0, chars));
  let next = 0;
  return (n) => Array.from({ length: n }, () => `${abstracts[next % abstracts.length]!} (${next++})`);
}

export async function runDocuments(rounds = 3, docs = 50, chars = 500): Promise<void> {
  const texts = documentTexts(chars);
  const encoder = new DynamicBatchingEncoder(await createEncoder(await resolveModelSpec(undefined, {})));
  const timed = async (f: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  try {
    console.log(JSON.stringify({ machine: machine(), loadavg1: Number(os.loadavg()[0]!.toFixed(2)), docs, chars }));
    await encoder.encodeDocuments(texts(docs));
    for (let r = 0; r < rounds; r++) {
      const lone = await timed(() => encoder.encodeDocuments(texts(docs)));
      const four = await timed(() => Promise.all(Array.from({ length: 4 }, () => encoder.encodeDocuments(texts(docs)))));
      const t0 = performance.now();
      const large = [encoder.encodeDocuments(texts(docs)), encoder.encodeDocuments(texts(docs))];
      const firstLarge = large[0]!.then(() => performance.now() - t0);
      const small = await timed(() => encoder.encodeDocuments(texts(3)));
      const firstLargeMs = await firstLarge;
      await Promise.all(large);
      console.log(
        `round ${r + 1}: lone ${docs}-document call ${lone.toFixed(0)} ms (${((docs * 1000) / lone).toFixed(1)} docs/s); ` +
          `4 at once ${four.toFixed(0)} ms (${((4 * docs * 1000) / four).toFixed(1)} docs/s); ` +
          `3 documents after 2 large calls ${small.toFixed(0)} ms (first large ${firstLargeMs.toFixed(0)} ms); load ${os.loadavg()[0]!.toFixed(2)}`,
      );
    }
    console.log(`merged document calls: ${encoder.calls.document}`);
  } finally {
    await encoder.close();
  }
}

export async function runRerank(rounds = 16, docs = 50, small = 3, chars = 500, threads = 1): Promise<void> {
  const texts = documentTexts(chars);
  const encoder = new DynamicBatchingEncoder(await createEncoder(await resolveModelSpec(undefined, {}), { threads }));
  // No cache: every document is new anyway (each text is unique), and the cache must not hold them.
  const reranker = await Reranker.create({ encoder, cacheBytes: 0 });
  const query = QUERIES[1]!;
  const throughput = async (): Promise<number> => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => reranker.rerank(query, texts(docs))));
    return (4 * docs * 1000) / (performance.now() - t0);
  };
  try {
    console.log(JSON.stringify({ mode: 'rerank', machine: machine(), loadavg1: Number(os.loadavg()[0]!.toFixed(2)), rounds, docs, small, chars, threads }));
    await reranker.rerank(query, texts(docs));
    const rates = [await throughput()];
    const smallMs: number[] = [];
    const largeMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const chunks = encoder.calls.document;
      const t0 = performance.now();
      const large = [reranker.rerank(query, texts(docs)), reranker.rerank(query, texts(docs))].map((p) => p.then(() => largeMs.push(performance.now() - t0)));
      // The large reranks' documents are being encoded (a chunk started), then a fixed offset into it.
      while (encoder.calls.document === chunks) await new Promise((resolve) => setTimeout(resolve, 2));
      await new Promise((resolve) => setTimeout(resolve, (r * 223) % 670));
      const s0 = performance.now();
      await reranker.rerank(query, texts(small));
      smallMs.push(performance.now() - s0);
      await Promise.all(large);
    }
    rates.push(await throughput());
    const s = percentiles(smallMs);
    const l = percentiles(largeMs);
    console.log(
      `${small}-document rerank beside 2 ${docs}-document ones: p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, mean ${s.mean.toFixed(0)} ms (${smallMs.map((x) => x.toFixed(0)).join(' ')}); ` +
        `large reranks p50 ${l.p50.toFixed(0)} ms; 4 large at once ${rates.map((x) => x.toFixed(1)).join(', ')} docs/s; load ${os.loadavg()[0]!.toFixed(2)}`,
    );
  } finally {
    await reranker.close();
    await encoder.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'rerank') {
  const n = (i: number): number | undefined => (process.argv[i] === undefined ? undefined : Number(process.argv[i]));
  await runRerank(n(3), n(4), n(5), n(6), n(7));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'documents') {
  const n = (i: number): number | undefined => (process.argv[i] === undefined ? undefined : Number(process.argv[i]));
  await runDocuments(n(3), n(4), n(5));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2] === undefined ? undefined : Number(process.argv[2]), process.argv[3] === undefined ? undefined : Number(process.argv[3]));
}
