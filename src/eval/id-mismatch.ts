/**
 * Why two lists of query ids that should meet share none: the queries file and the qrels
 * (`plait eval`, `plait ltr train`), a run and the qrels (`evaluateRun`). Hand-written judgments
 * often name queries another way than the queries file — `Q1` for `1`, `q1` for `Q1`, `001` for
 * `1` — and the refusal had said only "none of the 3 queries has judgments in qrels.tsv" (trial 13),
 * leaving the user to find which ids and why. Ids compare as exact text (as trec_eval compares
 * them), so plait does not match them loosely; it names examples of both sides and the difference
 * when one rewrite would make them meet.
 */

/** Rewrites that make ids meet, in the order they are tried, with how the difference is said. */
const REWRITES: readonly { said: string; key: (id: string) => string }[] = [
  { said: 'they differ only in letter case', key: (id) => id.toLowerCase() },
  { said: 'they differ only in leading zeros', key: (id) => id.replace(/(^|\D)0+(?=\d)/g, '$1') },
  { said: 'they differ in a prefix before the number (such as "Q" or "query-")', key: (id) => /(\d+)$/.exec(id)?.[1]?.replace(/^0+(?=\d)/, '') ?? id },
];

/** At most `n` ids of a list, quoted, "…" after them when there are more. */
function examples(ids: readonly string[], n = 3): string {
  if (ids.length === 0) return 'none';
  return ids.slice(0, n).map((id) => JSON.stringify(id)).join(', ') + (ids.length > n ? ', …' : '');
}

/**
 * `: ids compare as exact text; <leftName> has "1", "2", … and <rightName> "Q1", "Q2", … (they
 * differ in a prefix …)` for two id lists with no id in common; the parenthesis only when one of
 * REWRITES makes some of them meet.
 */
export function disjointIdsHint(left: readonly string[], leftName: string, right: readonly string[], rightName: string): string {
  const rewrite = REWRITES.find((r) => {
    const keys = new Set(left.map(r.key));
    return right.some((id) => keys.has(r.key(id)));
  });
  return `: ids compare as exact text; ${leftName} has ${examples(left)} and ${rightName} ${examples(right)}${rewrite === undefined ? '' : ` (${rewrite.said}: write them alike in both files)`}`;
}
