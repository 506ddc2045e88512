/**
 * Every public function refuses a wrong argument with a PlaitError (INVALID_ARGUMENT for a bad
 * argument, naming it), never a bare TypeError from deep inside. The exports of src/index.ts are
 * enumerated at run time, so a new export is probed without anyone remembering to add it: each
 * function, constructor and static method is called with a first argument of undefined, null, 42,
 * "x", {} and [], the public methods of an open PlaitIndex and of a ClusterIndex (the coordinator)
 * likewise, and the main doors with a valid first argument and a wrong next one (their options, or
 * the qrels, run or documents they take). TypeScript-private members (read from the emitted .d.ts)
 * are not doors and are left out.
 *
 * Found by a probe of the exports (issue apiargs-15): ~117 functions threw TypeError
 * ("Cannot read properties of undefined (reading 'map')", node:path's ERR_INVALID_ARG_TYPE,
 * "run is not iterable"): createEncoder(undefined), resolveModelSpec(42), pullModel, parseQrels,
 * writeRun, trainLtrModel, scoreOnCodes, waitForReplicas, PlaitIndex#searchEncoded and others;
 * and observeTransactions(42) was accepted, then broke every later write ("listener is not a function").
 *
 * Nothing here loads a model, reads a data set or reaches a network: a wrong argument must be
 * refused before that work. The process works in a temporary folder (a path "x" lands there),
 * offline, with its own model cache and index home. One synthetic index (12 passages): ~2 s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import * as plait from '../src/index.js';
import { isPlaitError, openIndex, type PlaitIndex } from '../src/index.js';

const BAD_FIRST: readonly unknown[] = [undefined, null, 42, 'x', {}, []];
/** Wrong options bags (undefined and {} are valid options everywhere). */
const BAD_OPTIONS: readonly unknown[] = [null, 42, 'x', []];
/** A call that does not settle in this long did work it should have refused first (a model, a network). */
const BOUND_MS = 5_000;

/**
 * Exports that take no argument, or take any value by design: calling them with anything is right.
 * Each with why; a function missing here that accepts all six wrong values is reported by the last test.
 */
const ACCEPTS_ANYTHING: Readonly<Record<string, string>> = {
  isPlaitError: 'a type guard: any value is a question it answers',
  supportsCodeScoring: 'a predicate on nbits: anything it does not support answers false',
  scopeApplies: 'a predicate on an option scope: a scope it does not know answers false',
  lockKind: 'takes no argument (reads PLAIT_LOCK)',
  abortActiveBackups: 'takes no argument (process shutdown)',
  abortOpenTransactions: 'takes no argument (process shutdown)',
  closeRerankers: 'takes no argument',
  removeActiveBuildDirs: 'takes no argument (process shutdown)',
  getKernels: 'takes no argument',
  kernelsStatus: 'takes no argument',
  nativeKernels: 'takes no argument',
  indexHome: 'takes no argument',
  'new QueryRewriter': 'an optional options bag whose keys are all optional; a wrong one is refused at rewrite()',
};

/**
 * What TypeScript keeps private (a private constructor, static or method): not a door, though plain
 * JavaScript can reach it. Read from the emitted declarations (every .d.ts file under dist/src), so a member made
 * public later is probed from then on: "Class" for a private constructor, "Class.member" otherwise.
 */
function privateMembers(): Set<string> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const out = new Set<string>();
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.d.ts')) continue;
    const text = readFileSync(join(root, f), 'utf8');
    for (const m of text.matchAll(/^export declare class (\w+)[^\n]*\{\n([\s\S]*?)^\}/gm)) {
      const [, name, body] = m;
      if (/^ {4}private constructor\(/m.test(body!)) out.add(name!);
      for (const p of body!.matchAll(/^ {4}private (?:static )?(?:readonly )?(\w+)/gm)) out.add(`${name}.${p[1]}`);
    }
  }
  return out;
}
const PRIVATE = privateMembers();

