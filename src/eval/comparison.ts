/**
 * A comparison of several search modes on one query set: mean metrics, latency, and paired
 * significance of each mode against a baseline. Plain data (JSON-ready); the table and HTML
 * renderers read it.
 */

import { plural } from '../util/plural.js';
import { EVAL_DEFAULTS, EVAL_REPORT_DEFAULTS } from '../config/defaults.js';
import { PlaitError, checkArray, checkObject } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { LatencyStats } from './latency.js';
import { METRIC_NAMES, metricVector, type EvalResult, type MetricName, type MetricValues } from './metrics.js';
import { pairedRandomizationTest, pairedTTest } from './significance.js';

export interface ModeInput {
  /** Label of the mode or setting, e.g. "plaid k=10" (one row, one point in the plot). */
  name: string;
  result: EvalResult;
  latency?: LatencyStats;
  /** Per-stage latency of a pipeline row, by stage label ("late:200"), in stage order. */
  stageLatency?: Record<string, LatencyStats>;
  /** Queries on which a pipeline row degraded (a stage skipped), by stage label. */
  degraded?: Record<string, number>;
}

export type SignificanceTestName = 'randomization' | 't-test';

export interface ComparisonOptions {
  /** Name of the baseline mode; the first mode when omitted. */
  baseline?: string;
  /** Default 'randomization'. */
  test?: SignificanceTestName;
  /** Significance level for the marker (default EVAL_REPORT_DEFAULTS.alpha). */
  alpha?: number;
  /** Randomisation-test permutations (default EVAL_DEFAULTS.permutations). */
  permutations?: number;
  /** Randomisation-test seed (default EVAL_REPORT_DEFAULTS.seed). */
  seed?: number;
  /** Report title, e.g. "scifact test". */
  title?: string;
  /** Copy each mode's per-query values into the comparison (and so into its JSON). Default false. */
  includePerQuery?: boolean;
  /**
   * Depth of the runs (hits per query). Metrics cut off deeper than this (Recall@1000 of a depth-100
   * run equals Recall@100) are left out of `metrics`, the means and the tests. Default: all metrics.
   */
  depth?: number;
  /** Where the figures came from (index, model, machine, date, plait version); copied into the comparison. */
  meta?: ComparisonMeta;
}
const COMPARISON_OPTION_KEYS = { baseline: true, test: true, alpha: true, permutations: true, seed: true, title: true, includePerQuery: true, depth: true, meta: true } as const satisfies OptionKeys<ComparisonOptions>;

/** Provenance of a comparison, shown in the report's header and kept in its JSON. */
export interface ComparisonMeta {
  index?: string;
  model?: string;
  /** ISO 8601 time of the run. */
  date?: string;
  /** CPU model and logical cores of the machine that measured the latencies. */
  machine?: { cpu: string; cores: number; platform?: string; memoryGiB?: number };
  plaitVersion?: string;
  /** Hits per query. */
  depth?: number;
  /** Queries left out before the evaluation (e.g. empty text), by reason. */
  skippedQueries?: Record<string, number>;
  /**
   * Query encoding time per query (ms), measured once before the modes run. The one-mode rows'
   * latencies exclude it (queries are encoded up front); pipeline rows include it.
   */
  encodeMsPerQuery?: number;
  /**
   * The model load and one-time setup paid before anything is timed (PlaitIndex.warmUp: the encoder's
   * first run, the scoring kernels' and the document store's first use), in ms; in no figure above.
   */
  warmUpMs?: number;
  /** Per PLAID (late, non-exhaustive) mode: the share (0–1) of the exhaustive top-10 it found (eval/overlap.ts). */
  fidelityTop10?: Record<string, number>;
  /** What each mode is, by mode name (eval/search-modes.ts describeMode). */
  modeDescriptions?: Record<string, string>;
}

/** The rank cutoff of a metric ("recall@100" → 100). */
export function metricCutoff(metric: MetricName): number {
  return Number(metric.slice(metric.indexOf('@') + 1));
}

export interface MetricSignificance {
  /** mean(mode) − mean(baseline). */
  meanDiff: number;
  p: number;
  significant: boolean;
}

