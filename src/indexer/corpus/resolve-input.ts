/**
 * Turns a corpus input (file, folder, glob over file names, or list of files) into the ordered list
 * of files to read and their format. Detection goes by extension, then by the first non-blank line;
 * `options.format` overrides it. A gzip'd file (told by its magic bytes) is read through gunzip, its
 * format told by the name under the `.gz` (`corpus.jsonl.gz` is JSONL) and by its decompressed first
 * line; zip, bzip2, xz and zstd are refused by name (COMPRESSED_INPUT, util/input-bytes.ts).
 */

import { compressedInputError, fileCompression, plainName } from '../../util/input-bytes.js';
import { readInputChunks } from '../../util/input-stream.js';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { PlaitError, invalidArgument } from '../../errors/index.js';
import { looksLikeTsvHeader } from './tsv-parser.js';
import { TEXT_EXTENSIONS, listTextFiles } from './text-file-parser.js';
import { GENERIC_ID_FIELDS } from './jsonl-parser.js';
import { CORPUS_FORMATS, type CorpusFormat, type CorpusInput } from './types.js';
import { naturalOrder } from '../../util/natural-order.js';

export interface ResolvedCorpusInput {
  files: string[];
  format: CorpusFormat;
  /** Folder that `folder`-format ids are relative to. */
  root: string;
  /** A folder of notes: its files that are not notes plait reads (relative to `root`; hidden entries aside). */
  unreadFiles?: string[];
}

/**
 * A folder holding these is read as a (possibly multi-part) JSONL corpus: corpus.jsonl,
 * corpus.part-000.jsonl, ..., each possibly gzip'd (a Hugging Face BEIR download keeps corpus.jsonl.gz).
 */
const CORPUS_PART = /^corpus.*\.(jsonl|ndjson)(\.gz)?$/i;
/** The same parts in a compression plait does not read: named in a COMPRESSED_INPUT error, not read. */
const CORPUS_PART_OTHER = /^corpus.*\.(jsonl|ndjson)\.(zip|bz2|xz|zst|zstd)$/i;
const JSONL_EXTENSIONS: ReadonlySet<string> = new Set(['.jsonl', '.ndjson', '.json']);
const TSV_EXTENSIONS: ReadonlySet<string> = new Set(['.tsv', '.tab']);
const CSV_EXTENSIONS: ReadonlySet<string> = new Set(['.csv']);
/** Bytes read to sniff a file's format: enough for the first line of any sane corpus. */
const SNIFF_BYTES = 1 << 16;

function inputError(message: string): PlaitError {
  return new PlaitError('INVALID_INPUT', { message });
}

/**
 * A corpus path that is not there: FILE_NOT_FOUND, as the CLI's pre-check (`plait index`, `plait add`,
 * `plait cluster add`) and the eval readers (`readQueries`, `readQrels`, `readRun`) say it, with the
 * folder a relative path was looked for in. The library had said INVALID_INPUT `no such file or folder:
 * "corpus.jsonl"`, so a caller switching on the code saw one fault under two codes, depending on the door.
 */
function corpusNotFound(path: string): PlaitError {
  const where = resolve(path) === path ? '' : ` (looked for ${resolve(path)})`;
  return new PlaitError('FILE_NOT_FOUND', { message: `no corpus at ${path}${where}`, path });
}

async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/**
 * The first non-blank line of a file (BOM and CR removed), from its first 64 KiB (decompressed, for a gzip'd file).
 * @throws PlaitError CORRUPT_INPUT, COMPRESSED_INPUT (util/input-stream.ts).
 */
export async function firstLine(file: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of readInputChunks(file, 'corpus', SNIFF_BYTES)) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= SNIFF_BYTES) break;
  }
  let text = Buffer.concat(chunks).subarray(0, SNIFF_BYTES).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  for (const line of text.split('\n')) {
    if (line.trim().length > 0) return line.replace(/\r$/, '');
  }
  return '';
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

/**
 * Format of one file, by extension (the name under a `.gz`) then content (decompressed).
 * @throws PlaitError COMPRESSED_INPUT (zip, bzip2, xz, zstd), CORRUPT_INPUT (gzip that does not decompress), INVALID_INPUT (none of JSONL, TSV, CSV: the message lists what plait reads).
 */
export async function detectFileFormat(file: string): Promise<CorpusFormat> {
  const compression = await fileCompression(file);
  if (compression !== null && compression !== 'gzip') throw compressedInputError(file, 'corpus', compression);
  const ext = extname(compression === 'gzip' ? plainName(file) : file).toLowerCase();
  if (TSV_EXTENSIONS.has(ext)) return 'tsv';
  if (CSV_EXTENSIONS.has(ext)) return 'csv';
  if (TEXT_EXTENSIONS.has(ext)) return 'folder';
  const line = await firstLine(file);
  // Nothing to tell a format by: an empty file, or a pipe that carried nothing (`jq 'select(…)' |
  // plait add idx -` where nothing was selected). It had been "cannot tell the format … pass --format",
  // which would then fail as an empty corpus: said as that at once.
  if (line === '' && !JSONL_EXTENSIONS.has(ext)) throw new PlaitError('EMPTY_CORPUS', { message: `${file} has no document to index (0 read: it holds no text)`, read: 0 });
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
  if (looksLikeCsvHeader(line)) return 'csv';
  throw inputError(
    `cannot tell the format of "${file}": plait reads JSONL (.jsonl, .ndjson, .json), TSV (.tsv, .tab), CSV with a header row (.csv), ` +
      `and .txt/.md/.markdown files, each possibly gzip'd (.gz), telling a file of another name by its first line ` +
      `(a JSON object, a tab-separated row, or a CSV header naming an id and a "text" column); ` +
      `pass --format ${CORPUS_FORMATS.join('|')} (format in the library) to read it as one of them`,
  );
}

