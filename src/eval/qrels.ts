/**
 * Relevance judgments (qrels) readers: BEIR TSV (`query-id<TAB>corpus-id<TAB>score`, with a header
 * line) and TREC (`qid 0 docid rel`, whitespace-separated, no header).
 */

import { readTextFile } from './read-text-file.js';
import { PlaitError } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { INLINE_SOURCE, firstContentLine, malformedLine, splitLines, whitespaceFields } from './input-error.js';

/** query id → (doc id → grade). A grade > 0 means relevant; 0 or less means judged non-relevant. */
export type Qrels = Map<string, Map<string, number>>;

export type QrelsFormat = 'beir' | 'trec';

export interface ReadQrelsOptions {
  /** Overrides detection by content (4 fields on the first line → TREC, 3 → BEIR). */
  format?: QrelsFormat;
  /** File name used in error messages (parse functions only; readers use the path). */
  file?: string;
}

/** ReadQrelsOptions' keys (util/option-keys.ts): `{ fromat: 'trec' }` had detected the format instead. */
const READ_QRELS_OPTION_KEYS = { format: true, file: true } as const satisfies OptionKeys<ReadQrelsOptions>;

/** Detects the qrels format from the first non-blank line's field count. */
export function detectQrelsFormat(text: string): QrelsFormat {
  return whitespaceFields(firstContentLine(text)).length === 4 ? 'trec' : 'beir';
}

/**
 * Parses qrels. BEIR: three fields (tabs, or spaces), the first line skipped when its score field is
 * not a number (the `query-id corpus-id score` header). TREC: four fields, the second ignored.
 * Grades must be finite numbers. The same (query, doc) pair twice is accepted when the grades agree
 * and refused when they differ.
 */
export function parseQrels(text: string, options: ReadQrelsOptions = {}): Qrels {
  checkOptionKeys(options, READ_QRELS_OPTION_KEYS, 'qrels reader option');
  const file = options.file ?? INLINE_SOURCE;
  const format = options.format ?? detectQrelsFormat(text);
  if (format !== 'beir' && format !== 'trec') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Unknown qrels format ${String(format)}` });
  }
  const width = format === 'trec' ? 4 : 3;
  const docField = format === 'trec' ? 2 : 1;
  const qrels: Qrels = new Map();
  const lines = splitLines(text);
  let seenContent = false;
  for (let i = 0; i < lines.length; i++) {
    const fields = whitespaceFields(lines[i]!);
    if (fields.length === 0) continue;
    const isFirst = !seenContent;
    seenContent = true;
    if (fields.length !== width) {
      throw malformedLine(file, i + 1, `expected ${width} fields (${format === 'trec' ? 'qid 0 docid rel' : 'query-id corpus-id score'}) but found ${fields.length}`);
    }
    const gradeText = fields[width - 1]!;
    const grade = Number(gradeText);
    if (gradeText === '' || !Number.isFinite(grade)) {
      if (isFirst && format === 'beir') continue; // header line
      throw malformedLine(file, i + 1, `relevance grade ${JSON.stringify(gradeText)} is not a number`);
    }
    const qid = fields[0]!;
    const docId = fields[docField]!;
    let judged = qrels.get(qid);
    if (judged === undefined) {
      judged = new Map();
      qrels.set(qid, judged);
    }
    const previous = judged.get(docId);
    if (previous !== undefined && previous !== grade) {
      throw malformedLine(file, i + 1, `conflicting grades ${previous} and ${grade} for query "${qid}", doc "${docId}"`);
    }
    judged.set(docId, grade);
  }
  return qrels;
}

/** Reads a qrels file (UTF-8). */
export async function readQrels(path: string, options: ReadQrelsOptions = {}): Promise<Qrels> {
  checkOptionKeys(options, READ_QRELS_OPTION_KEYS, 'qrels reader option'); // before the file: a typo is named first
  const text = await readTextFile(path, 'qrels');
  return parseQrels(text, { ...options, file: options.file ?? path });
}
