/**
 * TSV lines → documents: `id<TAB>text` or `id<TAB>text<TAB>title` (MS MARCO's collection.tsv
 * shape). A header line is detected by its first cell naming an id column.
 */

import { PlaitError } from '../../errors/index.js';
import { normaliseId, type ParsedRecord } from './parsed-record.js';

const HEADER_ID_CELLS = new Set(['id', '_id', 'docid', 'doc_id', 'doc-id', 'pid', 'docno']);

export function looksLikeTsvHeader(line: string): boolean {
  const tab = line.indexOf('\t');
  const first = (tab < 0 ? line : line.slice(0, tab)).trim().toLowerCase();
  return HEADER_ID_CELLS.has(first);
}

export function parseTsvLine(text: string, file: string, line: number): ParsedRecord {
  const cells = text.split('\t');
  if (cells.length < 2 || cells.length > 3) {
    return {
      ok: false,
      kind: 'malformedTsv',
      error: new PlaitError('MALFORMED_TSV', {
        message: `expected 2 or 3 tab-separated columns (id, text, title) but found ${cells.length}`,
        file,
        line,
      }),
    };
  }
  return { ok: true, docId: normaliseId((cells[0] as string).trim()), text: cells[1] as string, title: cells[2] ?? '', line };
}
