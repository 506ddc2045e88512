/**
 * Where an index name points. A path-like name (absolute, or containing a slash, or starting with
 * '.') is used as given. A bare name ("scifact") is looked up in two places, in this order: the
 * current folder (`./scifact`), then the index home (`indexes/scifact`, or `$PLAIT_INDEX_DIR`).
 * An existing index wins; a new build goes to `./<name>` only when that is already an index (it
 * is rebuilt in place), otherwise to the index home — a folder that is not an index is never
 * taken over by a build.
 */
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PlaitError, invalidArgument, checkNonEmptyString } from '../errors/index.js';
import { MANIFEST_FILE } from './manifest.js';
import { LOCK_BREAK_FILE, LOCK_FILE, LOCK_RECORD_FILE, liveLockHolder } from './write-lock.js';
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
  // Every door that names an index comes here (openIndex, buildIndex, addCorpus, the CLI): a plain-JS
  // caller's 42 or '' had reached node:path (a TypeError, ERR_INVALID_ARG_TYPE) or named the working folder.
  if (typeof nameOrPath !== 'string' || nameOrPath.trim() === '') throw invalidArgument('index', 'an index name or path (a non-empty string)', nameOrPath);
  if (isPathLike(nameOrPath)) return [resolve(nameOrPath)];
  return [resolve(nameOrPath), join(indexHome(), nameOrPath)];
}

/** The names of the indexes (and sharded indexes) in the index home, sorted; [] when it has none or does not exist. */
export function listIndexHome(): string[] {
  const home = indexHome();
  let entries: string[];
  try {
    entries = readdirSync(home);
  } catch {
    return [];
  }
  return entries.filter((e) => isIndexDir(join(home, e)) || existsSync(join(home, e, CLUSTER_MANIFEST_FILE))).sort();
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
  // A folder a build or restore has claimed and not yet committed (`plait serve x` in a second
  // terminal while `plait index … --index x` runs) names that writer, not only the missing manifest.
  const looked = candidates.map((c) => {
    if (!existsSync(c)) return c;
    const holder = liveLockHolder(c);
    return holder === null ? `${c} (no ${MANIFEST_FILE})` : `${c} (no ${MANIFEST_FILE} yet: pid ${holder.pid} on ${holder.hostname} has been writing it since ${holder.startedAt}, a build or restore; it is an index once that one commits)`;
  });
  throw new PlaitError('INDEX_NOT_FOUND', { message: `no index "${nameOrPath}": looked in ${looked.join(' and ')}`, path: candidates[candidates.length - 1], looked: candidates });
}

/** plait's own files in a claimed new-name folder before its index arrives (write-lock.ts). */
export const CLAIM_FILES: ReadonlySet<string> = new Set([LOCK_FILE, LOCK_RECORD_FILE, LOCK_BREAK_FILE]);

/** What a command that creates a new index folder found at its destination (checkFolderDestination). */
export type FolderDestination = 'absent' | 'emptyFolder' | 'index';

/**
 * The error for a destination that is taken: INDEX_EXISTS only when an index is there;
 * DESTINATION_EXISTS for anything else — a file (details.kind 'file'), a folder holding files but no
 * index ('folder', with its first entries), a dangling link or a device ('other') — so that a plain
 * file is never called an index. `hint` says what to do ("choose another destination").
 */
export function occupiedDestination(path: string, hint: string): PlaitError {
  checkNonEmptyString('path', path, 'a folder path');
  if (isIndexDir(path)) return new PlaitError('INDEX_EXISTS', { message: `${path} is an index already; ${hint}`, path });
  let kind: 'file' | 'folder' | 'other';
  try {
    const st = statSync(path);
    kind = st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'other';
  } catch {
    kind = 'other'; // a link to nothing
  }
  if (kind === 'folder') {
    const entries = readdirSync(path).sort();
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', ...' : '');
    // A finished sharded index: it is plait's, not "your files" (the message had said "not a plait index").
    if (entries.includes(CLUSTER_MANIFEST_FILE)) {
      return new PlaitError('DESTINATION_EXISTS', { message: `${path} is a sharded index (it holds ${CLUSTER_MANIFEST_FILE}), which a new index or copy does not replace; ${hint}, or remove that folder first`, path, kind, reason: 'cluster', entries: entries.slice(0, 10) });
    }
    return new PlaitError('DESTINATION_EXISTS', { message: `${path} is a folder with ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} (${shown}) and not a plait index (no ${MANIFEST_FILE}): plait writes a new index only into an absent or empty folder and never over your files; ${hint}`, path, kind, entries: entries.slice(0, 10) });
  }
  const what = kind === 'file' ? 'a file, not a folder' : 'neither a file nor a folder (a link to nothing, a device or a socket)';
  return new PlaitError('DESTINATION_EXISTS', { message: `${path} exists and is ${what}: an index is a folder, and plait does not replace what is there; ${hint}`, path, kind });
}

/**
 * Checks the path where a command will create an index folder (a build's --index, a backup's
 * destination, a fetched shard): 'absent', 'emptyFolder' or 'index' (the caller decides whether it
 * may replace an index); anything else is refused.
 * @throws PlaitError DESTINATION_EXISTS (a file, a non-empty folder that is not an index, a dangling link).
 */
export function checkFolderDestination(path: string, hint: string): FolderDestination {
  try {
    lstatSync(path);
  } catch {
    return 'absent';
  }
  if (isIndexDir(path)) return 'index';
  let folder = false;
  try {
    folder = statSync(path).isDirectory();
  } catch {
    // a dangling link: occupied, refused below
  }
  // A folder holding only write-lock files is empty to plait: a new name claimed by a build or
  // restore (format/publish.ts), whose builder holds the lock or was killed (the next one takes over).
  if (folder && readdirSync(path).every((name) => CLAIM_FILES.has(name))) return 'emptyFolder';
  throw occupiedDestination(path, hint);
}
