/**
 * The document store's SQLite schema (file `docs.sqlite` in an index folder).
 *
 *   meta        key → value: schema version, token-df passage count
 *   documents   doc_rowid (dense from 0), doc_id (user string, unique), title, text, metadata (JSON
 *               or NULL), n_terms (BM25 length of title + text)
 *   passages    pid (dense from 0), doc_rowid, start, end: [start, end) UTF-16 offsets into the text
 *               the builder split (passage text is derived, never stored twice)
 *   token_df    token_id → number of passages holding the model token (query-token IDF)
 *   documents_fts  FTS5 over (title, text), external content (no second copy of the text),
 *               unicode61 with Latin diacritics removed and marks kept inside tokens, fed text
 *               whose unspaced scripts (CJK, Thai, ...) are split into character bigrams
 *               (bm25-terms.ts); documents_terms is its fts5vocab `instance` view, read for term
 *               frequencies when scoring BM25.
 */

/**
 * 2: CJK/Thai/... character bigrams and marks as token characters. Version 1 stores (an unspaced
 * run indexed as one term) are still read: their queries are tokenised the version-1 way, so
 * English BM25 is unchanged and unspaced scripts behave as before until the index is rebuilt.
 * Newer versions are refused with INDEX_VERSION.
 */
export const DOCSTORE_SCHEMA_VERSION = 2;
/** Oldest schema the reader still opens. */
export const DOCSTORE_MIN_SCHEMA_VERSION = 1;

export const CREATE_TABLES = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE documents (
  doc_rowid INTEGER PRIMARY KEY,
  doc_id TEXT NOT NULL,
  title TEXT NOT NULL,
  text TEXT NOT NULL,
  metadata TEXT,
  n_terms INTEGER NOT NULL
);
CREATE UNIQUE INDEX documents_doc_id ON documents(doc_id);
CREATE TABLE passages (
  pid INTEGER PRIMARY KEY,
  doc_rowid INTEGER NOT NULL,
  start INTEGER NOT NULL,
  "end" INTEGER NOT NULL
);
CREATE TABLE token_df (token_id INTEGER PRIMARY KEY, df INTEGER NOT NULL);
CREATE VIRTUAL TABLE documents_fts USING fts5(
  title, text,
  content = 'documents', content_rowid = 'doc_rowid',
  tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'",
  columnsize = 0
);
CREATE VIRTUAL TABLE documents_terms USING fts5vocab(documents_fts, instance);
`;

/** Built after the bulk load: cheaper than maintaining them row by row. */
export const CREATE_INDEXES = `
CREATE INDEX passages_doc ON passages(doc_rowid, pid);
`;
