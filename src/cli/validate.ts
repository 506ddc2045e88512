/**
 * Up-front checks of a command's paths, run before any long work: an input that is not there, or
 * an output that cannot be written, must fail in the first second with a coded error and exit 2 —
 * not after a 14-minute build with a raw ENOENT. Output folders are created here.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PlaitError } from '../errors/index.js';

/** `FILE_NOT_FOUND` unless `path` is an existing file (or folder, with `kind: 'any'`). */
export function requireInput(path: string, option: string, kind: 'file' | 'any' = 'file'): string {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new PlaitError('FILE_NOT_FOUND', { message: `${option}: no such file ${path}`, path, option });
  }
  if (kind === 'file' && !isFile) throw new PlaitError('FILE_NOT_FOUND', { message: `${option}: ${path} is a folder, not a file`, path, option });
  return path;
}

/**
 * Makes sure `path` can be written as a file: creates its folder (recursively), refuses a folder
 * at the path itself (`INVALID_ARGUMENT`) and a folder it may not write to (`NOT_WRITABLE`).
 */
export function prepareOutputFile(path: string, option: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `${option}: ${path} is a folder; give a file name`, path, option });
  }
  prepareOutputDir(dirname(resolve(path)), option);
  if (existsSync(path)) writable(path, option);
  return path;
}

/** Creates `dir` (recursively) and checks that it can be written to. */
export function prepareOutputDir(dir: string, option: string): string {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: ${dir} is a file, not a folder`, path: dir, option });
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: cannot create ${dir} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, path: dir, option }, { cause });
  }
  writable(dir, option);
  return dir;
}

function writable(path: string, option: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (cause) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: ${path} is not writable`, path, option }, { cause });
  }
}
