/**
 * A shard's files in the JetStream object store (issue 24), so that a replica can start on a
 * machine with an empty folder: `publishShard` uploads a shard index's committed files — every
 * file its manifest lists, then the manifest — to the bucket `clusterSubjects(name).objectBucket`
 * as `shard-<i>/<file>`; `fetchShard` downloads them into an empty folder. The fetched index then
 * replays the write log from its manifest's `appliedLog` (LogApplier.start), so it catches up with
 * the writes made after the publish.
 *
 * Consistency without a lock: index files are never rewritten in place (a write adds files with
 * new generation-numbered names and removes the old ones after its commit), so a file is either
 * the one the manifest lists — its size and CRC-32 say so — or gone. Publishing reads the
 * manifest, uploads each listed file checking its CRC as it streams, and starts again from the new
 * manifest if a writer removed or replaced a file meanwhile. Unchanged files (same name, size and
 * CRC already in the bucket) are not uploaded again; objects of older publishes that the manifest
 * no longer lists are deleted after the manifest is uploaded. Fetching reads the manifest object
 * first, streams each file to disk checking size and CRC, fsyncs it, and writes `manifest.json`
 * last (temporary file, fsync, rename, fsync of the folder): a folder whose fetch stopped half-way
 * has no manifest and never opens as an index, and keeps the fetch's marker (FETCH_MARKER), so the
 * next fetch clears it instead of refusing a non-empty folder. A file that a concurrent publish
 * removed makes the fetch start again from the newer manifest.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { occupiedDestination } from '../format/index-path.js';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ObjectStore } from '@nats-io/obj';
import { PlaitError, checkNonEmptyString, checkShape, checkNumber, checkString } from '../errors/index.js';
import { fsyncDir, fsyncFile } from '../format/index-transaction.js';
import { MANIFEST_FILE, listedFiles, type FileEntry, type IndexManifest } from '../format/manifest.js';
import { clusterSubjects } from './subjects.js';
import { backupIndex } from '../mutate/index-backup.js';
import { withLockWait, type LockWaitOptions } from '../mutate/lock-wait.js';
import { openDatabase } from '../docstore/open-database.js';
import { fileEntry } from '../format/index-files.js';
import { natsObjectStore } from './nats-modules.js';

/**
 * Written first into the folder a fetch fills and removed after its manifest: a folder holding it
 * and no manifest is a fetch that was killed part-way, and the next fetch may clear it (its files
 * are all the fetch's own); any other non-empty folder is refused.
 */
export const FETCH_MARKER = '.plait-fetching';

/** Tries before giving up when writers (or publishers) keep changing the files under a publish (or fetch). */
const ATTEMPTS = 5;

export interface ShardFilesResult {
  shard: number;
  /** The generation and commit id of the manifest published or fetched. */
  generation: number;
  commit: string | undefined;
  /** The write-log position the files contain (absent: never applied a log). */
  appliedSequence: number | undefined;
  files: number;
  bytes: number;
  /** Files actually transferred (a publish skips files already in the bucket). */
  transferred: number;
}

/** The object name of a shard's file. */
export function shardObjectName(shard: number, file: string): string {
  checkNumber('shard', shard, 'a shard number');
  checkString('file', file, 'a file name');
  return `shard-${shard}/${file}`;
}

/** A file changed or vanished under a transfer: start again from the current manifest. */
class Moved extends Error {}

async function bucket(nc: NatsConnection, cluster: string): Promise<ObjectStore> {
  return new (natsObjectStore().Objm)(nc).create(clusterSubjects(cluster).objectBucket);
}

