/**
 * Two versions of plait on the MS MARCO-shaped index in ONE run (issue 22's 1M goal: PLAID p50 at
 * k = 10 and k = 100 ≥ 2.5× faster than commit aa45c90, with ≥ 0.99 of the exhaustive top-10 over
 * ≥ 100 exhaustive queries). Each version searches in its own child process (its own dist/ and
 * native addon, `workers` scoring workers); the parent sends both the same queries in blocks of
 * BLOCK, alternating which goes first, so that the machine's load hits both alike.
 *
 *   node dist/bench/msmarco-compare.js oracle <index> [queries=100] [workers=2] [from]
 *       The exhaustive top-100 (ids and scores) of the first `queries` generated queries, by this
 *       version's exhaustive search (every passage scored), cached under $S1M_DIR (default /tmp/s1m)
 *       as oracle-<index key>-q<query seed>.jsonl, one query a line. Resumable: a second run adds
 *       only the queries the file lacks. The index key is a CRC of the manifest's counts, codec and
 *       build seed, so identical indexes written by different versions share one oracle.
 *   node dist/bench/msmarco-compare.js compare <baseRoot> <baseIndex> <headIndex> [queries=1000] [workers=2]
 *       Latency at k = 10 and 100 of the version at <baseRoot> (a built worktree, e.g. aa45c90's)
 *       on <baseIndex> against this worktree's on <headIndex> (the two indexes may differ in format
 *       but must hold the same data: their keys must match), p50/p95/p99, per-stage means, and each
 *       version's share of the cached oracle's top-10 / top-100 over the queries the oracle has.
 *       The hits are kept (compare-hits-<index key>-q<seed>.json) for `fidelity`.
 *   node dist/bench/msmarco-compare.js fidelity <headIndex>
 *       The last compare's fidelity against the oracle as it stands (run after more oracle queries;
 *       with the same HEAD_ENV as that compare).
 *
 * Queries: `msmarcoQueries` of bench/msmarco-shaped.ts (32 noisy tokens of a random passage, seed
 * QUERY_SEED), cached as queries-s<seed>-n<n>.f32 so that the 512 MiB generator pool is made once.
 * Environment variables (PLAIT_EXACT_SCORING, …) reach both children alike; HEAD_ENV="NAME=value …"
 * sets variables for the head child only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { crc32 } from 'node:zlib';
import { isMain, machine, percentiles } from './common.js';
import { MSMARCO_DIM, QUERY_SEED, QUERY_TOKENS, msmarcoQueries, topicalPool } from './msmarco-shaped.js';

/** Queries a child runs before handing over to the other (small enough that load bursts hit both). */
const BLOCK = 50;
/** Warm-up queries per version and k (int8 centroids, page cache, JIT). */
const WARMUP = 10;
/** Depth of the cached exhaustive oracle (the largest k compared). */
const ORACLE_DEPTH = 100;
const STAGES = ['candidatesMs', 'pruneMs', 'interactionMs', 'exactMs', 'candidates'] as const;

