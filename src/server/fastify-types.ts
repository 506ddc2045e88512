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
}

export {};
