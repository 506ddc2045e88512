/**
 * Search options: what a caller may ask (`SearchOptions`, all optional) and the validated,
 * filled-in form the searcher runs on (`ResolvedSearch`). Defaults come from
 * src/config/defaults.ts (ColBERT's k-dependent PLAID parameters) and from the model profile
 * recorded in the index (default mode, IDF weighting).
 */
import { invalidArgument } from '../errors/index.js';
import { FUSION_LIMITS, INTERACTION_SCORINGS, PLAID_LIMITS, SEARCH_DEFAULTS, colbertDefaultsFor, plaidDefaultsFor, type InteractionScoring, type PlaidParams } from '../config/defaults.js';
import type { ModelInfo } from '../encoder/types.js';
import { calibratedPlaidParams, type IndexCalibration } from '../format/calibration-record.js';
import type { DeadlineOptions } from './deadline.js';
import { compileFilter, type CompiledFilter, type MetadataFilter } from '../docstore/metadata-filter.js';
import { resolveRewrite, type ResolvedRewrite, type RewriteOptions } from '../rewrite/query-rewriter.js';
import type { Bm25CorpusStats } from '../docstore/bm25.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { Rm3Options } from '../rewrite/rm3.js';
import type { PrfOptions } from '../rewrite/prf-options.js';
import { resolveHighlights, type HighlightOptions, type ResolvedHighlights } from './highlights.js';
import { LIBRARY_SPELLING, checkOptionsApply, type OptionScopes } from './option-scope.js';
import { pageDepth } from './paging.js';

export type SearchMode = 'late' | 'bm25' | 'hybrid';

/**
 * Which table fills the PLAID fields a search leaves out (SearchOptions.plaidDefaults):
 * - 'plait': the index's calibration record when it has one, else `plaidDefaultsFor(topK)`
 *   (ColBERT's table plus plait's probe floor, pruning margin and probed-token ranking);
 * - 'colbert': ColBERT's own searcher, exactly (`colbertDefaultsFor(topK)`: k ≤ 10 ncells 1,
 *   threshold 0.5, ndocs 256; k ≤ 100 2 / 0.45 / 1024; else 4 / 0.4 / max(4k, 4096); exact scoring
 *   of ndocs/4) — no probe floor, no margin, centroid-only ranking, calibration ignored. The baseline
 *   the issue-22 fidelity goal is measured against (bench/plaid-defaults.ts).
 */
export type PlaidDefaultsTable = 'plait' | 'colbert';
export const PLAID_DEFAULTS_TABLES: readonly PlaidDefaultsTable[] = ['plait', 'colbert'];

