/**
 * A folder of .txt / .md files → one document per file. The id is the path relative to the folder
 * without its extension (always with `/` separators); the title is a Markdown file's front matter
 * `title` (YAML `---` or Hugo's TOML `+++`), else its first heading, else the file name without
 * extension when that name holds words (`fileNameTitle`: `Meeting notes.txt` is titled "Meeting
 * notes"; `207.txt`, `2024-01-05.md` or a hash-named file has no title). A Markdown file's YAML front
 * matter (front-matter.ts) is its metadata and no part of its text, and so is the heading that gives
 * its title (or states the front matter's title again): the title is indexed ahead of the text. Files are listed recursively in
 * a stable (sorted) order. A gzip'd file (`notes.md.gz`, told by its magic bytes) is read decompressed,
 * as the file under the `.gz` (id `notes`, read as Markdown).
 */

import { readFile, readdir } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { basename, extname, join, relative, sep } from 'node:path';
import { PlaitError } from '../../errors/index.js';
import { decompressInput, utf16Bom, utf16InputError } from '../../util/input-bytes.js';
import { readFrontMatter } from './front-matter.js';
import { hasUtf8Bom } from './line-reader.js';
import type { ParsedRecord } from './parsed-record.js';
import { naturalOrder } from '../../util/natural-order.js';

export const TEXT_EXTENSIONS: ReadonlySet<string> = new Set(['.txt', '.md', '.markdown']);
const MARKDOWN_EXTENSIONS: ReadonlySet<string> = new Set(['.md', '.markdown']);

/** `notes.md.gz` → `notes.md`: the name that gives a gzip'd text file's extension and id. */
function underGz(name: string): string {
  return name.replace(/\.gz$/i, '');
}

/**
 * Every .txt/.md file (or .txt.gz/.md.gz) under `dir`, recursively, in natural sort order. Hidden
 * entries are skipped (`.obsidian/`, `.git/`); the other files, which are not read, are pushed onto
 * `unread` (paths relative to `dir`) when given, for the reader to name them.
 */
