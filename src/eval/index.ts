/** Evaluation: readers and writers for queries, qrels and runs; trec_eval metrics; significance; reports. */

export { parseQueries, readQueries, detectQueriesFormat } from './queries.js';
export type { EvalQuery, QueriesFormat, ReadQueriesOptions, SkippedQuery } from './queries.js';
export { parseQrels, readQrels, detectQrelsFormat } from './qrels.js';
export type { Qrels, QrelsFormat, ReadQrelsOptions } from './qrels.js';
export { parseRun, readRun, formatRun, writeRun, checkRunId, compareTrecEval, sortRunTrecEval } from './run.js';
export type { Run, RunHit, ReadRunOptions, WriteRunOptions } from './run.js';
export { evaluateRun, queryMetrics, metricVector, METRIC_NAMES } from './metrics.js';
export type { EvalResult, EvaluateOptions, MetricName, MetricValues } from './metrics.js';
export { pairedRandomizationTest, pairedTTest } from './significance.js';
export type { PairedTestResult, RandomizationTestOptions, RandomizationTestResult, TTestResult } from './significance.js';
export { studentTTwoSidedP, regularizedIncompleteBeta, logGamma } from './student-t.js';
export { latencyStats, nearestRankPercentile } from './latency.js';
export type { LatencyStats, LatencyStatsOptions } from './latency.js';
export { buildComparison, renderJson, significanceNote, describeMeta, metricCutoff, METRIC_LABELS, SIGNIFICANCE_MARKER } from './comparison.js';
export type { Comparison, ComparisonMeta, ComparisonOptions, MetricSignificance, ModeInput, ModeSummary, SignificanceTestName } from './comparison.js';
export { renderTable } from './table.js';
export { renderReportHtml } from './html-report.js';
export type { HtmlReportOptions } from './html-report.js';
export { renderScatterSvg } from './scatter-svg.js';
export type { ScatterOptions, ScatterPoint } from './scatter-svg.js';
export { writeReportFiles } from './report-files.js';
export type { ReportPaths } from './report-files.js';
export { runQueries } from './run-queries.js';
export type { RunQueriesOptions, SearchFn, TimedRun } from './run-queries.js';
export { topKOverlap } from './overlap.js';
export { qrelsCoverage } from './qrels-coverage.js';
export type { QrelsCoverage } from './qrels-coverage.js';
