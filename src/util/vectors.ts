/** Small typed-array helpers used off the hot paths. */

/** L2-normalises each row of a row-major matrix in place; zero rows stay zero. */
export function normalizeRows(m: Float32Array, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += m[o + d]! * m[o + d]!;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < dim; d++) m[o + d]! *= inv;
  }
}

/**
 * Exclusive prefix sums: starts[i] = Σ_{j<i} lens[j], in shared memory (scoring workers read
 * them in place); returns the total too.
 */
export function prefixStarts(lens: Int32Array): { starts: Int32Array; total: number } {
  const starts = new Int32Array(new SharedArrayBuffer(lens.length * 4));
  let t = 0;
  for (let i = 0; i < lens.length; i++) {
    starts[i] = t;
    t += lens[i]!;
  }
  return { starts, total: t };
}

/** Quantile of sorted values with linear interpolation (torch.quantile's default). */
export function quantileSorted(sorted: Float32Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Index of the first NaN or ±Infinity in `v`, or −1 when every value is finite. One pass of
 * `acc += x · 0` (NaN exactly when some x is not finite) so that the common, clean case costs one
 * multiply-add a value; the position is searched for only when something is wrong.
 */
export function firstNonFinite(v: Float32Array): number {
  let acc = 0;
  for (let i = 0; i < v.length; i++) acc += v[i]! * 0;
  if (acc === 0) return -1;
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}
