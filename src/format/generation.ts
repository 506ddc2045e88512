/**
 * Generations of a living index (src/mutate/). Every write — add, delete, compaction — commits a
 * new generation: it writes NEW files only (segments `codes.gNNNN.MMMM.i32`, and for the
 * whole-index roles it changes `doclens.gNNNN.i32`, `ivf.gNNNN.i32`, `ivf-offsets.gNNNN.i64`,
 * `docs.gNNNN.sqlite`, `tombstones.gNNNN.bits`), fsyncs each, and commits by writing
 * `manifest.json` last (temporary file, fsync, rename, fsync of the folder). Files the manifest
 * does not list are invisible: a write killed at any point before the rename leaves the previous
 * generation whole (its manifest and every file it lists are untouched), and a kill after the
 * rename leaves the new one whole.
 *
 * Garbage: the next write (holding the write lock, write-lock.ts) removes every file that neither
 * the new manifest nor the one it replaces lists — the leftovers of killed writes and the files of
 * generations two back. The previous generation's files are kept one more write, so that a reader
 * that read the old manifest just before a commit still finds its files; a reader that already
 * opened them keeps them anyway (memory maps and SQLite's open descriptor survive an unlink on
 * POSIX file systems).
 */
import { closeSync, fsyncSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, listedFiles, type IndexManifest } from './manifest.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';

/** Files a write never removes: the manifest, the lock, and build records. */
const KEEP = /^(manifest\.json|write\.lock)$/;

/** `base.gNNNN.ext` for generation g (e.g. genFileName('doclens', 3, 'i32') → doclens.g0003.i32). */
export function genFileName(base: string, generation: number, ext: string): string {
  return `${base}.g${String(generation).padStart(4, '0')}.${ext}`;
}

/** Segment stem of generation g's i-th new segment: "g0003.0000". */
export function genSegmentStem(generation: number, i: number): string {
  return `g${String(generation).padStart(4, '0')}.${String(i).padStart(4, '0')}`;
}

/** Flushes a folder's entries (a rename is durable only once its folder is). */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a file written by another writer (SQLite closed without fsync, a copied file). */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The commit point: the manifest replaces the previous one atomically, then the folder is flushed. */
export function commitManifest(dir: string, manifest: IndexManifest): void {
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  fsyncDir(dir);
}

/** Names of `previous`'s files that `next` does not list: `next.retained`. */
export function retainedFiles(previous: IndexManifest, next: IndexManifest): string[] {
  const now = new Set(listedFiles(next).map((f) => f.name));
  return listedFiles(previous)
    .map((f) => f.name)
    .filter((n) => !now.has(n));
}

/**
 * Removes the files of `dir` that the committed manifest neither lists nor retains (temporary
 * files of killed writes, generations two back). Call only while holding the write lock, after
 * the commit. Returns the names removed.
 */
export function removeUnlisted(dir: string, committed: IndexManifest): string[] {
  const listed = new Set<string>(committed.retained ?? []);
  for (const f of listedFiles(committed)) listed.add(f.name);
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (KEEP.test(name) || listed.has(name)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
