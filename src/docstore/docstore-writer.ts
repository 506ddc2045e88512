/**
 * Writes a document store in one pass, as the index builder streams the corpus: documents, their
 * passages, then the token document frequencies, then `close()`. Built for bulk loading into a
 * fresh file in a temporary folder (the builder renames the folder into place): no journal, no
 * fsync, big transactions; a crash leaves a file nobody will open. `close()` leaves the store in
 * the form living-index writes change in place (WAL mode; the manifest lists it `inPlace`), so
 * the first write does not copy it (docstore-updater.ts).
 */

import { storePidToDoc } from './pid-doc-blob.js';
import type Database from 'better-sqlite3';
import { openDatabase } from './open-database.js';
import { existsSync } from 'node:fs';
import { DOCSTORE_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { bm25Length, ftsText } from './bm25-terms.js';
import { distinctTokenIds, encodeTokenIds } from './passage-tokens.js';
import { CREATE_INDEXES, DOCSTORE_SCHEMA_VERSION, createTables, type Bm25Stemmer } from './schema.js';
import { docstoreError, guarded } from './sqlite-error.js';
import type { DocumentInput } from './types.js';
import { applyCounts, documentFieldTypes, mixedTypeWarnings, writeMetadataTypes, type FieldTypeCounts, type MetadataTypeWarning } from './metadata-types.js';
import type { JsonType } from './metadata-catalogue.js';

type Statement = Database.Statement;

export interface DocStoreWriterOptions {
  /** BM25's stemmer (schema.ts): 'porter' (default, DOCSTORE_DEFAULTS.bm25Stemmer) for English, 'none' otherwise. */
  stemmer?: Bm25Stemmer;
}
const DOCSTORE_WRITER_OPTION_KEYS = { stemmer: true } as const satisfies OptionKeys<DocStoreWriterOptions>;

export class DocStoreWriter {
  readonly path: string;
  private db: Database.Database | null;
  private readonly insertDocument: Statement;
  private readonly insertFts: Statement;
  private readonly insertPassage: Statement;
  private nDocs = 0;
  private nPids = 0;
  private pending = 0;
  /** Accumulated by addTokenDf; replaced by setTokenDf. */
  private df: Int32Array = new Int32Array(0);
  private dfPassages = 0;
  private dfSet = false;
  private setTokens: Statement | null = null;
  /** Metadata type counts (metadata-types.ts): `field\u0000type` → documents, and the first docId of each. */
  private readonly types = new Map<string, number>();
  private readonly typeExample = new Map<string, string>();

  readonly stemmer: Bm25Stemmer;

  constructor(path: string, options: DocStoreWriterOptions = {}) {
    checkOptionKeys(options, DOCSTORE_WRITER_OPTION_KEYS, 'DocStoreWriter option');
    this.path = path;
    this.stemmer = options.stemmer ?? DOCSTORE_DEFAULTS.bm25Stemmer;
    if (this.stemmer !== 'porter' && this.stemmer !== 'none') throw invalidArgument('stemmer', '"porter" or "none"', this.stemmer);
    if (existsSync(path)) throw new PlaitError('DOCSTORE_FAILED', { message: `refusing to overwrite existing ${path}`, path });
    const db = guarded('create', path, () => openDatabase(path));
    this.db = db;
    try {
      // better-sqlite3 opens connections in defensive mode, which silently refuses journal_mode=OFF.
      db.unsafeMode(true);
      db.pragma('journal_mode = OFF');
      db.unsafeMode(false);
      db.pragma('synchronous = OFF');
      db.pragma(`cache_size = -${DOCSTORE_DEFAULTS.buildCacheKiB}`);
      db.pragma('temp_store = MEMORY');
      db.exec(createTables(this.stemmer));
      this.insertDocument = db.prepare('INSERT INTO documents (doc_rowid, doc_id, title, text, metadata, n_terms) VALUES (?, ?, ?, ?, ?, ?)');
      this.insertFts = db.prepare('INSERT INTO documents_fts (rowid, title, text) VALUES (?, ?, ?)');
      this.insertPassage = db.prepare('INSERT INTO passages (pid, doc_rowid, start, "end") VALUES (?, ?, ?, ?)');
      db.exec('BEGIN');
    } catch (e) {
      db.close();
      this.db = null;
      throw docstoreError('create', path, e);
    }
  }

  get nDocuments(): number {
    return this.nDocs;
  }

  get nPassages(): number {
    return this.nPids;
  }

  private open(): Database.Database {
    if (this.db === null) throw new PlaitError('DOCSTORE_FAILED', { message: `${this.path} is already closed`, path: this.path });
    return this.db;
  }

  private tick(db: Database.Database): void {
    if (++this.pending >= DOCSTORE_DEFAULTS.commitEvery) {
      db.exec('COMMIT; BEGIN');
      this.pending = 0;
    }
  }

  /** Stores a document; returns its docRowid (0, 1, 2, ... in insertion order). */
  addDocument(doc: DocumentInput): number {
    const db = this.open();
    const docRowid = this.nDocs;
    const metadata = doc.metadata === undefined || doc.metadata === null ? null : JSON.stringify(doc.metadata);
    try {
      this.insertDocument.run(docRowid, doc.docId, doc.title, doc.text, metadata, bm25Length(doc.title) + bm25Length(doc.text));
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new PlaitError('DOCSTORE_FAILED', { message: `duplicate docId "${doc.docId}" in ${this.path}`, path: this.path, docId: doc.docId }, { cause: e });
      }
      throw docstoreError('add a document', this.path, e);
    }
    guarded('index a document', this.path, () => this.insertFts.run(docRowid, ftsText(doc.title), ftsText(doc.text)));
    for (const k of documentFieldTypes(metadata)) {
      this.types.set(k, (this.types.get(k) ?? 0) + 1);
      if (!this.typeExample.has(k)) this.typeExample.set(k, doc.docId);
    }
    this.nDocs++;
    this.tick(db);
    return docRowid;
  }

  /** Stores a passage of a document as [start, end) offsets; returns its pid (dense from 0). */
  addPassage(docRowid: number, start: number, end: number): number {
    const db = this.open();
    if (!Number.isInteger(docRowid) || docRowid < 0 || docRowid >= this.nDocs) throw invalidArgument('docRowid', `a stored document rowid in [0, ${this.nDocs})`, docRowid);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) throw invalidArgument('start/end', 'integers with 0 ≤ start ≤ end', `${start}..${end}`);
    const pid = this.nPids;
    guarded('add a passage', this.path, () => this.insertPassage.run(pid, docRowid, start, end));
    this.nPids++;
    this.tick(db);
    return pid;
  }

  /**
   * Stores a passage's distinct model token ids in [0, vocabSize) (schema 4, passage-tokens.ts), so
   * that a living-index delete subtracts them from token df as the build counted them.
   */
  setPassageTokens(pid: number, tokenIds: Int32Array, vocabSize: number): void {
    const db = this.open();
    if (vocabSize <= 0) return;
    this.setTokens ??= db.prepare('UPDATE passages SET token_ids = ? WHERE pid = ?');
    const stmt = this.setTokens;
    guarded('store passage tokens', this.path, () => stmt.run(encodeTokenIds(distinctTokenIds(tokenIds, vocabSize)), pid));
    this.tick(db);
  }

  /** Counts one passage's model tokens into the document frequencies (each distinct id once). */
  addTokenDf(tokenIds: Int32Array): void {
    this.open();
    let max = -1;
    for (let i = 0; i < tokenIds.length; i++) if ((tokenIds[i] as number) > max) max = tokenIds[i] as number;
    if (max >= this.df.length) {
      const grown = new Int32Array(Math.max(max + 1, this.df.length * 2));
      grown.set(this.df);
      this.df = grown;
    }
    const unique = new Set<number>();
    for (let i = 0; i < tokenIds.length; i++) {
      const t = tokenIds[i] as number;
      if (t >= 0 && !unique.has(t)) {
        unique.add(t);
        this.df[t]!++;
      }
    }
    this.dfPassages++;
  }

  /** Sets all token document frequencies at once: df[tokenId] over n passages (default: the passages stored). */
  setTokenDf(df: Int32Array, n: number = this.nPids): void {
    this.open();
    if (!Number.isInteger(n) || n < 0) throw invalidArgument('n', 'a non-negative integer', n);
    this.df = df;
    this.dfPassages = n;
    this.dfSet = true;
  }

  /** The metadata type counts of the documents stored so far (metadata-types.ts). */
  metadataTypes(): FieldTypeCounts {
    const out = new Map<string, Map<JsonType, number>>();
    applyCounts(out, this.types);
    return out;
  }

  /** METADATA_TYPE_MIXED for each field the documents stored so far hold with several scalar JSON types, examples the first of each type. */
  typeWarnings(): MetadataTypeWarning[] {
    return mixedTypeWarnings(null, this.metadataTypes(), (field, type) => this.typeExample.get(`${field}\u0000${type}`));
  }

  /** Writes the token frequencies, indexes and metadata, merges the FTS5 segments, and closes the file. */
  close(): void {
    const db = this.open();
    guarded('finish', this.path, () => {
      const insertDf = db.prepare('INSERT INTO token_df (token_id, df) VALUES (?, ?)');
      const { df } = this;
      for (let t = 0; t < df.length; t++) if ((df[t] as number) > 0) insertDf.run(t, df[t]);
      const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      setMeta.run('schema_version', DOCSTORE_SCHEMA_VERSION);
      setMeta.run('bm25_stemmer', this.stemmer);
      setMeta.run('documents', this.nDocs);
      setMeta.run('passages', this.nPids);
      setMeta.run('token_df_n', this.dfSet || this.dfPassages > 0 ? this.dfPassages : this.nPids);
      // Current for `documents:rowid_span` as a build leaves them (no rowid_span row: docstore-updater.ts derives it).
      writeMetadataTypes(db, this.metadataTypes(), `${this.nDocs}:`);
      db.exec(CREATE_INDEXES);
      storePidToDoc(db, this.nPids);
      db.exec("INSERT INTO documents_fts (documents_fts) VALUES ('optimize')");
      db.exec("INSERT INTO documents_words (documents_words) VALUES ('optimize')");
      db.exec('COMMIT');
      // Born in the in-place form (schema 4, WAL): the first living-index write changes this file in
      // place instead of copying it once (bench/RESULTS.md, "A build's store is born in place").
      // Closing the last connection checkpoints and removes the -wal: one file leaves the builder.
      db.pragma('journal_mode = WAL');
      db.close();
    });
    this.db = null;
  }

  /** Closes without finishing (after a failed build); the file is left for the caller to delete. */
  abort(): void {
    if (this.db === null) return;
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // Closing is all that matters now.
    }
    this.db.close();
    this.db = null;
  }
}
