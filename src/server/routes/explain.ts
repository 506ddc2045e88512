/**
 * `POST /v1/indexes/{name}/explain`: why a document (its best passage) or a passage ranks for a
 * query — per query token the passage token it matched (text and character offsets into the
 * stored passage), similarity, IDF weight and contribution (summing to the late-interaction
 * score), plus BM25 terms and the fused score's parts in hybrid mode. The library's
 * `PlaitIndex.explain`, in snake_case.
 *
 * With `"ltr": true`, the served ranking model's score instead (`plait serve --ltr-model`): each
 * feature's value and contribution and the bias, summing to the score a pipeline's ltr stage after
 * the model's candidates serves — the library's `explainLtr`, `plait explain --ltr-model --json` in snake_case.
 */
import { EXPLAIN_OPTION_SCOPES, HTTP_SPELLING, checkOptionsApply } from '../../search/option-scope.js';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { explainLtr } from '../../ltr/explain-ltr.js';
import { parsePipeline } from '../../pipeline/pipeline-spec.js';
import type { IndexEntry } from '../engine.js';
import { PlaitError } from '../../errors/index.js';
import type { Explanation, ExplainOptions, SearchMode } from '../../index.js';
import { FUSION_LIMITS, SEARCH_DEFAULTS } from '../../config/defaults.js';
import { ERROR_SCHEMA } from '../http-errors.js';
import { runWork } from '../request-work.js';
import { checkQuery } from '../text-checks.js';
import { snakeKeys } from '../snake-keys.js';
import { REWRITES_SCHEMA, REWRITE_BODY_SCHEMA, rewriteFromBody, type RewriteBody } from './search.js';
import { lookupDocId } from '../../indexer/corpus/document-id.js';
import '../fastify-types.js';

interface ExplainBody {
  query: string;
  doc_id?: string | number;
  pid?: number;
  mode?: SearchMode;
  idf_weighting?: boolean;
  fusion?: 'minmax' | 'rrf';
  alpha?: number;
  rrf_k?: number;
  top_k?: number;
  timeout_ms?: number;
  rewrite?: RewriteBody;
  ltr?: boolean;
  candidates?: string;
}

/** Fields of the late/BM25 explanation that an ltr explanation would take and ignore (its candidate pipeline sets them). */
const NOT_WITH_LTR = ['pid', 'mode', 'idf_weighting', 'fusion', 'alpha', 'rrf_k', 'top_k'] as const;

const LTR_EXPLANATION_SCHEMA = {
  type: 'object',
  required: ['query', 'doc_id', 'candidates', 'in_candidates', 'rank', 'score', 'bias', 'features'],
  properties: {
    query: { type: 'string' },
    doc_id: { type: 'string' },
    candidates: { type: 'string', description: 'the candidate pipeline the features were computed over (the model’s unless `candidates` named another)' },
    in_candidates: { type: 'boolean', description: 'false when the candidate pipeline did not return the document: it was added last to the list' },
    rank: { type: 'integer', minimum: 1, description: 'the document’s rank under the model among the candidates' },
    score: { type: 'number', description: 'the ranking model’s score: bias + Σ contributions, as a pipeline’s ltr stage after these candidates scores it' },
    bias: { type: 'number' },
    features: {
      type: 'array',
      description: 'each feature’s value (null: missing) and contribution (per-tree path gains), largest |contribution| first',
      items: {
        type: 'object',
        required: ['name', 'value', 'contribution'],
        properties: { name: { type: 'string' }, value: { type: ['number', 'null'] }, contribution: { type: 'number' } },
      },
    },
  },
} as const;

const TOKEN_SCHEMA = {
  type: 'object',
  properties: { row: { type: 'integer' }, text: { type: 'string' }, role: { type: 'string' }, start: { type: 'integer' }, end: { type: 'integer' } },
} as const;

