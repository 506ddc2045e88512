/** The comparison as a fixed-width terminal table. */

import type { Comparison, ModeSummary } from './comparison.js';
import { checkComparison, METRIC_LABELS, describeMeta, reportNotes, significanceMarker, significanceNote } from './comparison.js';

export interface TableColumn {
  header: string;
  cell: (mode: ModeSummary) => string;
  align: 'left' | 'right';
}

/** Milliseconds with precision that suits their size: 0.42, 3.17, 12.5, 240. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** A metric's mean to three decimals; '-' when it was not measured. */
export function formatMetric(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(3);
}

export function formatQps(qps: number): string {
  if (!Number.isFinite(qps)) return '-';
  return qps < 100 ? qps.toFixed(1) : qps.toFixed(0);
}

/** The table's columns: mode, seven metrics (with the marker), p50/p95/p99 ms and QPS. */
export function tableColumns(c: Comparison): TableColumn[] {
  const columns: TableColumn[] = [{ header: 'mode', cell: (m) => (m.name === c.baseline ? `${m.name} (base)` : m.name), align: 'left' }];
  for (const metric of c.metrics) {
    columns.push({
      header: `${METRIC_LABELS[metric]} `,
      cell: (m) => `${formatMetric(m.mean[metric])}${significanceMarker(m.significance?.[metric]) || ' '}`,
      align: 'right',
    });
  }
  const latency = (pick: (m: ModeSummary) => number | undefined, format: (v: number) => string) => (m: ModeSummary) => {
    const v = pick(m);
    return v === undefined ? '-' : format(v);
  };
  columns.push(
    { header: 'p50 ms', cell: latency((m) => m.latency?.p50Ms, formatMs), align: 'right' },
    { header: 'p95 ms', cell: latency((m) => m.latency?.p95Ms, formatMs), align: 'right' },
    { header: 'p99 ms', cell: latency((m) => m.latency?.p99Ms, formatMs), align: 'right' },
    { header: 'QPS', cell: latency((m) => m.latency?.qps, formatQps), align: 'right' },
  );
  return columns;
}

/**
 * Renders the comparison as plain text: a header row, a rule, one row per mode, and a footnote
 * explaining the significance marker. Columns are padded to their widest cell (code points).
 */
export function renderTable(c: Comparison): string {
  checkComparison(c);
  const columns = tableColumns(c);
  const rows = [columns.map((col) => col.header), ...c.modes.map((m) => columns.map((col) => col.cell(m)))];
  const widths = columns.map((_, j) => Math.max(...rows.map((r) => [...r[j]!].length)));
  const pad = (text: string, j: number): string => {
    const fill = ' '.repeat(widths[j]! - [...text].length);
    return columns[j]!.align === 'left' ? text + fill : fill + text;
  };
  const lines = rows.map((r) => r.map((cell, j) => pad(cell, j)).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  if (c.meta !== undefined) lines.unshift(describeMeta(c.meta), '');
  if (c.title !== null) lines.unshift(c.title, '');
  lines.push('', significanceNote(c), ...reportNotes(c.meta));
  return `${lines.join('\n')}\n`;
}
