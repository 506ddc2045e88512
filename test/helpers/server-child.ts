/**
 * A server in a child process for the drain test: the sample index at argv[2], served with the
 * real lifecycle (serveEngine + closeOnSignals). A search for a query containing "slow" prints
 * {"event":"entered"} and is held until a SIGTERM has arrived (plus 300 ms), so the test can
 * signal while it is in flight; one containing "stuck" is held for ever (its work ignores its signal).
 * argv[3]: the drain timeout in ms (default 5000). Prints {"event":"listening","url"} and {"event":"exit","code"}.
 */
import { openIndex, Reranker } from '../../src/index.js';
import { Engine, closeOnSignals, resolveServerOptions, serveEngine, type ServedIndex } from '../../src/server/index.js';

const say = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

// `node --test dist/test/` also runs helper files: without an index argument this one does nothing.
if (process.argv[2] === undefined) process.exit(0);

const index = await openIndex(process.argv[2], { encoderOptions: { threads: 1 }, workers: 1 });
const encoder = await index.encoder();
let terminated: Promise<void> | null = null;
process.once('SIGTERM', () => {
  terminated = new Promise((resolve) => setTimeout(resolve, 300));
});
const slow: ServedIndex = {
  path: index.path,
  manifest: index.manifest,
  encoder: () => index.encoder(),
  resolveSearch: (o) => index.resolveSearch(o),
  close: async () => {
    await index.close();
    await encoder.close();
  },
  searchEncodedBatch: async (queries, embeddings, options) => {
    if (queries.some((q) => q.includes('stuck'))) {
      // Work that never ends and ignores its signal: only the drain's timeout can answer it.
      say({ event: 'entered' });
      await new Promise(() => {});
    }
    if (queries.some((q) => q.includes('slow'))) {
      say({ event: 'entered' });
      while (terminated === null) await new Promise((r) => setTimeout(r, 10));
      await terminated;
    }
    return index.searchEncodedBatch(queries, embeddings, options);
  },
};
const options = resolveServerOptions({ port: 0, logLevel: false, defaultMetrics: false, drainTimeoutMs: Number(process.argv[3] ?? 5000) }, {});
const engine = new Engine({ indexes: [{ name: 'sample', index: slow }], rerankers: [{ names: [encoder.info.name], reranker: await Reranker.create({ encoder }) }] }, options);
await engine.warmUp();
const server = await serveEngine(engine);
closeOnSignals(server, (code) => {
  say({ event: 'exit', code });
  process.exitCode = code;
});
say({ event: 'listening', url: server.url });
