/**
 * Applies one living-index write to the document store, in ONE SQLite transaction.
 *
 * In place (schema 4 stores, `FileEntry.inPlace`): the committed store itself is changed — no
 * copy, so a write costs the pages it changes (bench/RESULTS.md, "Write cost"). The store is in WAL
 * mode, so the writer's transaction (BEGIN IMMEDIATE … COMMIT) never blocks readers, and a reader
 * keeps the snapshot it opened for as long as it serves that generation (docstore-reader.ts pins
 * one read transaction): the server serving generation G while G+1 is written sees G's rows, BM25
 * statistics and token frequencies throughout. `commit(manifest)` stores the generation's whole
 * manifest in the store's commit record (store-commit.ts) inside the same transaction and commits
 * with synchronous = FULL; the index transaction calls it after every other file of the change is
 * durable and before `manifest.json` is renamed, so SQLite's commit is the commit point and a crash
 * anywhere leaves the store at the previous commit or the new one, never between
 * (docs/ARCHITECTURE.md, "The document store, changed in place").
 *
 * By copy (`migrate`): a store from before schema 4 (listed with a size and CRC-32, rollback
 * journal) is copied once, by the first write on it, to a new name; the copy gets schema 4's column
 * and WAL mode and is committed by the manifest's rename, as every write was before. From then on
 * writes change it in place.
 *
 * Deleting a document removes its `documents` row and its FTS5 entry (so doc-id lookups, BM25 and
 * hybrid forget it at once, and FTS5's statistics are a fresh build's) but keeps its `passages`
 * rows: pids stay dense and aligned with the codes on disk, and the manifest's tombstone bitmap
 * hides them from late interaction until a compaction renumbers. Its passages' token ids (schema 4,
 * passage-tokens.ts) are subtracted from the token document frequencies, as an add counts them.
 * Doc rowids are never reused (`meta.rowid_span` is the next one).
 */
import { catalogueOf, type FieldCatalogue, type JsonType } from './metadata-catalogue.js';
import { applyCounts, copyCounts, documentFieldTypes, fieldTypeChanges, findExample, mixedTypeWarnings, readMetadataTypes, scanMetadataTypes, updateMetadataTypes, writeMetadataTypes, type FieldTypeChange, type FieldTypeCounts, type MetadataTypeWarning } from './metadata-types.js';
import { storePidToDocChunks } from './pid-doc-blob.js';
import type Database from 'better-sqlite3';
import { openDatabase } from './open-database.js';
import { bm25Length, ftsText } from './bm25-terms.js';
import { docstoreError, guarded } from './sqlite-error.js';
import { DOCSTORE_SCHEMA_VERSION } from './schema.js';
import { COMMIT_RECORD_KEY, writeCommitRecord } from './store-commit.js';
import { decodeTokenIds, encodeTokenIds } from './passage-tokens.js';
import type { DocumentInput, StoredContent } from './types.js';

type Statement = Database.Statement;

/** 'in-place': the committed schema-4 store; 'migrate': a private copy of an older store, upgraded. */
export type UpdaterMode = 'in-place' | 'migrate';

/** One passage to store: [start, end) offsets and, when known, its distinct model token ids (sorted). */
export interface PassageInput {
  start: number;
  end: number;
  tokenIds?: Int32Array;
}

export class DocStoreUpdater {
  private db: Database.Database | null;
  private readonly byDocId: Statement;
  private readonly passagesOfDoc: Statement;
  private readonly docRow: Statement;
  private readonly contentOf: Statement;
  private readonly insertDocument: Statement;
  private readonly insertFts: Statement;
  private readonly deleteFts: Statement;
  private readonly deleteRow: Statement;
  private readonly insertPassage: Statement;
  private readonly fts: (text: string) => string;
  private readonly schemaVersion: number;
  private nextRowid: number;
  private liveDocs: number;
  private nPids: number;
  private dfPassages: number;
  /** Passages deleted whose token ids were never stored (before schema 4): their df stays counted. */
  private unsubtracted: number;
  /** The first pid whose document this write changed (added or renumbered); Infinity when none. */
  private firstChangedPid = Number.POSITIVE_INFINITY;
  /** Token df changes of this write: token id → +adds − deletes. */
  private readonly dfDelta = new Map<number, number>();
  /** The metadata type counts before this write (metadata-types.ts), from the table or counted once. */
  private readonly typesBefore: FieldTypeCounts;
  /** Whether the table must be written whole (absent, or left stale by an older plait) rather than updated. */
  private readonly typesRecount: boolean;
  /** Metadata type changes of this write: `field\u0000type` → +adds − deletes, and the first docId added with each. */
  private readonly typesDelta = new Map<string, number>();
  private readonly typesExample = new Map<string, string>();

