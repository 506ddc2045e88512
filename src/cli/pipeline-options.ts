/**
 * The CLI's side of pipelines and the cross-encoder, hooked into the existing commands by one line
 * each: `plait search --pipeline … --cross-encoder …`, `plait rerank --cross-encoder …`,
 * `plait eval --pipelines "<spec>;<spec>" --cross-encoder …`; `--ltr-model <file>` gives the ranking
 * model of an `ltr` stage (src/ltr/) the same way.
 */
import type { QueryRewrite } from '../rewrite/query-rewriter.js';
import type { Command } from 'commander';
import { CrossEncoder, type CrossEncoderOptions } from '../rerank/cross-encoder/cross-encoder.js';
import type { CrossEncoderVariant } from '../rerank/cross-encoder/cross-encoder-files.js';
import type { RerankDocument } from '../rerank/reranker.js';
import { SearchPipeline, type PipelineResult } from '../pipeline/search-pipeline.js';
import { pageLine } from './page-line.js';
import { stageSearchOptions } from '../pipeline/stages.js';
import { formatPipeline, parsePipeline, type StageName } from '../pipeline/pipeline-spec.js';
import { searchOptionsFrom, type SearchFlagOptions } from './search-flags.js';
import type { PlaitIndex } from '../search/plait-index.js';
import { readQueries } from '../eval/queries.js';
import { formatRun, writeRun, type Run } from '../eval/run.js';
import { evaluatePipeline, splitPipelineSpecs } from '../eval/pipeline-modes.js';
import type { ModeInput } from '../eval/comparison.js';
import type { Qrels } from '../eval/qrels.js';
import type { EvalQuery } from '../eval/queries.js';
import { PlaitError, invalidArgument } from '../errors/index.js';
import { parseIntArg, plural, printJson } from './options.js';
import { CROSS_ENCODER_DEFAULTS, THREAD_LIMITS } from '../config/defaults.js';
import { ProgressReporter } from './progress.js';
import { basename, resolve } from 'node:path';
import { LtrModel } from '../ltr/ltr-model.js';
import { requireInput } from './validate.js';
import { warnUnsearchable } from './commands/query-warnings.js';
import { unsearchable } from '../search/query-text.js';
import { formatTable } from './table.js';

export interface CrossCliOptions {
  crossEncoder?: string;
  crossVariant?: string;
  crossThreads?: number;
  crossMaxLength?: number;
  crossSigmoid?: boolean;
  ltrModel?: string;
}

/** The flags that choose and tune the cross-encoder (shared by search, rerank and eval). */
export function addCrossEncoderFlags(cmd: Command): Command {
  return cmd
    .option('--cross-encoder <model>', 'cross-encoder: a folder (onnx/model.onnx or model.onnx, or config.json + weights to convert; with tokenizer.json) or a hub repo id')
    .option('--cross-variant <v>', 'cross-encoder graph: fp32 (model.onnx), quantized (model_quantized.onnx) or int8 (model_int8.onnx) (default: fp32)')
    .option('--cross-threads <n>', `worker threads running the cross-encoder, 0–${THREAD_LIMITS.maxThreads} (default: ${CROSS_ENCODER_DEFAULTS.threads})`, parseIntArg('crossThreads', 0, THREAD_LIMITS.maxThreads))
    .option('--cross-max-length <n>', "longest pair in tokens, at most the graph's positions (default: from the model files)", parseIntArg('crossMaxLength', 4))
    .option('--cross-sigmoid', 'report sigmoid(logit) for single-logit cross-encoders');
}

export function crossEncoderOptionsFrom(o: CrossCliOptions): CrossEncoderOptions {
  const out: CrossEncoderOptions = {};
  if (o.crossVariant !== undefined) {
    if (!['fp32', 'quantized', 'int8'].includes(o.crossVariant)) throw invalidArgument('cross-variant', '"fp32", "quantized" or "int8"', o.crossVariant);
    out.variant = o.crossVariant as CrossEncoderVariant;
  }
  if (o.crossThreads !== undefined) out.threads = o.crossThreads;
  if (o.crossMaxLength !== undefined) out.maxLength = o.crossMaxLength;
  if (o.crossSigmoid === true) out.sigmoid = true;
  return out;
}

async function openCross(o: CrossCliOptions): Promise<CrossEncoder | undefined> {
  return o.crossEncoder === undefined ? undefined : CrossEncoder.create(o.crossEncoder, crossEncoderOptionsFrom(o));
}

/**
 * `--ltr-model <file>`: the ranking model of an ltr stage, as pipeline options (none without the
 * flag), with a `plait: warning:` line when it was trained on another index than `index`.
 */
