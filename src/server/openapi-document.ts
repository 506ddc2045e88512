/**
 * GET /openapi.json: @fastify/swagger's options. The document is generated from the route schemas
 * (src/server/routes/*.ts) and says what the server does, as the tools that read it take it:
 * clients generated from it (openapi-typescript, openapi-generator: method names from each route's
 * `operationId`) and gateways that validate requests against it before they reach plait.
 *
 * The request bodies it declares are the ones the server accepts, which is wider than the route
 * schemas that validate them after lenient-body.ts relaxed the body: an optional top-level field
 * sent as `null` counts as absent on every route (the Cohere SDKs send `"top_n": null`), and on the
 * routes that imitate another API (`config.lenient`: Cohere, Jina, TEI) an unknown top-level field
 * is ignored and named in `x-plait-ignored-fields`. The route schemas had gone into the document
 * as they are — `additionalProperties: false`, no null — so a gateway validating requests by it
 * refused LangChain's and the Cohere SDKs' calls that plait answers.
 *
 * The response headers plait sets are declared on the responses that carry them (responseHeaders):
 * the request id on every answer, Retry-After on a shed request, the ignored and unknown-text
 * warnings on the routes that send them.
 *
 * Checked by test/openapi.test.ts: @readme/openapi-parser and @redocly/openapi-core on the
 * document, ajv on every route family's answers and accepted requests, openapi-typescript's client.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { IGNORED_FIELDS_HEADER } from './lenient-body.js';
import type { ResolvedServerOptions } from './options.js';
import { TEXT_WARNINGS_HEADER } from './text-checks.js';

interface BodySchema {
  type?: unknown;
  properties?: Record<string, Record<string, unknown>>;
  required?: readonly string[];
  additionalProperties?: unknown;
  description?: string;
}

/**
 * A body schema as the server accepts it (lenient-body.ts relaxBody): each optional top-level
 * property also takes null (a `type` gains "null", which @fastify/swagger writes as 3.0's
 * `nullable`, and an `enum` null; an `anyOf` gains a null member); with `lenient`, unknown top-level properties are
 * allowed. `body` is not changed; a schema without properties comes back as it is.
 */
export function documentedBody(body: BodySchema, lenient: boolean): BodySchema {
  if (body.properties === undefined) return body;
  const required = new Set(body.required ?? []);
  const properties: Record<string, Record<string, unknown>> = {};
  for (const [key, p] of Object.entries(body.properties)) properties[key] = required.has(key) ? p : nullable(p);
  return {
    ...body,
    properties,
    ...(lenient
      ? {
          additionalProperties: true,
          description: `${body.description === undefined ? '' : `${body.description}. `}A top-level field this route does not know is ignored, as the API it imitates ignores it, and named in the x-plait-ignored-fields response header`,
        }
      : {}),
  };
}

function nullable(p: Record<string, unknown>): Record<string, unknown> {
  // An enum restricts the nullable type too (OpenAPI 3.0.3; Ajv): null joins it.
  const e = Array.isArray(p['enum']) && !p['enum'].includes(null) ? { enum: [...(p['enum'] as unknown[]), null] } : {};
  if (typeof p['type'] === 'string') return p['type'] === 'null' ? p : { ...p, type: [p['type'], 'null'], ...e };
  if (Array.isArray(p['type'])) return p['type'].includes('null') ? p : { ...p, type: [...(p['type'] as unknown[]), 'null'], ...e };
  if (Array.isArray(p['anyOf'])) return { ...p, anyOf: [...(p['anyOf'] as unknown[]), { type: 'null' }] };
  return p;
}

/** The routes whose answers name texts the model mostly does not know (TEXT_WARNINGS_HEADER): search and rerank. */
const TEXT_WARNING_ROUTES = new Set(['/v1/indexes/:name/search', '/v1/rerank', '/v2/rerank', '/rerank']);

type Headers = Record<string, { type: string; description: string }>;

/**
 * The headers plait sets on a response of `status` ("200", "4xx", "5xx", "503"…) of route `url`
 * (app.ts onSend and error handler, lenient-body.ts, the routes' unknown-text warnings).
 */
export function responseHeaders(url: string, status: string, lenient: boolean): Headers {
  const h: Headers = { 'x-request-id': { type: 'string', description: "the request's id: an error body's request_id, the server log's reqId" } };
  const ok = status.startsWith('2');
  if (!ok && (status.startsWith('5') || status === '4xx' || status === '429')) {
    h['retry-after'] = { type: 'integer', description: 'on a request shed under load (503 OVERLOADED; TEI\'s route: 429): whole seconds before it would be let in' };
  }
  if (!ok && (status === '4xx' || status === '401')) h['www-authenticate'] = { type: 'string', description: 'on 401 UNAUTHORIZED: "Bearer"' };
  if (lenient) h[IGNORED_FIELDS_HEADER] = { type: 'string', description: 'the unknown top-level request fields this route ignored, comma-separated (absent when none)' };
  if (ok && TEXT_WARNING_ROUTES.has(url)) h[TEXT_WARNINGS_HEADER] = { type: 'string', description: 'the texts most of whose tokens the model does not know ("query", "queries[1]", "document 3"), comma-separated (absent when none)' };
  return h;
}

/**
 * @fastify/swagger's options for a server with options `o`: OpenAPI 3.0.3; security stated either
 * way (the bearer key when the server has one, the probes /health and /ready saying `security: []`
 * themselves; else none: a linter or gateway reads a document without it as "not stated"); request
 * bodies as the server accepts them (documentedBody).
 */
export function openapiOptions(o: ResolvedServerOptions): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'plait passage-ranking server', version: '1', description: 'ColBERT/PLAID search and rerank (Cohere- and TEI-compatible rerank routes)' },
      components: o.apiKey === undefined ? {} : { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: o.apiKey === undefined ? [] : [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      if (schema === undefined) return { schema, url };
      const lenient = route.config?.lenient === true;
      const body = schema.body as BodySchema | undefined;
      const response = schema.response as Record<string, Record<string, unknown>> | undefined;
      return {
        schema: {
          ...schema,
          ...(body === undefined ? {} : { body: documentedBody(body, lenient) }),
          ...(response === undefined
            ? {}
            : { response: Object.fromEntries(Object.entries(response).map(([status, r]) => [status, { ...r, headers: responseHeaders(route.url, status, lenient) }])) }),
        },
        url,
      };
    },
  };
}
