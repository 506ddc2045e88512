/**
 * The server's lifecycle, in one place. Start: open indexes and rerankers, warm encoders and
 * scoring workers, build the app, then listen (so the first request pays no model load). Stop (on
 * SIGTERM/SIGINT or `close()`): report not-ready, stop accepting and let in-flight requests finish
 * within the drain timeout (then cut the rest), then close indexes, rerankers and encoders.
 */
import type { FastifyInstance } from 'fastify';
import { createApp } from './app.js';
import { openEngine, type Engine } from './engine.js';
import { resolveServerOptions, type ServerOptions } from './options.js';

export interface RunningServer {
  app: FastifyInstance;
  engine: Engine;
  /** e.g. "http://127.0.0.1:8080". */
  url: string;
  /** Drains and closes everything; resolves true if every in-flight request finished in time. Idempotent. */
  close(): Promise<boolean>;
}

/** Listens with an engine already built (tests hand in engines over wrapped indexes). */
export async function serveEngine(engine: Engine): Promise<RunningServer> {
  const app = await createApp(engine);
  const o = engine.options;
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await app.close();
    await engine.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<boolean> | null = null;
  return {
    app,
    engine,
    url: `http://${host}:${port}`,
    close: () => (closing ??= drainAndClose(app, engine, o.drainTimeoutMs)),
  };
}

export async function startServer(indexes: string[], options: ServerOptions = {}): Promise<RunningServer> {
  const resolved = resolveServerOptions(options);
  const engine = await openEngine(indexes, resolved);
  return serveEngine(engine);
}

async function drainAndClose(app: FastifyInstance, engine: Engine, drainTimeoutMs: number): Promise<boolean> {
  engine.markDraining();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), drainTimeoutMs);
  });
  const drained = await Promise.race([app.close().then(() => true), timedOut]);
  clearTimeout(timer);
  if (!drained) {
    app.log.warn({ drainTimeoutMs }, 'drain timeout: closing the remaining connections');
    app.server.closeAllConnections();
    await app.close();
  }
  await engine.close();
  return drained;
}

/**
 * Closes `server` on the first SIGTERM or SIGINT and calls `onClosed` with the exit code (0 after
 * a clean drain); a second signal exits at once. Returns a function that removes the handlers.
 */
export function closeOnSignals(server: RunningServer, onClosed: (code: number) => void): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      onClosed(1);
      return;
    }
    received = true;
    server.app.log.info({ signal }, 'draining');
    server.close().then(
      (drained) => {
        server.app.log.info({ drained }, 'closed');
        onClosed(0);
      },
      (err: unknown) => {
        server.app.log.error({ err }, 'close failed');
        onClosed(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
