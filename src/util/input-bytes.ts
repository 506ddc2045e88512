/**
 * Checks on the raw bytes of an input file (corpus, queries, qrels, run, id list, rerank documents,
 * query log) before it is read as text: a gzip'd file is decompressed (a Hugging Face BEIR download
 * keeps `corpus.jsonl.gz` and `queries.jsonl.gz`, MS MARCO ships `.tsv.gz`), a file that gzip
 * cannot read to its end is `CORRUPT_INPUT`, the other compressions (zip, bzip2, xz, zstd) are
 * `COMPRESSED_INPUT` naming the tool that opens them, and text that is not UTF-8 is `TEXT_NOT_UTF8`
 * naming the file and the (decompressed) line of the first bad byte. Every format is told by its
 * magic bytes, never by the file's name alone.
 *
 * Why: Node's `readFile(path, 'utf8')` had read compressed files silently wrong (a
 * `queries.jsonl.gz` came out as `queries.jsonl.gz:1: expected "qid<TAB>text"`, a
 * `corpus.jsonl.gz` as "cannot tell the format"), and a Latin-1 `café` query as `caf\uFFFD`.
 * Files small enough to read whole go through `decodeInputText` (gunzipSync); the corpus streams
 * through util/input-stream.ts (createGunzip), so a large corpus never sits decompressed in memory.
 */

import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { PlaitError } from '../errors/index.js';

/** The two bytes every gzip member starts with (RFC 1952). */
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** A compression plait tells by its magic bytes. Only gzip is read; the others are refused by name. */
export type InputCompression = 'gzip' | 'zip' | 'bzip2' | 'xz' | 'zstd';

/** Magic numbers of the compressions plait recognises, and how to open the ones it does not read. */
const MAGIC: readonly { compression: Exclude<InputCompression, 'gzip'>; bytes: readonly number[]; hint: (path: string, plain: string) => string }[] = [
  // PKWARE's local file header "PK\3\4" (and "PK\5\6", an empty archive): BEIR's own downloads are a .zip of the folder.
  { compression: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04], hint: (p) => `unzip ${p}, then give the folder or file it holds` },
  { compression: 'zip', bytes: [0x50, 0x4b, 0x05, 0x06], hint: (p) => `unzip ${p}, then give the folder or file it holds` },
  // "BZh" then the block size digit.
  { compression: 'bzip2', bytes: [0x42, 0x5a, 0x68], hint: (p, plain) => (plain === p ? `bunzip2 -c ${p} > ${p}.txt` : `bunzip2 -k ${p}, then give ${plain}`) },
  { compression: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], hint: (p, plain) => (plain === p ? `xz -dc ${p} > ${p}.txt` : `unxz -k ${p}, then give ${plain}`) },
  // Zstandard frame magic 0xFD2FB528, little-endian.
  { compression: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd], hint: (p, plain) => (plain === p ? `zstd -dc ${p} > ${p}.txt` : `zstd -d ${p}, then give ${plain}`) },
];

/** The file extensions each compression is usually written with (stripped to name the plain file in a hint). */
const COMPRESSED_EXTENSION = /\.(gz|zip|bz2|xz|zst|zstd)$/i;

/** Bytes that tell any compression in MAGIC apart. */
export const MAGIC_BYTES = 6;

/** True when `bytes` start with gzip's magic number. */
export function isGzipBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/** The compression `bytes` (a file's first bytes, at least MAGIC_BYTES of them when the file has them) start with, or null for none. */
export function compressionOf(bytes: Uint8Array): InputCompression | null {
  if (isGzipBytes(bytes)) return 'gzip';
  for (const m of MAGIC) if (bytes.length >= m.bytes.length && m.bytes.every((b, i) => bytes[i] === b)) return m.compression;
  return null;
}

