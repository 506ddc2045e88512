/**
 * The source text of a number in a JSON object's line, for ids written as numbers.
 *
 * JSON.parse reads every number as a float64, so an integer id past 2^53 (a tweet's or a
 * snowflake id such as 1405933483485474817, common in exported JSONL) comes back rounded:
 * `String(value)` gave "1405933483485474800", so two ids of one corpus became one
 * (`DUPLICATE_ID` naming an id the file does not hold) and a lone one was stored as an id its
 * qrels never name. Node 20's JSON.parse has no source-text access (the reviver's `context.source`
 * arrived in V8 11.4 / Node 21), so the line is read again by lossless-json, which keeps a number's
 * text — only for such a number, so the common path pays nothing.
 *
 * `idText` keeps a safe integer as `String(value)` (what ids written as numbers always gave:
 * `1.0` is "1"), and takes a larger integer as written where the source text is at hand (a file's
 * line) — without it (an HTTP body, a library call) such an id is refused, never rounded. A
 * fraction is refused at every door: 1.5, 1.50 and 15e-1 are one JSON number but three texts, so
 * its id would depend on who wrote the file (`numberIdRefusal` words both refusals).
 */

import { isLosslessNumber, parse } from 'lossless-json';

/**
 * The id a JSON value gives: a non-empty string as is; an integer as its decimal text (see the
 * module header); anything else `null` (no usable id).
 * @param value the parsed value of the id field
 * @param lineText the JSON object's source text (one JSONL line), when there is one
 * @param key the id field's name in that object
 * @returns the id, or `null`; `undefined` for a number that cannot be an id — a fraction, or an
 *   integer past 2^53 without `lineText` — which the caller refuses (`numberIdRefusal`) rather
 *   than store a rounded or ambiguous id
 */
export function idText(value: unknown, lineText: string | undefined, key: string): string | null | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  if (!Number.isInteger(value)) return undefined;
  if (Number.isSafeInteger(value)) return String(value);
  if (lineText === undefined) return undefined;
  return topLevelValueText(lineText, key) ?? String(value);
}

/**
 * Why a number `idText` answered `undefined` for cannot be an id, ending in what to do:
 * "is the number 1.5, not an integer: …; give the id as a string".
 */
export function numberIdRefusal(value: number): string {
  const why = Number.isInteger(value)
    ? 'an integer past 2^53 (Number.MAX_SAFE_INTEGER) that a JavaScript number cannot hold exactly, and the JSON text it was written as is not at hand here'
    : 'not an integer: a fraction is one number under many spellings (1.5, 1.50, 15e-1), so it names no one id';
  return `is the number ${String(value)}, ${why}: give the id as a string`;
}

/**
 * The raw text of the number at `key` in a JSON object's source (as written: lossless-json keeps
 * every number's text), or `null` when the text is not an object whose `key` holds a number, or
 * does not parse (lossless-json refuses duplicate keys with different values, which JSON.parse
 * allows: the caller then keeps `String(value)`).
 */
export function topLevelValueText(text: string, key: string): string | null {
  let parsed: unknown;
  try {
    parsed = parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const value = (parsed as Record<string, unknown>)[key];
  return isLosslessNumber(value) ? value.value : null;
}
