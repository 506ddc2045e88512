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
 *    failed or interrupted build gives a folder that held no index back as it found it
 *    (giveBackFolder: a claimed name's folder removed, a user's own empty folder emptied of the
 *    `write.lock` it had kept), and a killed one's claim is taken over by the next.
 *  - a sharded build's root (temporaryShardedBuildDir): built whole beside the old root and swapped
 *    in with one rename (publishShardedBuild), so a rebuild keeps nothing of the old shape.
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
import { CLAIM_FILES, checkFolderDestination, occupiedDestination, type FolderDestination } from './index-path.js';
import { PlaitError, isPlaitError, checkNonEmptyString } from '../errors/index.js';
import { writeFileAtomic } from './index-files.js';
import { fsyncDir, fsyncFile, IndexTransaction, unmanagedEntries, type TransactionOptions } from './index-transaction.js';
import { acquireWriteLock, type WriteLock } from './write-lock.js';

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

/**
 * A build in progress: its target, the target's transaction (its write lock; null for a sharded
 * build, which holds locks of its own), and `giveBack`, which releases what the build holds and
 * leaves the target as the build found it (giveBackFolder).
 */
interface ActiveBuild {
  target: string;
  tx: IndexTransaction | null;
  giveBack(): void;
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
  const { made, lock: tx } = claimNewName(target, () => {
    refuseClusterShard(target);
    // A file, or a folder of someone's files, is refused (DESTINATION_EXISTS); an index is rebuilt.
    checkFolderDestination(target, 'choose another --index');
  }, () => IndexTransaction.begin(target, { ...txOptions, allowMissing: true }));
  const giveBack = (): void => {
    if (tx.base === null) giveBackFolder(target, made, (removeFile) => tx.close({ removeLock: removeFile }));
    else tx.close();
  };
  let dir: string;
  try {
    if (newOnly === true && tx.base !== null) {
      throw new PlaitError('INDEX_EXISTS', { message: `${target} is an index already (another process published it while this one started); choose another name, or replace it (replace: true, --force)`, path: target });
    }
    cleanStaleBuilds(target);
    dir = newBuildDir(target);
  } catch (e) {
    giveBack();
    throw e;
  }
  active.set(dir, { target, tx, giveBack });
  return dir;
}

/**
 * Refuses to build one index into a sharded index's shard folder (`<root>/shard-<i>` beside
 * `<root>/cluster.json`): `plait index --index big/shard-0` rebuilt that shard alone, with its own
 * codebook and every document of the corpus, under a cluster.json naming the old one — a mixture of
 * two builds that replicas then refuse. A restore is refused there the same way
 * (mutate/index-restore.ts refuseClusterTarget, which says more first), and plait add / delete too.
 * @throws PlaitError INVALID_ARGUMENT (reason 'clusterShard').
 */
export function refuseClusterShard(target: string): void {
  const m = SHARD_RE.exec(basename(target));
  if (m === null || !existsSync(join(dirname(target), CLUSTER_FILE))) return;
  throw new PlaitError('INVALID_ARGUMENT', {
    message: `${target} is a shard of the sharded index ${dirname(target)} (${CLUSTER_FILE}): a build replaces one index, and this shard rebuilt alone would not match the cluster's codebook and routing; rebuild the whole sharded index (plait index --shards, buildShardedIndex), or build to another name`,
    path: target,
    reason: 'clusterShard',
  });
}

/** Tries of claimNewName when the folder it was about to lock was given back (removed) by its previous claimant. */
const CLAIM_TRIES = 3;

/**
 * Claims `target` (checked first by `check`; its folder made when absent, one `mkdir` winning) and
 * takes its lock with `lock`. A folder removed under the lock's opening — a claim given back by a
 * build that failed meanwhile — is claimed again. Returns whether this call made the folder.
 */
export function claimNewName<L>(target: string, check: () => void, lock: () => L): { made: boolean; lock: L } {
  for (let attempt = 1; ; attempt++) {
    check();
    // Another build that claimed it a moment ago leaves it to the lock below.
    const made = claimFolder(target) !== null;
    try {
      return { made, lock: lock() };
    } catch (e) {
      // A folder this call made is given back, unless another claimant holds its lock: one that came
      // between this call's mkdir and its lock is working in it (removed, its lock guarded nothing, the
      // next claimant made a new folder and both published onto one new name: two `plait restore` at
      // once, test/publish-claim.test.ts). That holder gives the folder back if it fails.
      if (made && !isPlaitError(e, 'INDEX_LOCKED')) removeClaim(target);
      if (attempt < CLAIM_TRIES && isPlaitError(e, 'INDEX_NOT_FOUND') && !existsSync(target)) continue;
      throw e;
    }
  }
}