/** The compression of the file at `path`, by its first bytes (null for a plain file, or one shorter than any magic number). */
export async function fileCompression(path: string): Promise<InputCompression | null> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(MAGIC_BYTES);
    const { bytesRead } = await handle.read(head, 0, MAGIC_BYTES, 0);
    return compressionOf(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** `path` without a compression extension (`corpus.jsonl.gz` → `corpus.jsonl`): the name that tells the format of what it holds. */
export function plainName(path: string): string {
  return path.replace(COMPRESSED_EXTENSION, '');
}

/**
 * `COMPRESSED_INPUT` for a `what` file in a compression plait does not read (zip, bzip2, xz, zstd),
 * naming it and the command that opens it (details: `file`, `compression`).
 */
export function compressedInputError(path: string, what: string, compression: Exclude<InputCompression, 'gzip'>): PlaitError {
  const m = MAGIC.find((x) => x.compression === compression)!;
  const name = compression === 'zip' ? 'a zip archive' : `${compression}-compressed`;
  return new PlaitError('COMPRESSED_INPUT', {
    message: `the ${what} file ${path} is ${name}; plait reads plain or gzip'd UTF-8 text: ${m.hint(path, plainName(path))}`,
    file: path,
    compression,
  });
}

/**
 * `CORRUPT_INPUT` for a gzip'd `what` file that gzip cannot read to its end (truncated, a bad CRC,
 * not deflate data), with zlib's reason (details: `file`, `compression`, `reason`). Nothing read
 * from such a file is kept: a partial corpus would have been a silent loss of its tail.
 */
export function corruptInputError(path: string, what: string, cause: unknown): PlaitError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PlaitError(
    'CORRUPT_INPUT',
    { message: `the ${what} file ${path} is gzip'd but cannot be read to its end (${reason}); download or compress it again (gzip -t ${path} checks it)`, file: path, compression: 'gzip', reason },
    { cause },
  );
}

/**
 * The plain bytes of an input file: gunzipped when they are gzip (every member, as gzip -d reads
 * them), as they are when they are not compressed.
 * @throws PlaitError CORRUPT_INPUT (gzip that does not decompress to its end), COMPRESSED_INPUT (zip, bzip2, xz, zstd).
 */
export function decompressInput(bytes: Uint8Array, path: string, what: string): Uint8Array {
  const compression = compressionOf(bytes);
  if (compression === null) return bytes;
  if (compression !== 'gzip') throw compressedInputError(path, what, compression);
  try {
    return gunzipSync(bytes);
  } catch (cause) {
    throw corruptInputError(path, what, cause);
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A UTF-16 encoding told by its byte-order mark. */
export type Utf16Encoding = 'UTF-16LE' | 'UTF-16BE';

/**
 * The UTF-16 encoding whose byte-order mark `bytes` (a file's first plain bytes) start with, or null.
 * Excel's "Unicode Text" / "CSV UTF-16" exports and PowerShell 5's `Out-File` write one; read as
 * UTF-8 such a file had been a MALFORMED_CSV "Invalid Opening Quote … \u0000" or a TEXT_NOT_UTF8
 * telling to convert from latin1 (trial 12).
 */
export function utf16Bom(bytes: Uint8Array): Utf16Encoding | null {
  if (bytes.length < 2) return null;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'UTF-16LE';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'UTF-16BE';
  return null;
}

/**
 * TEXT_NOT_UTF8 for a `what` file that is UTF-16 (utf16Bom), naming the encoding and the command
 * that converts it (details: `file`, `line` 1, `encoding`, `skippable`: false for a file of many
 * documents, none of which is readable, so that --skip-invalid is no way out; true for a note, one
 * file one document).
 */
export function utf16InputError(path: string, what: string, encoding: Utf16Encoding, skippable = false): PlaitError {
  const plain = plainName(path);
  const converted = plain.replace(/(\.[^./]+)?$/, (ext) => `-utf8${ext}`);
  return new PlaitError('TEXT_NOT_UTF8', {
    message: `${path} at line 1: the ${what} file is ${encoding} (it starts with a UTF-16 byte-order mark, as Excel's "Unicode Text" export writes); plait reads UTF-8: convert it with iconv -f UTF-16 -t UTF-8 ${plain} > ${converted}`,
    file: path,
    line: 1,
    encoding,
    skippable,
  });
}

/**
 * Decodes an input file's bytes as UTF-8, gunzipping them first when they are gzip (decompressInput).
 * @throws PlaitError CORRUPT_INPUT, COMPRESSED_INPUT (decompressInput), TEXT_NOT_UTF8 (details: `file`, `line`, 1-based in the decompressed text, of the first invalid byte; a UTF-16 file: utf16InputError).
 */
export function decodeInputText(raw: Uint8Array, path: string, what: string): string {
  const bytes = decompressInput(raw, path, what);
  const utf16 = utf16Bom(bytes);
  if (utf16 !== null) throw utf16InputError(path, what, utf16);
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
