/**
 * Which shard a document lives on: a stable function of its id and the shard count, the same in
 * every process, on every machine and in every release (a document's shard is fixed at build time
 * and every write after it is routed the same way).
 *
 * The key is the first 8 bytes of SHA-256(id as UTF-8), big-endian; the shard is Lamping & Veach's
 * jump consistent hash of that key ("A Fast, Minimal Memory, Consistent Hash Algorithm", 2014,
 * arXiv:1406.2294): balanced, and going from n to n + 1 shards moves only 1/(n + 1) of the
 * documents, so a future re-shard moves the least data.
 */
import { createHash } from 'node:crypto';
import { PlaitError, checkString } from '../errors/index.js';

const MASK64 = (1n << 64n) - 1n;
/** The multiplier of the paper's 64-bit linear congruential step. */
const LCG_MULTIPLIER = 2862933555777941757n;

/** The 64-bit key of a document id: SHA-256(id)[0..8), big-endian. */
export function shardKeyOf(docId: string): bigint {
  checkString('docId', docId, 'a document id (a string)');
  return createHash('sha256').update(docId, 'utf8').digest().readBigUInt64BE(0);
}

/**
 * Jump consistent hash: the bucket in [0, buckets) of a 64-bit key.
 * @throws PlaitError INVALID_ARGUMENT when `buckets` is not an integer in [1, 2^31).
 */
export function jumpConsistentHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets >= 2 ** 31) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `shard count must be an integer in [1, 2^31), got ${buckets}` });
  }
  let k = key & MASK64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * LCG_MULTIPLIER + 1n) & MASK64;
    // (b + 1) · (2^31 / ((k >> 33) + 1)) in double precision, truncated: the paper's C, operation for operation.
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/**
 * The shard of a document: `jumpConsistentHash(shardKeyOf(docId), shards)`, in [0, shards).
 * @throws PlaitError INVALID_ARGUMENT when `shards` is not an integer in [1, 2^31).
 */
export function shardOf(docId: string, shards: number): number {
  checkString('docId', docId, 'a document id (a string)');
  return jumpConsistentHash(shardKeyOf(docId), shards);
}
