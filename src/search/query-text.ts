/**
 * What a query's text allows before any scoring. Two kinds of query cannot be searched, and get
 * an empty page with a reason (the same in every mode, so late, BM25 and hybrid agree):
 *  - 'empty-query': blank text (a real topic file had one; BEIR and trec_eval skip such topics);
 *  - 'no-content': no letter or digit in any script (punctuation, symbols, emoji only). BM25 has
 *    no term to match, and a ColBERT query of only [MASK] padding would return arbitrary
 *    documents with confident-looking scores; no hits is the honest answer.
 * A query with more content tokens than the model keeps (ModelInfo.queryWindow) is searched on its
 * first tokens, as ColBERT does, and its result says `truncated: true`.
 */
import { invalidArgument } from '../errors/index.js';
import type { Encoder } from '../encoder/types.js';

export type EmptyReason = 'empty-query' | 'no-content';

const CONTENT = /[\p{L}\p{N}]/u;

/**
 * The reason a query text cannot be searched, or null when it can.
 * @throws PlaitError INVALID_ARGUMENT when the query is not a string.
 */
export function unsearchable(text: unknown, i: number): EmptyReason | null {
  if (typeof text !== 'string') throw invalidArgument(`queries[${i}]`, 'a string', text);
  if (text.trim().length === 0) return 'empty-query';
  return CONTENT.test(text) ? null : 'no-content';
}

/** Content tokens of the query against the model's query window: whether it will be clipped, and whether anything is left. */
export function queryFit(encoder: Encoder, text: string): { truncated: boolean; empty: boolean } {
  const n = encoder.tokenize(text).ids.length;
  const room = encoder.info.queryWindow ?? Infinity;
  return { truncated: n > room, empty: n === 0 };
}
