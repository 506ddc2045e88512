/**
 * Which pseudo-query generator predicts PLAID's fidelity on real queries? For each generator and
 * for the data set's real queries (natural, and 2–4-word keyword queries derived from them), the
 * grid replay gives fidelity per grid point; then, per generator, the point calibration would
 * choose (cheapest reaching the target on that generator alone) is scored on the real queries.
 *
 * Run: `node dist/bench/pseudo-query-kinds.js <dataset> <index> [pseudoPerKind=60] [k=10]`.
 */
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { CALIBRATION_DEFAULTS } from '../src/config/defaults.js';
import { chooseSettings, FidelityTally } from '../src/calibrate/choose-settings.js';
import { PlaidReplayer, type ReplayGrid } from '../src/calibrate/plaid-replay.js';
import { pseudoQueryGenerators } from '../src/calibrate/pseudo-queries.js';
import { getKernels } from '../src/kernels/index.js';
import { idfWeights } from '../src/search/idf.js';
import type { EncodedQuery } from '../src/search/plaid.js';
import { Random } from '../src/util/random.js';
import { judgedQueries, keywordOf } from './calibration.js';
import { isMain } from './common.js';

/** `perKind` pseudo-queries of every kind, drawn from the corpus with calibration's seed ("pseudo <kind>" → texts). */
export function pseudoQuerySets(index: PlaitIndex, perKind: number): Record<string, string[]> {
  const sets: Record<string, string[]> = {};
  const rng = new Random(CALIBRATION_DEFAULTS.seed);
  const nDocs = index.docstore.nDocuments;
  for (const [name, gen] of Object.entries(pseudoQueryGenerators)) {
    const texts = new Set<string>();
    for (let a = 0; texts.size < perKind && a < 50 * perKind; a++) {
      const doc = index.docstore.getDocument(rng.int(nDocs));
      if (doc === null) continue;
      const t = gen(doc, rng);
      if (t !== null) texts.add(t);
    }
    sets[`pseudo ${name}`] = [...texts];
  }
  return sets;
}

export async function pseudoQueryKinds(dataset: string, indexPath: string, perKind: number, k: number): Promise<object> {
  const judged = await judgedQueries(dataset);
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const sets: Record<string, string[]> = {
      'real natural': judged.map((q) => q.text),
      'real keyword': judged.map((q, i) => keywordOf(q.text, i)),
    };
    Object.assign(sets, pseudoQuerySets(index, perKind));
    const nDocs = index.docstore.nDocuments;
    const encoder = await index.encoder();
    const df = index.docstore.tokenDf();
    // A coarser grid than calibration's (480 points instead of 2,016), so that hundreds of real
    // queries replay in minutes on a shared 2-core machine.
    const grid: ReplayGrid = { nIvfProbe: [1, 2, 4, 8], nIvfProbeTotal: [null, 16, 32], centroidScoreThreshold: [0.5, 0.45, 0.3, -1], ndocs: [256, 512, 1024, 2048, 4096], centroidScoreMargin: [null], ndocsQueryTokens: [null, 32] };
    const replayer = new PlaidReplayer({ arrays: index.scoringArrays, kernels: getKernels(), pidToDoc: index.docstore.pidToDoc, docSpan: index.docstore.rowidSpan, grid, bucketK: [Math.min(k, nDocs)] });
    const points = replayer.points;
    const tallies: Record<string, FidelityTally> = {};
    for (const [name, texts] of Object.entries(sets)) {
      const emb = await encoder.encodeQueries(texts);
      const t = new FidelityTally(points.length, 1);
      for (const e of emb) {
        if (e.length === 0) continue;
        const q: EncodedQuery = { vectors: e.vectors, length: e.length, weights: idfWeights(e.tokenIds, df.df, df.n) };
        const r = replayer.replay(q);
        t.add('all', r.found, r.total, r.estMs);
      }
      tallies[name] = t;
      process.stderr.write(`${name}: ${t.nQueries} queries, e.g. ${JSON.stringify(texts.slice(0, 3))}\n`);
    }
    const rows = [];
    for (const [name, t] of Object.entries(tallies)) {
      const [c] = chooseSettings(points, t, CALIBRATION_DEFAULTS.target);
      rows.push({
        chosenBy: name,
        params: c!.params,
        reached: c!.reached,
        estMs: Math.round(c!.estMs * 10) / 10,
        onItself: Math.round(c!.fidelity * 10000) / 10000,
        realNatural: Math.round(tallies['real natural']!.fidelity(c!.point, 0) * 10000) / 10000,
        realKeyword: Math.round(tallies['real keyword']!.fidelity(c!.point, 0) * 10000) / 10000,
      });
    }
    const perPoint = Object.fromEntries(
      Object.entries(tallies).map(([name, t]) => [name, { queries: t.nQueries, fidelity: points.map((_, p) => t.fidelity(p, 0)), estMs: points.map((_, p) => t.meanEstMs(p)) }]),
    );
    return { dataset, k, rows, points, perPoint };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, perKind, k] = process.argv.slice(2);
  if (dataset === undefined || indexPath === undefined) {
    process.stderr.write('usage: node dist/bench/pseudo-query-kinds.js <dataset> <index> [perKind] [k]\n');
    process.exit(2);
  }
  const r = await pseudoQueryKinds(dataset, indexPath, Number(perKind ?? 60), Number(k ?? 10));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
