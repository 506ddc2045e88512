/**
 * Writes to the model cache (PLAIT_CACHE_DIR): downloads (hub/download-file.ts), the pull manifest
 * and a tokenizer.json built from vocab.txt (hub/pull-model.ts), the converter's model.onnx and
 * plait-convert.json (convert/convert-checkpoint.ts). A failure is the disk's, and is said so,
 * naming the file: NO_SPACE for a full disk or quota (ENOSPC, EDQUOT), NOT_WRITABLE for any other
 * (EACCES, EROFS, ...). Only downloads had been mapped; the converter's and the manifest's ENOSPC
 * surfaced raw (a stack trace in the CLI, a 500 over HTTP).
 *
 * Whole files go through writeCacheFile: a temporary sibling `<file>.<pid>.tmp`, then a rename, and
 * the temporary file removed when anything fails, so a failed write leaves neither a partial file
 * that a later run would take as complete nor a stray temporary one.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { PlaitError } from '../errors/index.js';
import { noSpaceCode } from '../errors/no-space.js';

/** How the cache is named in these errors: where a user sets it. */
const WHERE = 'the model cache: PLAIT_CACHE_DIR, else $XDG_CACHE_HOME/plait/models or ~/.cache/plait/models';

/**
 * The PlaitError for a failed write of `file`: NO_SPACE or NOT_WRITABLE (details: file, errno);
 * `after` says what a later run does ("a later run resumes the download"). A PlaitError passes as it is.
 */
export function cacheWriteError(file: string, cause: unknown, after: string): PlaitError {
  if (cause instanceof PlaitError) return cause;
  const errno = (cause as { code?: unknown }).code;
  const where = `${file} (${WHERE})`;
  if (noSpaceCode(cause) !== undefined) {
    return new PlaitError('NO_SPACE', { message: `the disk is full (${String(errno)}) writing ${where}: free space there or set PLAIT_CACHE_DIR to a disk with room; ${after}`, file, errno: String(errno) }, { cause });
  }
  return new PlaitError('NOT_WRITABLE', { message: `cannot write ${where}: ${(cause as Error).message}; ${after}`, file, ...(typeof errno === 'string' ? { errno } : {}) }, { cause });
}

/**
 * Runs one write to the model cache (a mkdir, a chunk, a rename), its failure mapped by cacheWriteError.
 * @throws PlaitError NO_SPACE, NOT_WRITABLE
 */
export async function cacheWrite<T>(file: string, after: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (cause) {
    throw cacheWriteError(file, cause, after);
  }
}

/**
 * Writes `data` to `file` in the model cache whole or not at all (see the module header); the
 * folder must exist.
 * @throws PlaitError NO_SPACE, NOT_WRITABLE naming `file`; nothing is left at `<file>.<pid>.tmp`, and `file` keeps what it held
 */
export async function writeCacheFile(file: string, data: string | Uint8Array, after: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (cause) {
    await unlink(tmp).catch(() => undefined);
    throw cacheWriteError(file, cause, after);
  }
}
