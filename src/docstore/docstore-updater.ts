/**
 * Applies one living-index write to a document store: a private copy of the current
 * generation's file (`docs.gNNNN.sqlite`, made by the caller) is changed in ONE transaction and
 * closed; the generation's manifest, written after, is what makes it visible. Readers of the old
 * generation keep their own file, so they never see a half-applied write, and a crash before the
 * manifest leaves a copy nobody lists (the next write removes it). That is why the store is
 * copied rather than changed in place with a generation column: a copy costs a sequential file
 * copy per write (measured in bench/RESULTS.md, "Living index"), and in exchange crash ordering is
 * the manifest's alone — there is no second commit point to keep in step with it.
 *
 * Deleting a document removes its `documents` row and its FTS5 entry (so doc-id lookups, BM25 and
 * hybrid forget it at once) but keeps its `passages` rows: pids stay dense and aligned with the
 * codes on disk, and the manifest's tombstone bitmap hides them from late interaction until a
 * compaction renumbers. Doc rowids are never reused (`meta.rowid_span` is the next one).
 */
import { storePidToDoc } from './pid-doc-blob.js';
import type Database from 'better-sqlite3';
import { openDatabase } from './open-database.js';
import { bm25Length } from './bm25-terms.js';
import { docstoreError, guarded } from './sqlite-error.js';
import type { DocumentInput } from './types.js';

type Statement = Database.Statement;

export class DocStoreUpdater {
  private db: Database.Database | null;
  private readonly byDocId: Statement;
  private readonly passagesOfDoc: Statement;
  private readonly docRow: Statement;
  private readonly insertDocument: Statement;
  private readonly insertFts: Statement;
  private readonly deleteFts: Statement;
  private readonly deleteRow: Statement;
  private readonly insertPassage: Statement;
  private readonly addDf: Statement;
  private nextRowid: number;
  private liveDocs: number;
  private nPids: number;
  private dfPassages: number;

  /** Opens a private copy of a document store (made by the caller) and starts the write's transaction. */
  constructor(readonly path: string) {
    const db = guarded('open for update', path, () => openDatabase(path, { fileMustExist: true }));
    this.db = db;
    try {
      db.unsafeMode(true);
      db.pragma('journal_mode = OFF'); // a private copy: the manifest is the commit point, not SQLite's journal
      db.unsafeMode(false);
      db.pragma('synchronous = OFF'); // the caller fsyncs the file once, after close
      const meta = (key: string): number | null => {
        const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as number | string | undefined;
        return v === undefined ? null : Number(v);
      };
      const maxRowid = Number(db.prepare('SELECT max(m) FROM (SELECT max(doc_rowid) AS m FROM documents UNION ALL SELECT max(doc_rowid) FROM passages)').pluck().get() ?? -1);
      this.nextRowid = Math.max(meta('rowid_span') ?? 0, maxRowid + 1);
      this.liveDocs = Number(db.prepare('SELECT count(*) FROM documents').pluck().get());
      this.nPids = Number(db.prepare('SELECT count(*) FROM passages').pluck().get());
      this.dfPassages = meta('token_df_n') ?? this.nPids;
      this.byDocId = db.prepare('SELECT doc_rowid FROM documents WHERE doc_id = ?').pluck();
      this.passagesOfDoc = db.prepare('SELECT pid FROM passages WHERE doc_rowid = ? ORDER BY pid').pluck();
      this.docRow = db.prepare('SELECT title, text FROM documents WHERE doc_rowid = ?').raw();
      this.insertDocument = db.prepare('INSERT INTO documents (doc_rowid, doc_id, title, text, metadata, n_terms) VALUES (?, ?, ?, ?, ?, ?)');
      this.insertFts = db.prepare('INSERT INTO documents_fts (rowid, title, text) VALUES (?, ?, ?)');
      this.deleteFts = db.prepare("INSERT INTO documents_fts (documents_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)");
      this.deleteRow = db.prepare('DELETE FROM documents WHERE doc_rowid = ?');
      this.insertPassage = db.prepare('INSERT INTO passages (pid, doc_rowid, start, "end") VALUES (?, ?, ?, ?)');
      this.addDf = db.prepare('INSERT INTO token_df (token_id, df) VALUES (?, ?) ON CONFLICT(token_id) DO UPDATE SET df = df + excluded.df');
      db.exec('BEGIN');
    } catch (e) {
      db.close();
      this.db = null;
      throw docstoreError('open for update', path, e);
    }
  }

  private open(): Database.Database {
    if (this.db === null) throw docstoreError('update', this.path, new Error('already closed'));
    return this.db;
  }

  get documents(): number {
    return this.liveDocs;
  }

