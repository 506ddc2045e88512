/**
 * Rerank routes: Cohere's v1 and v2 shapes (so applications written against Cohere's client
 * libraries work unchanged) and Hugging Face TEI's `/rerank`. All three call the library's
 * Reranker (its document-embedding cache included) through the engine.
 *
 * Scores are ColBERT MaxSim sums (higher is better; not squashed into [0, 1]: a sigmoid of a MaxSim
 * sum carries no calibrated meaning), so `relevance_score` orders exactly like the library's score.
 * The `model` field selects a served reranker by name; any other name (Cohere's own model names)
 * uses the default one, so a Cohere client needs no change. It is the seam where a cross-encoder
 * will be selected too.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { PlaitError } from '../../errors/index.js';
import { ERROR_SCHEMA } from '../http-errors.js';
import { runWork } from '../request-work.js';
import { checkBatch, checkQuery, checkText } from '../text-checks.js';
import type { RerankResult } from '../../index.js';
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

const COHERE_COMMON = {
  model: { type: 'string', description: 'a served model name selects it; any other name (e.g. Cohere\'s) uses the default reranker' },
  query: { type: 'string' },
  top_n: { type: 'integer', minimum: 1, description: 'results returned (default: all)' },
  return_documents: { type: 'boolean', description: 'echo each document in the results' },
  rank_fields: { type: 'array', items: { type: 'string' }, description: 'for object documents: the fields ranked on, as "field: value" lines (default: text)' },
  max_chunks_per_doc: { type: 'integer', minimum: 1, description: 'accepted for compatibility; documents are scored on their first window' },
  timeout_ms: TIMEOUT_MS,
} as const;

const cohereBody = (version: 1 | 2) =>
  ({
    type: 'object',
    required: version === 2 ? ['model', 'query', 'documents'] : ['query', 'documents'],
    additionalProperties: false,
    properties: {
      ...COHERE_COMMON,
      documents: { type: 'array', items: { type: ['string', 'object'] }, description: 'strings, or objects with a "text" field (or the rank_fields); at most maxRerankDocuments (413 beyond)' },
      max_tokens_per_doc: { type: 'integer', minimum: 1, description: 'accepted for compatibility; documents are cut at the model\'s window' },
    },
  }) as const;

const cohereResponse = {
  type: 'object',
  required: ['id', 'results', 'meta'],
  properties: {
    id: { type: 'string' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'relevance_score'],
        properties: {
          index: { type: 'integer', description: 'position of the document in the request' },
          relevance_score: { type: 'number', description: 'ColBERT MaxSim score (higher is more relevant)' },
          document: { type: 'object', additionalProperties: true },
        },
      },
    },
    meta: {
      type: 'object',
      properties: {
        api_version: { type: 'object', properties: { version: { type: 'string' } } },
        billed_units: { type: 'object', properties: { search_units: { type: 'integer' } } },
        model: { type: 'string', description: 'the reranker that answered (plait extension)' },
      },
    },
  },
} as const;

const errors = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA };

/** The text a Cohere document is ranked on. */
function documentText(d: CohereDocument, i: number, rankFields: string[] | undefined): string {
  if (typeof d === 'string') return checkText(d, `documents[${i}]`);
  if (rankFields !== undefined && rankFields.length > 0) {
    const lines = rankFields.filter((f) => d[f] !== undefined).map((f) => `${f}: ${typeof d[f] === 'string' ? (d[f] as string) : JSON.stringify(d[f])}`);
    return checkText(lines.join('\n'), `documents[${i}]`);
  }
  if (typeof d.text !== 'string') throw new PlaitError('INVALID_INPUT', { message: `documents[${i}] is an object without a string "text" field (or use rank_fields)`, index: i });
  return checkText(d.text, `documents[${i}]`);
}

export const rerankRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;

  const cohere = (version: 1 | 2) => async (body: CohereBody, reply: Parameters<typeof runWork>[1]) => {
    checkQuery(body.query, 'query');
    checkBatch(body.documents.length, engine.options.maxRerankDocuments, 'documents');
    const texts = body.documents.map((d, i) => documentText(d, i, body.rank_fields));
    const { results, model } = await runWork(engine, reply, body.timeout_ms, (signal) => engine.rerank(body.model, body.query, texts, body.top_n, signal));
    return {
      id: randomUUID(),
      results: results.map((r: RerankResult) => {
        const out: { index: number; relevance_score: number; document?: Record<string, unknown> } = { index: r.index, relevance_score: r.score };
        if (body.return_documents === true) {
          const d = body.documents[r.index]!;
          out.document = typeof d === 'string' ? { text: d } : d;
        }
        return out;
      }),
      meta: { api_version: { version: String(version) }, billed_units: { search_units: 1 }, model },
    };
  };

  for (const version of [1, 2] as const) {
    const handle = cohere(version);
    app.post<{ Body: CohereBody }>(
      `/v${version}/rerank`,
      {
        schema: {
          summary: `Rerank documents for a query (Cohere v${version} request and response)`,
          tags: ['rerank'],
          body: cohereBody(version),
          response: { 200: cohereResponse, ...errors },
        },
      },
      async (request, reply) => handle(request.body, reply),
    );
  }

  app.post<{ Body: TeiBody }>(
    '/rerank',
    {
      schema: {
        summary: 'Rerank texts for a query (Hugging Face text-embeddings-inference shape)',
        tags: ['rerank'],
        body: {
          type: 'object',
          required: ['query', 'texts'],
          additionalProperties: false,
          properties: {
            query: { type: 'string' },
            texts: { type: 'array', items: { type: 'string' } },
            raw_scores: { type: 'boolean', description: 'accepted for compatibility: scores are MaxSim sums either way' },
            return_text: { type: 'boolean' },
            truncate: { type: 'boolean', description: 'accepted for compatibility: texts are cut at the model\'s window' },
            truncation_direction: { type: 'string', enum: ['Left', 'Right', 'left', 'right'] },
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
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      checkQuery(body.query, 'query');
      checkBatch(body.texts.length, engine.options.maxRerankDocuments, 'texts');
      body.texts.forEach((t, i) => checkText(t, `texts[${i}]`));
      const { results } = await runWork(engine, reply, body.timeout_ms, (signal) => engine.rerank(undefined, body.query, body.texts, undefined, signal));
      return results.map((r) => (body.return_text === true ? { index: r.index, score: r.score, text: body.texts[r.index]! } : { index: r.index, score: r.score }));
    },
  );
};
