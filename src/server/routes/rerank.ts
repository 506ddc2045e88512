/**
 * Rerank routes: Cohere's v1 and v2 shapes (Jina's rerank shape is Cohere v1's: `/v1/rerank`
 * answers both), and Hugging Face TEI's `/rerank`, so applications written against those clients
 * work unchanged. All call the library's Reranker (its document-embedding cache included) through
 * the engine, or a served cross-encoder that `model` names.
 *
 * The contract is strict about what is used and lenient about the rest (lenient-body.ts): unknown
 * fields are ignored and named back (the `x-plait-ignored-fields` header, Cohere's
 * `meta.warnings`), null is absent for every optional field, a wrong type for a used field is a 400.
 * What each field does (README, "Rerank fields"):
 *  - `top_n`: results returned, best first (default all);
 *  - `max_tokens_per_doc` (Cohere v2, default 4096 there as Cohere's; none on v1): each document is cut to that many content tokens before it
 *    is split into passages; `max_chunks_per_doc` (Cohere v1): at most that many passages (the
 *    first) of each document are scored. Without them the whole document is scored, best passage;
 *  - `priority` (Cohere v2): queue order under load, lower first (admission.ts);
 *  - `return_documents` / `rank_fields` (v1 only; on v2, as `max_chunks_per_doc`, unknown fields:
 *    Cohere v2 dropped them): Cohere's meaning; `return_documents` defaults to Cohere's false, or
 *    to Jina's true when `model` names a Jina model (isJinaModel: the two share the path);
 *    an object document without `text` and without `rank_fields` is ranked on all its fields
 *    (Together's default, which @ai-sdk/togetherai relies on);
 *  - `usage` in the answer (Jina's and Together's field; @ai-sdk/togetherai's response schema
 *    requires it): the tokens the reranker read, query + documents as Jina counts them
 *    (Reranker.rerankWithUsage: content tokens, from the tokenization that splits each document
 *    anyway, so no second tokenization; cached passages count). A served cross-encoder reports no
 *    count: there it is admission's estimate from the texts' length (request-cost.ts). Not billed;
 *  - TEI: `raw_scores: false` (TEI's default) answers sigmoid(score) in (0, 1) as TEI does, the raw
 *    score otherwise; `truncate: true` cuts each text to the model's window (`truncation_direction`
 *    "right", TEI's default, keeps the start; "left" keeps the end) — without it plait scores a
 *    text over the window on its best passage, where TEI cuts it (its server's --auto-truncate, on
 *    by default) or, with `truncate: false`, refuses it (422). Its errors are TEI's
 *    `{"error": "<message>", "error_type": "<kind>"}` plus plait's `message`, `code`, `details` and
 *    `request_id` (http-errors.ts teiErrorBody), at TEI's status for each kind (teiStatus: a shed
 *    request 429, a refused field or too many texts 422). Empty inputs as TEI: `texts: []` is 400
 *    Empty; an empty query ranks every text at the empty score (emptyQueryRanks).
 *
 * `relevance_score` is the model's score: a ColBERT MaxSim sum (higher is better) or a
 * cross-encoder's logit, so it orders exactly like the library's. The `model` field selects a
 * served reranker or cross-encoder by name; any other name (Cohere's own model names) uses the
 * default one, so a Cohere client needs no change.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { PlaitError } from '../../errors/index.js';
import { SERVER_DEFAULTS } from '../../config/defaults.js';
import { COHERE_ERROR_SCHEMA, TEI_ERROR_SCHEMA } from '../http-errors.js';
import { runWork } from '../request-work.js';
import { estimateCrossTokens, estimateTokens } from '../request-cost.js';
import { documentText, missingRankFields } from '../../rerank/field-lines.js';
import { TEXT_WARNINGS_HEADER, checkBatch, checkQuery, checkText } from '../text-checks.js';
import type { RerankOptions, RerankResult } from '../../index.js';
import type { TextWarning } from '../../encoder/unknown-tokens.js';
import type { Engine } from '../engine.js';
import '../fastify-types.js';

type CohereDocument = string | Record<string, unknown>;

interface CohereBody {
  model?: string;
  query: string;
  documents: CohereDocument[];
  top_n?: number;
  return_documents?: boolean;
  rank_fields?: string[];
  max_chunks_per_doc?: number;
  max_tokens_per_doc?: number;
  priority?: number;
  timeout_ms?: number;
}

interface TeiBody {
  query: string;
  texts: string[];
  raw_scores?: boolean;
  return_text?: boolean;
  truncate?: boolean;
  truncation_direction?: 'Left' | 'Right' | 'left' | 'right';
  timeout_ms?: number;
}

const TIMEOUT_MS = { type: 'integer', minimum: 1, description: 'deadline for this request in ms (plait extension; default: the server deadline)' } as const;

/**
 * Cohere v1's fields that v2 dropped (cohere-ai's V2RerankRequest has none of them): on /v2/rerank
 * they are unknown fields, ignored and named back in `meta.warnings`, as any other (v2 had
 * honoured them, so `return_documents: true` there echoed documents Cohere v2 never returns).
 */
