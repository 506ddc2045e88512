/** Reads an evaluation input file (queries, qrels, runs) as UTF-8; a missing file is `FILE_NOT_FOUND`, not a raw ENOENT. */
import { readFile } from 'node:fs/promises';
import { PlaitError } from '../errors/index.js';

export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new PlaitError('FILE_NOT_FOUND', { message: `no ${what} file at ${path}${code === 'EISDIR' ? ' (it is a folder)' : ''}`, path }, { cause });
    }
    throw new PlaitError('INVALID_INPUT', { message: `cannot read ${what} file ${path} (${code ?? String(cause)})`, path }, { cause });
  }
}
