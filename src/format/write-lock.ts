/**
 * One writer at a time: `write.lock` in the index folder, created with O_EXCL, holds the writer's
 * pid, hostname and process start time (the same record as publish.ts's build folders). A second
 * writer gets INDEX_LOCKED naming the holder. A lock whose holder is dead (same host, and the pid
 * is gone or now belongs to a process started at another time) is stale and is broken safely: it
 * is renamed to a name unique to the breaker (only one breaker's rename can succeed), re-read, and
 * removed only if it is still the stale record; a live lock taken by mistake is linked back.
 * A lock from another host is never broken (it cannot be checked from here).
 */
import { linkSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PlaitError } from '../errors/index.js';

export const LOCK_FILE = 'write.lock';

interface LockRecord {
  pid: number;
  hostname: string;
  startTicks: number | null;
  startedAt: string;
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

function readLock(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Whether the record's process may still hold the lock (publish.ts's rule, read from a lock file). */
function holderAlive(text: string): boolean {
  let rec: Partial<LockRecord>;
  try {
    rec = JSON.parse(text) as Partial<LockRecord>;
  } catch {
    return false; // a lock killed while being written holds no live holder
  }
  if (typeof rec.pid !== 'number') return false;
  if (typeof rec.hostname === 'string' && rec.hostname !== hostname()) return true;
  if (rec.pid === process.pid) return true; // this process already writes: a second writer in-process waits its turn too
  try {
    process.kill(rec.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (typeof rec.startTicks !== 'number') return true;
  const now = startTicks(rec.pid);
  return now === null || now === rec.startTicks;
}

/** A held lock; `release()` removes it (idempotent). */
export interface WriteLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the index's write lock or throws INDEX_LOCKED (details: holder's pid, hostname, startedAt).
 * Breaks a stale lock (dead holder) once.
 */
export function acquireWriteLock(dir: string): WriteLock {
  const path = join(dir, LOCK_FILE);
  const record: LockRecord = { pid: process.pid, hostname: hostname(), startTicks: startTicks(process.pid), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const text = readLock(path);
      if (text === null) continue; // released meanwhile
      if (holderAlive(text)) {
        let holder: Partial<LockRecord> = {};
        try {
          holder = JSON.parse(text) as Partial<LockRecord>;
        } catch {
          // an unreadable record is reported as such
        }
        throw new PlaitError('INDEX_LOCKED', {
          message: `${dir} is being written by pid ${String(holder.pid)} on ${String(holder.hostname)} since ${String(holder.startedAt)} (one writer at a time)`,
          path: dir,
          pid: holder.pid,
          hostname: holder.hostname,
          startedAt: holder.startedAt,
        });
      }
      breakStale(path, text);
      continue;
    }
    try {
      const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
      writeSync(fd, bytes, 0, bytes.length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    let held = true;
    return {
      path,
      release(): void {
        if (!held) return;
        held = false;
        rmSync(path, { force: true });
      },
    };
  }
  throw new PlaitError('INDEX_LOCKED', { message: `${dir}: the write lock keeps changing hands; try again`, path: dir });
}

function breakStale(path: string, staleText: string): void {
  const aside = `${path}.broken-${process.pid}-${Date.now().toString(36)}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // another breaker won, or the holder released it
  }
  if (readLock(aside) === staleText) {
    rmSync(aside, { force: true });
    return;
  }
  // We moved a fresh lock that replaced the stale one meanwhile: put it back.
  try {
    linkSync(aside, path);
  } catch {
    // The path was taken again; the fresh lock's owner keeps its record via the link we could not make.
  }
  rmSync(aside, { force: true });
}
