/**
 * The way back from a backup (`plait restore <backup> <index>`): the semantics of SQLite's
 * `.restore` (the backup API run the other way: the target's content is replaced whole, as one
 * transaction, under the target's write lock) and of Elasticsearch's snapshot restore (onto a new
 * name, or over an existing index only when asked to; a snapshot of an incompatible version is
 * refused).
 *
 * 1. Checks first, touching nothing: the destination (an index there needs `replace`), and the
 *    backup whole — its manifest (format version: INDEX_VERSION names the backup), every listed
 *    file's size and CRC-32 (`verifyIndex` with `verify: 'full'`, what `plait info --verify` checks,
 *    whatever the index's size), and its document store (SQLite's `quick_check`, the commit record
 *    the manifest names, the document count), which the manifest cannot checksum once written.
 * 2. A temporary sibling folder of the target, made by the build's own door
 *    (format/publish.ts `temporaryBuildDir`): over an existing index it takes that index's write
 *    lock (waited for as `plait add` waits: `lockWaitMs`), and leftovers of a killed restore are
 *    removed by the next build or restore there, as a killed build's are.
 * 3. The backup's files are copied into it (the document store through SQLite's backup API when
 *    the backup's store is changed in place, so a backup that was itself written to gives its
 *    latest commits), fsynced, and the store's commit record is dropped: the record names the
 *    backup's generation and file names, which the restored index does not keep (readManifest would
 *    otherwise roll forward to it); the manifest's rename commits the store, as after a build. The
 *    copy is checked again as the backup was: what is published is what was checked.
 * 4. `publishIndex`: over an existing index, one index transaction — every file moved in under a
 *    new generation's names, the manifest renamed over the old one (the commit point), the old
 *    generation's files unlinked after — so a crash anywhere leaves the old index whole or the
 *    restored one whole (test/index-restore-crash.test.ts enumerates the states and kills a child
 *    at each operation); the folder keeps its identity and the generation number goes on rising
 *    (target's + 1), with a fresh commit id, so a server serving the target picks the restored
 *    generation up as it picks up any other process's write, never a mix (`PlaitIndex.refresh`
 *    swaps whole generations). Onto a new name the finished folder is renamed into place and keeps
 *    the backup's generation number.
 */
import { plural } from '../util/plural.js';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, isAbsolute, resolve } from 'node:path';
import { CLUSTER_MANIFEST_FILE, readClusterManifest } from '../cluster/cluster-manifest.js';
import { PlaitError, isPlaitError, checkNonEmptyString } from '../errors/index.js';
import { readManifest, verifyIndex } from '../format/index-reader.js';
import { checkFolderDestination } from '../format/index-path.js';
import { writeFileAtomic } from '../format/index-files.js';
import { fsyncFile, type FsOp } from '../format/index-transaction.js';
import { MANIFEST_FILE, inPlaceUnchecked, listedFiles, roleFileName, type IndexManifest } from '../format/manifest.js';
import { discardBuildDir, publishIndex, temporaryBuildDir } from '../format/publish.js';
import { DocStoreReader } from '../docstore/docstore-reader.js';
import { openDatabase, openStoreForReading } from '../docstore/open-database.js';
import { COMMIT_RECORD_KEY } from '../docstore/store-commit.js';
import { checkModel } from '../search/model-check.js';
import { realPathOf } from './index-backup.js';
import { LOCK_WAIT_OPTION_KEYS, withLockWait, type LockWaitOptions } from './lock-wait.js';
import { checkOptionKeys, pickOptions, type OptionKeys } from '../util/option-keys.js';

export interface RestoreOptions extends LockWaitOptions {
  /**
   * Replace an index at the destination (default false: INDEX_EXISTS). The old index stays whole
   * until the restored one commits; a folder of other files is never replaced (DESTINATION_EXISTS).
   */
  replace?: boolean;
  /** Test hook: the target's index transaction's file operations, in order (index-transaction.ts `onOp`). */
  onOp?: (op: FsOp) => void;
}

