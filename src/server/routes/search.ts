/**
 * `POST /v1/indexes/{name}/search`: one query (`query`) or a batch (`queries`), answered per query
 * as `{hits, timings, cached}`. Fields are the library's SearchOptions in snake_case. The body is an
 * object with named optional fields, so later stages (`pipeline: "bm25:1000 > late:200 > cross:20"`,
 * `cross_encoder`, `filter`) arrive as new optional fields without breaking a client.
 */
import type { FastifyPluginAsync } from 'fastify';
import { PlaitError, isPlaitError } from '../../errors/index.js';
import { FUSION_LIMITS, HIGHLIGHT_DEFAULTS, INTERACTION_SCORINGS, PLAID_LIMITS, PRF_DEFAULTS, PRF_LIMITS, REQUEST_SYNONYMS_DEFAULTS, RM3_DEFAULTS, RM3_LIMITS, SEARCH_DEFAULTS, type InteractionScoring, type PlaidParams } from '../../config/defaults.js';
import type { LateRound } from '../../search/late-ranking.js';
import { snakeKeys } from '../snake-keys.js';
import { PLAID_DEFAULTS_TABLES, type PlaidDefaultsTable } from '../../search/search-options.js';
import type { SearchHit, SearchMode, SearchOptions, SearchTimings } from '../../index.js';
import { ERROR_SCHEMA } from '../http-errors.js';
import { runWork } from '../request-work.js';
import { TEXT_WARNINGS_HEADER, checkBatch, checkQuery, checkText } from '../text-checks.js';
import { normaliseQuery, type Engine, type IndexEntry } from '../engine.js';
import { SearchPipeline, pagedStages } from '../../pipeline/search-pipeline.js';
import { HTTP_PAGE_SPELLING, pageDepth } from '../../search/paging.js';
import { unsearchable } from '../../search/query-text.js';
import { formatPipeline, parsePipeline, type PipelineStage } from '../../pipeline/pipeline-spec.js';
import { estimatePipelineTokens } from '../request-cost.js';
import { stageSearchOptions } from '../../pipeline/stages.js';
import { checkSearchSettingsReachStages } from '../../pipeline/pipeline-settings.js';
import { HTTP_SPELLING, checkOptionsApply, checkPipelineOptions } from '../../search/option-scope.js';
import type { MetadataFilter } from '../../docstore/metadata-filter.js';
import type { RewriteOptions } from '../../rewrite/query-rewriter.js';
import { resolveRm3 } from '../../rewrite/rm3.js';
import { resolvePrf } from '../../rewrite/prf-options.js';
import { parseSynonyms, type SynonymMap } from '../../rewrite/synonyms.js';
import type { TextWarning } from '../../encoder/unknown-tokens.js';
import type { HighlightOptions } from '../../search/highlights.js';
import '../fastify-types.js';

interface SearchBody {
  query?: string;
  queries?: string[];
  top_k?: number;
  offset?: number;
  mode?: SearchMode;
  exhaustive?: boolean;
  n_ivf_probe?: number;
  centroid_score_threshold?: number;
  ndocs?: number;
  plaid_defaults?: PlaidDefaultsTable;
  interaction_scoring?: InteractionScoring;
  idf_weighting?: boolean;
  fusion?: 'minmax' | 'rrf';
  alpha?: number;
  rrf_k?: number;
  include_text?: boolean;
  timeout_ms?: number;
  pipeline?: string;
  cross_encoder?: string;
  filter?: MetadataFilter;
  rewrite?: RewriteBody;
  min_sequences?: { shard: number; sequence: number }[];
  highlights?: boolean | HighlightsBody;
}

/** Highlight options in a request (the library's HighlightOptions in snake_case). */
interface HighlightsBody {
  snippet_chars?: number;
  pre_tag?: string;
  post_tag?: string;
  escape?: boolean;
}

/** Query rewriting in a request (the library's RewriteOptions in snake_case). */
export interface RewriteBody {
  spelling?: boolean;
  /** true / absent: the server's synonyms (plait serve --synonyms), false: none, lines: these rules instead. */
  synonyms?: boolean | string[];
  /** true for Anserini's defaults, or its parameters (ranges checked by the library, rm3.ts). */
  rm3?: boolean | { fb_docs?: number; fb_terms?: number; original_query_weight?: number };
  /** true for ColBERT-PRF's defaults, or its parameters (ranges checked by the library, prf-options.ts). */
  prf?: boolean | { fb_docs?: number; fb_embeddings?: number; beta?: number };
}

/** `rm3` / `prf` of a request: a switch or the feedback's parameters; their ranges are the library's, so a refusal reads as at every door. */
/**
 * A feedback rewrite's schema: true, or an object of its parameters, each with its type and range
 * (the library's RM3_LIMITS / PRF_LIMITS), so that a value of the wrong type or out of range is
 * refused by validation naming the field as the client wrote it (body/rewrite/rm3/fb_docs). The
 * library's own check had answered first, naming its camelCase option (rm3.fbDocs).
 */
