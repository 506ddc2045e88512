import type { SkippedQuery } from '../../eval/queries.js';

/** One warning line on stderr for queries a reader skipped: count, reason, and the first few ids with their lines. */
export function warnSkippedQueries(file: string, skipped: readonly SkippedQuery[]): void {
  if (skipped.length === 0) return;
  const shown = skipped.slice(0, 5).map((q) => `"${q.id}" at line ${q.line}`);
  const more = skipped.length > shown.length ? `, and ${skipped.length - shown.length} more` : '';
  process.stderr.write(`plait: warning: skipped ${skipped.length} quer${skipped.length === 1 ? 'y' : 'ies'} with empty text in ${file} (EMPTY_TEXT: ${shown.join(', ')}${more})\n`);
}