let dir: string;
let cwd: string;
let index: PlaitIndex;
const savedEnv = { ...process.env };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-api-args-'));
  cwd = process.cwd();
  process.chdir(dir);
  process.env['PLAIT_OFFLINE'] = '1';
  process.env['PLAIT_CACHE_DIR'] = join(dir, 'cache');
  process.env['PLAIT_INDEX_DIR'] = join(dir, 'indexes');
  await buildSynthetic(join(dir, 'idx'), syntheticPassages(12, 32, 7, 4).passages, 32);
  index = await openIndex(join(dir, 'idx'));
});

after(async () => {
  await index?.close();
  process.chdir(cwd);
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

function label(v: unknown): string {
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

type Outcome = { kind: 'returned' } | { kind: 'plait'; code: string } | { kind: 'other'; what: string };

/** Calls `call`, awaiting a promise up to BOUND_MS; what came of it. */
async function outcome(call: () => unknown): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const v = call();
    if (v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function') {
      await Promise.race([
        v as Promise<unknown>,
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`did not settle in ${BOUND_MS} ms`)), BOUND_MS); }),
      ]);
    }
    return { kind: 'returned' };
  } catch (e) {
    if (isPlaitError(e)) return { kind: 'plait', code: e.code };
    const err = e as { name?: unknown; message?: unknown } | null;
    return { kind: 'other', what: `${String(err?.name)}: ${String(err?.message).slice(0, 120)}` };
  } finally {
    clearTimeout(timer);
  }
}

function isClass(f: unknown): f is new (...args: unknown[]) => unknown {
  return typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f));
}

/** Every callable door of the library: functions, constructors and static methods, by name. */
function doors(): [string, (arg: unknown) => unknown][] {
  const out: [string, (arg: unknown) => unknown][] = [];
  for (const [name, value] of Object.entries(plait)) {
    if (typeof value !== 'function') continue;
    if (!isClass(value)) {
      out.push([name, (a) => (value as (a: unknown) => unknown)(a)]);
      continue;
    }
    if (!PRIVATE.has(name)) out.push([`new ${name}`, (a) => new value(a)]);
    for (const key of Object.getOwnPropertyNames(value)) {
      const m = (value as unknown as Record<string, unknown>)[key];
      if (['length', 'name', 'prototype'].includes(key) || typeof m !== 'function' || PRIVATE.has(`${name}.${key}`)) continue;
      out.push([`${name}.${key}`, (a) => (m as (a: unknown) => unknown).call(value, a)]);
    }
  }
  return out;
}

const silent: string[] = [];

test('every exported function, constructor and static method refuses a wrong first argument with a PlaitError, never a TypeError', async () => {
  const failures: string[] = [];
  const all = doors();
  assert.ok(all.length > 150, `the probe finds the exports (${all.length})`);
  for (const [name, call] of all) {
    let refused = 0;
    for (const bad of BAD_FIRST) {
      const o = await outcome(() => call(bad));
      if (o.kind === 'other') failures.push(`${name}(${label(bad)}) → ${o.what}`);
      if (o.kind === 'plait') refused++;
    }
    if (refused === 0 && !(name in ACCEPTS_ANYTHING)) silent.push(name);
  }
  assert.deepEqual(failures, [], `${failures.length} doors failed with something other than a PlaitError:\n${failures.join('\n')}`);
});

/** The repository root (this file runs from dist/test), where package.json names the package's entries. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE_EXPORTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> }).exports;

/** The module a subpath of package.json "exports" loads, as a user's `import 'plait/<subpath>'` gets it. */
async function subpathModule(subpath: string): Promise<Record<string, unknown>> {
  const entry = PACKAGE_EXPORTS[subpath];
  assert.ok(entry !== undefined, subpath);
  return (await import(pathToFileURL(join(ROOT, entry.default)).href)) as Record<string, unknown>;
}