export async function listTextFiles(dir: string, unread?: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    entries.sort((a, b) => naturalOrder(a.name, b.name));
    const names = new Set(entries.map((e) => e.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      // A note there both plain and gzip'd (`gunzip -k` keeps the .gz) is read once, from the plain file, as corpus parts are.
      if (/\.gz$/i.test(entry.name) && names.has(underGz(entry.name))) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && TEXT_EXTENSIONS.has(extname(underGz(entry.name)).toLowerCase())) out.push(path);
      else if (entry.isFile()) unread?.push(relative(dir, path).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out;
}

/**
 * A file name as a title: the name without its extension when it holds a word, else "" (no title).
 * A name of digits, dates and punctuation (`207`, `2024-01-05`, `0012_03`) or a
 * hex hash / UUID (`3f2a9c1e`, `9b2c…-…`) is an id, not a title: cranfield written as `207.txt`
 * had put "207" at the head of every first passage, a token the encoder and BM25 read as content
 * (nDCG@10 figures in bench/RESULTS.md, "Titles of .txt files"). Notes apps (Obsidian, Bear) make a
 * note's file name its title, so a name in words stays one; Tika and FSCrawler give a plain-text
 * file no title at all, which is what an opaque name gets. A title from the first line was not
 * taken: it would make the opening line of ordinary prose a title, and index it twice.
 */
export function fileNameTitle(name: string): string {
  if (!/\p{L}/u.test(name)) return '';
  if (HEX_ID.test(name) && /\d/.test(name)) return '';
  return name;
}

/** A hash or UUID as a file name: hex digits (and dashes), 8 or more. */
const HEX_ID = /^[0-9a-f]{8,}(?:-[0-9a-f]+)*$/i;

/** A Markdown file's first ATX heading (`# Title`): its text, and the span [start, end) of its line (end past the newline). */
interface MarkdownHeading {
  title: string;
  start: number;
  end: number;
}

function firstHeadingLine(text: string): MarkdownHeading | null {
  const match = /^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(text);
  if (match === null) return null;
  const lineEnd = match.index + match[0].length;
  return { title: (match[1] as string).trim(), start: match.index, end: text[lineEnd] === '\n' ? lineEnd + 1 : lineEnd };
}

/** The text of a Markdown file's first ATX heading (`# Title`), or null. */
export function firstMarkdownHeading(text: string): string | null {
  return firstHeadingLine(text)?.title ?? null;
}

/**
 * `text` without the heading line that states the title (and, when the heading opened the text, the
 * blank lines after it). The title is indexed ahead of the text (index-text.ts), so a heading left in
 * the text indexed its words twice: BM25 counted them twice and every first passage began
 * "Title\n# Title". LangChain's MarkdownHeaderTextSplitter takes headings out of the text into
 * metadata the same way (strip_headers, on by default); ColBERT's BEIR layout keeps title and text apart.
 */
function withoutHeading(text: string, h: MarkdownHeading): string {
  const before = text.slice(0, h.start);
  const after = text.slice(h.end);
  return before.trim().length === 0 ? after.replace(/^(?:[ \t]*\n)+/, '') : before + after;
}

/** A title compared as a reader sees it: case and runs of spaces do not count. */
function sameTitle(a: string, b: string): boolean {
  const norm = (t: string): string => t.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(a) === norm(b);
}

/** Line (1-based) holding the first invalid UTF-8 sequence of `bytes`. */
function firstBadLine(bytes: Buffer): number {
  let line = 1;
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    if (!isUtf8(bytes.subarray(start, end))) return line;
    line++;
    start = end + 1;
  }
  return line;
}

/**
 * Reads one text file as a document. `root` is the folder ids are relative to (the file's own folder for a single file).
 * @throws PlaitError CORRUPT_INPUT, COMPRESSED_INPUT (util/input-bytes.ts decompressInput).
 */
export async function parseTextFile(file: string, root: string): Promise<ParsedRecord> {
  const raw = await readFile(file);
  const plain = decompressInput(raw, file, 'corpus');
  let bytes = plain === raw ? raw : Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  const named = plain === raw ? file : underGz(file);
  if (hasUtf8Bom(bytes)) bytes = bytes.subarray(3);
  const utf16 = utf16Bom(bytes);
  // One file is one document: --skip-invalid may skip it (the error is otherwise the streamed readers').
  if (utf16 !== null) return { ok: false, kind: 'notUtf8', error: utf16InputError(file, 'corpus', utf16, true) };
  if (!isUtf8(bytes)) {
    const line = firstBadLine(bytes);
    return {
      ok: false,
      kind: 'notUtf8',
      error: new PlaitError('TEXT_NOT_UTF8', { message: `${file} at line ${line}`, file, line }),
    };
  }
  const text = bytes.toString('utf8').replace(/\r\n?/g, '\n');
  const ext = extname(named);
  const docId = relative(root, named).slice(0, -ext.length || undefined).split(sep).join('/');
  // An empty file is an empty document: the title taken from its name is not content.
  if (text.trim().length === 0) return { ok: true, docId, title: '', text, line: 1 };
  if (!MARKDOWN_EXTENSIONS.has(ext.toLowerCase())) return { ok: true, docId, title: fileNameTitle(basename(named, ext)), text, line: 1 };
  const front = readFrontMatter(text);
  if (front.kind === 'malformed') {
    return {
      ok: false,
      kind: 'malformedFrontMatter',
      error: new PlaitError('MALFORMED_FRONT_MATTER', {
        message: `${front.message} (the front matter between the file's first two \`---\` (YAML) or \`+++\` (TOML) lines; fix it, or --skip-invalid to skip the file)`,
        file,
        line: front.line,
      }),
    };
  }
  const body = front.kind === 'ok' ? front.body : text;
  const declared = front.kind === 'ok' ? front.title : undefined;
  // A note holding only front matter is indexed on its declared title, as a JSONL line with a title and
  // no text is (it had been EMPTY_TEXT, "has no title and no text", beside its `title:` line); without
  // one it has no text: EMPTY_TEXT, as an empty file (a title taken from the file name is not content).
  if (body.trim().length === 0 && declared === undefined) return { ok: true, docId, title: '', text: body, line: 1 };
  // The first heading, when it is the title (no front matter title, or the same words), leaves the text.
  const heading = firstHeadingLine(body);
  const fromHeading = heading !== null && (declared === undefined || sameTitle(heading.title, declared));
  const title = declared ?? heading?.title ?? fileNameTitle(basename(named, ext));
  const content = fromHeading ? withoutHeading(body, heading) : body;
  const doc: ParsedRecord = { ok: true, docId, title, text: content.trim().length === 0 ? '' : content, line: 1 };
  if (front.kind === 'ok' && Object.keys(front.metadata).length > 0) doc.metadata = front.metadata;
  return doc;
}
