import type { SkippedQuery } from '../../eval/queries.js';
import type { EmptyReason } from '../../search/query-text.js';
import type { FilterWarning } from '../../docstore/metadata-catalogue.js';

/** The warning line of a single query that cannot be searched (`plait search`, with or without --pipeline). */
export function warnUnsearchable(reason: EmptyReason): void {
  process.stderr.write(`plait: warning: nothing to search: ${reason === 'empty-query' ? 'the query is empty' : 'the query has no letter or digit'} (${reason})\n`);
}

/** One warning line on stderr for queries a reader skipped: count, reason, and the first few ids with their lines. */
export function warnSkippedQueries(file: string, skipped: readonly SkippedQuery[]): void {
  if (skipped.length === 0) return;
  const shown = skipped.slice(0, 5).map((q) => `"${q.id}" at line ${q.line}`);
  const more = skipped.length > shown.length ? `, and ${skipped.length - shown.length} more` : '';
  process.stderr.write(`plait: warning: skipped ${skipped.length} quer${skipped.length === 1 ? 'y' : 'ies'} with empty text in ${file} (EMPTY_TEXT: ${shown.join(', ')}${more})\n`);
}

/**
 * One warning line on stderr for searched queries of a batch that a single search would have warned
 * about one by one: `what` says why (no letter or digit: no hits; longer than the model keeps), then
 * how many and the first few ids.
 */
export function warnBatchQueries(ids: readonly string[], what: string): void {
  if (ids.length === 0) return;
  const shown = ids.slice(0, 5).map((id) => `"${id}"`);
  const more = ids.length > shown.length ? `, and ${ids.length - shown.length} more` : '';
  process.stderr.write(`plait: warning: ${ids.length} quer${ids.length === 1 ? 'y' : 'ies'} ${what}: ${shown.join(', ')}${more}\n`);
}

/**
 * A batch's `--filter` warnings, each once (`plait search --queries`): why the filter matched no
 * document (its reasons, as a single search's `no hits` line gives them), then each field of several
 * JSON types it compares (FILTER_TYPE_MIXED), as a single search warns.
 */
export function warnBatchFilter(warnings: readonly FilterWarning[]): void {
  const mixed = warnings.filter((w) => w.code === 'FILTER_TYPE_MIXED');
  const why = warnings.filter((w) => w.code !== 'FILTER_TYPE_MIXED');
  const reasons = why.filter((w) => w.code !== 'FILTER_NO_MATCH');
  if (why.length > 0) process.stderr.write(`plait: no hits for any query (no document passes --filter)${reasons.length === 0 ? '' : `: ${reasons.map((w) => `${w.message} [${w.code}]`).join('; ')}`}\n`);
  for (const w of mixed) process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
}