function parseManifest(bytes: Uint8Array, where: string): IndexManifest {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as IndexManifest;
  } catch (e) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${where} is not a JSON manifest` }, { cause: e });
  }
}

/** A file's bytes as a web stream; `matches()`, once it was read, says whether its size and CRC-32 are `entry`'s. */
function checkedFileStream(path: string, entry: FileEntry): { stream: ReadableStream<Uint8Array>; matches(): boolean } {
  let crc = 0;
  let size = 0;
  const checked = createReadStream(path, { highWaterMark: 1 << 20 }).map((chunk: Buffer) => {
    crc = crc32(chunk, crc);
    size += chunk.length;
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
  });
  return { stream: Readable.toWeb(checked) as ReadableStream<Uint8Array>, matches: () => size === entry.bytes && crc >>> 0 === entry.crc32 };
}

/**
 * Uploads shard `shard`'s committed index (the folder `dir`) to the cluster's object store. An
 * in-place store is copied under the write lock, waited for as `plait add` waits (`lockWait`:
 * LOCK_WAIT_DEFAULTS.waitMs unless given), so a replica's applier committing at that instant delays
 * the publish instead of failing it.
 * @throws PlaitError INDEX_NOT_FOUND (no manifest), INDEX_CHANGED (writers changed the files under
 * every one of the tries), INDEX_LOCKED (the write lock stayed held through the wait), INTERNAL
 * (the object store failed).
 */
export async function publishShard(nc: NatsConnection, cluster: string, shard: number, source: string, lockWait: LockWaitOptions = {}): Promise<ShardFilesResult> {
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('cluster', cluster, 'a cluster name');
  const snapshot = await publishableCopy(source, lockWait);
  try {
    return await publishFiles(nc, cluster, shard, snapshot?.dir ?? source);
  } finally {
    if (snapshot !== undefined) rmSync(snapshot.root, { recursive: true, force: true });
  }
}

/**
 * An index whose document store is changed in place (schema 4, WAL) has no size or CRC for it in
 * its manifest, and its committed content may sit in the `-wal` file: such a store cannot be
 * published file by file. It is published from a consistent copy instead — `backupIndex` under the
 * write lock (SQLite's backup API) — whose store is turned back into a build's single file
 * (rollback journal) and listed with its size and CRC, so a fetch verifies it as any other file and
 * the fetched index's first write moves it in place again. undefined: nothing is in place.
 */
async function publishableCopy(dir: string, lockWait: LockWaitOptions): Promise<{ root: string; dir: string } | undefined> {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) return undefined;
  const m = parseManifest(readFileSync(manifestPath), manifestPath);
  if (!listedFiles(m).some((f) => f.entry.inPlace === true)) return undefined;
  const root = mkdtempSync(join(tmpdir(), 'plait-publish-'));
  try {
    const copy = join(root, 'shard');
    // backupIndex takes the lock before it creates anything: a try that found it held left nothing behind.
    await withLockWait(() => backupIndex(dir, copy), lockWait);
    const cm = parseManifest(readFileSync(join(copy, MANIFEST_FILE)), join(copy, MANIFEST_FILE));
    const files: Record<string, FileEntry> = { ...cm.files };
    for (const f of listedFiles(cm)) {
      if (f.entry.inPlace !== true) continue;
      const path = join(copy, f.name);
      const db = openDatabase(path, { fileMustExist: true });
      try {
        db.pragma('journal_mode = DELETE');
      } finally {
        db.close();
      }
      const role = (Object.keys(cm.files) as Array<keyof typeof cm.files>).find((r) => cm.files[r] === f.entry);
      if (role !== undefined) files[role] = fileEntry(path);
    }
    writeFileSync(join(copy, MANIFEST_FILE), `${JSON.stringify({ ...cm, files }, null, 2)}\n`);
    return { root, dir: copy };
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

async function publishFiles(nc: NatsConnection, cluster: string, shard: number, dir: string): Promise<ShardFilesResult> {
  const store = await bucket(nc, cluster);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const manifestPath = join(dir, MANIFEST_FILE);
    if (!existsSync(manifestPath)) throw new PlaitError('INDEX_NOT_FOUND', { message: `${dir} has no ${MANIFEST_FILE}` });
    const manifestBytes = readFileSync(manifestPath);
    const m = parseManifest(manifestBytes, manifestPath);
    const files = listedFiles(m);
    let transferred = 0;
    try {
      for (const f of files) {
        const name = shardObjectName(shard, f.name);
        const had = await store.info(name);
        if (had !== null && !had.deleted && had.metadata?.crc32 === String(f.entry.crc32) && had.size === f.entry.bytes) continue;
        if (!existsSync(join(dir, f.name))) throw new Moved(f.name);
        const file = checkedFileStream(join(dir, f.name), f.entry);
        await store.put({ name, metadata: { crc32: String(f.entry.crc32), bytes: String(f.entry.bytes) } }, file.stream);
        if (!file.matches()) {
          // A rebuild replaced the file under its old name: the object is not the manifest's file.
          await store.delete(name);
          throw new Moved(f.name);
        }
        transferred++;
      }
    } catch (e) {
      if (e instanceof Moved || (e as { code?: string }).code === 'ENOENT') continue;
      throw new PlaitError('INTERNAL', { message: `publishing shard ${shard}: ${(e as Error).message}` }, { cause: e });
    }
    // The commit point of a publish: the manifest, after every file it lists.
    await store.putBlob({ name: shardObjectName(shard, MANIFEST_FILE) }, new Uint8Array(manifestBytes));
    const keep = new Set([MANIFEST_FILE, ...files.map((f) => f.name)].map((n) => shardObjectName(shard, n)));
    for (const o of await store.list()) if (o.name.startsWith(`shard-${shard}/`) && !keep.has(o.name)) await store.delete(o.name);
    return summary(shard, m, files, transferred);
  }
  throw new PlaitError('INDEX_CHANGED', { message: `writers changed ${dir} during each of ${ATTEMPTS} publishes; publish again when writes pause`, shard });
}

function summary(shard: number, m: IndexManifest, files: ReadonlyArray<{ entry: FileEntry }>, transferred: number): ShardFilesResult {
  return {
    shard,
    generation: m.generation ?? 0,
    commit: m.commit,
    appliedSequence: m.appliedLog?.sequence,
    files: files.length,
    bytes: files.reduce((s, f) => s + f.entry.bytes, 0),
    transferred,
  };
}

/** Streams an object to `path`, fsynced; Moved when it is gone or its size or CRC differ from `entry`. */
async function download(store: ObjectStore, name: string, path: string, entry: FileEntry): Promise<void> {
  const r = await store.get(name);
  if (r === null) throw new Moved(name);
  const out = createWriteStream(path);
  let crc = 0;
  let size = 0;
  const done = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  for await (const chunk of Readable.fromWeb(r.data as import('node:stream/web').ReadableStream<Uint8Array>)) {
    const b = chunk as Uint8Array;
    crc = crc32(b, crc);
    size += b.length;
    if (!out.write(b)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await done;
  const error = await r.error;
  if (error !== null && error !== undefined) throw error;
  if (size !== entry.bytes || crc >>> 0 !== entry.crc32) throw new Moved(name);
  fsyncFile(path);
}

/** Writes `dir/name` whole or not at all: a temporary file, fsynced, renamed into place, the folder fsynced. */
function writeDurably(dir: string, name: string, bytes: Uint8Array): void {
  const tmp = join(dir, `${name}.fetching`);
  writeFileSync(tmp, bytes);
  fsyncFile(tmp);
  fsyncDir(dir); // the files written before it are in the folder before the rename can be
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
}

/**
 * Downloads shard `shard`'s published index into `dir` (created if absent; must be empty, or a
 * fetch's own folder left by a fetch that was killed: FETCH_MARKER).
 * @throws PlaitError INDEX_EXISTS (an index is in `dir`), DESTINATION_EXISTS (`dir` is a file, or holds other files), INDEX_NOT_FOUND (nothing published for
 * the shard), INDEX_CHANGED (publishes kept replacing the files), INTERNAL (the object store failed).
 */
export async function fetchShard(nc: NatsConnection, cluster: string, shard: number, dir: string): Promise<ShardFilesResult> {
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('cluster', cluster, 'a cluster name');
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw occupiedDestination(dir, 'a shard is fetched into an empty folder');
  const store = await bucket(nc, cluster);
  const published = async (): Promise<Uint8Array> => {
    const bytes = await store.getBlob(shardObjectName(shard, MANIFEST_FILE));
    if (bytes === null) throw new PlaitError('INDEX_NOT_FOUND', { message: `shard ${shard} of cluster ${cluster} has not been published (plait cluster publish)`, shard });
    return bytes;
  };
  // Checked before the folder is made: a shard number past the cluster's, or a cluster never
  // published, must not leave an empty <name>/shard-<i> (with a fetch's marker) behind.
  let manifestBytes = await published();
  const made = highestMissing(resolve(dir));
  mkdirSync(dir, { recursive: true });
  const present = readdirSync(dir);
  const interrupted = present.includes(FETCH_MARKER) && !present.includes(MANIFEST_FILE);
  if (present.length > 0 && !interrupted) throw occupiedDestination(dir, 'a shard is fetched into an empty folder');
  try {
    // A fetch killed part-way left its marker and no manifest: everything here is its own, cleared.
    for (const n of present) if (n !== FETCH_MARKER) rmSync(join(dir, n), { force: true, recursive: true });
    writeDurably(dir, FETCH_MARKER, new Uint8Array(0));
    return await fetchInto(store, published, manifestBytes, shard, dir);
  } catch (e) {
    // A failed fetch gives the folder back as it found it: its files and marker removed (all its
    // own), and the folders it made (it had left the user's empty folder holding the marker).
    for (const n of readdirSync(dir)) rmSync(join(dir, n), { force: true, recursive: true });
    if (made !== null) rmSync(made, { recursive: true, force: true });
    throw e;
  }
}

/** The highest folder of `path` (itself included) that does not exist, or null when it does. */
function highestMissing(path: string): string | null {
  let missing: string | null = null;
  for (let p = path; !existsSync(p); p = dirname(p)) {
    missing = p;
    if (dirname(p) === p) break;
  }
  return missing;
}

/** fetchShard's downloads into `dir` (its marker written): each attempt from the latest published manifest. */
async function fetchInto(store: ObjectStore, published: () => Promise<Uint8Array>, firstManifest: Uint8Array, shard: number, dir: string): Promise<ShardFilesResult> {
  let manifestBytes = firstManifest;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) manifestBytes = await published();
    const m = parseManifest(manifestBytes, `the published manifest of shard ${shard}`);
    const files = listedFiles(m);
    try {
      for (const f of files) await download(store, shardObjectName(shard, f.name), join(dir, f.name), f.entry);
    } catch (e) {
      for (const n of readdirSync(dir)) if (n !== FETCH_MARKER) rmSync(join(dir, n), { force: true, recursive: true });
      if (e instanceof Moved) continue;
      throw new PlaitError('INTERNAL', { message: `fetching shard ${shard}: ${(e as Error).message}` }, { cause: e });
    }
    // The commit point of a fetch: the manifest, written last and atomically.
    writeDurably(dir, MANIFEST_FILE, manifestBytes);
    rmSync(join(dir, FETCH_MARKER));
    fsyncDir(dir);
    return summary(shard, m, files, files.length);
  }
  throw new PlaitError('INDEX_CHANGED', { message: `shard ${shard}'s files were republished during each of ${ATTEMPTS} fetches`, shard });
}

