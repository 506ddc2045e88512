/**
 * Rerank of stored documents: a query against documents already in the index, scored exactly from
 * their compressed token vectors (max over each document's passages, as search scores them) with
 * no re-encoding — a mid-tier reranker over an index.
 */
import { PlaitError, invalidArgument } from '../errors/index.js';
import type { DocStoreReader } from '../docstore/index.js';
import { MAXSIM_EMPTY_TOKEN } from '../kernels/types.js';
import type { CollapsedDocs, DocPassages } from './doc-passages.js';
import type { EncodedQuery } from './plaid.js';

/**
 * Docstore rowids of the given docIds, duplicates removed (first occurrence kept).
 * @throws PlaitError INVALID_ARGUMENT for a non-array, DOCUMENT_NOT_FOUND for an id the index does not hold (`details.docId`; HTTP 404).
 */
export function rowidsOf(docstore: DocStoreReader, docIds: readonly string[]): number[] {
  if (!Array.isArray(docIds)) throw invalidArgument('docIds', 'an array of document ids', docIds);
  const rowids = docIds.map((id) => {
    const r = docstore.docIdToRowid(id);
    // A missing document (it had been INVALID_INPUT, a 400): 404 at HTTP, as Elasticsearch, Meilisearch and Typesense answer one.
    if (r === null) throw new PlaitError('DOCUMENT_NOT_FOUND', { message: `the index holds no document "${String(id)}"`, docId: id });
    return r;
  });
  return [...new Set(rowids)];
}

/**
 * Exact document scores (best passage) of the given rowids, best first. A document without
 * passages scores as an empty document does in the kernels (-9999 per query token) and ranks last.
 */
export function scoreStoredDocs(q: EncodedQuery, rowids: readonly number[], docs: DocPassages, exact: (q: EncodedQuery, pids: Int32Array) => Float32Array): CollapsedDocs {
  const pids = docs.pidsOf(rowids);
  const collapsed = docs.collapse(pids, exact(q, pids));
  if (collapsed.docs.length < rowids.length) {
    const have = new Set(collapsed.docs.map((d) => d.key));
    let empty = 0;
    for (let i = 0; i < q.length; i++) empty += (q.weights?.[i] ?? 1) * MAXSIM_EMPTY_TOKEN;
    for (const key of [...rowids].sort((a, b) => a - b)) if (!have.has(key)) collapsed.docs.push({ key, score: empty });
    collapsed.distinct = collapsed.docs.length;
  }
  return collapsed;
}
