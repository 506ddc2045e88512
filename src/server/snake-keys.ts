/**
 * The HTTP API's case: the library speaks camelCase (`maxInFlightTokens`, `nIvfProbe`), HTTP JSON
 * speaks snake_case (`max_in_flight_tokens`, `n_ivf_probe`), as the rerank APIs it imitates do.
 * Answers built from library objects (an explanation, a search round, `plait info`'s fields, an
 * error's `details`) go through `snakeKeys` on their way out; values are never touched, so a field
 * name quoted in a value (`details.name: "topK"`, `details.field: "body/top_k"`) stays as written.
 */

/** One key: each capital letter becomes `_` and its lower case (`expectedWaitMs` → `expected_wait_ms`); a key without capitals is unchanged. */
export function snakeKey(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Object keys to snake_case, deeply: nested objects and objects inside arrays too; values (strings, numbers, …) untouched. */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [snakeKey(k), snakeKeys(x)]));
}