  get passages(): number {
    return this.nPids;
  }

  /** The live document's rowid, or null. */
  rowidOf(docId: string): number | null {
    this.open();
    return (this.byDocId.get(docId) as number | undefined) ?? null;
  }

  /** docIds of the live documents matching a compiled metadata filter (metadata-filter.ts). */
  docIdsMatching(where: string, params: ReadonlyArray<string | number | null>): string[] {
    const db = this.open();
    return guarded('filter documents', this.path, () => db.prepare(`SELECT doc_id FROM documents WHERE ${where}`).pluck().all(...params) as string[]);
  }

  /** Removes a live document (row and FTS5 entry); returns the pids its passages had. */
  deleteDocument(docRowid: number): number[] {
    this.open();
    const row = this.docRow.get(docRowid) as [string, string] | undefined;
    if (row === undefined) return [];
    const pids = this.passagesOfDoc.all(docRowid) as number[];
    guarded('delete a document', this.path, () => {
      this.deleteFts.run(docRowid, row[0], row[1]);
      this.deleteRow.run(docRowid);
    });
    this.liveDocs--;
    return pids;
  }

  /** Stores a new document with its passages ([start, end) offsets, pids from the next free one); returns its rowid and pids. */
  addDocument(doc: DocumentInput, passages: ReadonlyArray<{ start: number; end: number }>): { docRowid: number; pids: number[] } {
    this.open();
    const docRowid = this.nextRowid++;
    const metadata = doc.metadata === undefined || doc.metadata === null ? null : JSON.stringify(doc.metadata);
    const pids: number[] = [];
    guarded('add a document', this.path, () => {
      this.insertDocument.run(docRowid, doc.docId, doc.title, doc.text, metadata, bm25Length(doc.title) + bm25Length(doc.text));
      this.insertFts.run(docRowid, doc.title, doc.text);
      for (const p of passages) {
        this.insertPassage.run(this.nPids, docRowid, p.start, p.end);
        pids.push(this.nPids++);
      }
    });
    this.liveDocs++;
    return { docRowid, pids };
  }

  /** Adds passages' token document frequencies (df[tokenId] over `passages` new passages). */
  addTokenDf(df: Int32Array, passages: number): void {
    this.open();
    guarded('update token frequencies', this.path, () => {
      for (let t = 0; t < df.length; t++) if (df[t]! > 0) this.addDf.run(t, df[t]);
    });
    this.dfPassages += passages;
  }

  /**
   * Renumbers passages for a compaction: `newPid[oldPid]` (−1: dropped). Rows of dropped passages
   * go; the others get their new pid (two steps, so no intermediate pid collides).
   */
  renumberPassages(newPid: Int32Array): void {
    const db = this.open();
    guarded('renumber passages', this.path, () => {
      db.exec('CREATE TEMP TABLE pid_map (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)');
      const ins = db.prepare('INSERT INTO pid_map (old, new) VALUES (?, ?)');
      for (let p = 0; p < newPid.length; p++) if (newPid[p]! >= 0) ins.run(p, newPid[p]);
      db.exec('DELETE FROM passages WHERE pid NOT IN (SELECT old FROM pid_map)');
      db.exec('UPDATE passages SET pid = -1 - (SELECT new FROM pid_map WHERE old = passages.pid)');
      db.exec('UPDATE passages SET pid = -1 - pid');
      db.exec('DROP TABLE pid_map');
    });
    this.nPids = Number(db.prepare('SELECT count(*) FROM passages').pluck().get());
  }

  /** Replaces every token document frequency (a compaction recounts them over the live passages). */
  setTokenDf(df: Int32Array, passages: number): void {
    const db = this.open();
    guarded('set token frequencies', this.path, () => {
      db.exec('DELETE FROM token_df');
      const ins = db.prepare('INSERT INTO token_df (token_id, df) VALUES (?, ?)');
      for (let t = 0; t < df.length; t++) if (df[t]! > 0) ins.run(t, df[t]);
    });
    this.dfPassages = passages;
  }

  /** Writes the counts, commits the write's one transaction and closes the file (the caller fsyncs it). */
  finish(): void {
    const db = this.open();
    guarded('finish update', this.path, () => {
      const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      set.run('documents', this.liveDocs);
      set.run('passages', this.nPids);
      set.run('rowid_span', this.nextRowid);
      set.run('token_df_n', this.dfPassages);
      storePidToDoc(db, this.nPids);
      db.exec('COMMIT');
      db.close();
    });
    this.db = null;
  }

  abort(): void {
    if (this.db === null) return;
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // closing is what matters
    }
    this.db.close();
    this.db = null;
  }
}
