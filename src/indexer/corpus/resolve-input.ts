/**
 * Turns a corpus input (file, folder, glob over file names, or list of files) into the ordered list
 * of files to read and their format. Detection goes by extension, then by the first non-blank line;
 * `options.format` overrides it.
 */

import { compressedInputError, isGzipFile } from '../../util/input-bytes.js';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { PlaitError } from '../../errors/index.js';
import { looksLikeTsvHeader } from './tsv-parser.js';
import { TEXT_EXTENSIONS, listTextFiles } from './text-file-parser.js';
import type { CorpusFormat, CorpusInput } from './types.js';

export interface ResolvedCorpusInput {
  files: string[];
  format: CorpusFormat;
  /** Folder that `folder`-format ids are relative to. */
  root: string;
}

/** A folder holding these is read as a (possibly multi-part) JSONL corpus: corpus.jsonl, corpus.part-000.jsonl, ... */
const CORPUS_PART = /^corpus.*\.(jsonl|ndjson)$/i;
/** The same parts gzip'd (a Hugging Face BEIR download keeps corpus.jsonl.gz): named in a COMPRESSED_INPUT error, not read. */
const CORPUS_PART_GZ = /^corpus.*\.(jsonl|ndjson)\.gz$/i;
const JSONL_EXTENSIONS: ReadonlySet<string> = new Set(['.jsonl', '.ndjson', '.json']);
const TSV_EXTENSIONS: ReadonlySet<string> = new Set(['.tsv', '.tab']);
/** Bytes read to sniff a file's format: enough for the first line of any sane corpus. */
const SNIFF_BYTES = 1 << 16;

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

function inputError(message: string): PlaitError {
  return new PlaitError('INVALID_INPUT', { message });
}

async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/** The first non-blank line of a file (BOM and CR removed), from its first 64 KiB. */
export async function firstLine(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    let text = buffer.subarray(0, bytesRead).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    for (const line of text.split('\n')) {
      if (line.trim().length > 0) return line.replace(/\r$/, '');
    }
    return '';
  } finally {
    await handle.close();
  }
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

async function expandGlob(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  if (/[*?]/.test(dir)) throw inputError(`glob wildcards are only supported in the file name, not in "${dir}"`);
  const re = globToRegExp(basename(pattern));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new PlaitError('INVALID_INPUT', { message: `cannot list "${dir}" for glob "${pattern}"` }, { cause: e });
  }
  const files = names.filter((n) => re.test(n)).sort(naturalOrder).map((n) => join(dir, n));
  if (files.length === 0) throw inputError(`no files match "${pattern}"`);
  return files;
}

/** Format of one file, by extension then content. */
export async function detectFileFormat(file: string): Promise<CorpusFormat> {
  const ext = extname(file).toLowerCase();
  if (TSV_EXTENSIONS.has(ext)) return 'tsv';
  if (TEXT_EXTENSIONS.has(ext)) return 'folder';
  if (await isGzipFile(file)) throw compressedInputError(file, 'corpus');
  const line = await firstLine(file);
  if (JSONL_EXTENSIONS.has(ext) || line.trimStart().startsWith('{')) {
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && '_id' in value) return 'beir';
    } catch {
      // Left to the reader, which reports the malformed line with its number.
    }
    return 'jsonl';
  }
  if (line.includes('\t') || looksLikeTsvHeader(line)) return 'tsv';
  throw inputError(`cannot tell the format of "${file}" (not JSONL, not TSV); pass a format`);
}

export async function resolveCorpusInput(input: CorpusInput, format?: CorpusFormat): Promise<ResolvedCorpusInput> {
  let files: string[];
  let root: string | null = null;
  if (typeof input !== 'string') {
    if (input.length === 0) throw inputError('an empty list of corpus files');
    files = [...input];
  } else if (/[*?]/.test(basename(input)) && (await statOrNull(input)) === null) {
    files = await expandGlob(input);
  } else {
    const info = await statOrNull(input);
    if (info === null) throw inputError(`no such file or folder: "${input}"`);
    if (info.isDirectory()) {
      const parts = (await readdir(input)).filter((n) => CORPUS_PART.test(n)).sort(naturalOrder);
      if (parts.length > 0 && format !== 'folder') {
        files = parts.map((n) => join(input, n));
      } else {
        root = input;
        files = await listTextFiles(input);
        if (files.length === 0) {
          const gz = (await readdir(input)).filter((n) => CORPUS_PART_GZ.test(n)).sort(naturalOrder);
          if (gz.length > 0) throw compressedInputError(join(input, gz[0]!), 'corpus');
          throw inputError(`"${input}" holds no corpus*.jsonl, .txt or .md files`);
        }
        return { files, format: 'folder', root };
      }
    } else {
      files = [input];
    }
  }
  for (const file of files) {
    const info = await statOrNull(file);
    if (info === null || !info.isFile()) throw inputError(`no such file: "${file}"`);
    // A corpus.jsonl.gz had been "cannot tell the format" (or, as .jsonl parts, garbage lines).
    if (await isGzipFile(file)) throw compressedInputError(file, 'corpus');
  }
  const first = files[0] as string;
  return { files, format: format ?? (await detectFileFormat(first)), root: root ?? dirname(first) };
}
