/**
 * Fidelity of an exact-stage method against another (issue 22's bar: |ΔnDCG@10| ≤ 0.002 against
 * the float path), from the TREC run files `plait eval --run-dir` writes: nDCG@10 of each run to
 * four decimals (eval's table prints three), their difference, and the share of each query's
 * top-10 the two runs have in common.
 *
 * Run: `node dist/bench/exact-fidelity.js <qrels.tsv> <reference.trec> <other.trec> [...more.trec]`
 * (e.g. the plaid.trec files of `PLAIT_EXACT_SCORING=decompress` and `=fastscan` eval runs).
 */
import { readQrels } from '../src/eval/qrels.js';
import { readRun, type Run } from '../src/eval/run.js';
import { evaluateRun } from '../src/eval/metrics.js';
import { isMain } from './common.js';

/** Mean over the reference run's queries of |top-10(a) ∩ top-10(b)| / |top-10(a)|. */
export function sharedTop10(a: Run, b: Run): number {
  let sum = 0;
  let n = 0;
  for (const [qid, hits] of a) {
    const top = hits.slice(0, 10).map((h) => h.docId);
    if (top.length === 0) continue;
    const other = new Set((b.get(qid) ?? []).slice(0, 10).map((h) => h.docId));
    sum += top.filter((d) => other.has(d)).length / top.length;
    n++;
  }
  return n === 0 ? 1 : sum / n;
}

if (isMain(import.meta.url)) {
  const [qrelsPath, refPath, ...others] = process.argv.slice(2);
  if (qrelsPath === undefined || refPath === undefined || others.length === 0) {
    console.error('usage: exact-fidelity <qrels> <reference.trec> <other.trec>...');
    process.exit(2);
  }
  const qrels = await readQrels(qrelsPath);
  const ref = await readRun(refPath);
  const refNdcg = evaluateRun(ref, qrels).mean['ndcg@10'];
  console.log(`${refPath}: nDCG@10 ${refNdcg.toFixed(4)}`);
  for (const path of others) {
    const run = await readRun(path);
    const ndcg = evaluateRun(run, qrels).mean['ndcg@10'];
    const d = ndcg - refNdcg;
    console.log(`${path}: nDCG@10 ${ndcg.toFixed(4)} (Δ ${d >= 0 ? '+' : ''}${d.toFixed(4)}), top-10 shared with the reference ${sharedTop10(ref, run).toFixed(3)}`);
  }
}
