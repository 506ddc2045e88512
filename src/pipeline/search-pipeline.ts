/**
 * `SearchPipeline`: runs a chain of stages over one open index (see pipeline-spec.ts), reporting
 * each stage's time and the candidates it saw, and which stage produced the final order.
 *
 * Graceful degradation: a re-scoring stage (any stage after the first) that misses its budget,
 * throws (model error, worker crash), or whose circuit breaker is open is skipped: the pipeline
 * carries the previous stage's order on (cut to the skipped stage's depth) and the result says
 * `degraded: { stage, reason }` instead of failing. Budget misses and failures are recorded in the
 * stage's breaker (one per re-scoring stage of this pipeline unless shared breakers are given),
 * so a model that keeps failing or stalling is not waited on again until its cool-down ends.
 * The first stage has nothing to fall back to: its errors (and a missed budget, as TIMEOUT) reach
 * the caller, as does the caller's own abort signal.
 *
 * On a cluster's coordinator (a `PipelineIndex` from src/cluster/): a first stage answered without
 * some shards carries on with the shards that answered and reports `missingShards`, with
 * `degraded: { reason: 'shards-missing' }` when no stage was skipped for another reason; a
 * re-scoring stage that cannot reach a listed document's shard (CLUSTER_UNAVAILABLE) is skipped like
 * any failing stage, and its shards join `missingShards`. With `includeText`, a shard that does not
 * give its hits' stored documents leaves them without text, joins `missingShards`, and the answer is
 * `degraded: { stage: 'include_text', reason: 'shards-missing' }` when nothing else degraded it (it
 * failed the whole answer before).
 */
import type { QueryRewrite } from '../rewrite/query-rewriter.js';
import { PlaitError, isPlaitError } from '../errors/index.js';
import { PlaitIndex, type SearchHit } from '../search/plait-index.js';
import { localPipelineIndex, type PipelineIndex } from './pipeline-index.js';
// The caller's reason when it is a PlaitError (a server's TIMEOUT or ABORTED), else TIMEOUT / ABORTED.
import { abortError } from '../search/deadline.js';
import type { CrossScorer } from '../rerank/cross-encoder/cross-encoder.js';
import { CircuitBreaker, type BreakerSnapshot, type CircuitBreakerOptions } from './circuit-breaker.js';
import { formatPipeline, parsePipeline, stageLabel, validateStages, type PipelineStage, type StageName } from './pipeline-spec.js';
import { STAGE_SEARCH_OPTION_KEYS, rescore, retrieve, type Candidate, type CandidateRanker, type StageContext, type StageSearchOptions } from './stages.js';
import { checkOptionKeys, pickOptions, type OptionKeys } from '../util/option-keys.js';
import { checkSearchSettingsReachStages, checkStageSettings } from './pipeline-settings.js';
import { pageDepth, totalHits, type PageSpelling } from '../search/paging.js';

export type DegradeReason = 'budget' | 'error' | 'circuit-open' | 'shards-missing';

export interface Degradation {
  /** Label of the skipped stage, e.g. "cross:20"; "include_text" when a cluster's shard did not give its hits' text. */
  stage: string;
  reason: DegradeReason;
  /** What happened (the error's message, the budget, or the breaker's retry time). */
  message: string;
  /** The error's code when reason is 'error'. */
  code?: string;
}

export interface StageReport {
  stage: StageName;
  label: string;
  depth: number;
  budgetMs: number | null;
  /** Documents the stage was given (the first stage: the documents it retrieved). */
  candidates: number;
  /** Documents it passed on. */
  returned: number;
  /** Wall-clock time of the stage, in ms (for a missed budget: the time until it was given up). */
  ms: number;
  status: 'ok' | 'degraded';
  reason?: DegradeReason;
}

/** A warning of a pipeline's ltr stage with its stable code. */
export interface PipelineWarning {
  code: 'LTR_MODEL_OTHER_INDEX' | 'LTR_CANDIDATES_DIFFER';
  message: string;
}

export interface PipelineResult {
  hits: SearchHit[];
  stages: StageReport[];
  /** Label of the stage whose order `hits` are in (the last stage that ran, unless it degraded). */
  orderedBy: string;
  /** The first stage that was skipped, or null when every stage ran. */
  degraded: Degradation | null;
  totalMs: number;
  /** The query rewrites the first stage's search applied (SearchOptions.rewrite, rm3 and prf stages); absent when none. */
  rewrites?: QueryRewrite[];
  /** A cluster's shards missing from some stage (ascending); absent when every shard answered every stage. */
  missingShards?: number[];
  /** SearchPipeline.warnings, on every result of the pipeline; absent when there are none. */
  warnings?: string[];
  /** The same with their codes (SearchPipeline.warningDetails); absent when there are none. */
  warningDetails?: PipelineWarning[];
  /** PipelineRunOptions.offset, when given. */
  offset?: number;
  /** With an offset: the documents the last stage's list held when it ended before its depth, else null (not known). */
  totalHits?: number | null;
}

