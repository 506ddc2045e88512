/**
 * CSV files → documents, streamed. The parsing is csv-parse's (the `csv` project's RFC 4180
 * parser): fields in double quotes may hold commas, line breaks and doubled quotes (`"5"" disk"`),
 * lines end in LF or CRLF, a UTF-8 BOM is dropped; fields are separated by `,`, or by `;` when the
 * header row holds `;` and no `,` (Excel's "CSV" in locales with a decimal comma: csvDelimiter). A quote inside an unquoted field or text after a
 * closing quote is MALFORMED_CSV rather than guessed at (a stray quote would otherwise shift every
 * later field). The first row is the header (csv-header.ts: id, title, text, metadata columns and
 * their types); every later row must have as many fields.
 *
 * The bytes go through the corpus line reader (line-reader.ts) on their way in, so a gzip'd file
 * (`corpus.csv.gz`) streams decompressed, invalid UTF-8 is TEXT_NOT_UTF8 at its line (not U+FFFD
 * stored in the index), and a CR inside a quoted field reads as a plain line break, as the text of
 * a .txt file does. Line numbers are the file's: a row is named by the line it starts on.
 */

import { plural } from '../../util/plural.js';
import { Readable } from 'node:stream';
import type { CsvError, Info } from 'csv-parse';
import { lazyModule } from '../../util/lazy-module.js';

/** Loaded at the first CSV corpus read (util/lazy-module.ts). */
const csvParse = lazyModule<typeof import('csv-parse')>('csv-parse');
import { PlaitError } from '../../errors/index.js';
import { readInputChunks } from '../../util/input-stream.js';
import { hasUtf8Bom, readLineBatches } from './line-reader.js';
import { looksTyped, readCsvHeader, typedValue, type CsvColumns, type CsvFieldNames } from './csv-header.js';
import { normaliseId, type ParsedRecord } from './parsed-record.js';
import type { CorpusWarning } from './types.js';

/** A row as csv-parse hands it on with `info: true`. */
interface InfoRecord {
  record: string[];
  info: Info;
}

function malformedCsv(file: string, line: number, message: string, column?: string): ParsedRecord {
  return { ok: false, kind: 'malformedCsv', error: new PlaitError('MALFORMED_CSV', { message, file, line, ...(column === undefined ? {} : { column }) }) };
}

/** The number of line feeds in a row's fields: how many lines before its last the row started. */
function newlinesIn(cells: readonly string[]): number {
  let n = 0;
  for (const cell of cells) for (let i = cell.indexOf('\n'); i >= 0; i = cell.indexOf('\n', i + 1)) n++;
  return n;
}

/** A row of one field of white space only: a blank line (the JSONL and TSV readers skip them too). */
function isBlankRow(cells: readonly string[]): boolean {
  return cells.length === 1 && (cells[0] as string).trim() === '';
}

/**
 * The file's lines as text for the parser, LF-terminated; a line that is not UTF-8 is fed decoded
 * with U+FFFD (its quotes still count) and its number added to `badLines` before any row holding it
 * is parsed.
 */
async function* feed(file: string, badLines: Set<number>): AsyncGenerator<string> {
  for await (const { firstLine, lines, invalid } of readLineBatches(file, 'corpus', true)) {
    for (const i of invalid ?? []) badLines.add(firstLine + i);
    yield lines.join('\n') + '\n';
  }
}

/**
 * Reads a CSV corpus file as the reader's records, header checked first.
 * @param warn called once per pass and column when an untyped metadata column's first value looks
 *   like a number or a boolean (it is stored as text, so a filter with a number matches nothing).
 * @throws PlaitError MALFORMED_CSV for the header (csv-header.ts) and for quoting that the parser
 *   cannot get past (an unterminated quote, named by the line it opens on; a stray quote), which no
 *   skipping can step over; TEXT_NOT_UTF8 for a header that is not UTF-8; CORRUPT_INPUT, COMPRESSED_INPUT.
 */
