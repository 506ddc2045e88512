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
