/**
 * `<name>/cluster.json`: what makes the shards under `<name>/shard-<i>` one cluster — the shard
 * count, the routing function (shard-of.ts), the checksum of the codebook every shard was
 * compressed with (so that a replica or coordinator can refuse a shard from another build), and
 * each shard's commit id at build time. Written atomically by the sharded build, last.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { indexHome } from '../format/index-path.js';
import { PlaitError, checkInstance, checkObject, checkNonEmptyString } from '../errors/index.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import type { IndexManifest } from '../format/manifest.js';
import type { ModelInfo } from '../encoder/types.js';

export const CLUSTER_MANIFEST_FILE = 'cluster.json';
/** shard-of.ts: jump consistent hash of the first 8 bytes of SHA-256(docId), big-endian. */
export const ROUTING_JUMP_SHA256 = 'jump-consistent-hash/sha256-be64';

export interface ClusterManifest {
  format: 'plait-cluster';
  version: 1;
  /** The cluster's name on NATS (subjects.ts): the folder's name at build time; a copy of the folder under another name keeps it (clusterNameAt). */
  name: string;
  shards: number;
  routing: typeof ROUTING_JUMP_SHA256;
  /** SHA-256 (hex) of the centroids' bytes and the codec's cutoffs and weights (codebookChecksum). */
  codebook: string;
  /**
   * The model every shard was encoded by (name, dim, fingerprint of its files), so a replica names
   * a model that differs and not only its codebook (shard-mismatch.ts); absent in clusters built
   * before it was recorded.
   */
  model?: Pick<ModelInfo, 'name' | 'dim' | 'fingerprint'>;
  /** Per shard: its commit id at build time, documents and passages. */
  shardInfo: { commit: string; documents: number; passages: number }[];
  createdAt: string;
}

/** Folder of shard `i` under the cluster folder. */
export function shardDir(root: string, i: number): string {
  checkNonEmptyString('root', root, 'a cluster folder path');
  return join(root, `shard-${i}`);
}

/** The checksum that names a codebook: centroids (float32 bytes), then the manifest's cutoffs and weights as JSON. */
export function codebookChecksum(centroids: Float32Array, codec: IndexManifest['codec']): string {
  checkInstance('centroids', centroids, Float32Array);
  checkObject('codec', codec, 'a manifest\'s codec record');
  return createHash('sha256')
    .update(new Uint8Array(centroids.buffer, centroids.byteOffset, centroids.byteLength))
    .update(JSON.stringify({ cutoffs: codec.cutoffs, weights: codec.weights }))
    .digest('hex');
}

export function writeClusterManifest(root: string, m: ClusterManifest): void {
  writeFileAtomic(join(root, CLUSTER_MANIFEST_FILE), `${JSON.stringify(m, null, 2)}\n`);
}

/**
 * Reads `<root>/cluster.json`.
 * @throws PlaitError INDEX_NOT_FOUND (no manifest), INDEX_CORRUPT (unreadable or malformed).
 */
/**
 * The folder of a sharded index, looked up as an index name is (format/index-path.ts): as given,
 * then, for a relative name, under the index home — where `plait index <corpus> --index big
 * --shards <n>` puts a bare name (`indexes/big`) — the first that holds a cluster.json; null when
 * neither does (a cluster known only by name on NATS, or a folder a fetch will fill).
 */
export function findClusterRoot(nameOrPath: string): string | null {
  checkNonEmptyString('nameOrPath', nameOrPath, 'a cluster name or path');
  const candidates = isAbsolute(nameOrPath) ? [resolve(nameOrPath)] : [resolve(nameOrPath), join(indexHome(), nameOrPath)];
  return candidates.find((c) => existsSync(join(c, CLUSTER_MANIFEST_FILE))) ?? null;
}

/**
 * A replica's `<cluster>/shard-<i>` argument with its cluster folder found by findClusterRoot (so
 * `plait serve big/shard-0` finds `indexes/big/shard-0`), else the path as given (resolved).
 */
export function resolveShardPath(path: string): string {
  checkNonEmptyString('path', path, 'a shard or cluster path');
  const trimmed = path.replace(/[\\/]+$/, '');
  const root = findClusterRoot(dirname(trimmed));
  return root === null ? resolve(trimmed) : join(root, basename(trimmed));
}

export function readClusterManifest(root: string): ClusterManifest {
  checkNonEmptyString('root', root, 'a cluster folder path');
  const path = join(root, CLUSTER_MANIFEST_FILE);
  if (!existsSync(path)) throw new PlaitError('INDEX_NOT_FOUND', { message: `${root} is not a sharded index (no ${CLUSTER_MANIFEST_FILE}): build one with plait index <corpus> --index ${basename(root)} --shards <n>`, path });
  let m: Partial<ClusterManifest>;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Partial<ClusterManifest>;
  } catch (e) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${path} is not valid JSON`, path }, { cause: e });
  }
  const ok = m.format === 'plait-cluster' && m.version === 1 && typeof m.name === 'string' && Number.isInteger(m.shards) && (m.shards ?? 0) >= 1 && m.routing === ROUTING_JUMP_SHA256 && typeof m.codebook === 'string' && Array.isArray(m.shardInfo) && m.shardInfo.length === m.shards;
  if (!ok) throw new PlaitError('INDEX_CORRUPT', { message: `${path} is not a plait cluster manifest (format plait-cluster, version 1)`, path });
  return m as ClusterManifest;
}

/**
 * What `plait index --index <root>` says when `<root>` is a sharded index (it does not rebuild one
 * in place, DESTINATION_EXISTS reason `cluster`): its replicas apply the shards' write logs from
 * the positions their folders record, which shards built anew would not hold (a replica would
 * replay the whole log onto them), and replicas on other machines serve copies the rebuild would
 * not reach. So: a new cluster beside it, then the switch. (`buildShardedIndex` over a root that no
 * replica serves does swap it in one rename.)
 */
export function clusterRebuildHint(root: string): string {
  const name = basename(root.replace(/[\\/]+$/, ''));
  return (
    `plait index does not rebuild a cluster in place (its replicas apply write logs from positions that new shards would not hold). ` +
    `To rebuild it: build a new one under another name (plait index <corpus> --index ${name}-2 --shards <n>), ` +
    `publish it (plait cluster publish ${name}-2 --nats <url>), start its replicas (plait serve ${name}-2/shard-<i> --nats <url>) and coordinator (plait serve --nats <url> --coordinate ${name}-2), ` +
    `move clients to it and stop this one's (writes made through this cluster's logs since its build are not in your corpus file: add them to the new one with plait cluster add). ` +
    `A folder no replica serves: remove it first, then build`
  );
}
