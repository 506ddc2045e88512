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
 * Checked by test/openapi.test.ts: @readme/openapi-parser and @redocly/openapi-core on the
 * document, ajv on every route family's answers and accepted requests, openapi-typescript's client.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { ResolvedServerOptions } from './options.js';

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
 * `nullable`; an `anyOf` gains a null member); with `lenient`, unknown top-level properties are
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
  if (typeof p['type'] === 'string') return p['type'] === 'null' ? p : { ...p, type: [p['type'], 'null'] };
  if (Array.isArray(p['type'])) return p['type'].includes('null') ? p : { ...p, type: [...(p['type'] as unknown[]), 'null'] };
  if (Array.isArray(p['anyOf'])) return { ...p, anyOf: [...(p['anyOf'] as unknown[]), { type: 'null' }] };
  return p;
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
      const body = schema?.body as BodySchema | undefined;
      if (body === undefined) return { schema, url };
      return { schema: { ...schema, body: documentedBody(body, route.config?.lenient === true) }, url };
    },
  };
}
