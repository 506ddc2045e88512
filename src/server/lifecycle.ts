/**
 * The server's lifecycle, in one place. Start: open indexes and rerankers, warm encoders and
 * scoring workers, build the app, then listen (so the first request pays no model load). Stop (on
 * SIGTERM/SIGINT or `close()`): report not-ready, stop accepting and let in-flight requests finish
 * within the drain timeout (then cut the rest), then close indexes, rerankers and encoders.
 */
import { LtrModel } from '../ltr/ltr-model.js';
import { DynamicBatchingEncoder } from '../encoder/dynamic-batching.js';
import type { FastifyInstance } from 'fastify';
import { createServer } from 'node:net';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder } from '../encoder/types.js';
import { readManifest } from '../format/index-reader.js';
import { openIndex } from '../search/plait-index.js';
import { Reranker } from '../rerank/reranker.js';
import { PlaitError, checkFunction, checkInstance, checkOptions, checkShape, checkStringArray } from '../errors/index.js';
import { SERVER_DEFAULTS } from '../config/defaults.js';
import { locateIndex } from '../format/index-path.js';
import { CrossEncoder } from '../rerank/cross-encoder/cross-encoder.js';
import { createApp, type AppOptions } from './app.js';
import { Engine, type RerankerEntry, type ServedIndex } from './engine.js';
import { checkResolvedServerOptions, reloadApiKeys, resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';

export interface RunningServer {
  app: FastifyInstance;
  engine: Engine;
  /** e.g. "http://127.0.0.1:8080". */
  url: string;
  /** Drains and closes everything; resolves true if every in-flight request finished in time. Idempotent. */
  close(): Promise<boolean>;
}

/**
 * Listens with an engine already built (tests hand in engines over wrapped indexes; a coordinator passes its write log in `appOptions`).
 * @throws PlaitError INVALID_ARGUMENT when `engine` is not an Engine or `appOptions` not an object; ADDRESS_IN_USE (listenError).
 */
export async function serveEngine(engine: Engine, appOptions: AppOptions = {}): Promise<RunningServer> {
  checkInstance('engine', engine, Engine, 'an Engine (from openEngine, openCoordinatorEngine or new Engine)');
  checkOptions('appOptions', appOptions);
  const app = await createApp(engine, appOptions);
  const o = engine.options;
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await app.close();
    await engine.close();
    throw listenError(err, o.host, o.port);
  }
  for (const w of engine.ltrWarnings) app.log.warn({ index: w.index, ltrModel: o.ltrModel }, w.message);
  // A served folder that can no longer be read (removed, unmounted, its manifest unreadable): said once, and when it reads again.
  engine.onRefreshProblem = (p) => {
    if (p.recovered) app.log.info({ index: p.index, generation: p.generation }, `index "${p.index}": its folder reads again; newer generations are picked up`);
    else app.log.warn({ index: p.index, generation: p.generation, code: p.code, reason: p.message }, `index "${p.index}": cannot read its folder for a newer generation; still serving generation ${p.generation} from the files already open`);
  };
  // A read-only folder (a read-only volume, another user's files) is served for searches; say so at
  // the start, not at the first write (which answers 403 NOT_WRITABLE).
  for (const [name, entry] of engine.indexes) {
    if (!folderWritable(entry.index.path)) app.log.warn({ index: name }, `index "${name}" is read-only for this process: searches are served, writes will answer 403 NOT_WRITABLE`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<boolean> | null = null;
  return {
    app,
    engine,
    url: `http://${host}:${port}`,
    close: () => (closing ??= drainAndClose(app, engine, o.drainTimeoutMs, o.shutdownDelayMs)),
  };
}

/**
 * Whether this process may create files in `dir` (access W_OK: EROFS on a read-only mount, EACCES by
 * permissions). A path that is no folder here (a cluster coordinator's `nats:<name>`) counts as writable: nothing to warn of.
 */
function folderWritable(dir: string): boolean {
  try {
    if (!existsSync(dir)) return true;
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A failure to listen on host:port → a PlaitError with a hint: ADDRESS_IN_USE (EADDRINUSE: another
 * process listens there), INVALID_ARGUMENT (EACCES: a port below 1024 needs privileges;
 * EADDRNOTAVAIL: the host is not an address of this machine; ENOTFOUND / EAI_AGAIN: a host name
 * that does not resolve, which was a bare "Error: getaddrinfo ENOTFOUND" and a stack trace).
 * Anything else is returned unchanged.
 */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new PlaitError('ADDRESS_IN_USE', { message: `${where} is taken by another process: stop it, or pick another port with --port <n> (--port 0 takes any free port)`, host, port }, { cause: err });
  }
  if (code === 'EACCES') {
    return new PlaitError('INVALID_ARGUMENT', { message: `not permitted to listen on ${where} (ports below 1024 need privileges): pick another port with --port <n>`, host, port }, { cause: err });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new PlaitError('INVALID_ARGUMENT', { message: `${host} is not an address of this machine: use --host 127.0.0.1 (loopback) or 0.0.0.0 (every interface)`, host, port }, { cause: err });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new PlaitError('INVALID_ARGUMENT', { message: `${host} is not a host name this machine can resolve (${code}): use --host 127.0.0.1 (loopback) or 0.0.0.0 (every interface)`, host, port }, { cause: err });
  }
  return err;
}

/**
 * Binds host:port for a moment and lets it go, so that a taken port or a wrong host is reported in
 * milliseconds, before the models and indexes load (seconds to minutes), not after. Port 0 (any
 * free port) is bound too: its host can still be wrong. A process that takes the port between this
 * check and the real listen is still caught there, with the same error.
 * @throws PlaitError ADDRESS_IN_USE or INVALID_ARGUMENT (see listenError).
 */
export async function checkListenAddress(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(err, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * Opens `indexes` (names under the index home, or folders), loads and warms the models, then listens (`plait serve`).
 * @throws PlaitError INVALID_ARGUMENT (`indexes` not an array of strings, a bad option), ADDRESS_IN_USE, INDEX_NOT_FOUND, MODEL_NOT_FOUND.
 */
export async function startServer(indexes: string[], options: ServerOptions = {}): Promise<RunningServer> {
  checkStringArray('indexes', indexes);
  const resolved = resolveServerOptions(options);
  await checkListenAddress(resolved.host, resolved.port);
  const engine = await openEngine(indexes, resolved);
  return serveEngine(engine);
}

async function drainAndClose(app: FastifyInstance, engine: Engine, drainTimeoutMs: number, shutdownDelayMs = 0): Promise<boolean> {
  engine.markDraining();
  // Lame duck (SERVER_DEFAULTS.shutdownDelayMs): still listening and serving, /ready answering 503,
  // while load balancers and kube-proxy stop routing here; then the listener closes.
  if (shutdownDelayMs > 0) {
    app.log.info({ shutdownDelayMs }, 'not ready: serving until the shutdown delay ends');
    await new Promise((resolve) => setTimeout(resolve, shutdownDelayMs));
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), drainTimeoutMs);
  });
  const drained = await Promise.race([app.close().then(() => true), timedOut]);
  clearTimeout(timer);
  if (!drained) {
    app.log.warn({ drainTimeoutMs }, 'drain timeout: answering the requests still in flight with 503, then closing the remaining connections');
    // Their work stops with INDEX_CLOSED (503), so each client gets an answer instead of a cut
    // connection; the answers get SERVER_DEFAULTS.drainAnswerGraceMs to be written.
    engine.abortInFlight(new PlaitError('INDEX_CLOSED', { message: `the server is shutting down: the request did not finish within the drain timeout of ${drainTimeoutMs} ms` }));
    const answered = await Promise.race([app.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), SERVER_DEFAULTS.drainAnswerGraceMs).unref())]);
    if (!answered) {
      app.server.closeAllConnections();
      await app.close();
    }
  }
  await engine.close();
  return drained;
}

