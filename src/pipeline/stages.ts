/**
 * What each stage does, through the `PipelineIndex` it runs on (pipeline-index.ts: one PlaitIndex's
 * public methods, or a cluster coordinator's scatter by shard):
 * - retrieval (first stage): `search` in mode bm25, late (PLAID), hybrid, or late + exhaustive;
 * - re-scoring a list (later stages):
 *   - late / exhaustive: `rerank(query, docIds)`, exact MaxSim of each stored document (best
 *     passage), the same for both names since the list is already given;
 *   - bm25: the document store's BM25 scores of the listed documents (0 for one without a query term);
 *   - hybrid: fusion of those two over the list (search/fusion.ts: min-max with α =
 *     SEARCH_DEFAULTS.hybridAlpha, or RRF with `fusion: 'rrf'`), as hybrid search fuses them;
 *   - cross: the cross-encoder on (query, passage) pairs. The passage of a document is its best
 *     late-interaction passage when an earlier stage scored it by late interaction (`pid` ≥ 0),
 *     else its first passage (a hit that only BM25 saw); so a long document is judged on the
 *     window that late interaction found best, not on a title-and-first-lines cut.
 *   - ltr: a LambdaMART model's score of each document's features (src/ltr/features.ts). Every
 *     stage leaves the scores it computed on its candidates (`signals`: BM25, raw MaxSim with its
 *     IDF setting and passage, cross-encoder), and the ltr stage reuses them instead of scoring again.
 * Ties keep the previous stage's order, so a re-scoring stage never shuffles equal scores.
 */
import { SEARCH_DEFAULTS } from '../config/defaults.js';
import { PlaitError } from '../errors/index.js';
import { fuseMinMax, fuseRrf } from '../search/fusion.js';
import type { SearchOptions } from '../search/plait-index.js';
import { applicableSearchOptions, type SearchShape } from '../search/option-scope.js';
import type { OptionKeys } from '../util/option-keys.js';
import type { PipelineIndex } from './pipeline-index.js';
import type { IndexManifest } from '../format/manifest.js';
import type { CrossScorer } from '../rerank/cross-encoder/cross-encoder.js';
import type { StageName } from './pipeline-spec.js';
import type { QueryRewrite } from '../rewrite/query-rewriter.js';

/** Scores an earlier stage left on a candidate (the ltr stage's features reuse them instead of scoring again). */
export interface CandidateSignals {
  bm25?: number;
  /** Raw MaxSim of the best passage (sum over query tokens), whether IDF-weighted, and that passage. */
  late?: { score: number; idf: boolean; pid: number };
  cross?: number;
}

/**
 * What the ltr stage needs of a ranking model (`LtrModel` in src/ltr/ is one; the pipeline knows
 * only this shape, so that ltr/ builds on pipeline/ and not the other way round).
 */
export interface CandidateRanker {
  /** Whether it reads the cross-encoder score (then a cross stage must come before it). */
  readonly needsCross: boolean;
  /** Feature rows of the candidates, row-major. */
  featureRows(index: PipelineIndex, query: string, candidates: readonly Candidate[]): Promise<Float32Array>;
  /** Scores of n rows. */
  score(rows: Float32Array, n: number): Float64Array;
  /** A warning when it was trained on another index than this manifest's (LtrModel.indexWarning), else null. */
  indexWarning?(manifest: IndexManifest): string | null;
  /** A warning when the stages before the ltr stage (canonical spec) are not the ones it was trained after (LtrModel.candidatesWarning), else null. */
  candidatesWarning?(candidates: string): string | null;
}

/** A document on its way through the pipeline. */
export interface Candidate {
  docId: string;
  /** The passage that scored it (-1: none yet, e.g. a BM25 hit). */
  pid: number;
  score: number;
  /** Scores the stages so far computed for it (read by the ltr stage's features). */
  signals?: CandidateSignals;
}

/** Search settings the late-interaction stages pass on (PLAID parameters, IDF, fusion weight). */
export type StageSearchOptions = Pick<SearchOptions, 'nIvfProbe' | 'centroidScoreThreshold' | 'ndocs' | 'idfWeighting' | 'alpha' | 'fusion' | 'rrfK' | 'rewrite'>;

