/**
 * The corpus reader: streams documents from any supported input, checking each one (id present,
 * id unique, some text) and either throwing on the first bad one or skipping and counting it.
 *
 *   const corpus = await openCorpus('../shared/data/scifact');
 *   for await (const doc of corpus) { ... }
 *   corpus.report; // { read, skipped: { malformed, malformedTsv, malformedCsv, malformedFrontMatter, missingId, duplicateId, emptyText, notUtf8, invalidId }, ignoredFields, firstSkipped }
 *
 * A CSV file (csv-parser.ts) is read row by row: its header names the id, title and text columns;
 * the others are metadata.
 *
 * JSONL top-level fields other than the id, title, text and metadata fields are not read; each such
 * name is reported once per pass (`onWarning`) and counted in `report.ignoredFields`.
 */

import { CORPUS_REPORT_DEFAULTS } from '../../config/defaults.js';
import { PlaitError, invalidArgument, type ErrorCode } from '../../errors/index.js';
import { BEIR_FIELDS, GENERIC_ID_FIELDS, parseJsonlLine, parseJsonlRecord, type JsonlFields } from './jsonl-parser.js';
import { isBlank, readLineBatches } from './line-reader.js';
import type { ParsedRecord } from './parsed-record.js';
import { resolveCorpusInput } from './resolve-input.js';
import { docIdFault, invalidDocId } from './document-id.js';
import { checkOptionKeys, pickOptions, type OptionKeys } from '../../util/option-keys.js';
import { parseTextFile } from './text-file-parser.js';
import { readCsvRecords } from './csv-parser.js';
import { looksLikeTsvHeader, parseTsvLine } from './tsv-parser.js';
import type { CorpusDocument, CorpusDocumentInput, CorpusFormat, CorpusInput, CorpusReadReport, CorpusReader, CorpusReaderOptions, CorpusWarning, IgnoredField } from './types.js';

type SkipKind = keyof CorpusReadReport['skipped'];

/**
 * The error code of each skip reason: one name for one fault, whether the reader stops on it (the
 * code) or skips and counts it (`report.skipped[reason]`, `report.firstSkipped[].code`).
 */
export const SKIP_REASON_CODES: Readonly<Record<SkipKind, ErrorCode>> = {
  malformed: 'MALFORMED_JSONL',
  malformedTsv: 'MALFORMED_TSV',
  malformedCsv: 'MALFORMED_CSV',
  malformedFrontMatter: 'MALFORMED_FRONT_MATTER',
  missingId: 'MISSING_ID',
  duplicateId: 'DUPLICATE_ID',
  emptyText: 'EMPTY_TEXT',
  notUtf8: 'TEXT_NOT_UTF8',
  invalidId: 'INVALID_ID',
};

function jsonlFields(format: CorpusFormat, options: CorpusReaderOptions): JsonlFields {
  const idFields = options.idField !== undefined ? [options.idField] : format === 'beir' ? BEIR_FIELDS.idFields : GENERIC_ID_FIELDS;
  return {
    idFields,
    textField: options.textField ?? BEIR_FIELDS.textField,
    titleField: options.titleField ?? BEIR_FIELDS.titleField,
    metadataField: options.metadataField ?? BEIR_FIELDS.metadataField,
  };
}

function notUtf8(file: string, line: number): ParsedRecord {
  return { ok: false, kind: 'notUtf8', error: new PlaitError('TEXT_NOT_UTF8', { message: `${file} at line ${line}`, file, line }) };
}

class StreamingCorpusReader implements CorpusReader {
  readonly report: CorpusReadReport = {
    read: 0,
    skipped: { malformed: 0, malformedTsv: 0, malformedCsv: 0, malformedFrontMatter: 0, missingId: 0, duplicateId: 0, emptyText: 0, notUtf8: 0, invalidId: 0 },
    ignoredFields: [],
    firstSkipped: [],
  };
  private readonly fields: JsonlFields;
  /** This pass's ignored fields by name (the report's entries). */
  private ignored = new Map<string, IgnoredField>();

