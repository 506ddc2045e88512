/**
 * Relevance judgments (qrels) readers: BEIR TSV (`query-id<TAB>corpus-id<TAB>score`, with or without
 * a header line, extra columns ignored) and TREC (`qid 0 docid rel`, whitespace-separated, no header).
 * Grades are integers (nfcorpus' and TREC-COVID's 0/1/2 included); 0 and negative are judged not relevant.
 */

import { readTextFile } from './read-text-file.js';
import { PlaitError } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { INLINE_SOURCE, firstContentLine, malformedLine, splitLines } from './input-error.js';

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

/** First fields of a BEIR qrels header line (`query-id<TAB>corpus-id<TAB>score`, and its common spellings). */
const HEADER_QUERY_FIELDS = new Set(['query-id', 'query_id', 'queryid', 'qid', 'query', 'topic', 'topic_id', 'topic-id']);

/**
 * Detects the qrels format from the first non-blank line: a BEIR header (first field `query-id` or
 * a spelling of it) → BEIR whatever the column count (BEIR's loader reads the first three and
 * ignores the rest); else four fields → TREC, anything else → BEIR.
 */
export function detectQrelsFormat(text: string): QrelsFormat {
  const fields = qrelsFields(firstContentLine(text));
  if (fields.length > 0 && HEADER_QUERY_FIELDS.has(fields[0]!.toLowerCase())) return 'beir';
  return fields.length === 4 ? 'trec' : 'beir';
}

/**
 * A qrels line's fields: split on tabs when the line has one (BEIR's loader reads TSV with a tab
 * delimiter, so an id may hold a space: "Meeting notes 2026-03" is one id, as plait's document ids
 * may be), else on runs of white space (trec_eval's format, whose ids cannot hold one).
 */
export function qrelsFields(line: string): string[] {
  const t = line.trim();
  if (t === '') return [];
  return t.includes('\t') ? t.split('\t').map((f) => f.trim()) : t.split(/[ \t]+/);
}

/**
 * Parses qrels. BEIR: at least three fields (tab-separated, or white space), the first line skipped
 * when its score field is not a number (the `query-id corpus-id score` header), columns after the
 * third ignored (as BEIR's loader does). TREC: four fields, the second ignored. Grades must be
 * integers, as trec_eval (`atol`) and BEIR (`int()`) read them: `0.5` had counted as relevant with
 * gain 0.5 where trec_eval reads 0 and BEIR's loader stops; `1.0` is 1. A grade ≤ 0 is judged not
 * relevant. The same (query, doc) pair twice is accepted when the grades agree and refused when
 * they differ.
 * @throws PlaitError INVALID_INPUT (a malformed line, with `file` and `line`).
 */
export function parseQrels(text: string, options: ReadQrelsOptions = {}): Qrels {
  checkOptionKeys(options, READ_QRELS_OPTION_KEYS, 'qrels reader option');
  const file = options.file ?? INLINE_SOURCE;
  const format = options.format ?? detectQrelsFormat(text);
  if (format !== 'beir' && format !== 'trec') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Unknown qrels format ${String(format)}` });
  }
  const docField = format === 'trec' ? 2 : 1;
  const qrels: Qrels = new Map();
  const lines = splitLines(text);
  let seenContent = false;
  for (let i = 0; i < lines.length; i++) {
    const fields = qrelsFields(lines[i]!);
    if (fields.length === 0) continue;
    const isFirst = !seenContent;
    seenContent = true;
    if (format === 'trec' ? fields.length !== 4 : fields.length < 3) {
      throw malformedLine(file, i + 1, `expected ${format === 'trec' ? '4' : '3'} fields (${format === 'trec' ? 'qid 0 docid rel' : 'query-id corpus-id score'}) but found ${fields.length}`);
    }
    const gradeText = fields[format === 'trec' ? 3 : 2]!;
    const grade = Number(gradeText);
    if (gradeText === '' || !Number.isFinite(grade)) {
      if (isFirst && format === 'beir') continue; // header line
      throw malformedLine(file, i + 1, `relevance grade ${JSON.stringify(gradeText)} is not a number`);
    }
    if (!/^[+-]?\d+(?:\.0*)?$/.test(gradeText)) {
      throw malformedLine(file, i + 1, `relevance grade ${JSON.stringify(gradeText)} is not an integer (trec_eval reads it as ${Math.trunc(grade)}, BEIR's loader refuses it): write graded judgments as 0, 1, 2, …`);
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

/** Reads a qrels file (UTF-8, or gzip'd UTF-8; eval/read-text-file.ts names the errors). */
export async function readQrels(path: string, options: ReadQrelsOptions = {}): Promise<Qrels> {
  checkOptionKeys(options, READ_QRELS_OPTION_KEYS, 'qrels reader option'); // before the file: a typo is named first
  const text = await readTextFile(path, 'qrels');
  return parseQrels(text, { ...options, file: options.file ?? path });
}