function feedbackSchema(name: 'rm3' | 'prf', fields: Record<string, { type: 'integer' | 'number'; minimum: number; maximum: number; description: string }>): object {
  return {
    anyOf: [
      { type: 'boolean' },
      { type: 'object', additionalProperties: false, properties: fields },
    ],
    description: `${name}: true for its defaults, or an object of its parameters (a value of the wrong type or out of range is 400 INVALID_ARGUMENT naming it, e.g. body/rewrite/${name}/fb_docs)`,
  };
}

export const REWRITE_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: "query rewriting: spelling (correct unknown words against the index's vocabulary), synonyms, rm3 (BM25 feedback), prf (ColBERT-PRF late-interaction feedback); each rewrite is reported in the result's rewrites",
  properties: {
    spelling: { type: 'boolean' },
    synonyms: {
      anyOf: [
        { type: 'boolean' },
        { type: 'array', maxItems: REQUEST_SYNONYMS_DEFAULTS.maxLines, items: { type: 'string', maxLength: REQUEST_SYNONYMS_DEFAULTS.maxLineChars, pattern: '^[^\\r\\n]*$' } },
      ],
      description:
        `synonyms: absent or true applies the server's (plait serve --synonyms <file>; true without one is 400), false applies none, ` +
        `an array of lines in Solr's synonyms.txt format ("couch, sofa", "tv => television") applies those instead (at most ${REQUEST_SYNONYMS_DEFAULTS.maxLines}; 400 SYNONYMS_INVALID naming the line)`,
    },
    rm3: feedbackSchema('rm3', {
      fb_docs: { type: 'integer', minimum: 1, maximum: RM3_LIMITS.maxFbDocs, description: `feedback documents (default ${RM3_DEFAULTS.fbDocs})` },
      fb_terms: { type: 'integer', minimum: 1, maximum: RM3_LIMITS.maxFbTerms, description: `expansion terms (default ${RM3_DEFAULTS.fbTerms})` },
      original_query_weight: { type: 'number', minimum: 0, maximum: 1, description: `λ, the original query's share (default ${RM3_DEFAULTS.originalQueryWeight})` },
    }),
    prf: feedbackSchema('prf', {
      fb_docs: { type: 'integer', minimum: 1, maximum: PRF_LIMITS.maxFbDocs, description: `feedback documents (default ${PRF_DEFAULTS.fbDocs})` },
      fb_embeddings: { type: 'integer', minimum: 1, maximum: PRF_LIMITS.maxFbEmbeddings, description: `expansion embeddings (default ${PRF_DEFAULTS.fbEmbeddings})` },
      beta: { type: 'number', minimum: 0, maximum: PRF_LIMITS.maxBeta, description: `β, the expansion's weight (default ${PRF_DEFAULTS.beta})` },
    }),
  },
} as const;

/** The fields of a filter's warnings (docstore/metadata-catalogue.ts FilterWarning, snake_case), as searches and deletes by filter answer them. */
export const FILTER_WARNING_PROPERTIES = {
  code: { type: 'string' },
  message: { type: 'string' },
  field: { type: 'string' },
  at: { type: 'string' },
  suggestion: { type: 'string' },
  asked_type: { type: 'string' },
  stored_types: { type: 'array', items: { type: 'string' } },
  stored_counts: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' }, documents: { type: 'integer' } } } },
} as const;

export const REWRITES_SCHEMA = {
  type: 'array',
  description: 'the query rewrites applied, in order (absent when none): spelling {from, to}, synonym, rm3 and prf expansions',
  items: { type: 'object', properties: { kind: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } },
} as const;

/**
 * The synonyms a request searches with: its own lines, the server's (`serverSynonyms`) unless it
 * says `false`, or none.
 * @throws PlaitError INVALID_ARGUMENT (`true` on a server without synonyms), SYNONYMS_INVALID (a line, named by its index)
 */
