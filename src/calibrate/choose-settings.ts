/**
 * The choice of PLAID settings from measured grid points (pure; no index, no clock): per k bucket,
 * the grid point with the lowest estimated cost whose fidelity reaches the target on every kind of
 * query (keyword, title, span, log) — a pooled 0.99 can hide a 0.95 on short keyword queries, the
 * kind that loses documents. When no point reaches it, the most faithful point (its worst kind
 * highest) is chosen and marked not reached.
 */
import type { PlaidParams } from '../config/defaults.js';

/** Fidelity counts of every grid point, per kind of query and per bucket, and cost sums. */
export class FidelityTally {
  /** kind → found[point · B + b] and total[b]. */
  readonly found = new Map<string, Float64Array>();
  readonly total = new Map<string, Float64Array>();
  readonly queries = new Map<string, number>();
  readonly estMsSum: Float64Array;
  nQueries = 0;

  constructor(
    readonly nPoints: number,
    readonly nBuckets: number,
  ) {
    this.estMsSum = new Float64Array(nPoints);
  }

  add(kind: string, found: Int32Array, total: Int32Array, estMs: Float64Array): void {
    let f = this.found.get(kind);
    let t = this.total.get(kind);
    if (f === undefined || t === undefined) {
      f = new Float64Array(this.nPoints * this.nBuckets);
      t = new Float64Array(this.nBuckets);
      this.found.set(kind, f);
      this.total.set(kind, t);
    }
    for (let i = 0; i < f.length; i++) f[i]! += found[i]!;
    for (let b = 0; b < this.nBuckets; b++) t[b]! += total[b]!;
    for (let p = 0; p < this.nPoints; p++) this.estMsSum[p]! += estMs[p]!;
    this.queries.set(kind, (this.queries.get(kind) ?? 0) + 1);
    this.nQueries++;
  }

  /** Pooled share of the exhaustive top-k found by a point in a bucket (1 when nothing to find). */
  fidelity(point: number, bucket: number): number {
    let f = 0;
    let t = 0;
    for (const [kind, found] of this.found) {
      f += found[point * this.nBuckets + bucket]!;
      t += this.total.get(kind)![bucket]!;
    }
    return t === 0 ? 1 : f / t;
  }

  fidelityByKind(point: number, bucket: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, found] of this.found) {
      const t = this.total.get(kind)![bucket]!;
      out[kind] = t === 0 ? 1 : found[point * this.nBuckets + bucket]! / t;
    }
    return out;
  }

  meanEstMs(point: number): number {
    return this.nQueries === 0 ? 0 : this.estMsSum[point]! / this.nQueries;
  }
}

export interface BucketChoice {
  point: number;
  params: PlaidParams;
  fidelity: number;
  fidelityByKind: Record<string, number>;
  estMs: number;
  reached: boolean;
}

/**
 * Per bucket, the cheapest point reaching `target` on every kind (ties: fewer ndocs, then fewer
 * ncells, then the higher threshold), else the most faithful. `reached` also needs at least
 * `minQueriesPerKind` queries of every kind measured. Only `eligible` points are chosen (all when
 * omitted): calibration also measures ColBERT's defaults, which its grid may rule out.
 */
export function chooseSettings(points: readonly PlaidParams[], tally: FidelityTally, target: number, minQueriesPerKind = 0, eligible?: readonly boolean[]): BucketChoice[] {
  const enough = tally.nQueries > 0 && [...tally.queries.values()].every((n) => n >= minQueriesPerKind);
  const choices: BucketChoice[] = [];
  for (let b = 0; b < tally.nBuckets; b++) {
    const worst = points.map((_, p) => Math.min(...Object.values(tally.fidelityByKind(p, b)), 1));
    const cheaper = (x: number, y: number): boolean => {
      const cx = tally.meanEstMs(x);
      const cy = tally.meanEstMs(y);
      if (cx !== cy) return cx < cy;
      const px = points[x]!;
      const py = points[y]!;
      if (px.ndocs !== py.ndocs) return px.ndocs < py.ndocs;
      if (px.nIvfProbe !== py.nIvfProbe) return px.nIvfProbe < py.nIvfProbe;
      return px.centroidScoreThreshold > py.centroidScoreThreshold;
    };
    let best = -1;
    const canChoose = (p: number): boolean => eligible === undefined || eligible[p] === true;
    for (let p = 0; p < points.length; p++) if (canChoose(p) && worst[p]! >= target && (best < 0 || cheaper(p, best))) best = p;
    const reached = best >= 0;
    if (!reached) {
      for (let p = 0; p < points.length; p++) if (canChoose(p) && (best < 0 || worst[p]! > worst[best]! || (worst[p] === worst[best] && cheaper(p, best)))) best = p;
      if (best < 0) best = 0;
    }
    choices.push({
      point: best,
      params: { ...points[best]! },
      fidelity: tally.fidelity(best, b),
      fidelityByKind: tally.fidelityByKind(best, b),
      estMs: tally.meanEstMs(best),
      reached: reached && enough,
    });
  }
  return choices;
}
