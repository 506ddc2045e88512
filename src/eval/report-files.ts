/** Writes the rendered comparison to files (the CLI's `plait eval` calls this). */

import type { Comparison } from './comparison.js';
import { renderJson } from './comparison.js';
import { renderReportHtml, type HtmlReportOptions } from './html-report.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { renderTable } from './table.js';

export interface ReportPaths {
  /** Self-contained HTML report with the SVG plot. */
  html?: string;
  /** The comparison as JSON. */
  json?: string;
  /** The fixed-width text table. */
  text?: string;
}

/** Writes each requested rendering atomically (temporary file + rename). */
export async function writeReportFiles(c: Comparison, paths: ReportPaths, options: HtmlReportOptions = {}): Promise<void> {
  if (paths.html !== undefined) await writeFileAtomic(paths.html, renderReportHtml(c, options));
  if (paths.json !== undefined) await writeFileAtomic(paths.json, renderJson(c));
  if (paths.text !== undefined) await writeFileAtomic(paths.text, renderTable(c));
}