/** The cluster manifest of a sharded build (`<name>/cluster.json`, written by the sharded build), published beside the shards. */
export const CLUSTER_FILE = 'cluster.json';

/** The `shards` of a cluster.json. */
function shardCountOf(bytes: Uint8Array, where: string): number {
  const n = (parseManifest(bytes, where) as unknown as { shards?: unknown }).shards;
  if (!Number.isInteger(n) || (n as number) < 1) throw new PlaitError('INDEX_CORRUPT', { message: `${where} has no shard count` });
  return n as number;
}

/**
 * The cluster a folder belongs to: its cluster.json's `name` when it has one — as a replica started
 * on `<root>/shard-<i>` reads it (shardOfFolder), so a copy of a cluster under another folder name
 * (`big-copy/`, one per replica) still writes to and publishes the cluster its replicas serve —
 * else the folder's name (a folder that `plait cluster fetch` is about to fill).
 * @throws PlaitError INDEX_CORRUPT when cluster.json is there but is not JSON or has no `name`.
 */
export function clusterNameAt(root: string): string {
  checkNonEmptyString('root', root, 'a cluster folder path');
  const file = join(root, CLUSTER_FILE);
  if (!existsSync(file)) return basename(resolve(root));
  const name = (parseManifest(readFileSync(file), file) as unknown as { name?: unknown }).name;
  if (typeof name !== 'string') throw new PlaitError('INDEX_CORRUPT', { message: `${file} has no cluster name`, path: file });
  return name;
}