const V1_ONLY_FIELDS = {
  return_documents: { type: 'boolean', description: 'echo each document in the results as {"text": …} (or the object sent); default false (Cohere\'s), true when `model` names a Jina model ("jina-…", Jina\'s default)' },
  rank_fields: { type: 'array', items: { type: 'string' }, description: 'for object documents: the fields ranked on, as "field: value" lines (default: text)' },
  max_chunks_per_doc: { type: 'integer', minimum: 1, description: 'score at most this many passages of each document, its first (default: all; a document\'s score is its best passage)' },
} as const;

const cohereBody = (version: 1 | 2) =>
  ({
    type: 'object',
    required: version === 2 ? ['model', 'query', 'documents'] : ['query', 'documents'],
    additionalProperties: false,
    properties: {
      model: { type: 'string', description: 'a served model name selects it; any other name (e.g. Cohere\'s) uses the default reranker' },
      query: { type: 'string' },
      documents: { type: 'array', items: { type: ['string', 'object'] }, description: 'strings, or objects ranked on their rank_fields, else their "text" field, else all their fields (Together\'s default); at most maxRerankDocuments (413 beyond)' },
      top_n: { type: 'integer', minimum: 1, description: 'results returned, best first (default: all)' },
      ...(version === 1 ? V1_ONLY_FIELDS : {}),
      max_tokens_per_doc: { type: 'integer', minimum: 1, description: version === 2 ? 'cut each document to this many content tokens before splitting it into passages (default 4096, Cohere v2\'s)' : 'cut each document to this many content tokens before splitting it into passages (default: no cut)' },
      priority: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'queue order under load: lower first, 0 (the default) the most urgent; a full queue drops the least urgent' },
      timeout_ms: TIMEOUT_MS,
    },
  }) as const;

const cohereResponse = {
  type: 'object',
  required: ['id', 'results', 'meta'],
  properties: {
    id: { type: 'string' },
    model: { type: 'string', description: 'the reranker that answered (Jina\'s response field)' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'relevance_score'],
        properties: {
          index: { type: 'integer', description: 'position of the document in the request' },
          relevance_score: { type: 'number', description: 'the model\'s score: ColBERT MaxSim, or the cross-encoder\'s logit (higher is more relevant)' },
          document: { type: 'object', additionalProperties: true },
        },
      },
    },
    usage: {
      type: 'object',
      description: 'the tokens the reranker read (Jina\'s and Together\'s field; their clients require it): the query\'s and the documents\' content tokens as the model tokenized them, after max_tokens_per_doc and max_chunks_per_doc, overlapping passages counted in each (a served cross-encoder: estimated from the texts\' length, 3.5 characters a token); prompt_tokens = total_tokens, completion_tokens 0; not billed',
      properties: { prompt_tokens: { type: 'integer' }, completion_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } },
    },
    meta: {
      type: 'object',
      properties: {
        api_version: { type: 'object', properties: { version: { type: 'string' } } },
        billed_units: { type: 'object', properties: { search_units: { type: 'integer' } } },
        model: { type: 'string', description: 'the reranker that answered (plait extension)' },
        warnings: { type: 'array', items: { type: 'string' }, description: 'ignored request fields, documents holding none of the rank_fields, and texts most of whose tokens the model does not know' },
      },
    },
  },
} as const;

/** The distinct unknown-token warnings of `results` (the query's once), counted in /metrics and named in a header. */
function textWarnings(engine: Engine, reply: FastifyReply, route: string, results: readonly RerankResult[]): TextWarning[] {
  const seen = new Map<string, TextWarning>();
  for (const r of results) for (const w of r.warnings ?? []) seen.set(w.text === 'query' ? 'query' : `document ${w.index}`, w);
  for (const w of seen.values()) engine.metrics.unknownText.inc({ text: w.text, route });
  if (seen.size > 0) void reply.header(TEXT_WARNINGS_HEADER, [...seen.keys()].join(', '));
  return [...seen.values()];
}

/**
 * TEI's answer to an empty (or blank) query: TEI scores each (query, text) pair and refuses only a
 * pair with both sides empty (400 Empty, "`inputs` cannot be empty", for the whole request);
 * plait had refused every empty query (400 EMPTY_TEXT). A query with no content matches nothing:
 * every text scores the empty MaxSim sum, 0 (sigmoid 0.5 unless raw_scores), in the texts' order,
 * and nothing is encoded. A lone surrogate in it is still refused (checkText).
 */