/**
 * Closes `server` on the first SIGTERM or SIGINT and calls `onClosed` with the exit code (0 after
 * a clean drain); a second signal calls it at once with code 1 and that signal, for the caller to
 * end the process by it (the CLI: src/cli/interrupt.ts endServe). `onDraining` is called once, as
 * the drain starts (the CLI says on stderr what the wait is and how to cut it short). SIGHUP, the
 * signal by which daemons are told to reload (`systemctl reload`, nginx, Prometheus), reads the
 * API key file again (reloadApiKeys) and keeps serving, with a log line either way: Node's default
 * action had ended the process at once, cutting off every request in flight with no drain and no
 * log line (exit 129). Returns a function that removes the handlers.
 */
export function closeOnSignals(server: RunningServer, onClosed: (code: number, signal?: NodeJS.Signals) => void, onDraining?: (signal: NodeJS.Signals) => void): () => void {
  // Checked here, not at the first signal: a wrong one had been taken, and the SIGTERM that came later threw inside the handler.
  checkShape('server', server, 'a RunningServer (from startServer or serveEngine)', ['app', 'engine', 'close']);
  checkFunction('onClosed', onClosed);
  if (onDraining !== undefined) checkFunction('onDraining', onDraining, 'a function or undefined');
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      onClosed(1, signal);
      return;
    }
    received = true;
    server.app.log.info({ signal }, 'draining');
    onDraining?.(signal);
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
  const hangup = (): void => {
    const o = server.engine.options;
    try {
      const keys = reloadApiKeys(o);
      if (keys === null) server.app.log.info({ signal: 'SIGHUP' }, 'SIGHUP: nothing to reload (no --api-key-file); still serving');
      else server.app.log.info({ signal: 'SIGHUP', apiKeyFile: o.apiKeyFile, apiKeys: keys }, 'reloaded the API key file');
    } catch (err) {
      // Its message names the file and the line, never a key; the keys read before stay.
      const e = err as { code?: unknown; message?: unknown };
      server.app.log.error({ signal: 'SIGHUP', apiKeyFile: o.apiKeyFile, code: e.code, reason: e.message }, 'SIGHUP: the API key file was not reloaded; the keys read before are still accepted');
    }
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  process.on('SIGHUP', hangup);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
    process.off('SIGHUP', hangup);
  };
}