/** RestoreOptions' keys: `{ replce: true }` had been refused as INDEX_EXISTS, `{ lockwaitMs }` waited the default. */
const RESTORE_OPTION_KEYS = { ...LOCK_WAIT_OPTION_KEYS, replace: true, onOp: true } as const satisfies OptionKeys<RestoreOptions>;

export interface RestoreResult {
  /** The restored index's folder (absolute). */
  path: string;
  /** Whether an index was replaced (false: restored onto a new name). */
  replaced: boolean;
  /** The generation the backup held. */
  backupGeneration: number;
  /** The restored index's generation: the replaced index's + 1, or the backup's onto a new name. */
  generation: number;
  /** The restored index's commit id (a fresh one: readers see a new commit). */
  commit: string;
  /** Files restored, the manifest included. */
  files: number;
  /** Bytes of the listed files (an in-place store: its size after the copy). */
  bytes: number;
  counts: IndexManifest['counts'];
}

/**
 * INDEX_NOT_FOUND for a `<backup>` that is no backup: no folder there, or a folder without the
 * manifest.json every index (and so every `plait backup`) holds. `cause`: the reader's own error.
 */
export function notABackup(backup: string, cause?: unknown): PlaitError {
  const what = !existsSync(backup) ? 'nothing is there' : statSync(backup).isDirectory() ? `the folder has no ${MANIFEST_FILE}` : 'it is a file, not a folder';
  return new PlaitError('INDEX_NOT_FOUND', { message: `no backup at ${backup}: ${what}; a backup is the folder plait backup writes (any index folder will do)`, path: backup, reason: 'notABackup' }, cause === undefined ? undefined : { cause });
}

/**
 * Checks the backup at `backup` whole, touching nothing: manifest, every listed file's size and
 * CRC-32, the document store's integrity, commit record and count. Returns its manifest.
 * @throws PlaitError INDEX_NOT_FOUND (no backup there), INDEX_VERSION (another format version),
 * INDEX_CORRUPT (a file missing, truncated or changed; a damaged store), DOCSTORE_FAILED.
 */
export function verifyBackup(backup: string): IndexManifest {
  checkNonEmptyString('backup', backup, 'a backup folder path');
  let manifest: IndexManifest;
  try {
    ({ manifest } = verifyIndex(backup, { verify: 'full' }));
  } catch (e) {
    if (isPlaitError(e, 'INDEX_VERSION')) {
      throw new PlaitError('INDEX_VERSION', { ...e.details, message: `the backup at ${backup} cannot be restored by this plait: ${withoutTemplate(e)}`, path: backup }, { cause: e });
    }
    // A folder with no manifest at all is not a backup (or no folder): not "a backup not whole".
    if (isPlaitError(e, 'INDEX_NOT_FOUND') && !existsSync(join(backup, MANIFEST_FILE))) throw notABackup(backup, e);
    if (isPlaitError(e, 'INDEX_NOT_FOUND') || isPlaitError(e, 'INDEX_CORRUPT')) {
      throw new PlaitError(e.code, { ...e.details, message: `the backup at ${backup} is not whole, nothing was restored: ${withoutTemplate(e)}`, path: backup }, { cause: e });
    }
    throw e;
  }
  const storePath = join(backup, roleFileName(manifest, 'docstore'));
  let db;
  try {
    db = openStoreForReading(storePath);
  } catch (e) {
    throw new PlaitError('INDEX_CORRUPT', { message: `the backup's document store ${storePath} does not open: ${e instanceof Error ? e.message : String(e)}`, path: backup }, { cause: e });
  }
  try {
    // quick_check: every page and record well-formed (integrity_check without the index-content pass: O(N)).
    const problems = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>;
    if (problems.length !== 1 || problems[0]?.quick_check !== 'ok') {
      throw new PlaitError('INDEX_CORRUPT', { message: `the backup's document store ${storePath} is damaged (SQLite quick_check: ${problems.slice(0, 3).map((p) => p.quick_check).join('; ')}), nothing was restored`, path: backup });
    }
  } catch (e) {
    if (isPlaitError(e)) throw e;
    throw new PlaitError('INDEX_CORRUPT', { message: `the backup's document store ${storePath} is damaged (${e instanceof Error ? e.message : String(e)}), nothing was restored`, path: backup }, { cause: e });
  } finally {
    db.close();
  }
  // The commit the manifest names and the documents it counts.
  const store = DocStoreReader.open(storePath, { commit: manifest.docstoreCommit ?? null });
  try {
    if (store.nDocuments !== manifest.counts.documents) {
      throw new PlaitError('INDEX_CORRUPT', { message: `the backup's document store holds ${plural(store.nDocuments, 'document')}, its manifest says ${manifest.counts.documents}; nothing was restored`, path: backup });
    }
  } finally {
    store.close();
  }
  return manifest;
}

