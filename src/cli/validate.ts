/**
 * Up-front checks of a command's paths, run before any long work: an input that is not there, or
 * an output that cannot be written, must fail in the first second with a coded error and exit 2 —
 * not after a 14-minute build with a raw ENOENT. Output folders are created here.
 *
 * Writability is checked by writing, not by asking: access(2) says yes to root for /proc, /sys and
 * read-only mounts, where creating a file then fails. So an output file is created (and removed,
 * when it did not exist before) and an output folder gets a probe file (created and removed).
 * Folders are created one level at a time: Node 20's mkdirSync({recursive: true}) loops forever
 * on a path under /proc (measured: `plait eval ... --report /proc/x/r.html` spun for minutes).
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PlaitError } from '../errors/index.js';

/**
 * `FILE_NOT_FOUND` unless `path` is an existing file (or folder, with `kind: 'any'`). `-` and
 * pipes (`/dev/stdin`, `<(…)`) are refused saying so: these inputs are read by path, some more
 * than once; standard input is read by `--ids -` (readIdFile) and by the corpus `-` of `plait add`
 * and `plait cluster add` (stdin-corpus.ts). A pipe had been called "a
 * folder, not a file", and `-` "no such file" (trial 10).
 */
export function requireInput(path: string, option: string, kind: 'file' | 'any' = 'file'): string {
  if (path === '-') {
    throw new PlaitError('FILE_NOT_FOUND', {
      message: `${option}: "-" (standard input) is not read here; write the input to a file and give its path (only --ids and the corpus of plait add and plait cluster add read "-")`,
      path,
      option,
    });
  }
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new PlaitError('FILE_NOT_FOUND', { message: `${option}: no such file ${path}`, path, option });
  }
  if (stats.isFile() || (kind === 'any' && stats.isDirectory())) return path;
  const message = stats.isDirectory()
    ? `${option}: ${path} is a folder, not a file`
    : `${option}: ${path} is a pipe or device, not a file: this input is read by path, some of it more than once; write it to a file and give its path`;
  throw new PlaitError('FILE_NOT_FOUND', { message, path, option });
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
  else probeCreate(path, option);
  return path;
}

/** Creates `file` (which must not exist) and removes it; NOT_WRITABLE when the creation fails. */
function probeCreate(file: string, option: string): void {
  try {
    closeSync(openSync(file, 'wx'));
  } catch (cause) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: cannot create ${file} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, path: file, option }, { cause });
  }
  unlinkSync(file);
}

/** mkdir -p, one level at a time from the deepest folder that exists. */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

/** Creates `dir` (recursively) and checks that it can be written to. */
export function prepareOutputDir(dir: string, option: string): string {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: ${dir} is a file, not a folder`, path: dir, option });
  }
  try {
    makeDirs(dir);
  } catch (cause) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: cannot create ${dir} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, path: dir, option }, { cause });
  }
  writable(dir, option);
  probeCreate(join(dir, `.plait-write-check-${process.pid}`), option);
  return dir;
}

function writable(path: string, option: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (cause) {
    throw new PlaitError('NOT_WRITABLE', { message: `${option}: ${path} is not writable`, path, option }, { cause });
  }
}
