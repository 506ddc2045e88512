/**
 * One writer at a time, by a lock that cannot be held twice (the index transaction's first step,
 * index-transaction.ts; docs/ARCHITECTURE.md "One door into an index folder").
 *
 * 'flock' (whenever the native addon loads, whatever PLAIT_KERNELS says): flock(2) LOCK_EX|LOCK_NB
 * on `write.lock` (native-kernels/src/file-lock.cc). The kernel releases it when the holder's
 * descriptor closes — at exit, kill -9 or a crash — so no code ever judges whether a holder is dead
 * (tantivy's MmapDirectory does the same). The holder writes its pid, hostname and start time into
 * it, read only to name the holder in INDEX_LOCKED. In an index folder the file stays for good. In a
 * folder that holds no index — a new name claimed by a build, restore or backup, a user's own empty
 * folder, a sharded build's root — its holder removes it, while still holding it, when it gives the
 * folder back as it found it (`release({ removeFile: true })`): a failed build left `write.lock` in
 * the empty folder the user had made. Removing a flock file would let a second writer lock a fresh
 * inode while a first holds the old one, so every acquirer checks, once its flock is granted, that
 * the path still names the inode it locked (fstat against stat), and else closes and opens again:
 * a lock granted on a removed file is never taken for the lock.
 *
 * 'record' (no addon, or PLAIT_LOCK=record): `write.lock.held` appears atomically WITH its content:
 * the record is written and fsynced under a unique temporary name and link(2)ed into place (link
 * fails with EEXIST when a holder exists), so there is no half-written lock to misjudge. A record
 * whose holder is dead (same host, pid gone or reused: /proc start time) is broken only by the one
 * process holding `write.lock.break` (taken the same way): it re-reads the record and unlinks it only
 * if it is still the dead holder's (records carry a nonce, so equal text means the same record);
 * nobody else removes a record but its holder, so between that read and the unlink it cannot change.
 * A break record whose own holder died (a kill inside those few microseconds) is not guessed about:
 * INDEX_LOCKED names the file to remove. `release()` removes the record only while it is still this
 * holder's own.
 *
 * Every writer of one folder must use the same kind (one plait install); the kinds do not see each
 * other's locks.
 */
import { closeSync, existsSync, fsyncSync, fstatSync, ftruncateSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PlaitError, checkNonEmptyString } from '../errors/index.js';
import { nativeFileOps } from '../kernels/index.js';

/** The flock file (kept for good: see the module header). */
export const LOCK_FILE = 'write.lock';
/** The record of a 'record' lock, and the record of the one process breaking a stale one. */
export const LOCK_RECORD_FILE = 'write.lock.held';
export const LOCK_BREAK_FILE = 'write.lock.break';
/**
 * A cluster replica's flock, held for its whole life (cluster/log-applier.ts): one replica applies a
 * shard folder's write log. Kept for good in the folder, like `write.lock`.
 */
export const REPLICA_LOCK_FILE = 'replica.lock';

export type LockKind = 'flock' | 'record';

interface LockRecord {
  pid: number;
  hostname: string;
  startTicks: number | null;
  startedAt: string;
  nonce: string;
}

function startTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function parseRecord(text: string | null): Partial<LockRecord> {
  try {
    return text === null ? {} : (JSON.parse(text) as Partial<LockRecord>);
  } catch {
    return {};
  }
}

