/**
 * Reads a document store (read-only): documents by docRowid or docId, passages and the pid →
 * docRowid map, token document frequencies for query-token IDF, and BM25 over documents (FTS5's
 * vocabulary for term frequencies, scored here with k1 = 0.9, b = 0.4 — see bm25.ts).
 */

import { plural } from '../util/plural.js';
import type Database from 'better-sqlite3';
import { openDatabase, openStoreForReading } from './open-database.js';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { PlaitError, invalidArgument } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { Bm25Accumulator, bm25Idf, resolveBm25Options, type Bm25Options } from './bm25.js';
import { bm25QueryTerms } from './bm25-terms.js';
import { FtsQueryTokenizer, type QueryToken } from './fts-query-tokenizer.js';
import { BM25_STEMMERS, DOCSTORE_MIN_SCHEMA_VERSION, DOCSTORE_SCHEMA_VERSION, UNSTEMMED_TOKENIZER, ftsTokenizer, type Bm25Stemmer } from './schema.js';
import { PID_DOC_KEY, storedPidToDoc, storedPidToDocChunks } from './pid-doc-blob.js';
import { docstoreError, guarded } from './sqlite-error.js';
import { COMMIT_RECORD_KEY, commitOfRecord } from './store-commit.js';
import { catalogueOf, type FieldCatalogue, type JsonType } from './metadata-catalogue.js';
import { findExample, readMetadataTypes, scanMetadataTypes, type FieldTypeCounts } from './metadata-types.js';
import type { Bm25Hit, Bm25TermMatch, StoredContent, StoredDocument, StoredPassage, TokenDf } from './types.js';

/** Bytes in the store's -wal file (0 when there is none). */
function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

type Statement = Database.Statement;
type DocumentRow = [number, string, string, string, string | null];

/**
 * A BM25 query made ready: each distinct term (as the store indexes it) with its weight — its count
 * in the query, or the weight a query rewrite gave it (synonyms, RM3) — and the query's tokens.
 */
export interface Bm25Query {
  terms: Map<string, number>;
  /** The query's tokens in order, stop words included (empty for stores before schema 3, which tokenise in TypeScript). */
  tokens: QueryToken[];
}

/** A store's word vocabulary (unstemmed): words and the number of documents holding each. */
export interface WordVocabulary {
  words: string[];
  df: Int32Array;
}

function toDocument(row: DocumentRow | undefined): StoredDocument | null {
  if (row === undefined) return null;
  const [docRowid, docId, title, text, metadata] = row;
  return { docRowid, docId, title, text, metadata: metadata === null ? null : (JSON.parse(metadata) as Record<string, unknown>) };
}

export interface DocStoreOpenOptions {
  /**
   * The commit the store must hold (the manifest's `docstoreCommit`; null: a store with no commit
   * record). A store holding another is INDEX_CORRUPT — the reader read a manifest and a write
   * committed before it opened the store; PlaitIndex retries on the newer manifest. Absent: no check.
   */
  commit?: string | null;
}
const DOCSTORE_OPEN_OPTION_KEYS = { commit: true } as const satisfies OptionKeys<DocStoreOpenOptions>;

export class DocStoreReader {
  readonly path: string;
  readonly nDocuments: number;
  readonly nPassages: number;
  /** The store's schema version (1: built before CJK bigrams; queries are tokenised to match). */
  readonly schemaVersion: number;
  /**
   * One past the largest docRowid ever used: arrays indexed by rowid have this length. Equals
   * nDocuments in a store never written to; larger once a living-index write deleted documents
   * (their rowids are not reused).
   */
  readonly rowidSpan: number;
  /** BM25's stemmer: 'porter' for schema-3 stores built with it; 'none' otherwise. */
  readonly stemmer: Bm25Stemmer;
  private readonly db: Database.Database;
  private bm25HighlightStmt: Statement | undefined;
  /** SQLite-side query tokenisation (schema 3), made on the first BM25 query. */
  private queryTokenizer: FtsQueryTokenizer | null = null;
  private wordVocab: WordVocabulary | null = null;
  /** BM25 length (terms in title + text) by docRowid, and its mean: read on the first BM25 query. */
  private lengthsCache: { lengths: Float32Array; avg: number } | null = null;
  private readonly byRowid: Statement;
  private readonly byDocId: Statement;
  private readonly rowidOf: Statement;
  private readonly contentOf: Statement;
  private readonly docIdOf: Statement;
  private readonly postings: Statement;
  private readonly passagesByDoc: Statement;
  private readonly passageByPid: Statement;
  private pidToDocCache: Int32Array | null = null;
  private tokenDfCache: TokenDf | null = null;
  /** The ranged reads of the BM25 length and IDF tables (loadTables), prepared on first use. */
  private lengthsFrom: Statement | undefined;
  private lengthsRange: Statement | undefined;
  private tokenDfRange: Statement | undefined;
  /** BM25 score scratch, allocated on the first query and reused (bm25.ts). */
  private bm25Acc: Bm25Accumulator | null = null;