  /**
   * Opens the store and starts the write's transaction: in place (WAL, BEGIN IMMEDIATE: readers go
   * on reading their snapshots), or on a private copy being migrated to schema 4.
   * @throws PlaitError DOCSTORE_FAILED (SQLite), naming the file.
   */
  constructor(
    readonly path: string,
    readonly mode: UpdaterMode,
  ) {
    const db = guarded('open for update', path, () => openDatabase(path, { fileMustExist: true }));
    this.db = db;
    try {
      if (mode === 'in-place') {
        const journal = String(db.pragma('journal_mode', { simple: true }));
        if (journal !== 'wal') throw new Error(`an in-place store must be in WAL mode, not ${journal}`);
        db.pragma('synchronous = FULL'); // COMMIT is the commit point: durable when it returns
      } else {
        db.unsafeMode(true);
        db.pragma('journal_mode = OFF'); // a private copy: the manifest's rename is this write's commit point
        db.unsafeMode(false);
        db.pragma('synchronous = OFF'); // the caller fsyncs the file once, after close
      }
      db.exec(mode === 'in-place' ? 'BEGIN IMMEDIATE' : 'BEGIN');
      const columns = (db.pragma('table_info(passages)') as Array<{ name: string }>).map((c) => c.name);
      if (!columns.includes('token_ids')) {
        if (mode === 'in-place') throw new Error('a schema-4 store lacks passages.token_ids');
        db.exec('ALTER TABLE passages ADD COLUMN token_ids BLOB');
      }
      const meta = (key: string): number | null => {
        const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as number | string | undefined;
        return v === undefined ? null : Number(v);
      };
      const maxRowid = Number(db.prepare('SELECT max(m) FROM (SELECT max(doc_rowid) AS m FROM documents UNION ALL SELECT max(doc_rowid) FROM passages)').pluck().get() ?? -1);
      this.nextRowid = Math.max(meta('rowid_span') ?? 0, maxRowid + 1);
      this.liveDocs = Number(db.prepare('SELECT count(*) FROM documents').pluck().get());
      this.nPids = Number(db.prepare('SELECT count(*) FROM passages').pluck().get());
      this.dfPassages = meta('token_df_n') ?? this.nPids;
      this.unsubtracted = meta('token_df_unsubtracted') ?? 0;
      // Schema 1 stores indexed raw text; later ones CJK/Thai bigrams (ftsText): a delete must hand
      // FTS5 exactly the text it indexed.
      this.schemaVersion = meta('schema_version') ?? 1;
      this.fts = this.schemaVersion >= 2 ? ftsText : (t: string): string => t;
      this.byDocId = db.prepare('SELECT doc_rowid FROM documents WHERE doc_id = ?').pluck();
      this.passagesOfDoc = db.prepare('SELECT pid, token_ids FROM passages WHERE doc_rowid = ? ORDER BY pid').raw();
      this.docRow = db.prepare('SELECT title, text, metadata FROM documents WHERE doc_rowid = ?').raw();
      this.contentOf = db.prepare('SELECT title, text, metadata FROM documents WHERE doc_id = ?').raw();
      this.insertDocument = db.prepare('INSERT INTO documents (doc_rowid, doc_id, title, text, metadata, n_terms) VALUES (?, ?, ?, ?, ?, ?)');
      this.insertFts = db.prepare('INSERT INTO documents_fts (rowid, title, text) VALUES (?, ?, ?)');
      this.deleteFts = db.prepare("INSERT INTO documents_fts (documents_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)");
      this.deleteRow = db.prepare('DELETE FROM documents WHERE doc_rowid = ?');
      this.insertPassage = db.prepare('INSERT INTO passages (pid, doc_rowid, start, "end", token_ids) VALUES (?, ?, ?, ?, ?)');
      // A store from before the metadata_types table (or one an older plait wrote since) is counted
      // once here, and the table written whole with this write (metadata-types.ts).
      const current = readMetadataTypes(db);
      this.typesRecount = current === null;
      this.typesBefore = current ?? scanMetadataTypes(db);
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
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

  /**
   * A live document's stored title, text and metadata (its JSON string, or null) by docId, as this
   * write's transaction sees them; null when no live document has the id. What an upsert compares
   * an added document with under the write lock (mutate/sync-plan.ts sameContent).
   */
  storedContent(docId: string): StoredContent | null {
    this.open();
    const row = guarded('read a document', this.path, () => this.contentOf.get(docId)) as [string, string, string | null] | undefined;
    return row === undefined ? null : { title: row[0], text: row[1], metadata: row[2] };
  }

  /** docIds of the live documents matching a compiled metadata filter (metadata-filter.ts). */
  docIdsMatching(where: string, params: ReadonlyArray<string | number | null>): string[] {
    const db = this.open();
    return guarded('filter documents', this.path, () => db.prepare(`SELECT doc_id FROM documents WHERE ${where}`).pluck().all(...params) as string[]);
  }

  /**
   * The metadata fields the live documents hold (metadata-catalogue.ts), for a delete whose filter
   * matched nothing: why, as a search says it (UpdateResult.filterWarnings).
   * @throws PlaitError DOCSTORE_FAILED
   */
  fieldCatalogue(): FieldCatalogue {
    this.open();
    return catalogueOf(this.typesBefore);
  }

  /**
   * The metadata type counts of the live documents before this write (metadata-types.ts): what a
   * delete's filter compared against (UpdateResult.filterWarnings' FILTER_TYPE_MIXED).
   * @throws PlaitError DOCSTORE_FAILED
   */
  fieldTypesBefore(): FieldTypeCounts {
    this.open();
    return copyCounts(this.typesBefore);
  }

  /** The metadata type counts of the live documents as this write leaves them (metadata-types.ts). */
  metadataTypes(): FieldTypeCounts {
    const after = copyCounts(this.typesBefore);
    applyCounts(after, this.typesDelta);
    return after;
  }

  /**
   * METADATA_TYPE_MIXED for each field this write left holding several scalar JSON types, one of
   * them new to it; examples are this write's documents, else found in the store.
   * @throws PlaitError DOCSTORE_FAILED
   */
  typeWarnings(): MetadataTypeWarning[] {
    const db = this.open();
    return guarded('read the metadata types', this.path, () =>
      mixedTypeWarnings(this.typesBefore, this.metadataTypes(), (field: string, type: JsonType) => this.typesExample.get(`${field}\u0000${type}`) ?? findExample(db, field, type)),
    );
  }

  /**
   * The store's counts of each field this write's added documents hold, before and after it, with
   * this write's own document as the example of each type it brought (no store search: a type it
   * did not bring gets its example only when the cluster's sum warns, replica-wait.ts), for a
   * cluster writer's sum over the shards (metadata-types.ts clusterTypeWarnings). Empty when the
   * write added no metadata.
   */
  touchedFieldTypes(): FieldTypeChange[] {
    this.open();
    const fields = [...this.typesExample.keys()].map((k) => k.slice(0, k.lastIndexOf('\u0000')));
    return fieldTypeChanges(fields, this.typesBefore, this.metadataTypes(), (field: string, type: JsonType) => {
      const own = this.typesExample.get(`${field}\u0000${type}`);
      return own === undefined ? undefined : { id: own, added: true };
    });
  }

  private countTypes(docId: string, metadata: string | null, by: 1 | -1): void {
    for (const k of documentFieldTypes(metadata)) {
      this.typesDelta.set(k, (this.typesDelta.get(k) ?? 0) + by);
      if (by === 1 && !this.typesExample.has(k)) this.typesExample.set(k, docId);
    }
  }

  /** Every live docId (a sync deletes those its input lacks, found under the write lock). */
  liveDocIds(): string[] {
    const db = this.open();
    return guarded('list docIds', this.path, () => db.prepare('SELECT doc_id FROM documents ORDER BY doc_rowid').pluck().all() as string[]);
  }

  private countDf(ids: Int32Array, by: 1 | -1): void {
    for (let i = 0; i < ids.length; i++) this.dfDelta.set(ids[i]!, (this.dfDelta.get(ids[i]!) ?? 0) + by);
    this.dfPassages += by;
  }

  /** Removes a live document (row and FTS5 entry) and subtracts its passages' token ids; returns the pids its passages had. */
  deleteDocument(docRowid: number): number[] {
    this.open();
    const row = this.docRow.get(docRowid) as [string, string, string | null] | undefined;
    if (row === undefined) return [];
    this.countTypes('', row[2], -1);
    const passages = this.passagesOfDoc.all(docRowid) as Array<[number, Uint8Array | null]>;
    guarded('delete a document', this.path, () => {
      this.deleteFts.run(docRowid, this.fts(row[0]), this.fts(row[1]));
      this.deleteRow.run(docRowid);
    });
    for (const [, ids] of passages) {
      if (ids === null) this.unsubtracted++;
      else this.countDf(decodeTokenIds(ids), -1);
    }
    this.liveDocs--;
    return passages.map(([pid]) => pid);
  }

  /** Stores a new document with its passages (pids from the next free one) and counts their token ids; returns its rowid and pids. */
  addDocument(doc: DocumentInput, passages: readonly PassageInput[]): { docRowid: number; pids: number[] } {
    this.open();
    const docRowid = this.nextRowid++;
    const metadata = doc.metadata === undefined || doc.metadata === null ? null : JSON.stringify(doc.metadata);
    const pids: number[] = [];
    guarded('add a document', this.path, () => {
      this.insertDocument.run(docRowid, doc.docId, doc.title, doc.text, metadata, bm25Length(doc.title) + bm25Length(doc.text));
      this.insertFts.run(docRowid, this.fts(doc.title), this.fts(doc.text));
      this.firstChangedPid = Math.min(this.firstChangedPid, this.nPids);
      for (const p of passages) {
        this.insertPassage.run(this.nPids, docRowid, p.start, p.end, p.tokenIds === undefined ? null : encodeTokenIds(p.tokenIds));
        pids.push(this.nPids++);
      }
    });
    this.countTypes(doc.docId, metadata, 1);
    for (const p of passages) {
      if (p.tokenIds !== undefined) this.countDf(p.tokenIds, 1);
      else this.dfPassages++; // counted in N as the build counted passages; its tokens are unknown
    }
    this.liveDocs++;
    return { docRowid, pids };
  }

  /**
   * Renumbers passages for a compaction: `newPid[oldPid]` (−1: dropped). Rows of dropped passages
   * go (their token ids were subtracted when their document was deleted); the others get their new
   * pid (two steps, so no intermediate pid collides).
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
    this.firstChangedPid = 0;
  }

  /** Writes the counts, token df changes and pid → doc map inside the open transaction. */
  private writeCounts(db: Database.Database): void {
    const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    set.run('documents', this.liveDocs);
    set.run('passages', this.nPids);
    set.run('rowid_span', this.nextRowid);
    set.run('token_df_n', this.dfPassages);
    set.run('token_df_unsubtracted', this.unsubtracted);
    // Versions 3 and 4 tokenise BM25 alike, so a migrated 3 becomes a 4; a 1 or 2 keeps its number
    // (its BM25 terms are its own) and gains the token-id column and in-place writes all the same.
    if (this.schemaVersion === DOCSTORE_SCHEMA_VERSION - 1) set.run('schema_version', DOCSTORE_SCHEMA_VERSION);
    const add = db.prepare('INSERT INTO token_df (token_id, df) VALUES (?, ?) ON CONFLICT(token_id) DO UPDATE SET df = df + excluded.df');
    for (const [t, d] of this.dfDelta) if (d !== 0) add.run(t, d);
    db.exec('DELETE FROM token_df WHERE df <= 0');
    // The metadata type counts, stamped with the counts just written (metadata-types.ts).
    const state = `${this.liveDocs}:${this.nextRowid}`;
    if (this.typesRecount) writeMetadataTypes(db, this.metadataTypes(), state);
    else updateMetadataTypes(db, this.typesDelta, state);
    // The pid → doc map: only the chunks of new pids (a delete changes none; a compaction all).
    if (this.firstChangedPid < this.nPids || this.mode === 'migrate') storePidToDocChunks(db, this.mode === 'migrate' ? 0 : this.firstChangedPid, this.nPids);
  }

  /**
   * In place: records `manifestJson` (the generation's whole manifest) as the store's commit
   * record, commits durably and closes. The index transaction calls this at its commit point.
   */
  commit(manifestJson: string): void {
    const db = this.open();
    if (this.mode !== 'in-place') throw docstoreError('commit', this.path, new Error('a migrating copy is finished with finishCopy()'));
    guarded('commit update', this.path, () => {
      this.writeCounts(db);
      writeCommitRecord(db, manifestJson);
      db.exec('COMMIT');
      db.close();
    });
    this.db = null;
  }

  /**
   * A migrating copy: writes the counts, commits, switches the file to WAL mode (schema 4 stores
   * are changed in place from now on) and closes it (the caller fsyncs it; the manifest's rename
   * commits it).
   */
  finishCopy(): void {
    const db = this.open();
    guarded('finish update', this.path, () => {
      this.writeCounts(db);
      db.prepare('DELETE FROM meta WHERE key = ?').run(COMMIT_RECORD_KEY);
      db.exec('COMMIT');
      db.pragma('journal_mode = WAL');
      db.close();
    });
    this.db = null;
  }

  /** Rolls the transaction back and closes (nothing of the write stays in the store). */
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