/** Whether a complete record's process may still hold it (records never appear half-written). */
function holderAlive(rec: Partial<LockRecord>): boolean {
  if (typeof rec.pid !== 'number') return true; // not a record plait wrote: never guessed about
  if (typeof rec.hostname === 'string' && rec.hostname !== hostname()) return true;
  try {
    process.kill(rec.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (typeof rec.startTicks !== 'number') return true;
  const now = startTicks(rec.pid);
  return now === null || now === rec.startTicks;
}

/**
 * The live process a folder's lock file names (`write.lock.held`, else `write.lock`), to say who is
 * writing a folder that is not an index yet (a build's or restore's claimed new name); null when no
 * file names one or its process is gone. Read only for a message, never to decide who holds the lock.
 */
export function liveLockHolder(dir: string): { pid: number; hostname: string; startedAt: string } | null {
  for (const file of [LOCK_RECORD_FILE, LOCK_FILE]) {
    const rec = parseRecord(readText(join(dir, file)));
    if (typeof rec.pid === 'number' && typeof rec.startedAt === 'string' && holderAlive(rec)) return { pid: rec.pid, hostname: String(rec.hostname), startedAt: rec.startedAt };
  }
  return null;
}

/**
 * INDEX_LOCKED naming the holder its record names. A flock holder writes its record just after the
 * flock is granted, so a writer refused in between reads an empty file or the previous holder's
 * record (a replica killed mid-commit): it then said `pid undefined on undefined since undefined`,
 * or named the dead pid (trial 12c). Such a record names no one: the holder is "another process".
 */
function flockedError(dir: string, rec: Partial<LockRecord>): PlaitError {
  if (typeof rec.pid === 'number' && typeof rec.startedAt === 'string' && holderAlive(rec)) return lockedError(dir, rec);
  return new PlaitError('INDEX_LOCKED', {
    message: `${dir} is being written by another process (it has just taken the lock and not yet written who it is; one writer at a time: adds, deletes, compaction, calibration, a rebuild and plait backup each hold the lock; retry when it has finished)`,
    path: dir,
  });
}

function lockedError(dir: string, rec: Partial<LockRecord>, extra = ''): PlaitError {
  return new PlaitError('INDEX_LOCKED', {
    message: `${dir} is being written by pid ${String(rec.pid)} on ${String(rec.hostname)} since ${String(rec.startedAt)} (one writer at a time: adds, deletes, compaction, calibration, a rebuild and plait backup each hold the lock; retry when it has finished)${extra}`,
    path: dir,
    pid: rec.pid,
    hostname: rec.hostname,
    startedAt: rec.startedAt,
  });
}

/** How a lock is given up. */
export interface ReleaseOptions {
  /**
   * Also remove the lock's file ('flock'; a record is always removed), while it is still held: only
   * for a folder that holds no index and is given back as it was found (see the module header).
   */
  removeFile?: boolean;
}

/** A held lock; `release()` gives it up (idempotent). */
export interface WriteLock {
  readonly path: string;
  readonly kind: LockKind;
  release(options?: ReleaseOptions): void;
}

/** Tries of acquireFlock when the lock file it locked was removed or replaced meanwhile (its holder gave the folder back). */
const FLOCK_REOPEN_TRIES = 8;

/** The lock kind this process uses: 'flock' with the addon, else 'record'; PLAIT_LOCK=record forces the fallback. */
export function lockKind(): LockKind {
  if ((process.env.PLAIT_LOCK ?? '').trim().toLowerCase() === 'record') return 'record';
  return nativeFileOps() === null ? 'record' : 'flock';
}

function newRecord(): LockRecord {
  return { pid: process.pid, hostname: hostname(), startTicks: startTicks(process.pid), startedAt: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
}

/**
 * Takes the index's write lock or throws INDEX_LOCKED (details: holder's pid, hostname, startedAt).
 * A second acquire in the same process is refused like any other writer's.
 */
export function acquireWriteLock(dir: string, kind: LockKind = lockKind()): WriteLock {
  checkNonEmptyString('dir', dir, 'an index folder path');
  return kind === 'flock' ? acquireFlock(dir) : acquireRecord(dir);
}

/**
 * Why the lock could not be created: no folder (INDEX_NOT_FOUND), or a folder this process may not
 * write — a read-only mount, another user's index (NOT_WRITABLE: it was INDEX_NOT_FOUND, which sent
 * users looking for an index that is there; searches need no write access, writes do).
 */
function lockOpenError(dir: string, what: string, cause: unknown): PlaitError {
  const reason = (cause as Error).message;
  // The addon's message already says what it could not open ("cannot open <path>: <errno text>"):
  // said once, not as "cannot open <path> (cannot open <path>: …)".
  const said = reason.startsWith(what) ? reason : `${what} (${reason})`;
  if (!existsSync(dir)) return new PlaitError('INDEX_NOT_FOUND', { message: `the index folder ${dir} is not there: ${said}`, path: dir }, { cause });
  return new PlaitError('NOT_WRITABLE', { message: `${said}: writes to an index (add, delete, compact, calibrate, a rebuild, backup) need write access to its folder; searches do not`, path: dir }, { cause });
}

/**
 * Takes the flock of `dir`/`file` (another file than the write lock: REPLICA_LOCK_FILE), held until
 * released or the process ends, or throws INDEX_LOCKED (details: the holder's pid, hostname,
 * startedAt when its record names a live one) or NATIVE_UNAVAILABLE (no addon).
 */
export function acquireFileFlock(dir: string, file: string): WriteLock {
  return acquireFlock(dir, file);
}

function acquireFlock(dir: string, file: string = LOCK_FILE): WriteLock {
  const ops = nativeFileOps();
  if (ops === null) throw new PlaitError('NATIVE_UNAVAILABLE', { message: 'flock write locks need the native addon (npm run build:native), or PLAIT_LOCK=record' });
  const path = join(dir, file);
  let fd = -1;
  for (let attempt = 0; fd < 0; attempt++) {
    if (attempt === FLOCK_REOPEN_TRIES) throw new PlaitError('INDEX_LOCKED', { message: `${dir}: the write lock keeps changing hands; try again`, path: dir });
    try {
      fd = ops.lockFile(path);
    } catch (cause) {
      throw lockOpenError(dir, `cannot open ${path}`, cause);
    }
    if (fd < 0) throw flockedError(dir, parseRecord(readText(path)));
    if (!namesInode(path, fd)) {
      // Its holder removed it (or its folder) before releasing: this flock guards nothing.
      ops.unlockFile(fd);
      fd = -1;
    }
  }
  try {
    // Names the holder for a refused writer (read for messages only).
    const bytes = Buffer.from(`${JSON.stringify(newRecord())}\n`);
    ftruncateSync(fd, 0);
    writeSync(fd, bytes, 0, bytes.length, 0);
  } catch {
    // The record is informative; the flock is the lock.
  }
  let held = true;
  return {
    path,
    kind: 'flock',
    release(options: ReleaseOptions = {}): void {
      if (!held) return;
      held = false;
      try {
        if (options.removeFile === true && namesInode(path, fd)) rmSync(path, { force: true });
      } finally {
        ops.unlockFile(fd);
      }
    },
  };
}

/** Whether `path` is still the file open as `fd` (same device and inode). */
function namesInode(path: string, fd: number): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

/** Creates `path` holding `text`, atomically (temporary file, fsync, link); false when it exists. */
function linkRecord(path: string, text: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx');
  try {
    const bytes = Buffer.from(text);
    writeSync(fd, bytes, 0, bytes.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function acquireRecord(dir: string): WriteLock {
  const path = join(dir, LOCK_RECORD_FILE);
  const text = `${JSON.stringify(newRecord())}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      if (linkRecord(path, text)) {
        let held = true;
        return {
          path,
          kind: 'record',
          release(): void {
            if (!held) return;
            held = false;
            // Only this holder removes its record, and nobody replaces a live holder's record.
            if (readText(path) === text) rmSync(path, { force: true });
          },
        };
      }
    } catch (cause) {
      throw lockOpenError(dir, `cannot write a lock record in ${dir}`, cause);
    }
    const stale = readText(path);
    if (stale === null) continue; // released meanwhile
    const rec = parseRecord(stale);
    if (holderAlive(rec)) throw lockedError(dir, rec);
    breakStale(dir, path, stale);
  }
  throw new PlaitError('INDEX_LOCKED', { message: `${dir}: the write lock keeps changing hands; try again`, path: dir });
}

/** Removes a dead holder's record, as the one holder of the break record (see the module header). */
function breakStale(dir: string, path: string, staleText: string): void {
  const breakPath = join(dir, LOCK_BREAK_FILE);
  const mine = `${JSON.stringify(newRecord())}\n`;
  if (!linkRecord(breakPath, mine)) {
    const other = parseRecord(readText(breakPath));
    if (holderAlive(other)) return; // another process is breaking it; retry
    throw lockedError(dir, other, `; a process that was breaking a stale lock died: remove ${breakPath} once no plait writer runs`);
  }
  try {
    if (readText(path) === staleText) rmSync(path, { force: true });
  } finally {
    rmSync(breakPath, { force: true });
  }
}
