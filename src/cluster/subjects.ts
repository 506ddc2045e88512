/**
 * The names a plait cluster uses on NATS, in one place, so that every process (builder, replica,
 * coordinator, writer) derives the same ones. A cluster is named by its index name (the folder
 * holding `shard-<i>`); names are NATS tokens, so the cluster name is limited to [A-Za-z0-9_-].
 *
 * - `plait.<cluster>.shard.<i>` — the shard's service subject prefix: replicas answer requests on
 *   `<prefix>.<verb>` in the queue group `plait-<cluster>-shard-<i>` (load shared, failover).
 * - stream `PLAIT_<cluster>_SHARD_<i>` on subject `plait.<cluster>.shard.<i>.writes` — the shard's
 *   ordered, durable write log (JetStream).
 * - object store bucket `plait-<cluster>` — each shard's published index files, `shard-<i>/<file>`.
 */
import { PlaitError } from '../errors/index.js';

const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface ClusterSubjects {
  readonly cluster: string;
  /** Request subject prefix of shard `i`'s service (`<prefix>.search`, `<prefix>.stats`, …). */
  shardService(i: number): string;
  /** Queue group in which shard `i`'s replicas share requests. */
  shardQueue(i: number): string;
  /** JetStream stream holding shard `i`'s write log. */
  writeStream(i: number): string;
  /** Subject that shard `i`'s write log stores. */
  writeSubject(i: number): string;
  /** JetStream object store bucket with every shard's published files. */
  readonly objectBucket: string;
}

/**
 * The subjects, queue groups, streams and buckets of cluster `cluster`.
 * @throws PlaitError INVALID_ARGUMENT when the name is not 1–64 characters of [A-Za-z0-9_-].
 */
export function clusterSubjects(cluster: string): ClusterSubjects {
  if (!CLUSTER_NAME.test(cluster)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `cluster name ${JSON.stringify(cluster)} must be 1–64 characters of [A-Za-z0-9_-] (it becomes part of NATS subjects)` });
  }
  const shard = (i: number): number => {
    if (!Number.isInteger(i) || i < 0) throw new PlaitError('INVALID_ARGUMENT', { message: `shard number must be a non-negative integer, got ${i}` });
    return i;
  };
  return {
    cluster,
    shardService: (i) => `plait.${cluster}.shard.${shard(i)}`,
    shardQueue: (i) => `plait-${cluster}-shard-${shard(i)}`,
    writeStream: (i) => `PLAIT_${cluster}_SHARD_${shard(i)}`,
    writeSubject: (i) => `plait.${cluster}.shard.${shard(i)}.writes`,
    objectBucket: `plait-${cluster}`,
  };
}
