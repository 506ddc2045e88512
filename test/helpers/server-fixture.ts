/**
 * A served sample index for the server tests: examples/sample-corpus.jsonl built with the bundled
 * model in a temporary folder, one encoder shared by the index and the reranker, and an engine
 * served on 127.0.0.1 port 0. `gate` wraps the index so a test can hold searches (deterministic
 * shedding and deadlines instead of timing).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex, openIndex, Reranker, type Encoder, type PlaitIndex } from '../../src/index.js';
import { Engine, resolveServerOptions, serveEngine, type RunningServer, type ServedIndex, type ServerOptions } from '../../src/server/index.js';

export const SAMPLE = fileURLToPath(new URL('../../../examples/sample-corpus.jsonl', import.meta.url));

export interface SampleIndex {
  dir: string;
  path: string;
  index: PlaitIndex;
  encoder: Encoder;
  reranker: Reranker;
  dispose(): Promise<void>;
}

export async function buildSample(prefix: string): Promise<SampleIndex> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'sample');
  await buildIndex(SAMPLE, { index: path, encoderOptions: { threads: 1 } });
  const index = await openIndex(path, { encoderOptions: { threads: 1 }, workers: 1 });
  const encoder = await index.encoder();
  const reranker = await Reranker.create({ encoder });
  return {
    dir,
    path,
    index,
    encoder,
    reranker,
    async dispose() {
      await index.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A SampleIndex over an index a test built and opened itself (and closes itself: dispose does nothing), to serve it. */
export async function borrowedSample(dir: string, path: string, index: PlaitIndex): Promise<SampleIndex> {
  const encoder = await index.encoder();
  return { dir, path, index, encoder, reranker: await Reranker.create({ encoder }), dispose: async () => {} };
}

/** An index a test built from its own JSONL lines, opened and served (servedCorpus). */
export interface ServedCorpus {
  dir: string;
  path: string;
  index: PlaitIndex;
  server: RunningServer;
  /** Closes the server and the index and removes the folder. */
  dispose(): Promise<void>;
}

/**
 * `lines` (JSONL documents) written to a temporary folder, built with the bundled model into
 * `<dir>/indexes/<name>`, opened (`workers` scoring workers: 0 scores on the calling thread) and
 * served on 127.0.0.1 port 0.
 */
export async function servedCorpus(prefix: string, name: string, lines: readonly string[], workers?: number): Promise<ServedCorpus> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, `${lines.join('\n')}\n`);
  const path = join(dir, 'indexes', name);
  await buildIndex(corpus, { index: path, encoderOptions: { threads: 1 } });
  const index = await openIndex(path, { encoderOptions: { threads: 1 }, ...(workers === undefined ? {} : { workers }) });
  const server = await serve(await borrowedSample(dir, path, index));
  return {
    dir,
    path,
    index,
    server,
    dispose: async () => {
      await server.close();
      await index.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A gate searches wait at until opened; counts how many arrived. */
export class Gate {
  entered = 0;
  private opened = false;
  private waiters: (() => void)[] = [];
  private arrivals: { n: number; resolve: () => void }[] = [];

  async pass(signal?: AbortSignal): Promise<void> {
    this.entered++;
    for (const a of this.arrivals.filter((x) => this.entered >= x.n)) a.resolve();
    // A signal aborted before the call came would never fire its 'abort' again: pass at once.
    if (this.opened || signal?.aborted === true) return;
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Resolves once `n` calls have arrived. */
  arrived(n: number): Promise<void> {
    if (this.entered >= n) return Promise.resolve();
    return new Promise((resolve) => this.arrivals.push({ n, resolve }));
  }

  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }

  close(): void {
    this.opened = false;
  }
}

/**
 * The index with request searches held at `gate` first. The library still runs afterwards with
 * the request's signal, so an aborted request fails inside the library, as in production.
 */
export function gatedIndex(index: PlaitIndex, gate: Gate): ServedIndex {
  return {
    path: index.path,
    manifest: index.manifest,
    encoder: () => index.encoder(),
    resolveSearch: (o) => index.resolveSearch(o),
    searchEncodedBatch: async (queries, embeddings, options) => {
      // Requests always carry a signal; the engine's warm-up (before listen) does not and passes.
      if (options?.signal !== undefined) await gate.pass(options.signal);
      return index.searchEncodedBatch(queries, embeddings, options);
    },
    close: () => index.close(),
  };
}

/** Serves `index` (the sample's own, or a wrapped one) with test-friendly options. */
export async function serve(sample: SampleIndex, options: ServerOptions = {}, index: ServedIndex = sample.index): Promise<RunningServer> {
  const resolved = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false, ...options }, {});
  // The sample's index and reranker outlive each server (borrowed): the test file disposes of them.
  const engine = new Engine(
    { indexes: [{ name: 'sample', index, borrowed: true }], rerankers: [{ names: ['bundled:use-lite', 'plait-default'], reranker: sample.reranker, borrowed: true }] },
    resolved,
  );
  await engine.warmUp();
  return serveEngine(engine);
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Prometheus text exposition → samples; throws on a line that is neither a comment nor a sample. */
export function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** `n` distinct documents of `chars` characters (distinct per `tag`, so the reranker's cache never answers). */
export function distinctDocuments(tag: string, n: number, chars: number): string[] {
  const words = 'bread rises when yeast ferments the sugars in wheat flour and the dough traps the gas'.split(' ');
  return Array.from({ length: n }, (_, i) => {
    let t = `${tag} document ${i}:`;
    for (let j = 0; t.length < chars; j++) t += ` ${words[(i + j) % words.length]}`;
    return t.slice(0, chars);
  });
}

/** The value of an unlabelled metric `name` on the server at `url`'s /metrics (NaN when absent). */
export async function metricValue(url: string, name: string, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/**
 * A real server on 127.0.0.1 serving no index and loading no model (a borrowed reranker stand-in,
 * never called): for what a request meets before any index or model, validation and routing.
 */
export async function serveNothing(): Promise<RunningServer> {
  const options = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false }, {});
  const unused = { names: ['unused'], reranker: {} as Reranker, borrowed: true };
  return serveEngine(new Engine({ indexes: [], rerankers: [unused] }, options));
}