export async function ltrModelOption(o: CrossCliOptions, index: PlaitIndex): Promise<{ ltrModel?: LtrModel }> {
  if (o.ltrModel === undefined) return {};
  return { ltrModel: await loadLtrModelFor(o.ltrModel, index) };
}

/** Loads `--ltr-model <file>` to run on `index`, warning on stderr when it was trained on another index (LtrModel.indexWarning). */
export async function loadLtrModelFor(file: string, index: PlaitIndex): Promise<LtrModel> {
  const model = await LtrModel.load(requireInput(file, '--ltr-model'));
  const warning = model.indexWarning(index.manifest, basename(resolve(index.path)));
  if (warning !== null) process.stderr.write(`plait: warning: ${file}: ${warning}\n`);
  return model;
}

const LTR_MODEL_FLAG = ['--ltr-model <file>', 'ranking model of an ltr stage (plait ltr train --out)'] as const;

/** `plait search --pipeline`: flags. */
export function addPipelineFlags(cmd: Command): Command {
  return addCrossEncoderFlags(
    cmd.option('--pipeline <spec>', 'staged ranking, e.g. "bm25:1000 > late:200 > cross:20" (stages bm25, late, hybrid, exhaustive, cross, ltr; optional budget cross:20@200ms)').option(...LTR_MODEL_FLAG),
  );
}

function printPipelineResult(r: PipelineResult, showTimings: boolean): void {
  for (const h of r.hits) {
    const snippet = h.text === undefined ? '' : `  ${(h.title ? `${h.title}: ` : '') + h.text.replace(/\s+/g, ' ').slice(0, 120)}`;
    process.stdout.write(`${String(h.rank).padStart(3)}  ${h.score.toFixed(4).padStart(9)}  ${h.docId}${snippet}\n`);
  }
  if (r.degraded !== null) process.stdout.write(`degraded: ${r.degraded.stage} skipped (${r.degraded.reason}: ${r.degraded.message}); order from ${r.orderedBy}\n`);
  if (showTimings) {
    const rows = r.stages.map((s) => [s.label, `${s.ms.toFixed(1)} ms`, `${s.candidates} in`, `${s.returned} out`, `${s.status}${s.reason ? ` (${s.reason})` : ''}`]);
    for (const line of formatTable(rows, ['left', 'right', 'right', 'right', 'left'])) process.stdout.write(`${line}\n`);
  }
}

/** The query rewrites a search applied, one stderr line each (`rewritten (spelling) [qid]: from → to`). */
export function printRewrites(rewrites: readonly QueryRewrite[] | undefined, qid: string | null, quiet: boolean): void {
  if (quiet) return;
  for (const rw of rewrites ?? []) process.stderr.write(`rewritten (${rw.kind})${qid === null ? '' : ` [${qid}]`}: ${rw.from} → ${rw.to}\n`);
}

/** A flag that gives a stage its model, and what to say when it is given without that stage. */
const STAGE_MODEL_FLAGS = [
  { key: 'crossEncoder', flag: '--cross-encoder', stage: 'cross', a: 'a cross stage', model: 'cross-encoder', example: 'bm25:100 > cross:10' },
  { key: 'ltrModel', flag: '--ltr-model', stage: 'ltr', a: 'an ltr stage', model: 'ranking model', example: 'hybrid:200 > ltr:10' },
] as const satisfies readonly { key: keyof CrossCliOptions; flag: string; stage: StageName; a: string; model: string; example: string }[];

/**
 * Checked before any work (`plait search`, `plait eval`): every spec of `--pipeline` / `--pipelines`
 * parses, and `--cross-encoder` / `--ltr-model` come exactly with a stage that uses them. A model
 * flag without its stage is refused as a flag that cannot apply: `plait search --ltr-model m.json`
 * without an ltr stage used to search without the model and say nothing, and `plait eval
 * --pipelines` found a typo or a missing model only after every mode had run.
 * @param specs the pipeline specs given (none: the flag was not given).
 * @throws PlaitError INVALID_ARGUMENT (a bad spec, with its position; a model flag without its stage; a stage without its model flag)
 */
export function checkPipelineFlags(specs: readonly string[], o: CrossCliOptions, pipelineFlag: '--pipeline' | '--pipelines'): void {
  const stages = new Set(specs.flatMap((spec) => parsePipeline(spec).map((s) => s.stage)));
  for (const f of STAGE_MODEL_FLAGS) {
    if (o[f.key] !== undefined && !stages.has(f.stage)) {
      // The stages there are, named: the flag reaches none of them.
      const there = specs.length === 0 ? '' : ` (the stages given: ${[...stages].join(', ')})`;
      throw new PlaitError('INVALID_ARGUMENT', { message: `${f.flag} needs ${pipelineFlag} with ${f.a}, e.g. ${pipelineFlag} "${f.example}"${there}`, name: f.flag.slice(2), stages: [...stages] });
    }
    if (o[f.key] === undefined && stages.has(f.stage)) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `${pipelineFlag} has ${f.a}; give its ${f.model} with ${f.flag}`, name: f.flag.slice(2) });
    }
  }
}

