/**
 * Relevance judgments (qrels) readers: BEIR TSV (`query-id<TAB>corpus-id<TAB>score`, with or without
 * a header line, extra columns ignored) and TREC (`qid iter docid rel`, read as trec_eval reads it:
 * fields split on any run of spaces and tabs, exactly four, `iter` ignored; a header line skipped).
 * Grades are integers (nfcorpus' and TREC-COVID's 0/1/2 included); 0 and negative are judged not relevant.
 *
 * Which format a file is, without `format` (the variants and how each is read):
 *  - a first line naming its columns (`query-id`, `qid`, `topic`, …) is a header: BEIR, unless it
 *    has four names whose second is TREC's iteration (`iter`, `iteration`, `0`, `Q0`): TREC;
 *  - else four white-space fields on the first line (tabs, spaces, or both mixed, as trec_eval
 *    splits them) are TREC, unless its tab-separated fields are three (a BEIR line whose id holds a
 *    space: `q 1<TAB>Meeting notes<TAB>1`);
 *  - anything else is BEIR (three tab-separated fields or more; white space when there is no tab).
 * A headerless four-column file is ambiguous when it is also a BEIR file with an extra column: its
 * third column is an integer on every line (a BEIR grade) and its second varies from line to line
 * (TREC's iteration, which trec_eval ignores, is the same on every line of TREC's own qrels: 0). Read
 * as TREC, `q1 d7 1 0` would judge a document "1"; so such a file is refused (INVALID_INPUT naming
 * the first line whose second column differs), saying how to make it one or the other.
 */

