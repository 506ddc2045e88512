/**
 * The source text of a number in a JSON object's line, for ids written as numbers.
 *
 * JSON.parse reads every number as a float64, so an integer id past 2^53 (a tweet's or a
 * snowflake id such as 1405933483485474817, common in exported JSONL) comes back rounded:
 * `String(value)` gave "1405933483485474800", so two ids of one corpus became one
 * (`DUPLICATE_ID` naming an id the file does not hold) and a lone one was stored as an id its
 * qrels never name. Node 20's JSON.parse has no source-text access (the reviver's `context.source`
 * arrived in V8 11.4 / Node 21), so this module finds the number's text in the line itself.
 *
 * `idText` keeps a safe integer as `String(value)` (what ids written as numbers always gave:
 * `1.0` is "1"), and takes any other number as written.
 */

/**
 * The id a JSON value gives: a non-empty string as is; a finite number as its text (see the
 * module header); anything else `null` (no usable id).
 * @param value the parsed value of the id field
 * @param lineText the JSON object's source text (one JSONL line), when there is one
 * @param key the id field's name in that object
 * @returns the id, or `null`; `undefined` for a number that cannot be given exactly (past 2^53
 *   or not an integer) without `lineText` — the caller refuses it rather than store a rounded id
 */
export function idText(value: unknown, lineText: string | undefined, key: string): string | null | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  if (Number.isSafeInteger(value)) return String(value);
  if (lineText === undefined) return Number.isInteger(value) ? undefined : String(value);
  return topLevelValueText(lineText, key) ?? String(value);
}

/**
 * The raw text of `key`'s value in a JSON object's source (the last occurrence, as JSON.parse
 * keeps), or `null` when the text is not an object holding that key. The text must be valid JSON
 * (the caller parsed it first); nothing is validated here.
 */
export function topLevelValueText(text: string, key: string): string | null {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) === 0xfeff) i = skipSpace(text, i + 1);
  if (text[i] !== '{') return null;
  i = skipSpace(text, i + 1);
  let found: string | null = null;
  while (i < text.length && text[i] === '"') {
    const keyEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') return null;
    const start = skipSpace(text, i + 1);
    const end = skipValue(text, start);
    if (name === key) found = text.slice(start, end);
    i = skipSpace(text, end);
    if (text[i] !== ',') break;
    i = skipSpace(text, i + 1);
  }
  return found;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

/** `i` at a string's opening quote; returns the index after its closing quote. */
function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

/** `i` at a value's first character; returns the index after the value. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = skipString(text, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i;
  while (j < text.length && !/[\s,}\]]/.test(text[j]!)) j++;
  return j;
}