export async function* readCsvRecords(file: string, fields: CsvFieldNames, warn: (warning: CorpusWarning) => void): AsyncGenerator<ParsedRecord> {
  const badLines = new Set<number>();
  const batches = feed(file, badLines);
  const head = await batches.next();
  const first = head.done === true ? '' : head.value;
  const delimiter = csvDelimiter(first);
  const source = Readable.from(prepend(first, batches));
  // relax_column_count: a row of the wrong width is this reader's MALFORMED_CSV (skippable), not a parse stop.
  // record_delimiter: the line reader has cut every line at LF (a CR before it dropped), so a bare CR
  // in a field is a character, never taken for the file's line ending.
  const parser = csvParse().parse({ info: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: '\n', delimiter });
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  let columns: CsvColumns | null = null;
  const warned = new Set<number>();
  try {
    for await (const { record: cells, info } of parser as AsyncIterable<InfoRecord>) {
      const last = info.lines;
      const line = last - newlinesIn(cells);
      if (isBlankRow(cells)) continue;
      let bad = false;
      for (let l = line; l <= last && !bad; l++) bad = badLines.has(l);
      if (columns === null) {
        if (bad) throw new PlaitError('TEXT_NOT_UTF8', { message: `${file} at line ${line} (the header row)`, file, line });
        columns = readCsvHeader(cells, fields, file, line);
        continue;
      }
      if (bad) {
        const at = [...badLines].find((l) => l >= line && l <= last) ?? line;
        yield { ok: false, kind: 'notUtf8', error: new PlaitError('TEXT_NOT_UTF8', { message: `${file} at line ${at}`, file, line: at }) };
        continue;
      }
      yield rowRecord(cells, columns, file, line, warned, warn, delimiter);
    }
  } catch (e) {
    throw e instanceof csvParse().CsvError ? await parseStop(e, file, delimiter) : e;
  } finally {
    source.unpipe(parser);
    source.destroy();
    parser.destroy();
  }
  if (columns === null) throw new PlaitError('MALFORMED_CSV', { message: 'the file has no header row (a CSV corpus starts with a row naming its columns, e.g. "id,title,text")', file, line: 1, skippable: false });
}

function rowRecord(cells: readonly string[], columns: CsvColumns, file: string, line: number, warned: Set<number>, warn: (w: CorpusWarning) => void, delimiter: CsvDelimiter): ParsedRecord {
  if (cells.length !== columns.width) {
    return malformedCsv(
      file,
      line,
      `expected ${plural(columns.width, 'field')} (the header's: ${columns.names.join(delimiter)}) but found ${cells.length}; a field holding a ${delimiter === ',' ? 'comma' : 'semicolon'}, a quote or a line break is written in double quotes, a quote in it doubled ("5"" disk")`,
    );
  }
  let metadata: Record<string, unknown> | undefined;
  for (const column of columns.metadata) {
    const raw = cells[column.index] as string;
    const read = typedValue(raw, column.type);
    if ('error' in read) return malformedCsv(file, line, `column ${JSON.stringify(column.key)} (${column.type}): ${read.error}`, column.key);
    if (read.value === undefined) continue;
    (metadata ??= {})[column.key] = read.value;
    if (!column.typed && !warned.has(column.index)) {
      warned.add(column.index);
      const looks = looksTyped(raw);
      if (looks !== null) warn(untypedWarning(column.key, raw, looks, file, line));
    }
  }
  const doc: ParsedRecord = {
    ok: true,
    docId: normaliseId(cells[columns.id]),
    title: columns.title < 0 ? '' : (cells[columns.title] as string),
    text: cells[columns.text] as string,
    line,
  };
  if (metadata !== undefined) doc.metadata = metadata;
  return doc;
}

/** The warning for an untyped column whose first value looks like a number or a boolean. */
function untypedWarning(key: string, raw: string, looks: 'string' | 'number' | 'boolean', file: string, line: number): CorpusWarning {
  const example = looks === 'number' ? `{${JSON.stringify(key)}: ${raw.trim()}}` : `{${JSON.stringify(key)}: ${raw.trim().toLowerCase()}}`;
  return {
    code: 'CSV_UNTYPED_COLUMN',
    message:
      `${file} line ${line}: column ${JSON.stringify(key)} is stored as text (a CSV value is a string unless the header gives its column a type): ${JSON.stringify(raw)} is the string ${JSON.stringify(raw)}, ` +
      `which the filter ${example} does not match; name the column ${JSON.stringify(`${key}:${looks}`)} in the header row to store ${looks === 'number' ? 'numbers' : 'booleans'}, or filter with {${JSON.stringify(key)}: ${JSON.stringify(raw)}}`,
    fields: [key],
    file,
    line,
  };
}


/** The field delimiters a CSV corpus may use (csvDelimiter). */
export type CsvDelimiter = ',' | ';';