/**
 * The hook of `plait search` (its flags checked by checkPipelineFlags first): returns false when no --pipeline was given (the command goes on as
 * before), otherwise runs the pipeline for the query or the queries file and prints it.
 */
export async function searchWithPipeline(
  index: PlaitIndex,
  query: string | undefined,
  o: CrossCliOptions &
    SearchFlagOptions & { pipeline?: string; queries?: string; run?: string; tag: string; json?: boolean; text?: boolean; timings?: boolean; quiet?: boolean },
): Promise<boolean> {
  if (o.pipeline === undefined) return false;
  const ltr = await ltrModelOption(o, index);
  const cross = await openCross(o);
  try {
    const pipeline = new SearchPipeline(index, o.pipeline, { search: stageSearchOptions(searchOptionsFrom(o)), ...(cross === undefined ? {} : { crossEncoder: cross }), ...ltr });
    // The other-index warning was said when the model loaded (loadLtrModelFor).
    for (const w of pipeline.warningDetails) if (w.code === 'LTR_CANDIDATES_DIFFER') process.stderr.write(`plait: warning: ${o.ltrModel ?? ''}: ${w.message}\n`);
    if (o.queries !== undefined) {
      const queries = await readQueries(o.queries);
      const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
      const run: Run = new Map();
      const degraded: Record<string, number> = {};
      for (let i = 0; i < queries.length; i++) {
        const r = await pipeline.run(queries[i]!.text, o.offset === undefined ? {} : { offset: o.offset });
        printRewrites(r.rewrites, queries[i]!.id, o.quiet === true);
        if (r.degraded !== null) degraded[r.degraded.stage] = (degraded[r.degraded.stage] ?? 0) + 1;
        run.set(queries[i]!.id, r.hits.map((h) => ({ docId: h.docId, score: h.score, ...(o.offset === undefined ? {} : { rank: h.rank }) })));
        progress.update('search', i + 1, queries.length);
      }
      progress.done();
      if (o.run !== undefined) await writeRun(o.run, run, { tag: o.tag });
      if (o.json) printJson(Object.fromEntries(run));
      // On stderr, as a one-mode batch says it: stdout had carried it, into whatever a script piped the command's output to.
      else if (o.run !== undefined) process.stderr.write(`plait: wrote ${plural(run.size, 'query', 'queries')} to ${o.run}\n`);
      // Without --run or --json the run goes to stdout, as a one-mode batch's does (it had printed nothing, trial 12).
      else process.stdout.write(formatRun(run, { tag: o.tag }));
      for (const [stage, n] of Object.entries(degraded)) process.stderr.write(`plait: ${stage} degraded on ${n} of ${plural(queries.length, 'query', 'queries')}\n`);
      return true;
    }
    if (query === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'give a query, or --queries <file>' });
    // Said as a one-mode search says it (the pipeline's first stage answers such a query with no hits, silently).
    const empty = unsearchable(query, 0);
    if (empty !== null) warnUnsearchable(empty);
    const r = await pipeline.run(query, { includeText: o.text === true || o.json === true, ...(o.offset === undefined ? {} : { offset: o.offset }) });
    if (!o.json) printRewrites(r.rewrites, null, false);
    if (o.json) printJson(r);
    else {
      printPipelineResult(r, o.timings === true);
      if (o.offset !== undefined) process.stderr.write(pageLine(o.offset, r.hits.length, parsePipeline(o.pipeline).at(-1)?.depth ?? r.hits.length, r.totalHits, 'pipeline'));
      else if (r.hits.length === 0 && empty === null) process.stderr.write('plait: no hits\n');
    }
    return true;
  } finally {
    await cross?.close();
  }
}

