/**
 * A comparison of several search modes on one query set: mean metrics, latency, and paired
 * significance of each mode against a baseline. Plain data (JSON-ready); the table and HTML
 * renderers read it.
 */

import { EVAL_DEFAULTS, EVAL_REPORT_DEFAULTS } from '../config/defaults.js';
import { PlaitError } from '../errors/index.js';
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
}

export interface MetricSignificance {
  /** mean(mode) − mean(baseline). */
  meanDiff: number;
  p: number;
  significant: boolean;
}

export interface ModeSummary {
  name: string;
  mean: MetricValues;
  latency: LatencyStats | null;
  /** Pipeline rows: per-stage latency by stage label, and degraded queries by stage label. */
  stageLatency?: Record<string, LatencyStats>;
  degraded?: Record<string, number>;
  /** Per metric, against the baseline; null for the baseline itself. */
  significance: Record<MetricName, MetricSignificance> | null;
  /** query id → metric values, present with `includePerQuery`. */
  perQuery?: Record<string, MetricValues>;
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
  metrics: MetricName[];
  modes: ModeSummary[];
}

/** Builds the comparison; every mode must have been evaluated on the same queries. */
export function buildComparison(modes: readonly ModeInput[], options: ComparisonOptions = {}): Comparison {
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
        message: `Mode "${m.name}" was evaluated on ${m.result.queryIds.length} queries but the baseline on ${queryIds.length}`,
        name: 'modes',
      });
    }
  }
  const baseVectors = new Map(METRIC_NAMES.map((metric) => [metric, metricVector(baseline.result, metric, queryIds)] as const));
  const summaries = modes.map((m): ModeSummary => {
    let significance: Record<MetricName, MetricSignificance> | null = null;
    if (m !== baseline) {
      const entries = METRIC_NAMES.map((metric) => {
        const ours = metricVector(m.result, metric, queryIds);
        const theirs = baseVectors.get(metric)!;
        const r =
          test === 't-test'
            ? pairedTTest(ours, theirs)
            : pairedRandomizationTest(ours, theirs, { permutations, seed: options.seed ?? EVAL_REPORT_DEFAULTS.seed });
        return [metric, { meanDiff: r.meanDiff, p: r.p, significant: r.p < alpha }] as const;
      });
      significance = Object.fromEntries(entries) as Record<MetricName, MetricSignificance>;
    }
    const summary: ModeSummary = { name: m.name, mean: { ...m.result.mean }, latency: m.latency ?? null, significance };
    if (m.stageLatency !== undefined) summary.stageLatency = m.stageLatency;
    if (m.degraded !== undefined) summary.degraded = m.degraded;
    if (options.includePerQuery === true) {
      summary.perQuery = Object.fromEntries(queryIds.map((q) => [q, { ...m.result.perQuery.get(q)! }]));
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
    metrics: [...METRIC_NAMES],
    modes: summaries,
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

/** The marker printed after a metric significantly different from the baseline's. */
export const SIGNIFICANCE_MARKER = '†';

/** One line describing the test behind the marker. */
export function significanceNote(c: Comparison): string {
  const how = c.test === 't-test' ? 'paired t-test' : `paired randomisation test, ${c.permutations} permutations`;
  return `${SIGNIFICANCE_MARKER} p < ${c.alpha} vs ${c.baseline} (${how}, two-sided, ${c.queries} queries)`;
}

/** The comparison as JSON text (non-finite numbers such as an infinite QPS become null). */
export function renderJson(c: Comparison): string {
  return `${JSON.stringify(c, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}
