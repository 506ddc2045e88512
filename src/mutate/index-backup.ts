/**
 * A consistent copy of an index folder while it serves and changes (`plait backup <index> <dest>`).
 *
 * Why `cp -a` is not the rule: since schema 4 the document store is changed in place in WAL mode
 * (docs/ARCHITECTURE.md, "The document store, changed in place"), and its latest commits live in
 * `<store>-wal` until a checkpoint folds them into the main file — which cannot happen past a
 * server's pinned read snapshot, and a read-only connection never runs one: while `plait serve`
 * runs, `docs*.sqlite` alone is behind the manifest. Tried on cisi (1,460 documents, 4 writes, a
 * server running): a copy of every file but the `-wal` (what a backup tool that skips SQLite side
 * files, or a copy of the files the manifest lists, makes) fails to open with INDEX_CORRUPT; a
 * whole-folder copy works only when no write commits while it runs (a write that lands between the
 * copy of the manifest and of the store mixes two generations).
 *
 * `backupIndex` holds the index's write lock for the copy (no commit can land while it runs; readers
 * are not blocked), copies every file the committed manifest lists, the store through SQLite's
 * online backup API (its committed image, WAL content included, as one self-contained file), fsyncs
 * them, writes the manifest last, and renames the finished folder into place: `dest` appears whole
 * or not at all. The copy is an ordinary index: it opens, serves and takes writes on its own.
 */
import { copyFileSync, existsSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { PlaitError, isPlaitError, checkNonEmptyString } from '../errors/index.js';
import { readManifest } from '../format/index-reader.js';
import { checkFolderDestination, occupiedDestination } from '../format/index-path.js';
import { fsyncDir, fsyncFile } from '../format/index-transaction.js';
import { BUILDER_FILE, claimNewName, cleanStaleBuilds, giveBackFolder, newBuildDir, swapInto } from '../format/publish.js';
import { MANIFEST_FILE, listedFiles } from '../format/manifest.js';
import { acquireWriteLock, type WriteLock } from '../format/write-lock.js';
import { openDatabase } from '../docstore/open-database.js';

export interface BackupResult {
  /** The folder the copy was written to (absolute). */
  dest: string;
  /** The generation the copy holds: the source's last commit when the copy began. */
  generation: number;
  /** Files copied, the manifest included. */
  files: number;
  /** Bytes written (the files' sizes). */
  bytes: number;
}

/** A backup under way: the source's lock, the destination's claim (its lock, and whether this backup made its folder). */
interface ActiveBackup {
  source: string;
  target: string;
  lock: WriteLock;
  claim: WriteLock;
  made: boolean;
  aborted: boolean;
}

/** Gives an unfinished backup's destination back as it was found (publish.ts giveBackFolder: an empty folder of the user's stays empty), and the source's lock. */
function giveBack(b: ActiveBackup): void {
  try {
    giveBackFolder(b.target, b.made, (removeFile) => b.claim.release({ removeFile }));
  } finally {
    // A source folder without an index (named by mistake) is left without the lock's file.
    b.lock.release({ removeFile: !existsSync(join(b.source, MANIFEST_FILE)) });
  }
}

/** This process's backups under way, by unfinished copy's folder (`abortActiveBackups`). */
const activeBackups = new Map<string, ActiveBackup>();

/**
 * Removes the unfinished folders of this process's backups under way and releases their locks —
 * for a signal handler that exits next (a backup writes nothing into the source index, so nothing
 * there changes). Returns the destinations given up.
 */
export function abortActiveBackups(): string[] {
  const dests: string[] = [];
  for (const [partial, b] of activeBackups) {
    b.aborted = true;
    rmSync(partial, { recursive: true, force: true });
    giveBack(b);
    dests.push(partial);
  }
  activeBackups.clear();
  return dests;
}

/** `path` with its longest existing prefix resolved through symbolic links (the rest need not exist yet). */
export function realPathOf(path: string): string {
  const missing: string[] = [];
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) {
    missing.unshift(basename(p));
    p = dirname(p);
  }
  return join(realpathSync(p), ...missing);
}

/**
 * Copies the index at `src` into the new folder `dest` as of its last commit.
 * The write lock is taken synchronously, before the first await: a write started after this call
 * returns its promise gets INDEX_LOCKED until the copy ends.
 * @throws PlaitError INDEX_EXISTS (an index is at `dest`), DESTINATION_EXISTS (a file, or a folder
 * of other files, is at `dest`; an empty folder is taken), INVALID_ARGUMENT (`dest` inside `src`), INDEX_LOCKED (a write is running; retry after
 * it), INDEX_NOT_FOUND / INDEX_CORRUPT (no readable index at `src`), DOCSTORE_FAILED (SQLite's backup failed).
 */