export interface SearchPipelineOptions {
  /** Scores the cross stage (a `CrossEncoder`, or any CrossScorer). Required when the pipeline has one. */
  crossEncoder?: CrossScorer;
  /** Breakers to use per stage name (e.g. one per cross-encoder model, shared by every pipeline of a server). */
  breakers?: Partial<Record<StageName, CircuitBreaker>>;
  /** Settings of the breakers this pipeline creates for its re-scoring stages without one given. */
  breaker?: CircuitBreakerOptions;
  /** PLAID, IDF and fusion settings passed to the late-interaction stages. */
  search?: StageSearchOptions;
  /** Scores the ltr stage (an `LtrModel`: `LtrModel.load(file)`). Required when the pipeline has one. */
  ltrModel?: CandidateRanker;
}

export interface PipelineRunOptions {
  /** Attach title, text and metadata to each hit. */
  includeText?: boolean;
  /** Cancels the whole run (rejects with ABORTED); unlike a stage budget this does not degrade. */
  signal?: AbortSignal;
  /**
   * Results to skip (pagination, search/paging.ts), an integer ≥ 0: the last stage runs `offset`
   * deeper (its depth + offset, at most the previous stage's depth and SEARCH_DEFAULTS.maxResultWindow)
   * and the hits are that list from `offset` on, ranked in it (the first hit of offset 10 has rank 11):
   * exactly the page of the same pipeline whose last depth is offset + depth.
   */
  offset?: number;
}

/** The keys of SearchPipelineOptions: any other is refused (`ltrmodel` used to leave the ltr stage without its model, `search: { ncells }` PLAID at its defaults). */
export const SEARCH_PIPELINE_OPTION_KEYS = { crossEncoder: true, breakers: true, breaker: true, search: true, ltrModel: true } as const satisfies OptionKeys<SearchPipelineOptions>;
/** The keys of PipelineRunOptions (`includetext` used to return hits without their text). */
export const PIPELINE_RUN_OPTION_KEYS = { includeText: true, signal: true, offset: true } as const satisfies OptionKeys<PipelineRunOptions>;

/**
 * The SearchPipelineOptions part of a caller's wider options (collectLtrGroups', evaluatePipeline's),
 * whose own keys the caller has checked: only these reach the pipeline, which refuses any other.
 */
export function pipelineOptionsOf(o: SearchPipelineOptions): SearchPipelineOptions {
  return pickOptions<SearchPipelineOptions>(o, SEARCH_PIPELINE_OPTION_KEYS);
}

const BUDGET = Symbol('budget');

/**
 * The stages of a page `offset` deep: the last stage keeps offset + its depth (search/paging.ts).
 * @throws PlaitError INVALID_ARGUMENT: offset not an integer ≥ 0, past the result window, or the
 *   deepened last stage above the previous stage's depth (it can keep only what it is given).
 */
export function pagedStages(stages: readonly PipelineStage[], offset: number, sp: PageSpelling = { offset: 'offset', topK: "the last stage's depth" }): PipelineStage[] {
  const last = stages[stages.length - 1]!;
  const depth = pageDepth(offset, last.depth, sp);
  const prev = stages[stages.length - 2];
  if (prev !== undefined && depth > prev.depth) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `${sp.offset} ${offset} + the last stage's depth ${last.depth} = ${depth} is above the previous stage's depth, ${stageLabel(prev)}: the last stage keeps part of the list it is given; deepen ${prev.stage} to at least ${depth} or ask an earlier page`,
      name: sp.offset,
      reason: 'pastPreviousStage',
      previousDepth: prev.depth,
    });
  }
  return [...stages.slice(0, -1), { ...last, depth }];
}

export class SearchPipeline {
  readonly stages: readonly PipelineStage[];
  /** The index the stages run on (a PlaitIndex is wrapped by localPipelineIndex). */
  readonly index: PipelineIndex;
  private readonly breakers = new Map<StageName, CircuitBreaker>();
  /**
   * What the pipeline runs with but should not go unsaid: an ltr stage whose ranking model was
   * trained on another index (CandidateRanker.indexWarning) or after other candidates
   * (CandidateRanker.candidatesWarning). Repeated in every result's `warnings`.
   */
  readonly warnings: readonly string[];
  /** The same warnings with their stable codes (LTR_MODEL_OTHER_INDEX, LTR_CANDIDATES_DIFFER), as HTTP answers carry them. */
  readonly warningDetails: readonly PipelineWarning[];