  constructor(path: string, options: DocStoreOpenOptions = {}) {
    checkOptionKeys(options, DOCSTORE_OPEN_OPTION_KEYS, 'DocStoreReader option');
    this.path = path;
    this.db = guarded('open', path, () => openStoreForReading(path));
    try {
      // A store changed in place (WAL): hold one read transaction for the reader's life, so that it
      // sees one commit throughout however many writes commit after it (docstore-updater.ts).
      if (String(this.db.pragma('journal_mode', { simple: true })) === 'wal') this.db.exec('BEGIN');
      const meta = new Map<string, unknown>(
        (this.db.prepare('SELECT key, value FROM meta').raw().all() as Array<[string, unknown]>).map(([k, v]) => [k, v]),
      );
      const version = meta.get('schema_version');
      if (version === undefined) {
        throw new PlaitError('INDEX_CORRUPT', { message: `document store ${path} was never finished (no schema version)`, path });
      }
      if (typeof version !== 'number' || !Number.isInteger(version) || version < DOCSTORE_MIN_SCHEMA_VERSION || version > DOCSTORE_SCHEMA_VERSION) {
        throw new PlaitError('INDEX_VERSION', { message: `document store ${path} has schema version ${String(version)}; this plait reads versions ${DOCSTORE_MIN_SCHEMA_VERSION} to ${DOCSTORE_SCHEMA_VERSION}: rebuild the index with this plait, or use the plait that built it`, path, found: version, expected: DOCSTORE_SCHEMA_VERSION });
      }
      this.schemaVersion = version;
      if (options.commit !== undefined) {
        const held = commitOfRecord(typeof meta.get(COMMIT_RECORD_KEY) === 'string' ? (meta.get(COMMIT_RECORD_KEY) as string) : null);
        if (held !== options.commit) {
          // A store behind its manifest with no (or an empty) -wal beside it (opening creates an empty one): most often a copy that left the WAL
          // (the latest commits) out — say so and name the safe way to copy (mutate/index-backup.ts).
          const walLeftOut = walBytes(path) > 0 ? '' : `; if this folder is a copy, its ${basename(path)}-wal file (the latest commits) was left out: copy a changing index with plait backup, or copy the whole folder while no write runs`;
          throw new PlaitError('INDEX_CORRUPT', { message: `document store ${path} holds commit ${held ?? '(none)'}, the manifest expects ${options.commit ?? '(none)'}${walLeftOut}`, path });
        }
      }
      const stemmer = meta.get('bm25_stemmer') ?? 'none';
      if (!BM25_STEMMERS.includes(stemmer as Bm25Stemmer)) throw new PlaitError('INDEX_VERSION', { message: `document store ${path} uses BM25 stemmer "${String(stemmer)}", which this plait does not know (it knows ${BM25_STEMMERS.join(', ')})`, path });
      this.stemmer = stemmer as Bm25Stemmer;
      this.nDocuments = Number(meta.get('documents'));
      this.nPassages = Number(meta.get('passages'));
      this.rowidSpan = Math.max(this.nDocuments, Number(meta.get('rowid_span') ?? 0));
      const held = Number(this.db.prepare('SELECT count(*) FROM documents').pluck().get());
      if (held !== this.nDocuments) throw new PlaitError('INDEX_CORRUPT', { message: `${path} lists ${plural(this.nDocuments, 'document')} but holds ${held}`, path });
      const pidDoc = meta.get(PID_DOC_KEY);
      this.pidToDocCache = pidDoc !== undefined ? storedPidToDoc(pidDoc, this.nPassages) : storedPidToDocChunks(meta, this.nPassages);
      const columns = 'doc_rowid, doc_id, title, text, metadata';
      this.byRowid = this.db.prepare(`SELECT ${columns} FROM documents WHERE doc_rowid = ?`).raw();
      this.byDocId = this.db.prepare(`SELECT ${columns} FROM documents WHERE doc_id = ?`).raw();
      this.rowidOf = this.db.prepare('SELECT doc_rowid FROM documents WHERE doc_id = ?').pluck();
      this.contentOf = this.db.prepare('SELECT title, text, metadata FROM documents WHERE doc_id = ?').raw();
      this.docIdOf = this.db.prepare('SELECT doc_id FROM documents WHERE doc_rowid = ?').pluck();
      this.postings = this.db.prepare('SELECT doc, count(*) FROM documents_terms WHERE term = ? GROUP BY doc').raw();
      this.passagesByDoc = this.db.prepare('SELECT pid, doc_rowid, start, "end" FROM passages WHERE doc_rowid = ? ORDER BY pid').raw();
      this.passageByPid = this.db.prepare('SELECT pid, doc_rowid, start, "end" FROM passages WHERE pid = ?').raw();
    } catch (e) {
      this.db.close();
      throw docstoreError('open', path, e);
    }
  }