/** A first line that names an id column and a `text` column, comma-separated: a CSV header. */
function looksLikeCsvHeader(line: string): boolean {
  return csvHeaderIdColumn(line) !== undefined;
}

/**
 * The id column of a first line that reads as a CSV header (comma-separated, naming a `text` column
 * and one of the generic id columns, `_id` first), as written there (quotes taken off); undefined
 * when the line is no such header. Format detection and `--ids`' corpus check (a CSV corpus given as
 * an id list) read it.
 */
export function csvHeaderIdColumn(line: string): string | undefined {
  if (!line.includes(',')) return undefined;
  const written = line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const cells = written.map((c) => c.replace(/:[a-z]+$/i, ''));
  if (!cells.includes('text')) return undefined;
  const field = GENERIC_ID_FIELDS.find((f) => cells.includes(f));
  return field === undefined ? undefined : written[cells.indexOf(field)];
}

/**
 * Refuses a corpus input that is neither a path nor a list of paths (a plain-JS caller's null, 42,
 * [42]): INVALID_ARGUMENT naming `input`. They had failed inside (buildIndex: BUILD_FAILED "Cannot
 * read properties of null", after loading the model). Documents in memory are the callers' to tell apart first.
 */
export function checkCorpusInput(input: unknown): asserts input is CorpusInput {
  if (typeof input !== 'string' && !(Array.isArray(input) && input.every((f: unknown) => typeof f === 'string'))) {
    throw invalidArgument('input', 'a corpus file, folder or glob, a list of files, or (buildIndex, openCorpus) an array of documents', input);
  }
}

/**
 * @throws PlaitError FILE_NOT_FOUND (a path, or a listed file, that is not there; `details.path`),
 * INVALID_INPUT (an empty list, a glob matching nothing, a folder without a corpus, an unknown format),
 * COMPRESSED_INPUT, CORRUPT_INPUT.
 */
export async function resolveCorpusInput(input: CorpusInput, format?: CorpusFormat): Promise<ResolvedCorpusInput> {
  let files: string[];
  let root: string | null = null;
  checkCorpusInput(input);
  if (typeof input !== 'string') {
    if (input.length === 0) throw inputError('an empty list of corpus files');
    files = [...input];
  } else if (/[*?]/.test(basename(input)) && (await statOrNull(input)) === null) {
    files = await expandGlob(input);
  } else {
    const info = await statOrNull(input);
    if (info === null) throw corpusNotFound(input);
    if (info.isDirectory()) {
      const names = await readdir(input);
      // A part there both plain and gzip'd (`gunzip -k` keeps the .gz) is read once, from the plain file.
      const parts = names.filter((n) => CORPUS_PART.test(n) && !(/\.gz$/i.test(n) && names.includes(n.slice(0, -3)))).sort(naturalOrder);
      if (parts.length > 0 && format !== 'folder') {
        files = parts.map((n) => join(input, n));
      } else {
        root = input;
        const unread: string[] = [];
        files = await listTextFiles(input, unread);
        if (files.length === 0) {
          const other = (await readdir(input)).filter((n) => CORPUS_PART_OTHER.test(n)).sort(naturalOrder);
          const first = other.length > 0 ? join(input, other[0]!) : null;
          const compression = first === null ? null : await fileCompression(first);
          if (first !== null && compression !== null && compression !== 'gzip') throw compressedInputError(first, 'corpus', compression);
          throw inputError(`"${input}" holds no corpus*.jsonl(.gz), .txt or .md files`);
        }
        return { files, format: 'folder', root, ...(unread.length === 0 ? {} : { unreadFiles: unread }) };
      }
    } else {
      files = [input];
    }
  }
  for (const file of files) {
    const info = await statOrNull(file);
    if (info === null) throw corpusNotFound(file);
    if (!info.isFile()) throw inputError(`"${file}" is not a file${info.isDirectory() ? ' (a folder is given alone, not in a list of files)' : ' (a pipe or device: write it to a file first)'}`);
    // A corpus.jsonl.bz2 would be "cannot tell the format" (or, as .jsonl parts, garbage lines); gzip is read.
    const compression = await fileCompression(file);
    if (compression !== null && compression !== 'gzip') throw compressedInputError(file, 'corpus', compression);
  }
  const first = files[0] as string;
  return { files, format: format ?? (await detectFileFormat(first)), root: root ?? dirname(first) };
}