/**
 * The field delimiter, told by the header row (the first row holding anything but white space):
 * `;` when it holds a `;` outside quotes and no `,`, else `,`. Excel saves "CSV" with `;` in every
 * locale whose decimal separator is a comma (de, fr, es, it, nl, pt-BR, …); read with `,`, such a
 * file had been one column a row and stopped at its first quoted field with csv-parse's "Invalid
 * Opening Quote" (trial 12). The header decides because it must name at least an id and a text
 * column, so it holds the delimiter, and names of columns hold neither character in practice; a
 * header holding both is read with `,`, as RFC 4180 says.
 * @param text the file's first lines (LF-separated), the header's among them.
 */
export function csvDelimiter(text: string): CsvDelimiter {
  let inQuote = false;
  let commas = 0;
  let semicolons = 0;
  let nonBlank = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inQuote) {
      if (c === '"') inQuote = false;
      continue;
    }
    if (c === '"') {
      inQuote = true;
      nonBlank = true;
    } else if (c === ',') commas++;
    else if (c === ';') semicolons++;
    else if (c === '\n') {
      if (nonBlank || commas + semicolons > 0) break;
    } else if (c.trim() !== '') nonBlank = true;
  }
  return commas === 0 && semicolons > 0 ? ';' : ',';
}

/** `first`, then what `rest` yields: the batch read to tell the delimiter is not lost. */
async function* prepend(first: string, rest: AsyncGenerator<string>): AsyncGenerator<string> {
  if (first !== '') yield first;
  yield* rest;
}

/** MALFORMED_CSV for an error that stops csv-parse, at the line the fault starts on. */
async function parseStop(e: CsvError, file: string, delimiter: CsvDelimiter): Promise<PlaitError> {
  const hint = '--skip-invalid cannot step over it: where every later row starts depends on the quoting';
  if (e.code === 'CSV_QUOTE_NOT_CLOSED') {
    const line = (await scanCsv(file, delimiter)).openQuoteLine ?? e.lines;
    return new PlaitError('MALFORMED_CSV', { message: `a quoted field opened on this line is never closed (it runs to the end of the file); close it with a double quote; ${hint}`, file, line, csvCode: e.code, skippable: false }, { cause: e });
  }
  const what = e.message.replace(/ at line \d+/, '');
  return new PlaitError(
    'MALFORMED_CSV',
    { message: `${what} (a field holding a quote is written in double quotes, the quote doubled: "5"" disk"); ${hint}`, file, line: e.lines, csvCode: e.code, skippable: false },
    { cause: e },
  );
}

/** What a quote-aware byte scan of a CSV file finds. */
export interface CsvScan {
  /** Rows holding anything but white space, the header included. */
  rows: number;
  /** The line on which a quoted field still open at the end of the file opened; null when none is. */
  openQuoteLine: number | null;
}

const QUOTE = 0x22;
const LF = 0x0a;

/**
 * Counts a CSV file's rows (for progress bars: a row may span lines) and finds an unterminated
 * quote's opening line (for its error), without decoding: a line feed inside double quotes does
 * not end a row; a doubled quote inside them toggles the state twice, so needs no look-ahead.
 * `delimiter` (csvDelimiter) tells where a field starts, so where a quote opens one.
 * @throws PlaitError CORRUPT_INPUT, COMPRESSED_INPUT (readInputChunks).
 */
export async function scanCsv(file: string, delimiter: CsvDelimiter = ','): Promise<CsvScan> {
  const DELIMITER = delimiter.charCodeAt(0);
  let rows = 0;
  let line = 1;
  let inQuote = false;
  let fieldStart = true;
  let nonBlank = false;
  let openQuoteLine: number | null = null;
  let first = true;
  for await (let chunk of readInputChunks(file, 'corpus')) {
    if (first) {
      first = false;
      if (hasUtf8Bom(chunk)) chunk = chunk.subarray(3);
    }
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (b === LF) line++;
      if (inQuote) {
        if (b === QUOTE) inQuote = false;
        continue;
      }
      if (b === QUOTE) {
        // A doubled quote closes and reopens mid-field: the field is still the one that opened.
        if (fieldStart) openQuoteLine = line;
        inQuote = true;
        fieldStart = false;
        nonBlank = true;
      } else if (b === DELIMITER) {
        fieldStart = true;
        nonBlank = true;
      } else if (b === LF) {
        if (nonBlank) rows++;
        nonBlank = false;
        fieldStart = true;
      } else if (b > 0x20) {
        nonBlank = true;
        fieldStart = false;
      }
    }
  }
  if (nonBlank || inQuote) rows++;
  return { rows, openQuoteLine: inQuote ? openQuoteLine : null };
}