/** Server options that never listen on a fixed port or print: every probe of plait/server that could start a server gives these. */
const SAFE_SERVER_OPTIONS = { port: 0, host: '127.0.0.1', logLevel: false, defaultMetrics: false } as const;

/**
 * Closes what a probe's call returned when it is something that holds a socket, a model or a timer
 * (a RunningServer, an Engine, a Fastify app, a Coordinator): a call that should have been refused
 * must not leave a server listening.
 */
async function dispose(v: unknown): Promise<void> {
  if (v === null || typeof v !== 'object') return;
  const o = v as { close?: () => unknown; engine?: { close?: () => unknown } };
  if (typeof o.close === 'function') await o.close();
  else if (typeof o.engine?.close === 'function') await o.engine.close();
}

/** outcome(), closing whatever the call returned. */
async function probe(call: () => unknown): Promise<Outcome> {
  let got: unknown;
  const o = await outcome(() => {
    const v = call();
    return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function' ? (v as Promise<unknown>).then((x) => (got = x)) : (got = v);
  });
  await dispose(got);
  return o;
}

/**
 * How plait/server's doors are called in the probes where their first argument alone would do
 * work or hold something: the rest of their arguments valid and safe (port 0 on 127.0.0.1, a NATS
 * URL nothing listens on), so that only the first argument is wrong.
 */
async function serverDoors(server: Record<string, unknown>): Promise<{ calls: [string, (arg: unknown) => unknown][]; engine: () => unknown; resolved: unknown }> {
  const s = server as unknown as typeof import('../src/server/index.js');
  const resolved = s.resolveServerOptions(SAFE_SERVER_OPTIONS, {});
  // An engine that serves nothing and loads nothing: its one reranker is a stand-in no probe reaches.
  const engine = (): unknown => new s.Engine({ indexes: [], rerankers: [{ names: ['unused'], reranker: {} as never, borrowed: true }] }, resolved);
  const special: Record<string, (arg: unknown) => unknown> = {
    startServer: (a) => s.startServer(a as never, SAFE_SERVER_OPTIONS),
    openEngine: (a) => s.openEngine(a as never, resolved),
    openCoordinatorEngine: (a) => s.openCoordinatorEngine(a as never, resolved, { servers: 'nats://127.0.0.1:1', startWaitMs: 100 }),
    closeOnSignals: (a) => s.closeOnSignals(a as never, () => {})(),
    'new Engine': (a) => new s.Engine(a as never, resolved),
  };
  const calls: [string, (arg: unknown) => unknown][] = [];
  for (const [name, value] of Object.entries(server)) {
    if (typeof value !== 'function') continue;
    const key = isClass(value) ? `new ${name}` : name;
    calls.push([key, special[key] ?? ((a) => (isClass(value) ? new value(a) : (value as (a: unknown) => unknown)(a)))]);
  }
  return { calls, engine, resolved };
}

/**
 * First arguments of plait/server's doors that are valid, by door: [] is a server of no index (it
 * reranks with the default model, loaded: not probed), a string is a cluster name or a query.
 * [42] stands in for [] there: an array, but not of index names.
 */
const SERVER_VALID_FIRST: Readonly<Record<string, readonly unknown[]>> = {
  startServer: [[]],
  openEngine: [[]],
  resolveServerOptions: [undefined, {}],
  clusterNameOf: ['x'],
  openCoordinatorEngine: ['x'],
  normaliseQuery: ['x'],
  statusFor: ['x'],
};

