/**
 * Pagination: a page is `topK` results starting at `offset` (0-based), and is exactly the slice
 * [offset, offset + topK) of the ranking a search for k = offset + topK returns — the same PLAID
 * settings (calibration buckets and the defaults table are chosen by that k), the same hybrid fusion
 * depth, the same tie order — so that consecutive pages neither overlap nor skip a document. A page
 * costs what a search that deep costs; offset + topK is bounded by SEARCH_DEFAULTS.maxResultWindow,
 * as Elasticsearch bounds from + size by index.max_result_window.
 *
 * Used by every door: resolveSearch (library, server, cluster coordinator), SearchPipeline.run (a
 * pipeline's last stage runs offset deeper), `plait search --offset`, the HTTP `offset` field.
 */
import { PlaitError } from '../errors/index.js';
import { SEARCH_DEFAULTS } from '../config/defaults.js';

/** How the door spells the two fields in its messages (library: offset / topK; HTTP: offset / top_k; CLI: --offset / --k). */
export interface PageSpelling {
  offset: string;
  topK: string;
}

export const LIBRARY_PAGE_SPELLING: PageSpelling = { offset: 'offset', topK: 'topK' };
export const HTTP_PAGE_SPELLING: PageSpelling = { offset: 'offset', topK: 'top_k' };

/**
 * The depth a page searches to: offset + topK, checked.
 * @param offset results skipped, an integer in [0, maxResultWindow − 1] (undefined: 0).
 * @param topK the page size, already checked as an integer in [1, maxTopK].
 * @throws PlaitError INVALID_ARGUMENT: offset not a non-negative integer (`name: offset`), or
 *   offset + topK past SEARCH_DEFAULTS.maxResultWindow (`reason: 'resultWindow'`, `maxResultWindow`).
 */
export function pageDepth(offset: unknown, topK: number, sp: PageSpelling = LIBRARY_PAGE_SPELLING): number {
  if (offset === undefined) return topK;
  const max = SEARCH_DEFAULTS.maxResultWindow;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset >= max) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `Expected an integer in [0, ${max - 1}] for ${sp.offset} but received ${typeof offset === 'string' ? JSON.stringify(offset) : String(offset)}`,
      name: sp.offset,
      min: 0,
      max: max - 1,
    });
  }
  const depth = offset + topK;
  if (depth > max) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message:
        `${sp.offset} + ${sp.topK} = ${offset} + ${topK} = ${depth} is past the deepest result a search reaches, ${max} (the result window): ` +
        `a page is the slice [${sp.offset}, ${sp.offset} + ${sp.topK}) of a search for k = ${sp.offset} + ${sp.topK}; ask a page that ends by result ${max}`,
      name: sp.offset,
      reason: 'resultWindow',
      maxResultWindow: max,
      offset,
      topK,
    });
  }
  return depth;
}

/**
 * How many documents the whole ranking holds, when known: `ranked` documents came back for a
 * search `depth` deep; fewer than asked means the ranking ended there (every match is counted).
 * `matching` is what the searcher knows otherwise (every live document for late interaction and
 * hybrid, the documents holding a query term for BM25, the filter's among them with a filter), or
 * null when it cannot know without more work (a pipeline's candidates past its last stage).
 */
export function totalHits(ranked: number, depth: number, matching: number | null): number | null {
  if (ranked < depth) return ranked;
  return matching;
}
