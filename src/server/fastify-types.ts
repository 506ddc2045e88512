/** The server instance is decorated with its engine (no module-level singletons): `app.engine`. */
import type { Engine } from './engine.js';

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine;
  }
}

export {};