  constructor(
    readonly files: readonly string[],
    readonly format: CorpusFormat,
    private readonly root: string,
    private readonly options: CorpusReaderOptions,
    /** Documents given in memory instead of files (`files` is empty): read as JSONL records. */
    private readonly documents: readonly unknown[] | null = null,
    /** A folder of notes' files that are not notes plait reads, named once (UNREAD_FILES) on the first pass. */
    private unreadFiles: readonly string[] = [],
  ) {
    this.fields = jsonlFields(format, options);
    if (unreadFiles.length > 0) this.report.unreadFiles = [...unreadFiles];
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CorpusDocument> {
    this.report.read = 0;
    for (const key of Object.keys(this.report.skipped) as SkipKind[]) this.report.skipped[key] = 0;
    this.report.ignoredFields = [];
    this.report.firstSkipped = [];
    this.ignored = new Map();
    const seen = new Set<string>();
    if (this.unreadFiles.length > 0) {
      this.options.onWarning?.(unreadFilesWarning(this.root, this.unreadFiles));
      this.unreadFiles = [];
    }
    if (this.documents !== null) {
      for (let i = 0; i < this.documents.length; i++) {
        const doc = this.accept(parseJsonlRecord(this.documents[i], DOCUMENTS_SOURCE, i + 1, this.fields), DOCUMENTS_SOURCE, seen);
        if (doc !== null) yield doc;
      }
    }
    for (const file of this.files) {
      if (this.format === 'folder') {
        const doc = this.accept(await parseTextFile(file, this.root), file, seen);
        if (doc !== null) yield doc;
        continue;
      }
      if (this.format === 'csv') {
        const warn = (w: CorpusWarning): void => this.options.onWarning?.(w);
        for await (const record of readCsvRecords(file, this.fields, warn)) {
          const doc = this.accept(record, file, seen);
          if (doc !== null) yield doc;
        }
        continue;
      }
      let headerPending = this.format === 'tsv';
      for await (const batch of readLineBatches(file)) {
        const { lines, firstLine } = batch;
        for (let i = 0; i < lines.length; i++) {
          const text = lines[i] as string | null;
          const line = firstLine + i;
          let record: ParsedRecord;
          if (text === null) {
            record = notUtf8(file, line);
          } else if (isBlank(text)) {
            continue;
          } else if (this.format === 'tsv') {
            if (headerPending) {
              headerPending = false;
              if (this.options.tsvHeader ?? looksLikeTsvHeader(text)) continue;
            }
            record = parseTsvLine(text, file, line);
          } else {
            record = parseJsonlLine(text, file, line, this.fields);
          }
          const doc = this.accept(record, file, seen);
          if (doc !== null) yield doc;
        }
      }
    }
  }

  private accept(record: ParsedRecord, file: string, seen: Set<string>): CorpusDocument | null {
    if (!record.ok) return this.reject(record.kind, record.error);
    const { docId, line } = record;
    if (docId === null) {
      // JSONL names where it looked: a file whose ids sit in another field (an add reading with the
      // field names the index was built with, `doc_id`, a file that has `_id`) was told only "Missing id".
      const hint =
        this.format === 'tsv' ? 'its first column (the id) is empty' : this.format === 'csv' ? 'its id column is empty' : idFieldHint(this.fields.idFields, record.ignoredIdFields);
      return this.reject('missingId', new PlaitError('MISSING_ID', { file, line, hint }));
    }
    // What a document id may be (document-id.ts): spaces are fine; a control character, a line
    // break or white space at an end is refused here, where the file and line are known.
    const fault = docIdFault(docId);
    if (fault !== null) {
      const where = this.format === 'folder' ? `(the file ${file}: in a folder of notes the id is the file's path: rename the file)` : `in ${file} at line ${line}`;
      return this.reject('invalidId', invalidDocId(docId, fault, where, { file, line }));
    }
    if (seen.has(docId)) return this.reject('duplicateId', new PlaitError('DUPLICATE_ID', { id: docId, file, line }));
    if (isBlank(record.title) && isBlank(record.text)) {
      return this.reject(
        'emptyText',
        new PlaitError('EMPTY_TEXT', { message: `document "${docId}" in ${file} at line ${line} has no title and no text${textFieldHint(record.ignoredTextFields)}`, id: docId, file, line, ...(record.ignoredTextFields === undefined ? {} : { textField: record.ignoredTextFields[0] }) }),
      );
    }
    seen.add(docId);
    this.report.read++;
    if (record.ignoredFields !== undefined) this.noteIgnored(record.ignoredFields, file, line);
    const doc: CorpusDocument = { docId, title: record.title, text: record.text, source: { file, line } };
    if (record.metadata !== undefined) doc.metadata = record.metadata;
    return doc;
  }

  /** Counts a read document's ignored fields; names new to this pass go to onWarning, once. */
  private noteIgnored(names: readonly string[], file: string, line: number): void {
    const fresh: string[] = [];
    for (const name of names) {
      const have = this.ignored.get(name);
      if (have !== undefined) {
        have.documents++;
        continue;
      }
      const entry: IgnoredField = { name, documents: 1, first: { file, line } };
      this.ignored.set(name, entry);
      this.report.ignoredFields.push(entry);
      fresh.push(name);
    }
    if (fresh.length > 0) this.options.onWarning?.(ignoredFieldsWarning(fresh, file, line, this.fields));
  }

  private reject(kind: SkipKind, error: PlaitError): null {
    if (this.options.skipInvalid !== true) throw error;
    this.report.skipped[kind]++;
    if (this.report.firstSkipped.length < CORPUS_REPORT_DEFAULTS.firstSkipped) {
      this.report.firstSkipped.push({ code: error.code, file: String(error.details?.['file'] ?? ''), line: Number(error.details?.['line'] ?? 0), message: error.message });
    }
    return null;
  }
}

/**
 * An EMPTY_TEXT document's other text fields, named with the option that reads one (Pyserini's
 * `{"id", "contents"}` lines had been refused as "no title and no text" with only the hint to skip
 * them, which skips every document): "" when it has none.
 */
function idFieldHint(read: readonly string[], ignored: readonly string[] | undefined): string {
  const looked = `no ${read.map((f) => JSON.stringify(f)).join(' or ')} field holding a non-empty id (the id field${read.length === 1 ? '' : 's'} read)`;
  if (ignored === undefined || ignored.length === 0) return looked;
  return ignored.length === 1
    ? `${looked}; its field ${JSON.stringify(ignored[0])} looks like an id: --id-field ${ignored[0]} (idField) reads it as the id`
    : `${looked}; its fields ${ignored.map((f) => JSON.stringify(f)).join(', ')} look like ids: --id-field <name> (idField) reads one as the id`;
}

function textFieldHint(fields: readonly string[] | undefined): string {
  if (fields === undefined || fields.length === 0) return '';
  const names = fields.map((f) => JSON.stringify(f)).join(', ');
  return fields.length === 1
    ? `; its field ${names} holds text and is not read: --text-field ${fields[0]} (textField) reads it as the text`
    : `; its fields ${names} hold text and are not read: --text-field <name> (textField) reads one as the text`;
}

/** Most unread files a warning names (the rest are counted). */
const UNREAD_FILES_NAMED = 5;

/**
 * The warning for a folder's files that are not notes: `todo.org`, `paper.pdf`, `notes.rst` had been
 * left out without a word, so a search for their words found nothing and nothing said why.
 */
function unreadFilesWarning(root: string, files: readonly string[]): CorpusWarning {
  const named = files.slice(0, UNREAD_FILES_NAMED).map((f) => JSON.stringify(f)).join(', ');
  const more = files.length > UNREAD_FILES_NAMED ? ` and ${files.length - UNREAD_FILES_NAMED} more` : '';
  const message =
    `${root}: ${files.length} ${files.length === 1 ? 'file is' : 'files are'} not read, as a folder of notes holds .txt, .md and .markdown files (each possibly .gz): ${named}${more}; ` +
    'convert them to text or Markdown to index them';
  return { code: 'UNREAD_FILES', message, fields: [], file: root, line: 0, files: [...files] };
}

/** The warning for top-level fields the reader skips: which, where, and where they belong instead. */
function ignoredFieldsWarning(fields: string[], file: string, line: number, read: JsonlFields): CorpusWarning {
  const names = fields.map((f) => JSON.stringify(f)).join(', ');
  const known = [...read.idFields, read.titleField, read.textField, read.metadataField].map((f) => JSON.stringify(f)).join(', ');
  const message =
    `${file} line ${line}: top-level field${fields.length === 1 ? '' : 's'} ${names} ${fields.length === 1 ? 'is' : 'are'} not read and not stored ` +
    `(a corpus line's fields are ${known}); put ${fields.length === 1 ? 'it' : 'them'} under ${JSON.stringify(read.metadataField)} to store ${fields.length === 1 ? 'it' : 'them'} and filter on ${fields.length === 1 ? 'it' : 'them'}, ` +
    `e.g. {${JSON.stringify(read.idFields[0])}: …, ${JSON.stringify(read.textField)}: …, ${JSON.stringify(read.metadataField)}: {${JSON.stringify(fields[0])}: …}}`;
  return { code: 'IGNORED_FIELDS', message, fields, file, line };
}

/**
 * CorpusReaderOptions' keys (util/option-keys.ts): `openCorpus(p, { idfield: 'id' })` had read the
 * default id fields. The options types that extend CorpusReaderOptions spread this table into theirs.
 */
export const CORPUS_READER_OPTION_KEYS = {
  format: true, idField: true, textField: true, titleField: true, metadataField: true, tsvHeader: true, skipInvalid: true, onWarning: true,
} as const satisfies OptionKeys<CorpusReaderOptions>;

/** The CorpusReaderOptions part of a wider options object (a build's, an add's), for openCorpus. */
export function corpusReaderOptionsOf(o: CorpusReaderOptions): CorpusReaderOptions {
  return pickOptions<CorpusReaderOptions>(o, CORPUS_READER_OPTION_KEYS);
}

/**
 * Opens a corpus for streaming. Resolves the input and its format now (so a missing file or an
 * unknown format fails here); documents are read as the result is iterated, and may be iterated
 * again from the start.
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key), FILE_NOT_FOUND and the input's errors.
 */
export async function openCorpus(input: CorpusInput | readonly CorpusDocumentInput[], options: CorpusReaderOptions = {}): Promise<CorpusReader> {
  checkOptionKeys(options, CORPUS_READER_OPTION_KEYS, 'corpus reader option');
  if (isDocumentList(input)) {
    if (options.format !== undefined && options.format !== 'jsonl') throw invalidArgument('format', `"jsonl" or nothing for documents given in memory (they are read as JSONL records)`, options.format);
    if (options.tsvHeader !== undefined) throw invalidArgument('tsvHeader', 'nothing for documents given in memory (they are not TSV)', options.tsvHeader);
    return new StreamingCorpusReader([], 'jsonl', '', { ...options }, input);
  }
  const resolved = await resolveCorpusInput(input, options.format);
  checkFormatOptions(resolved.format, options, input);
  return new StreamingCorpusReader(resolved.files, resolved.format, resolved.root, { ...options }, null, resolved.unreadFiles);
}

/** The CLI flag of each option that applies to one kind of corpus only (CorpusReaderOptions). */
const FORMAT_OPTION_FLAGS = { idField: '--id-field', textField: '--text-field', titleField: '--title-field', metadataField: null, tsvHeader: null } as const;

/**
 * An option that the input's format does not read is refused, as every other flag that cannot
 * apply is: `plait index notes.tsv --text-field body` (or a folder of text files with
 * `--id-field`) had built the index as if the flag were not there.
 * @throws PlaitError INVALID_ARGUMENT naming the option (and its flag), the input and its format.
 */
function checkFormatOptions(format: CorpusFormat, options: CorpusReaderOptions, input: CorpusInput): void {
  const jsonl = format === 'beir' || format === 'jsonl';
  const shape =
    format === 'tsv'
      ? 'read as TSV (id<TAB>text[<TAB>title]: the columns give the fields)'
      : format === 'csv'
        ? 'read as CSV (its header names the columns; every column but the id, title and text is metadata)'
      : format === 'folder'
        ? "read as a folder of text files (a file's path is its id, its content the text)"
        : 'read as JSONL';
  for (const [name, flag] of Object.entries(FORMAT_OPTION_FLAGS) as [keyof typeof FORMAT_OPTION_FLAGS, string | null][]) {
    if (options[name] === undefined) continue;
    // A CSV header names columns: --id-field/--text-field/--title-field pick them (metadata is every other column).
    const applies = name === 'tsvHeader' ? format === 'tsv' : jsonl || (format === 'csv' && name !== 'metadataField');
    if (applies) continue;
    const what = flag === null ? name : `${flag} (${name})`;
    const where = Array.isArray(input) ? `the corpus ${input.join(', ')}` : String(input);
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `${what} applies to ${name === 'tsvHeader' ? 'TSV' : name === 'metadataField' ? 'JSONL' : 'JSONL and CSV'} corpora only: ${where} is ${shape}; leave it out${name === 'tsvHeader' ? '' : ', or give --format jsonl (format) if the files are JSONL'}`,
      name,
      format,
      received: options[name],
    });
  }
}

/** The `file` that errors and reports name for documents given in memory; their `line` is the 1-based position. */
export const DOCUMENTS_SOURCE = 'documents';

/**
 * Whether a corpus input is documents in memory rather than file names: an array holding anything
 * but strings. An array mixing the two is neither.
 * @throws PlaitError INVALID_INPUT for an array of both file names and documents.
 */
export function isDocumentList(input: CorpusInput | readonly CorpusDocumentInput[]): input is readonly CorpusDocumentInput[] {
  if (!Array.isArray(input) || input.every((x) => typeof x === 'string')) return false;
  if (input.some((x) => typeof x === 'string')) {
    throw new PlaitError('INVALID_INPUT', { message: 'expected a list of corpus files or a list of documents ({ docId, text, title?, metadata? }) but received a list holding both' });
  }
  return true;
}

