/**
 * Crash-safe publication of a built index: the build writes into a temporary sibling folder
 * (`.<name>.building-<pid>-<time>`) and only a complete folder (manifest written last) is renamed
 * into place. A previous index at the target is moved aside (`.<name>.old-<pid>-<time>`) first and
 * removed after the rename, so a kill at any point leaves either the old index or the new one at
 * the path, never a half-written one.
 *
 * Leftovers of killed builds are removed by the next build in the same folder, whatever their
 * name, but only when their builder is dead: each temporary folder holds `.builder.json` with the
 * builder's pid, hostname and process start time (/proc on Linux), so a live build is never
 * touched, nor a folder made by another machine on a shared file system, and a reused pid is not
 * taken for the builder. A process that is interrupted (SIGINT/SIGTERM) removes its own folders
 * first: `removeActiveBuildDirs()` is for the signal handler of the command line.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PlaitError } from '../errors/index.js';
import { MANIFEST_FILE } from './manifest.js';

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

/** Temporary folders this process is building; removed by `removeActiveBuildDirs`. */
const active = new Set<string>();

export function temporaryBuildDir(target: string): string {
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target) && !existsSync(join(target, MANIFEST_FILE))) {
    const notEmpty = !statSync(target).isDirectory() || readdirSync(target).length > 0;
    if (notEmpty) {
      throw new PlaitError('INDEX_EXISTS', { message: `${target} exists and is not a plait index; refusing to replace it (choose another --index)`, path: target });
    }
  }
  cleanStaleBuilds(target);
  const dir = join(dirname(target), `.${basename(target)}.building-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir);
  active.add(dir);
  const record: BuilderRecord = { pid: process.pid, hostname: hostname(), startTicks: startTicks(process.pid), startedAt: new Date().toISOString() };
  writeFileSync(join(dir, BUILDER_FILE), `${JSON.stringify(record)}\n`);
  return dir;
}

export function publishIndex(tmpDir: string, target: string): void {
  rmSync(join(tmpDir, BUILDER_FILE), { force: true });
  let aside: string | null = null;
  if (existsSync(target)) {
    aside = join(dirname(target), `.${basename(target)}.old-${process.pid}-${Date.now().toString(36)}`);
    renameSync(target, aside);
  }
  try {
    renameSync(tmpDir, target);
  } catch (err) {
    if (aside !== null) renameSync(aside, target);
    throw err;
  }
  active.delete(tmpDir);
  if (aside !== null) rmSync(aside, { recursive: true, force: true });
}

/** Removes a temporary folder of this process (a failed or aborted build). */
export function discardBuildDir(tmpDir: string): void {
  active.delete(tmpDir);
  rmSync(tmpDir, { recursive: true, force: true });
}

/** Removes every temporary folder this process is building (synchronously: for signal handlers). Returns them. */
export function removeActiveBuildDirs(): string[] {
  const removed = [...active];
  for (const dir of removed) {
    try {
      rmSync(dir, { recursive: true, force: true });
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
