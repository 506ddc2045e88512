/**
 * The edit distance two layers share: spelling correction (rewrite/spelling.ts) verifies its
 * SymSpell candidates with it, and the option-key check (util/option-keys.ts) offers the nearest
 * known key with it. It lives here, at the bottom of the stack, so that every stage may import it.
 */
import { checkNumber, checkString } from '../errors/index.js';

/**
 * Restricted Damerau–Levenshtein distance (insertions, deletions, substitutions, adjacent
 * transpositions), or `max + 1` as soon as it must exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  checkString('a', a);
  checkString('b', b);
  checkNumber('max', max, 'a maximum distance');
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Int32Array(n + 1);
  let prev = Int32Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Int32Array(n + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}