export async function backupIndex(src: string, dest: string): Promise<BackupResult> {
  checkNonEmptyString('src', src, 'an index folder path');
  checkNonEmptyString('dest', dest, 'a destination folder path');
  const target = resolve(dest);
  // A new or empty folder (the finished copy is renamed over it); an index there is INDEX_EXISTS,
  // a file or a folder of other files DESTINATION_EXISTS.
  const hint = 'a backup goes to a new folder (choose another destination)';
  if (checkFolderDestination(target, hint) === 'index') throw occupiedDestination(target, hint);
  // Not inside the index it copies (as `cp -r a a/b` refuses): the copy would live, and be removed,
  // with the index, and its temporary folder would be written into the index folder.
  const inside = relative(realPathOf(resolve(src)), realPathOf(target));
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `${target} is inside the index ${src}: ${hint}`, path: target });
  }
  const lock = acquireWriteLock(src);
  // The destination is claimed as a build claims a new name (format/publish.ts): its folder made
  // (one `mkdir` wins) and its write lock held until the copy is in place, so a build or restore
  // onto the same name waits or fails INDEX_LOCKED, and a killed builder's claim (a folder of lock
  // files) is taken over instead of failing the final rename with a raw ENOTEMPTY.
  // The copy is made in a build folder (`.<name>.building-<pid>-<time>`, with its builder's record),
  // so that one a kill -9 left is removed by the next build, restore or backup beside it (its
  // `.<name>.partial-<random>` folder had stayed in the user's folder for good).
  let claimed: { made: boolean; lock: WriteLock };
  try {
    claimed = claimNewName(target, () => {
      if (checkFolderDestination(target, hint) === 'index') throw occupiedDestination(target, hint);
    }, () => acquireWriteLock(target));
  } catch (e) {
    lock.release();
    throw e;
  }
  const record: ActiveBackup = { source: src, target, lock, claim: claimed.lock, made: claimed.made, aborted: false };
  let partial: string;
  try {
    // Published by another process between the check above and the claim.
    if (checkFolderDestination(target, hint) === 'index') throw occupiedDestination(target, hint);
    cleanStaleBuilds(target);
    partial = newBuildDir(target);
  } catch (e) {
    giveBack(record);
    throw e;
  }
  activeBackups.set(partial, record);
  let published = false;
  try {
    const m = readManifest(src);
    let bytes = 0;
    const files = listedFiles(m);
    for (const f of files) {
      const from = join(src, f.name);
      const to = join(partial, f.name);
      if (f.entry.inPlace === true) {
        const db = openDatabase(from, { readonly: true, fileMustExist: true });
        try {
          await db.backup(to);
        } catch (e) {
          throw new PlaitError('DOCSTORE_FAILED', { message: `backup of ${from}: ${e instanceof Error ? e.message : String(e)}`, path: from }, { cause: e });
        } finally {
          db.close();
        }
      } else {
        copyFileSync(from, to);
      }
      if (record.aborted) throw new PlaitError('ABORTED', { message: `the backup to ${target} was interrupted; nothing was written there`, path: target });
      fsyncFile(to);
      bytes += statSync(to).size;
    }
    // The manifest last (readManifest's, rolled forward to the store's commit record if the rename was lost).
    // SQLite's backup writes its own image of an in-place store: no size or CRC of the source's holds for it.
    const copiedFiles = Object.fromEntries(Object.entries(m.files).map(([role, e]) => [role, e.inPlace === true ? { bytes: 0, crc32: 0, inPlace: true as const } : e]));
    const manifestText = `${JSON.stringify({ ...m, files: copiedFiles }, null, 2)}\n`;
    writeFileSync(join(partial, MANIFEST_FILE), manifestText);
    fsyncFile(join(partial, MANIFEST_FILE));
    rmSync(join(partial, BUILDER_FILE), { force: true });
    fsyncDir(partial);
    swapInto(partial, target);
    published = true;
    fsyncDir(dirname(target));
    return { dest: target, generation: m.generation ?? 0, files: files.length + 1, bytes: bytes + Buffer.byteLength(manifestText) };
  } catch (e) {
    if (!published) rmSync(partial, { recursive: true, force: true });
    throw record.aborted && !isPlaitError(e, 'ABORTED') ? new PlaitError('ABORTED', { message: `the backup to ${target} was interrupted; nothing was written there`, path: target }, { cause: e }) : e;
  } finally {
    // Not when aborted: abortActiveBackups gave everything back already.
    if (activeBackups.delete(partial)) {
      if (published) {
        record.claim.release();
        record.lock.release();
      } else giveBack(record);
    }
  }
}
