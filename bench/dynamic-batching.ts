/**
 * Concurrent queries with and without dynamic batching (encoder/dynamic-batching.ts), as
 * `plait serve` sees them: N single-query encodeQueries calls issued at once against one encoder
 * (1 worker × 1 onnxruntime thread), on a random checkpoint of colbert-ir/colbertv2.0's shape
 * (BERT-base, query_maxlen 32). Prints the wall time for all N, CPU per query, and per-query
 * latency p50 / p95, both ways in the same run (repeated `rounds` times, alternating).
 * Run: `node dist/bench/dynamic-batching.js [concurrent=32] [rounds=3]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { DynamicBatchingEncoder } from '../src/encoder/dynamic-batching.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import type { Encoder } from '../src/encoder/types.js';
import { makeBertCheckpoint } from '../test/helpers/tiny-bert.js';
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2] === undefined ? undefined : Number(process.argv[2]), process.argv[3] === undefined ? undefined : Number(process.argv[3]));
}
