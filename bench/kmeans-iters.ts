/**
 * Where a build's CPU goes, and what k-means iterations buy (issue: a newcomer's first build is
 * mostly k-means). For each iteration count it builds the BEIR corpus with the bundled model
 * (`kmeansIters` forced), timing each phase in this process's CPU time (process.cpuUsage(): every
 * thread of the process, the encoder's and the assignment workers' included) and each k-means
 * iteration; then runs `plait eval <index> --modes exhaustive,plaid,hybrid` (a child process, not
 * counted) and compares the runs across builds: nDCG@10 of each mode with a paired randomisation
 * test against the last iteration count given (the reference), and PLAID's share of its own
 * index's exhaustive top-10 at eval's depth (100: PLAID's k ≤ 100 defaults) and at depth 10 (its k ≤ 10
 * defaults). Re-run with the same out-dir to evaluate the indexes again without rebuilding them.
 *
 * Run: `node dist/bench/kmeans-iters.js <beir-folder> [iters, e.g. 4,6,10] [out-dir] [first-n-docs]`
 * (out-dir default /tmp/kmeans-iters; first-n-docs builds only the corpus's first documents, the
 * small-sample regime, and is judged against the full qrels, so compare its rows with each other only).
 * Figures: bench/RESULTS.md, "k-means iterations".
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex, type BuildProgress } from '../src/indexer/build-index.js';
import { readQrels } from '../src/eval/qrels.js';
import { readRun, type Run } from '../src/eval/run.js';
import { evaluateRun, metricVector } from '../src/eval/metrics.js';
import { pairedRandomizationTest } from '../src/eval/significance.js';
import { isMain, machine } from './common.js';

const MODES = ['exhaustive', 'plaid', 'hybrid'] as const;

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface PhaseCost {
  /** CPU ms of each phase (read = corpus, splitting, SQLite/FTS inserts; sample = encoding the sample; compress = codec fit, compression, encoding unsampled passages; ivf = IVF, docstore close, publish). */
  phases: Record<string, number>;
  /** CPU ms of each k-means iteration. */
  iterations: number[];
  wallMs: number;
  manifest: { passages: number; tokens: number; centroids: number; kmeansVectors: number; kmeansIters: number; assignMs: number | undefined };
}

async function firstDocs(corpus: string, n: number, out: string): Promise<string> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: createReadStream(corpus) })) {
    if (line.trim() === '') continue;
    lines.push(line);
    if (lines.length === n) break;
  }
  writeFileSync(out, lines.join('\n') + '\n');
  return out;
}

async function build(corpus: string, index: string, iters: number): Promise<PhaseCost> {
  rmSync(index, { recursive: true, force: true });
  const phases: Record<string, number> = {};
  const iterations: number[] = [];
  let phase = 'read'; // model load, corpus reading, splitting, SQLite/FTS inserts
  let at = cpuMs();
  let iterAt = at;
  let iterDone = 0;
  const wall0 = performance.now();
  // The phase that starts at an event: the last 'read' report ends reading (the first sample step's
  // encoding comes before the first 'sample' report); the last iteration ends k-means, and codec
  // fitting, compression (and encoding the unsampled passages) run until 'ivf'.
  const startsAt = (p: BuildProgress): string | null => {
    if (p.phase === 'read') return p.total > 0 && p.done === p.total ? 'sample' : 'read';
    if (p.phase === 'kmeans') return p.done === p.total ? 'compress' : 'kmeans';
    if (p.phase === 'sample' || p.phase === 'encode') return null;
    return p.phase;
  };
  const onProgress = (p: BuildProgress): void => {
    const now = cpuMs();
    if (p.phase === 'kmeans' && p.done > iterDone) {
      iterations.push(now - iterAt);
      iterAt = now;
      iterDone = p.done;
    }
    const next = startsAt(p);
    if (next !== null && next !== phase) {
      phases[phase] = (phases[phase] ?? 0) + (now - at);
      phase = next;
      at = now;
      if (next === 'kmeans') iterAt = now;
    }
  };
  // skipInvalid: cranfield has documents with no title and no text (as `plait eval` run on its folder would need too).
  const r = await buildIndex(corpus, { index, kmeansIters: iters, onProgress, skipInvalid: true });
  phases[phase] = (phases[phase] ?? 0) + (cpuMs() - at);
  const m = r.manifest;
  const s = m.settings;
  return {
    phases,
    iterations,
    wallMs: performance.now() - wall0,
    manifest: { passages: m.counts.passages, tokens: m.counts.tokens, centroids: m.counts.centroids, kmeansVectors: s.kmeansVectors, kmeansIters: s.kmeansIters, assignMs: s.centroidAssignment?.assignMs },
  };
}