/**
 * Restores the index backed up at `backup` (a `plait backup` / `backupIndex` folder, or any index)
 * into `dest`: onto a new name, or over the index there with `replace`. See the module header for
 * the order of steps and why a crash leaves one index or the other whole.
 * @throws PlaitError INDEX_NOT_FOUND / INDEX_VERSION / INDEX_CORRUPT (the backup; nothing touched),
 * INDEX_EXISTS (an index at `dest` without `replace`), MODEL_MISMATCH (over an index of another model), DESTINATION_EXISTS (a file, or a folder of
 * other files, at `dest`), INVALID_ARGUMENT (`dest` is the backup, or one holds the other),
 * INDEX_LOCKED (another writer held the target past `lockWaitMs`), NOT_WRITABLE, DOCSTORE_FAILED;
 * INVALID_ARGUMENT for an options key RestoreOptions does not have, or a cluster's shard folder or
 * root as `dest` (refuseClusterTarget; nothing touched).
 */
export async function restoreIndex(backup: string, dest: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  checkOptionKeys(options, RESTORE_OPTION_KEYS, 'restore option');
  checkNonEmptyString('backup', backup, 'a backup folder path');
  checkNonEmptyString('dest', dest, 'a destination index folder path');
  const src = resolve(backup);
  const target = resolve(dest);
  refuseClusterTarget(target);
  const hint = 'restore onto a new name, or replace the index there with --force (replace: true)';
  const found = checkFolderDestination(target, hint);
  if (found === 'index' && options.replace !== true) {
    throw new PlaitError('INDEX_EXISTS', { message: `${target} is an index already; ${hint}`, path: target });
  }
  const [a, b] = [realPathOf(src), realPathOf(target)];
  const within = (outer: string, inner: string): boolean => {
    const r = relative(outer, inner);
    return r === '' || (!r.startsWith('..') && !isAbsolute(r));
  };
  if (within(a, b) || within(b, a)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `${target} ${a === b ? 'is' : within(a, b) ? 'is inside' : 'holds'} the backup ${src}: restore into another folder`, path: target });
  }
  const manifest = verifyBackup(src);
  if (found === 'index') sameModel(target, manifest);
  const tmp = await withLockWait(() => temporaryBuildDir(target, { newOnly: options.replace !== true, ...(options.onOp === undefined ? {} : { onOp: options.onOp }) }), pickOptions<LockWaitOptions>(options, LOCK_WAIT_OPTION_KEYS));
  try {
    let bytes = 0;
    for (const f of listedFiles(manifest)) {
      const to = join(tmp, f.name);
      if (f.name === roleFileName(manifest, 'docstore') && inPlaceUnchecked(f.entry)) await copyStore(join(src, f.name), to);
      else copyFileSync(join(src, f.name), to);
      fsyncFile(to);
      bytes += inPlaceUnchecked(f.entry) ? statSync(to).size : f.entry.bytes;
    }
    // The record named the backup's commit; the restored manifest's rename commits the store now.
    const { docstoreCommit: _record, ...rest } = manifest;
    writeFileAtomic(join(tmp, MANIFEST_FILE), `${JSON.stringify(rest, null, 2)}\n`);
    // What is published is what was checked: the copy is checked again (a backup changed since its
    // check, or a bad copy, fails here with the target untouched; ~0.6 s for scifact's 449 MiB).
    try {
      verifyBackup(tmp);
    } catch (e) {
      if (!isPlaitError(e)) throw e;
      throw new PlaitError(e.code, { message: `the copy of the backup at ${src} did not check out (the backup changed while it was copied, or the copy failed), nothing was restored: ${withoutTemplate(e)}`, path: src }, { cause: e });
    }
    const restored = publishIndex(tmp, target);
    return {
      path: target,
      replaced: found === 'index',
      backupGeneration: manifest.generation ?? 0,
      generation: restored.generation ?? 0,
      commit: restored.commit ?? '',
      files: listedFiles(restored).length + 1,
      bytes,
      counts: restored.counts,
    };
  } catch (e) {
    discardBuildDir(tmp);
    throw e;
  }
}

