/**
 * Cross-encoder throughput and pipeline overhead.
 *
 * 1. Throughput in pairs/s of a random cross-encoder of cross-encoder/ms-marco-MiniLM-L-6-v2's
 *    exact shape (6 layers, hidden 384, 12 heads, FFN 1536, vocabulary 30,522, 512 positions,
 *    one logit; generated into a temporary folder, ~90 MB, not kept): its speed is the real
 *    model's, since the work of a forward pass does not depend on the weights' values. Query of 16
 *    tokens, passages of 128 and 256 tokens (pairs of 147 and 275 tokens with [CLS] and two
 *    [SEP]), on 1 and 2 worker threads (one onnxruntime intra-op thread each).
 * 2. Pipeline overhead: everything a pipeline does except the model's forward pass (retrieval
 *    stages, docstore and passage lookups, pair tokenization, sorting, batching, worker transfers),
 *    measured as pipeline time − time inside onnxruntime's run, for `bm25:100 > cross:20` and
 *    `bm25:200 > late:50 > cross:20` over cranfield (1,398 documents, indexed here with the test
 *    suite's tiny ColBERT model: the late stage's cost is the small model's, not a real one's).
 *
 * Run: `node dist/bench/cross-encoder.js [pairs] [throughput] [overhead]` (default 48 pairs per
 * measurement, both parts; PLAIT_BENCH_CROSS_QUERIES cranfield queries for the overhead, default 30).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CrossEncoder, type CrossScorer, type CrossScoreOptions } from '../src/rerank/cross-encoder/index.js';
import { SearchPipeline } from '../src/pipeline/index.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { makeTinyCrossEncoder } from '../test/helpers/tiny-cross-encoder.js';
import { makeTinyColbert, tinyVocab } from '../test/helpers/tiny-colbert.js';
import { dataDir, isMain, machine } from './common.js';

/** Whole-word vocabulary entries: each is exactly one token for the WordPiece tokenizer. */
const WORDS = tinyVocab().filter((t) => /^[a-z]{3,}$/.test(t));

function text(tokens: number, offset: number): string {
  return Array.from({ length: tokens }, (_, i) => WORDS[(i * 7 + offset) % WORDS.length]!).join(' ');
}

export interface ThroughputRow {
  passageTokens: number;
  pairTokens: number;
  threads: number;
  pairs: number;
  seconds: number;
  pairsPerSecond: number;
  /** Time inside onnxruntime's run over wall time (the rest: tokenizing, batching, transfers). */
  forwardShare: number;
}

export interface OverheadRow {
  pipeline: string;
  queries: number;
  meanMs: number;
  forwardMs: number;
  overheadMs: number;
  overheadShare: number;
  /** Mean time per stage, ms. */
  stages: Record<string, number>;
}

async function throughput(dir: string, pairs: number): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  const query = text(16, 1);
  for (const threads of [1, 2]) {
    const ce = await CrossEncoder.create(dir, { threads });
    try {
      for (const passageTokens of [128, 256]) {
        const docs = Array.from({ length: pairs }, (_, i) => text(passageTokens, i * 13));
        await ce.score(query, docs.slice(0, 16)); // warm-up: sessions, JIT, allocator
        const t = performance.now();
        const { stats } = await ce.scoreWithStats(query, docs);
        const seconds = (performance.now() - t) / 1000;
        const row: ThroughputRow = {
          passageTokens,
          pairTokens: stats.tokens / pairs,
          threads,
          pairs,
          seconds,
          pairsPerSecond: pairs / seconds,
          forwardShare: stats.forwardMs / 1000 / threads / seconds,
        };
        rows.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
    } finally {
      await ce.close();
    }
  }
  return rows;
}

/** Wraps a CrossEncoder to sum the forward time of the calls a pipeline makes. */
class TimedScorer implements CrossScorer {
  forwardMs = 0;
  constructor(private readonly inner: CrossEncoder) {}
  get name(): string {
    return this.inner.name;
  }
  async score(query: string, documents: readonly string[], options?: CrossScoreOptions): Promise<Float32Array> {
    const { scores, stats } = await this.inner.scoreWithStats(query, documents, options);
    this.forwardMs += stats.forwardMs;
    return scores;
  }
}

async function overhead(crossDir: string, work: string, nQueries: number): Promise<OverheadRow[] | string> {
  const data = dataDir();
  if (data === null) return 'no ../shared/data';
  const corpus = path.join(data, 'cranfield', 'corpus.jsonl');
  const model = path.join(work, 'colbert');
  await makeTinyColbert(model, { dim: 32 });
  await buildIndex(corpus, { index: path.join(work, 'cranfield'), model, skipInvalid: true, encoderOptions: { threads: 1 } });
  const index = await openIndex(path.join(work, 'cranfield'), { encoderOptions: { threads: 0 } });
  const queries = (await readFile(path.join(data, 'cranfield', 'queries.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .slice(0, nQueries)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  // One thread: forward batches run one after another, so their summed time is wall time.
  const ce = await CrossEncoder.create(crossDir, { threads: 1 });
  const rows: OverheadRow[] = [];
  try {
    for (const spec of ['bm25:100 > cross:20', 'bm25:200 > late:50 > cross:20']) {
      const scorer = new TimedScorer(ce);
      const pipeline = new SearchPipeline(index, spec, { crossEncoder: scorer });
      await pipeline.run(queries[0]!);
      scorer.forwardMs = 0;
      const stageMs: Record<string, number> = {};
      let total = 0;
      for (const q of queries) {
        const r = await pipeline.run(q);
        total += r.totalMs;
        for (const s of r.stages) stageMs[s.label] = (stageMs[s.label] ?? 0) + s.ms / queries.length;
      }
      const meanMs = total / queries.length;
      const forwardMs = scorer.forwardMs / queries.length;
      rows.push({ pipeline: spec, queries: queries.length, meanMs, forwardMs, overheadMs: meanMs - forwardMs, overheadShare: (meanMs - forwardMs) / meanMs, stages: stageMs });
      process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
  } finally {
    await ce.close();
    await index.close();
  }
  return rows;
}

export async function run(
  pairs = 48,
  parts: readonly string[] = ['throughput', 'overhead'],
): Promise<{ machine: ReturnType<typeof machine>; throughput: ThroughputRow[]; ratio2to1: Record<string, number>; overhead: OverheadRow[] | string }> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-cross-'));
  try {
    const crossDir = path.join(work, 'minilm-l6-shape');
    await makeTinyCrossEncoder(crossDir, { layout: 'transformers.js', hidden: 384, heads: 12, ffn: 1536, layers: 6, vocabSize: 30_522, classifierScale: 0.05, modelMaxLength: 512 });
    const rows = parts.includes('throughput') ? await throughput(crossDir, pairs) : [];
    const ratio2to1: Record<string, number> = {};
    for (const p of [128, 256]) {
      const one = rows.find((r) => r.threads === 1 && r.passageTokens === p);
      const two = rows.find((r) => r.threads === 2 && r.passageTokens === p);
      if (one !== undefined && two !== undefined) ratio2to1[`passage${p}`] = two.pairsPerSecond / one.pairsPerSecond;
    }
    const over = parts.includes('overhead') ? await overhead(crossDir, work, Number(process.env['PLAIT_BENCH_CROSS_QUERIES'] ?? 30)) : 'not run';
    return { machine: machine(), throughput: rows, ratio2to1, overhead: over };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const parts = process.argv.slice(3);
  console.log(JSON.stringify(await run(Number(process.argv[2] ?? 48), parts.length > 0 ? parts : undefined), null, 2));
}
