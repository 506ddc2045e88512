/**
 * The first query after open (polish5): what a process's first search pays in one-time setup, and
 * what `PlaitIndex.warmUp` takes off it. Each run is a fresh process (the setup is per process and
 * per thread), cold and warm runs interleaved, each:
 *   open (`openIndex`), the query encoder loaded and run once (as the CLI and the server do before
 *   their first query), then — warm runs only — `warmUp({ encoder: false })`, then four queries
 *   (three distinct, then the first again), each timed as a whole and by stage.
 * With workers, the cold run first does what the server's warm-up did before polish5 (one query in
 * the model's default mode, which reaches one worker), and the queries go in batches of `workers`
 * (one a worker): each figure is then the batch's wall time and its slowest query's stages.
 * The median over the runs of each figure is printed, with first / second-query ratios in the same run.
 *
 * Run: `node dist/bench/first-query.js <index> [runs=3] [workers=0] [mode=late]`
 * (bench/RESULTS.md, "First query after open (polish5)": /tmp/qr-idx/scifact).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openIndex, type SearchMode } from '../src/index.js';
import { isMain, machine } from './common.js';

const QUERIES = ['vitamin D and bone density', 'statins reduce cardiovascular risk', 'gene expression in cancer cells', 'vitamin D and bone density'];

interface QueryFigures {
  ms: number;
  candidatesMs: number;
  interactionMs: number;
  exactMs: number;
  bm25Ms: number;
}

interface RunFigures {
  openMs: number;
  encoderMs: number;
  warmUpMs: number;
  queries: QueryFigures[];
}

/** One process's run (the child). */
async function child(path: string, warm: boolean, workers: number, mode: SearchMode): Promise<RunFigures> {
  let t = performance.now();
  const index = await openIndex(path, { workers });
  const openMs = performance.now() - t;
  try {
    t = performance.now();
    await (await index.encoder()).encodeQueries(['load the query encoder']);
    const encoderMs = performance.now() - t;
    t = performance.now();
    if (warm) await index.warmUp({ encoder: false });
    const warmUpMs = warm ? performance.now() - t : 0;
    if (!warm && workers > 0) await index.search('warm up the index', { mode: index.manifest.model.defaultMode, topK: 10 });
    const queries: QueryFigures[] = [];
    const per = Math.max(1, workers);
    for (let i = 0; i < QUERIES.length; i += per) {
      t = performance.now();
      const results = await index.searchBatch(QUERIES.slice(i, i + per), { mode, topK: 10 });
      const ms = performance.now() - t;
      const worst = (f: (x: (typeof results)[number]['timings']) => number | undefined): number => Math.max(...results.map((r) => f(r.timings) ?? 0));
      queries.push({ ms, candidatesMs: worst((x) => x.candidatesMs), interactionMs: worst((x) => x.interactionMs), exactMs: worst((x) => x.exactMs), bm25Ms: worst((x) => x.bm25Ms) });
    }
    return { openMs, encoderMs, warmUpMs, queries };
  } finally {
    await index.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function summarise(runs: RunFigures[]): object {
  const r1 = (x: number): number => Number(x.toFixed(1));
  const q = (i: number, k: keyof QueryFigures): number => r1(median(runs.map((r) => r.queries[i]![k])));
  return {
    openMs: r1(median(runs.map((r) => r.openMs))),
    encoderMs: r1(median(runs.map((r) => r.encoderMs))),
    warmUpMs: r1(median(runs.map((r) => r.warmUpMs))),
    queries: runs[0]!.queries.map((_, i) => ({ ms: q(i, 'ms'), candidatesMs: q(i, 'candidatesMs'), interactionMs: q(i, 'interactionMs'), exactMs: q(i, 'exactMs'), bm25Ms: q(i, 'bm25Ms') })),
    firstOverSecond: Number((median(runs.map((r) => r.queries[0]!.ms)) / median(runs.map((r) => r.queries[1]!.ms))).toFixed(2)),
  };
}

export function run(path: string, runs = 3, workers = 0, mode: SearchMode = 'late'): object {
  const self = fileURLToPath(import.meta.url);
  const out: Record<'cold' | 'warm', RunFigures[]> = { cold: [], warm: [] };
  const load = [loadavg()[0]!];
  for (let i = 0; i < runs; i++) {
    for (const variant of ['cold', 'warm'] as const) {
      const r = spawnSync(process.execPath, [self, 'child', path, variant, String(workers), mode], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`child ${variant} failed: ${r.stderr}`);
      out[variant].push(JSON.parse(r.stdout) as RunFigures);
    }
    load.push(loadavg()[0]!);
  }
  return { benchmark: 'first-query', machine: machine(), index: path, workers, mode, runs, loadavg1m: load.map((x) => Number(x.toFixed(2))), cold: summarise(out.cold), warm: summarise(out.warm) };
}

if (isMain(import.meta.url)) {
  const [a, b, c, d, e] = process.argv.slice(2);
  if (a === 'child') console.log(JSON.stringify(await child(b!, c === 'warm', Number(d), e as SearchMode)));
  else console.log(JSON.stringify(run(a!, Number(b ?? 3), Number(c ?? 0), (d ?? 'late') as SearchMode), null, 2));
}
