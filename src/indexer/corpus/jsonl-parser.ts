/**
 * JSONL lines → documents. BEIR's `corpus.jsonl` is the default shape (`_id`, `title`, `text`,
 * optional `metadata`); generic JSONL names its fields through the options. Any other top-level
 * field is not read: the line's `ignoredFields` name them, and the reader warns once per name.
 */

import { PlaitError } from '../../errors/index.js';
import { idText, numberIdRefusal } from '../../util/json-number-text.js';
import type { ParsedDocument, ParsedRecord } from './parsed-record.js';

export interface JsonlFields {
  /** Candidate id fields, tried in order; the first present one wins. */
  idFields: readonly string[];
  textField: string;
  titleField: string;
  metadataField: string;
}

/** BEIR's field names; generic JSONL also accepts `id`, `docid` and `doc_id` as the id. */
export const BEIR_FIELDS: JsonlFields = { idFields: ['_id'], textField: 'text', titleField: 'title', metadataField: 'metadata' };
/** In a u-flag class, a surrogate matches only when unpaired. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

export const GENERIC_ID_FIELDS: readonly string[] = ['_id', 'id', 'docid', 'doc_id', 'docId'];

function malformed(file: string, line: number, message: string, cause?: unknown): ParsedRecord {
  return { ok: false, kind: 'malformed', error: new PlaitError('MALFORMED_JSONL', { message, file, line }, { cause }) };
}

export function parseJsonlLine(text: string, file: string, line: number, fields: JsonlFields): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return malformed(file, line, e instanceof Error ? e.message : String(e), e);
  }
  return parseJsonlRecord(value, file, line, fields, text);
}

/**
 * A JSONL line's value, or a document given in memory (`buildIndex(documents)`), read with `fields`:
 * the same rules either way (ids, text and title strings, metadata an object, ignored fields noted).
 * An id written as an integer is its decimal text, taken as written in `sourceText` past 2^53
 * (util/json-number-text.ts: JSON.parse rounds it); without a source, such a number is refused as
 * malformed, as is a fraction anywhere.
 */
export function parseJsonlRecord(value: unknown, file: string, line: number, fields: JsonlFields, sourceText?: string): ParsedRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return malformed(file, line, `expected a JSON object but found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const record = value as Record<string, unknown>;
  let docId: string | null = null;
  for (const field of fields.idFields) {
    if (record[field] !== undefined) {
      const id = idText(record[field], sourceText, field);
      if (id === undefined) {
        return malformed(file, line, `field "${field}" ${numberIdRefusal(record[field] as number)}`);
      }
      docId = id;
      break;
    }
  }
  const body = record[fields.textField] ?? '';
  const title = record[fields.titleField] ?? '';
  if (typeof body !== 'string') return malformed(file, line, `field "${fields.textField}" is not a string`);
  if (typeof title !== 'string') return malformed(file, line, `field "${fields.titleField}" is not a string`);
  if (LONE_SURROGATE.test(body) || LONE_SURROGATE.test(title) || (docId !== null && LONE_SURROGATE.test(docId))) {
    // A JSON escape such as "\ud800" decodes to a lone surrogate, which has no UTF-8 form.
    return { ok: false, kind: 'notUtf8', error: new PlaitError('TEXT_NOT_UTF8', { message: `${file} at line ${line} (a lone surrogate escape)`, file, line }) };
  }
  const metadata = record[fields.metadataField];
  if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    return malformed(file, line, `field "${fields.metadataField}" is not an object`);
  }
  const doc: ParsedDocument = { ok: true, docId, title, text: body, line };
  if (metadata !== undefined && metadata !== null && Object.keys(metadata).length > 0) {
    doc.metadata = metadata as Record<string, unknown>;
  }
  let ignored: string[] | undefined;
  for (const key in record) {
    if (key === fields.textField || key === fields.titleField || key === fields.metadataField || fields.idFields.includes(key)) continue;
    (ignored ??= []).push(key);
    const v = record[key];
    if (typeof v === 'string' && v.trim() !== '') (doc.ignoredTextFields ??= []).push(key);
    if (/id$/i.test(key) && (typeof v === 'string' || typeof v === 'number')) (doc.ignoredIdFields ??= []).push(key);
  }
  if (ignored !== undefined) doc.ignoredFields = ignored;
  return doc;
}
