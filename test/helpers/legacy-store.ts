/**
 * A document store as an older plait wrote it (schema 1 or 2: no spelling vocabulary, no in-place
 * commit record), for the tests of what newer readers do with one.
 */
import Database from 'better-sqlite3';

export interface LegacyDoc {
  docId: string;
  title: string;
  text: string;
  /** The document's BM25 term count as that writer counted it. */
  nTerms: number;
}

/** Writes `docs` (one passage each) into a new store at `path` with `schema_version` = `version`. */
export function writeLegacyStore(path: string, version: 1 | 2, docs: readonly LegacyDoc[]): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
    CREATE TABLE documents (doc_rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT, n_terms INTEGER NOT NULL);
    CREATE TABLE passages (pid INTEGER PRIMARY KEY, doc_rowid INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
    CREATE TABLE token_df (token_id INTEGER PRIMARY KEY, df INTEGER NOT NULL);
    CREATE VIRTUAL TABLE documents_fts USING fts5(title, text, content = 'documents', content_rowid = 'doc_rowid', tokenize = 'unicode61 remove_diacritics 2', columnsize = 0);
    CREATE VIRTUAL TABLE documents_terms USING fts5vocab(documents_fts, instance);
  `);
  docs.forEach((d, i) => {
    db.prepare('INSERT INTO documents VALUES (?, ?, ?, ?, NULL, ?)').run(i, d.docId, d.title, d.text, d.nTerms);
    db.prepare('INSERT INTO documents_fts (rowid, title, text) VALUES (?, ?, ?)').run(i, d.title, d.text);
    db.prepare('INSERT INTO passages VALUES (?, ?, 0, ?)').run(i, i, d.text.length);
  });
  for (const [k, v] of [['schema_version', version], ['documents', docs.length], ['passages', docs.length], ['token_df_passages', docs.length]] as const) {
    db.prepare('INSERT INTO meta VALUES (?, ?)').run(k, v);
  }
  db.close();
}
