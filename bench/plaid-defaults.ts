/**
 * Do plait's PLAID defaults keep the fidelity promise at a bounded cost? (issue 22, part B.)
 *
 *  grid:     replays a grid of candidate-generation rules (ncells, probe minimum, threshold,
 *            relative margin, ndocs, query-length depth) over the data set's real natural and 2–4-word
 *            keyword queries and calibration's pseudo-query kinds (`perKind` each), and lists the
 *            points that reach ≥ `target` of the exhaustive top-k on every set, cheapest first, with
 *            their estimated cost relative to ColBERT's defaults on each set (PlaidReplayer's
 *            work-based estimate, which leaves out per-search overheads and so overstates ratios).
 *  measure:  searches the real queries through `PlaitIndex.searchEncoded` at three settings —
 *            ColBERT's defaults exactly (`plaidDefaults: 'colbert'`: ColBERT's table, no probe floor,
 *            no margin, centroid-only ranking), plait's previous defaults (`plaidDefaultsFor` with
 *            ColBERT's centroid ranking) and plait's current defaults (`plaidDefaultsFor`) — and any
 *            candidates in PLAIT_BENCH_CANDIDATES, interleaved query by query so load drifts hit all
 *            alike; fidelity against exhaustive search and p50 of each, as ratios to ColBERT's
 *            defaults (the bar) and to plait's current defaults; also the p50 over queries of
 *            each query's fastest round (`p50Fastest`), which a loaded machine's scheduler inflates less.
 *
 * Run: `node dist/bench/plaid-defaults.js grid <dataset> <index> [k=10] [perKind=20]`
 *      `node dist/bench/plaid-defaults.js measure <dataset> <index> [rounds=3] [natural|keyword]`.
 */
import { openIndex, type PlaitIndex, type SearchOptions } from '../src/search/plait-index.js';
import { colbertDefaultsFor, plaidDefaultsFor, type PlaidParams } from '../src/config/defaults.js';
import { FidelityTally } from '../src/calibrate/choose-settings.js';
import { PlaidReplayer, type ReplayGrid } from '../src/calibrate/plaid-replay.js';
import { getKernels, kernelsStatus } from '../src/kernels/index.js';
import { idfWeights } from '../src/search/idf.js';
import type { EncodedQuery } from '../src/search/plaid.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { fidelityOf, judgedQueries, keywordOf } from './calibration.js';
import { pseudoQuerySets } from './pseudo-query-kinds.js';
import { loadavg } from 'node:os';
import { isMain, machine, percentiles } from './common.js';

async function realSets(index: PlaitIndex, dataset: string): Promise<Record<string, { texts: string[]; emb: TokenEmbeddings[] }>> {
  const judged = await judgedQueries(dataset);
  const encoder = await index.encoder();
  const out: Record<string, { texts: string[]; emb: TokenEmbeddings[] }> = {};
  for (const [name, texts] of [
    ['real natural', judged.map((q) => q.text)],
    ['real keyword', judged.map((q, i) => keywordOf(q.text, i))],
  ] as const) {
    out[name] = { texts: [...texts], emb: await encoder.encodeQueries([...texts]) };
  }
  return out;
}

/** The grid of candidate rules: ColBERT's table points plus plait's query-length rules. */
function gridFor(k: number): ReplayGrid {
  const colbert = colbertDefaultsFor(k);
  return {
    nIvfProbe: [...new Set([colbert.nIvfProbe, 1, 2])].sort(),
    nIvfProbeTotal: [null, 16, 32, 64],
    centroidScoreThreshold: [...new Set([colbert.centroidScoreThreshold, 0.45])],
    centroidScoreMargin: [null, 0, 0.05, 0.1],
    ndocs: [...new Set([colbert.ndocs, colbert.ndocs * 2, colbert.ndocs * 4])],
    ndocsQueryTokens: [null, 8, 16, 32],
  };
}

const same = (a: PlaidParams, b: PlaidParams): boolean => JSON.stringify(a) === JSON.stringify(b);

