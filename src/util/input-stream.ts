/**
 * An input file read as a stream of its plain bytes: gunzipped on the way (node's createGunzip)
 * when its first bytes are gzip's magic number, as it is otherwise. The corpus readers (line
 * splitting, the document count, format sniffing, eval's corpus check) read through it, so a
 * `corpus.jsonl.gz` is read like `corpus.jsonl` without ever sitting decompressed in memory: the
 * stream holds about one chunk of each side (`chunkBytes`), whatever the file's size.
 *
 * A gzip'd file that does not decompress to its end (truncated, a bad CRC) fails the iteration with
 * CORRUPT_INPUT after the chunks before the fault: a reader that stops on the error (every one here)
 * never hands on a partial corpus as a whole one. Zip, bzip2, xz and zstd are COMPRESSED_INPUT
 * before a byte is read (util/input-bytes.ts).
 */

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { compressedInputError, corruptInputError, fileCompression } from './input-bytes.js';

/** Chunks read when the caller names no size: large enough that per-chunk work is amortised. */
const DEFAULT_CHUNK_BYTES = 1 << 20;

/** True for an error zlib raised (its codes are Z_DATA_ERROR, Z_BUF_ERROR, …), not the file system. */
function isZlibError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Yields the plain bytes of the file at `path` in chunks of about `chunkBytes`; `what` names the
 * file in errors ("corpus", "queries"). Breaking out of the loop closes the file.
 * @throws PlaitError COMPRESSED_INPUT (zip, bzip2, xz, zstd: before any chunk), CORRUPT_INPUT (gzip that
 *   does not decompress to its end: after the chunks before the fault); the file system's errors as they are.
 */
export async function* readInputChunks(path: string, what: string, chunkBytes: number = DEFAULT_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const compression = await fileCompression(path);
  if (compression !== null && compression !== 'gzip') throw compressedInputError(path, what, compression);
  const source = createReadStream(path, { highWaterMark: chunkBytes });
  if (compression === null) {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) yield chunk;
    } finally {
      source.destroy();
    }
    return;
  }
  const gunzip = createGunzip({ chunkSize: chunkBytes });
  // pipe() does not forward a read error: handed on here, so the loop below sees it.
  source.on('error', (e) => gunzip.destroy(e));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } catch (cause) {
    throw isZlibError(cause) ? corruptInputError(path, what, cause) : cause;
  } finally {
    source.unpipe(gunzip);
    source.destroy();
    gunzip.destroy();
  }
}