function requestSynonyms(asked: boolean | string[] | undefined, serverSynonyms: SynonymMap | null): SynonymMap | null {
  if (asked === undefined || asked === true) {
    if (asked === true && serverSynonyms === null) {
      throw new PlaitError('INVALID_ARGUMENT', { message: 'rewrite.synonyms is true but this server has none: start it with plait serve --synonyms <file>, or give the rules as an array of lines', name: 'rewrite.synonyms' });
    }
    return serverSynonyms;
  }
  if (asked === false) return null;
  try {
    return parseSynonyms(asked.join('\n'), { file: 'rewrite.synonyms' });
  } catch (e) {
    if (!isPlaitError(e, 'SYNONYMS_INVALID') || typeof e.details?.line !== 'number') throw e;
    const line = e.details.line;
    const reason = e.message.slice(e.message.indexOf(`rewrite.synonyms:${line}: `) + `rewrite.synonyms:${line}: `.length);
    throw new PlaitError('SYNONYMS_INVALID', { message: `rewrite.synonyms[${line - 1}] of the request: ${reason}`, name: 'rewrite.synonyms', index: line - 1 });
  }
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The body's rewrite field as RewriteOptions, with the server's synonyms unless it says otherwise (undefined when nothing applies). */
export function rewriteFromBody(r: RewriteBody | undefined | null, serverSynonyms: SynonymMap | null): RewriteOptions | undefined {
  const synonyms = requestSynonyms(r?.synonyms ?? undefined, serverSynonyms);
  const o: RewriteOptions = {};
  if (r?.spelling === true) o.spelling = true;
  if (synonyms !== null && synonyms.rules.length > 0) o.synonyms = synonyms;
  const rm3 = r?.rm3;
  if (rm3 === true) o.rm3 = true;
  else if (typeof rm3 === 'object' && rm3 !== null) o.rm3 = resolveRm3(definedOnly({ fbDocs: rm3.fb_docs, fbTerms: rm3.fb_terms, originalQueryWeight: rm3.original_query_weight }));
  const prf = r?.prf;
  if (prf === true) o.prf = true;
  else if (typeof prf === 'object' && prf !== null) o.prf = resolvePrf(definedOnly({ fbDocs: prf.fb_docs, fbEmbeddings: prf.fb_embeddings, beta: prf.beta }));
  return Object.keys(o).length === 0 ? undefined : o;
}

export const SEARCH_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description:
    "A field the search would ignore is refused (400 INVALID_ARGUMENT naming it and the mode): the PLAID fields need mode late or hybrid without exhaustive; exhaustive and idf_weighting late or hybrid; fusion hybrid; alpha hybrid with fusion minmax; rrf_k hybrid with fusion rrf. Without mode the index model's profile decides",
  properties: {
    query: { type: 'string', description: 'one query (give query or queries)' },
    queries: { type: 'array', items: { type: 'string' }, description: `a batch of queries, at most ${SEARCH_DEFAULTS.maxBatchQueries} (413 beyond)` },
    top_k: { type: 'integer', minimum: 1, maximum: SEARCH_DEFAULTS.maxTopK, description: `documents per query (default ${SEARCH_DEFAULTS.topK}): the page size` },
    offset: {
      type: 'integer',
      minimum: 0,
      maximum: SEARCH_DEFAULTS.maxResultWindow - 1,
      description:
        `results to skip (pagination, default 0): the page is exactly ranks offset+1 … offset+top_k of the search for top_k = offset + top_k (same PLAID settings, fusion depth and ties), so pages neither overlap nor skip; ` +
        `offset + top_k at most ${SEARCH_DEFAULTS.maxResultWindow} (400 INVALID_ARGUMENT past it). With a pipeline the last stage runs offset deeper (at most the previous stage's depth). Each result then carries offset and total_hits`,
    },
    mode: { type: 'string', enum: ['late', 'bm25', 'hybrid'], description: "default: the index model's profile" },
    exhaustive: { type: 'boolean', description: 'score every passage exactly instead of PLAID' },
    n_ivf_probe: { type: 'integer', minimum: 1, maximum: PLAID_LIMITS.maxCount, description: "centroids probed per query token (ColBERT's ncells); past the index's centroids every one is probed" },
    centroid_score_threshold: { type: 'number', description: 'centroid pruning threshold' },
    ndocs: { type: 'integer', minimum: 1, maximum: PLAID_LIMITS.maxCount, description: "candidates kept after centroid interaction; past the index's passages every candidate is kept" },
    plaid_defaults: { type: 'string', enum: [...PLAID_DEFAULTS_TABLES], description: "what fills the PLAID settings not given: plait (the index's calibration, else plait's defaults; default) or colbert (ColBERT's own searcher's k table, no calibration)" },
    interaction_scoring: { type: 'string', enum: [...INTERACTION_SCORINGS], description: "how PLAID ranks candidates before exact scoring: centroids (ColBERT's) or probed-tokens (default: the calibration, else plait's defaults)" },
    idf_weighting: { type: 'boolean' },
    fusion: { type: 'string', enum: ['minmax', 'rrf'] },
    alpha: { type: 'number', minimum: 0, maximum: 1, description: 'late-interaction weight in min-max fusion' },
    rrf_k: { type: 'integer', minimum: 1, maximum: FUSION_LIMITS.maxRrfK },
    include_text: { type: 'boolean', description: 'attach title, text and metadata to each hit' },
    timeout_ms: { type: 'integer', minimum: 1, description: 'deadline for this request in ms (504 TIMEOUT after it; the work is abandoned)' },
    pipeline: {
      type: 'string',
      maxLength: 1000,
      description: 'staged ranking instead of one mode, e.g. "bm25:1000 > late:200 > cross:20" (stages bm25, late, hybrid, exhaustive, cross; a budget as cross:20@300ms); each stage takes the fields that apply to its mode; top_k, mode, exhaustive, filter, plaid_defaults and interaction_scoring are refused beside it',
    },
    filter: {
      type: 'object',
      additionalProperties: true,
      description: 'only documents whose metadata (or doc_id) match: {"year": {"$gte": 2020}}, $in, $exists, $and/$or/$not (400 INVALID_FILTER when malformed)',
    },
    cross_encoder: { type: 'string', description: 'which served cross-encoder (plait serve --cross-encoder) scores a cross stage (default: the first)' },
    rewrite: REWRITE_BODY_SCHEMA,
    highlights: {
      anyOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            snippet_chars: { type: 'integer', minimum: HIGHLIGHT_DEFAULTS.minSnippetChars, maximum: HIGHLIGHT_DEFAULTS.maxSnippetChars, description: `snippet window in characters before it is cut to word boundaries (default ${HIGHLIGHT_DEFAULTS.snippetChars})` },
            pre_tag: { type: 'string', maxLength: HIGHLIGHT_DEFAULTS.maxTagChars, description: `written before each marked span (default ${HIGHLIGHT_DEFAULTS.preTag})` },
            post_tag: { type: 'string', maxLength: HIGHLIGHT_DEFAULTS.maxTagChars, description: `written after each marked span (default ${HIGHLIGHT_DEFAULTS.postTag})` },
            escape: { type: 'boolean', description: "HTML-escape the snippet's text between the tags (default true)" },
          },
        },
      ],
      description:
        "each hit's highlights (true or options): late (late and hybrid modes) the spans of the best passage's document tokens that were a query token's MaxSim argmax, each with its score and query_tokens, their other_score and late_score, and a marked snippet; bm25 (bm25 and hybrid modes) SQLite FTS5's highlight() spans and snippet(). Offsets are UTF-16 [start, end) in the hit's title or text (field)",
    },
    min_sequences: {
      type: 'array',
      maxItems: 1024,
      items: { type: 'object', required: ['shard', 'sequence'], additionalProperties: true, properties: { shard: { type: 'integer', minimum: 0 }, sequence: { type: 'integer', minimum: 0 } } },
      description: "read your writes on a cluster coordinator: a write's acknowledged `sequences`; each shard answers once it applied them (a shard that cannot by the deadline is missing, degraded). A single server's writes are visible when acknowledged: ignored there",
    },
  },
} as const;