test('every subpath of package.json "exports" is probed: each function and constructor refuses a wrong first argument with a PlaitError', async () => {
  assert.deepEqual(Object.keys(PACKAGE_EXPORTS).sort(), ['.', './ai-sdk', './langchain', './server'], 'a new subpath is probed here: add it to this list once its doors are');
  // ".": the first test probes the very module a user's `import 'plait'` loads.
  assert.equal(await subpathModule('.'), plait, 'plait resolves to src/index.js');
  const failures: string[] = [];
  for (const sub of ['./langchain', './ai-sdk']) {
    for (const [name, value] of Object.entries(await subpathModule(sub))) {
      if (typeof value !== 'function') continue;
      for (const bad of BAD_FIRST) {
        const o = await probe(() => (isClass(value) ? new value(bad) : (value as (a: unknown) => unknown)(bad)));
        if (o.kind === 'other') failures.push(`plait/${sub.slice(2)} ${name}(${label(bad)}) → ${o.what}`);
      }
    }
  }
  const { calls } = await serverDoors(await subpathModule('./server'));
  assert.ok(calls.length >= 13, `the probe finds plait/server's doors (${calls.length})`);
  for (const [name, call] of calls) {
    const valid = SERVER_VALID_FIRST[name.replace(/^new /, '')] ?? [];
    const bads = [...BAD_FIRST.filter((b) => !valid.some((v) => JSON.stringify(v) === JSON.stringify(b) && typeof v === typeof b)), ...(valid.some(Array.isArray) ? [[42]] : [])];
    for (const bad of bads) {
      const o = await probe(() => call(bad));
      if (o.kind !== 'plait' || o.code !== 'INVALID_ARGUMENT') failures.push(`plait/server ${name}(${label(bad)}) → ${o.kind === 'plait' ? o.code : o.kind === 'other' ? o.what : 'returned'}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} calls were not refused with a PlaitError (INVALID_ARGUMENT for plait/server):\n${failures.join('\n')}`);
});

test("plait/server's doors, given a valid first argument, refuse a wrong next one with INVALID_ARGUMENT, before listening or connecting", async () => {
  const s = (await subpathModule('./server')) as unknown as typeof import('../src/server/index.js');
  const { engine, resolved } = await serverDoors(s as unknown as Record<string, unknown>);
  const nats = { servers: 'nats://127.0.0.1:1', startWaitMs: 100 };
  const doors: Record<string, (bad: unknown) => unknown> = {
    startServer: (b) => s.startServer([], b as never),
    openEngine: (b) => s.openEngine([], b as never),
    createApp: (b) => s.createApp(engine() as never, b as never),
    serveEngine: (b) => s.serveEngine(engine() as never, b as never),
    'new Engine': (b) => new s.Engine({ indexes: [], rerankers: [{ names: ['unused'], reranker: {} as never, borrowed: true }] }, b as never),
    'openCoordinatorEngine options': (b) => s.openCoordinatorEngine('x', b as never, nats),
    'openCoordinatorEngine coordinatorOptions': (b) => s.openCoordinatorEngine('x', resolved as never, b as never),
    'closeOnSignals onClosed': (b) => s.closeOnSignals({ app: {}, engine: {}, close: async () => true } as never, b as never)(),
  };
  const failures: string[] = [];
  for (const [name, call] of Object.entries(doors)) {
    for (const bad of [...BAD_OPTIONS, ...(name.startsWith('closeOnSignals') ? [undefined, {}] : [])]) {
      const o = await probe(() => call(bad));
      if (o.kind !== 'plait' || o.code !== 'INVALID_ARGUMENT') failures.push(`${name}(valid, ${label(bad)}) → ${o.kind === 'plait' ? o.code : o.kind === 'other' ? o.what : 'returned'}`);
    }
  }
  // startServer's options of the wrong kind, each beside a safe port and host: refused by name before
  // anything loads or listens (they had been taken, or thrown as TypeErrors: apiKey 42 → "value.trim is not a function").
  const wrongOptions: [string, unknown][] = [
    ['host', 42], ['host', {}], ['models', 'x'], ['models', [42]], ['quantize', 'x'], ['crossEncoders', 'x'], ['crossEncoders', [42]],
    ['ltrModel', 42], ['apiKey', 42], ['apiKey', null], ['apiKeyFile', 42], ['corsOrigins', 'x'], ['corsOrigins', {}],
    ['defaultMetrics', 'x'], ['logDestination', 42], ['logDestination', { write: 'x' }], ['trustProxy', 42], ['trustProxy', null], ['synonyms', 42],
  ];
  // The coordinator's own options likewise, before it connects.
  for (const bad of [{ servers: 42 }, { servers: [42] }, { servers: 'nats://127.0.0.1:1', startWaitMs: 'x' }, { servers: 'nats://127.0.0.1:1', onNatsStatus: 42 }]) {
    const o = await probe(() => s.openCoordinatorEngine('x', resolved as never, bad as never));
    if (o.kind !== 'plait' || o.code !== 'INVALID_ARGUMENT') failures.push(`openCoordinatorEngine('x', options, ${label(bad)}) → ${o.kind === 'plait' ? o.code : o.kind === 'other' ? o.what : 'returned'}`);
  }
  for (const [key, bad] of wrongOptions) {
    const o = await probe(() => s.startServer([], { ...SAFE_SERVER_OPTIONS, [key]: bad } as never));
    if (o.kind !== 'plait' || o.code !== 'INVALID_ARGUMENT') failures.push(`startServer([], { ${key}: ${label(bad)} }) → ${o.kind === 'plait' ? o.code : o.kind === 'other' ? o.what : 'returned'}`);
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  // Named: the parameter and what it expected.
  await assert.rejects(s.startServer(undefined as never, SAFE_SERVER_OPTIONS), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /Expected an array of strings for indexes but received undefined/.test(e.message));
  await assert.rejects(s.createApp(42 as never), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /for engine but received 42/.test(e.message));
  // A code HTTP_STATUS does not list answers 500, an Object.prototype name ("toString") too: it had answered a function.
  for (const code of ['toString', 'constructor', '__proto__', 'NO_SUCH_CODE']) assert.equal(s.statusFor(code), 500, code);
});

test("the integrations' doors (plait/ai-sdk models and their doRerank, plait/langchain's retriever) refuse a wrong argument with INVALID_ARGUMENT, before any model loads", async () => {
  const ai = (await subpathModule('./ai-sdk')) as unknown as typeof import('../src/integrations/ai-sdk.js');
  const lc = (await subpathModule('./langchain')) as unknown as typeof import('../src/integrations/langchain.js');
  const model = new ai.PlaitRerankingModel();
  const provider = ai.createPlait();
  // undefined is the default model id; a string names a model (an unknown one fails when it loads).
  const doors: Record<string, [(bad: unknown) => unknown, readonly unknown[]]> = {
    'new PlaitRerankingModel': [(b) => new ai.PlaitRerankingModel(b as never), [null, 42, '', {}, []]],
    'plait.reranking': [(b) => provider.reranking(b as never), [null, 42, '', {}, []]],
    'plait.rerankingModel': [(b) => provider.rerankingModel(b as never), [null, 42, '', {}, []]],
    'model.doRerank': [(b) => model.doRerank(b as never), [...BAD_FIRST, { documents: ['a'], query: 'q' }, { documents: { type: 'text', values: 'a' }, query: 'q' }, { documents: { type: 'text', values: [] }, query: 42 }]],
    'new PlaitRetriever index': [(b) => new lc.PlaitRetriever({ index: b as never }), [42, 'x', {}, []]],
    'new PlaitRerank model': [(b) => new lc.PlaitRerank({ model: b as never }), [null, 42, '', {}, []]],
    'new PlaitRerank reranker': [(b) => new lc.PlaitRerank({ reranker: b as never }), [null, 42, 'x', {}, []]],
    'new PlaitRerankingModel rerankerOptions': [(b) => new ai.PlaitRerankingModel(undefined, { rerankerOptions: b as never }), [null, 42, 'x', []]],
  };
  const failures: string[] = [];
  try {
    for (const [name, [call, bads]] of Object.entries(doors)) {
      for (const bad of bads) {
        const o = await probe(() => call(bad));
        if (o.kind !== 'plait' || o.code !== 'INVALID_ARGUMENT') failures.push(`${name}(${label(bad)}) → ${o.kind === 'plait' ? o.code : o.kind === 'other' ? o.what : 'returned'}`);
      }
    }
  } finally {
    await model.close();
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('the public methods of an Engine (plait/server) refuse a wrong first argument with a PlaitError', async () => {
  const s = (await subpathModule('./server')) as unknown as typeof import('../src/server/index.js');
  const { engine } = await serverDoors(s as unknown as Record<string, unknown>);
  const e = engine() as InstanceType<typeof s.Engine>;
  const proto = Object.getPrototypeOf(e) as object;
  // A method that takes no argument (readiness, warmUp, close, …) has nothing to refuse.
  const methods = Object.getOwnPropertyNames(proto).filter((m) => {
    const f = Object.getOwnPropertyDescriptor(proto, m)?.value as unknown;
    return m !== 'constructor' && typeof f === 'function' && f.length > 0 && !PRIVATE.has(`Engine.${m}`);
  });
  for (const m of ['index', 'search', 'rerank', 'encode', 'reranker', 'abortInFlight']) assert.ok(methods.includes(m), m);
  const failures: string[] = [];
  try {
    for (const m of methods) {
      let refused = 0;
      for (const bad of BAD_FIRST) {
        const o = await probe(() => (e as unknown as Record<string, (a: unknown) => unknown>)[m]!(bad));
        if (o.kind === 'other') failures.push(`engine.${m}(${label(bad)}) → ${o.what}`);
        if (o.kind === 'plait') refused++;
      }
      if (refused === 0) failures.push(`engine.${m} took every wrong first argument`);
    }
  } finally {
    await e.close();
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('the public methods of an open PlaitIndex refuse a wrong first argument with a PlaitError', async () => {
  const failures: string[] = [];
  const skip = new Set(['constructor', 'close']);
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(index)).filter((m) => {
    const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(index), m);
    return !skip.has(m) && !PRIVATE.has(`PlaitIndex.${m}`) && typeof d?.value === 'function';
  });
  assert.ok(PRIVATE.has('PlaitIndex.searchOne'), 'the declarations were read');
  for (const m of ['search', 'searchEncoded', 'searchEncodedBatch', 'highlightHits']) assert.ok(methods.includes(m), m);
  for (const m of methods) {
    for (const bad of BAD_FIRST) {
      const o = await outcome(() => (index as unknown as Record<string, (a: unknown) => unknown>)[m]!(bad));
      if (o.kind === 'other') failures.push(`index.${m}(${label(bad)}) → ${o.what}`);
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('the public methods of a ClusterIndex (a coordinator) refuse a wrong first argument with a PlaitError', async () => {
  // No NATS here: a ShardClient whose every call is CLUSTER_UNAVAILABLE, and the one shard's info from the synthetic index.
  const unreachable = (): Promise<never> => Promise.reject(new plait.PlaitError('CLUSTER_UNAVAILABLE', { message: 'no NATS in this test' }));
  const shards = new Proxy({ shards: 1 }, { get: (t, key) => (key === 'shards' ? t.shards : key === 'then' ? undefined : unreachable) });
  const info = [{ shard: 0, shards: 1, cluster: 'c', manifest: index.manifest, codebook: '', commit: '', pid: 0 }];
  const cluster = new plait.ClusterIndex('c', shards as never, info);
  const proto = Object.getPrototypeOf(cluster) as object;
  const methods = Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor' && !PRIVATE.has(`ClusterIndex.${m}`) && typeof Object.getOwnPropertyDescriptor(proto, m)?.value === 'function');
  for (const m of ['searchEncodedBatch', 'rewrite', 'explain', 'rerankDocs', 'documentsOf']) assert.ok(methods.includes(m), m);
  const failures: string[] = [];
  for (const m of methods) {
    for (const bad of BAD_FIRST) {
      const o = await outcome(() => (cluster as unknown as Record<string, (a: unknown) => unknown>)[m]!(bad));
      if (o.kind === 'other') failures.push(`cluster.${m}(${label(bad)}) → ${o.what}`);
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('the main doors, given a valid first argument, refuse a wrong next one (their options, or the qrels, run or documents they take) with INVALID_ARGUMENT', async () => {
  const run = new Map([['q1', [{ docId: 'd1', score: 1 }]]]);
  const idx = join(dir, 'idx');
  const mainDoors: Record<string, (bad: unknown) => unknown> = {
    buildIndex: (b) => plait.buildIndex([{ docId: 'a', text: 'x' }], b as never),
    openIndex: (b) => plait.openIndex(idx, b as never),
    addCorpus: (b) => plait.addCorpus(idx, join(dir, 'none.jsonl'), b as never),
    updateIndex: (b) => plait.updateIndex(idx, b as never),
    createEncoder: (b) => plait.createEncoder({ family: 'colbert-onnx', dir: join(dir, 'no-model') }, b as never),
    resolveModelSpec: (b) => plait.resolveModelSpec(undefined, b as never),
    pullModel: (b) => plait.pullModel('org/model', b as never),
    cachedModel: (b) => plait.cachedModel('org/model', b as never),
    rerank: (b) => plait.rerank('q', [], b as never),
    'rerank documents': (b) => plait.rerank('q', b as never),
    calibrateIndex: (b) => plait.calibrateIndex(index, b as never),
    evaluateRun: (b) => plait.evaluateRun(run, b as never),
    formatRun: (b) => plait.formatRun(run, b as never),
    writeRun: (b) => plait.writeRun(join(dir, 'run.trec'), b as never),
    parseQueries: (b) => plait.parseQueries('q1\tfirst\n', b as never),
    parseQrels: (b) => plait.parseQrels('q1\t0\td1\t1\n', b as never),
    'index.search': (b) => index.search('q', b as never),
    'index.searchEncoded': (b) => index.searchEncoded('q', b as never),
    'index.searchEncodedBatch': (b) => index.searchEncodedBatch(['q'], b as never),
    'index.highlightHits': (b) => index.highlightHits([], b as never, true),
  };
  const failures: string[] = [];
  // Where the second argument is not an options bag: its own wrong values ([] is a valid empty list of documents).
  const ownBad: Record<string, readonly unknown[]> = { 'rerank documents': [null, 42, 'x', {}] };
  for (const [name, call] of Object.entries(mainDoors)) {
    for (const bad of ownBad[name] ?? BAD_OPTIONS) {
      const o = await outcome(() => call(bad));
      if (o.kind !== 'plait' || o.code !== 'INVALID_ARGUMENT') failures.push(`${name}(valid, ${label(bad)}) → ${o.kind === 'plait' ? o.code : o.kind === 'other' ? o.what : 'returned'}`);
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('a refusal names the parameter and what it expected', async () => {
  const cases: [() => unknown, RegExp][] = [
    [() => plait.parseQrels(42 as never), /Expected .* for text but received 42/],
    [() => plait.createEncoder(undefined as never), /for model(Spec)? but received undefined/],
    [() => plait.writeRun(join(dir, 'r.trec'), null as never), /for run but received null/],
    [() => index.searchEncoded('q', 'x' as never), /for embedding but received "x"/],
  ];
  for (const [call, message] of cases) {
    const o = await outcome(call);
    assert.equal(o.kind, 'plait', String(call));
    await assert.rejects(async () => call(), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && message.test(e.message));
  }
});

test('an export that refuses none of the wrong first arguments is one that accepts anything by design', () => {
  // Filled by the first test: an export that took undefined, null, 42, "x", {} and [] alike.
  assert.deepEqual(silent, [], `these accepted every wrong first argument; refuse them or list them in ACCEPTS_ANYTHING with why:\n${silent.join('\n')}`);
});
