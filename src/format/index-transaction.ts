/**
 * The one door into an index folder: every change — a living-index add/upsert/delete/compact, a
 * rebuild over an existing index, a calibration record — is an `IndexTransaction`. The protocol,
 * and why each step is where it is, is in docs/ARCHITECTURE.md ("One door into an index folder");
 * in short:
 *
 *  1. `begin` takes the write lock (write-lock.ts: flock through the native addon, or a record
 *     that appears atomically with its content) and reads the committed manifest AFTER the lock is
 *     held, so a change is always made on top of the last commit (nothing is silently undone).
 *  2. Every file the change creates is named by the transaction (`name`, `segmentStem`,
 *     generation-numbered, so never a name a committed manifest lists) and registered in
 *     `managed.json` BEFORE it is created (tantivy's ManagedDirectory): cleanup later deletes only
 *     registered names, so a user's file in the folder survives every write.
 *  3. `commit(manifest)`: every new file was fsynced when written; the folder is fsynced (their
 *     names are durable); the manifest is written to a registered temporary name, fsynced and
 *     renamed over `manifest.json` (the commit point: SQLite's journal-then-commit order, with the
 *     rename as the atomic step); the folder is fsynced again (the commit is durable) — only then is
 *     the change acknowledged. The manifest carries a fresh `commit` id and generation + 1, so
 *     readers see a new generation after every commit, a rebuild or a calibration record included.
 *     With an in-place document store (a `CommitParticipant`), its SQLite COMMIT — which stores
 *     this manifest in the store's commit record — runs after the folder fsync and before the
 *     manifest's temporary file: SQLite's commit is then the commit point and the rename publishes
 *     it (readManifest rolls forward to the record when the rename was lost).
 *  4. Cleanup: registered files that the new manifest does not list are unlinked at once (readers
 *     that had opened them keep them: mmap and open descriptors survive an unlink; a reader that read
 *     the old manifest but had not opened its files yet retries on the new one — openGeneration).
 *  5. `abort` (or an exception before commit) unlinks the files this transaction created; a killed
 *     transaction's files stay registered and the next commit removes them. A signal handler that
 *     exits next rolls back this process's uncommitted transactions with `abortOpenTransactions`
 *     (`observeTransactions` tells it whether a commit had started: that one is finished instead).
 *
 * Tests inject `onOp` to record the file operations in order (create, write, fsync, rename,
 * unlink, fsync of the folder) and construct every crash state they allow (test/living-crash-states).
 */
