/**
 * `plait calibrate <index>`: measure PLAID on the index with pseudo-queries (or a query log) and
 * store the cheapest settings reaching the fidelity target in its manifest; also the build-time
 * step behind `plait index --calibrate`, and the lines `plait info` shows.
 */
import type { Command } from 'commander';
import { readTextFile } from '../../eval/read-text-file.js';
import { CALIBRATION_DEFAULTS, type PlaidParams } from '../../config/defaults.js';
import { calibrateIndex, type CalibrationResult } from '../../calibrate/calibrate-index.js';
import type { IndexCalibration } from '../../format/calibration-record.js';
import { readQueries } from '../../eval/index.js';
import { openIndex } from '../../search/plait-index.js';
import { ProgressReporter, formatSeconds } from '../progress.js';
import { requireInput } from '../validate.js';
import { WriteInterrupts } from '../interrupt.js';
import { parseFloatArgIn, parseIntArg, printJson, plural } from '../options.js';
import { describePlaidParams } from '../plaid-params-text.js';

interface CalibrateCliOptions {
  queries?: string;
  target: number;
  budgetS: number;
  count: number;
  seed?: number;
  maxCostRatio: number;
  maxLatencyMs?: number;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function parsePositive(name: string): (v: string) => number {
  return parseFloatArgIn(name, 'a number > 0', (n) => n > 0);
}

/** A cost ceiling: a positive number, or "Infinity" / "none" for no ceiling. */
function parseCeiling(name: string): (v: string) => number {
  const finite = parseFloatArgIn(name, 'a number > 0 (or Infinity / none: no ceiling)', (n) => n > 0);
  return (v: string) => (/^(infinity|none)$/i.test(v.trim()) ? Infinity : finite(v));
}

/** A query log: BEIR queries.jsonl, TSV or TREC topics (as `plait eval` reads them), or one query per line (.txt). */
async function readQueryLog(path: string): Promise<string[]> {
  // Through eval's reader: a gzip'd log is read decompressed (log.txt.gz is one query a line too); a Latin-1 one is refused by name and line.
  if (/\.txt(\.gz)?$/i.test(path)) return (await readTextFile(path, 'query log')).replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim().length > 0);
  return (await readQueries(path)).map((q) => q.text);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Why a bucket's choice is not trusted: the target missed, or too few queries of a kind measured. */
function notReachedWhy(c: IndexCalibration, b: IndexCalibration['buckets'][number], stored: boolean): string {
  // A dry run's record is not in the manifest: searches keep what was there ("still uses it" had said otherwise).
  const used = stored ? 'search still uses it' : 'search would use it once stored (without --dry-run)';
  const fewest = Math.min(...Object.values(c.queriesByKind));
  if (Math.min(...Object.values(b.fidelityByKind)) >= (c.required ?? c.target) && fewest < CALIBRATION_DEFAULTS.minQueriesPerKind) {
    return `NOT TRUSTED: ${fewest} ${fewest === 1 ? 'query' : 'queries'} of the rarest kind measured, ${CALIBRATION_DEFAULTS.minQueriesPerKind} needed (give a larger --budget-s); ${used}`;
  }
  // The figure beside it is the mean over kinds, which may round to the requirement: name the kind that fell short.
  const [worstKind, worst] = Object.entries(b.fidelityByKind).reduce((a, e) => (e[1] < a[1] ? e : a));
  return `TARGET NOT REACHED: every kind must find ${pct(c.required ?? c.target)} (target plus headroom), ${worstKind} queries found ${pct(worst)}; this is the most faithful grid point, and ${used}`;
}

/** "; costs 1.8× the defaults (est. 12.0 vs 6.7 ms)", from the record's estimates (absent in older records). */
function costLine(b: IndexCalibration['buckets'][number], maxCostRatio: number | null): string {
  const est = b.estMs;
  const def = b.defaults.estMs;
  if (est === undefined || def === undefined || !(def > 0)) return '';
  // The ceiling holds on the estimate; a measured p50 past it is said (the estimate can compress ratios).
  const measured = b.defaults.p50Ms > 0 ? b.p50Ms / b.defaults.p50Ms : NaN;
  const over = maxCostRatio !== null && measured > maxCostRatio ? ` (measured p50 ${measured.toFixed(1)}×, above the ceiling: lower --max-cost-ratio or set --max-latency-ms)` : '';
  return `; chosen costs ${(est / def).toFixed(1)}× the defaults (est. ${est.toFixed(1)} vs ${def.toFixed(1)} ms)${b.capped === true ? ', capped by the cost ceiling' : ''}${over}`;
}

/**
 * Human-readable lines of a calibration record (also used by `plait info`); given the index's
 * current document count, says when the record was measured on a different one. `stored` false
 * (`plait calibrate --dry-run`): the record is not in the manifest, so an untrusted bucket's
 * settings are said to be what search would use once stored, not what it uses.
 */
export function calibrationLines(c: IndexCalibration, documentsNow?: number, stored = true): string[] {
  const kinds = Object.entries(c.queriesByKind)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const lines = [
    `calibration  ${c.createdAt}: target ${pct(c.target)} of the exhaustive top-k${c.required !== undefined && c.required > c.target ? ` (chosen at ≥ ${pct(c.required)} on every kind of query, for headroom)` : ''}; ${c.queries} ${c.source === 'query-log' ? 'logged queries' : `pseudo-queries (${kinds})`}, ` +
      `${c.gridPoints} grid points, ${formatSeconds(c.costMs / 1000)} of a ${formatSeconds(c.budgetMs / 1000)} budget${c.truncated ? ' (cut by the budget)' : ''}`,
  ];
  for (const b of c.buckets) {
    const bucket = b.maxTopK === null ? `k > 100` : `k ≤ ${b.maxTopK}`;
    lines.push(
      `  ${bucket.padEnd(8)} ${describePlaidParams(b.params)}${b.maxTopK === null ? ' (at least 4·k)' : ''}: ${pct(b.fidelity)} of top-${b.k}, p50 ${b.p50Ms.toFixed(1)} ms` +
        `${b.reached ? '' : ` — ${notReachedWhy(c, b, stored)}`}; defaults ${pct(b.defaults.fidelity)}, p50 ${b.defaults.p50Ms.toFixed(1)} ms${costLine(b, c.costCeiling?.maxCostRatio ?? null)}`,
    );
  }
  if (c.costCeiling !== undefined) {
    const { maxCostRatio: r, maxLatencyMs: ms } = c.costCeiling;
    const parts = [r === null ? null : `${r}× the defaults' estimated cost`, ms === null ? null : `${ms} ms estimated`].filter((x) => x !== null);
    lines.push(`  cost ceiling: ${parts.length === 0 ? 'none' : parts.join(' and ')}${c.buckets.some((b) => b.capped === true) ? ' — it ruled out costlier settings (--max-cost-ratio, --max-latency-ms)' : ''}`);
  }
  if (documentsNow !== undefined && documentsNow !== c.documents) lines.push(`  STALE: measured on ${plural(c.documents, 'document')}, the index now has ${documentsNow}; re-run \`plait calibrate\``);
  else lines.push(`  (measured on ${plural(c.documents, 'document')}; re-run \`plait calibrate\` after large additions)`);
  return lines;
}

/** The optional build-time step: calibrate a just-built index within `budgetS`. */
export async function calibrateAfterBuild(path: string, budgetS: number, progress: ProgressReporter): Promise<CalibrationResult> {
  const index = await openIndex(path, { encoderOptions: { threads: 1 } });
  try {
    return await calibrateIndex(index, { budgetS, onProgress: (p) => progress.update(`calibrate ${p.phase}`, p.done, p.total) });
  } finally {
    progress.done();
    await index.close();
  }
}

export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description('measure PLAID on this index and store the cheapest settings that find the target share of the exhaustive top-k')
    .argument('<index>', 'index name or path')
    .option('--queries <file>', 'a query log to calibrate on (BEIR queries.jsonl, TSV, TREC topics, or .txt one per line); default: pseudo-queries from the corpus')
    .option('--target <share>', 'fidelity target: share of the exhaustive top-k to find, in (0, 1]', parseFloatArgIn('--target', 'a number in (0, 1]', (n) => n > 0 && n <= 1), CALIBRATION_DEFAULTS.target)
    .option('--budget-s <seconds>', 'time budget, > 0', parsePositive('--budget-s'), CALIBRATION_DEFAULTS.budgetS)
    .option('--count <n>', 'queries drawn (before the budget cuts them)', parseIntArg('count', 1), CALIBRATION_DEFAULTS.queries)
    .option('--seed <n>', `seed of the query sample, 0–${CALIBRATION_DEFAULTS.maxSeed} (default: ${CALIBRATION_DEFAULTS.seed})`, parseIntArg('seed', 0, CALIBRATION_DEFAULTS.maxSeed))
    .option('--max-cost-ratio <x>', "cost ceiling: chosen settings may cost at most x times the defaults' estimated cost, > 0 (Infinity or none: no ceiling)", parseCeiling('--max-cost-ratio'), CALIBRATION_DEFAULTS.maxCostRatio)
    .option('--max-latency-ms <ms>', 'cost ceiling: chosen settings may cost at most this many estimated milliseconds per query, > 0 (Infinity or none: no ceiling)', parseCeiling('--max-latency-ms'))
    .option('--dry-run', 'measure and print, but leave the manifest as it is')
    .option('--json', 'print the record as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(async (name: string, o: CalibrateCliOptions) => {
      const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
      const queries = o.queries === undefined ? undefined : await readQueryLog(requireInput(o.queries, '--queries'));
      const index = await openIndex(name, { encoderOptions: { threads: 1 } });
      const before = index.manifest.calibration;
      // The record is committed through the index's transaction: interrupted before it, nothing changes.
      const interrupts = WriteInterrupts.install(o.json === true);
      let result: CalibrationResult;
      try {
        result = await interrupts.run(() => calibrateIndex(index, {
          target: o.target,
          budgetS: o.budgetS,
          count: o.count,
          seed: o.seed,
          queries,
          maxCostRatio: o.maxCostRatio,
          ...(o.maxLatencyMs === undefined ? {} : { maxLatencyMs: o.maxLatencyMs }),
          write: o.dryRun !== true,
          onProgress: (p) => progress.update(p.phase, p.done, p.total),
        }));
      } catch (e) {
        interrupts.dispose();
        throw e;
      } finally {
        progress.done();
        await index.close();
      }
      // A weaker record (fewer buckets trusted) replacing a stronger one is said, not silent.
      const trusted = (c: IndexCalibration | undefined): number => c?.buckets.filter((b) => b.reached).length ?? 0;
      // Weaker: fewer buckets trusted, or as many on fewer queries.
      const now = result.calibration;
      const weaker = o.dryRun !== true && before !== undefined && (trusted(now) < trusted(before) || (trusted(now) === trusted(before) && now.queries < before.queries));
      if (weaker) {
        process.stderr.write(
          `plait: warning: this calibration trusts ${trusted(now)} of ${now.buckets.length} k buckets on ${plural(now.queries, 'query', 'queries')}; the one it replaced trusted ${trusted(before)} on ${before.queries} (give a larger --budget-s, or --dry-run to compare first)\n`,
        );
      }
      if (o.json) printJson({ path: index.path, written: o.dryRun !== true, replacedStronger: weaker, calibration: result.calibration });
      else process.stdout.write(`${calibrationLines(result.calibration, undefined, o.dryRun !== true).join('\n')}\n${o.dryRun ? 'dry run: manifest unchanged' : `stored in ${index.path}/manifest.json`}\n`);
      interrupts.finish();
    });
}