export interface SearchOptions extends DeadlineOptions {
  /** Documents to return, an integer in [1, SEARCH_DEFAULTS.maxTopK] (default 10): the page size. */
  topK?: number;
  /**
   * Results to skip before the page (0-based), an integer ≥ 0 with offset + topK ≤
   * SEARCH_DEFAULTS.maxResultWindow (10,000); default 0. The page is exactly the slice [offset,
   * offset + topK) of the search for topK = offset + topK (its PLAID settings, fusion depth and tie
   * order: paging.ts); hits keep their rank in that whole ranking (the first hit of offset 10 has
   * rank 11). INVALID_ARGUMENT past the window.
   */
  offset?: number;
  /** Default: the model profile's (hybrid for the bundled model, late for ColBERT checkpoints). */
  mode?: SearchMode;
  /** Score every passage exactly (the oracle for PLAID). */
  exhaustive?: boolean;
  /** The table that fills the PLAID fields left out ('plait' or 'colbert', PlaidDefaultsTable); default 'plait'. */
  plaidDefaults?: PlaidDefaultsTable;
  /**
   * ColBERT's ncells: centroids probed per query token, an integer in [1, PLAID_LIMITS.maxCount]
   * (past the index's K every centroid is probed); default: plaidDefaultsFor(topK).
   */
  nIvfProbe?: number;
  /**
   * Centroid score below which a centroid is pruned (ColBERT's centroid_score_threshold), any number
   * but NaN, unbounded as in ColBERT: past the scores' range (cosines, [-1, 1]) it prunes all or nothing
   * (-Infinity: pruning off, as widening rounds run); the CLI and HTTP take finite numbers.
   */
  centroidScoreThreshold?: number;
  /**
   * Candidates kept after pruned centroid interaction (ColBERT's ndocs), an integer in [1,
   * PLAID_LIMITS.maxCount] (past the index's passages every candidate is kept, as in ColBERT).
   */
  ndocs?: number;
  /** plait's relative pruning margin (PlaidParams.centroidScoreMargin), ≥ 0; default: the index's calibration, else none. */
  centroidScoreMargin?: number;
  /** Centroids the whole query probes at least (PlaidParams.nIvfProbeTotal), an integer in [1, PLAID_LIMITS.maxCount]; default: the index's calibration, else none. */
  nIvfProbeTotal?: number;
  /** Query-length-aware depth (PlaidParams.ndocsQueryTokens), a positive integer; default: the index's calibration, else none. */
  ndocsQueryTokens?: number;
  /** How PLAID ranks candidates before exact scoring (PlaidParams.interactionScoring): 'centroids' or 'probed-tokens'; default: the index's calibration, else plaidDefaultsFor(topK). */
  interactionScoring?: InteractionScoring;
  /** Passages kept for exact scoring (PlaidParams.nExact), an integer in [1, PLAID_LIMITS.maxCount]; default: the index's calibration, else plaidDefaultsFor(topK) (ndocs/4). */
  nExact?: number;
  /** Query-token IDF weights (default: the model profile). */
  idfWeighting?: boolean;
  /**
   * How hybrid mode fuses late interaction's ranking with BM25's: 'minmax' (each list's scores
   * min-max normalised to [0, 1], then alpha·late + (1 − alpha)·bm25; the hit's score is that value)
   * or 'rrf' (reciprocal rank fusion, Σ 1/(rrfK + rank)). Default 'minmax'. Hybrid mode only
   * (INVALID_ARGUMENT in another mode).
   */
  fusion?: 'minmax' | 'rrf';
  /**
   * Late-interaction weight in min-max fusion, a number in [0, 1] (0: BM25 alone orders, 1: late
   * interaction alone); default SEARCH_DEFAULTS.hybridAlpha (0.3). Hybrid mode with fusion 'minmax' only.
   */
  alpha?: number;
  /**
   * Reciprocal rank fusion's constant k, an integer in [1, FUSION_LIMITS.maxRrfK] (1,000,000): a larger
   * k flattens the weight of the first ranks; default SEARCH_DEFAULTS.rrfK (60). Hybrid mode with fusion 'rrf' only.
   */
  rrfK?: number;
  /** Attach title, text and metadata to each hit. */
  includeText?: boolean;
  /** Only documents whose metadata (or doc_id) match (search/filter.ts); INVALID_FILTER when malformed. */
  filter?: MetadataFilter;
  /**
   * Query rewriting (src/rewrite/): spelling correction, synonyms, RM3 for BM25, ColBERT-PRF for late
   * interaction; each rewrite is reported in `SearchResult.rewrites`. Default: none.
   */
  rewrite?: RewriteOptions;
  /**
   * Statistics of the whole corpus when this index is one shard of it (src/cluster/): BM25 and
   * query-token IDF then use them instead of the shard's own, so that a shard's scores equal a
   * single index's over the whole corpus. One query's statistics: search one query per call.
   */
  globalStats?: GlobalStats;
  /**
   * Highlights for each returned hit (highlights.ts): `true` or options (snippet length, tags,
   * escaping). Late interaction's come from each query token's MaxSim argmax in the hit's best
   * passage, BM25's from SQLite FTS5's highlight()/snippet(); hybrid hits get both. Default: none.
   */
  highlights?: boolean | HighlightOptions;
}

/** SearchOptions' keys (option-keys.ts): an unknown key such as `topk` is refused, not ignored. */
export const SEARCH_OPTION_KEYS = {
  signal: true,
  timeoutMs: true,
  deadlineAt: true,
  topK: true,
  offset: true,
  mode: true,
  exhaustive: true,
  plaidDefaults: true,
  nIvfProbe: true,
  centroidScoreThreshold: true,
  ndocs: true,
  centroidScoreMargin: true,
  nIvfProbeTotal: true,
  ndocsQueryTokens: true,
  interactionScoring: true,
  nExact: true,
  idfWeighting: true,
  fusion: true,
  alpha: true,
  rrfK: true,
  includeText: true,
  filter: true,
  rewrite: true,
  globalStats: true,
  highlights: true,
} as const satisfies OptionKeys<SearchOptions>;

/** One query's corpus-wide statistics (gathered from every shard by the cluster's coordinator). */
export interface GlobalStats {
  /** BM25 (bm25.ts): the corpus's documents, their mean length in terms, and each query term's document frequency. */
  bm25?: Bm25CorpusStats;
  /**
   * Query-token IDF (idf.ts): the corpus's passage count (the token-df base) and the passage
   * document frequency of each of the query's tokens, aligned with its `tokenIds`.
   */
  tokenIdf?: { passages: number; df: Int32Array };
}

