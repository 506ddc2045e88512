/**
 * Shard routing: jump consistent hash equals the paper's C reference (values below were printed by
 * the paper's 10-line C function compiled with g++, for the keys and bucket counts shown), the
 * document key is SHA-256's first 8 bytes (hand-checked digests), routing is balanced, and growing
 * from n to n + 1 shards moves only documents onto the new shard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jumpConsistentHash, shardKeyOf, shardOf } from '../src/cluster/shard-of.js';
import { clusterSubjects } from '../src/cluster/subjects.js';

const BUCKETS = [1, 2, 3, 7, 10, 1000, 65536];
const REFERENCE: Array<[bigint, number[]]> = [
  [0n, [0, 0, 0, 0, 0, 0, 0]],
  [1n, [0, 0, 0, 6, 6, 549, 21134]],
  [0xdeadbeefn, [0, 1, 2, 5, 5, 285, 64244]],
  [0xffffffffffffffffn, [0, 1, 2, 2, 9, 313, 18311]],
  [0x123456789abcdef0n, [0, 0, 2, 4, 4, 399, 55019]],
  [42n, [0, 1, 2, 2, 2, 571, 5747]],
];

test('jump consistent hash equals the paper’s C implementation', () => {
  for (const [key, want] of REFERENCE) {
    assert.deepEqual(BUCKETS.map((n) => jumpConsistentHash(key, n)), want, `key ${key.toString(16)}`);
  }
});

test('a document’s key is the first 8 bytes of SHA-256 of its UTF-8 id', () => {
  assert.equal(shardKeyOf(''), 0xe3b0c44298fc1c14n); // SHA-256("") = e3b0c442 98fc1c14 …
  assert.equal(shardKeyOf('doc-1'), 0xbb0e4f49443794d9n);
  assert.equal(shardKeyOf('émile'), 0xa56b363ca23dd9dbn);
});

test('routing is balanced and growing the cluster moves documents only onto the new shard', () => {
  const ids = Array.from({ length: 20000 }, (_, i) => `doc-${i}`);
  for (const n of [2, 3, 5]) {
    const counts = new Array<number>(n).fill(0);
    let moved = 0;
    for (const id of ids) {
      const s = shardOf(id, n);
      counts[s]!++;
      const grown = shardOf(id, n + 1);
      if (grown !== s) {
        assert.equal(grown, n, `${id} moved from ${s} to ${grown}, not to the new shard`);
        moved++;
      }
    }
    for (const c of counts) assert.ok(Math.abs(c - ids.length / n) < 0.05 * (ids.length / n), `unbalanced ${counts.join('/')}`);
    assert.ok(Math.abs(moved / ids.length - 1 / (n + 1)) < 0.02, `moved ${moved} of ${ids.length} going to ${n + 1} shards`);
  }
});

test('invalid shard counts and cluster names are refused with INVALID_ARGUMENT', () => {
  for (const n of [0, -1, 1.5, 2 ** 31, Number.NaN]) assert.throws(() => shardOf('a', n), { code: 'INVALID_ARGUMENT' });
  for (const name of ['', 'a.b', 'a b', 'x'.repeat(65), 'a*']) assert.throws(() => clusterSubjects(name), { code: 'INVALID_ARGUMENT' });
  const s = clusterSubjects('scifact_2');
  assert.equal(s.shardService(1), 'plait.scifact_2.shard.1');
  assert.equal(s.writeStream(0), 'PLAIT_scifact_2_SHARD_0');
  assert.throws(() => s.writeSubject(-1), { code: 'INVALID_ARGUMENT' });
});