  static open(path: string, options: DocStoreOpenOptions = {}): DocStoreReader {
    return new DocStoreReader(path, options);
  }

  /**
   * `queryText` as BM25 terms with weights: tokenised as the store's documents were (SQLite's own
   * tokenizer for schema 3: stemmed and folded there; bm25-terms.ts's mirror for older stores),
   * less stop words (all terms when nothing else would be left), each distinct term weighted by its
   * count. FTS5 query syntax in the text is just text.
   */
  bm25Query(queryText: string, options: Bm25Options = {}): Bm25Query {
    if (typeof queryText !== 'string') throw invalidArgument('queryText', 'a string', queryText);
    const { stopwords } = resolveBm25Options(options);
    const terms = new Map<string, number>();
    if (this.schemaVersion < 3) {
      for (const term of bm25QueryTerms(queryText, stopwords, this.schemaVersion)) terms.set(term, (terms.get(term) ?? 0) + 1);
      return { terms, tokens: [] };
    }
    const tokens = this.queryTokens(queryText);
    const kept = stopwords === null ? tokens : tokens.filter((t) => !stopwords.has(t.word));
    for (const t of kept.length > 0 ? kept : tokens) terms.set(t.term, (terms.get(t.term) ?? 0) + 1);
    return { terms, tokens };
  }

  /** The tokens of `text` as the store's BM25 sees them: each word and its (stemmed) term, in order. Schema 3 only; older stores give []. */
  queryTokens(text: string): QueryToken[] {
    if (this.schemaVersion < 3) return [];
    return guarded('tokenise a query', this.path, () => this.tokenizer().tokens(text));
  }

  /** BM25 terms of `text` (stemmed as the store stems), stop words kept. */
  bm25TermsOf(text: string): string[] {
    if (this.schemaVersion < 3) return bm25QueryTerms(text, null, this.schemaVersion);
    return guarded('tokenise a text', this.path, () => this.tokenizer().terms(text));
  }

  /** Number of documents holding each BM25 term (0 for an unknown one). */
  termDf(terms: readonly string[]): number[] {
    return guarded('read term frequencies', this.path, () => terms.map((t) => (this.postings.all(t) as unknown[]).length));
  }