/**
 * Opens indexes and rerankers for `plait serve` (one encoder per model and role), then warms them.
 * @throws PlaitError INVALID_ARGUMENT (`indexNames` not an array of strings, `options` not resolved ones), INDEX_NOT_FOUND, MODEL_NOT_FOUND.
 */
export async function openEngine(indexNames: string[], options: ResolvedServerOptions): Promise<Engine> {
  checkStringArray('indexes', indexNames);
  checkResolvedServerOptions('options', options);
  const encoders = new Map<string, Promise<Encoder>>();
  // One encoder per model and role: indexes encode queries, rerankers mostly documents. Separate
  // worker threads keep a 100-document rerank (seconds of encoding with the bundled model) from
  // stalling every search's query encoding behind it; indexes of the same model share theirs.
  const encoderFor = (spec: Awaited<ReturnType<typeof resolveModelSpec>>, role: 'query' | 'rerank'): Promise<Encoder> => {
    const key = `${role}:${JSON.stringify(spec)}`;
    let e = encoders.get(key);
    if (e === undefined) {
      // Concurrent requests share encoder calls (token-budgeted dynamic batching, encoder/dynamic-batching.ts).
      e = createEncoder(spec, { threads: options.encoderThreads }).then((enc) => new DynamicBatchingEncoder(enc));
      encoders.set(key, e);
    }
    return e;
  };
  const opened: { name: string; index: ServedIndex }[] = [];
  const rerankers: RerankerEntry[] = [];
  const crossEncoders: { names: string[]; scorer: CrossEncoder }[] = [];
  let engine: Engine;
  try {
    const usedNames = new Set<string>();
    // One folder given twice (`plait serve sample ./sample/`) had been opened twice and served as
    // sample and sample-2: two writers of one index. Refused, naming both; two folders that share a
    // base name are two indexes and keep being served as name and name-2.
    const folders = new Map<string, string>();
    for (const spec of indexNames) {
      // locateIndex: a missing index names every place looked, as `plait search` does.
      const folder = realpathSync(locateIndex(spec));
      const first = folders.get(folder);
      if (first !== undefined) {
        throw new PlaitError('INVALID_ARGUMENT', { message: `${JSON.stringify(spec)} is the index ${JSON.stringify(first)} again (${folder}): give each index once`, name: 'indexes', index: spec });
      }
      folders.set(folder, spec);
    }
    for (const spec of indexNames) {
      const manifest = readManifest(locateIndex(spec));
      const encoder = await encoderFor(manifest.modelSpec, 'query');
      const index = await openIndex(spec, { encoder, workers: options.scoringWorkers });
      let name = spec.replace(/\/+$/, '').split('/').at(-1)!;
      for (let i = 2; usedNames.has(name); i++) name = `${name}-${i}`;
      usedNames.add(name);
      opened.push({ name, index });
    }
    for (const model of options.models) {
      const encoder = await encoderFor(await resolveModelSpec(model, options.quantize === undefined ? {} : { quantize: options.quantize }), 'rerank');
      const reranker = await Reranker.create({ encoder });
      rerankers.push({ names: [...new Set([encoder.info.name, ...(model === undefined ? [] : [model])])], reranker });
    }
    for (const model of options.crossEncoders) {
      const scorer = await CrossEncoder.create(model);
      crossEncoders.push({ names: [...new Set([scorer.name, model])], scorer });
    }
    const ltrModel = options.ltrModel === undefined ? undefined : await LtrModel.load(options.ltrModel);
    engine = new Engine({ indexes: opened, rerankers, crossEncoders, ...(ltrModel === undefined ? {} : { ltrModel }), ownedEncoders: await Promise.all(encoders.values()) }, options);
  } catch (err) {
    for (const o of opened) await o.index.close().catch(() => {});
    for (const r of rerankers) await r.reranker.close().catch(() => {});
    for (const c of crossEncoders) await c.scorer.close().catch(() => {});
    for (const e of encoders.values()) await (await e.catch(() => null))?.close();
    throw err;
  }
  try {
    await engine.warmUp();
  } catch (err) {
    await engine.close();
    throw err;
  }
  return engine;
}

