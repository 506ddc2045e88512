/**
 * File names in natural order (`part-2` before `part-10`), as `ls -v` and file managers list them:
 * ICU's collation with numeric ordering. The collator is made at the first comparison, not at
 * import: making it loads ICU's collation data, about 7 ms of CPU (20–160 ms of wall on a loaded
 * host) that every `plait` command had paid at start-up, read or not a folder of files.
 */
let collator: Intl.Collator | undefined;

/** Compares two names for `Array.prototype.sort`: negative, zero or positive. */
export function naturalOrder(a: string, b: string): number {
  return (collator ??= new Intl.Collator('en', { numeric: true })).compare(a, b);
}
