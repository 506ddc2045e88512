/** The comparison as one self-contained HTML page: the metrics table and the latency/quality plot. */

import type { Comparison } from './comparison.js';
import { checkComparison, METRIC_LABELS, describeMeta, reportNotes, significanceMarker, significanceNote } from './comparison.js';
import { escapeXml, renderScatterSvg, type ScatterPoint } from './scatter-svg.js';
import { formatMetric, formatMs, formatQps } from './table.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface HtmlReportOptions {
  /** Shown under the title, e.g. an ISO timestamp or the command line (no default: stays reproducible). */
  subtitle?: string;
}
const HTML_REPORT_OPTION_KEYS = { subtitle: true } as const satisfies OptionKeys<HtmlReportOptions>;

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 2rem auto; max-width: 1320px; padding: 0 1rem; }
.meta { color: #555; font-size: 0.85rem; margin: 0.2rem 0; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
.subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.4rem; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; text-align: right; white-space: nowrap; }
.scroll { overflow-x: auto; }
th:first-child, td:first-child { text-align: left; }
td:first-child { max-width: 14rem; overflow-wrap: anywhere; }
td { text-align: right; }
tr.baseline td { background: #fafafa; font-style: italic; }
td.better { font-weight: 600; }
td.worse { color: #9b1c1c; }
td .p { color: #888; font-size: 0.72em; display: block; white-space: nowrap; font-weight: normal; }
.note { color: #555; font-size: 0.9rem; }
figure { margin: 1.5rem 0; }
figcaption { color: #555; font-size: 0.9rem; }
`;

/** Renders the report; every mode with latency statistics becomes one point of the plot. */
export function renderReportHtml(c: Comparison, options: HtmlReportOptions = {}): string {
  checkOptionKeys(options, HTML_REPORT_OPTION_KEYS, 'HTML report option');
  checkComparison(c);
  const title = c.title ?? 'plait evaluation';
  const head = ['mode', ...c.metrics.map((m) => METRIC_LABELS[m]), 'p50 ms', 'p95 ms', 'p99 ms', 'QPS'];
  const rows = c.modes.map((mode) => {
    const cells = [`<td>${escapeXml(mode.name)}${mode.name === c.baseline ? ' (baseline)' : ''}</td>`];
    for (const metric of c.metrics) {
      const sig = mode.significance?.[metric];
      const value = formatMetric(mode.mean[metric]);
      if (sig === undefined) cells.push(`<td>${value}</td>`);
      else {
        const diff = `${sig.meanDiff >= 0 ? '+' : '−'}${Math.abs(sig.meanDiff).toFixed(3)}`;
        // Difference and p-value on two short lines, so that a metric column stays narrow.
        cells.push(
          // Bold only for a significant improvement; a significant loss is marked ‡ and red, never bold.
          `<td${sig.significant ? ` class="${sig.meanDiff >= 0 ? 'better' : 'worse'}"` : ''}>${value}${significanceMarker(sig)}<span class="p">${diff}</span><span class="p">${formatP(sig.p)}</span></td>`,
        );
      }
    }
    const l = mode.latency;
    cells.push(
      `<td>${l === null ? '-' : formatMs(l.p50Ms)}</td>`,
      `<td>${l === null ? '-' : formatMs(l.p95Ms)}</td>`,
      `<td>${l === null ? '-' : formatMs(l.p99Ms)}</td>`,
      `<td>${l === null ? '-' : formatQps(l.qps)}</td>`,
    );
    return `<tr${mode.name === c.baseline ? ' class="baseline"' : ''}>${cells.join('')}</tr>`;
  });
  const points: ScatterPoint[] = [];
  for (const mode of c.modes) {
    const ndcg = mode.mean['ndcg@10'];
    if (mode.latency !== null && ndcg !== undefined) points.push({ label: mode.name, x: mode.latency.p50Ms, y: ndcg, highlight: mode.name === c.baseline });
  }
  const missing = c.modes.length - points.length;
  const svg = renderScatterSvg(points, { xLabel: 'p50 latency per query (ms, log scale)', yLabel: 'nDCG@10' });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeXml(title)}</h1>`,
    options.subtitle === undefined ? '' : `<p class="subtitle">${escapeXml(options.subtitle)}</p>`,
    c.meta === undefined ? '' : `<p class="meta">${escapeXml(describeMeta(c.meta))}</p>`,
    '<div class="scroll"><table>',
    `<thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table></div>',
    `<p class="note">${escapeXml(significanceNote(c))}. Under each metric: difference from the baseline and its p-value. ` +
      'Metrics follow trec_eval (linear-gain nDCG, MAP truncated at 100); latency percentiles are nearest-rank.</p>',
    reportNotes(c.meta).length === 0 ? '' : `<ul class="note">${reportNotes(c.meta).map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>`,
    '<figure>',
    svg,
    `<figcaption>Latency against quality, one point per mode (square: baseline). Up and to the left is better.${
      missing > 0 ? ` ${missing} mode(s) without latency data are not plotted.` : ''
    }</figcaption>`,
    '</figure>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

function formatP(p: number): string {
  // Four decimals below 0.1, so that a value just under 0.05 does not print as 0.050.
  return p < 0.001 ? 'p&lt;0.001' : `p=${p.toFixed(p < 0.1 ? 4 : 3)}`;
}