/** The keys of StageSearchOptions (checked by SearchPipeline: a typo such as `ncells` is refused, not dropped). */
export const STAGE_SEARCH_OPTION_KEYS = {
  nIvfProbe: true,
  centroidScoreThreshold: true,
  ndocs: true,
  idfWeighting: true,
  alpha: true,
  fusion: true,
  rrfK: true,
  rewrite: true,
} as const satisfies OptionKeys<StageSearchOptions>;

/** The part of a search's options that applies inside a pipeline's late-interaction and hybrid stages. */
export function stageSearchOptions(o: SearchOptions): StageSearchOptions {
  const s: StageSearchOptions = {};
  for (const k of Object.keys(STAGE_SEARCH_OPTION_KEYS) as (keyof StageSearchOptions)[]) if (o[k] !== undefined) Object.assign(s, { [k]: o[k] });
  return s;
}

export interface StageContext {
  index: PipelineIndex;
  query: string;
  signal: AbortSignal;
  crossEncoder: CrossScorer | null;
  /** The ltr stage's model (null when the pipeline has none). */
  ltrModel: CandidateRanker | null;
  search: StageSearchOptions;
}

/** What the first stage retrieved, and the query rewrites its search applied (SearchResult.rewrites). */
export interface Retrieved {
  list: Candidate[];
  rewrites: QueryRewrite[] | undefined;
  /** A cluster's shards that did not answer the search (SearchResult.missingShards); absent when whole. */
  missingShards?: number[];
}

/**
 * The search a first stage runs (`retrieve`): bm25 and rm3 in bm25 mode, hybrid in hybrid mode,
 * late, prf and exhaustive in late mode (exhaustive: an exhaustive scan). pipeline-settings.ts reads
 * it to tell which settings reach a pipeline's first stage.
 */
export function retrievalShape(stage: StageName, fusion: 'minmax' | 'rrf'): SearchShape {
  const mode = stage === 'bm25' || stage === 'rm3' ? 'bm25' : stage === 'hybrid' ? 'hybrid' : 'late';
  return { mode, exhaustive: stage === 'exhaustive', fusion };
}

export async function retrieve(stage: StageName, depth: number, ctx: StageContext): Promise<Retrieved> {
  if (stage === 'cross' || stage === 'ltr') throw new PlaitError('INVALID_ARGUMENT', { message: `${stage} cannot retrieve; it re-scores a list`, name: 'pipeline' });
  const topK = Math.min(depth, SEARCH_DEFAULTS.maxTopK);
  const shape = retrievalShape(stage, ctx.search.fusion ?? 'minmax');
  const { mode, exhaustive } = shape;
  // The pipeline's settings are for all its stages: each stage's search takes only what applies to
  // its mode (option-scope.ts), so a bm25 stage is not refused for PLAID settings meant for late ones.
  const search = applicableSearchOptions(ctx.search, shape);
  const rewrite =
    stage === 'rm3' ? { ...search.rewrite, rm3: ctx.search.rewrite?.rm3 ?? true } : stage === 'prf' ? { ...search.rewrite, prf: ctx.search.rewrite?.prf ?? true } : search.rewrite;
  const options: SearchOptions = { ...search, topK, signal: ctx.signal, mode, ...(exhaustive ? { exhaustive } : {}), ...(rewrite === undefined ? {} : { rewrite }) };
  const { hits, rewrites, missingShards } = await ctx.index.search(ctx.query, options);
  const list = hits.map((h) => ({ docId: h.docId, pid: h.pid, score: h.score, ...(stage === 'bm25' ? { signals: { bm25: h.score } } : {}) }));
  return { list, rewrites, ...(missingShards === undefined || missingShards.length === 0 ? {} : { missingShards }) };
}

/** Keeps the top `depth`; `signal(i)` adds what this stage learnt about candidate i to its signals. */
function byScoreThenPreviousRank(
  list: readonly Candidate[],
  scores: ArrayLike<number>,
  pids: ArrayLike<number> | null,
  depth: number,
  signal?: (i: number) => CandidateSignals,
): Candidate[] {
  const order = list.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, depth).map((i) => {
    const c: Candidate = { docId: list[i]!.docId, pid: pids === null ? list[i]!.pid : pids[i]!, score: scores[i]! };
    const signals = signal === undefined ? list[i]!.signals : { ...list[i]!.signals, ...signal(i) };
    if (signals !== undefined) c.signals = signals;
    return c;
  });
}

