/**
 * Checks on the raw bytes of an input file (corpus, queries, qrels, run) before it is read as text:
 * a gzip'd file is refused with `COMPRESSED_INPUT`, and text that is not UTF-8 with `TEXT_NOT_UTF8`
 * naming the file and the line of the first bad byte.
 *
 * Why refuse rather than guess: BEIR's loader and pytrec_eval read plain UTF-8 only, and Node's
 * `readFile(path, 'utf8')` had read both silently wrong — a `queries.jsonl.gz` came out as
 * `queries.jsonl.gz:1: expected "qid<TAB>text"` (read as TSV), a `corpus.jsonl.gz` as "cannot tell
 * the format", and a Latin-1 `café` query as `caf\uFFFD` that was searched as such.
 */

import { open } from 'node:fs/promises';
import { PlaitError } from '../errors/index.js';

/** The two bytes every gzip member starts with (RFC 1952). */
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** True when `bytes` start with gzip's magic number. */
export function isGzipBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/** True when the file at `path` starts with gzip's magic number (false for a file shorter than 2 bytes). */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return isGzipBytes(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** `COMPRESSED_INPUT` for a gzip'd `what` file (details: `file`, `compression`). */
export function compressedInputError(path: string, what: string): PlaitError {
  const plain = path.replace(/\.gz$/i, '');
  const hint = plain === path ? `gunzip -c ${path} > ${path}.txt` : `gunzip -k ${path}, then give ${plain}`;
  return new PlaitError('COMPRESSED_INPUT', {
    message: `the ${what} file ${path} is gzip-compressed; plait reads plain UTF-8 text (as BEIR's loader does): ${hint}`,
    file: path,
    compression: 'gzip',
  });
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes `bytes` as UTF-8, refusing a gzip'd file and invalid UTF-8.
 * @throws PlaitError COMPRESSED_INPUT (gzip magic), TEXT_NOT_UTF8 (details: `file`, `line`, 1-based, of the first invalid byte).
 */
export function decodeInputText(bytes: Uint8Array, path: string, what: string): string {
  if (isGzipBytes(bytes)) throw compressedInputError(path, what);
  try {
    return STRICT_UTF8.decode(bytes);
  } catch (cause) {
    const line = lineOf(bytes, firstInvalidUtf8(bytes));
    throw new PlaitError('TEXT_NOT_UTF8', { message: `${path} at line ${line}: the ${what} file is not UTF-8 (re-encode it, e.g. iconv -f latin1 -t utf-8)`, file: path, line }, { cause });
  }
}

/** Byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF included), or `bytes.length`. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/** 1-based line number of byte `offset` (LF-separated). */
function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
