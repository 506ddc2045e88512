/**
 * Shared helpers for the evaluation readers: line splitting and the one error they all raise for
 * a malformed line, naming the file and the 1-based line number.
 */

import { PlaitError } from '../errors/index.js';

/** Name used in errors when text did not come from a file. */
export const INLINE_SOURCE = '<inline>';

/** `PlaitError('INVALID_INPUT')` for a malformed line; the message says where ("file:line: ..."). */
export function malformedLine(file: string, line: number, message: string): PlaitError {
  return new PlaitError('INVALID_INPUT', { message: `${file}:${line}: ${message}`, file, line });
}

/** Lines of a text file without their terminators (LF or CRLF); a trailing newline adds no line. */
export function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** First non-blank line of a text (trimmed), or '' when there is none. Used for format sniffing. */
export function firstContentLine(text: string): string {
  for (const line of splitLines(text.length > 65_536 ? text.slice(0, 65_536) : text)) {
    const t = line.trim();
    if (t !== '') return t;
  }
  return '';
}

/** Splits a line on runs of spaces and tabs (the TREC formats' field separator). */
export function whitespaceFields(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/[ \t]+/);
}

/** Separators of hand-written tables that plait's line formats do not split on (CSV, Excel's `;`, Markdown's `|`). */
const OTHER_SEPARATORS = [',', ';', '|'] as const;

/**
 * What to do about a line with too few fields that another separator would have split into enough:
 * `; its fields are separated by ',' (a CSV file?), and plait splits them on tabs and spaces only;
 * convert it: tr ',' '\t' < q.csv > q.csv.tsv`, or '' when no other separator explains it. `convert`
 * is the command converting such a file, `{sep}` standing for the separator, `{file}` for the file (a
 * queries file converts only its first separator, since a query's text may hold more). A qrels file
 * exported from a spreadsheet as CSV had been refused as "expected 3 fields … but found 1" alone.
 */
export function otherSeparatorHint(file: string, line: string, fieldsWanted: number, splitOn: string, convert: string): string {
  for (const sep of OTHER_SEPARATORS) {
    if (line.split(sep).length < fieldsWanted) continue;
    const kind = sep === ',' ? 'a CSV file' : sep === ';' ? 'a CSV file in a decimal-comma locale' : 'a Markdown table';
    return `; its fields are separated by '${sep}' (${kind}?), and plait splits them on ${splitOn} only; convert it: ${convert.replaceAll('{sep}', sep).replaceAll('{file}', file)}`;
  }
  return '';
}
