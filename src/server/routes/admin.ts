/** `GET /health` (the process answers), `GET /ready` (indexes open and their folders readable, encoders warm, not draining, a coordinator's NATS reachable), `GET /metrics`, `GET /openapi.json`. */
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
    code: {
      type: 'string',
      enum: ['STARTING', 'DRAINING', 'NATS_UNREACHABLE', 'INDEX_UNAVAILABLE'],
      description: 'why /ready answers 503 (absent on 200): starting, draining after a stop signal, a coordinator without NATS, a served index folder that cannot be read',
    },
    unreachable: { type: 'array', items: { type: 'string' }, description: "a cluster's coordinator that cannot reach the NATS server: no shard can answer its searches (503)" },
    unavailable: {
      type: 'array',
      description: 'served indexes whose folder cannot be read now (removed, unmounted, not an index) or could not be reopened, each with its fault\'s code (503 INDEX_UNAVAILABLE)',
      items: { type: 'object', required: ['index', 'code'], properties: { index: { type: 'string' }, code: { type: 'string' } } },
    },
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
  app.get('/ready', { schema: { operationId: 'ready', summary: 'Readiness: indexes open and readable, encoders warm (503 with a code while starting or draining, while a coordinator cannot reach NATS, or while a served folder cannot be read)', tags: ['admin'], security: OPEN, response: { 200: STATUS, 503: STATUS } } }, async (_request, reply) => {
    const r = engine.readiness();
    const body = {
      status: r.ready ? 'ready' : r.code === 'DRAINING' ? 'draining' : 'not ready',
      indexes: [...engine.indexes.keys()],
      models: engine.rerankers.map((m) => m.names[0]!),
      ...(r.ready ? {} : { code: r.code }),
      ...('unreachable' in r ? { unreachable: r.unreachable } : {}),
      ...('unavailable' in r ? { unavailable: r.unavailable } : {}),
    };
    return reply.code(r.ready ? 200 : 503).send(body);
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