const TIMINGS_SCHEMA = {
  type: 'object',
  properties: Object.fromEntries(
    ['encode_ms', 'late_ms', 'bm25_ms', 'fusion_ms', 'highlights_ms', 'total_ms', 'candidates_ms', 'prune_ms', 'interaction_ms', 'exact_ms', 'candidates'].map((k) => [k, { type: 'number' }]),
  ),
} as const;

/** PLAID settings in snake_case (a result's `plaid`, a round's `params`). */
const PLAID_SETTINGS_SCHEMA = {
  type: 'object',
  properties: {
    ...Object.fromEntries(['centroid_score_margin', 'n_ivf_probe', 'ndocs', 'n_ivf_probe_total', 'ndocs_query_tokens', 'n_exact'].map((k) => [k, { type: 'number' }])),
    centroid_score_threshold: { type: ['number', 'null'] },
    interaction_scoring: { type: 'string' },
  },
} as const;

const HIT_SCHEMA = {
  type: 'object',
  required: ['doc_id', 'pid', 'score', 'rank'],
  properties: {
    doc_id: { type: 'string' },
    pid: { type: 'integer', description: 'best-scoring passage (-1 for a BM25-only hit)' },
    score: { type: 'number' },
    rank: { type: 'integer' },
    title: { type: 'string' },
    text: { type: 'string' },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    highlights: { type: 'object', additionalProperties: true, description: 'with highlights in the request: {late, bm25} (see the request field)' },
  },
} as const;