import { readTextFile } from './read-text-file.js';
import { PlaitError, checkString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { INLINE_SOURCE, firstContentLine, malformedLine, otherSeparatorHint, splitLines, whitespaceFields } from './input-error.js';

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

/** First fields of a qrels header line (`query-id<TAB>corpus-id<TAB>score`, and its common spellings). */
const HEADER_QUERY_FIELDS = new Set(['query-id', 'query_id', 'queryid', 'qid', 'query', 'topic', 'topic_id', 'topic-id']);
/** Second fields of a TREC header line (`qid iter docno rel`): TREC's iteration column. */
const HEADER_ITER_FIELDS = new Set(['iter', 'iteration', '0', 'q0']);

/** Whether `fields` are a header line: the first names the query column. */
function isHeader(fields: readonly string[]): boolean {
  return fields.length > 0 && HEADER_QUERY_FIELDS.has(fields[0]!.toLowerCase());
}

/**
 * Detects the qrels format from the first non-blank line (the rules in this file's header): a BEIR
 * header → BEIR whatever the column count (BEIR's loader reads the first three and ignores the
 * rest), a TREC header (`qid iter docno rel`) → TREC; else four white-space fields → TREC (unless
 * three tab-separated ones), anything else → BEIR.
 */
export function detectQrelsFormat(text: string): QrelsFormat {
  const line = firstContentLine(text);
  const ws = whitespaceFields(line);
  if (isHeader(ws)) return ws.length === 4 && HEADER_ITER_FIELDS.has(ws[1]!.toLowerCase()) ? 'trec' : 'beir';
  return ws.length === 4 && qrelsFields(line).length !== 3 ? 'trec' : 'beir';
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
  checkString('text', text, 'the text of a qrels file (a string)');
  const file = options.file ?? INLINE_SOURCE;
  const format = options.format ?? detectQrelsFormat(text);
  if (format !== 'beir' && format !== 'trec') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Unknown qrels format ${String(format)}` });
  }
  const docField = format === 'trec' ? 2 : 1;
  const qrels: Qrels = new Map();
  const lines = splitLines(text);
  // trec_eval splits a TREC line on any white space (its ids hold none); BEIR on tabs when there are any.
  const split = format === 'trec' ? whitespaceFields : qrelsFields;
  if (options.format === undefined && format === 'trec') refuseAmbiguousTrec(lines, file);
  let seenContent = false;
  for (let i = 0; i < lines.length; i++) {
    const fields = split(lines[i]!);
    if (fields.length === 0) continue;
    const isFirst = !seenContent;
    seenContent = true;
    if (format === 'trec' ? fields.length !== 4 : fields.length < 3) {
      const wanted = format === 'trec' ? 4 : 3;
      throw malformedLine(file, i + 1, `expected ${wanted} fields (${format === 'trec' ? 'qid 0 docid rel, split on spaces and tabs as trec_eval splits them' : 'query-id corpus-id score'}) but found ${fields.length}${qrelsLineHint(file, lines[i]!, fields.length, wanted)}`);
    }
    const gradeText = fields[format === 'trec' ? 3 : 2]!;
    const grade = Number(gradeText);
    if (gradeText === '' || !Number.isFinite(grade)) {
      if (isFirst && (format === 'beir' || isHeader(fields))) continue; // header line
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

/**
 * What to do about a qrels line of too few fields: another separator (a CSV export: `tr`), or the
 * grade left out (`q1 d7`, a list of relevant documents: BEIR and trec_eval need the grade, 1).
 */
function qrelsLineHint(file: string, line: string, found: number, wanted: number): string {
  const separator = otherSeparatorHint(file, line, wanted, 'tabs and spaces', "tr '{sep}' '\\t' < {file} > {file}.tsv");
  if (separator !== '') return separator;
  if (found === 2) return '; a line needs a relevance grade after the document id (1 for relevant, 0 for judged not relevant): query-id<TAB>corpus-id<TAB>1';
  return '';
}

/**
 * Refuses a headerless four-column file that reads as TREC and as BEIR with an extra column (this
 * file's header): the third column an integer on every line, the second not the same on every line.
 * @throws PlaitError INVALID_INPUT naming the first line whose second column differs from the first line's.
 */
function refuseAmbiguousTrec(lines: readonly string[], file: string): void {
  let iter: string | null = null;
  let differs = 0;
  let first = 0;
  for (let i = 0; i < lines.length; i++) {
    const f = whitespaceFields(lines[i]!);
    if (f.length === 0) continue;
    if (iter === null) {
      if (isHeader(f)) return; // a TREC header names its columns: not ambiguous
      iter = f[1] ?? '';
      first = i + 1;
    }
    if (f.length !== 4 || !/^[+-]?\d+$/.test(f[2]!)) return; // a document id no grade could be: TREC
    if (differs === 0 && f[1] !== iter) differs = i + 1;
  }
  if (differs === 0) return;
  const line = lines[differs - 1]!.trim();
  throw new PlaitError('INVALID_INPUT', {
    message:
      `${file}:${differs}: cannot tell whether this headerless 4-column qrels file is TREC (qid iter docid rel) or BEIR with an extra column (query-id corpus-id score …): ` +
      `"${line}" as TREC judges document "${whitespaceFields(line)[2]}" with grade ${whitespaceFields(line)[3]}, as BEIR document "${whitespaceFields(line)[1]}" with grade ${whitespaceFields(line)[2]}. ` +
      `Every third column is an integer (a BEIR grade) and the second column differs from line ${first}'s (TREC's iteration is the same on every line: 0). ` +
      'To read it as BEIR, add the header line query-id<TAB>corpus-id<TAB>score; as TREC, write 0 in its second column (trec_eval ignores it); the library takes { format: "trec" | "beir" }',
    file,
    line: differs,
    reason: 'ambiguousFormat',
  });
}

/** Reads a qrels file (UTF-8, or gzip'd UTF-8; eval/read-text-file.ts names the errors). */
export async function readQrels(path: string, options: ReadQrelsOptions = {}): Promise<Qrels> {
  checkOptionKeys(options, READ_QRELS_OPTION_KEYS, 'qrels reader option'); // before the file: a typo is named first
  const text = await readTextFile(path, 'qrels');
  return parseQrels(text, { ...options, file: options.file ?? path });
}
