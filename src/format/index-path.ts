/**
 * Where an index name points. A path-like name (absolute, or containing a slash, or starting with
 * '.') is used as given. A bare name ("scifact") is looked up in two places, in this order: the
 * current folder (`./scifact`), then the index home (`indexes/scifact`, or `$PLAIT_INDEX_DIR`).
 * An existing index wins; a new build goes to `./<name>` only when that is already an index (it
 * is rebuilt in place), otherwise to the index home — a folder that is not an index is never
 * taken over by a build.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PlaitError } from '../errors/index.js';
import { MANIFEST_FILE } from './manifest.js';
import { CLUSTER_MANIFEST_FILE } from '../cluster/cluster-manifest.js';

/** Default home of indexes; `PLAIT_INDEX_DIR` overrides. */
export function indexHome(): string {
  return resolve(process.env.PLAIT_INDEX_DIR ?? 'indexes');
}

function isPathLike(nameOrPath: string): boolean {
  return isAbsolute(nameOrPath) || /[\\/]/.test(nameOrPath) || nameOrPath.startsWith('.');
}

/** The places a name may denote, in lookup order (one for a path-like name, two for a bare one). */
export function indexCandidates(nameOrPath: string): string[] {
  if (isPathLike(nameOrPath)) return [resolve(nameOrPath)];
  return [resolve(nameOrPath), join(indexHome(), nameOrPath)];
}

/** Whether `dir` holds an index (its manifest; validity is checked when it is opened). */
export function isIndexDir(dir: string): boolean {
  return existsSync(join(dir, MANIFEST_FILE));
}

/**
 * The folder a name denotes: the first candidate that holds an index, else the last candidate
 * (the index home for a bare name, where a new build goes).
 */
export function resolveIndexPath(nameOrPath: string): string {
  const candidates = indexCandidates(nameOrPath);
  return candidates.find(isIndexDir) ?? candidates[candidates.length - 1]!;
}

/**
 * The folder of an existing index, for reading. Throws `INDEX_NOT_FOUND` naming every place it
 * looked when no candidate holds an index manifest.
 */
export function locateIndex(nameOrPath: string): string {
  const candidates = indexCandidates(nameOrPath);
  const found = candidates.find(isIndexDir);
  if (found !== undefined) return found;
  // A sharded build's folder (cluster.json, shard-<i>/) is not one index: say how to reach it.
  const cluster = candidates.find((c) => existsSync(join(c, CLUSTER_MANIFEST_FILE)));
  if (cluster !== undefined) {
    throw new PlaitError('INDEX_NOT_FOUND', { message: `"${nameOrPath}" is a sharded index (${join(cluster, CLUSTER_MANIFEST_FILE)}), not one index: name one shard (${join(cluster, 'shard-0')}), or search it whole through a coordinator (plait serve --nats <url> --coordinate ${nameOrPath})`, path: cluster, looked: candidates });
  }
  const looked = candidates.map((c) => (existsSync(c) ? `${c} (no ${MANIFEST_FILE})` : c));
  throw new PlaitError('INDEX_NOT_FOUND', { message: `no index "${nameOrPath}": looked in ${looked.join(' and ')}`, path: candidates[candidates.length - 1], looked: candidates });
}
