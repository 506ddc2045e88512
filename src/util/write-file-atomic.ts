/**
 * Writes a file so that readers see the old contents or the new, never half of either: a
 * temporary sibling, fsync, then rename over the target (next-plaid fixed zero-byte and SIGBUS
 * files this way). The one copy for the index manifest, run files and reports.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

let counter = 0;

/** @throws the file system's error (ENOENT for a missing folder, EACCES, ...); the temporary file is removed. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${counter++}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
