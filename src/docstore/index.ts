export { DocStoreWriter } from './docstore-writer.js';
export { DocStoreReader } from './docstore-reader.js';
export { DEFAULT_BM25, bm25Idf, bm25TermWeight, resolveBm25Options } from './bm25.js';
export type { Bm25Options, Bm25Params, ResolvedBm25Options } from './bm25.js';
export { ENGLISH_STOPWORDS, bm25Length, bm25QueryTerms, bm25Terms } from './bm25-terms.js';
export { DOCSTORE_SCHEMA_VERSION } from './schema.js';
export type { Bm25Hit, Bm25TermMatch, DocumentInput, StoredDocument, StoredPassage, TokenDf } from './types.js';