const STAGE_SCHEMA = {
  type: 'object',
  properties: {
    stage: { type: 'string' },
    label: { type: 'string' },
    depth: { type: 'integer' },
    budget_ms: { type: ['number', 'null'] },
    candidates: { type: 'integer' },
    returned: { type: 'integer' },
    ms: { type: 'number' },
    status: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

const RESPONSE_SCHEMA = {
  type: 'object',
  required: ['index', 'generation', 'results'],
  properties: {
    index: { type: 'string' },
    generation: { type: 'string', description: 'changes when the index content does (result-cache key)' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['query', 'hits', 'timings', 'cached'],
        properties: {
          query: { type: 'string', description: 'the normalised query searched' },
          hits: { type: 'array', items: HIT_SCHEMA },
          timings: TIMINGS_SCHEMA,
          cached: { type: 'boolean' },
          offset: { type: 'integer', description: 'the results skipped before these hits (present when the request gave offset); hits keep their rank in the whole ranking' },
          total_hits: {
            type: ['integer', 'null'],
            description:
              'present with offset: how many documents the whole ranking holds, the filter\'s with a filter — every live document in late and hybrid mode (hybrid fuses the late ranking of them all with BM25\'s), the documents holding a query term in bm25 mode, summed over the shards by a cluster coordinator; null when not known (a pipeline past its last stage\'s depth, a coordinator missing a shard)',
          },
          rewrites: REWRITES_SCHEMA,
          warnings: {
            type: 'array',
            description:
              "MOSTLY_UNKNOWN_TOKENS when most of the query's content tokens are unknown to the model (its hits then say little); LTR_MODEL_OTHER_INDEX on a pipeline with an ltr stage whose ranking model (plait serve --ltr-model) was trained on another index, LTR_CANDIDATES_DIFFER where it runs after other stages than the candidates it was trained on; " +
              'when a filter matched no live document (hits empty): FILTER_FIELD_UNKNOWN (field: a field no document has; suggestion: the nearest field there is, e.g. "year" for "metadata.year" or "yeer"), FILTER_TYPE_MISMATCH (asked_type: the value\'s JSON type, stored_types: the types the field holds, e.g. 1962 asked where "1962" is stored), else FILTER_NO_MATCH; ' +
              'whatever the filter matched, FILTER_TYPE_MIXED for a comparison ($gt, $gte, $lt, $lte, $eq, $in of one type) on a field holding values of several JSON types, which compares the values of its own type only (asked_type; stored_counts: each type and its live documents)',
            items: {
              type: 'object',
              properties: {
                ...FILTER_WARNING_PROPERTIES,
                text: { type: 'string' },
                unknown_tokens: { type: 'integer' },
                content_tokens: { type: 'integer' },
              },
            },
          },
          empty_reason: { type: 'string', enum: ['empty-query', 'no-content'], description: 'set when the query cannot be searched (no letter or digit): hits is empty' },
          plaid: {
            type: 'object',
            description: "the PLAID settings the search started from and where they came from (source: defaults, calibration, ColBERT defaults, flags+…), as plait search --timings prints them; absent in bm25 mode, exhaustive searches and pipelines",
            properties: { ...PLAID_SETTINGS_SCHEMA.properties, source: { type: 'string' } },
          },
          rounds: {
            type: 'array',
            description:
              "each round of late ranking in order, as plait search --json --timings gives them: kind 'plaid' (params: the settings it ran with, centroid_score_threshold null when widening turned pruning off; its stage timings and candidates), 'exhaustive' (an exact scan of every passage, widening's last resort or an exhaustive search) or 'filtered-exact' (a selective filter's passages scored exactly instead of PLAID); a filter or deletes that leave fewer than top_k documents widen the search (×4 n_ivf_probe and ndocs, no pruning); absent in bm25 mode",
            items: {
              type: 'object',
              required: ['kind', 'ms'],
              properties: {
                kind: { type: 'string', enum: ['plaid', 'exhaustive', 'filtered-exact'] },
                ms: { type: 'number' },
                params: PLAID_SETTINGS_SCHEMA,
                passages: { type: 'integer' },
                ...Object.fromEntries(['candidates_ms', 'prune_ms', 'interaction_ms', 'exact_ms', 'candidates'].map((k) => [k, { type: 'number' }])),
              },
            },
          },
          truncated: { type: 'boolean', description: "true when the query had more tokens than the model keeps and was searched on its first ones (late and hybrid; BM25 reads every term); absent otherwise" },
          stages: { type: 'array', items: STAGE_SCHEMA, description: 'pipelines: each stage with its time and candidates' },
          ordered_by: { type: 'string', description: 'pipelines: the stage whose order the hits are in' },
          missing_shards: { type: 'array', items: { type: 'integer' }, description: 'a cluster coordinator: the shards that did not answer by the deadline (degraded is then true)' },
          degraded: {
            type: ['object', 'null', 'boolean'],
            properties: { stage: { type: 'string' }, reason: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } },
            description: 'pipelines: the stage skipped (budget missed, model error, circuit open) and why; null when every stage ran. A cluster coordinator: true when some shards are missing from the hits (missing_shards)',
          },
        },
      },
    },
  },
} as const;

function snakeTimings(t: SearchTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) if (typeof v === 'number') out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}

export function snakeHit(h: SearchHit): Record<string, unknown> {
  const out: Record<string, unknown> = { doc_id: h.docId, pid: h.pid, score: h.score, rank: h.rank };
  if (h.title !== undefined) out.title = h.title;
  if (h.text !== undefined) out.text = h.text;
  if (h.metadata !== undefined) out.metadata = h.metadata;
  if (h.highlights !== undefined) out.highlights = snakeKeys(h.highlights);
  return out;
}

function snakeWarning(w: TextWarning): Record<string, unknown> {
  return { code: w.code, text: w.text, unknown_tokens: w.unknownTokens, content_tokens: w.contentTokens, message: w.message };
}