/** Makes a build folder beside `target` (`.<name>.building-<pid>-<time>`) holding its builder's record. */
export function newBuildDir(target: string): string {
  const dir = join(dirname(target), `.${basename(target)}.building-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir);
  try {
    const record: BuilderRecord = { pid: process.pid, hostname: hostname(), startTicks: startTicks(process.pid), startedAt: new Date().toISOString() };
    writeFileSync(join(dir, BUILDER_FILE), `${JSON.stringify(record)}\n`);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/**
 * Publishes a finished build (see the module header); returns the manifest now committed at the
 * target (with its generation and commit id).
 */
export function publishIndex(tmpDir: string, target: string): IndexManifest {
  rmSync(join(tmpDir, BUILDER_FILE), { force: true });
  const tx = active.get(tmpDir)?.tx ?? null;
  // A failure below leaves the build active: the caller's discardBuildDir gives the target back.
  let manifest: IndexManifest;
  if (tx !== null && tx.base !== null) {
    manifest = publishInto(tx, tmpDir, readManifest(tmpDir));
    rmSync(tmpDir, { recursive: true, force: true });
  } else {
    manifest = sealBuild(tmpDir);
    swapInto(tmpDir, target);
    fsyncDir(dirname(target));
  }
  active.delete(tmpDir);
  tx?.close();
  return manifest;
}

/**
 * Makes a finished build folder a new index, ready to be renamed into place: its manifest gets a
 * commit id, and every file and the folder are fsynced. Returns that manifest.
 */
export function sealBuild(dir: string): IndexManifest {
  const commit = randomBytes(12).toString('hex');
  const manifest: IndexManifest = { ...readManifest(dir), commit, contentCommit: commit };
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const name of readdirSync(dir)) fsyncFile(join(dir, name));
  fsyncDir(dir);
  return manifest;
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

/**
 * Removes a temporary folder of this process (a failed or aborted build) and gives its target back
 * as the build found it: an index keeps its lock file; a new name's folder is removed, a user's
 * empty folder emptied again (giveBackFolder).
 */
export function discardBuildDir(tmpDir: string): void {
  const a = active.get(tmpDir);
  active.delete(tmpDir);
  try {
    rmSync(tmpDir, { recursive: true, force: true });
  } finally {
    a?.giveBack();
  }
}

/**
 * Gives back a folder a build, restore or backup took and did not publish into, as it was found,
 * while its lock is still held: when it holds nothing but lock files (CLAIM_FILES), the folder is
 * removed if this process made it (a claimed new name), else its lock file is (a user's own empty
 * folder, which had been left holding `write.lock`); then `release` releases the lock, told whether
 * to remove the lock's file (write-lock.ts `removeFile`). A folder that holds anything else (an
 * index, a user's file put there meanwhile) is left as it is.
 */
export function giveBackFolder(folder: string, made: boolean, release: (removeFile: boolean) => void): void {
  let claimOnly = false;
  try {
    claimOnly = readdirSync(folder).every((name) => CLAIM_FILES.has(name));
    if (claimOnly && made) rmSync(folder, { recursive: true, force: true });
  } catch {
    // Gone already: nothing of ours to remove.
  } finally {
    release(claimOnly);
  }
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
      discardBuildDir(dir);
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
  checkNonEmptyString('target', target, 'an index folder path');
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

/** A sharded build root's shard folder (`shard-<i>`, cluster/cluster-manifest.ts shardDir). */
const SHARD_RE = /^shard-\d+$/;
/** The sharded index's manifest in its root (cluster/cluster-manifest.ts; named here to keep this module below cluster/). */
const CLUSTER_FILE = 'cluster.json';

/**
 * Starts a sharded build (cluster/sharded-build.ts) of the root folder `root`, which is published
 * whole by publishShardedBuild: a new root is built in a temporary sibling folder (shard folders,
 * then cluster.json) and swapped into place with one rename, as a single index built to a new name
 * is (swapInto), so a crash at any point leaves the old sharded index whole or the new one, and
 * nothing of the old shape is kept — a rebuild from 3 shards to 2 had published each new shard into
 * the old folder and left `shard-2` beside them (the root then held a stray shard, and a kill
 * between two shards' publishes a mixture of two codebooks).
 *
 * `root` may be absent, empty, a sharded index (cluster.json, `shard-<i>` folders) or what a killed
 * sharded build left; anything else in it — a plain index, or a file plait did not make, in the root
 * or in a shard folder (unmanagedEntries) — is refused DESTINATION_EXISTS, since the swap would drop
 * it. The root is claimed as a new name is (claimFolder) and its write lock held until publish or
 * discard, with the write lock of every shard folder there (a write applied to a shard meanwhile
 * would be lost: INDEX_LOCKED instead).
 * @throws PlaitError DESTINATION_EXISTS (see above), INDEX_LOCKED (another build, or a writer of a shard).
 */
export function temporaryShardedBuildDir(root: string, options: Pick<TransactionOptions, 'lock'> = {}): string {
  mkdirSync(dirname(root), { recursive: true });
  const hint = 'a sharded build replaces the whole folder: choose another index, or move those out of it';
  const { made, lock } = claimNewName(root, () => checkShardedRoot(root, hint), () => acquireWriteLock(root, options.lock));
  const shardLocks: WriteLock[] = [];
  const giveBack = (): void => {
    for (const l of shardLocks.splice(0)) l.release();
    giveBackFolder(root, made, (removeFile) => lock.release({ removeFile }));
  };
  let dir: string;
  try {
    checkShardedRoot(root, hint); // again under the lock: another build may have published meanwhile
    for (const name of readdirSync(root).sort()) if (SHARD_RE.test(name)) shardLocks.push(acquireWriteLock(join(root, name), options.lock));
    cleanStaleBuilds(root);
    dir = newBuildDir(root);
  } catch (e) {
    giveBack();
    throw e;
  }
  active.set(dir, { target: root, tx: null, giveBack });
  return dir;
}

/**
 * Publishes a sharded build's finished root folder (its shard folders each sealed by sealBuild, and
 * cluster.json written last): fsyncs it, swaps it into place with one rename (swapInto; the old root,
 * every shard of the old shape with it, is removed after the swap), fsyncs the parent, then releases
 * the locks. A failure before the swap leaves the build active: discardBuildDir gives the root back.
 */
export function publishShardedBuild(tmpRoot: string, root: string): void {
  const a = active.get(tmpRoot);
  if (a === undefined || a.tx !== null) throw new PlaitError('INTERNAL', { message: `${tmpRoot} is not a sharded build of this process` });
  rmSync(join(tmpRoot, BUILDER_FILE), { force: true });
  for (const name of readdirSync(tmpRoot)) if (!SHARD_RE.test(name)) fsyncFile(join(tmpRoot, name));
  fsyncDir(tmpRoot);
  swapInto(tmpRoot, root);
  fsyncDir(dirname(root));
  active.delete(tmpRoot);
  a.giveBack(); // the old root's locks (its folder is gone); the new root holds no lock file
}

/**
 * What a sharded build may replace at `root` (temporaryShardedBuildDir); throws DESTINATION_EXISTS
 * naming what it may not.
 */
function checkShardedRoot(root: string, hint: string): void {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    if (existsSync(root)) throw occupiedDestination(root, hint); // a file, a dangling link
    return; // absent
  }
  const foreign: string[] = [];
  for (const name of entries) {
    if (name === CLUSTER_FILE || CLAIM_FILES.has(name) || name.startsWith(`${CLUSTER_FILE}.tmp-`)) continue;
    const m = TEMP_RE.exec(name);
    if (m !== null && SHARD_RE.test(m[1]!)) continue; // an older plait's shard build folder
    if (!SHARD_RE.test(name)) {
      foreign.push(name);
      continue;
    }
    const shard = join(root, name);
    let base: IndexManifest | null = null;
    try {
      base = readManifest(shard);
    } catch {
      base = null;
    }
    try {
      foreign.push(...unmanagedEntries(shard, base).map((n) => join(name, n)));
    } catch {
      foreign.push(name); // a file named like a shard
    }
  }
  if (foreign.length === 0) return;
  if (existsSync(join(root, MANIFEST_FILE))) throw occupiedDestination(root, hint); // a plain index
  const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', ...' : '');
  throw new PlaitError('DESTINATION_EXISTS', { message: `${root} holds ${foreign.length} entr${foreign.length === 1 ? 'y' : 'ies'} that ${foreign.length === 1 ? 'is' : 'are'} not a sharded index's (${shown}); ${hint}`, path: root, kind: 'folder', entries: foreign.slice(0, 10) });
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
  const shard = SHARD_RE;
  try {
    return readdirSync(root).every((name) => {
      if (CLAIM_FILES.has(name)) return true;
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