const EXPLANATION_SCHEMA = {
  type: 'object',
  required: ['query', 'doc_id', 'pid', 'passage', 'late_score', 'tokens'],
  properties: {
    query: { type: 'string' },
    doc_id: { type: 'string' },
    pid: { type: 'integer' },
    passage: { type: 'object', properties: { text: { type: 'string' }, start: { type: 'integer' }, end: { type: 'integer' } } },
    late_score: { type: 'number', description: 'Σ contributions: the late-interaction score search gives this passage' },
    idf_weighting: { type: 'boolean' },
    tokens: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          query: TOKEN_SCHEMA,
          match: { anyOf: [TOKEN_SCHEMA, { type: 'null' }] },
          similarity: { type: 'number' },
          weight: { type: 'number' },
          contribution: { type: 'number' },
        },
      },
    },
    bm25: { type: ['object', 'null'], additionalProperties: true },
    fusion: { type: ['object', 'null'], additionalProperties: true },
    rewrites: REWRITES_SCHEMA,
    truncated: { type: 'boolean', description: 'true when the query had more tokens than the model keeps and only its first were explained, as search searches only them; absent otherwise' },
  },
} as const;

export const explainRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;
  app.post<{ Params: { name: string }; Body: ExplainBody }>(
    '/v1/indexes/:name/explain',
    {
      schema: {
        operationId: 'explain',
        summary: 'Token-level explanation of a document’s (or passage’s) late-interaction score',
        tags: ['search'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['query'],
          properties: {
            query: { type: 'string' },
            doc_id: { type: ['string', 'number'], description: 'explain this document’s best passage (give doc_id or pid): a string, or an integer read as its decimal text as a write\'s doc_id is' },
            pid: { type: 'integer', minimum: 0, description: 'explain this passage' },
            mode: { type: 'string', enum: ['late', 'bm25', 'hybrid'], description: 'hybrid and bm25 add the BM25 terms; hybrid the fused parts' },
            idf_weighting: { type: 'boolean' },
            fusion: { type: 'string', enum: ['minmax', 'rrf'] },
            alpha: { type: 'number', minimum: 0, maximum: 1 },
            rrf_k: { type: 'integer', minimum: 1, maximum: FUSION_LIMITS.maxRrfK },
            top_k: { type: 'integer', minimum: 1, maximum: SEARCH_DEFAULTS.maxTopK, description: 'hybrid depth within which the fused parts are reported' },
            timeout_ms: { type: 'integer', minimum: 1 },
            rewrite: REWRITE_BODY_SCHEMA,
            ltr: { type: 'boolean', description: 'explain the served ranking model’s score (plait serve --ltr-model) instead: features, contributions and bias; with doc_id, and none of pid, mode, idf_weighting, fusion, alpha, rrf_k, top_k' },
            candidates: { type: 'string', description: 'with ltr: the candidate pipeline the features are computed over (default: the one the model was trained on), as plait explain --pipeline' },
          },
        },
        response: { 200: { anyOf: [EXPLANATION_SCHEMA, LTR_EXPLANATION_SCHEMA] }, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const entry = engine.index(request.params.name);
      // A cluster's coordinator explains through its ClusterIndex (the document's shard), with the request's deadline
      // and its abort signal (a client that hangs up ends the shard rounds, as a search's).
      const index: Explainer = explainer(entry.index) ?? engine.plaitIndex(entry);
      const deadlineAt = Date.now() + (b.timeout_ms ?? engine.options.timeoutMs);
      if ((b.doc_id === undefined) === (b.pid === undefined)) {
        throw new PlaitError('INVALID_ARGUMENT', { message: 'give exactly one of "doc_id" (a string) and "pid" (an integer)' });
      }
      const query = checkQuery(b.query, 'query');
      if (b.ltr === true) return explainLtrScore(engine, entry, b, query, reply);
      if (b.candidates !== undefined) {
        throw new PlaitError('INVALID_ARGUMENT', { message: 'candidates names the candidate pipeline of an ltr explanation: give it with "ltr": true', name: 'candidates' });
      }
      const o: ExplainOptions = {};
      if (b.mode !== undefined) o.mode = b.mode;
      if (b.idf_weighting !== undefined) o.idfWeighting = b.idf_weighting;
      if (b.fusion !== undefined) o.fusion = b.fusion;
      if (b.alpha !== undefined) o.alpha = b.alpha;
      if (b.rrf_k !== undefined) o.rrfK = b.rrf_k;
      if (b.top_k !== undefined) o.topK = b.top_k;
      const rewrite = rewriteFromBody(b.rewrite, engine.synonyms);
      if (rewrite !== undefined) o.rewrite = rewrite;
      // An option this explanation would take and ignore is refused in the body's spelling (option-scope.ts).
      checkOptionsApply(o, entry.index.manifest.model.defaultMode, HTTP_SPELLING, EXPLAIN_OPTION_SCOPES);
      // An integer doc_id is its decimal text, as the writes store it (document-id.ts lookupDocId).
      const target = b.doc_id !== undefined ? lookupDocId(b.doc_id, 'doc_id') : { pid: b.pid! };
      const ex = await runWork(engine, reply, b.timeout_ms, (signal) => index.explain(query, target, { ...o, deadlineAt, signal }));
      return snakeKeys(ex);
    },
  );
};

/** What the route needs of an index: PlaitIndex.explain, or a cluster's (deadlineAt: Date.now() ms the answer is due). */
interface Explainer {
  explain(query: string, target: string | { pid: number }, options: ExplainOptions & { deadlineAt?: number }): Promise<Explanation>;
}

/** The served index itself when it can explain (a PlaitIndex, a cluster's ClusterIndex); null for a search-only wrapper. */
function explainer(index: object): Explainer | null {
  return typeof (index as Partial<Explainer>).explain === 'function' ? (index as Explainer) : null;
}


/**
 * The served ranking model's explanation of one document (`"ltr": true`): explainLtr over the
 * model's candidate pipeline (or `candidates`), with the server's synonyms or the body's rewrite as
 * a served pipeline's stages take them, cancelled with the request.
 * On a cluster's coordinator the same, over the cluster (explain-ltr.ts): equal to one index's.
 * @throws PlaitError INVALID_ARGUMENT (no served model; pid or a late/BM25 field beside ltr; a
 *   search-only wrapper), DOCUMENT_NOT_FOUND, CLUSTER_UNAVAILABLE (a shard missing), the candidate pipeline's errors.
 */
async function explainLtrScore(engine: FastifyInstance['engine'], entry: IndexEntry, b: ExplainBody, query: string, reply: FastifyReply): Promise<Record<string, unknown>> {
  const model = engine.ltrModel;
  if (model === null) {
    throw new PlaitError('INVALID_ARGUMENT', { message: 'ltr explains the served ranking model, but this server serves none (its operator starts plait serve with --ltr-model <file>)', name: 'ltr', reason: 'noLtrModel' });
  }
  const ignored = NOT_WITH_LTR.find((k) => b[k] !== undefined);
  if (ignored !== undefined) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `${ignored} does not apply with "ltr": true (an ltr explanation explains a doc_id over its candidate pipeline, which sets the rest; name another with "candidates")`, name: ignored });
  }
  if (b.doc_id === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'ltr explains a document: give "doc_id"', name: 'doc_id' });
  // One index, or a cluster coordinator's bound to this request's deadline (features from the documents' shards, the model here);
  // a search-only wrapper is refused (INVALID_ARGUMENT). Before, a coordinator was refused too.
  const index = engine.pipelineIndex(entry, { deadlineAt: Date.now() + (b.timeout_ms ?? engine.options.timeoutMs) });
  const docId = lookupDocId(b.doc_id, 'doc_id');
  const rewrite = rewriteFromBody(b.rewrite, engine.synonyms);
  const stages = b.candidates ?? model.file.candidates;
  const cross = stages !== undefined && parsePipeline(stages).some((st) => st.stage === 'cross') ? engine.crossEncoder(undefined) : undefined;
  const ex = await runWork(engine, reply, b.timeout_ms, (signal) =>
    explainLtr(index, model, query, docId, {
      signal,
      ...(b.candidates === undefined ? {} : { candidates: b.candidates }),
      ...(rewrite === undefined ? {} : { search: { rewrite } }),
      ...(cross === undefined ? {} : { crossEncoder: cross.scorer, breakers: { cross: cross.breaker } }),
    }),
  );
  return snakeKeys(ex) as Record<string, unknown>;
}