function emptyQueryRanks(body: TeiBody): { index: number; score: number; text?: string }[] {
  checkText(body.query, 'query');
  if (body.query.length === 0) {
    const i = body.texts.indexOf('');
    if (i >= 0) throw new PlaitError('EMPTY_TEXT', { message: `\`inputs\` cannot be empty (query and texts[${i}] are both empty)`, field: `texts[${i}]` });
  }
  const score = body.raw_scores === true ? 0 : sigmoid(0);
  return body.texts.map((text, index) => (body.return_text === true ? { index, score, text } : { index, score }));
}

/**
 * Whether `model` names one of Jina's rerankers ("jina-reranker-v2-base-multilingual",
 * "jina-colbert-v2", …: every Jina model id starts "jina-"). Jina's and Cohere's v1 share
 * POST /v1/rerank, and only the model tells their clients apart: a Jina client leaving
 * `return_documents` out gets the documents, as Jina's API returns them by default.
 */
export function isJinaModel(model: string | undefined): boolean {
  return model !== undefined && /^jina-/i.test(model.trim());
}

/** Cohere's `meta.billed_units.search_units`: one a query of up to SERVER_DEFAULTS.cohereSearchUnitDocuments documents, at least 1. */
export function searchUnits(documents: number): number {
  return Math.max(1, Math.ceil(documents / SERVER_DEFAULTS.cohereSearchUnitDocuments));
}