import { closeSync, constants, copyFileSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PlaitError, checkFunction, checkNonEmptyString, checkObject, checkShape, checkNumber, checkString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { ArrayFileWriter, fileEntry } from './index-files.js';
import { MANIFEST_FILE, listedFiles, type FileEntry, type IndexManifest } from './manifest.js';
import { readManifest } from './index-reader.js';
import { acquireWriteLock, LOCK_BREAK_FILE, LOCK_FILE, LOCK_RECORD_FILE, REPLICA_LOCK_FILE, type LockKind, type WriteLock } from './write-lock.js';

/** The registry of the files plait created in an index folder (names only, JSON array). */
export const MANAGED_FILE = 'managed.json';

/** Temporary names of the two control files (writeSmall's `<name>.tmp-<pid>-<n>`). */
const CONTROL_TEMP = /^(manifest|managed)\.json\.tmp-\d+-\d+$/;

/** One file operation inside the folder, in the order it ran (names are relative to the folder). */
export type FsOp =
  | { op: 'create'; name: string }
  | { op: 'write'; name: string }
  | { op: 'fsync'; name: string }
  | { op: 'rename'; from: string; to: string }
  /** A file written (and fsynced) elsewhere, renamed into the folder: `name` holds its durable content. */
  | { op: 'moveIn'; name: string }
  | { op: 'unlink'; name: string }
  | { op: 'fsyncDir' }
  /**
   * An in-place document store's SQLite transaction committed (WAL, synchronous FULL: durable when
   * COMMIT returns). SQLite's own journal is trusted: before this the store holds the previous
   * commit's content, after it the new one's, whole.
   */
  | { op: 'sqliteCommit'; name: string };

/**
 * A second participant in a commit whose own commit is the commit point: the in-place document
 * store (docstore-updater.ts). `commit` receives the exact manifest that will be published and must
 * make its change durable, the manifest recorded with it, before returning.
 */
export interface CommitParticipant {
  /** The participant's file in the folder (named by the committed manifest, changed in place). */
  name: string;
  commit(manifest: IndexManifest): void;
}

export interface TransactionOptions {
  /** Test hook: called after each file operation, in order (the crash-state tests record them). */
  onOp?: (op: FsOp) => void;
  /** Lock kind (default: write-lock.ts's choice). */
  lock?: LockKind;
  /** Whether the folder may hold no index yet (a rebuild over a folder whose manifest is unreadable). */
  allowMissing?: boolean;
}
const TRANSACTION_OPTION_KEYS = { onOp: true, lock: true, allowMissing: true } as const satisfies OptionKeys<TransactionOptions>;

/** `commit`'s options (see IndexTransaction.commit). */
export interface CommitOptions {
  /** false: a commit that changes no indexed content (a calibration record); `contentCommit` stays the base's. */
  content?: boolean;
  /** A second participant whose own commit is the commit point (the in-place document store). */
  participant?: CommitParticipant;
}
/** CommitOptions' keys: `{ contnet: false }` would have given a calibration record a new content identity unseen. */
const COMMIT_OPTION_KEYS = { content: true, participant: true } as const satisfies OptionKeys<CommitOptions>;
/** continueWith's keys: the lock and the missing-index allowance are the committed transaction's. */
const CONTINUE_OPTION_KEYS = { onOp: true } as const satisfies OptionKeys<Pick<TransactionOptions, 'onOp'>>;

/**
 * A transaction's progress as process-wide observers see it (`observeTransactions`): the command
 * line's interrupt handler learns from it whether a signal came before the commit started (the
 * change is rolled back: `abortOpenTransactions`) or after (the commit is finished and reported).
 */
export type TransactionEvent =
  | { phase: 'begin'; dir: string }
  /** `commit()` was entered: from here the change is finished, never abandoned part-way. */
  | { phase: 'commitStart'; dir: string }
  | { phase: 'committed'; dir: string; manifest: IndexManifest }
  | { phase: 'closed'; dir: string };

const observers = new Set<(event: TransactionEvent) => void>();
/** This thread's transactions not yet closed (the interrupt handler's to roll back). */
const openTransactions = new Set<IndexTransaction>();

/**
 * Calls `listener` with every transaction event of this thread until the returned function is
 * called (a transaction on the write thread, mutate/write-thread.ts, is that thread's own).
 */
export function observeTransactions(listener: (event: TransactionEvent) => void): () => void {
  checkFunction('listener', listener, 'a function (event) => void');
  observers.add(listener);
  return () => {
    observers.delete(listener);
  };
}

function notify(event: TransactionEvent): void {
  for (const listener of observers) listener(event);
}

/**
 * Rolls back every transaction of this process whose commit has not started (`close()`: the files
 * it created are unlinked, its lock released) — for a signal handler that exits next. Returns the
 * index folders rolled back. A transaction inside `commit()` is left alone (its caller finishes it).
 */
export function abortOpenTransactions(): string[] {
  const dirs: string[] = [];
  for (const tx of [...openTransactions]) {
    if (tx.committing) continue;
    try {
      tx.close();
      dirs.push(tx.dir);
    } catch {
      // Best effort: the next writer removes what a dead change registered (module header, step 5).
    }
  }
  return dirs;
}

/** `base.gNNNN.ext` for generation g (e.g. genFileName('doclens', 3, 'i32') → doclens.g0003.i32). */
export function genFileName(base: string, generation: number, ext: string): string {
  checkString('base', base, 'a file name stem');
  checkNumber('generation', generation, 'a generation number');
  return `${base}.g${String(generation).padStart(4, '0')}.${ext}`;
}

/** Segment stem of generation g's i-th new segment: "g0003.0000". */
export function genSegmentStem(generation: number, i: number): string {
  checkNumber('generation', generation, 'a generation number');
  checkNumber('i', i, 'a segment number');
  return `g${String(generation).padStart(4, '0')}.${String(i).padStart(4, '0')}`;
}

/** Flushes a folder's entries (a create or rename is durable only once its folder is). */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a file written by another writer (SQLite, a copy). */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The identity of the content a manifest commits: `contentCommit`, the commit id of the last change
 * that was not only a calibration record (or the commit id itself in manifests from before it).
 */
export function contentCommitOf(m: IndexManifest): string {
  checkShape('m', m, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  return m.contentCommit ?? commitIdOf(m);
}

/** A commit's identity: the manifest's `commit` id, or for indexes from before it, a hash of the manifest. */
export function commitIdOf(m: IndexManifest): string {
  checkShape('m', m, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  if (typeof m.commit === 'string') return m.commit;
  return `h${createHash('sha1').update(JSON.stringify(m)).digest('hex').slice(0, 24)}`;
}

/**
 * The entries of an index folder that are not plait's: neither listed by `base` (its committed
 * manifest; null: none readable) nor registered in managed.json, nor the manifest, the registry,
 * their temporaries, the write lock's files, a cluster replica's lock or a store's SQLite side files — a user's own files,
 * which a change never touches and a whole-folder replacement (a sharded rebuild) must not drop.
 */
export function unmanagedEntries(dir: string, base: IndexManifest | null): string[] {
  const ours = readManaged(dir, base);
  if (base !== null) for (const f of listedFiles(base)) ours.add(f.name);
  const fixed = new Set([MANIFEST_FILE, MANAGED_FILE, LOCK_FILE, LOCK_RECORD_FILE, LOCK_BREAK_FILE, REPLICA_LOCK_FILE]);
  const side = /^(.+\.sqlite)-(wal|shm|journal)$/;
  return readdirSync(dir).filter((n) => !(fixed.has(n) || ours.has(n) || CONTROL_TEMP.test(n) || ours.has(side.exec(n)?.[1] ?? '')));
}

function readManaged(dir: string, base: IndexManifest | null): Set<string> {
  try {
    const names = JSON.parse(readFileSync(join(dir, MANAGED_FILE), 'utf8')) as unknown;
    if (Array.isArray(names)) return new Set(names.filter((n): n is string => typeof n === 'string'));
  } catch {
    // Absent (an index from before the registry) or unreadable: start from what the manifest lists.
  }
  const names = new Set<string>();
  if (base !== null) {
    for (const f of listedFiles(base)) names.add(f.name);
    for (const n of base.retained ?? []) names.add(n);
  }
  return names;
}

export class IndexTransaction {
  /** The committed manifest this change is made on (read under the lock); null for a folder without an index. */
  readonly base: IndexManifest | null;
  /** The generation this transaction commits: base's + 1. */
  readonly generation: number;
  private readonly lock: WriteLock;
  private readonly managed: Set<string>;
  private managedSaved: boolean;
  private readonly created = new Set<string>();
  private state: 'open' | 'committed' | 'closed' = 'open';
  private readonly emit: (op: FsOp) => void;
  private tmpCounter = 0;
  private committed: IndexManifest | null = null;
  /** Whether `commit()` has been entered (an interrupt no longer rolls this change back). */
  committing = false;

  private constructor(
    readonly dir: string,
    lock: WriteLock,
    base: IndexManifest | null,
    options: TransactionOptions,
  ) {
    this.lock = lock;
    this.base = base;
    this.generation = (base?.generation ?? 0) + 1;
    this.emit = options.onOp ?? ((): void => {});
    this.managed = readManaged(dir, base);
    this.managedSaved = false;
    openTransactions.add(this);
    notify({ phase: 'begin', dir });
  }

  /**
   * Takes the write lock and reads the committed manifest.
   * @throws PlaitError INDEX_LOCKED (another writer holds the lock), INDEX_NOT_FOUND / INDEX_CORRUPT /
   * INDEX_VERSION (no readable index, unless `allowMissing`).
   */
  static begin(dir: string, options: TransactionOptions = {}): IndexTransaction {
    checkOptionKeys(options, TRANSACTION_OPTION_KEYS, 'IndexTransaction option');
    checkNonEmptyString('dir', dir, 'an index folder path');
    const lock = acquireWriteLock(dir, options.lock);
    try {
      let base: IndexManifest | null;
      try {
        base = readManifest(dir);
      } catch (e) {
        if (options.allowMissing !== true) throw e;
        base = null;
      }
      return new IndexTransaction(dir, lock, base, options);
    } catch (e) {
      // A folder without an index (a user's folder named by mistake) is left as it was: a write to
      // it had left `write.lock` there. An index folder keeps its lock file (write-lock.ts).
      lock.release({ removeFile: !existsSync(join(dir, MANIFEST_FILE)) });
      throw e;
    }
  }

  /** The committed manifest, or INDEX_NOT_FOUND when the folder has none. */
  get current(): IndexManifest {
    if (this.base === null) throw new PlaitError('INDEX_NOT_FOUND', { message: `no index at ${this.dir}`, path: this.dir });
    return this.base;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Registers a file this transaction will create and returns its name (nothing is created yet). */
  register(name: string): string {
    this.checkOpen();
    if (name === MANIFEST_FILE || name === MANAGED_FILE) throw new PlaitError('INTERNAL', { message: `${name} is not a name a change may create` });
    if (this.base !== null && listedFiles(this.base).some((f) => f.name === name)) {
      throw new PlaitError('INTERNAL', { message: `${name} is listed by the committed generation; a change creates new names only` });
    }
    if (!this.managed.has(name)) {
      this.managed.add(name);
      this.managedSaved = false;
    }
    return name;
  }

  /** Whether `name` is free for this transaction: absent, or a file plait registered (a killed change's leftover). */
  private free(name: string): boolean {
    return this.managed.has(name) || !existsSync(this.path(name));
  }

  /**
   * Registers and returns `base.gNNNN.ext` of this transaction's generation — or, when a file that
   * plait did not create holds that name (a user's), `base.gNNNN-k.ext`: a user's file is never
   * overwritten.
   */
  name(base: string, ext: string): string {
    const stem = genFileName(base, this.generation, ext).slice(0, -ext.length - 1);
    let name = `${stem}.${ext}`;
    for (let k = 1; !this.free(name); k++) name = `${stem}-${k}.${ext}`;
    return this.register(name);
  }

  /** Registers the codes and residuals names of this generation's i-th segment; returns its stem (see `name` for collisions). */
  segmentStem(i: number): string {
    let stem = genSegmentStem(this.generation, i);
    for (let k = 1; !this.free(`codes.${stem}.i32`) || !this.free(`residuals.${stem}.u8`); k++) stem = `${genSegmentStem(this.generation, i)}-${k}`;
    this.register(`codes.${stem}.i32`);
    this.register(`residuals.${stem}.u8`);
    return stem;
  }

  /**
   * Writes the registry before any registered file is created, so a killed change's files are
   * known. Not fsynced: a registry lost or garbled by a crash only makes the next change fall back
   * to the manifest's list (a killed change's files may then stay behind); it can never name a file
   * plait did not create, so skipping the fsync (two per change) costs no safety.
   */
  private saveManaged(): void {
    if (this.managedSaved) return;
    this.writeSmall(MANAGED_FILE, `${JSON.stringify([...this.managed].sort())}\n`, false, false);
    this.managedSaved = true;
  }

  /** temporary name, write, fsync (when `durable`), rename (the folder fsync is the caller's). */
  private writeSmall(name: string, text: string, register: boolean, durable = true): void {
    const tmp = `${name}.tmp-${process.pid}-${this.tmpCounter++}`;
    if (register) this.register(tmp);
    const path = this.path(tmp);
    try {
      const fd = openSync(path, 'w');
      this.emit({ op: 'create', name: tmp });
      try {
        const bytes = Buffer.from(text);
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        this.emit({ op: 'write', name: tmp });
        if (durable) {
          fsyncSync(fd);
          this.emit({ op: 'fsync', name: tmp });
        }
      } finally {
        closeSync(fd);
      }
      renameSync(path, this.path(name));
      this.emit({ op: 'rename', from: tmp, to: name });
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    }
  }

  private willCreate(name: string): string {
    this.checkOpen();
    if (!this.managed.has(name)) throw new PlaitError('INTERNAL', { message: `${name} was not registered before it was created` });
    this.saveManaged();
    const path = this.path(name);
    rmSync(path, { force: true }); // a killed change's leftover of the same name (never listed)
    this.created.add(name);
    return path;
  }

  /** Writes a registered binary file in one go (fsynced); returns its size and CRC-32. */
  writeArray(name: string, view: ArrayBufferView): FileEntry {
    const w = this.arrayWriter(name);
    w.append(view);
    return w.close();
  }

  /** A streaming writer for a registered file; `close()` fsyncs it. */
  arrayWriter(name: string): { append(view: ArrayBufferView): void; close(): FileEntry } {
    const w = new ArrayFileWriter(this.willCreate(name));
    this.emit({ op: 'create', name });
    return {
      append: (view) => w.append(view),
      close: () => {
        const entry = w.close();
        this.emit({ op: 'write', name });
        this.emit({ op: 'fsync', name });
        return entry;
      },
    };
  }

  /**
   * Copies a file of the committed generation to a registered name (not fsynced: see `sync`). The
   * copy is a reflink where the file system has them (btrfs, XFS with reflink, APFS: no bytes
   * written until SQLite changes pages); elsewhere (ext4) a full copy.
   */
  copy(fromName: string, name: string): string {
    const path = this.willCreate(name);
    copyFileSync(this.path(fromName), path, constants.COPYFILE_FICLONE);
    this.emit({ op: 'create', name });
    this.emit({ op: 'write', name });
    return path;
  }

  /** Flushes a registered file another writer (SQLite) changed; returns its size and CRC-32. */
  sync(name: string): FileEntry {
    if (!this.created.has(name)) throw new PlaitError('INTERNAL', { message: `${name} was not created by this change` });
    this.emit({ op: 'write', name });
    fsyncFile(this.path(name));
    this.emit({ op: 'fsync', name });
    return fileEntry(this.path(name));
  }

  /** Moves a finished file from a build folder (same file system) into a registered name, fsynced first. */
  moveIn(source: string, name: string): void {
    const path = this.willCreate(name);
    fsyncFile(source);
    renameSync(source, path);
    this.emit({ op: 'moveIn', name });
  }

  /**
   * The commit point (see the module header): sets `generation` and a fresh `commit` id, makes the
   * new files' names durable, replaces the manifest by rename, makes that durable, then unlinks the
   * registered files the new manifest does not list. Returns the committed manifest. The change is
   * acknowledged when this returns. `content: false` marks a commit that changes no indexed content
   * (a calibration record): `contentCommit` stays the base's.
   * @throws PlaitError INTERNAL when the manifest lists a file neither committed nor created here;
   * INVALID_ARGUMENT for an options key CommitOptions does not have (before anything is written).
   */
  commit(next: IndexManifest, options: CommitOptions = {}): IndexManifest {
    checkOptionKeys(options, COMMIT_OPTION_KEYS, 'commit option');
    this.checkOpen();
    this.committing = true;
    notify({ phase: 'commitStart', dir: this.dir });
    const { retained: _legacy, ...rest } = next;
    const commit = randomBytes(12).toString('hex');
    // `content: false` (a calibration record): the content's identity stays the base's.
    const contentCommit = options.content === false && this.base !== null ? contentCommitOf(this.base) : commit;
    const manifest: IndexManifest = { ...rest, generation: this.generation, commit, contentCommit };
    if (options.participant !== undefined) manifest.docstoreCommit = commit;
    const before = new Set(this.base === null ? [] : listedFiles(this.base).map((f) => f.name));
    for (const f of listedFiles(manifest)) {
      if (!this.created.has(f.name) && !before.has(f.name)) throw new PlaitError('INTERNAL', { message: `the new manifest lists ${f.name}, which this change did not create` });
    }
    this.saveManaged();
    fsyncDir(this.dir);
    this.emit({ op: 'fsyncDir' });
    if (options.participant !== undefined) {
      // The commit point when a store changes in place: every other file is durable (above); from
      // here on readManifest rolls forward to the store's record even if the rename below is lost.
      options.participant.commit(manifest);
      this.emit({ op: 'sqliteCommit', name: options.participant.name });
    }
    this.writeSmall(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`, true);
    fsyncDir(this.dir);
    this.emit({ op: 'fsyncDir' });
    this.state = 'committed';
    this.committed = manifest;
    this.cleanup(manifest);
    notify({ phase: 'committed', dir: this.dir, manifest });
    return manifest;
  }

  /**
   * Unlinks registered files the committed manifest does not list, and the temporary files of the
   * two control files (`manifest.json.tmp-*`, `managed.json.tmp-*`, names only this module makes);
   * never anything else.
   */
  private cleanup(committed: IndexManifest): void {
    const keep = new Set(listedFiles(committed).map((f) => f.name));
    let changed = false;
    for (const name of [...this.managed]) {
      if (keep.has(name)) continue;
      rmSync(this.path(name), { force: true });
      this.emit({ op: 'unlink', name });
      // A replaced in-place store's SQLite side files (its readers keep theirs open).
      if (name.endsWith('.sqlite')) for (const side of [`${name}-wal`, `${name}-shm`]) rmSync(this.path(side), { force: true });
      this.managed.delete(name);
      changed = true;
    }
    for (const name of readdirSync(this.dir)) {
      if (!CONTROL_TEMP.test(name)) continue;
      rmSync(this.path(name), { force: true });
      this.emit({ op: 'unlink', name });
    }
    if (changed || !existsSync(this.path(MANAGED_FILE))) {
      this.managedSaved = false;
      this.saveManaged();
    }
  }

  /**
   * A further transaction on the same lock, made on this one's committed manifest (an add followed
   * by its automatic compaction). This transaction must be committed; it is closed by the call.
   * @throws PlaitError INVALID_ARGUMENT for a key other than `onOp` (before this one is closed), INTERNAL when it is not committed.
   */
  continueWith(options: Pick<TransactionOptions, 'onOp'> = {}): IndexTransaction {
    checkOptionKeys(options, CONTINUE_OPTION_KEYS, 'continueWith option');
    if (this.state !== 'committed' || this.committed === null) throw new PlaitError('INTERNAL', { message: 'continueWith needs a committed transaction' });
    this.state = 'closed';
    openTransactions.delete(this);
    notify({ phase: 'closed', dir: this.dir });
    return new IndexTransaction(this.dir, this.lock, this.committed, { onOp: options.onOp ?? this.emit });
  }

  /**
   * Ends the transaction and releases the lock. Without a commit, it unlinks the files it created
   * and, still holding the lock, the leftovers of killed changes (registered files the committed
   * manifest does not list) — so a change that turned out to change nothing still collects garbage.
   * `removeLock`: the lock's file goes too (write-lock.ts `removeFile`), for a folder without an index
   * that is given back as it was found (format/publish.ts `giveBackFolder`).
   */
  close(options: { removeLock?: boolean } = {}): void {
    if (this.state === 'closed') return;
    try {
      if (this.state === 'open') {
        for (const name of this.created) {
          rmSync(this.path(name), { force: true });
          this.emit({ op: 'unlink', name });
          this.managed.delete(name);
        }
        if (this.base !== null) this.cleanup(this.base);
      }
    } finally {
      this.state = 'closed';
      this.lock.release({ removeFile: options.removeLock === true && this.base === null });
      openTransactions.delete(this);
      notify({ phase: 'closed', dir: this.dir });
    }
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new PlaitError('INTERNAL', { message: `the transaction on ${this.dir} is ${this.state}` });
  }
}

/** Runs `change` inside a transaction on `dir`, closing it whatever happens. */
export function withTransaction<T>(dir: string, options: TransactionOptions, change: (tx: IndexTransaction) => T): T {
  checkNonEmptyString('dir', dir, 'an index folder path');
  checkObject('options', options, 'transaction options');
  checkFunction('change', change, 'a function (tx) => result');
  const tx = IndexTransaction.begin(dir, options);
  try {
    return change(tx);
  } finally {
    tx.close();
  }
}
