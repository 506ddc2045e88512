/**
 * Checks on texts that arrive over HTTP before they reach the library: strings that JSON can carry
 * but UTF-8 cannot (lone surrogates from "\ud800" escapes), empty queries, batches over a limit.
 */
import { PlaitError } from '../errors/index.js';
import { isWellFormed } from '../encoder/validate-text.js';
import { TOO_LARGE, type BodyKind } from './http-errors.js';

/** A query: well-formed and not empty after trimming. `field` names it in the error. */
export function checkQuery(q: string, field: string): string {
  if (!isWellFormed(q)) throw new PlaitError('TEXT_NOT_UTF8', { message: `${field} contains an unpaired surrogate`, field });
  if (q.trim().length === 0) throw new PlaitError('EMPTY_TEXT', { message: `${field} is empty`, field });
  return q;
}

/** A document or text to encode: well-formed (emptiness is the library's call). */
export function checkText(t: string, field: string): string {
  if (!isWellFormed(t)) throw new PlaitError('TEXT_NOT_UTF8', { message: `${field} contains an unpaired surrogate`, field });
  return t;
}

/** Response header naming the texts answered with a MOSTLY_UNKNOWN_TOKENS warning ("query", "document 3", "queries[1]"). */
export const TEXT_WARNINGS_HEADER = 'x-plait-text-warnings';

/** A list of `n` items in `field` over its `limit`: 413 with the code of the route's body kind (QUERY_TOO_LARGE, WRITE_TOO_LARGE, ENCODE_TOO_LARGE). */
export function checkBatch(n: number, limit: number, field: string, kind: BodyKind): void {
  if (n > limit) throw new PlaitError(TOO_LARGE[kind].code, { message: `${n} items in ${field}; the limit is ${limit}`, field, limit, received: n });
}
