/**
 * Crash-safe publication of a built index: the build writes into a temporary sibling folder and
 * only a complete folder (manifest written last) is renamed into place. A previous index at the
 * target is moved aside first and removed after the rename, so a kill at any point leaves either
 * the old index or the new one at the path, never a half-written one.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function temporaryBuildDir(target: string): string {
  mkdirSync(dirname(target), { recursive: true });
  cleanStaleBuilds(target);
  const dir = join(dirname(target), `.${basename(target)}.building-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir);
  return dir;
}

export function publishIndex(tmpDir: string, target: string): void {
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
  if (aside !== null) rmSync(aside, { recursive: true, force: true });
}

/** Removes temporary folders of builds whose process is gone, and restores an index moved aside by a killed publish. */
export function cleanStaleBuilds(target: string): void {
  const parent = dirname(target);
  const name = basename(target);
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    const m = new RegExp(`^\\.${escapeRe(name)}\\.(building|old)-(\\d+)-`).exec(entry);
    if (m === null) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && isAlive(pid)) continue;
    const full = join(parent, entry);
    if (m[1] === 'old' && !existsSync(target)) renameSync(full, target);
    else rmSync(full, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