/** Shards under a cluster folder: cluster.json's `shards` when present, else its `shard-<i>` folders. */
function shardsOf(root: string): number[] {
  const file = join(root, CLUSTER_FILE);
  if (existsSync(file)) return Array.from({ length: shardCountOf(readFileSync(file), file) }, (_, i) => i);
  const found = existsSync(root) ? readdirSync(root).flatMap((n) => (/^shard-(\d+)$/.exec(n) === null ? [] : [Number(n.slice(6))])) : [];
  if (found.length === 0) throw new PlaitError('INDEX_NOT_FOUND', { message: `${root} has neither ${CLUSTER_FILE} nor shard-<i> folders`, path: root });
  return found.sort((a, b) => a - b);
}

/**
 * `plait cluster publish`: every shard of the cluster folder `root` (or those in `only`), then its
 * cluster.json. The cluster is named by its cluster.json (clusterNameAt).
 * `lockWait` as publishShard's.
 * @throws PlaitError as publishShard; INDEX_NOT_FOUND when `root` holds no shard.
 */
export async function publishCluster(nc: NatsConnection, root: string, only?: readonly number[], lockWait: LockWaitOptions = {}): Promise<{ cluster: string; shards: ShardFilesResult[] }> {
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('root', root, 'a cluster folder path');
  const cluster = clusterNameAt(root);
  const shards: ShardFilesResult[] = [];
  for (const i of only ?? shardsOf(root)) shards.push(await publishShard(nc, cluster, i, join(root, `shard-${i}`), lockWait));
  const file = join(root, CLUSTER_FILE);
  if (existsSync(file)) await (await bucket(nc, cluster)).putBlob({ name: CLUSTER_FILE }, new Uint8Array(readFileSync(file)));
  return { cluster, shards };
}