export async function gridStudy(dataset: string, indexPath: string, k: number, perKind: number, target = 0.99): Promise<object> {
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const sets = await realSets(index, dataset);
    const encoder = await index.encoder();
    for (const [name, texts] of Object.entries(pseudoQuerySets(index, perKind))) sets[name] = { texts, emb: await encoder.encodeQueries(texts) };
    const df = index.docstore.tokenDf();
    const replayer = new PlaidReplayer({ arrays: index.scoringArrays, kernels: getKernels(), pidToDoc: index.docstore.pidToDoc, docSpan: index.docstore.rowidSpan, grid: gridFor(k), bucketK: [Math.min(k, index.docstore.nDocuments)] });
    const points = replayer.points;
    const tallies: Record<string, FidelityTally> = {};
    for (const [name, { emb }] of Object.entries(sets)) {
      const t = new FidelityTally(points.length, 1);
      for (const e of emb) {
        if (e.length === 0) continue;
        const q: EncodedQuery = { vectors: e.vectors, length: e.length, weights: idfWeights(e.tokenIds, df.df, df.n) };
        const r = replayer.replay(q);
        t.add('all', r.found, r.total, r.estMs);
      }
      tallies[name] = t;
      process.stderr.write(`${name}: ${t.nQueries} queries\n`);
    }
    const colbertPoint = points.findIndex((p) => same(p, colbertDefaultsFor(k)));
    const plaitPoint = points.findIndex((p) => same(p, plaidDefaultsFor(k)));
    const names = Object.keys(tallies);
    const describe = (p: number): Record<string, unknown> => ({
      params: points[p],
      fidelity: Object.fromEntries(names.map((n) => [n, +tallies[n]!.fidelity(p, 0).toFixed(4)])),
      costRatio: Object.fromEntries(names.map((n) => [n, +(tallies[n]!.meanEstMs(p) / tallies[n]!.meanEstMs(colbertPoint)).toFixed(2)])),
      worstRatio: +Math.max(...names.map((n) => tallies[n]!.meanEstMs(p) / tallies[n]!.meanEstMs(colbertPoint))).toFixed(2),
    });
    const reaching = points.map((_, p) => p).filter((p) => names.every((n) => tallies[n]!.fidelity(p, 0) >= target));
    reaching.sort((x, y) => (describe(x).worstRatio as number) - (describe(y).worstRatio as number));
    const realOnly = points.map((_, p) => p).filter((p) => names.filter((n) => n.startsWith('real')).every((n) => tallies[n]!.fidelity(p, 0) >= target));
    realOnly.sort((x, y) => (describe(x).worstRatio as number) - (describe(y).worstRatio as number));
    return {
      dataset,
      k,
      machine: machine(),
      kernels: kernelsStatus().active,
      colbertDefaults: describe(colbertPoint),
      plaitDefaults: plaitPoint >= 0 ? describe(plaitPoint) : 'not on the grid',
      cheapestReachingAllSets: reaching.slice(0, 12).map(describe),
      cheapestReachingRealSets: realOnly.slice(0, 12).map(describe),
    };
  } finally {
    await index.close();
  }
}

/**
 * Settings measured side by side, as search options: ColBERT's defaults (`plaidDefaults: 'colbert'`),
 * plait's previous defaults (before probed-token ranking), plait's current defaults — both spelled
 * out, so an index's calibration record cannot stand in for them — and any candidates in
 * PLAIT_BENCH_CANDIDATES as JSON {name: {"10": SearchOptions, "100": SearchOptions}} (for trying a
 * rule before it becomes the default; a candidate without a k is skipped at that k).
 */
function settingsFor(k: number): Record<string, SearchOptions> {
  const out: Record<string, SearchOptions> = {
    colbert: { plaidDefaults: 'colbert' },
    previous: { ...plaidDefaultsFor(k), interactionScoring: 'centroids' },
    plait: { ...plaidDefaultsFor(k) },
  };
  const raw = process.env.PLAIT_BENCH_CANDIDATES;
  if (raw === undefined) return out;
  for (const [name, byK] of Object.entries(JSON.parse(raw) as Record<string, Record<string, SearchOptions>>)) {
    const c = byK[String(k)];
    if (c !== undefined) out[name] = c;
  }
  return out;
}

