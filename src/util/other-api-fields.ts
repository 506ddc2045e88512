/**
 * Other search APIs' names for plait's fields, as a newcomer ported from one types them — the result
 * count (Elasticsearch `size`, Meilisearch `limit`, Cohere's `top_n`, Solr's `rows`, Typesense's
 * `per_page`), the query (`q`: Meilisearch, Typesense, Solr), and pagination (Elasticsearch's `from`,
 * Solr's `start`, others' `skip`; Typesense's `page`, which names no one field), a document's fields
 * as corpora and other write APIs name them (`_id`, `id`, `docs`, `content`) — and what plait's
 * refusal of each says. One table for every door: the HTTP schema refusals (server/http-errors.ts,
 * which snake-cases the names), the library's option-key checks (util/option-keys.ts) and the CLI's
 * unknown-option hint (cli/main.ts). Before, only HTTP said `page` → offset; the library listed its
 * 25 options and `plait search --page 2` was told "Did you mean --tag?" (trial 12).
 *
 * `k` stays out: it ends both topK and rrfK.
 */

/** Another API's field name → plait's, in the library's camelCase spelling. */
export const OTHER_APIS_FIELDS: Readonly<Record<string, string>> = {
  limit: 'topK', size: 'topK', top_n: 'topK', topN: 'topK', n: 'topK', count: 'topK', rows: 'topK', per_page: 'topK', perPage: 'topK', num_results: 'topK', max_results: 'topK',
  q: 'query',
  from: 'offset', skip: 'offset', start: 'offset',
  // A document's fields as BEIR, JSONL corpora and other engines' write APIs name them.
  _id: 'docId', id: 'docId', docid: 'docId', docs: 'documents', body: 'text', content: 'text', contents: 'text',
};

/** Other APIs' pagination fields, which a door refusing them answers with how plait pages. */
export const PAGINATION_FIELDS: ReadonlySet<string> = new Set(['offset', 'from', 'page', 'skip', 'start', 'cursor', 'search_after', 'searchAfter']);

/** How a door spells plait's two paging fields in its messages (library: offset / topK; HTTP: offset / top_k; CLI: --offset / -k). */
export interface PagingSpelling {
  offset: string;
  topK: string;
}

/**
 * What a refusal of `field` adds when it is another API's pagination field, at a door that has a
 * result count (`topK`); '' otherwise. With `hasOffset` it says how to page with offset (for `page`:
 * page n of size s is offset (n − 1) · s); without, how to page by asking deeper.
 */
export function paginationHint(field: string, sp: PagingSpelling, hasOffset: boolean): string {
  if (!PAGINATION_FIELDS.has(field)) return '';
  if (hasOffset) {
    return field === 'page'
      ? `; plait pages with "${sp.offset}" and "${sp.topK}" (the page size): page n (1-based) of size s is ${sp.offset} = (n - 1) * s, ${sp.topK} = s`
      : `; plait pages with "${sp.offset}" (results to skip) and "${sp.topK}" (the page size)${field === 'cursor' || field === 'search_after' || field === 'searchAfter' ? ': it has no cursors' : ''}`;
  }
  return `; this route has no pagination: ask ${sp.topK} = offset + page size and skip the first offset hits`;
}
