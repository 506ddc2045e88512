/** `GET /health` (the process answers), `GET /ready` (indexes open, encoders warm, not draining, a coordinator's NATS reachable), `GET /metrics`, `GET /openapi.json`. */
import type { FastifyPluginAsync } from 'fastify';
import { ERROR_SCHEMA } from '../http-errors.js';
import '../fastify-types.js';

const STATUS = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string' },
    indexes: { type: 'array', items: { type: 'string' } },
    models: { type: 'array', items: { type: 'string' } },
    unreachable: { type: 'array', items: { type: 'string' }, description: "a cluster's coordinator that cannot reach the NATS server: no shard can answer its searches (503)" },
  },
} as const;

/**
 * The probes' `security`: none. Orchestrators call /health and /ready without the API key (app.ts
 * OPEN_ROUTES); with a key the document's root `security` asks for the bearer everywhere else.
 */
const OPEN = [] as const;

/** The errors a guarded route can answer (401 UNAUTHORIZED with an API key; 500 INTERNAL). */
const ERRORS = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA } as const;

export const adminRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;
  app.get('/health', { schema: { operationId: 'health', summary: 'Liveness: the process answers', tags: ['admin'], security: OPEN, response: { 200: STATUS } } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { operationId: 'ready', summary: 'Readiness: indexes open and encoders warm (503 while starting or draining, or while a coordinator cannot reach NATS)', tags: ['admin'], security: OPEN, response: { 200: STATUS, 503: STATUS } } }, async (_request, reply) => {
    const unreachable = engine.unreachable;
    const body = {
      status: engine.ready ? 'ready' : engine.isDraining ? 'draining' : 'not ready',
      indexes: [...engine.indexes.keys()],
      models: engine.rerankers.map((r) => r.names[0]!),
      ...(unreachable.length === 0 ? {} : { unreachable }),
    };
    return reply.code(engine.ready ? 200 : 503).send(body);
  });
  app.get('/metrics', {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['admin'],
        // Declared by its media type: the document had said nothing of what /metrics answers.
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...ERRORS },
      },
    }, async (_request, reply) => {
    const text = await engine.metrics.registry.metrics();
    return reply.type(engine.metrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', { schema: { operationId: 'openapi', summary: 'This API as an OpenAPI 3 document, generated from the route schemas', tags: ['admin'], response: { 200: { type: 'object', additionalProperties: true }, ...ERRORS } } }, async () => app.swagger());
};
