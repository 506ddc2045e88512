/**
 * Crash-safe publication of a built index: the build writes into a temporary sibling folder
 * (`.<name>.building-<pid>-<time>`), and the finished build is published in one of two ways:
 *  - over an existing index (a rebuild, or `plait restore --force`: mutate/index-restore.ts):
 *    through the index transaction (index-transaction.ts), whose write lock is taken when the
 *    build STARTS (a concurrent `plait add` is refused with
 *    INDEX_LOCKED instead of committing into a folder the rebuild then replaces). Each built file is
 *    fsynced and renamed into the folder under a new generation's registered name, and the manifest
 *    commits it like any write: the folder keeps its identity (a server watching it, a user's own
 *    files in it), the generation number goes on rising, and the previous index's registered files
 *    are removed after the commit;
 *  - to a new path (or over a folder without a readable index): every file and the folder are
 *    fsynced, then the folder is renamed into place — swapped atomically with an unreadable old one
 *    (renameat2 RENAME_EXCHANGE through the addon; else moved aside first) — and the parent folder
 *    is fsynced. A kill at any point leaves the old index or the new one, never a half-written one.
 *    The new name is CLAIMED when the build starts: its folder is made (one `mkdir` wins) and its
 *    write lock taken and held until publish, as over an existing index. Two builds or restores onto
 *    one new name had both passed the "absent" check and both published (the second swapped the
 *    first's index out without a word) or the second failed with a raw ENOTEMPTY; now the second
 *    waits on the lock (or fails INDEX_LOCKED) and then finds the first's index: a build rebuilds
 *    it, a restore without `replace` (`newOnly`) fails INDEX_EXISTS having made nothing. A claimed
 *    folder holds only lock files (CLAIM_FILES), which checkFolderDestination reads as empty; a
 *    failed or interrupted build removes its claim, and a killed one's is taken over by the next.
 *
 * Leftovers of killed builds are removed by the next build in the same folder, whatever their
 * name, but only when their builder is dead: each temporary folder holds `.builder.json` with the
 * builder's pid, hostname and process start time (/proc on Linux), so a live build is never
 * touched, nor a folder made by another machine on a shared file system, and a reused pid is not
 * taken for the builder. A process that is interrupted (SIGINT/SIGTERM) removes its own folders
 * first: `removeActiveBuildDirs()` is for the signal handler of the command line.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { nativeFileOps } from '../kernels/index.js';
import { INDEX_FILES, MANIFEST_FILE, roleFileName, segmentFile, type ArraysDelta, type IndexFileRole, type IndexManifest, type NamedFile } from './manifest.js';
import { readManifest } from './index-reader.js';
import { CLAIM_FILES, checkFolderDestination, type FolderDestination } from './index-path.js';
import { PlaitError, isPlaitError } from '../errors/index.js';
import { writeFileAtomic } from './index-files.js';
import { fsyncDir, fsyncFile, IndexTransaction, type TransactionOptions } from './index-transaction.js';

/** The builder's record inside a temporary folder. */
export const BUILDER_FILE = '.builder.json';

interface BuilderRecord {
  pid: number;
  hostname: string;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22), null off Linux. */
  startTicks: number | null;
  startedAt: string;
}

const TEMP_RE = /^\.(.+)\.(building|old)-(\d+)-[0-9a-z]+$/;

/** A build in progress: the target's transaction (its write lock) and the new-name folder it claimed (null: the folder was there). */
interface ActiveBuild {
  tx: IndexTransaction;
  claimed: string | null;
}

/** Temporary folders this process is building; removed by `removeActiveBuildDirs`. */
const active = new Map<string, ActiveBuild>();

export interface TemporaryBuildOptions extends Pick<TransactionOptions, 'onOp' | 'lock'> {
  /**
   * The target must hold no index once its lock is held (a restore without `replace`): another
   * process that published there first makes this one fail INDEX_EXISTS instead of replacing it.
   */
  newOnly?: boolean;
}

/**
 * Makes the temporary folder a build writes into, and takes the target's write lock now (held until
 * publish or discard): over an existing index, and onto a new name, whose folder is claimed first
 * (see the module header).
 * @throws PlaitError DESTINATION_EXISTS (the target is a file, or a folder with entries that is not
 * an index), INDEX_LOCKED (another build, restore or write holds the target), INDEX_EXISTS (`newOnly`
 * and an index is there).
 */