export interface ResolvedSearch {
  /** How deep the search ranks: the page's offset + its size (the topK asked when there is no offset). */
  topK: number;
  /** Results skipped before the page; the page is ranks offset + 1 … topK. null: no offset asked (0, and the result carries no paging fields). */
  offset: number | null;
  mode: SearchMode;
  exhaustive: boolean;
  plaid: PlaidParams;
  idf: boolean;
  fusion: 'minmax' | 'rrf';
  alpha: number;
  rrfK: number;
  includeText: boolean;
  /** The compiled metadata filter, or null. */
  filter: CompiledFilter | null;
  rewrite: ResolvedRewrite;
  globalStats: GlobalStats | null;
  /** Null: no highlights. */
  highlights: ResolvedHighlights | null;
}

/**
 * Applies the defaults and validates every field. PLAID's defaults come from the index's
 * calibration record when it has one (`plait calibrate`), else from `plaidDefaultsFor(topK)`;
 * with `plaidDefaults: 'colbert'` from ColBERT's table alone (PlaidDefaultsTable). An option that
 * cannot apply to the search's mode (the caller's, else the model profile's) is refused
 * (option-scope.ts SEARCH_OPTION_RULES: PLAID settings need late or hybrid without exhaustive,
 * fusion settings hybrid, idfWeighting late interaction).
 * @param scopes where the entry point's options differ from the search table (EXPLAIN_OPTION_SCOPES for explain).
 * @throws PlaitError INVALID_ARGUMENT naming the first bad field, or the options that cannot apply.
 */
export function resolveSearch(options: SearchOptions, model: ModelInfo, calibration?: IndexCalibration, scopes: OptionScopes = {}): ResolvedSearch {
  const topK = options.topK ?? SEARCH_DEFAULTS.topK;
  if (!Number.isInteger(topK) || topK < 1 || topK > SEARCH_DEFAULTS.maxTopK) throw invalidArgument('topK', `an integer in [1, ${SEARCH_DEFAULTS.maxTopK}]`, topK);
  // A page searches as deep as its end (paging.ts): PLAID's k-dependent settings are those of k = offset + topK.
  const depth = pageDepth(options.offset, topK);
  const mode = options.mode ?? model.defaultMode;
  if (!['late', 'bm25', 'hybrid'].includes(mode)) throw invalidArgument('mode', '"late", "bm25" or "hybrid"', mode);
  const table = options.plaidDefaults ?? 'plait';
  if (!PLAID_DEFAULTS_TABLES.includes(table)) throw invalidArgument('plaidDefaults', PLAID_DEFAULTS_TABLES.map((x) => `"${x}"`).join(' or '), table);
  const d = table === 'colbert' ? colbertDefaultsFor(depth) : (calibratedPlaidParams(calibration, depth) ?? plaidDefaultsFor(depth));
  const plaid: PlaidParams = {
    nIvfProbe: options.nIvfProbe ?? d.nIvfProbe,
    centroidScoreThreshold: options.centroidScoreThreshold ?? d.centroidScoreThreshold,
    ndocs: options.ndocs ?? d.ndocs,
  };
  const margin = options.centroidScoreMargin ?? d.centroidScoreMargin;
  if (margin !== undefined && !(typeof margin === 'number' && margin >= 0)) throw invalidArgument('centroidScoreMargin', 'a number >= 0', margin);
  if (margin !== undefined) plaid.centroidScoreMargin = margin;
  const total = options.nIvfProbeTotal ?? d.nIvfProbeTotal;
  if (total !== undefined && !(Number.isInteger(total) && total >= 1)) throw invalidArgument('nIvfProbeTotal', 'a positive integer', total);
  if (total !== undefined) plaid.nIvfProbeTotal = total;
  const depthTokens = options.ndocsQueryTokens ?? d.ndocsQueryTokens;
  if (depthTokens !== undefined && !(Number.isInteger(depthTokens) && depthTokens >= 1)) throw invalidArgument('ndocsQueryTokens', 'a positive integer', depthTokens);
  if (depthTokens !== undefined) plaid.ndocsQueryTokens = depthTokens;
  const interaction = options.interactionScoring ?? d.interactionScoring;
  if (interaction !== undefined && !INTERACTION_SCORINGS.includes(interaction)) throw invalidArgument('interactionScoring', INTERACTION_SCORINGS.map((x) => `"${x}"`).join(', '), interaction);
  if (interaction !== undefined) plaid.interactionScoring = interaction;
  const nExact = options.nExact ?? d.nExact;
  if (nExact !== undefined && !(Number.isInteger(nExact) && nExact >= 1)) throw invalidArgument('nExact', 'a positive integer', nExact);
  if (nExact !== undefined) plaid.nExact = nExact;
  if (!Number.isInteger(plaid.nIvfProbe) || plaid.nIvfProbe < 1) throw invalidArgument('nIvfProbe', 'a positive integer', plaid.nIvfProbe);
  if (!Number.isInteger(plaid.ndocs) || plaid.ndocs < 1) throw invalidArgument('ndocs', 'a positive integer', plaid.ndocs);
  // Bounded (PLAID_LIMITS): past an index's size these change nothing, past the bound they are typos or overflow.
  for (const [name, v] of [['nIvfProbe', plaid.nIvfProbe], ['ndocs', plaid.ndocs], ['nIvfProbeTotal', plaid.nIvfProbeTotal], ['nExact', plaid.nExact]] as const) {
    if (v !== undefined && v > PLAID_LIMITS.maxCount) throw invalidArgument(name, `an integer in [1, ${PLAID_LIMITS.maxCount}]`, v);
  }
  if (typeof plaid.centroidScoreThreshold !== 'number' || Number.isNaN(plaid.centroidScoreThreshold)) {
    throw invalidArgument('centroidScoreThreshold', 'a number', plaid.centroidScoreThreshold);
  }
  const alpha = options.alpha ?? SEARCH_DEFAULTS.hybridAlpha;
  if (!(alpha >= 0 && alpha <= 1)) throw invalidArgument('alpha', 'a number in [0, 1]', alpha);
  const fusion = options.fusion ?? 'minmax';
  if (fusion !== 'minmax' && fusion !== 'rrf') throw invalidArgument('fusion', '"minmax" or "rrf"', fusion);
  const rrfK = options.rrfK ?? SEARCH_DEFAULTS.rrfK;
  if (!(Number.isInteger(rrfK) && rrfK >= 1 && rrfK <= FUSION_LIMITS.maxRrfK)) throw invalidArgument('rrfK', `an integer in [1, ${FUSION_LIMITS.maxRrfK}]`, rrfK);
  // An option this mode would take and ignore is refused (option-scope.ts); the calibration's and the
  // defaults' settings (`d` above) are not the caller's and are never refused.
  checkOptionsApply(options, mode, LIBRARY_SPELLING, scopes);
  return {
    topK: depth,
    offset: options.offset ?? null,
    mode,
    exhaustive: options.exhaustive ?? false,
    plaid,
    idf: options.idfWeighting ?? model.idfWeighting,
    fusion,
    alpha,
    rrfK,
    includeText: options.includeText ?? false,
    filter: options.filter === undefined ? null : compileFilter(options.filter),
    rewrite: rewriteFor(mode, options.rewrite),
    globalStats: options.globalStats ?? null,
    highlights: resolveHighlights(options.highlights),
  };
}

