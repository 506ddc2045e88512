/**
 * Run under `node --expose-gc` by test/server-deadline-gc.test.ts: deadlines while the garbage
 * collector runs every 20 ms (nodejs/node#57736: a timeout signal held only inside
 * `AbortSignal.any` can be collected before it fires). Part 1: the library's Deadline, 200 at
 * once. Part 2: a real server whose reranker never finishes on its own (it stops when its signal
 * aborts), for the test's 60 concurrent rerank requests. Prints one JSON line (the library's
 * results and the server's URL); runs until its stdin closes.
 */
import { Deadline } from '../../src/search/deadline.js';
import { Engine, resolveServerOptions } from '../../src/server/index.js';
import { createApp } from '../../src/server/app.js';
import type { Reranker } from '../../src/index.js';

// `node --test dist/test/` also runs helper files: without "run" this one does nothing.
if (process.argv[2] !== 'run') process.exit(0);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run me with node --expose-gc');
const collecting = setInterval(gc, 20);

// Part 1: the library's deadline, with a caller signal and a close signal beside the timeout.
const library = await Promise.all(
  Array.from({ length: 200 }, async (_, i) => {
    const ms = 200 + (i % 5) * 50;
    const t = performance.now();
    const d = Deadline.start({ timeoutMs: ms, signal: new AbortController().signal }, new AbortController().signal);
    const fired = await new Promise<boolean>((resolve) => {
      d.signal!.addEventListener('abort', () => resolve(true), { once: true });
      setTimeout(() => resolve(false), ms + 5000).unref();
    });
    d.dispose();
    return { deadlineMs: ms, answeredMs: fired ? performance.now() - t : null };
  }),
);

// Part 2: the server. The fake reranker answers the warm-up at once and hangs on requests until aborted.
const hanging = {
  encoder: { info: { documentWindow: 128 } },
  cachedDocuments: 0,
  rerank: (_q: string, _t: string[], o: { signal?: AbortSignal } = {}) =>
    o.signal === undefined ? Promise.resolve([]) : new Promise((_, reject) => o.signal!.addEventListener('abort', () => reject(o.signal!.reason), { once: true })),
  // The server's rerank routes call rerankWithUsage (the tokens read, for Jina's and Together's usage).
  rerankWithUsage: (_q: string, _t: string[], o: { signal?: AbortSignal } = {}) =>
    o.signal === undefined
      ? Promise.resolve({ results: [], usage: { queryTokens: 0, documentTokens: 0 } })
      : new Promise((_, reject) => o.signal!.addEventListener('abort', () => reject(o.signal!.reason), { once: true })),
  close: async () => {},
} as unknown as Reranker;
const options = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false, maxConcurrent: 100, maxQueue: 100 }, {});
const engine = new Engine({ indexes: [], rerankers: [{ names: ['hanging'], reranker: hanging, borrowed: true }] }, options);
await engine.warmUp();
// The server's own clock, arrival to reply, in a header: the client (the test, another process)
// also counts connection set-up on a loaded box.
const app = await createApp(engine);
app.addHook('onSend', async (_request, reply) => {
  void reply.header('x-test-server-ms', String(reply.elapsedTime));
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
process.stdout.write(`${JSON.stringify({ library, url })}\n`);
// Collects until the test closes stdin.
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(collecting);
  void app.close().then(() => engine.close());
});