/** The raw MaxSim signal of candidate i, with the IDF setting the late stages used. */
function lateSignal(scores: Float64Array, pids: Int32Array, ctx: StageContext): (i: number) => CandidateSignals {
  const idf = ctx.search.idfWeighting ?? ctx.index.info.model.idfWeighting;
  return (i) => (Number.isFinite(scores[i]!) ? { late: { score: scores[i]!, idf, pid: pids[i]! } } : {});
}

async function lateScores(list: readonly Candidate[], ctx: StageContext): Promise<{ scores: Float64Array; pids: Int32Array }> {
  const hits = await ctx.index.rerank(
    ctx.query,
    list.map((c) => c.docId),
    { signal: ctx.signal, ...(ctx.search.idfWeighting === undefined ? {} : { idfWeighting: ctx.search.idfWeighting }) },
  );
  const byId = new Map(hits.map((h) => [h.docId, h] as const));
  const scores = new Float64Array(list.length);
  const pids = new Int32Array(list.length);
  list.forEach((c, i) => {
    const h = byId.get(c.docId);
    scores[i] = h?.score ?? -Infinity;
    pids[i] = h?.pid ?? c.pid;
  });
  return { scores, pids };
}

function bm25Scores(list: readonly Candidate[], ctx: StageContext): Promise<Float64Array> {
  return ctx.index.bm25Scores(ctx.query, list.map((c) => c.docId), ctx.signal);
}

/** Re-scores `list` with `stage` and keeps its top `depth`, highest first. */
export async function rescore(stage: StageName, depth: number, list: readonly Candidate[], ctx: StageContext): Promise<Candidate[]> {
  if (list.length === 0) return [];
  switch (stage) {
    case 'late':
    case 'exhaustive': {
      const { scores, pids } = await lateScores(list, ctx);
      return byScoreThenPreviousRank(list, scores, pids, depth, lateSignal(scores, pids, ctx));
    }
    case 'bm25': {
      const bm = await bm25Scores(list, ctx);
      return byScoreThenPreviousRank(list, bm, null, depth, (i) => ({ bm25: bm[i]! }));
    }
    case 'hybrid': {
      const { scores: late, pids } = await lateScores(list, ctx);
      const bm = await bm25Scores(list, ctx);
      const lateList = list.map((_, key) => ({ key, score: late[key]! }));
      // BM25 contributes only the listed documents that hold a query term, as in hybrid search.
      const bmList = list.map((_, key) => ({ key, score: bm[key]! })).filter((d) => d.score > 0);
      const bySc = (a: { key: number; score: number }, b: { key: number; score: number }): number => b.score - a.score || a.key - b.key;
      const fused =
        ctx.search.fusion === 'rrf'
          ? fuseRrf(lateList.sort(bySc), bmList.sort(bySc), ctx.search.rrfK ?? SEARCH_DEFAULTS.rrfK)
          : fuseMinMax(lateList, bmList, ctx.search.alpha ?? SEARCH_DEFAULTS.hybridAlpha);
      const scores = new Float64Array(list.length);
      for (const f of fused) scores[f.key] = f.score;
      const late1 = lateSignal(late, pids, ctx);
      return byScoreThenPreviousRank(list, scores, pids, depth, (i) => ({ ...late1(i), bm25: bm[i]! }));
    }
    case 'rm3':
    case 'prf':
      throw new PlaitError('INVALID_ARGUMENT', { message: `${stage} retrieves with feedback; it cannot re-score a list`, name: 'pipeline' });
    case 'cross': {
      if (ctx.crossEncoder === null) {
        throw new PlaitError('INVALID_ARGUMENT', { message: 'the pipeline has a cross stage but no cross-encoder (pass crossEncoder / --cross-encoder <model>)', name: 'crossEncoder' });
      }
      const { texts, pids } = await ctx.index.passageTexts(list, ctx.signal);
      const scores = await ctx.crossEncoder.score(ctx.query, texts, { signal: ctx.signal });
      return byScoreThenPreviousRank(list, scores, pids, depth, (i) => ({ cross: scores[i]! }));
    }
    case 'ltr': {
      if (ctx.ltrModel === null) {
        throw new PlaitError('INVALID_ARGUMENT', { message: 'the pipeline has an ltr stage but no ranking model (pass ltrModel / --ltr-model <file>)', name: 'ltrModel' });
      }
      const rows = await ctx.ltrModel.featureRows(ctx.index, ctx.query, list);
      return byScoreThenPreviousRank(list, ctx.ltrModel.score(rows, list.length), null, depth);
    }
  }
}