/** Rotates `xs` by r places, so each setting takes every position in the query's sequence over the rounds. */
function rotate<T>(xs: readonly T[], r: number): T[] {
  const n = xs.length;
  return xs.map((_, i) => xs[(i + r) % n]!);
}

export async function measureDefaults(dataset: string, indexPath: string, rounds: number, only?: string): Promise<object> {
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const sets = await realSets(index, dataset);
    const rows = [];
    for (const [name, { texts, emb }] of Object.entries(sets)) {
      if (only !== undefined && !name.includes(only)) continue;
      // One exhaustive pass per query serves both k.
      const exact100 = texts.map((t, i) => index.searchEncoded(t, emb[i]!, { mode: 'late', topK: 100, exhaustive: true }).hits.map((h) => h.docId));
      for (const k of [10, 100]) {
        const search = (i: number, options: SearchOptions): { docs: string[]; ms: number } => {
          const t = performance.now();
          const r = index.searchEncoded(texts[i]!, emb[i]!, { mode: 'late', topK: k, ...options });
          return { docs: r.hits.map((h) => h.docId), ms: performance.now() - t };
        };
        const exact = exact100.map((d) => d.slice(0, k));
        const settings = settingsFor(k);
        const names = Object.keys(settings);
        const docs: Record<string, string[][]> = Object.fromEntries(names.map((n) => [n, []]));
        const p50s: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
        // Each query's fastest round: on a loaded machine a search that outlasts its scheduler slice waits
        // out the other processes' slices, so p50s of searches of a few ms jump by ~10 ms there.
        const fastest: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, texts.map(() => Infinity)]));
        for (let r = 0; r < rounds; r++) {
          const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
          texts.forEach((_, i) => {
            // Interleaved query by query, the order rotated every query, so load drifts hit every setting alike.
            for (const which of rotate(names, r + i)) {
              const got = search(i, settings[which]!);
              ms[which]!.push(got.ms);
              fastest[which]![i] = Math.min(fastest[which]![i]!, got.ms);
              if (r === 0) docs[which]!.push(got.docs);
            }
          });
          for (const w of names) p50s[w]!.push(percentiles(ms[w]!).p50);
        }
        const med = (xs: number[]): number => percentiles(xs).p50;
        const row = (w: string): object => ({
          params: index.resolveSearch({ ...settings[w], topK: k }).plaid,
          fidelity: +fidelityOf(docs[w]!, exact, k).toFixed(4),
          top10: +fidelityOf(docs[w]!, exact, 10).toFixed(4),
          p50: +med(p50s[w]!).toFixed(2),
          vsColbert: +(med(p50s[w]!) / med(p50s.colbert!)).toFixed(2),
          vsPlait: +(med(p50s[w]!) / med(p50s.plait!)).toFixed(2),
          p50Fastest: +med(fastest[w]!).toFixed(2),
          vsColbertFastest: +(med(fastest[w]!) / med(fastest.colbert!)).toFixed(2),
        });
        rows.push({ queries: name, k, load: loadavg()[0]!.toFixed(1), ...Object.fromEntries(names.map((w) => [w, row(w)])) });
        process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
      }
    }
    return { dataset, machine: machine(), kernels: kernelsStatus().active, intDotPath: kernelsStatus().intDotPath, rounds, rows };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [mode, dataset, indexPath, a, b] = process.argv.slice(2);
  if ((mode !== 'grid' && mode !== 'measure') || dataset === undefined || indexPath === undefined) {
    process.stderr.write('usage: node dist/bench/plaid-defaults.js grid|measure <dataset> <index> [k|rounds] [perKind]\n');
    process.exit(2);
  }
  const r = mode === 'grid' ? await gridStudy(dataset, indexPath, Number(a ?? 10), Number(b ?? 20)) : await measureDefaults(dataset, indexPath, Number(a ?? 3), b);
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
