/**
 * A non-negative integer with commas between groups of three digits (393216 → "393,216"), as
 * `toLocaleString('en-US')` writes it, without loading ICU's number formatting (its first call had
 * cost every `plait` command ~20 ms at start-up, in a help text).
 */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
