/**
 * Build throughput excluding encoding: token vectors/s through sampling, k-means, residual
 * compression and writing (codes, residuals, IVF, manifest, document store), fed with synthetic
 * clustered 128-d vectors (views into a pre-generated pool, so "encoding" costs nothing), and the
 * peak memory of that build. Two sizes in one run: the ratio of their throughputs shows scaling,
 * the ratio of their peak RSS shows that memory is bounded by chunking, not by the corpus.
 *
 * Run: `node dist/bench/build-throughput.js [millionTokens=10]` (each size in a child process, so
 * peak RSS is per build).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import type { EmbeddingSource } from '../src/indexer/compress-passages.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { listedFiles } from '../src/format/manifest.js';
import { SyntheticVectors } from '../test/helpers/synthetic.js';
import { syntheticModel } from '../test/helpers/synthetic-index.js';
import { isMain, machine, peakRssMiB } from './common.js';

const DIM = 128;
const TOKENS_PER_PASSAGE = 10;
const POOL = 1 << 18;

export interface BuildRun {
  tokens: number;
  passages: number;
  seconds: number;
  vectorsPerSecond: number;
  phases: Record<string, number>;
  peakRssMiB: number;
  centroids: number;
  indexBytes: number;
}

/** Builds one synthetic index of `tokens` vectors at `indexPath` (kept, for the latency benchmark). */
export async function buildSynthetic(tokens: number, indexPath: string): Promise<BuildRun> {
  const gen = new SyntheticVectors({ dim: DIM, clusters: 4096, spread: 0.25, seed: 7 });
  const pool = gen.vectors(POOL);
  const nPassages = Math.floor(tokens / TOKENS_PER_PASSAGE);
  const noIds = new Int32Array(TOKENS_PER_PASSAGE);
  const source: EmbeddingSource = {
    nPassages,
    dim: DIM,
    vocabSize: 0,
    embed: async (pids) =>
      Array.from(pids, (pid): TokenEmbeddings => {
        const start = (Math.imul(pid, 2654435761) >>> 0) % (POOL - TOKENS_PER_PASSAGE);
        return { vectors: pool.subarray(start * DIM, (start + TOKENS_PER_PASSAGE) * DIM), length: TOKENS_PER_PASSAGE, tokenIds: noIds };
      }),
  };
  const phases: Record<string, number> = {};
  let phase = '';
  let phaseStart = performance.now();
  const t0 = performance.now();
  const { manifest } = await buildIndexFromEmbeddings(source, {
    index: indexPath,
    model: syntheticModel(DIM),
    modelSpec: { family: 'colbert-onnx', dir: '/synthetic' },
    onProgress: (p) => {
      if (p.phase !== phase) {
        const now = performance.now();
        if (phase !== '') phases[phase] = (phases[phase] ?? 0) + (now - phaseStart) / 1000;
        phase = p.phase;
        phaseStart = now;
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const indexBytes = listedFiles(manifest).reduce((a, f) => a + f.entry.bytes, 0);
  return { tokens: manifest.counts.tokens, passages: nPassages, seconds, vectorsPerSecond: manifest.counts.tokens / seconds, phases, peakRssMiB: peakRssMiB(), centroids: manifest.counts.centroids, indexBytes };
}

export async function run(millionTokens = 10, keepPath?: string): Promise<object> {
  const small = millionTokens / 10;
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-build-'));
  const self = fileURLToPath(import.meta.url);
  const child = (m: number, path: string): BuildRun => {
    const r = spawnSync(process.execPath, [self, '--child', String(m), path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`child build of ${m}M tokens failed (${r.status})`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BuildRun;
  };
  try {
    const a = child(small, join(dir, 'small'));
    const b = child(millionTokens, keepPath ?? join(dir, 'large'));
    const result = {
      benchmark: 'build-throughput',
      machine: machine(),
      kernels: kernelsStatus().active,
      runs: [a, b],
      throughputRatioLargeToSmall: b.vectorsPerSecond / a.vectorsPerSecond,
      peakRssRatioLargeToSmall: b.peakRssMiB / a.peakRssMiB,
      sizeRatio: b.tokens / a.tokens,
    };
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  if (process.argv[2] === '--child') {
    const r = await buildSynthetic(Number(process.argv[3]) * 1e6, process.argv[4]!);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const keep = process.argv[3];
    console.log(JSON.stringify(await run(Number(process.argv[2] ?? 10), keep), null, 2));
  }
}