export function temporaryBuildDir(target: string, options: TemporaryBuildOptions = {}): string {
  const { newOnly, ...txOptions } = options;
  mkdirSync(dirname(target), { recursive: true });
  // A file, or a folder of someone's files, is refused (DESTINATION_EXISTS); an index is rebuilt.
  const found = checkFolderDestination(target, 'choose another --index');
  // Another build that claimed it a moment ago leaves it to the lock below.
  const claimed = found === 'absent' ? claimFolder(target) : null;
  let tx: IndexTransaction;
  try {
    tx = IndexTransaction.begin(target, { ...txOptions, allowMissing: true });
  } catch (e) {
    if (claimed !== null) removeClaim(claimed);
    throw e;
  }
  let dir: string;
  try {
    if (newOnly === true && tx.base !== null) {
      throw new PlaitError('INDEX_EXISTS', { message: `${target} is an index already (another process published it while this one started); choose another name, or replace it (replace: true, --force)`, path: target });
    }
    cleanStaleBuilds(target);
    dir = join(dirname(target), `.${basename(target)}.building-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir);
  } catch (e) {
    tx.close();
    if (claimed !== null) removeClaim(claimed);
    throw e;
  }
  active.set(dir, { tx, claimed });
  const record: BuilderRecord = { pid: process.pid, hostname: hostname(), startTicks: startTicks(process.pid), startedAt: new Date().toISOString() };
  writeFileSync(join(dir, BUILDER_FILE), `${JSON.stringify(record)}\n`);
  return dir;
}

/**
 * Publishes a finished build (see the module header); returns the manifest now committed at the
 * target (with its generation and commit id).
 */
export function publishIndex(tmpDir: string, target: string): IndexManifest {
  rmSync(join(tmpDir, BUILDER_FILE), { force: true });
  const tx = active.get(tmpDir)?.tx ?? null;
  try {
    const built = readManifest(tmpDir);
    if (tx !== null && tx.base !== null) {
      const manifest = publishInto(tx, tmpDir, built);
      active.delete(tmpDir);
      rmSync(tmpDir, { recursive: true, force: true });
      return manifest;
    }
    const commit = randomBytes(12).toString('hex');
    const manifest: IndexManifest = { ...built, commit, contentCommit: commit };
    writeFileAtomic(join(tmpDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const name of readdirSync(tmpDir)) fsyncFile(join(tmpDir, name));
    fsyncDir(tmpDir);
    swapInto(tmpDir, target);
    active.delete(tmpDir);
    fsyncDir(dirname(target));
    return manifest;
  } finally {
    tx?.close();
  }
}

/** Renames the build folder to `target`, replacing a folder there (not an index, or an unreadable one; a claimed name's folder of lock files). */
export function swapInto(tmpDir: string, target: string): void {
  if (!existsSync(target)) {
    renameSync(tmpDir, target);
    return;
  }
  if (nativeFileOps()?.exchangePaths(tmpDir, target) === true) {
    rmSync(tmpDir, { recursive: true, force: true }); // now the old folder
    return;
  }
  const aside = join(dirname(target), `.${basename(target)}.old-${process.pid}-${Date.now().toString(36)}`);
  renameSync(target, aside);
  try {
    renameSync(tmpDir, target);
  } catch (err) {
    renameSync(aside, target);
    throw err;
  }
  rmSync(aside, { recursive: true, force: true });
}

/** `base.ext` of a whole-index role's build name (INDEX_FILES): ['ivf-offsets', 'i64']. */
function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * A rebuild (or a restore, mutate/index-restore.ts) over an existing index: every file the built
 * manifest lists moves in under this generation's names, then the manifest commits. A build lists
 * the whole-index roles and its segments; a restored backup of a living index may also list a
 * tombstone bitmap and doclens/IVF deltas, each moved in under a name of its own.
 */
function publishInto(tx: IndexTransaction, tmpDir: string, built: IndexManifest): IndexManifest {
  const fileNames: Partial<Record<IndexFileRole, string>> = {};
  for (const role of Object.keys(INDEX_FILES) as IndexFileRole[]) {
    const [base, ext] = splitName(INDEX_FILES[role]);
    const name = tx.name(base, ext);
    tx.moveIn(join(tmpDir, roleFileName(built, role)), name);
    fileNames[role] = name;
  }
  const segments = built.segments.map((s, i) => {
    const stem = tx.segmentStem(i);
    tx.moveIn(join(tmpDir, segmentFile(s, 'codes', i)), `codes.${stem}.i32`);
    tx.moveIn(join(tmpDir, segmentFile(s, 'residuals', i)), `residuals.${stem}.u8`);
    return { ...s, stem };
  });
  const moveNamed = (f: NamedFile, base: string): NamedFile => {
    const file = tx.name(base, f.file.slice(f.file.lastIndexOf('.') + 1));
    tx.moveIn(join(tmpDir, f.file), file);
    return { file, entry: f.entry };
  };
  const t = built.tombstones;
  const tombstones = t === undefined ? {} : { tombstones: { ...t, ...moveNamed(t, 'tombstones') } };
  // Each delta's three files under bases of their own: tx.name gives one name per base and generation.
  const deltas = built.deltas === undefined ? {} : {
    deltas: built.deltas.map((d, k): ArraysDelta => ({ ...d, doclens: moveNamed(d.doclens, `doclens-d${k}`), ivfOffsets: moveNamed(d.ivfOffsets, `ivf-offsets-d${k}`), ivf: moveNamed(d.ivf, `ivf-d${k}`) })),
  };
  return tx.commit({ ...built, fileNames, segments, ...tombstones, ...deltas });
}

/** Removes a temporary folder of this process (a failed or aborted build), and the new name it claimed. */
export function discardBuildDir(tmpDir: string): void {
  const a = active.get(tmpDir);
  a?.tx.close();
  active.delete(tmpDir);
  rmSync(tmpDir, { recursive: true, force: true });
  if (a?.claimed != null) removeClaim(a.claimed);
}

/**
 * Claims a new name (see the module header): makes its folder, which one `mkdir` wins. Returns the
 * folder when this call made it, null when it was there already (another claim, or a folder that
 * was there before): the write lock taken next decides between claimants.
 */
export function claimFolder(target: string): string | null {
  mkdirSync(dirname(target), { recursive: true });
  try {
    mkdirSync(target);
    return target;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return null;
  }
}

/** Removes a claimed new-name folder while it holds nothing but lock files (never an index, never a user's file). */
export function removeClaim(dir: string): void {
  try {
    if (readdirSync(dir).every((name) => CLAIM_FILES.has(name))) rmSync(dir, { recursive: true, force: true });
  } catch {
    // Gone already, or published meanwhile: nothing of ours to remove.
  }
}

/** Removes every temporary folder this process is building (synchronously: for signal handlers). Returns them. */
export function removeActiveBuildDirs(): string[] {
  const removed = [...active.keys()];
  for (const dir of removed) {
    try {
      const a = active.get(dir);
      a?.tx.close();
      rmSync(dir, { recursive: true, force: true });
      if (a?.claimed != null) removeClaim(a.claimed);
    } catch {
      // Best effort: the next build removes what is left, since this process will be dead.
    }
  }
  active.clear();
  return removed;
}

/**
 * Removes, in the folder that holds `target`, the temporary folders of builds whose builder is
 * dead (any index name), and puts back an index that a killed publish had moved aside. Returns the
 * folders removed.
 */
export function cleanStaleBuilds(target: string): string[] {
  const parent = dirname(target);
  if (!existsSync(parent)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(parent)) {
    const m = TEMP_RE.exec(entry);
    if (m === null) continue;
    const full = join(parent, entry);
    if (active.has(full) || builderAlive(full, Number(m[3]))) continue;
    const name = join(parent, m[1]!);
    try {
      if (m[2] === 'old' && !existsSync(name)) renameSync(full, name);
      else {
        rmSync(full, { recursive: true, force: true });
        removed.push(full);
      }
    } catch {
      // Another build may be cleaning the same folder; whatever is left goes next time.
    }
  }
  return removed;
}

/**
 * Checks a sharded build's root (`plait index --shards`) as checkFolderDestination checks a new
 * index's folder, except that a root holding only what an interrupted or killed sharded build of it
 * left — shard folders claimed (lock files only) and their `.shard-<i>.building-*` folders — counts
 * as empty: the next build takes the claims over and removes dead builders' folders (a live
 * builder's claim still makes it fail INDEX_LOCKED). That root had been refused DESTINATION_EXISTS
 * ("never over your files") until removed by hand.
 * @throws PlaitError DESTINATION_EXISTS (a file, or a folder holding anything else).
 */
export function checkShardedDestination(root: string, hint: string): FolderDestination {
  try {
    return checkFolderDestination(root, hint);
  } catch (e) {
    if (isPlaitError(e, 'DESTINATION_EXISTS') && shardedBuildLeftoversOnly(root)) return 'emptyFolder';
    throw e;
  }
}

function shardedBuildLeftoversOnly(root: string): boolean {
  const shard = /^shard-\d+$/;
  try {
    return readdirSync(root).every((name) => {
      if (shard.test(name)) return readdirSync(join(root, name)).every((n) => CLAIM_FILES.has(n));
      const m = TEMP_RE.exec(name);
      return m !== null && m[2] === 'building' && shard.test(m[1]!);
    });
  } catch {
    return false; // not a folder, or a shard entry that is a file
  }
}

/**
 * Whether the process that made a temporary folder may still be running. With a builder record:
 * a folder from another host counts as alive (it cannot be checked from here); on this host the
 * pid must exist and, where /proc gives start times, have the recorded one (else the pid was
 * reused). Without a record (a folder moved aside, or one from an older plait): the pid in its name.
 */
export function builderAlive(dir: string, pidFromName: number): boolean {
  let record: Partial<BuilderRecord> | null = null;
  try {
    record = JSON.parse(readFileSync(join(dir, BUILDER_FILE), 'utf8')) as Partial<BuilderRecord>;
  } catch {
    record = null;
  }
  // This process's own folders that are not active are leftovers of its earlier, failed builds.
  if (record === null || typeof record.pid !== 'number') return pidFromName !== process.pid && pidAlive(pidFromName);
  if (typeof record.hostname === 'string' && record.hostname !== hostname()) return true;
  if (record.pid === process.pid || !pidAlive(record.pid)) return false;
  if (typeof record.startTicks !== 'number') return true;
  const now = startTicks(record.pid);
  return now === null || now === record.startTicks;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time in clock ticks since boot, from /proc/<pid>/stat (field 22); null when unavailable. */
function startTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[22 - 3]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}