/** The library's SearchOptions of a search body; `serverSynonyms` apply unless the body's rewrite says otherwise. */
export function searchOptionsFromBody(b: SearchBody, serverSynonyms: SynonymMap | null): SearchOptions {
  const o: SearchOptions = {};
  if (b.top_k !== undefined) o.topK = b.top_k;
  if (b.offset !== undefined) o.offset = b.offset;
  if (b.mode !== undefined) o.mode = b.mode;
  if (b.exhaustive !== undefined) o.exhaustive = b.exhaustive;
  if (b.n_ivf_probe !== undefined) o.nIvfProbe = b.n_ivf_probe;
  if (b.centroid_score_threshold !== undefined) o.centroidScoreThreshold = b.centroid_score_threshold;
  if (b.ndocs !== undefined) o.ndocs = b.ndocs;
  if (b.plaid_defaults !== undefined) o.plaidDefaults = b.plaid_defaults;
  if (b.interaction_scoring !== undefined) o.interactionScoring = b.interaction_scoring;
  if (b.idf_weighting !== undefined) o.idfWeighting = b.idf_weighting;
  if (b.fusion !== undefined) o.fusion = b.fusion;
  if (b.alpha !== undefined) o.alpha = b.alpha;
  if (b.rrf_k !== undefined) o.rrfK = b.rrf_k;
  if (b.include_text !== undefined) o.includeText = b.include_text;
  if (b.filter !== undefined) o.filter = b.filter;
  if (b.highlights !== undefined) o.highlights = typeof b.highlights === 'boolean' ? b.highlights : highlightOptionsFromBody(b.highlights);
  const rewrite = rewriteFromBody(b.rewrite, serverSynonyms);
  if (rewrite !== undefined) o.rewrite = rewrite;
  // Read by a cluster's ClusterIndex only (cluster-index.ts ClusterSearchOptions).
  if (b.min_sequences !== undefined) (o as SearchOptions & { minSequences?: { shard: number; sequence: number }[] }).minSequences = b.min_sequences.map((s) => ({ shard: s.shard, sequence: s.sequence }));
  return o;
}

function highlightOptionsFromBody(h: HighlightsBody): HighlightOptions {
  const o: HighlightOptions = {};
  if (h.snippet_chars !== undefined) o.snippetChars = h.snippet_chars;
  if (h.pre_tag !== undefined) o.preTag = h.pre_tag;
  if (h.post_tag !== undefined) o.postTag = h.post_tag;
  if (h.escape !== undefined) o.escape = h.escape;
  return o;
}

/**
 * The document tokens a pipeline request's cross stages will encode, for admission's token budget
 * (request-cost.ts estimatePipelineTokens): summed over its queries (a blank one runs no stage), on
 * the index's document count and mean passage length, each pair cut at the cross-encoder's window.
 * 0 for a spec or cross_encoder that runPipelines refuses (it reports them, in its own order).
 */
function pipelineTokens(engine: Engine, entry: IndexEntry, queries: readonly string[], spec: string, crossEncoder: string | undefined): number {
  let stages: PipelineStage[];
  let maxPairTokens: number | undefined;
  try {
    stages = parsePipeline(spec);
    if (!stages.some((st) => st.stage === 'cross')) return 0;
    maxPairTokens = engine.crossEncoder(crossEncoder).scorer.maxLength;
  } catch {
    return 0;
  }
  const counts = entry.index.manifest.counts;
  const basis = { documents: counts.documents, meanPassageTokens: counts.passages > 0 ? counts.tokens / counts.passages : 0, maxPairTokens };
  let sum = 0;
  for (const q of queries) if (unsearchable(q, 0) !== 'empty-query') sum += estimatePipelineTokens(stages, q, basis);
  return sum;
}

/**
 * Each query through a staged pipeline on the full index (`SearchPipeline`; on a coordinator, the
 * cluster's pipeline index), the cross stage scored by a served cross-encoder whose circuit breaker
 * is shared by every request.
 */
