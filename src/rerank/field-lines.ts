/**
 * The text a rerank document is ranked on, one rule for every door that takes documents as
 * strings or objects: the library (`rerank`, `rerankDocuments`), the HTTP rerank routes (Cohere
 * v1/v2, Jina, Together) and, for its objects without `text`, `plait rerank --docs` (whose JSONL
 * lines without `text` had been MALFORMED_JSONL while the same objects over HTTP were ranked).
 *
 *  - a string is itself;
 *  - an object with `rankFields` (Cohere v1's `rank_fields`): those fields it has, as
 *    `field: value` lines in the order asked; a value that is not a string is written as JSON
 *    (`n: 3`, `tags: ["a"]`, `x: null`); a document with none of them ranks as an empty one
 *    (−9999 a query token) and `missingRankFields` says so;
 *  - else an object's `text` (a string, or INVALID_INPUT);
 *  - else (no `text` field: Together's default) all its own enumerable fields, in their order.
 *
 * The library had taken `{ id?, text }` only, so a caller holding objects had to flatten them
 * first and got none of the routes' warnings; the routes had this rule as a private copy.
 */
import { ENCODER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, describe } from '../errors/index.js';
import { isWellFormed } from '../encoder/validate-text.js';

/**
 * `fields` of `d` (those it has: a value other than undefined), one `field: value` line each; a
 * value that is not a string as JSON.
 * @returns '' when `d` has none of `fields`.
 * @param where names the document in errors (`documents[3]`).
 * @throws PlaitError INVALID_INPUT for a value JSON cannot write (a BigInt, a cycle: JSON.stringify's
 * TypeError had escaped as such), naming the document and the field (`details.rankField`).
 */
export function fieldLines(d: Readonly<Record<string, unknown>>, fields: readonly string[], where = 'the document'): string {
  return fields
    .filter((f) => d[f] !== undefined)
    .map((f) => `${f}: ${fieldValue(d[f], f, where)}`)
    .join('\n');
}

function fieldValue(v: unknown, field: string, where: string): string {
  if (typeof v === 'string') return v;
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch (cause) {
    throw new PlaitError('INVALID_INPUT', { message: `${where} field ${JSON.stringify(field)} cannot be written as text: ${(cause as Error).message}`, rankField: field }, { cause });
  }
  // A function or a symbol has no JSON: it is named by its kind rather than written as "undefined".
  return json ?? describe(v);
}

/**
 * The text document `i` is ranked on (the module's rule), checked as the encoder would check it.
 * `where` names the list in errors (`documents`, as the HTTP field and the library argument are named).
 * @throws PlaitError INVALID_INPUT (not a string or a plain object; an object whose `text` is not
 * a string, or with no field at all; a field value JSON cannot write), TEXT_NOT_UTF8 (an unpaired
 * surrogate), QUERY_TOO_LARGE (over ENCODER_DEFAULTS.maxTextLength UTF-16 code units). Each names
 * the document: `details.index`, and `details.field` `documents[i]` for the last two.
 */
export function documentText(d: unknown, i: number, rankFields: readonly string[] | undefined, where = 'documents'): string {
  const field = `${where}[${i}]`;
  const checked = (t: string): string => {
    if (!isWellFormed(t)) throw new PlaitError('TEXT_NOT_UTF8', { message: `${field} contains an unpaired surrogate`, field, index: i });
    if (t.length > ENCODER_DEFAULTS.maxTextLength) {
      throw new PlaitError('QUERY_TOO_LARGE', { message: `${field} has ${t.length} characters; the limit is ${ENCODER_DEFAULTS.maxTextLength}`, field, index: i, limit: ENCODER_DEFAULTS.maxTextLength, received: t.length });
    }
    return t;
  };
  if (typeof d === 'string') return checked(d);
  if (d === null || typeof d !== 'object' || Array.isArray(d)) {
    throw new PlaitError('INVALID_INPUT', { message: `${field} must be a string or an object but received ${describe(d)}`, index: i });
  }
  const o = d as Readonly<Record<string, unknown>>;
  const lines = (fields: readonly string[]): string => fieldLines(o, fields, field);
  if (rankFields !== undefined && rankFields.length > 0) return checked(lines(rankFields));
  // Without rank fields, Cohere ranks an object's `text`; an object without one is ranked on all
  // its fields, as Together's API does (its clients, @ai-sdk/togetherai's, send objects so).
  if (o['text'] === undefined) {
    const fields = Object.keys(o);
    if (fields.length === 0) throw new PlaitError('INVALID_INPUT', { message: `${field} is an empty object: no "text" and no field to rank on`, index: i });
    return checked(lines(fields));
  }
  if (typeof o['text'] !== 'string') throw new PlaitError('INVALID_INPUT', { message: `${field} is an object whose "text" field is not a string (or name the fields to rank on: rank_fields, the library's rankFields)`, index: i });
  return checked(o['text']);
}

/** The documents that hold none of the rank fields, and what to tell the caller about them. */
export interface MissingRankFieldsWarning {
  code: 'MISSING_RANK_FIELDS';
  /** The rank fields asked for. */
  rankFields: string[];
  /** Positions (in the input list, ascending) of the object documents holding none of them. */
  documents: number[];
  /** The HTTP routes' `meta.warnings` entry, word for word. */
  message: string;
}

/**
 * A warning when object documents hold none of `rankFields` (a typo such as `["titel"]`): they are
 * ranked as empty documents (−9999), which had come back as a plain answer with every score −9999.
 * @returns null when `rankFields` is absent or empty, or every object holds one of them (strings never count).
 */
export function missingRankFields(documents: readonly unknown[], rankFields: readonly string[] | undefined): MissingRankFieldsWarning | null {
  if (rankFields === undefined || rankFields.length === 0) return null;
  const none: number[] = [];
  documents.forEach((d, i) => {
    if (d !== null && typeof d === 'object' && rankFields.every((f) => (d as Record<string, unknown>)[f] === undefined)) none.push(i);
  });
  if (none.length === 0) return null;
  const n = none.length;
  return {
    code: 'MISSING_RANK_FIELDS',
    rankFields: [...rankFields],
    documents: none,
    message: `${n === 1 ? '1 document has' : `${n} documents have`} none of the rank_fields ${JSON.stringify(rankFields)}: ranked as empty documents (score -9999 a query token)`,
  };
}