  /**
   * The store's unstemmed words and how many documents hold each, read once (schema 3:
   * `documents_words`; older stores index unstemmed terms, so their BM25 table is read).
   */
  wordVocabulary(): WordVocabulary {
    if (this.wordVocab === null) {
      this.wordVocab = guarded('read the word vocabulary', this.path, () => {
        const table = this.schemaVersion >= 3 ? 'documents_words' : 'documents_fts';
        this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.plait_words_row USING fts5vocab(main, ${table}, row)`);
        const words: string[] = [];
        const dfs: number[] = [];
        for (const [w, d] of this.db.prepare('SELECT term, doc FROM temp.plait_words_row').raw().iterate() as IterableIterator<[string, number]>) {
          words.push(w);
          dfs.push(d);
        }
        return { words, df: Int32Array.from(dfs) };
      });
    }
    return this.wordVocab;
  }

  /**
   * The k best documents by BM25 (highest first, ties to the lower docRowid) for a query text or a
   * prepared `Bm25Query` (whose term weights multiply each term's score: query-term frequency in
   * the Lucene/Anserini formula, bm25.ts).
   */
  bm25(query: string | Bm25Query, k: number, options: Bm25Options = {}): Bm25Hit[] {
    return this.bm25Ranking(query, k, options).hits;
  }

  /**
   * `bm25`, and how many documents the whole BM25 ranking holds: those holding a query term (among
   * `allowed` ones when given). The count is the number of documents the scoring touched, so it
   * costs nothing beyond the scoring (every posting of every query term is read to rank anyway).
   * Measured (this 2-core machine, loaded; scifact's queries, k = 10): on wordnet-scale's 118k
   * passages BM25 with the count took 1.6–2.7 ms a query, where an FTS5 `MATCH` count(*) of the same
   * terms alone took 9.5 ms (scifact's 5k: 3.0 ms against 1.1–1.9 ms more). With a mask, only allowed
   * documents are scored: one pass, where deeper unfiltered lists (×4) had been asked until k were
   * allowed (a 50% filter: 2.9 → 2.2 ms on wordnet-scale, 6.7 → 4.9 ms on scifact; the same hits).
   * @param allowed allowed[docRowid] = 1 for the documents that may rank (a metadata filter's mask,
   *   indexed by docRowid); null: every live document.
   * @returns hits: the k best allowed documents (highest first, ties to the lower docRowid);
   *   matched: the allowed documents holding a query term (≥ hits.length; 0 for k = 0).
   * @throws PlaitError INVALID_ARGUMENT (k not a non-negative integer, k1, b), DOCSTORE_FAILED (SQLite).
   */
  bm25Ranking(query: string | Bm25Query, k: number, options: Bm25Options = {}, allowed: Uint8Array | null = null): { hits: Bm25Hit[]; matched: number } {
    if (!Number.isInteger(k) || k < 0) throw invalidArgument('k', 'a non-negative integer', k);
    const { k1, b } = resolveBm25Options(options);
    const qtf = typeof query === 'string' ? this.bm25Query(query, options).terms : query.terms;
    if (qtf.size === 0 || k === 0 || this.nDocuments === 0) return { hits: [], matched: 0 };
    const corpus = options.corpus;
    const n = corpus?.documents ?? this.nDocuments;
    const acc = (this.bm25Acc ??= new Bm25Accumulator(this.rowidSpan));
    const { lengths } = this.bm25Lengths();
    const avg = corpus?.avgLength ?? this.bm25Lengths().avg;
    try {
      guarded('score BM25', this.path, () => {
        for (const [term, count] of qtf) {
          if (!(count > 0)) continue;
          const rows = this.postings.all(term) as Array<[number, number]>;
          if (rows.length === 0) continue;
          const weight = count * bm25Idf(corpus?.df[term] ?? rows.length, n) * (k1 + 1);
          for (const [doc, tf] of rows) {
            if (allowed !== null && allowed[doc] !== 1) continue;
            acc.add(doc, (weight * tf) / (tf + k1 * (1 - b + (b * (lengths[doc] as number)) / avg)));
          }
        }
      });
    } catch (e) {
      acc.reset();
      throw e;
    }
    const matched = acc.touchedCount;
    return { hits: acc.takeTop(k).map(({ doc, score }) => ({ docRowid: doc, docId: this.docIdOf.get(doc) as string, score })), matched };
  }

  /**
   * Why a document has its BM25 score: each distinct query term (after the same tokenising and stop
   * words as `bm25`, or a prepared query's terms) with its weight in the query, its frequency in the
   * document (0 when absent), its document frequency, idf and contribution; the contributions sum to
   * the document's `bm25` score.
   */
  bm25Explain(query: string | Bm25Query, docRowid: number, options: Bm25Options = {}): Bm25TermMatch[] {
    const { k1, b } = resolveBm25Options(options);
    const qtf = typeof query === 'string' ? this.bm25Query(query, options).terms : query.terms;
    const corpus = options.corpus;
    const n = corpus?.documents ?? this.nDocuments;
    const { lengths } = this.bm25Lengths();
    const avg = corpus?.avgLength ?? this.bm25Lengths().avg;
    const len = lengths[docRowid] ?? 0;
    return guarded('explain BM25', this.path, () =>
      [...qtf].map(([term, count]) => {
        const rows = this.postings.all(term) as Array<[number, number]>;
        const tf = rows.find(([doc]) => doc === docRowid)?.[1] ?? 0;
        const df = corpus?.df[term] ?? rows.length;
        const idf = df === 0 ? 0 : bm25Idf(df, n);
        const contribution = tf === 0 ? 0 : (count * idf * (k1 + 1) * tf) / (tf + k1 * (1 - b + (b * len) / avg));
        return { term, queryCount: count, tf, df, idf, contribution };
      }),
    );
  }

  /**
   * SQLite FTS5's own highlight() of the title and the text of document `docRowid` and its snippet()
   * of the column FTS5 finds best, for the BM25 query: its words (`query.tokens`' words whose term
   * the query keeps) and the terms no word gave (synonyms, RM3), each as an FTS5 string, OR'ed; the
   * FTS5 tokenizer stems them as it stemmed the documents. Marks are `open` / `close`; the snippet
   * has no ellipses and at most `snippetTokens` tokens (FTS5 caps it at 64). Null when the query has
   * no term or the document does not match it. The caller maps marks to offsets: the stored fields
   * are the texts FTS5 marks (external content), except where bm25-terms.ts's `ftsText` split
   * unspaced scripts into bigrams for the index (the caller skips such documents). The rowid is
   * CAST: better-sqlite3 binds a JS number as a REAL, and with MATCH, FTS5 (SQLite 3.53.2) then let
   * `rowid = ?` pass every matching row (the first, another document's, was marked).
   */
  bm25Highlight(query: Bm25Query, docRowid: number, open: string, close: string, snippetTokens: number): { title: string; text: string; snippet: string } | null {
    const kept = [...query.terms].filter(([, w]) => w > 0).map(([t]) => t);
    const fromWords = new Set<string>();
    const words: string[] = [];
    for (const t of query.tokens) {
      if (!query.terms.has(t.term) || !((query.terms.get(t.term) ?? 0) > 0)) continue;
      fromWords.add(t.term);
      words.push(t.word);
    }
    for (const t of kept) if (!fromWords.has(t)) words.push(t);
    if (words.length === 0) return null;
    const match = [...new Set(words)].map((w) => `"${w.replace(/"/g, '""')}"`).join(' OR ');
    const row = guarded('highlight BM25 terms', this.path, () =>
      (this.bm25HighlightStmt ??= this.db.prepare(
        'SELECT highlight(documents_fts, 0, @open, @close), highlight(documents_fts, 1, @open, @close), snippet(documents_fts, -1, @open, @close, \'\', @tokens) FROM documents_fts WHERE documents_fts MATCH @match AND rowid = CAST(@rowid AS INTEGER)',
      )).raw().get({ open, close, tokens: snippetTokens, match, rowid: docRowid }),
    ) as [string | null, string | null, string | null] | undefined;
    if (row === undefined) return null;
    return { title: row[0] ?? '', text: row[1] ?? '', snippet: row[2] ?? '' };
  }

  private tokenizer(): FtsQueryTokenizer {
    return (this.queryTokenizer ??= new FtsQueryTokenizer(this.db, ftsTokenizer(this.stemmer), UNSTEMMED_TOKENIZER));
  }

  /** Documents by docRowid or by docId, in the order asked; null for an unknown one. */
  getDocuments(ids: readonly number[] | Int32Array | readonly string[]): Array<StoredDocument | null> {
    return guarded('read documents', this.path, () =>
      Array.from(ids as ArrayLike<number | string>, (id) =>
        toDocument((typeof id === 'string' ? this.byDocId.get(id) : this.byRowid.get(id)) as DocumentRow | undefined),
      ),
    );
  }

  getDocument(id: number | string): StoredDocument | null {
    return this.getDocuments(typeof id === 'string' ? [id] : [id])[0] ?? null;
  }

  /**
   * A live document's stored title, text and metadata (its stored JSON string, or null) by docId;
   * null when no live document has the id. What a sync compares an input document with
   * (mutate/sync-plan.ts): equal strings mean the document would be stored, split and encoded the
   * same, so it is left as it is.
   */
  storedContent(docId: string): StoredContent | null {
    const row = guarded('read a document', this.path, () => this.contentOf.get(docId)) as [string, string, string | null] | undefined;
    return row === undefined ? null : { title: row[0], text: row[1], metadata: row[2] };
  }

  /** Every live docId, in rowid order (a sync deletes those its input lacks). */
  liveDocIds(): string[] {
    return guarded('list docIds', this.path, () => this.db.prepare('SELECT doc_id FROM documents ORDER BY doc_rowid').pluck().all() as string[]);
  }

  docIdToRowid(docId: string): number | null {
    return (guarded('look up a docId', this.path, () => this.rowidOf.get(docId)) as number | undefined) ?? null;
  }

  rowidToDocId(docRowid: number): string | null {
    return (guarded('look up a docRowid', this.path, () => this.docIdOf.get(docRowid)) as string | undefined) ?? null;
  }

  /**
   * Rowids of the live documents matching a compiled metadata filter (docstore/metadata-filter.ts): `where`
   * is a condition over `documents` built from fixed SQL fragments, every user value in `params`.
   */
  /**
   * The metadata fields the live documents hold, with their stored JSON types (metadata-catalogue.ts).
   * @throws PlaitError DOCSTORE_FAILED
   */
  fieldCatalogue(): FieldCatalogue {
    this.catalogue ??= catalogueOf(this.metadataTypes());
    return this.catalogue;
  }

  private catalogue: FieldCatalogue | undefined;

  /**
   * Each metadata field's JSON types with their live document counts (metadata-types.ts): the
   * store's `metadata_types` table (a few rows), or — a store without a current table, from before
   * it — one count over every document's metadata. Read once per store (a store is one index
   * generation: the reader's pinned snapshot), when a filtered search first asks.
   * @throws PlaitError DOCSTORE_FAILED
   */
  metadataTypes(): FieldTypeCounts {
    this.typeCounts ??= guarded('read the metadata types', this.path, () => readMetadataTypes(this.db) ?? scanMetadataTypes(this.db));
    return this.typeCounts;
  }

  private typeCounts: FieldTypeCounts | undefined;

  /** A live document whose metadata holds `type` at `field` (metadata-types.ts findExample), for a warning's example; undefined when none. @throws PlaitError DOCSTORE_FAILED */
  typeExample(field: string, type: JsonType): string | undefined {
    return guarded('read the metadata types', this.path, () => findExample(this.db, field, type));
  }

  filterRowids(where: string, params: ReadonlyArray<string | number | null>): number[] {
    return guarded('filter documents', this.path, () => this.db.prepare(`SELECT doc_rowid FROM documents WHERE ${where}`).pluck().all(...params) as number[]);
  }

  /**
   * This store's share of the corpus statistics BM25 uses: its documents and the sum of their
   * lengths in terms (a cluster's coordinator adds the shards' up: avgdl = Σ length / Σ documents).
   */
  bm25Totals(): { documents: number; totalLength: number } {
    const { lengths } = this.bm25Lengths();
    let total = 0;
    for (let i = 0; i < lengths.length; i++) total += lengths[i]!;
    return { documents: this.nDocuments, totalLength: total };
  }

  /** BM25 document lengths by rowid and their mean, read once (open stays O(1) in documents). */
  private bm25Lengths(): { lengths: Float32Array; avg: number } {
    if (this.lengthsCache === null) {
      const lengths = new Float32Array(this.rowidSpan);
      const total = this.readLengths(lengths, 0, null);
      this.lengthsCache = this.lengthsOf(lengths, total);
    }
    return this.lengthsCache;
  }

  private lengthsOf(lengths: Float32Array, total: number): { lengths: Float32Array; avg: number } {
    return { lengths, avg: this.nDocuments > 0 ? Math.max(total / this.nDocuments, 1e-9) : 1 };
  }

  /** Reads the lengths of rowids in [from, to) (to null: every rowid from `from` on) into `lengths`; returns their sum. */
  private readLengths(lengths: Float32Array, from: number, to: number | null): number {
    let total = 0;
    guarded('read document lengths', this.path, () => {
      // Prepared once per reader: loadTables reads in many steps (SQL compiled per step had doubled its cost).
      this.lengthsFrom ??= this.db.prepare('SELECT doc_rowid, n_terms FROM documents WHERE doc_rowid >= ? ORDER BY doc_rowid').raw();
      this.lengthsRange ??= this.db.prepare('SELECT doc_rowid, n_terms FROM documents WHERE doc_rowid >= ? AND doc_rowid < ? ORDER BY doc_rowid').raw();
      const rows = to === null ? this.lengthsFrom.iterate(from) : this.lengthsRange.iterate(from, to);
      for (const [rowid, n] of rows as IterableIterator<[number, number]>) {
        if (rowid >= this.rowidSpan) throw new PlaitError('INDEX_CORRUPT', { message: `${this.path} has document rowid ${rowid} past its span ${this.rowidSpan}`, path: this.path });
        lengths[rowid] = n;
        total += n;
      }
    });
    return total;
  }

  /**
   * Reads BM25's document lengths and the query-token IDF table now (each is otherwise read on its
   * first use, in one block), `rowsPerStep` rows at a time with `pause()` awaited between steps: a
   * living index loads its next generation's tables so before serving it, while the served one keeps
   * answering (PlaitIndex.refresh). The tables are the same as the one-block reads give: this reader's
   * read transaction holds one commit throughout. Tables already read are not read again.
   * @param rowsPerStep rows per step, ≥ 1 (REFRESH_DEFAULTS.tableRowsPerStep)
   * @param tables `tokenDf: false` leaves the IDF table unread (a model without query-token IDF never reads it)
   * @throws PlaitError INDEX_CORRUPT / DOCSTORE_FAILED as the reads on first use do
   */
  async loadTables(rowsPerStep: number, pause: () => Promise<void>, tables: { tokenDf: boolean } = { tokenDf: true }): Promise<void> {
    const step = Math.max(1, Math.floor(rowsPerStep));
    if (this.lengthsCache === null) {
      const lengths = new Float32Array(this.rowidSpan);
      let total = 0;
      for (let from = 0; ; from += step) {
        const last = from + step >= this.rowidSpan;
        total += this.readLengths(lengths, from, last ? null : from + step);
        if (last) break;
        await pause();
      }
      this.lengthsCache ??= this.lengthsOf(lengths, total);
      await pause();
    }
    if (tables.tokenDf && this.tokenDfCache === null) {
      const { n, max } = this.tokenDfShape();
      const df = new Int32Array(max + 1);
      for (let from = 0; from <= max; from += step) {
        if (from > 0) await pause();
        this.readTokenDf(df, from, from + step);
      }
      this.tokenDfCache ??= { n, df };
    }
  }

  /** pid → docRowid for every passage: the stored map when the store has one, else read on first use. */
  get pidToDoc(): Int32Array {
    if (this.pidToDocCache === null) {
      const out = new Int32Array(this.nPassages);
      let i = 0;
      guarded('read passages', this.path, () => {
        for (const doc of this.db.prepare('SELECT doc_rowid FROM passages ORDER BY pid').pluck().iterate() as IterableIterator<number>) out[i++] = doc;
      });
      if (i !== this.nPassages) throw new PlaitError('INDEX_CORRUPT', { message: `${this.path} lists ${plural(this.nPassages, 'passage')} but holds ${i}`, path: this.path });
      this.pidToDocCache = out;
    }
    return this.pidToDocCache;
  }

  /** A document's passages, in pid order. */
  passagesOf(docRowid: number): StoredPassage[] {
    const rows = guarded('read passages', this.path, () => this.passagesByDoc.all(docRowid)) as Array<[number, number, number, number]>;
    return rows.map(([pid, doc, start, end]) => ({ pid, docRowid: doc, start, end }));
  }

  /** Passages by pid, in the order asked; null for an unknown pid. */
  getPassages(pids: readonly number[] | Int32Array): Array<StoredPassage | null> {
    return guarded('read passages', this.path, () =>
      Array.from(pids as ArrayLike<number>, (pid) => {
        const row = this.passageByPid.get(pid) as [number, number, number, number] | undefined;
        return row === undefined ? null : { pid: row[0], docRowid: row[1], start: row[2], end: row[3] };
      }),
    );
  }

  /** Passage document frequencies of model tokens (df indexed by token id), for query-token IDF. */
  tokenDf(): TokenDf {
    if (this.tokenDfCache === null) {
      const { n, max } = this.tokenDfShape();
      const df = new Int32Array(max + 1);
      this.readTokenDf(df, 0, max + 1);
      this.tokenDfCache = { n, df };
    }
    return this.tokenDfCache;
  }

  /** The IDF table's passage count and largest token id (-1: none). */
  private tokenDfShape(): { n: number; max: number } {
    return guarded('read token frequencies', this.path, () => ({
      n: Number(this.db.prepare("SELECT value FROM meta WHERE key = 'token_df_n'").pluck().get() ?? this.nPassages),
      max: (this.db.prepare('SELECT max(token_id) FROM token_df').pluck().get() as number | null) ?? -1,
    }));
  }

  /** Reads the dfs of token ids in [from, to) into `df`. */
  private readTokenDf(df: Int32Array, from: number, to: number): void {
    guarded('read token frequencies', this.path, () => {
      this.tokenDfRange ??= this.db.prepare('SELECT token_id, df FROM token_df WHERE token_id >= ? AND token_id < ?').raw();
      for (const [t, d] of this.tokenDfRange.iterate(from, to) as IterableIterator<[number, number]>) df[t] = d;
    });
  }

  /**
   * Takes this reader's snapshot again, at the same commit, after the WAL is folded back into the
   * store, so that a long-lived reader (the server's) stops holding the WAL. SQLite restarts a WAL
   * from its start only when no reader holds a snapshot taken before all its frames were copied
   * back, and a checkpoint cannot copy past the oldest snapshot: a server that always holds one,
   * taken just after the latest write, kept every write's pages (86 KB a one-document add on cisi;
   * a 17.2 MB WAL beside a 3.7 MB store after 190 writes). Here, with no commit able to land (a
   * second connection holds SQLite's write lock, BEGIN IMMEDIATE, for the few steps below), a
   * PASSIVE checkpoint copies every frame back, and the read transaction is ended and begun again:
   * the new snapshot is the same commit and reads the store file alone, so the next write restarts
   * the WAL. Call it when no older reader of the store is open (PlaitIndex.refresh, after closing
   * the old one). Bench: a 200-row write 40 times over: the WAL grew to 2.2 MB without, 58 KB with.
   * @returns false, changing nothing, where it cannot: not a WAL store, a folder it may not write,
   * or a writer holding the write lock (the next refresh tries again).
   */
  refoldWal(): boolean {
    if (!this.db.inTransaction) return false;
    let guard: Database.Database | null = null;
    try {
      guard = openDatabase(this.path, { fileMustExist: true, timeout: 0 });
      guard.exec('BEGIN IMMEDIATE');
    } catch {
      guard?.close();
      return false;
    }
    try {
      // Only when no write has committed since this reader's snapshot: a new snapshot must be the
      // same commit (found by test/living-stress.test.ts: a write between the open and this call).
      const recordOf = (db: Database.Database): unknown => db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(COMMIT_RECORD_KEY);
      if (recordOf(guard) !== recordOf(this.db)) return false;
      const checkpointer = openDatabase(this.path, { fileMustExist: true, timeout: 0 });
      try {
        checkpointer.pragma('wal_checkpoint(PASSIVE)');
      } finally {
        checkpointer.close();
      }
      this.db.exec('COMMIT');
      this.db.exec('BEGIN');
      this.db.prepare('SELECT 1 FROM meta LIMIT 1').get(); // the read transaction starts at its first read
      return true;
    } catch {
      if (!this.db.inTransaction) this.db.exec('BEGIN'); // pinned again: the guard still holds, so at the same commit
      return false;
    } finally {
      guard.exec('ROLLBACK');
      guard.close();
    }
  }

  close(): void {
    if (this.db.inTransaction) this.db.exec('COMMIT');
    this.db.close();
  }
}
