/**
 * Streamed, strictly-UTF-8 line splitting. Reads a file in large chunks, splits on LF bytes, drops a
 * leading BOM and a CR before each LF, and decodes each block of complete lines at once when it is
 * valid UTF-8 (the common case); otherwise it decodes line by line so that only the bad lines are
 * flagged. Memory stays at about one chunk plus the longest line, whatever the file size. A gzip'd
 * file is decompressed as it streams (util/input-stream.ts): its lines, and their numbers, are those
 * of the decompressed text.
 */

import { isUtf8 } from 'node:buffer';
import { readInputChunks } from '../../util/input-stream.js';
import { utf16Bom, utf16InputError } from '../../util/input-bytes.js';

/** A batch of consecutive lines; `lines[i]` is line `firstLine + i` (1-based), or null when it is not valid UTF-8. */
export interface LineBatch {
  firstLine: number;
  lines: (string | null)[];
  /**
   * Read `lossy`: the positions in `lines` of the lines that are not valid UTF-8, which `lines` then
   * holds decoded with U+FFFD (a CSV line's quotes must still be seen); absent when there are none.
   */
  invalid?: number[];
}

const LF = 0x0a;
const CR = 0x0d;

/** Chunk size of the underlying stream: large enough that per-chunk work is amortised. */
const CHUNK_BYTES = 1 << 20;

export function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === CR ? line.slice(0, -1) : line;
}

/** Splits `bytes` (complete lines, the last possibly without LF) into decoded lines; `invalid` (lossy) collects the positions of lines that are not UTF-8, decoded with U+FFFD instead of null. */
function decodeBlock(bytes: Buffer, endsWithLf: boolean, invalid?: number[]): (string | null)[] {
  if (isUtf8(bytes)) {
    const parts = bytes.toString('utf8').split('\n');
    if (endsWithLf) parts.pop();
    for (let i = 0; i < parts.length; i++) parts[i] = stripCr(parts[i] as string);
    return parts;
  }
  const lines: (string | null)[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    const segment = bytes.subarray(start, end);
    if (isUtf8(segment)) {
      lines.push(stripCr(segment.toString('utf8')));
    } else if (invalid !== undefined) {
      invalid.push(lines.length);
      lines.push(stripCr(segment.toString('utf8')));
    } else {
      lines.push(null);
    }
    start = end + 1;
  }
  return lines;
}

/**
 * Yields a file's lines in batches (one batch per chunk read). A final line without LF is included.
 * `lossy`: lines that are not UTF-8 come decoded with U+FFFD and listed in `batch.invalid` rather than null.
 * @throws PlaitError CORRUPT_INPUT, COMPRESSED_INPUT (readInputChunks; `what` names the file in them),
 *   TEXT_NOT_UTF8 for a file that starts with a UTF-16 byte-order mark (before any line: none of its lines is UTF-8).
 */
export async function* readLineBatches(file: string, what = 'corpus', lossy = false): AsyncGenerator<LineBatch> {
  const stream = readInputChunks(file, what, CHUNK_BYTES);
  let carry: Buffer | null = null;
  let nextLine = 1;
  let first = true;
  for await (const chunk of stream) {
    let buf: Buffer = carry === null ? chunk : Buffer.concat([carry, chunk]);
    if (first) {
      first = false;
      if (hasUtf8Bom(buf)) buf = buf.subarray(3);
      checkNotUtf16(buf, file, what);
    }
    const lastLf = buf.lastIndexOf(LF);
    if (lastLf < 0) {
      carry = buf;
      continue;
    }
    // Copy the tail so the next concat does not pin the whole previous chunk.
    carry = lastLf + 1 < buf.length ? Buffer.from(buf.subarray(lastLf + 1)) : null;
    const invalid: number[] | undefined = lossy ? [] : undefined;
    const lines = decodeBlock(buf.subarray(0, lastLf + 1), true, invalid);
    yield batchOf(nextLine, lines, invalid);
    nextLine += lines.length;
  }
  if (carry !== null && carry.length > 0) {
    if (first && hasUtf8Bom(carry)) carry = carry.subarray(3);
    if (first) checkNotUtf16(carry, file, what);
    const invalid: number[] | undefined = lossy ? [] : undefined;
    yield batchOf(nextLine, decodeBlock(carry, false, invalid), invalid);
  }
}

/** A UTF-16 file (its byte-order mark) stops the read: every line would be a fault of its own (NULs between the characters), none skippable. */
function checkNotUtf16(head: Uint8Array, file: string, what: string): void {
  const utf16 = utf16Bom(head);
  if (utf16 !== null) throw utf16InputError(file, what, utf16);
}

function batchOf(firstLine: number, lines: (string | null)[], invalid: number[] | undefined): LineBatch {
  return invalid === undefined || invalid.length === 0 ? { firstLine, lines } : { firstLine, lines, invalid };
}

/** True when a line holds nothing but spaces and tabs. */
export function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

/**
 * Counts the non-blank lines of a file without decoding it: a byte scan (after gunzip for a gzip'd
 * file), for progress bars and ETAs.
 * @throws PlaitError CORRUPT_INPUT, COMPRESSED_INPUT (readInputChunks).
 */
export async function countNonBlankLines(file: string, what = 'corpus'): Promise<number> {
  let count = 0;
  let nonBlank = false;
  for await (const chunk of readInputChunks(file, what, CHUNK_BYTES)) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (b === LF) {
        if (nonBlank) count++;
        nonBlank = false;
      } else if (b > 0x20) {
        nonBlank = true;
      }
    }
  }
  if (nonBlank) count++;
  return count;
}