/**
 * A restore into a cluster's shard folder (`<root>/shard-<i>` beside a cluster.json), or onto the
 * cluster's root: not supported, refused before anything is read. A restored shard would change
 * one copy only — not the shard's other replicas, not its write log, whose entries its replicas
 * would apply again over the restored documents — and a root holds no index of its own. What is
 * supported: a shard folder as the backup (an ordinary index: restored to a new name it is served
 * as its own index), and a cluster rebuilt from its corpus (buildShardedIndex, plait index --shards).
 * @throws PlaitError INVALID_ARGUMENT, reason 'clusterRestore' (the root) or 'clusterShard'.
 */
function refuseClusterTarget(target: string): void {
  if (existsSync(join(target, CLUSTER_MANIFEST_FILE))) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `${target} is a sharded index (${CLUSTER_MANIFEST_FILE}): a restore restores one index, not a cluster; rebuild the cluster from its corpus (plait index --shards, buildShardedIndex), or restore the backup to a new name`,
      path: target,
      reason: 'clusterRestore',
    });
  }
  const m = /^shard-(\d+)$/.exec(basename(target));
  if (m === null || !existsSync(join(dirname(target), CLUSTER_MANIFEST_FILE))) return;
  throw new PlaitError('INVALID_ARGUMENT', {
    message: `${target} is shard ${m[1]} of cluster ${readClusterManifest(dirname(target)).name}: restoring it would replace this copy only, not the shard's other replicas nor its write log (its replicas would apply the log again over the restored documents); restoring a cluster's shards is not supported: restore the backup to a new name, or rebuild the cluster from its corpus`,
    path: target,
    reason: 'clusterShard',
  });
}

/**
 * Over an index, the backup must be of the same model: a server serving the index keeps its query
 * encoder across generations (PlaitIndex.refresh swaps arrays and store, not the encoder), so a
 * restored index of another model would be searched with the wrong one. An unreadable target (a
 * broken index) has no model to keep.
 * @throws PlaitError MODEL_MISMATCH (the fields that differ, and the ways round it).
 */
function sameModel(target: string, backup: IndexManifest): void {
  let current: IndexManifest;
  try {
    current = readManifest(target);
  } catch {
    return;
  }
  try {
    checkModel(current.model, backup.model);
  } catch (e) {
    if (!isPlaitError(e, 'MODEL_MISMATCH')) throw e;
    throw new PlaitError('MODEL_MISMATCH', { ...e.details, message: `the backup is of another model than the index at ${target} (${withoutTemplate(e)}; the model named second is the backup's): a server serving the index keeps its query encoder; restore onto a new name, or remove the index first and restart its server`, path: target }, { cause: e });
  }
}

/** A PlaitError's own message, without its code's template ("Unsupported index format: …"). */
function withoutTemplate(e: PlaitError): string {
  return e.message.slice(e.message.indexOf(': ') + 2);
}

/** The backup's in-place store as one self-contained file (its WAL folded in), without its commit record. */
async function copyStore(from: string, to: string): Promise<void> {
  const db = openStoreForReading(from);
  try {
    await db.backup(to);
  } catch (e) {
    throw new PlaitError('DOCSTORE_FAILED', { message: `copy of ${from}: ${e instanceof Error ? e.message : String(e)}`, path: from }, { cause: e });
  } finally {
    db.close();
  }
  const copy = openDatabase(to, { fileMustExist: true });
  try {
    copy.prepare('DELETE FROM meta WHERE key = ?').run(COMMIT_RECORD_KEY);
  } finally {
    copy.close(); // the last connection: SQLite checkpoints the WAL into the file and removes it
  }
}