/** TEI's normalised score: the logistic sigmoid of the raw score, in (0, 1), order-preserving. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export const rerankRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;

  const cohere = (version: 1 | 2) => async (body: CohereBody, ignored: readonly string[], reply: FastifyReply) => {
    checkQuery(body.query, 'query');
    checkBatch(body.documents.length, engine.options.maxRerankDocuments, 'documents', 'query');
    // The library's rule and warning (rerank/field-lines.ts): `rerankDocuments` ranks and warns alike.
    const texts = body.documents.map((d, i) => documentText(d, i, body.rank_fields));
    const missing = missingRankFields(body.documents, body.rank_fields);
    // Cohere v2 cuts each document to 4,096 tokens unless told otherwise; v1 and Jina score it whole.
    const maxTokens = body.max_tokens_per_doc ?? (version === 2 ? SERVER_DEFAULTS.cohereV2MaxTokensPerDoc : undefined);
    const options: RerankOptions = { topK: body.top_n, maxTokensPerDocument: maxTokens, maxPassagesPerDocument: body.max_chunks_per_doc };
    // A cross-encoder scores (query, document) pairs: the query once per document, each pair cut at its window.
    const cross = engine.rerankCrossEncoder(body.model);
    const tokens = cross !== undefined ? estimateCrossTokens(body.query, texts, cross.scorer.maxLength) : estimateTokens([body.query]) + estimateTokens(texts, maxTokens);
    const { results, model, usage } = await runWork(engine, reply, { timeoutMs: body.timeout_ms, priority: body.priority, tokens }, (signal) => engine.rerank(body.model, body.query, texts, options, signal));
    // Jina's API returns the documents unless told not to; Cohere's does not unless told to (v1 only).
    const returnDocuments = body.return_documents ?? (version === 1 && isJinaModel(body.model));
    // The tokens the reranker read (query + documents, Jina's count); a cross-encoder reports none: admission's estimate.
    const used = usage === undefined ? tokens : usage.queryTokens + usage.documentTokens;
    const warnings = [
      ...ignored.map((f) => `ignored unknown field ${JSON.stringify(f.length > 100 ? `${f.slice(0, 100)}…` : f)}`),
      ...(missing === null ? [] : [missing.message]),
      ...textWarnings(engine, reply, `/v${version}/rerank`, results).map((w) => w.message),
    ];
    return {
      id: randomUUID(),
      model,
      results: results.map((r: RerankResult) => {
        const out: { index: number; relevance_score: number; document?: Record<string, unknown> } = { index: r.index, relevance_score: r.score };
        if (returnDocuments) {
          const d = body.documents[r.index]!;
          out.document = typeof d === 'string' ? { text: d } : d;
        }
        return out;
      }),
      usage: { prompt_tokens: used, completion_tokens: 0, total_tokens: used },
      meta: { api_version: { version: String(version) }, billed_units: { search_units: searchUnits(body.documents.length) }, model, ...(warnings.length === 0 ? {} : { warnings }) },
    };
  };

  for (const version of [1, 2] as const) {
    const handle = cohere(version);
    app.post<{ Body: CohereBody }>(
      `/v${version}/rerank`,
      {
        config: { lenient: true, errorShape: 'cohere' },
        schema: {
          operationId: `rerankV${version}`,
          summary: version === 1
            ? 'Rerank documents for a query (Cohere v1 and Jina request and response)'
            : 'Rerank documents for a query (Cohere v2 request and response)',
          tags: ['rerank'],
          body: cohereBody(version),
          response: { 200: cohereResponse, '4xx': COHERE_ERROR_SCHEMA, '5xx': COHERE_ERROR_SCHEMA },
        },
      },
      async (request, reply) => handle(request.body, request.ignoredFields ?? [], reply),
    );
  }

  app.post<{ Body: TeiBody }>(
    '/rerank',
    {
      // TEI's error shape ({"error": "<message>", "error_type": "Validation", …}, http-errors.ts
      // teiErrorBody), with Cohere's top-level `message` in it.
      config: { lenient: true, errorShape: 'tei' },
      // A Cohere body (`documents`, no `texts`: a Cohere or Together client whose base URL lacks /v2
      // or /v1) names the routes it was meant for, before the schema refuses it as "must have
      // required property 'texts'" (@ai-sdk/cohere showed "Bad Request"), in Cohere's error shape,
      // which that client reads (@ai-sdk/togetherai reads `error.message`, an object's).
      preValidation: async (request) => {
        const body = request.body as unknown as Record<string, unknown> | null;
        if (body !== null && typeof body === 'object' && body['texts'] === undefined && (request.ignoredFields ?? []).includes('documents')) {
          request.errorShape = 'cohere';
          throw new PlaitError('INVALID_ARGUMENT', {
            message: 'POST /rerank is TEI\'s route and takes "texts"; a body with "documents" is Cohere\'s: POST /v1/rerank or /v2/rerank (@ai-sdk/cohere: baseURL <server>/v2; @ai-sdk/togetherai: baseURL <server>/v1)',
            field: 'body',
          });
        }
      },
      schema: {
        operationId: 'rerankTei',
        summary: 'Rerank texts for a query (Hugging Face text-embeddings-inference shape)',
        tags: ['rerank'],
        body: {
          type: 'object',
          required: ['query', 'texts'],
          additionalProperties: false,
          properties: {
            query: { type: 'string' },
            texts: { type: 'array', items: { type: 'string' } },
            raw_scores: { type: 'boolean', description: 'false (the default): sigmoid(score) in (0, 1), as TEI; true: the model\'s raw score (ColBERT MaxSim, a cross-encoder\'s logit)' },
            return_text: { type: 'boolean' },
            truncate: { type: 'boolean', description: 'true: cut each text to the model\'s window (see truncation_direction); false (the default): a long text is scored on its best passage (TEI cuts it by default, --auto-truncate, and refuses it with false)' },
            truncation_direction: { type: 'string', enum: ['Left', 'Right', 'left', 'right'], description: 'with truncate: "Right" (the default) cuts the end, keeping the start; "Left" keeps the end' },
            timeout_ms: TIMEOUT_MS,
          },
        },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['index', 'score'],
              properties: { index: { type: 'integer' }, score: { type: 'number' }, text: { type: 'string' } },
            },
          },
          // A Cohere body's 400 is Cohere's shape (preValidation above): either, TEI's first.
          '4xx': { anyOf: [TEI_ERROR_SCHEMA, COHERE_ERROR_SCHEMA] },
          '5xx': TEI_ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      // TEI refuses an empty batch (400 Empty, "`texts` cannot be empty"); plait had answered 200 [].
      if (body.texts.length === 0) throw new PlaitError('EMPTY_TEXT', { message: '`texts` cannot be empty', field: 'texts' });
      checkBatch(body.texts.length, engine.options.maxRerankDocuments, 'texts', 'query');
      body.texts.forEach((t, i) => checkText(t, `texts[${i}]`));
      if (body.query.trim().length === 0) return emptyQueryRanks(body);
      checkQuery(body.query, 'query');
      const options: RerankOptions =
        body.truncate === true
          ? { maxTokensPerDocument: engine.reranker(undefined).reranker.encoder.info.documentWindow, truncationDirection: body.truncation_direction?.toLowerCase() === 'left' ? 'left' : 'right' }
          : {};
      // With truncate each text is cut to the model's window: that many tokens at most are encoded.
      const tokens = estimateTokens([body.query]) + estimateTokens(body.texts, options.maxTokensPerDocument);
      const { results } = await runWork(engine, reply, { timeoutMs: body.timeout_ms, tokens }, (signal) => engine.rerank(undefined, body.query, body.texts, options, signal));
      textWarnings(engine, reply, '/rerank', results);
      return results.map((r) => {
        const score = body.raw_scores === true ? r.score : sigmoid(r.score);
        return body.return_text === true ? { index: r.index, score, text: body.texts[r.index]! } : { index: r.index, score };
      });
    },
  );
};