const HEAD_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function cacheDir(): string {
  const dir = process.env.S1M_DIR ?? '/tmp/s1m';
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface ManifestLike {
  counts: { passages: number; tokens: number; centroids: number };
  codec: { cutoffs: number[]; weights: number[] };
  settings: { seed: number };
  nbits: number;
  dim: number;
}

/** Identity of an index's data (not its format): CRC of counts, codec and build seed. */
export function indexKey(indexPath: string): string {
  const m = JSON.parse(readFileSync(join(indexPath, 'manifest.json'), 'utf8')) as ManifestLike;
  const id = JSON.stringify([m.counts.passages, m.counts.tokens, m.counts.centroids, m.dim, m.nbits, m.codec.cutoffs, m.codec.weights, m.settings.seed]);
  return `p${m.counts.passages}-${(crc32(id) >>> 0).toString(16).padStart(8, '0')}`;
}

/** The first `n` generated queries as one QUERY_TOKENS × dim block each, from the cache or made and cached. */
function queriesFile(nPassages: number, n: number): string {
  const file = join(cacheDir(), `queries-p${nPassages}-s${QUERY_SEED}-n${n}.f32`);
  if (!existsSync(file)) {
    const qs = msmarcoQueries(topicalPool(), nPassages, n);
    const all = new Float32Array(n * QUERY_TOKENS * MSMARCO_DIM);
    qs.forEach((q, i) => all.set(q.vectors, i * QUERY_TOKENS * MSMARCO_DIM));
    writeFileSync(`${file}.tmp`, all);
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

/** The first `n` generated queries over an index of `nPassages` passages (cached; see queriesFile). */
export function queriesOf(nPassages: number, n: number): TokenEmbeddings[] {
  return readQueries(queriesFile(nPassages, n));
}

function readQueries(file: string): TokenEmbeddings[] {
  const buf = readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const per = QUERY_TOKENS * MSMARCO_DIM;
  return Array.from({ length: all.length / per }, (_, i) => ({ vectors: all.slice(i * per, (i + 1) * per), length: QUERY_TOKENS, tokenIds: new Int32Array(QUERY_TOKENS) }));
}

interface OracleRow {
  i: number;
  ids: string[];
  scores: number[];
  ms: number;
}

function oracleFile(indexPath: string): string {
  return join(cacheDir(), `oracle-${indexKey(indexPath)}-q${QUERY_SEED}.jsonl`);
}

function readOracle(file: string): OracleRow[] {
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l): OracleRow[] => {
      try {
        return [JSON.parse(l) as OracleRow];
      } catch {
        return []; // a run killed mid-write leaves at most a torn line
      }
    });
  // Keep the unbroken prefix 0, 1, 2, … (duplicates from a second process skipped).
  const out: OracleRow[] = [];
  for (const r of rows.sort((a, b) => a.i - b.i)) if (r.i === out.length) out.push(r);
  return out;
}

async function oracle(indexPath: string, nQueries: number, workers: number, from?: number): Promise<object> {
  const { openIndex } = await import('../src/search/plait-index.js');
  const file = oracleFile(indexPath);
  // `from`: start there instead of after the cached prefix (a second process filling the tail; the
  // reader keeps the unbroken prefix and skips duplicates).
  const have = from ?? readOracle(file).length;
  const index = await openIndex(indexPath, { workers });
  try {
    const queries = readQueries(queriesFile(index.manifest.counts.passages, Math.max(nQueries, have)));
    const ms: number[] = [];
    for (let i = have; i < nQueries; i++) {
      const t = performance.now();
      const [r] = await index.searchEncodedBatch([''], [queries[i]!], { mode: 'late', topK: ORACLE_DEPTH, exhaustive: true });
      const row: OracleRow = { i, ids: r!.hits.map((h) => h.docId), scores: r!.hits.map((h) => h.score), ms: performance.now() - t };
      ms.push(row.ms);
      appendFileSync(file, `${JSON.stringify(row)}\n`);
      process.stderr.write(`oracle ${i + 1}/${nQueries} ${Math.round(row.ms)} ms load ${loadavg()[0]!.toFixed(1)}\n`);
    }
    return { benchmark: 'msmarco-compare oracle', file, queries: readOracle(file).length, added: ms.length, exhaustiveMs: ms.length > 0 ? percentiles(ms) : null, loadavg: loadavg() };
  } finally {
    await index.close();
  }
}

// ---- the child: one version's searcher, driven over IPC ----

type ChildRequest = { cmd: 'open'; root: string; index: string; workers: number; queries: string } | { cmd: 'run'; k: number; from: number; to: number } | { cmd: 'close' };

interface RunReply {
  ms: number[];
  stages: number[][];
  hits: string[][];
}

async function child(): Promise<void> {
  interface Searcher {
    manifest: { counts: { passages: number } };
    searchEncodedBatch(q: string[], e: TokenEmbeddings[], o: object): Promise<{ hits: { docId: string }[]; timings: object }[]>;
    close(): Promise<void>;
  }
  let index: Searcher | undefined;
  let queries: TokenEmbeddings[] = [];
  process.on('message', (m: ChildRequest) => {
    void (async () => {
      try {
        if (m.cmd === 'open') {
          const mod = (await import(pathToFileURL(join(m.root, 'dist/src/search/plait-index.js')).href)) as { openIndex(p: string, o: object): Promise<Searcher> };
          const kernels = (await import(pathToFileURL(join(m.root, 'dist/src/kernels/index.js')).href)) as { kernelsStatus(): { active: string } };
          const t = performance.now();
          index = await mod.openIndex(m.index, { workers: m.workers });
          queries = readQueries(m.queries);
          process.send!({ openMs: performance.now() - t, kernels: kernels.kernelsStatus().active });
        } else if (m.cmd === 'run') {
          const reply: RunReply = { ms: [], stages: [], hits: [] };
          for (let i = m.from; i < m.to; i++) {
            const t = performance.now();
            const [r] = await index!.searchEncodedBatch([''], [queries[i]!], { mode: 'late', topK: m.k });
            reply.ms.push(performance.now() - t);
            const timings = r!.timings as Record<string, number | undefined>;
            reply.stages.push(STAGES.map((s) => timings[s] ?? 0));
            reply.hits.push(r!.hits.map((h) => h.docId));
          }
          process.send!(reply);
        } else {
          await index?.close();
          process.send!({ closed: true }, () => process.exit(0));
        }
      } catch (e) {
        process.send!({ error: String((e as Error).stack ?? e) });
      }
    })();
  });
}

/** HEAD_ENV="NAME=value …": variables for the head child only (e.g. PLAIT_EXACT_SCORING=fastscan, which aa45c90 does not know). */
function headEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (process.env.HEAD_ENV ?? '').split(/\s+/).filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

class Version {
  private readonly proc: ChildProcess;
  constructor(
    readonly name: string,
    env: Record<string, string> = {},
  ) {
    this.proc = fork(fileURLToPath(import.meta.url), ['child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  }
  request<T>(m: ChildRequest): Promise<T> {
    return new Promise((resolveReply, reject) => {
      this.proc.once('message', (reply: T & { error?: string }) => (reply.error === undefined ? resolveReply(reply) : reject(new Error(`${this.name}: ${reply.error}`))));
      this.proc.send(m);
    });
  }
}

/** Share of the oracle's top-k ids that `hits` holds, over the queries both have. */
function fidelity(hits: string[][], rows: OracleRow[], k: number): { share: number; queries: number; worst: number } {
  let agree = 0;
  let worst = 1;
  const n = Math.min(hits.length, rows.length);
  for (let i = 0; i < n; i++) {
    const want = new Set(rows[i]!.ids.slice(0, k));
    let a = 0;
    for (const d of hits[i]!.slice(0, k)) if (want.has(d)) a++;
    agree += a;
    worst = Math.min(worst, a / want.size);
  }
  return { share: n === 0 ? NaN : agree / (n * k), queries: n, worst: n === 0 ? NaN : worst };
}

/** The hits of the last compare on this index with this HEAD_ENV (a run with HEAD_ENV keeps its own file). */
function hitsFile(indexPath: string): string {
  const env = process.env.HEAD_ENV?.trim();
  const tag = env === undefined || env === '' ? '' : `-env${(crc32(env) >>> 0).toString(16)}`;
  return join(cacheDir(), `compare-hits-${indexKey(indexPath)}-q${QUERY_SEED}${tag}.json`);
}

/** Fidelity of the last `compare`'s hits (both versions, k = 10 and 100) against the oracle as it stands. */
function fidelityOfLastCompare(indexPath: string): object {
  const rows = readOracle(oracleFile(indexPath));
  const saved = JSON.parse(readFileSync(hitsFile(indexPath), 'utf8')) as Record<string, Record<string, string[][]>>;
  const out: Record<string, unknown> = { benchmark: 'msmarco-compare fidelity', oracleQueries: rows.length };
  for (const [name, byK] of Object.entries(saved)) {
    out[name] = { k10Top10: fidelity(byK.k10!, rows, 10), k100Top10: fidelity(byK.k100!, rows, 10), k100Top100: fidelity(byK.k100!, rows, 100) };
  }
  return out;
}

async function compare(baseRoot: string, baseIndex: string, headIndex: string, nQueries: number, workers: number): Promise<object> {
  if (indexKey(baseIndex) !== indexKey(headIndex)) throw new Error(`the two indexes hold different data (${indexKey(baseIndex)} vs ${indexKey(headIndex)})`);
  const nPassages = (JSON.parse(readFileSync(join(headIndex, 'manifest.json'), 'utf8')) as ManifestLike).counts.passages;
  const queries = queriesFile(nPassages, nQueries + WARMUP);
  const rows = readOracle(oracleFile(headIndex));
  const load0 = loadavg();
  const versions = [
    { v: new Version('base'), root: resolve(baseRoot), index: baseIndex },
    { v: new Version('head', headEnv()), root: HEAD_ROOT, index: headIndex },
  ];
  const opened: Record<string, unknown> = {};
  for (const { v, root, index } of versions) opened[v.name] = { root, index, ...(await v.request<object>({ cmd: 'open', root, index, workers, queries })) };
  const out: Record<string, unknown> = {};
  const saved: Record<string, Record<string, string[][]>> = { base: {}, head: {} };
  for (const k of [10, 100]) {
    const runs = versions.map(() => ({ ms: [] as number[], stages: [] as number[][], hits: [] as string[][] }));
    // Warm-up on the queries past the measured ones.
    for (const { v } of versions) await v.request<RunReply>({ cmd: 'run', k, from: nQueries, to: nQueries + WARMUP });
    for (let from = 0, block = 0; from < nQueries; from += BLOCK, block++) {
      const to = Math.min(nQueries, from + BLOCK);
      const order = block % 2 === 0 ? [0, 1] : [1, 0];
      for (const j of order) {
        const r = await versions[j]!.v.request<RunReply>({ cmd: 'run', k, from, to });
        runs[j]!.ms.push(...r.ms);
        runs[j]!.stages.push(...r.stages);
        runs[j]!.hits.push(...r.hits);
      }
    }
    const byVersion: Record<string, unknown> = {};
    versions.forEach(({ v }, j) => {
      const r = runs[j]!;
      saved[v.name]![`k${k}`] = r.hits;
      const stages: Record<string, number> = {};
      STAGES.forEach((s, si) => (stages[s] = r.stages.reduce((a, x) => a + x[si]!, 0) / r.stages.length));
      byVersion[v.name] = { ms: percentiles(r.ms), stagesMean: stages, fidelityTop10: fidelity(r.hits, rows, 10), ...(k === 100 ? { fidelityTop100: fidelity(r.hits, rows, 100) } : {}) };
    });
    const p50 = (n: string): number => (byVersion[n] as { ms: { p50: number } }).ms.p50;
    out[`k${k}`] = { ...byVersion, speedupP50: p50('base') / p50('head') };
  }
  for (const { v } of versions) await v.request<object>({ cmd: 'close' });
  // The hits, for `fidelity` to score against the oracle once it has more queries.
  writeFileSync(hitsFile(headIndex), JSON.stringify(saved));
  return { benchmark: 'msmarco-compare', machine: machine(), workers, headEnv: headEnv(), queries: nQueries, oracleQueries: rows.length, opened, loadavgBefore: load0, loadavgAfter: loadavg(), ...out };
}

if (isMain(import.meta.url)) {
  const [cmd, a, b, c, d, e] = process.argv.slice(2);
  if (cmd === 'child') await child();
  else if (cmd === 'oracle') console.log(JSON.stringify(await oracle(a!, Number(b ?? 100), Number(c ?? 2), d === undefined ? undefined : Number(d)), null, 2));
  else if (cmd === 'fidelity') console.log(JSON.stringify(fidelityOfLastCompare(a!), null, 2));
  else if (cmd === 'compare') console.log(JSON.stringify(await compare(a!, b!, c!, Number(d ?? 1000), Number(e ?? 2)), null, 2));
  else {
    console.error('usage: msmarco-compare oracle <index> [queries] [workers] | compare <baseRoot> <baseIndex> <headIndex> [queries] [workers] | fidelity <headIndex>');
    process.exit(2);
  }
}