export interface ModeSummary {
  name: string;
  /** Mean of each metric in the comparison's `metrics` (only those). */
  mean: Partial<MetricValues>;
  latency: LatencyStats | null;
  /** Pipeline rows: per-stage latency by stage label, and degraded queries by stage label. */
  stageLatency?: Record<string, LatencyStats>;
  degraded?: Record<string, number>;
  /** Per metric of `metrics`, against the baseline; null for the baseline itself. */
  significance: Partial<Record<MetricName, MetricSignificance>> | null;
  /** query id → metric values, present with `includePerQuery`. */
  perQuery?: Record<string, Partial<MetricValues>>;
}

export interface Comparison {
  title: string | null;
  baseline: string;
  test: SignificanceTestName;
  /** Randomisation permutations (null for the t-test). */
  permutations: number | null;
  alpha: number;
  /** Queries every mode was evaluated on. */
  queries: number;
  /** The metrics measured, in display order (those within the run depth). */
  metrics: MetricName[];
  modes: ModeSummary[];
  meta?: ComparisonMeta;
}

/**
 * `c` as renderTable and renderReportHtml need it: an object with `metrics` and `modes` arrays.
 * @throws PlaitError INVALID_ARGUMENT naming `comparison`.
 */
export function checkComparison(c: unknown): Comparison {
  const o = checkObject<Partial<Comparison>>('comparison', c, 'a Comparison (from buildComparison)');
  checkArray('comparison.metrics', o.metrics, 'an array of metric names');
  checkArray('comparison.modes', o.modes, 'an array of mode summaries');
  return c as Comparison;
}

