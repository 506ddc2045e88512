/**
 * The stderr line of a paged CLI search (`plait search --offset`, one mode or `--pipeline`): which
 * ranks were printed and of how many — or, for a page past the end of the ranking, that the ranking
 * ended before it. Before (trial 12), `--offset 400` on a 303-document index said `plait: no hits`
 * (with a filter: `no hits (no document passes --filter)`, though six did), and a pipeline's page
 * printed nothing at all, where HTTP answered `hits: []` with `total_hits: 303`.
 */

/**
 * @param offset results skipped (`--offset`, ≥ 0).
 * @param shown hits printed.
 * @param pageSize the page asked (`-k`, or the pipeline's last stage depth).
 * @param totalHits the ranking's length when known (SearchResult.totalHits), else null / undefined.
 * @param unknown why the length is not known, for the line (`pipeline`); none when no reason is known
 *   (a cluster shard that was not heard, or an older replica that sends no count).
 */
export function pageLine(offset: number, shown: number, pageSize: number, totalHits: number | null | undefined, unknown?: string): string {
  const total = totalHits ?? null;
  const why = unknown === undefined ? '' : ` (${unknown})`;
  if (shown > 0) return `plait: hits ${offset + 1}–${offset + shown} of ${total === null ? `a ranking whose length is not known${why}` : total}\n`;
  const asked = `${offset + 1}–${offset + pageSize}`;
  if (total === null) return `plait: no hits ${asked}: past the end of the ranking, whose length is not known${why}\n`;
  if (total === 0) return `plait: no hits ${asked}: the ranking is empty\n`;
  return `plait: no hits ${asked}: the ranking holds ${total} (its last ${Math.min(pageSize, total)}: --offset ${Math.max(0, total - pageSize)})\n`;
}