/**
 * The rewrite options, checked against the mode: RM3 expands BM25 (bm25, hybrid), ColBERT-PRF late
 * interaction (late, hybrid); a rewrite that cannot apply is refused, not silently dropped.
 */
function rewriteFor(mode: SearchMode, options: SearchOptions['rewrite']): ResolvedRewrite {
  checkRewriteKeys(options);
  const r = resolveRewrite(options);
  if (r.rm3 !== null && mode === 'late') throw invalidArgument('rewrite.rm3', 'bm25 or hybrid mode (RM3 expands the BM25 query)', `mode "${mode}"`);
  if (r.prf !== null && mode === 'bm25') throw invalidArgument('rewrite.prf', 'late or hybrid mode (ColBERT-PRF expands the late-interaction query)', `mode "${mode}"`);
  return r;
}

const REWRITE_OPTION_KEYS = { spelling: true, synonyms: true, rm3: true, prf: true } as const satisfies OptionKeys<RewriteOptions>;
const RM3_OPTION_KEYS = { fbDocs: true, fbTerms: true, originalQueryWeight: true } as const satisfies OptionKeys<Rm3Options>;
const PRF_OPTION_KEYS = { fbDocs: true, fbEmbeddings: true, beta: true } as const satisfies OptionKeys<PrfOptions>;

/**
 * Unknown keys of `rewrite` and of its rm3 / prf objects are refused with the nearest known one
 * (`rewrite: { rm3: { fbdocs: 5 } }` used to run RM3 with its 10 default feedback documents).
 * Anything but a plain object is left to resolveRewrite, which refuses it with its own message.
 * @throws PlaitError INVALID_ARGUMENT `unknown rewrite.rm3 option "fbdocs" (did you mean "fbDocs"?)`
 */
function checkRewriteKeys(options: unknown): void {
  if (!isPlainObject(options)) return;
  checkOptionKeys(options, REWRITE_OPTION_KEYS, 'rewrite option');
  if (isPlainObject(options.rm3)) checkOptionKeys(options.rm3, RM3_OPTION_KEYS, 'rewrite.rm3 option');
  if (isPlainObject(options.prf)) checkOptionKeys(options.prf, PRF_OPTION_KEYS, 'rewrite.prf option');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** How many documents each ranker contributes to hybrid fusion: SEARCH_DEFAULTS.hybridDepth or 4·topK. */
export function hybridDepth(topK: number): number {
  return Math.max(SEARCH_DEFAULTS.hybridDepth, 4 * topK);
}
