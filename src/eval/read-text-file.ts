/**
 * Reads an evaluation input file (queries, qrels, runs, a query log): a missing file is
 * `FILE_NOT_FOUND`, not a raw ENOENT; a gzip'd one is decompressed whole (gunzipSync: these files
 * are small next to a corpus), one that does not decompress
 * `CORRUPT_INPUT`, another compression `COMPRESSED_INPUT`, and text that is not UTF-8
 * `TEXT_NOT_UTF8` with its line (util/input-bytes.ts), where `readFile(path, 'utf8')` had read all
 * of them as garbage text.
 * @throws PlaitError FILE_NOT_FOUND, INVALID_INPUT (unreadable), CORRUPT_INPUT, COMPRESSED_INPUT, TEXT_NOT_UTF8.
 */
import { readFile } from 'node:fs/promises';
import { PlaitError } from '../errors/index.js';
import { decodeInputText } from '../util/input-bytes.js';

export async function readTextFile(path: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new PlaitError('FILE_NOT_FOUND', { message: `no ${what} file at ${path}${code === 'EISDIR' ? ' (it is a folder)' : ''}`, path }, { cause });
    }
    throw new PlaitError('INVALID_INPUT', { message: `cannot read ${what} file ${path} (${code ?? String(cause)})`, path }, { cause });
  }
  return decodeInputText(bytes, path, what);
}
