/**
 * The per-line result of a format parser, before the reader's id and text checks: either a
 * candidate document (its id may still be missing) or a line that could not be parsed at all.
 */

import type { PlaitError } from '../../errors/index.js';

export interface ParsedDocument {
  ok: true;
  /** Null when the record has no usable id (the reader reports MISSING_ID). */
  docId: string | null;
  title: string;
  text: string;
  metadata?: Record<string, unknown>;
  line: number;
  /** JSONL: top-level fields of the record that are none of the fields read (absent when there are none). */
  ignoredFields?: string[];
  /** The ignored fields holding non-blank text: what an EMPTY_TEXT document's text was likely meant to be. */
  ignoredTextFields?: string[];
  /** JSONL: the ignored fields whose name ends in "id" and whose value is a string or a number: what a MISSING_ID document's id was likely meant to be. */
  ignoredIdFields?: string[];
}

export interface ParseFailure {
  ok: false;
  /** The corpus report's skip reason (read-corpus.ts SKIP_REASON_CODES gives its error code). */
  kind: 'malformed' | 'malformedTsv' | 'malformedCsv' | 'malformedFrontMatter' | 'notUtf8';
  error: PlaitError;
}

export type ParsedRecord = ParsedDocument | ParseFailure;

/** A TSV cell's id (JSONL ids, which may be JSON numbers, go through util/json-number-text.ts `idText`); empty is missing. */
export function normaliseId(value: unknown): string | null {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}
