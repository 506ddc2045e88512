/**
 * The document store's SQLite schema (file `docs.sqlite` in an index folder).
 *
 *   meta        key → value: schema version, token-df passage count
 *   documents   doc_rowid (dense from 0), doc_id (user string, unique), title, text, metadata (JSON
 *               or NULL), n_terms (BM25 length of title + text)
 *   passages    pid (dense from 0), doc_rowid, start, end: [start, end) UTF-16 offsets into the text
 *               the builder split (passage text is derived, never stored twice); token_ids (schema
 *               4): the passage's distinct model token ids, LEB128 gaps, NULL when not known
 *   token_df    token_id → number of passages holding the model token (query-token IDF)
 *   documents_fts  FTS5 over (title, text), external content (no second copy of the text),
 *               unicode61 with Latin diacritics removed and marks kept inside tokens, wrapped in
 *               FTS5's `porter` stemmer (schema 3, unless built with stemmer 'none'), fed text
 *               whose unspaced scripts (CJK, Thai, ...) are split into character bigrams
 *               (bm25-terms.ts); documents_terms is its fts5vocab `instance` view, read for term
 *               frequencies when scoring BM25.
 *   documents_words  (schema 3) FTS5 over the same columns, unstemmed and `detail=none` (terms and
 *               the documents holding them, no positions): the index's own word vocabulary, read by
 *               spelling correction (rewrite/spelling.ts). Kept in step with `documents` by
 *               triggers, so every writer (build, living-index writes) maintains it.
 *   metadata_types  field, type → docs: live documents holding a value of that JSON type at that
 *               metadata path (metadata-types.ts), written by the builder and kept by each write's
 *               transaction; optional (a store without it, or stale per `meta.metadata_types_state`,
 *               is counted by one pass and gains it at its next write), so no schema version change.
 */

/**
 * 4: `passages.token_ids` (each passage's distinct model token ids, passage-tokens.ts: a delete
 * subtracts them from `token_df`), the commit record `meta.commit_manifest` (store-commit.ts), and
 * living-index writes change the store in place (WAL mode) instead of copying it. Stores of
 * versions 1–3 are read as before; the first write on one copies it once into a schema-4 store
 * (docstore-updater.ts, `migrate`), after which writes are in place. Passages stored before
 * schema 4 have no token ids: deleting them leaves their token frequencies counted
 * (`meta.token_df_unsubtracted`), as every delete did before; a rebuild makes them exact.
 * 3: BM25 terms stemmed by FTS5's porter tokenizer, queries tokenised by SQLite itself (the same
 * tokenizer, through a temporary FTS5 table: fts-query-tokenizer.ts), and the unstemmed word
 * vocabulary `documents_words`. 2: CJK/Thai/... character bigrams and marks as token characters.
 * Version 1 and 2 stores are still read: their queries are tokenised their own way (bm25-terms.ts),
 * so their BM25 is unchanged until the index is rebuilt (`plait index` again) to gain stemming.
 * Newer versions are refused with INDEX_VERSION.
 */
export const DOCSTORE_SCHEMA_VERSION = 4;
/** Oldest schema the reader still opens. */
export const DOCSTORE_MIN_SCHEMA_VERSION = 1;

/**
 * The FTS5 tokenizer of BM25 terms without stemming: case folded, Latin diacritics removed, letters,
 * numbers, private use and marks as token characters (bm25-terms.ts mirrors it for old stores).
 */
export const UNSTEMMED_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'";

/**
 * BM25's stemmer, chosen at build time and recorded in `meta.bm25_stemmer`:
 * - 'porter' (default): FTS5's built-in Porter stemmer (M. F. Porter, "An algorithm for suffix
 *   stripping", 1980) over the unicode61 tokens — English. "rises", "rising" and "rise" share the
 *   term "rise". Measured in bench/RESULTS.md ("Query rewriting").
 * - 'none': terms as unicode61 gives them; for corpora not in English (Porter's rules would strip
 *   other languages' endings wrongly).
 */
export type Bm25Stemmer = 'porter' | 'none';
export const BM25_STEMMERS: readonly Bm25Stemmer[] = ['porter', 'none'];

/** The FTS5 `tokenize` argument of a stemmer. */
export function ftsTokenizer(stemmer: Bm25Stemmer): string {
  return stemmer === 'porter' ? `porter ${UNSTEMMED_TOKENIZER}` : UNSTEMMED_TOKENIZER;
}

/** The schema of a new store (version DOCSTORE_SCHEMA_VERSION) with the given stemmer. */
export function createTables(stemmer: Bm25Stemmer): string {
  return baseTables(ftsTokenizer(stemmer)) + CREATE_WORDS;
}

/**
 * The unstemmed word vocabulary (schema 3): FTS5 with `detail=none` stores each term's documents
 * only, about a third of a full index; triggers keep it in step with `documents` whoever writes.
 */
const CREATE_WORDS = `
CREATE VIRTUAL TABLE documents_words USING fts5(
  title, text,
  content = 'documents', content_rowid = 'doc_rowid',
  tokenize = "${UNSTEMMED_TOKENIZER}",
  detail = none, columnsize = 0
);
CREATE TRIGGER documents_words_ai AFTER INSERT ON documents BEGIN
  INSERT INTO documents_words (rowid, title, text) VALUES (new.doc_rowid, new.title, new.text);
END;
CREATE TRIGGER documents_words_ad AFTER DELETE ON documents BEGIN
  INSERT INTO documents_words (documents_words, rowid, title, text) VALUES ('delete', old.doc_rowid, old.title, old.text);
END;
CREATE TRIGGER documents_words_au AFTER UPDATE OF title, text ON documents BEGIN
  INSERT INTO documents_words (documents_words, rowid, title, text) VALUES ('delete', old.doc_rowid, old.title, old.text);
  INSERT INTO documents_words (rowid, title, text) VALUES (new.doc_rowid, new.title, new.text);
END;
`;

/** The tables every schema version has, with BM25's FTS5 tokenizer. */
function baseTables(tokenize: string): string {
  return `
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
  "end" INTEGER NOT NULL,
  token_ids BLOB
);
CREATE TABLE token_df (token_id INTEGER PRIMARY KEY, df INTEGER NOT NULL);
CREATE VIRTUAL TABLE documents_fts USING fts5(
  title, text,
  content = 'documents', content_rowid = 'doc_rowid',
  tokenize = "${tokenize}",
  columnsize = 0
);
CREATE VIRTUAL TABLE documents_terms USING fts5vocab(documents_fts, instance);
`;
}

/** Built after the bulk load: cheaper than maintaining them row by row. */
export const CREATE_INDEXES = `
CREATE INDEX passages_doc ON passages(doc_rowid, pid);
`;