/** The hook of `plait rerank`: with --cross-encoder, scores with it and prints the same shape; else false. */
export async function rerankWithCrossEncoder(query: string, docs: readonly RerankDocument[], o: CrossCliOptions & { k?: number; json?: boolean }): Promise<boolean> {
  const cross = await openCross(o);
  if (cross === undefined) return false;
  try {
    const results = await cross.rerank(query, docs, { topK: o.k ?? docs.length });
    if (o.json) printJson(results);
    else results.forEach((r, i) => process.stdout.write(`${String(i + 1).padStart(3)}  ${r.score.toFixed(4).padStart(9)}  ${r.id ?? `#${r.index}`}\n`));
    return true;
  } finally {
    await cross.close();
  }
}

/** `plait eval --pipelines`: flags. */
export function addEvalPipelineFlags(cmd: Command): Command {
  return addCrossEncoderFlags(cmd.option('--pipelines <specs>', 'pipelines to add as rows, separated by ";", e.g. "bm25:100 > late:10; bm25:100 > cross:10"').option(...LTR_MODEL_FLAG));
}

/** `plait eval --identical-ids`: BEIR's rule of dropping a hit whose id is its query's (eval/metrics.ts). */
export type IdenticalIdsRule = 'auto' | 'drop' | 'keep';

/** The library's `ignoreIdenticalIds` for `--identical-ids` (auto when not given). */
export function identicalIdsOption(rule: IdenticalIdsRule | undefined): boolean | 'auto' {
  return rule === 'drop' ? true : rule === 'keep' ? false : 'auto';
}

/** The hook of `plait eval`: one row per pipeline (quality, latency per stage, significance comes with the table). */
export async function evalPipelineRows(
  index: PlaitIndex,
  queries: readonly EvalQuery[],
  qrels: Qrels,
  o: CrossCliOptions & { pipelines?: string; identicalIds?: IdenticalIdsRule },
  progress: ProgressReporter,
): Promise<{ inputs: ModeInput[]; runs: Map<string, Run> }> {
  const inputs: ModeInput[] = [];
  const runs = new Map<string, Run>();
  if (o.pipelines === undefined) return { inputs, runs };
  const ltr = await ltrModelOption(o, index);
  const cross = await openCross(o);
  try {
    for (const spec of splitPipelineSpecs(o.pipelines)) {
      // Each spec gets the models of the stages it has (a pipeline refuses a model no stage of it reads).
      const stages = parsePipeline(spec);
      const has = new Set(stages.map((s) => s.stage));
      const before = stages.findIndex((s) => s.stage === 'ltr');
      const differ = before < 0 ? null : (ltr.ltrModel?.candidatesWarning(formatPipeline(stages.slice(0, before))) ?? null);
      if (differ !== null) process.stderr.write(`plait: warning: ${o.ltrModel ?? ''} in "${formatPipeline(stages)}": ${differ}\n`);
      const row = await evaluatePipeline(index, spec, queries, qrels, {
        ...(cross === undefined || !has.has('cross') ? {} : { crossEncoder: cross }),
        ...(has.has('ltr') ? ltr : {}),
        onProgress: (done, total) => progress.update(spec, done, total),
        ignoreIdenticalIds: identicalIdsOption(o.identicalIds),
      });
      inputs.push(row.input);
      runs.set(row.input.name, row.run);
    }
    return { inputs, runs };
  } finally {
    await cross?.close();
  }
}

/**
 * Pipeline stages that use no vectors of the index's model (cross runs its own cross-encoder; ltr's
 * features include late scores): a pipeline of only these encodes no query, and `plait eval` with
 * only these and lexical modes loads no model.
 */
export const LEXICAL_STAGES: ReadonlySet<StageName> = new Set<StageName>(['bm25', 'rm3', 'cross']);

/** Whether the pipeline `spec` (a row's name) has a stage that encodes its query. */
function encodesQuery(spec: string): boolean {
  return parsePipeline(spec).some((s) => !LEXICAL_STAGES.has(s.stage));
}

/**
 * Per-stage latency lines of the pipeline rows, printed under the comparison table. The note says
 * query encoding is included only of rows that encode: it had said "includes query encoding" of
 * pipelines of lexical stages only (`bm25:100 > bm25:10`), where no query is encoded.
 */
export function renderStageLatency(inputs: readonly ModeInput[]): string {
  const lines: string[] = [];
  let encoding = 0;
  for (const m of inputs) {
    if (m.stageLatency === undefined) continue;
    if (encodesQuery(m.name)) encoding++;
    const parts = Object.entries(m.stageLatency).map(([label, l]) => `${label} ${l.meanMs.toFixed(1)} ms (p95 ${l.p95Ms.toFixed(1)})`);
    const degraded = Object.entries(m.degraded ?? {}).map(([s, n]) => `${s} degraded on ${plural(n, 'query', 'queries')}`);
    lines.push(`${m.name}: ${parts.join(', ')}${degraded.length > 0 ? `; ${degraded.join(', ')}` : ''}`);
  }
  if (lines.length === 0) return '';
  const note =
    encoding === lines.length
      ? 'mean, includes query encoding'
      : encoding === 0
        ? 'mean; lexical stages only: no query is encoded'
        : `mean; includes query encoding in the pipelines with a stage other than ${[...LEXICAL_STAGES].join(', ')}`;
  return `per-stage latency (${note}):\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
