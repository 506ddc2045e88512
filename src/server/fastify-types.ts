/**
 * The server instance is decorated with its engine (no module-level singletons): `app.engine`.
 * A route's config may name what its body carries (`bodyKind`, http-errors.ts), which names its 413,
 * and the error shape the clients of the API it imitates read (`errorShape`, http-errors.ts).
 */
import type { Engine } from './engine.js';
import type { BodyKind, ErrorShape } from './http-errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine;
  }
  interface FastifyContextConfig {
    bodyKind?: BodyKind;
    errorShape?: ErrorShape;
  }
  interface FastifyRequest {
    /**
     * This request's error shape when its body shows the client of another API than the route's
     * (a Cohere or Together body on TEI's /rerank: that client reads Cohere's shape); else the route's.
     */
    errorShape?: ErrorShape;
  }
}

export {};
