/** Records of the document store, as written and as read back. */

export interface DocumentInput {
  docId: string;
  title: string;
  text: string;
  metadata?: Record<string, unknown> | undefined;
}

export interface StoredDocument {
  docRowid: number;
  docId: string;
  title: string;
  text: string;
  metadata: Record<string, unknown> | null;
}

/** A document's content as stored: `metadata` is the JSON string the store holds (JSON.stringify of the input's), or null for none. */
export interface StoredContent {
  title: string;
  text: string;
  metadata: string | null;
}

export interface StoredPassage {
  pid: number;
  docRowid: number;
  /** [start, end) UTF-16 offsets into the text the builder split. */
  start: number;
  end: number;
}

export interface Bm25Hit {
  docRowid: number;
  docId: string;
  score: number;
}

/** One query term's part in a document's BM25 score (DocStoreReader.bm25Explain). */
export interface Bm25TermMatch {
  term: string;
  /** The term's weight in the query: the times it occurs there, or the weight a query rewrite (synonyms, RM3) gave it. */
  queryCount: number;
  /** Times it occurs in the document (title and text); 0 when it does not match. */
  tf: number;
  df: number;
  idf: number;
  contribution: number;
}

/** Passage document frequencies of model tokens: df[tokenId] over n passages. */
export interface TokenDf {
  n: number;
  df: Int32Array;
}
