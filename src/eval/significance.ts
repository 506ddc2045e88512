/**
 * Paired significance tests over per-query metric values of two systems on the same queries:
 * a randomisation (permutation) test by sign-flipping and Student's paired t-test.
 */

import { EVAL_DEFAULTS, EVAL_REPORT_DEFAULTS } from '../config/defaults.js';
import { PlaitError, checkNumbers } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { mulberry32Uint32 } from '../util/random.js';
import { studentTTwoSidedP } from './student-t.js';

export interface RandomizationTestOptions {
  /** Random sign assignments drawn (default EVAL_DEFAULTS.permutations). */
  permutations?: number;
  /** PRNG seed, so that p-values are reproducible (default EVAL_REPORT_DEFAULTS.seed). */
  seed?: number;
}
const RANDOMIZATION_TEST_OPTION_KEYS = { permutations: true, seed: true } as const satisfies OptionKeys<RandomizationTestOptions>;

export interface PairedTestResult {
  /** mean(a) − mean(b). */
  meanDiff: number;
  /** Two-sided p-value. */
  p: number;
  /** Number of pairs. */
  n: number;
}

export interface RandomizationTestResult extends PairedTestResult {
  permutations: number;
}

export interface TTestResult extends PairedTestResult {
  t: number;
  df: number;
}

/**
 * Paired randomisation test (Fisher; Smucker et al. 2007 for IR). Under the null hypothesis the
 * sign of each per-query difference d_i = a_i − b_i is exchangeable, so each permutation flips every
 * sign with probability 1/2 (mulberry32 PRNG, seeded). Two-sided: a permutation counts when
 * |Σ ±d_i| ≥ |Σ d_i| (up to a 1e-9 relative tolerance, so that exact ties count). The p-value is
 * (count + 1) / (permutations + 1), which never reports 0 for a finite sample (Phipson & Smyth 2010).
 */
export function pairedRandomizationTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: RandomizationTestOptions = {},
): RandomizationTestResult {
  checkOptionKeys(options, RANDOMIZATION_TEST_OPTION_KEYS, 'pairedRandomizationTest option');
  checkNumbers('a', a);
  checkNumbers('b', b);
  const d = differences(a, b, 1);
  const permutations = options.permutations ?? EVAL_DEFAULTS.permutations;
  if (!Number.isInteger(permutations) || permutations < 1) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a positive integer for permutations but received ${permutations}`, name: 'permutations' });
  }
  const next = mulberry32Uint32(options.seed ?? EVAL_REPORT_DEFAULTS.seed);
  const n = d.length;
  let observed = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    observed += d[i]!;
    scale += Math.abs(d[i]!);
  }
  const threshold = Math.abs(observed) - 1e-9 * scale;
  let count = 0;
  for (let p = 0; p < permutations; p++) {
    let sum = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 31) === 0) bits = next();
      sum += (bits & 1) === 0 ? d[i]! : -d[i]!;
      bits >>>= 1;
    }
    if (Math.abs(sum) >= threshold) count++;
  }
  return { meanDiff: observed / n, p: (count + 1) / (permutations + 1), n, permutations };
}

/**
 * Student's paired t-test: t = mean(d) / (sd(d) / √n) with the sample standard deviation (n − 1),
 * df = n − 1, two-sided p from the t distribution. All differences equal: p = 1 when they are 0,
 * else p = 0 (t = ±∞).
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  checkNumbers('a', a);
  checkNumbers('b', b);
  const d = differences(a, b, 2);
  const n = d.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += d[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (d[i]! - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const df = n - 1;
  if (sd === 0 || sd <= 1e-15 * Math.abs(mean)) {
    return mean === 0 ? { meanDiff: 0, t: 0, df, p: 1, n } : { meanDiff: mean, t: mean > 0 ? Infinity : -Infinity, df, p: 0, n };
  }
  const t = mean / (sd / Math.sqrt(n));
  return { meanDiff: mean, t, df, p: studentTTwoSidedP(t, df), n };
}



function differences(a: ArrayLike<number>, b: ArrayLike<number>, minN: number): Float64Array {
  if (a.length !== b.length) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected paired samples of equal length but received ${a.length} and ${b.length}` });
  }
  if (a.length < minN) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected at least ${minN} pairs but received ${a.length}` });
  }
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    d[i] = a[i]! - b[i]!;
    if (!Number.isFinite(d[i]!)) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `Expected finite values but pair ${i} is (${a[i]}, ${b[i]})` });
    }
  }
  return d;
}