async function runPipelines(engine: Engine, entry: IndexEntry, queries: string[], b: SearchBody, signal: AbortSignal): Promise<Record<string, unknown>[]> {
  // A cluster's coordinator: every stage's shard calls answer by the request's deadline and see the writes min_sequences name.
  const deadlineAt = Date.now() + (b.timeout_ms ?? engine.options.timeoutMs);
  const index = engine.pipelineIndex(entry, { deadlineAt, ...(b.min_sequences === undefined ? {} : { minSequences: b.min_sequences }) });
  // As plait search refuses them with --pipeline (option-scope.ts): top_k, mode and exhaustive had been
  // taken and ignored (top_k: 3 with "bm25:100 > late:10" returned 10 hits), as had filter.
  checkPipelineOptions(searchOptionsFromBody(b, null), 'pipeline', HTTP_SPELLING);
  const stages = parsePipeline(b.pipeline!);
  // A page of a pipeline: its last stage runs offset deeper (search-pipeline.ts pagedStages), refused here in the body's spelling.
  if (b.offset !== undefined) pagedStages(stages, b.offset, { offset: 'offset', topK: "the last stage's depth" });
  const hasCross = stages.some((st) => st.stage === 'cross');
  if (!hasCross && b.cross_encoder !== undefined) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `cross_encoder reaches no stage of pipeline "${formatPipeline(stages)}" (stages: ${stages.map((st) => st.stage).join(', ')}): it names the model of a cross stage, e.g. "bm25:100 > cross:10"`,
      name: 'cross_encoder',
      stages: stages.map((st) => st.stage),
      reason: 'noStage',
    });
  }
  const cross = hasCross ? engine.crossEncoder(b.cross_encoder) : undefined;
  const search = stageSearchOptions(searchOptionsFromBody(b, engine.synonyms));
  // A field no stage reads (n_ivf_probe with "bm25:100 > late:10", alpha without a hybrid stage) is
  // refused in the body's spelling (pipeline-settings.ts), as the library and plait search refuse it.
  checkSearchSettingsReachStages(stages, search, HTTP_SPELLING, 'pipeline');
  // The server's ranking model goes to a pipeline with an ltr stage only (the library refuses it elsewhere).
  const hasLtr = stages.some((st) => st.stage === 'ltr');
  if (hasLtr && engine.ltrModel === null) {
    throw new PlaitError('INVALID_ARGUMENT', { message: 'the pipeline has an ltr stage, but this server serves no ranking model (its operator starts plait serve with --ltr-model <file>); leave the ltr stage out', name: 'pipeline', reason: 'noLtrModel' });
  }
  const ltr = hasLtr && engine.ltrModel !== null ? { ltrModel: engine.ltrModel } : {};
  const pipeline = new SearchPipeline(index, stages, { search, ...ltr, ...(cross === undefined ? {} : { crossEncoder: cross.scorer, breakers: { cross: cross.breaker } }) });
  const out: Record<string, unknown>[] = [];
  for (const query of queries) {
    // Its first stage searches the index, which gives a query with no letter or digit no hits; say why.
    const reason = unsearchable(query, 0);
    if (reason === 'empty-query') {
      // A blank query in a batch: nothing to run a stage on (a cross-encoder would refuse it).
      out.push({ query, empty_reason: reason, hits: [], timings: { total_ms: 0 }, cached: false, stages: [], ordered_by: '', degraded: null });
      continue;
    }
    const r = await pipeline.run(query, { includeText: b.include_text === true, signal, ...(b.offset === undefined ? {} : { offset: b.offset }) });
    out.push({
      query,
      ...(reason === null ? {} : { empty_reason: reason }),
      hits: r.hits.map(snakeHit),
      timings: { total_ms: r.totalMs },
      cached: false,
      stages: r.stages.map((st) => ({ stage: st.stage, label: st.label, depth: st.depth, budget_ms: st.budgetMs, candidates: st.candidates, returned: st.returned, ms: st.ms, status: st.status, ...(st.reason === undefined ? {} : { reason: st.reason }) })),
      ordered_by: r.orderedBy,
      degraded: r.degraded,
      ...(r.missingShards === undefined ? {} : { missing_shards: r.missingShards }),
      ...(r.offset === undefined ? {} : { offset: r.offset, total_hits: r.totalHits ?? null }),
      ...(r.rewrites === undefined ? {} : { rewrites: r.rewrites }),
      // The ranking model was trained on another index (LtrModel.indexWarning): said on every answer
      // of an ltr pipeline, not only in the server's start-up log that a client never sees.
      ...(r.warningDetails === undefined ? {} : { warnings: r.warningDetails }),
    });
  }
  return out;
}

