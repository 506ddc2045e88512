/**
 * A count with its noun in the right number, for every message plait writes (CLI lines, error
 * messages, notes): "1 query", "2 queries", "0 documents". Messages had written "1 queries" where
 * a count was put before a plural noun by hand.
 * @param n the count (printed as is)
 * @param one the noun for exactly 1; `many` (default `one` + "s") for any other count
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
