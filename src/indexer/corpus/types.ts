/**
 * What the corpus readers produce and accept. A corpus is read as a stream of documents, each with
 * the user's string id (`docId`), a title (possibly empty), the text, optional metadata and the
 * place it came from (for error messages and build reports).
 */

export interface CorpusDocument {
  docId: string;
  title: string;
  text: string;
  metadata?: Record<string, unknown>;
  /** File and 1-based line the document was read from (line 1 for whole-file documents). */
  source: { file: string; line: number };
}

/**
 * Input formats. `beir` is JSONL with `_id`, `title`, `text`, `metadata`; `jsonl` is JSONL with
 * configurable fields; `tsv` is `id<TAB>text[<TAB>title]`; `csv` is RFC 4180 CSV with a header row
 * (id, `title`, `text`, other columns metadata, typed as `year:number`: csv-header.ts); `folder` is a
 * tree of .txt/.md files.
 */
export type CorpusFormat = 'beir' | 'jsonl' | 'tsv' | 'csv' | 'folder';

/** Every CorpusFormat, in the order messages and `--format`'s choices list them. */
export const CORPUS_FORMATS: readonly CorpusFormat[] = ['beir', 'jsonl', 'tsv', 'csv', 'folder'];

/** Where a corpus comes from: a file, a folder, a glob over file names (`dir/corpus.part-*.jsonl`), or a list of files. */
export type CorpusInput = string | readonly string[];

/**
 * A document held in memory, as `index.add` and `buildIndex([{ docId, text }, …], options)` take it.
 * `buildIndex` reads the list by the rules of a JSONL corpus line (format `jsonl`): the id from
 * `docId` (or `_id`, `id`, `docid`, `doc_id`; `idField` picks one), `text`, `title` (optional) and
 * `metadata` (`textField`, `titleField`, `metadataField` rename them; another field is warned of
 * and not stored); errors and skip reports name a document by its position as `line` (1-based) in
 * `documents`. `index.add` (and a cluster's) takes these four keys only: any other is
 * INVALID_ARGUMENT naming it (`_id`: "did you mean docId"; `year`: put it under metadata).
 */
export interface CorpusDocumentInput {
  /**
   * A non-empty string (spaces inside are fine; no control character or line break, no white
   * space at an end: INVALID_ID, indexer/corpus/document-id.ts), or an integer, stored as its
   * decimal text (`5` is the id "5", as a JSONL line's `"_id": 5`; a fraction or an integer past
   * 2^53 is refused: give it as a string).
   */
  docId: string | number;
  title?: string | undefined;
  text: string;
  metadata?: Record<string, unknown> | undefined;
}

export interface CorpusReaderOptions {
  /** Override format detection (by extension, then by content). */
  format?: CorpusFormat;
  /** JSONL field (or CSV column) holding the id; default `_id` for BEIR, then `id`, `docid`, `doc_id`, `docId` for generic JSONL and CSV. */
  idField?: string;
  /** JSONL field (or CSV column) holding the text; default `text`. */
  textField?: string;
  /** JSONL field (or CSV column) holding the title; default `title` (absent → empty title). */
  titleField?: string;
  /** JSONL field holding the metadata object; default `metadata`. */
  metadataField?: string;
  /** TSV: whether the first line is a header (a CSV file always has one); default: detected (first id cell is `id`, `_id`, `docid`, `doc_id` or `pid`). */
  tsvHeader?: boolean;
  /** Skip bad documents (counting them by kind in the report) instead of throwing on the first one. */
  skipInvalid?: boolean;
  /**
   * Called while reading when a JSONL line has top-level fields the reader does not read (anything
   * but the id, text, title and metadata fields), with the names not reported before in this pass:
   * each name once per pass over the corpus, first at the line it appeared on. Such fields are not
   * stored (metadata must be under the metadata field); `report.ignoredFields` counts them.
   * Also called (code CSV_UNTYPED_COLUMN) once per pass and CSV column whose header gives no type and
   * whose first value looks like a number or a boolean: it is stored as text, so a filter with a
   * number (`{"year": 1962}`) would match nothing.
   */
  onWarning?: (warning: CorpusWarning) => void;
}

/** A top-level JSONL field the reader skipped: its name, how many documents had it, and where it first appeared. */
export interface IgnoredField {
  name: string;
  documents: number;
  first: { file: string; line: number };
}

/** A warning from the corpus reader (CorpusReaderOptions.onWarning). */
export interface CorpusWarning {
  /**
   * IGNORED_FIELDS: JSONL fields not read; CSV_UNTYPED_COLUMN: a CSV column stored as text whose value
   * looks like a number or boolean; UNREAD_FILES: files of a folder of notes that are not notes plait
   * reads (not .txt, .md or .markdown; hidden entries aside), named in `files`, with `line` 0.
   */
  code: 'IGNORED_FIELDS' | 'CSV_UNTYPED_COLUMN' | 'UNREAD_FILES';
  /** Names the fields, the line, and what to do: "…put them under "metadata" to store and filter on them". */
  message: string;
  /** The field (or column) names new at this line. */
  fields: string[];
  file: string;
  line: number;
  /** UNREAD_FILES: the files left out, relative to the folder, in the folder's order. */
  files?: string[];
}

/** Counts of documents read and skipped, by kind; complete once iteration ends. */
export interface CorpusReadReport {
  read: number;
  skipped: {
    /** JSONL lines that do not parse (MALFORMED_JSONL). */
    malformed: number;
    /** TSV lines without 2 or 3 tab-separated columns (MALFORMED_TSV). */
    malformedTsv: number;
    /** CSV rows with another number of fields than the header, or a typed column's cell that is not of its type (MALFORMED_CSV). */
    malformedCsv: number;
    /** Markdown files whose YAML front matter does not parse or is not a mapping (MALFORMED_FRONT_MATTER). */
    malformedFrontMatter: number;
    missingId: number;
    duplicateId: number;
    emptyText: number;
    notUtf8: number;
    /**
     * Ids holding a control character or line break, or white space at an end (document-id.ts;
     * error code INVALID_ID). Spaces inside an id are fine. (Indexes built before this rule may
     * record `idWhitespace`: ids with any white space, then refused.)
     */
    invalidId: number;
  };
  /** JSONL top-level fields that were not read (not the id, text, title or metadata field), in order of first appearance. */
  ignoredFields: IgnoredField[];
  /**
   * The first skipped documents (`skipInvalid`), at most CORPUS_REPORT_DEFAULTS.firstSkipped, in
   * input order: each one's error code, file, line and message — the reasons an error that names
   * the skipped count quotes (EMPTY_CORPUS when every line was skipped).
   */
  firstSkipped: SkippedDocument[];
  /** A folder of notes: its files that are not notes plait reads (UNREAD_FILES), relative to the folder; absent when none. */
  unreadFiles?: string[];
}

/** One document `skipInvalid` skipped: the error it would have thrown, and where. */
export interface SkippedDocument {
  code: string;
  file: string;
  line: number;
  message: string;
}

/** An async stream of documents whose `report` fills in as it is consumed. */
export interface CorpusReader extends AsyncIterable<CorpusDocument> {
  readonly files: readonly string[];
  readonly format: CorpusFormat;
  readonly report: CorpusReadReport;
}
