/**
 * Rerank of stored documents: a query against documents already in the index, scored exactly from
 * their compressed token vectors (max over each document's passages, as search scores them) with
 * no re-encoding — a mid-tier reranker over an index.
 */
import { PlaitError, invalidArgument } from '../errors/index.js';
import type { DocStoreReader } from '../docstore/index.js';
import type { DocPassages } from './doc-passages.js';
import type { EncodedQuery } from './plaid.js';

/**
 * Docstore rowids of the given docIds, duplicates removed (first occurrence kept).
 * @throws PlaitError INVALID_ARGUMENT for a non-array, INVALID_INPUT for an unknown id.
 */
export function rowidsOf(docstore: DocStoreReader, docIds: readonly string[]): number[] {
  if (!Array.isArray(docIds)) throw invalidArgument('docIds', 'an array of document ids', docIds);
  const rowids = docIds.map((id) => {
    const r = docstore.docIdToRowid(id);
    if (r === null) throw new PlaitError('INVALID_INPUT', { message: `unknown document id "${String(id)}"`, docId: id });
    return r;
  });
  return [...new Set(rowids)];
}

/** Exact document scores (best passage) of the given rowids, best first. */
export function scoreStoredDocs(q: EncodedQuery, rowids: readonly number[], docs: DocPassages, exact: (q: EncodedQuery, pids: Int32Array) => Float32Array) {
  const pids = docs.pidsOf(rowids);
  return docs.collapse(pids, exact(q, pids));
}
