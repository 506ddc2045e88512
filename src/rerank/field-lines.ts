/**
 * The text an object document without a `text` is ranked on: its fields as `field: value` lines,
 * in their order (Together's rerank default; Cohere's `rank_fields`). One rule for every door that
 * takes such objects: the HTTP rerank routes and `plait rerank --docs` (whose JSONL lines without
 * `text` had been MALFORMED_JSONL while the same objects over HTTP were ranked).
 */

/**
 * `fields` of `d` (those it has), one `field: value` line each; a value that is not a string as JSON.
 * @returns '' when `d` has none of `fields`.
 */
export function fieldLines(d: Readonly<Record<string, unknown>>, fields: readonly string[]): string {
  return fields
    .filter((f) => d[f] !== undefined)
    .map((f) => `${f}: ${typeof d[f] === 'string' ? (d[f] as string) : JSON.stringify(d[f])}`)
    .join('\n');
}