export const searchRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;
  app.post<{ Params: { name: string }; Body: SearchBody }>(
    '/v1/indexes/:name/search',
    {
      schema: {
        operationId: 'search',
        summary: 'Search an index with one query or a batch',
        tags: ['search'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        body: SEARCH_BODY_SCHEMA,
        response: { 200: RESPONSE_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const entry = engine.index(request.params.name);
      if ((b.query === undefined) === (b.queries === undefined)) {
        throw new PlaitError('INVALID_ARGUMENT', { message: 'give exactly one of "query" (a string) and "queries" (an array of strings)' });
      }
      const raw = b.queries ?? [b.query!];
      checkBatch(raw.length, SEARCH_DEFAULTS.maxBatchQueries, 'queries', 'query');
      if (raw.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'queries is empty' });
      // One query must have content to rank by (400 EMPTY_TEXT, as rerank and explain); in a batch a blank
      // query is answered as the library answers it — no hits, empty_reason 'empty-query' — and the others are searched.
      const queries = raw.map((q, i) => normaliseQuery(b.queries === undefined ? checkQuery(q, 'query') : checkText(q, `queries[${i}]`)));
      const options = searchOptionsFromBody(b, engine.synonyms);
      // An option this search would take and ignore is refused in the body's spelling (option-scope.ts),
      // as the library refuses it in camelCase: {"mode": "bm25", "n_ivf_probe": 4} had been accepted.
      if (b.pipeline === undefined) checkOptionsApply(options, entry.index.manifest.model.defaultMode, HTTP_SPELLING);
      // A page past the result window, in the body's spelling (the library would say offset + topK).
      if (b.pipeline === undefined) pageDepth(b.offset, b.top_k ?? SEARCH_DEFAULTS.topK, HTTP_PAGE_SPELLING);
      if (b.pipeline !== undefined) {
        const tokens = pipelineTokens(engine, entry, queries, b.pipeline, b.cross_encoder);
        const results = await runWork(engine, reply, { timeoutMs: b.timeout_ms, tokens }, (signal) => runPipelines(engine, entry, queries, b, signal));
        return { index: entry.name, generation: entry.generation, results };
      }
      if (b.cross_encoder !== undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'cross_encoder needs a pipeline with a cross stage, e.g. "bm25:100 > cross:10"', name: 'cross_encoder' });
      const deadlineAt = Date.now() + (b.timeout_ms ?? engine.options.timeoutMs);
      const plaid = plaidUsed(entry, options, b);
      const answers = await runWork(engine, reply, b.timeout_ms, (signal) => engine.search(entry, queries, options, signal, deadlineAt));
      const warned = answers.flatMap((a, i) => (a.result.warnings === undefined ? [] : [i]));
      if (warned.length > 0) engine.metrics.unknownText.inc({ text: 'query', route: '/v1/indexes/:name/search' }, warned.length);
      if (warned.length > 0) void reply.header(TEXT_WARNINGS_HEADER, warned.map((i) => (b.queries === undefined ? 'query' : `queries[${i}]`)).join(', '));
      for (const a of answers) for (const kind of new Set((a.result.rewrites ?? []).map((r) => r.kind))) engine.metrics.queryRewrites.inc({ index: entry.name, kind });
      return {
        index: entry.name,
        generation: entry.generation,
        results: answers.map((a, i) => ({
          query: queries[i]!,
          hits: a.result.hits.map(snakeHit),
          timings: snakeTimings(a.result.timings),
          cached: a.cached,
          ...(a.result.offset === undefined ? {} : { offset: a.result.offset, total_hits: a.result.totalHits ?? null }),
          ...(a.result.rewrites === undefined ? {} : { rewrites: a.result.rewrites }),
          ...(a.result.warnings === undefined && a.result.filterWarnings === undefined ? {} : { warnings: [...(a.result.warnings ?? []).map(snakeWarning), ...(a.result.filterWarnings ?? []).map((w) => snakeKeys(w))] }),
          ...(a.result.emptyReason === undefined ? {} : { empty_reason: a.result.emptyReason }),
          ...(a.result.truncated ? { truncated: true } : {}),
          // No PLAID settings where the rounds show none ran (a selective filter's exact scan); a cluster's coordinator has no rounds.
          ...(plaid === null || a.result.emptyReason !== undefined || a.result.timings.rounds?.some((x) => x.kind === 'plaid') === false ? {} : { plaid }),
          ...(a.result.timings.rounds === undefined ? {} : { rounds: a.result.timings.rounds.map(snakeRound) }),
          ...(a.result.degraded === true ? { degraded: true, missing_shards: a.result.missingShards ?? [] } : {}),
        })),
      };
    },
  );
};

/**
 * The PLAID settings a one-mode search starts from (the resolved options: flags, else the index's
 * calibration or the defaults table), snake_case, with their source; null in bm25 mode and for an
 * exhaustive search. A search that widens (late-ranking.ts) goes on from these.
 */
function plaidUsed(entry: IndexEntry, options: SearchOptions, b: SearchBody): Record<string, number | string | null> | null {
  const r = entry.index.resolveSearch(options);
  if (r.mode === 'bm25' || r.exhaustive) return null;
  const base = options.plaidDefaults === 'colbert' ? 'ColBERT defaults' : entry.index.manifest.calibration !== undefined ? 'calibration' : 'defaults';
  const flagged = b.n_ivf_probe !== undefined || b.centroid_score_threshold !== undefined || b.ndocs !== undefined || b.interaction_scoring !== undefined;
  const out = snakePlaid(r.plaid);
  out['source'] = flagged ? `flags+${base}` : base;
  return out;
}

/** PLAID settings in snake_case; a threshold of −∞ (pruning off, a widening round's) is null, as JSON has no −∞. */
function snakePlaid(p: PlaidParams): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = { n_ivf_probe: p.nIvfProbe, centroid_score_threshold: Number.isFinite(p.centroidScoreThreshold) ? p.centroidScoreThreshold : null, ndocs: p.ndocs };
  if (p.centroidScoreMargin !== undefined) out['centroid_score_margin'] = p.centroidScoreMargin;
  if (p.nIvfProbeTotal !== undefined) out['n_ivf_probe_total'] = p.nIvfProbeTotal;
  if (p.ndocsQueryTokens !== undefined) out['ndocs_query_tokens'] = p.ndocsQueryTokens;
  if (p.nExact !== undefined) out['n_exact'] = p.nExact;
  if (p.interactionScoring !== undefined) out['interaction_scoring'] = p.interactionScoring;
  return out;
}

/** A round of late ranking (SearchTimings.rounds) in snake_case: `plait search --json --timings`'s `rounds`, the same fields. */
function snakeRound(r: LateRound): Record<string, unknown> {
  if (r.kind !== 'plaid') return snakeKeys(r) as Record<string, unknown>;
  const { params, ...rest } = r;
  return { ...(snakeKeys(rest) as Record<string, unknown>), params: snakePlaid(params) };
}
