/**
 * Query text → BM25 terms by SQLite itself: the query is inserted into a temporary FTS5 table that
 * uses the store's own tokenizer (read from the store, e.g. `porter unicode61 ...`), and its terms
 * are read back, in order, from an fts5vocab `instance` table; then the row is deleted. So the
 * query side is stemmed and folded by exactly the code that indexed the documents — no second
 * implementation of Porter's rules or unicode61's folding to drift from it. A second temporary
 * table with the unstemmed tokenizer gives each term's word, position for position (FTS5's
 * stemmer maps one token to one token), which stop-word removal and spelling correction need.
 *
 * Cost: about 35 µs a query for the two tables (1,000 six-word queries, this 2-core machine).
 * Temporary tables live in the connection's temp schema, so a read-only connection can hold them.
 */

import type Database from 'better-sqlite3';
import { segmentUnspaced } from './bm25-terms.js';

/** One token of a query: `word` as the unstemmed tokenizer gives it, `term` as BM25 indexes it. */
export interface QueryToken {
  word: string;
  term: string;
  /** Token position in the query, from 0. */
  position: number;
}

export class FtsQueryTokenizer {
  private readonly insertTerm: Database.Statement;
  private readonly readTerms: Database.Statement;
  private readonly clearTerms: Database.Statement;
  private readonly insertWord: Database.Statement;
  private readonly readWords: Database.Statement;
  private readonly clearWords: Database.Statement;

  /**
   * @param db a connection to the store (read-only is fine)
   * @param termTokenizer the FTS5 `tokenize` argument of the store's BM25 table
   * @param wordTokenizer the same without the stemmer
   */
  constructor(db: Database.Database, termTokenizer: string, wordTokenizer: string) {
    const quote = (s: string): string => `"${s.replaceAll('"', '""')}"`;
    db.exec(`
      CREATE VIRTUAL TABLE IF NOT EXISTS temp.plait_query_terms USING fts5(x, tokenize = ${quote(termTokenizer)});
      CREATE VIRTUAL TABLE IF NOT EXISTS temp.plait_query_terms_v USING fts5vocab(temp, plait_query_terms, instance);
      CREATE VIRTUAL TABLE IF NOT EXISTS temp.plait_query_words USING fts5(x, tokenize = ${quote(wordTokenizer)});
      CREATE VIRTUAL TABLE IF NOT EXISTS temp.plait_query_words_v USING fts5vocab(temp, plait_query_words, instance);
    `);
    this.insertTerm = db.prepare('INSERT INTO temp.plait_query_terms (rowid, x) VALUES (1, ?)');
    this.readTerms = db.prepare('SELECT term, offset FROM temp.plait_query_terms_v ORDER BY offset').raw();
    this.clearTerms = db.prepare('DELETE FROM temp.plait_query_terms');
    this.insertWord = db.prepare('INSERT INTO temp.plait_query_words (rowid, x) VALUES (1, ?)');
    this.readWords = db.prepare('SELECT term, offset FROM temp.plait_query_words_v ORDER BY offset').raw();
    this.clearWords = db.prepare('DELETE FROM temp.plait_query_words');
  }

  /** The tokens of `text` in order (unspaced scripts as character bigrams, as the documents were indexed). */
  tokens(text: string): QueryToken[] {
    const segmented = segmentUnspaced(text);
    const terms = this.run(this.insertTerm, this.readTerms, this.clearTerms, segmented);
    const words = new Map(this.run(this.insertWord, this.readWords, this.clearWords, segmented).map(([w, p]) => [p, w]));
    return terms.map(([term, position]) => ({ word: words.get(position) ?? term, term, position }));
  }

  /** BM25 terms of `text` (stemmed as the store stems), in order. */
  terms(text: string): string[] {
    return this.run(this.insertTerm, this.readTerms, this.clearTerms, segmentUnspaced(text)).map(([t]) => t);
  }

  private run(insert: Database.Statement, read: Database.Statement, clear: Database.Statement, text: string): Array<[string, number]> {
    insert.run(text);
    try {
      return read.all() as Array<[string, number]>;
    } finally {
      clear.run();
    }
  }
}
