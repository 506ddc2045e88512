/**
 * Pipelines as rows of a `plait eval` comparison: each spec runs every judged query through a
 * `SearchPipeline` (one query at a time, so latencies are unloaded ones), and yields a ModeInput
 * with the run's quality, its end-to-end latency, the latency of each stage, and how many queries
 * degraded at which stage. Latencies include query encoding (a pipeline encodes its own queries),
 * unlike the plain modes, whose queries `plait eval` encodes up front.
 */
import { SEARCH_PIPELINE_OPTION_KEYS, SearchPipeline, pipelineOptionsOf, type SearchPipelineOptions } from '../pipeline/search-pipeline.js';
import { checkOptionKeys } from '../util/option-keys.js';
import { stageLabel } from '../pipeline/pipeline-spec.js';
import type { PlaitIndex } from '../search/plait-index.js';
import { PlaitError } from '../errors/index.js';
import type { ModeInput } from './comparison.js';
import { latencyStats } from './latency.js';
import { evaluateRun, type EvaluateOptions } from './metrics.js';
import type { Qrels } from './qrels.js';
import type { EvalQuery } from './queries.js';
import type { Run } from './run.js';

/** "spec; spec; …" → the specs, trimmed, empty ones dropped. */
export function splitPipelineSpecs(specs: string): string[] {
  const out = specs
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (out.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected one or more pipelines separated by ";" but received ${JSON.stringify(specs)}`, name: 'pipelines' });
  return out;
}

export interface PipelineEvalRow {
  input: ModeInput;
  run: Run;
}

/** Evaluates one pipeline spec on the queries; the row is named by the canonical spec. */
export async function evaluatePipeline(
  index: PlaitIndex,
  spec: string,
  queries: readonly EvalQuery[],
  qrels: Qrels,
  options: SearchPipelineOptions & { onProgress?: (done: number, total: number) => void; ignoreIdenticalIds?: EvaluateOptions['ignoreIdenticalIds'] } = {},
): Promise<PipelineEvalRow> {
  checkOptionKeys(options, { ...SEARCH_PIPELINE_OPTION_KEYS, onProgress: true, ignoreIdenticalIds: true }, 'evaluatePipeline option');
  const { ignoreIdenticalIds, ...searchOptions } = options;
  const pipeline = new SearchPipeline(index, spec, pipelineOptionsOf(searchOptions));
  const labels = pipeline.stages.map(stageLabel);
  const perStage = labels.map(() => new Float64Array(queries.length));
  const durations = new Float64Array(queries.length);
  const degraded: Record<string, number> = {};
  const run: Run = new Map();
  const wall0 = performance.now();
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i]!;
    const t = performance.now();
    const r = await pipeline.run(q.text);
    durations[i] = performance.now() - t;
    r.stages.forEach((s, k) => (perStage[k]![i] = s.ms));
    if (r.degraded !== null) degraded[r.degraded.stage] = (degraded[r.degraded.stage] ?? 0) + 1;
    run.set(q.id, r.hits.map((h) => ({ docId: h.docId, score: h.score })));
    options.onProgress?.(i + 1, queries.length);
  }
  const wallMs = performance.now() - wall0;
  const stageLatency = Object.fromEntries(labels.map((l, k) => [l, latencyStats(perStage[k]!)]));
  return {
    input: { name: pipeline.spec, result: evaluateRun(run, qrels, ignoreIdenticalIds === undefined ? {} : { ignoreIdenticalIds }), latency: latencyStats(durations, { wallMs }), stageLatency, degraded },
    run,
  };
}