/**
 * `plait cluster fetch`: shard `shard` into `<root>/shard-<shard>` (an empty or new folder), and
 * the published cluster.json into `root` when it has none, so that `plait serve <root>/shard-<i>
 * --nats` can start there.
 * @throws PlaitError as fetchShard.
 */
export async function fetchClusterShard(nc: NatsConnection, root: string, shard: number): Promise<ShardFilesResult & { cluster: string }> {
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('root', root, 'a cluster folder path');
  const cluster = clusterNameAt(root);
  const result = await fetchShard(nc, cluster, shard, join(root, `shard-${shard}`));
  const file = join(root, CLUSTER_FILE);
  if (!existsSync(file)) {
    const bytes = await (await bucket(nc, cluster)).getBlob(CLUSTER_FILE);
    if (bytes !== null) writeDurably(root, CLUSTER_FILE, bytes);
  }
  return { ...result, cluster };
}

/** What a writer needs to know of a cluster: its name, shard count, and a shard's manifest (model, dimension, split). */
export interface ClusterLayout {
  cluster: string;
  shards: number;
  manifest: IndexManifest;
}

/**
 * The layout of the cluster at `root`: from the local folder (cluster.json or shard-<i> folders,
 * and shard-0's manifest) where it has them, else from what `plait cluster publish` put in the
 * object store — so a writer needs no copy of the index.
 * @throws PlaitError INDEX_NOT_FOUND (neither a local cluster nor a published one).
 */
export async function clusterLayout(nc: NatsConnection, root: string): Promise<ClusterLayout> {
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('root', root, 'a cluster folder path');
  const cluster = clusterNameAt(root);
  const local = join(root, 'shard-0', MANIFEST_FILE);
  if (existsSync(local)) return { cluster, shards: shardsOf(root).length, manifest: parseManifest(readFileSync(local), local) };
  const store = await bucket(nc, cluster);
  const [file, manifest] = await Promise.all([store.getBlob(CLUSTER_FILE), store.getBlob(shardObjectName(0, MANIFEST_FILE))]);
  if (file === null || manifest === null) throw new PlaitError('INDEX_NOT_FOUND', { message: `${root} is not a local cluster folder and cluster ${cluster} has not been published (plait cluster publish)`, path: root });
  return { cluster, shards: shardCountOf(file, `cluster ${cluster}'s published ${CLUSTER_FILE}`), manifest: parseManifest(manifest, `shard 0's published manifest`) };
}