  /**
   * @throws PlaitError INVALID_ARGUMENT (an unknown option key, or one of `search`, with the nearest
   * known one; a bad spec; a cross stage without a cross-encoder; an ltr stage without a model; a
   * setting no stage reads — a crossEncoder without a cross stage, an ltrModel without an ltr stage,
   * a breaker under a stage that is not re-scored here, a search setting no stage applies:
   * pipeline-settings.ts),
   * LTR_FEATURE_MISSING.
   */
  constructor(
    index: PlaitIndex | PipelineIndex,
    stages: string | readonly PipelineStage[],
    private readonly options: SearchPipelineOptions = {},
  ) {
    checkOptionKeys(options, SEARCH_PIPELINE_OPTION_KEYS, 'pipeline option');
    checkOptionKeys(options.search, STAGE_SEARCH_OPTION_KEYS, 'pipeline search option');
    this.index = index instanceof PlaitIndex ? localPipelineIndex(index) : index;
    this.stages = typeof stages === 'string' ? parsePipeline(stages) : validateStages(stages);
    // A setting no stage reads is refused, not ignored (pipeline-settings.ts).
    checkStageSettings(this.stages, options);
    checkSearchSettingsReachStages(this.stages, options.search ?? {});
    if (this.stages.some((s) => s.stage === 'cross') && options.crossEncoder === undefined) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `the pipeline "${this.spec}" has a cross stage; give a cross-encoder (crossEncoder option, --cross-encoder <model>)`, name: 'crossEncoder' });
    }
    checkLtrStage(this.stages, options.ltrModel, this.spec);
    const ltrAt = this.stages.findIndex((s) => s.stage === 'ltr');
    const details: PipelineWarning[] = [];
    if (ltrAt >= 0) {
      const other = options.ltrModel?.indexWarning?.(this.index.info) ?? null;
      if (other !== null) details.push({ code: 'LTR_MODEL_OTHER_INDEX', message: other });
      const candidates = options.ltrModel?.candidatesWarning?.(formatPipeline(this.stages.slice(0, ltrAt))) ?? null;
      if (candidates !== null) details.push({ code: 'LTR_CANDIDATES_DIFFER', message: candidates });
    }
    this.warningDetails = details;
    this.warnings = details.map((w) => w.message);
    for (const s of this.stages.slice(1)) {
      if (!this.breakers.has(s.stage)) this.breakers.set(s.stage, options.breakers?.[s.stage] ?? new CircuitBreaker(options.breaker));
    }
  }

  /** The canonical spec string. */
  get spec(): string {
    return formatPipeline(this.stages);
  }

  /** Breaker states of the re-scoring stages (for metrics and health checks). */
  breakerStates(): Partial<Record<StageName, BreakerSnapshot>> {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.snapshot()]));
  }

  breakerFor(stage: StageName): CircuitBreaker | undefined {
    return this.breakers.get(stage);
  }

  /** @throws PlaitError INVALID_ARGUMENT (an unknown option key, with the nearest known one), ABORTED, and the first stage's errors. */
  async run(query: string, options: PipelineRunOptions = {}): Promise<PipelineResult> {
    checkOptionKeys(options, PIPELINE_RUN_OPTION_KEYS, 'pipeline run option');
    const t0 = performance.now();
    const offset = options.offset ?? 0;
    const stages = options.offset === undefined ? this.stages : pagedStages(this.stages, options.offset);
    const { list: ranked, reports, orderedBy, degraded, rewrites, missingShards: stagesMissing } = await this.runStages(query, options, stages);
    let missingShards = stagesMissing;
    const list = ranked.slice(offset);
    const { hits, missingShards: textless } = await this.toHits(list, options.includeText === true, options.signal, offset);
    // A shard that could not give its documents' text: its hits are answered without it, and the answer says so.
    if (textless.length > 0) missingShards = [...new Set([...missingShards, ...textless])].sort((a, b) => a - b);
    const textDegraded: Degradation | null = textless.length === 0 ? null : { stage: 'include_text', reason: 'shards-missing', message: `shard${textless.length === 1 ? '' : 's'} ${textless.join(', ')} did not give the text of ${textless.length === 1 ? 'its' : 'their'} hits in time` };
    return {
      hits,
      stages: reports,
      orderedBy,
      degraded: degraded ?? textDegraded,
      totalMs: performance.now() - t0,
      ...(rewrites === undefined || rewrites.length === 0 ? {} : { rewrites }),
      ...(missingShards.length === 0 ? {} : { missingShards }),
      ...(this.warnings.length === 0 ? {} : { warnings: [...this.warnings], warningDetails: this.warningDetails.map((w) => ({ ...w })) }),
      // Paging (search/paging.ts): a pipeline's list ends at its last depth; shorter means the ranking ended.
      ...(options.offset === undefined ? {} : { offset, totalHits: totalHits(ranked.length, stages[stages.length - 1]!.depth, null) }),
    };
  }

  /**
   * The final candidates with the scores every stage left on them (`signals`), as the ltr stage
   * sees them: what `plait ltr train` computes features from.
   */
  async candidates(query: string, options: Pick<PipelineRunOptions, 'signal'> = {}): Promise<Candidate[]> {
    return (await this.candidatesFrom(query, options)).list;
  }

  /**
   * `candidates`, with the shards of a cluster's coordinator that some stage missed (ascending;
   * empty on one index): a list missing a shard is not the whole corpus's, so an explanation over
   * it would not be one index's (explain-ltr.ts refuses it with CLUSTER_UNAVAILABLE).
   */
  async candidatesFrom(query: string, options: Pick<PipelineRunOptions, 'signal'> = {}): Promise<{ list: Candidate[]; missingShards: number[] }> {
    checkOptionKeys(options, { signal: true } as const satisfies OptionKeys<Pick<PipelineRunOptions, 'signal'>>, 'pipeline candidates option');
    const { list, missingShards } = await this.runStages(query, options);
    return { list, missingShards };
  }

  private async runStages(
    query: string,
    options: PipelineRunOptions,
    stages: readonly PipelineStage[] = this.stages,
  ): Promise<{ list: Candidate[]; reports: StageReport[]; orderedBy: string; degraded: Degradation | null; rewrites: QueryRewrite[] | undefined; missingShards: number[] }> {
    let rewrites: QueryRewrite[] | undefined;
    const missing = new Set<number>();
    let firstMissing: Degradation | null = null;
    const reports: StageReport[] = [];
    let degraded: Degradation | null = null;
    let orderedBy = '';
    let list: Candidate[] = [];
    for (let k = 0; k < stages.length; k++) {
      const s = stages[k]!;
      const label = stageLabel(s);
      const report: StageReport = { stage: s.stage, label, depth: s.depth, budgetMs: s.budgetMs ?? null, candidates: list.length, returned: 0, ms: 0, status: 'ok' };
      reports.push(report);
      throwIfAborted(options.signal);
      const ts = performance.now();
      if (k === 0) {
        const got = await this.withBudget(s, query, options.signal, (ctx) => retrieve(s.stage, s.depth, ctx)).catch((e: unknown) => {
          if (e === BUDGET) throw new PlaitError('TIMEOUT', { message: `${label} missed its ${s.budgetMs} ms budget`, stage: label });
          throw e;
        });
        ({ list, rewrites } = got);
        report.candidates = list.length;
        if (got.missingShards !== undefined) {
          for (const m of got.missingShards) missing.add(m);
          firstMissing = { stage: label, reason: 'shards-missing', message: `shard${got.missingShards.length === 1 ? '' : 's'} ${got.missingShards.join(', ')} did not answer in time` };
        }
      } else {
        const breaker = this.breakers.get(s.stage)!;
        let skip: Degradation | null = null;
        const permit = breaker.acquire();
        if (permit === null) {
          skip = { stage: label, reason: 'circuit-open', message: `circuit breaker open; next trial in ${Math.ceil(breaker.snapshot().retryInMs)} ms` };
        } else {
          const given = list;
          try {
            list = await this.withBudget(s, query, options.signal, (ctx) => rescore(s.stage, s.depth, given, ctx));
            permit.settle('success');
          } catch (e) {
            // The caller's own abort (hang-up, deadline) says nothing about the stage: the permit is
            // cancelled (a half-open trial slot goes back) by the finally below.
            if (options.signal?.aborted === true) throw abortError(options.signal);
            if (e === BUDGET) {
              permit.settle('slow');
              skip = { stage: label, reason: 'budget', message: `missed its ${s.budgetMs} ms budget` };
            } else {
              permit.settle('failure');
              skip = { stage: label, reason: 'error', message: (e as Error)?.message ?? String(e), ...(isPlaitError(e) ? { code: e.code } : {}) };
              for (const m of missingShardsOf(e)) missing.add(m);
            }
          } finally {
            permit.settle('cancelled');
          }
        }
        if (skip !== null) {
          list = list.slice(0, s.depth);
          report.status = 'degraded';
          report.reason = skip.reason;
          degraded ??= skip;
        }
      }
      report.ms = performance.now() - ts;
      report.returned = list.length;
      if (report.status === 'ok') orderedBy = label;
    }
    return { list, reports, orderedBy, degraded: degraded ?? firstMissing, rewrites, missingShards: [...missing].sort((a, b) => a - b) };
  }

  /** Runs one stage under its budget: rejects with BUDGET when the budget ends first (and aborts the stage). */
  private async withBudget<T>(s: PipelineStage, query: string, outer: AbortSignal | undefined, work: (ctx: StageContext) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onOuter = (): void => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const ctx: StageContext = {
      index: this.index,
      query,
      signal: controller.signal,
      crossEncoder: this.options.crossEncoder ?? null,
      ltrModel: this.options.ltrModel ?? null,
      search: this.options.search ?? {},
    };
    try {
      const running = work(ctx);
      const stops: Promise<never>[] = [
        new Promise<never>((_, reject) => {
          if (s.budgetMs !== undefined) {
            timer = setTimeout(() => {
              reject(BUDGET);
              controller.abort(new PlaitError('TIMEOUT', { message: 'stage budget' }));
            }, s.budgetMs);
          }
          controller.signal.addEventListener('abort', () => {
            if (outer?.aborted === true) reject(abortError(outer));
          });
        }),
      ];
      // The stage may still settle after losing the race; its outcome is no longer anyone's.
      running.catch(() => undefined);
      return await Promise.race([running, ...stops]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  /**
   * The candidates as hits, with their stored text when `includeText`; `missingShards`: a cluster's
   * shards that did not give their documents (their hits come without text).
   */
  private async toHits(list: readonly Candidate[], includeText: boolean, signal: AbortSignal | undefined, rankBase = 0): Promise<{ hits: SearchHit[]; missingShards: number[] }> {
    const got = includeText ? await this.index.documents(list.map((c) => c.docId), signal) : { documents: [], missingShards: [] };
    throwIfAborted(signal);
    const hits = list.map((c, i) => {
      const hit: SearchHit = { docId: c.docId, pid: c.pid, score: c.score, rank: rankBase + i + 1 };
      const doc = got.documents[i];
      if (includeText && doc !== null && doc !== undefined) {
        hit.title = doc.title;
        hit.text = doc.text;
        hit.metadata = doc.metadata ?? null;
      }
      return hit;
    });
    return { hits, missingShards: got.missingShards };
  }
}

/**
 * An ltr stage needs a model, and a model that reads the cross-encoder score needs a cross stage
 * before it (other features are computed by the ltr stage itself when no stage left them).
 * @throws PlaitError INVALID_ARGUMENT (no model), LTR_FEATURE_MISSING (no cross stage before ltr).
 */
function checkLtrStage(stages: readonly PipelineStage[], model: CandidateRanker | undefined, spec: string): void {
  const at = stages.findIndex((s) => s.stage === 'ltr');
  if (at < 0) return;
  if (model === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: `the pipeline "${spec}" has an ltr stage; give a ranking model (ltrModel option, --ltr-model <file>)`, name: 'ltrModel' });
  if (model.needsCross && !stages.slice(0, at).some((s) => s.stage === 'cross')) {
    throw new PlaitError('LTR_FEATURE_MISSING', { message: `the ranking model reads the cross-encoder score ("cross"), but the pipeline "${spec}" has no cross stage before ltr`, feature: 'cross' });
  }
}

/** The shards a CLUSTER_UNAVAILABLE error names (its `shards` detail); none for other errors. */
function missingShardsOf(e: unknown): number[] {
  if (!isPlaitError(e) || e.code !== 'CLUSTER_UNAVAILABLE') return [];
  const shards = (e.details as { shards?: unknown } | undefined)?.shards;
  return Array.isArray(shards) ? shards.filter((s): s is number => Number.isInteger(s)) : [];
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/** One-shot convenience: builds a pipeline and runs one query (breakers then live for this call only). */
export async function runPipeline(index: PlaitIndex | PipelineIndex, query: string, stages: string | readonly PipelineStage[], options: SearchPipelineOptions & PipelineRunOptions = {}): Promise<PipelineResult> {
  checkOptionKeys(options, { ...SEARCH_PIPELINE_OPTION_KEYS, ...PIPELINE_RUN_OPTION_KEYS }, 'pipeline option');
  const run: PipelineRunOptions = {};
  if (options.includeText !== undefined) run.includeText = options.includeText;
  if (options.signal !== undefined) run.signal = options.signal;
  return new SearchPipeline(index, stages, pipelineOptionsOf(options)).run(query, run);
}