/** Builds the comparison; every mode must have been evaluated on the same queries. */
export function buildComparison(modes: readonly ModeInput[], options: ComparisonOptions = {}): Comparison {
  checkOptionKeys(options, COMPARISON_OPTION_KEYS, 'buildComparison option');
  checkArray('modes', modes, 'an array of evaluated modes');
  if (modes.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected at least one mode but received none', name: 'modes' });
  const names = new Set<string>();
  for (const m of modes) {
    if (names.has(m.name)) throw new PlaitError('INVALID_ARGUMENT', { message: `Mode name "${m.name}" appears twice`, name: 'modes' });
    names.add(m.name);
  }
  const baselineName = options.baseline ?? modes[0]!.name;
  const baseline = modes.find((m) => m.name === baselineName);
  if (baseline === undefined) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected the baseline to be one of ${[...names].join(', ')} but received "${baselineName}"`, name: 'baseline' });
  }
  const test = options.test ?? 'randomization';
  const alpha = options.alpha ?? EVAL_REPORT_DEFAULTS.alpha;
  const permutations = options.permutations ?? EVAL_DEFAULTS.permutations;
  const queryIds = baseline.result.queryIds;
  for (const m of modes) {
    if (m.result.queryIds.length !== queryIds.length) {
      throw new PlaitError('INVALID_ARGUMENT', {
        message: `Mode "${m.name}" was evaluated on ${plural(m.result.queryIds.length, 'query', 'queries')} but the baseline on ${queryIds.length}`,
        name: 'modes',
      });
    }
  }
  const depth = options.depth;
  const metrics = METRIC_NAMES.filter((metric) => depth === undefined || metricCutoff(metric) <= depth);
  const pick = (values: MetricValues): Partial<MetricValues> => Object.fromEntries(metrics.map((metric) => [metric, values[metric]]));
  const baseVectors = new Map(metrics.map((metric) => [metric, metricVector(baseline.result, metric, queryIds)] as const));
  const summaries = modes.map((m): ModeSummary => {
    let significance: Partial<Record<MetricName, MetricSignificance>> | null = null;
    if (m !== baseline) {
      const entries = metrics.map((metric) => {
        const ours = metricVector(m.result, metric, queryIds);
        const theirs = baseVectors.get(metric)!;
        const r =
          test === 't-test'
            ? pairedTTest(ours, theirs)
            : pairedRandomizationTest(ours, theirs, { permutations, seed: options.seed ?? EVAL_REPORT_DEFAULTS.seed });
        return [metric, { meanDiff: r.meanDiff, p: r.p, significant: r.p < alpha }] as const;
      });
      significance = Object.fromEntries(entries);
    }
    const summary: ModeSummary = { name: m.name, mean: pick(m.result.mean), latency: m.latency ?? null, significance };
    if (m.stageLatency !== undefined) summary.stageLatency = m.stageLatency;
    if (m.degraded !== undefined) summary.degraded = m.degraded;
    if (options.includePerQuery === true) {
      summary.perQuery = Object.fromEntries(queryIds.map((q) => [q, pick(m.result.perQuery.get(q)!)]));
    }
    return summary;
  });
  return {
    title: options.title ?? null,
    baseline: baseline.name,
    test,
    permutations: test === 'randomization' ? permutations : null,
    alpha,
    queries: queryIds.length,
    metrics,
    modes: summaries,
    ...(options.meta === undefined ? {} : { meta: { ...options.meta } }),
  };
}

/** Column headings of the metrics, as printed. */
export const METRIC_LABELS: Record<MetricName, string> = {
  'ndcg@10': 'nDCG@10',
  'mrr@10': 'MRR@10',
  'map@100': 'MAP@100',
  'recall@10': 'R@10',
  'recall@100': 'R@100',
  'recall@1000': 'R@1000',
  'p@10': 'P@10',
};

/** The marker printed after a metric significantly better than the baseline's. */
export const SIGNIFICANCE_MARKER = '†';
/** The marker printed after a metric significantly worse than the baseline's. */
export const WORSE_MARKER = '‡';

/** The marker of a metric: † significantly better, ‡ significantly worse, '' otherwise. */
export function significanceMarker(sig: MetricSignificance | undefined): string {
  if (sig === undefined || !sig.significant) return '';
  return sig.meanDiff >= 0 ? SIGNIFICANCE_MARKER : WORSE_MARKER;
}

/** One line describing the test behind the markers (a two-sided test: both directions are marked). */
export function significanceNote(c: Comparison): string {
  const how = c.test === 't-test' ? 'paired t-test' : `paired randomisation test, ${c.permutations} permutations`;
  return `${SIGNIFICANCE_MARKER} significantly better, ${WORSE_MARKER} significantly worse: p < ${c.alpha} vs ${c.baseline} (${how}, two-sided, ${plural(c.queries, 'query', 'queries')})`;
}

/**
 * The facts beside the table, one sentence each: what each mode is, PLAID's share of the
 * exhaustive top-10, and what the latencies include (the terminal prints the same lines).
 */
export function reportNotes(meta: ComparisonMeta | undefined): string[] {
  if (meta === undefined) return [];
  const notes: string[] = [];
  for (const [name, what] of Object.entries(meta.modeDescriptions ?? {})) notes.push(`${name}: ${what}`);
  for (const [name, share] of Object.entries(meta.fidelityTop10 ?? {})) notes.push(`${name} finds ${(100 * share).toFixed(1)}% of the exhaustive top-10 (its fidelity to exact MaxSim)`);
  if (meta.encodeMsPerQuery !== undefined) {
    const warm = meta.warmUpMs === undefined ? '' : ` Model load and warm-up, ${meta.warmUpMs.toFixed(1)} ms before anything was timed, are in neither.`;
    notes.push(`Latencies exclude query encoding (${meta.encodeMsPerQuery.toFixed(1)} ms/query, encoded once before the modes run); pipeline rows include it.${warm}`);
  }
  return notes;
}


/** One line of provenance: index, model, depth, date, machine, plait version (those known). */
export function describeMeta(meta: ComparisonMeta): string {
  const parts: string[] = [];
  if (meta.index !== undefined) parts.push(`index ${meta.index}`);
  if (meta.model !== undefined) parts.push(`model ${meta.model}`);
  if (meta.depth !== undefined) parts.push(`depth ${meta.depth}`);
  if (meta.date !== undefined) parts.push(meta.date);
  if (meta.machine !== undefined) {
    const m = meta.machine;
    parts.push(`${m.cpu}, ${plural(m.cores, 'core')}${m.memoryGiB === undefined ? '' : `, ${m.memoryGiB} GiB`}${m.platform === undefined ? '' : `, ${m.platform}`}`);
  }
  if (meta.plaitVersion !== undefined) parts.push(`plait ${meta.plaitVersion}`);
  const skipped = Object.entries(meta.skippedQueries ?? {}).filter(([, n]) => n > 0);
  if (skipped.length > 0) parts.push(`skipped queries: ${skipped.map(([k, n]) => `${n} ${k}`).join(', ')}`);
  return parts.join(' · ');
}

/** The comparison as JSON text (non-finite numbers such as an infinite QPS become null). */
export function renderJson(c: Comparison): string {
  return `${JSON.stringify(c, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}