function top10Share(plaid: Run, exhaustive: Run): number {
  let found = 0;
  let slots = 0;
  for (const [q, hits] of exhaustive) {
    const want = hits.slice(0, 10).map((h) => h.docId);
    const got = new Set((plaid.get(q) ?? []).slice(0, 10).map((h) => h.docId));
    for (const d of want) if (got.has(d)) found++;
    slots += want.length;
  }
  return slots === 0 ? 1 : found / slots;
}

export async function run(beir: string, itersList: number[], outDir: string, firstN?: number): Promise<object> {
  mkdirSync(outDir, { recursive: true });
  const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const corpus = firstN === undefined ? join(beir, 'corpus.jsonl') : await firstDocs(join(beir, 'corpus.jsonl'), firstN, join(outDir, 'corpus.jsonl'));
  const qrels = await readQrels(join(beir, 'qrels', 'test.tsv'));
  const rows: { iters: number; cost: PhaseCost; runs: Map<string, Run> }[] = [];
  for (const iters of itersList) {
    const index = join(outDir, `${basename(beir)}-${iters}`);
    // An index this bench built before (its cost file beside it) is evaluated again, not rebuilt.
    const costFile = `${index}.cost.json`;
    const cost = existsSync(costFile) ? (JSON.parse(readFileSync(costFile, 'utf8')) as PhaseCost) : await build(corpus, index, iters);
    writeFileSync(costFile, JSON.stringify(cost));
    const runDir = join(outDir, `${basename(beir)}-${iters}-runs`);
    rmSync(runDir, { recursive: true, force: true });
    execFileSync(process.execPath, [join(repo, 'bin', 'plait.js'), 'eval', index, '--queries', join(beir, 'queries.jsonl'), '--qrels', join(beir, 'qrels', 'test.tsv'), '--modes', MODES.join(','), '--run-dir', runDir, '--json', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
    // PLAID at k = 10 runs ColBERT's k ≤ 10 defaults (ncells 1, ndocs 256), the ones that prune hardest.
    const runDir10 = `${runDir}-k10`;
    rmSync(runDir10, { recursive: true, force: true });
    execFileSync(process.execPath, [join(repo, 'bin', 'plait.js'), 'eval', index, '--queries', join(beir, 'queries.jsonl'), '--qrels', join(beir, 'qrels', 'test.tsv'), '--modes', 'exhaustive,plaid', '--depth', '10', '--run-dir', runDir10, '--json', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const runs = new Map<string, Run>();
    for (const mode of MODES) runs.set(mode, await readRun(join(runDir, `${mode}.trec`)));
    for (const mode of ['exhaustive', 'plaid']) runs.set(`${mode}@10`, await readRun(join(runDir10, `${mode}.trec`)));
    rows.push({ iters, cost, runs });
    console.error(`${basename(beir)} iters ${iters}: ${JSON.stringify(cost)}`);
  }
  const ref = rows[rows.length - 1]!;
  const refResults = new Map(MODES.map((m) => [m, evaluateRun(ref.runs.get(m)!, qrels)]));
  const table = rows.map((r) => {
    const quality: Record<string, { ndcg10: number; diffVsRef: number; p: number }> = {};
    for (const mode of MODES) {
      const e = evaluateRun(r.runs.get(mode)!, qrels);
      const b = refResults.get(mode)!;
      const a = metricVector(e, 'ndcg@10', b.queryIds);
      const t = pairedRandomizationTest(a, metricVector(b, 'ndcg@10'));
      quality[mode] = { ndcg10: e.mean['ndcg@10'], diffVsRef: t.meanDiff, p: t.p };
    }
    const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
    return {
      iters: r.iters,
      quality,
      /** PLAID at the k ≤ 100 defaults (eval's depth 100) and at the k ≤ 10 defaults. */
      plaidShareOfExhaustiveTop10: top10Share(r.runs.get('plaid')!, r.runs.get('exhaustive')!),
      plaidK10ShareOfExhaustiveTop10: top10Share(r.runs.get('plaid@10')!, r.runs.get('exhaustive@10')!),
      cpuS: Object.fromEntries(Object.entries(r.cost.phases).map(([k, v]) => [k, +(v / 1000).toFixed(1)])),
      kmeansIterCpuS: r.cost.iterations.map((v) => +(v / 1000).toFixed(1)),
      totalCpuS: +(sum(Object.values(r.cost.phases)) / 1000).toFixed(1),
      wallS: +(r.cost.wallMs / 1000).toFixed(1),
      manifest: r.cost.manifest,
    };
  });
  return { machine: machine(), corpus: basename(beir), firstN: firstN ?? null, reference: ref.iters, table };
}

if (isMain(import.meta.url)) {
  const [beir, iters = '4,6,10', out = '/tmp/kmeans-iters', firstN] = process.argv.slice(2);
  if (beir === undefined) throw new Error('usage: kmeans-iters.js <beir-folder> [iters] [out-dir] [first-n-docs]');
  const result = await run(beir, iters.split(',').map(Number), out, firstN === undefined ? undefined : Number(firstN));
  console.log(JSON.stringify(result, null, 2));
}
