import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  latencyStats,
  logGamma,
  nearestRankPercentile,
  pairedRandomizationTest,
  pairedTTest,
  regularizedIncompleteBeta,
  studentTTwoSidedP,
} from '../src/eval/index.js';

const close = (actual: number, expected: number, eps: number): void => {
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected} ± ${eps} but got ${actual}`);
};

describe('special functions', () => {
  it('logGamma matches factorials and Γ(1/2) = √π', () => {
    close(logGamma(1), 0, 1e-13);
    close(logGamma(5), Math.log(24), 1e-12);
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-12);
    close(logGamma(101), 363.73937555556347, 1e-9); // ln(100!)
  });

  it('regularised incomplete beta matches closed forms', () => {
    for (const x of [0.01, 0.3, 0.5, 0.77, 0.999]) {
      close(regularizedIncompleteBeta(x, 1, 1), x, 1e-13); // uniform CDF
      close(regularizedIncompleteBeta(x, 3, 1), x ** 3, 1e-12); // I_x(a, 1) = x^a
      close(regularizedIncompleteBeta(x, 1, 4), 1 - (1 - x) ** 4, 1e-12); // I_x(1, b) = 1 − (1−x)^b
    }
    close(regularizedIncompleteBeta(0.5, 7.5, 7.5), 0.5, 1e-12); // symmetry
    assert.equal(regularizedIncompleteBeta(0, 2, 3), 0);
    assert.equal(regularizedIncompleteBeta(1, 2, 3), 1);
    assert.throws(() => regularizedIncompleteBeta(1.5, 2, 3), { code: 'INVALID_ARGUMENT' });
  });

  it("Student's t two-sided p matches tables and closed forms", () => {
    close(studentTTwoSidedP(2.0, 10), 0.07338803, 1e-7); // t = 2, df = 10 (tables: 0.0734)
    close(studentTTwoSidedP(2.228138851986, 10), 0.05, 1e-9); // t_{0.975, 10}
    close(studentTTwoSidedP(12.7062047362, 1), 0.05, 1e-9); // t_{0.975, 1}
    close(studentTTwoSidedP(1, 1), 0.5, 1e-12); // Cauchy: 1 − 2·atan(1)/π
    close(studentTTwoSidedP(2, 2), 1 - 2 / Math.sqrt(6), 1e-12); // df 2: 1 − t/√(2 + t²)
    close(studentTTwoSidedP(-2, 2), 1 - 2 / Math.sqrt(6), 1e-12);
    close(studentTTwoSidedP(1.959963985, 1e7), 0.05, 1e-6); // → normal
    assert.equal(studentTTwoSidedP(0, 5), 1);
    assert.equal(studentTTwoSidedP(Infinity, 5), 0);
  });
});

describe('pairedTTest', () => {
  it('matches a hand computation', () => {
    // d = [1, 2, 3, 4]: mean 2.5, sd = √(5/3) = 1.2909944, t = 2.5 / (1.2909944 / 2) = 3.8729833, df 3.
    // df = 3 closed form: p = 1 − (2/π)(atan(u) + u / (1 + u²)), u = t/√3.
    const r = pairedTTest([1, 2, 3, 4], [0, 0, 0, 0]);
    close(r.t, 3.8729833, 1e-6);
    assert.equal(r.df, 3);
    const u = r.t / Math.sqrt(3);
    close(r.p, 1 - (2 / Math.PI) * (Math.atan(u) + u / (1 + u * u)), 1e-12);
    close(r.meanDiff, 2.5, 1e-12);
    close(pairedTTest([0, 0, 0, 0], [1, 2, 3, 4]).t, -3.8729833, 1e-6);
  });

  it('handles zero variance and refuses bad input', () => {
    assert.deepEqual(pairedTTest([1, 2, 3], [1, 2, 3]), { meanDiff: 0, t: 0, df: 2, p: 1, n: 3 });
    assert.equal(pairedTTest([2, 3, 4], [1, 2, 3]).p, 0);
    assert.throws(() => pairedTTest([1], [2]), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => pairedTTest([1, 2], [2]), { code: 'INVALID_ARGUMENT' });
  });
});

describe('pairedRandomizationTest', () => {
  /** Exact two-sided p by enumerating all 2^n sign patterns (the oracle). */
  function exactP(d: number[]): number {
    const observed = Math.abs(d.reduce((s, v) => s + v, 0));
    let count = 0;
    for (let mask = 0; mask < 1 << d.length; mask++) {
      let sum = 0;
      for (let i = 0; i < d.length; i++) sum += (mask >> i) & 1 ? -d[i]! : d[i]!;
      if (Math.abs(sum) >= observed - 1e-12) count++;
    }
    return count / (1 << d.length);
  }

  it('agrees with exact enumeration', () => {
    // d = [1, 2, 3, 4]: only all-plus and all-minus reach |Σ| = 10 → p = 2/16.
    const small = pairedRandomizationTest([1, 2, 3, 4], [0, 0, 0, 0], { permutations: 20_000, seed: 1 });
    close(small.p, 2 / 16, 0.01);
    const a = [0.61, 0.2, 0.93, 0.45, 0.08, 0.77, 0.5, 0.31, 0.66, 0.12, 0.9, 0.4];
    const b = [0.55, 0.25, 0.7, 0.45, 0.1, 0.6, 0.52, 0.2, 0.6, 0.05, 0.81, 0.42];
    const d = a.map((v, i) => v - b[i]!);
    const r = pairedRandomizationTest(a, b, { permutations: 20_000, seed: 7 });
    close(r.p, exactP(d), 0.01); // binomial s.e. at 20k draws is below 0.004
    close(r.meanDiff, d.reduce((s, v) => s + v, 0) / d.length, 1e-12);
  });

  it('is reproducible for a seed, gives p = 1 for identical systems, and never p = 0', () => {
    const a = [0.3, 0.5, 0.9, 0.1, 0.7];
    const b = [0.2, 0.5, 0.6, 0.3, 0.4];
    assert.equal(pairedRandomizationTest(a, b, { seed: 3, permutations: 999 }).p, pairedRandomizationTest(a, b, { seed: 3, permutations: 999 }).p);
    assert.equal(pairedRandomizationTest(a, a, { permutations: 500 }).p, 1);
    const big = Array.from({ length: 60 }, () => 1);
    const zero = Array.from({ length: 60 }, () => 0);
    const r = pairedRandomizationTest(big, zero, { permutations: 999 });
    assert.equal(r.p, 1 / 1000); // (0 + 1) / (999 + 1)
    assert.throws(() => pairedRandomizationTest(a, b, { permutations: 0 }), { code: 'INVALID_ARGUMENT' });
  });
});

describe('latencyStats', () => {
  it('uses nearest-rank percentiles', () => {
    // sorted 1..5: p50 → ceil(2.5) = 3rd = 3; p95 → ceil(4.75) = 5th = 5; p99 → 5th.
    const s = latencyStats([5, 1, 4, 2, 3]);
    assert.equal(s.p50Ms, 3);
    assert.equal(s.p95Ms, 5);
    assert.equal(s.p99Ms, 5);
    assert.equal(s.meanMs, 3);
    assert.equal(s.minMs, 1);
    assert.equal(s.maxMs, 5);
    close(s.qps, 5 / 0.015, 1e-9); // sequential: 5 queries in 15 ms
    const hundred = latencyStats(Array.from({ length: 100 }, (_, i) => 100 - i));
    assert.deepEqual([hundred.p50Ms, hundred.p95Ms, hundred.p99Ms], [50, 95, 99]);
    assert.equal(nearestRankPercentile([7, 8], 0), 7);
    assert.equal(nearestRankPercentile([7, 8], 50), 7);
    assert.equal(nearestRankPercentile([7, 8], 51), 8);
  });

  it('takes wall time for concurrent runs and refuses bad durations', () => {
    assert.equal(latencyStats([10, 10, 10, 10], { wallMs: 20 }).qps, 200);
    assert.throws(() => latencyStats([]), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => latencyStats([1, -2]), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => latencyStats([1, Number.NaN]), { code: 'INVALID_ARGUMENT' });
  });
});
