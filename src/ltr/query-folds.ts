/**
 * Query-grouped splits for training and cross-validation: every split in plait's learning to rank
 * is by query (all of a query's candidates fall on one side), from a seeded Fisher–Yates shuffle
 * (util/random.ts), so a split is repeatable.
 */
import { Random } from '../util/random.js';
import { checkNumber, checkStringArray } from '../errors/index.js';

/** `items` in a seeded random order (a new array). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const order = [...items];
  const rng = new Random(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** `k` folds of the query ids: the seeded shuffle dealt round-robin (sizes differ by at most one). */
export function queryFolds(ids: readonly string[], k: number, seed: number): string[][] {
  checkStringArray('ids', ids, 'an array of query ids');
  checkNumber('k', k, 'a fold count');
  checkNumber('seed', seed, 'a seed');
  const order = seededShuffle(ids, seed);
  return Array.from({ length: k }, (_, f) => order.filter((_, i) => i % k === f));
}
