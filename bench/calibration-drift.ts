/**
 * Does a calibration still hold after documents are added (issue 16)? On an index that was
 * calibrated and then grown with `plait add`, measures the judged queries' fidelity (natural and
 * 2–4-word keyword queries; share of the exhaustive top-k over the grown index) at the stored
 * settings, at ColBERT's defaults, and at settings re-calibrated now.
 *
 * Run: `node dist/bench/calibration-drift.js <dataset> <index> [budgetS=120]` (the index is only
 * read: re-calibration runs with write: false).
 */
import { openIndex } from '../src/search/plait-index.js';
import { calibrateIndex } from '../src/calibrate/calibrate-index.js';
import { calibratedPlaidParams } from '../src/format/calibration-record.js';
import { plaidDefaultsFor, type PlaidParams } from '../src/config/defaults.js';
import { fidelityOf, judgedQueries, keywordOf, run, type QuerySet } from './calibration.js';
import { isMain, machine } from './common.js';

export async function calibrationDrift(dataset: string, indexPath: string, budgetS: number): Promise<object> {
  const judged = await judgedQueries(dataset);
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const stored = index.manifest.calibration;
    if (stored === undefined) throw new Error(`${indexPath} has no calibration record`);
    const { calibration: fresh } = await calibrateIndex(index, { budgetS, write: false });
    const encoder = await index.encoder();
    const rows = [];
    for (const [name, texts] of [
      ['natural', judged.map((q) => q.text)],
      ['keyword (2–4 words)', judged.map((q, i) => keywordOf(q.text, i))],
    ] as const) {
      const set: QuerySet = { name, texts: [...texts], emb: await encoder.encodeQueries([...texts]), exact: [] };
      set.exact = run(index, set, { exhaustive: true, topK: 100 }).docs;
      for (const k of [10, 100]) {
        const at = (p: PlaidParams): { params: PlaidParams; fidelity: number; p50: number } => {
          const r = run(index, set, { topK: k, ...p });
          return { params: p, fidelity: fidelityOf(r.docs, set.exact, k), p50: r.p50 };
        };
        rows.push({ queries: name, k, defaults: at(plaidDefaultsFor(k)), stored: at(calibratedPlaidParams(stored, k)!), recalibrated: at(calibratedPlaidParams(fresh, k)!) });
      }
    }
    return {
      dataset,
      index: indexPath,
      machine: machine(),
      documentsNow: index.manifest.counts.documents,
      storedOn: { documents: stored.documents, passages: stored.passages, queries: stored.queries },
      recalibratedOn: { queries: fresh.queries, costMs: fresh.costMs },
      rows,
    };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, budget] = process.argv.slice(2);
  if (dataset === undefined || indexPath === undefined) {
    process.stderr.write('usage: node dist/bench/calibration-drift.js <dataset> <index> [budgetS]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await calibrationDrift(dataset, indexPath, Number(budget ?? 120)), null, 2)}\n`);
}
