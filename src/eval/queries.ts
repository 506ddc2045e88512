/**
 * Query readers: BEIR `queries.jsonl` (`{"_id", "text"}`; `id` and `query` also read), TSV (`qid<TAB>text`) and TREC topic
 * files (`<top> <num> Number: 51 <title> ... </top>`, the title is the query).
 *
 * A query whose text is empty (or only white space) is skipped, as trec_eval and BEIR do (a real
 * TREC topic file has one): it is left out of the result and reported to `onSkip`, so that the
 * caller can warn and count. A query id may hold spaces (a BEIR queries.jsonl or TSV line carries
 * them; only a TREC run cannot, and its writer refuses it: eval/run.ts `checkRunId`); everything
 * malformed is an `INVALID_INPUT` error naming file and line.
 * Files are read as UTF-8 (`TEXT_NOT_UTF8` with the line otherwise), a gzip'd one decompressed (its
 * format told by the name under the `.gz`; `CORRUPT_INPUT` when it does not decompress; other
 * compressions `COMPRESSED_INPUT`).
 * A BEIR line's other fields (`metadata`, …) are not read.
 */

import { readTextFile } from './read-text-file.js';
import { PlaitError, checkString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { idText } from '../util/json-number-text.js';
import { INLINE_SOURCE, firstContentLine, malformedLine, otherSeparatorHint, splitLines } from './input-error.js';

export interface EvalQuery {
  id: string;
  text: string;
}

export type QueriesFormat = 'beir-jsonl' | 'tsv' | 'trec-topics';

export interface ReadQueriesOptions {
  /** Overrides detection (by extension, then content). */
  format?: QueriesFormat;
  /** File name used in error messages (parse functions only; readers use the path). */
  file?: string;
  /** Called for each query left out (today only for empty text); the query is skipped either way. */
  onSkip?: (query: SkippedQuery) => void;
}

/** ReadQueriesOptions' keys (util/option-keys.ts): `{ onskip }` had skipped queries without a word. */
const READ_QUERIES_OPTION_KEYS = { format: true, file: true, onSkip: true } as const satisfies OptionKeys<ReadQueriesOptions>;

/** A query the reader left out, with where it was and why. */
export interface SkippedQuery {
  id: string;
  file: string;
  line: number;
  reason: 'EMPTY_TEXT';
}

/** TSV header first fields that mark line 1 as a header, not a query. */
const TSV_HEADER_IDS = new Set(['qid', 'query-id', 'query_id', 'queryid', 'id', '_id']);

/**
 * Detects the format: `.jsonl`/`.json` (or `.jsonl.gz`, `.json.gz`) → BEIR JSONL; otherwise by content: a first line starting
 * with `{` → BEIR JSONL, a `<top>` or `<topic` tag → TREC topics, anything else → TSV.
 */
export function detectQueriesFormat(text: string, file?: string): QueriesFormat {
  const lower = (file ?? '').toLowerCase().replace(/\.gz$/, '');
  if (lower.endsWith('.jsonl') || lower.endsWith('.json')) return 'beir-jsonl';
  const first = firstContentLine(text);
  if (first.startsWith('{')) return 'beir-jsonl';
  if (/<top>|<topic[\s>]/i.test(text.slice(0, 65_536))) return 'trec-topics';
  return 'tsv';
}

/** Parses queries from text. An id twice with the same text is read once; with another text it is `INVALID_INPUT` at the second occurrence. */
export function parseQueries(text: string, options: ReadQueriesOptions = {}): EvalQuery[] {
  checkOptionKeys(options, READ_QUERIES_OPTION_KEYS, 'queries reader option');
  checkString('text', text, 'the text of a queries file (a string)');
  const file = options.file ?? INLINE_SOURCE;
  const format = options.format ?? detectQueriesFormat(text, options.file);
  const out = new QueryCollector(file, options.onSkip);
  switch (format) {
    case 'beir-jsonl':
      return parseJsonl(text, out);
    case 'tsv':
      return parseTsv(text, out);
    case 'trec-topics':
      return parseTrecTopics(text, out);
    default:
      throw new PlaitError('INVALID_ARGUMENT', { message: `Unknown queries format ${String(format)}` });
  }
}

/** Reads a queries file (UTF-8). */
export async function readQueries(path: string, options: ReadQueriesOptions = {}): Promise<EvalQuery[]> {
  checkOptionKeys(options, READ_QUERIES_OPTION_KEYS, 'queries reader option'); // before the file: a typo is named first
  const text = await readTextFile(path, 'queries');
  return parseQueries(text, { ...options, file: options.file ?? path });
}

class QueryCollector {
  readonly queries: EvalQuery[] = [];
  /** Every id read so far → its text (empty for a skipped query). */
  private readonly seen = new Map<string, string>();
  constructor(
    readonly file: string,
    private readonly onSkip?: (query: SkippedQuery) => void,
  ) {}

  add(id: string, text: string, line: number): void {
    if (id === '') throw malformedLine(this.file, line, 'empty query id');
    // The same line twice (a concatenated or re-exported file) is read once, as its qrels twin is;
    // BEIR's loader keeps the last text of an id, so another text under the same id stays refused.
    const previous = this.seen.get(id);
    if (previous !== undefined) {
      if (previous === text) return;
      throw malformedLine(this.file, line, `duplicate query id "${id}" with another text`);
    }
    this.seen.set(id, text);
    if (text.trim() === '') {
      this.onSkip?.({ id, file: this.file, line, reason: 'EMPTY_TEXT' });
      return;
    }
    this.queries.push({ id, text });
  }
}

function parseJsonl(text: string, out: QueryCollector): EvalQuery[] {
  const file = out.file;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw malformedLine(file, i + 1, `not valid JSON (${(e as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw malformedLine(file, i + 1, 'expected a JSON object');
    }
    const record = value as Record<string, unknown>;
    const idField = record['_id'] !== undefined && record['_id'] !== null ? '_id' : 'id';
    const rawId = record[idField];
    if (typeof rawId !== 'string' && typeof rawId !== 'number') {
      throw malformedLine(file, i + 1, 'missing "_id" (a string or number)');
    }
    // "text" is BEIR's; "query" is what many other exports call it (TREC DL, MS MARCO JSONL).
    const body = record['text'] ?? record['query'];
    if (typeof body !== 'string') {
      const texts = Object.keys(record).filter((k) => k !== '_id' && k !== 'id' && typeof record[k] === 'string' && (record[k] as string).trim() !== '');
      const held = texts.length === 0 ? '' : `; ${texts.map((k) => JSON.stringify(k)).join(', ')} ${texts.length === 1 ? 'holds' : 'hold'} text: rename the query's field to "text"`;
      throw malformedLine(file, i + 1, `missing "text" (or "query"), a string${held}`);
    }
    // As written: a number id past 2^53 read through String() was rounded (util/json-number-text.ts).
    out.add(idText(rawId, line, idField) ?? String(rawId), body, i + 1);
  }
  return out.queries;
}

/**
 * What to do about a queries line without a tab: another separator (a CSV export: the first one
 * becomes the tab, a query's text may hold more), or a space after the id, which plait does not
 * take as the separator since a query id may hold one (`sed` turns the first space into a tab).
 */
function queryLineHint(file: string, line: string): string {
  const separator = otherSeparatorHint(file, line, 2, 'a tab', "sed 's/{sep}/\\t/' {file} > {file}.tsv");
  if (separator !== '') return separator;
  if (/\S\s+\S/.test(line.trim())) return `; this line has no tab between the query id and its text: separate them with a tab (sed 's/ /\\t/' ${file} > ${file}.tsv turns each line's first space into one)`;
  return '; a line is the query id, a tab, then the query text';
}

function parseTsv(text: string, out: QueryCollector): EvalQuery[] {
  const file = out.file;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const tab = line.indexOf('\t');
    if (tab < 0) throw malformedLine(file, i + 1, `expected "qid<TAB>text"${queryLineHint(file, line)}`);
    const id = line.slice(0, tab).trim();
    if (out.queries.length === 0 && TSV_HEADER_IDS.has(id.toLowerCase())) continue;
    out.add(id, line.slice(tab + 1).trim(), i + 1);
  }
  return out.queries;
}

/**
 * TREC topics. Classic files: each `<top> ... </top>` block needs a `<num>` and a `<title>`; the
 * title runs from its tag to the next tag (so both `<title> text` on its own lines and
 * `<title>text</title>` work); a leading "Number:" / "Topic:" label is dropped, and a numeric id
 * loses its leading zeros ("051" → "51") to match TREC qrels, which write topic numbers without
 * them. XML-style files (`<topic number="1"> <query>...</query>`, e.g. TREC-COVID) take the
 * `<query>` (else the `<title>`) as the text and the `number` attribute as the id.
 */
function parseTrecTopics(text: string, out: QueryCollector): EvalQuery[] {
  const file = out.file;
  const lineStarts = lineStartOffsets(text);
  const lineAt = (offset: number): number => upperBound(lineStarts, offset);
  const classic = /<top>/i.test(text);
  const blockRe = classic ? /<top>([\s\S]*?)<\/top>/gi : /<topic\b([^>]*)>([\s\S]*?)<\/topic>/gi;
  let match: RegExpExecArray | null;
  let lastEnd = 0;
  while ((match = blockRe.exec(text)) !== null) {
    const gap = text.slice(lastEnd, match.index);
    if (/<(num|title|query)>/i.test(gap)) throw malformedLine(file, lineAt(lastEnd), 'tag outside a topic block');
    lastEnd = match.index + match[0].length;
    const blockLine = lineAt(match.index);
    let id: string | null;
    let title: string | null;
    if (classic) {
      const block = match[1]!;
      id = tagText(block, 'num');
      title = tagText(block, 'title');
      if (id === null) throw malformedLine(file, blockLine, 'topic without <num>');
      if (title === null) throw malformedLine(file, blockLine, 'topic without <title>');
    } else {
      id = /\bnumber\s*=\s*["']?([^"'\s>]+)/i.exec(match[1]!)?.[1] ?? null;
      title = tagText(match[2]!, 'query') ?? tagText(match[2]!, 'title');
      if (id === null) throw malformedLine(file, blockLine, '<topic> without a number attribute');
      if (title === null) throw malformedLine(file, blockLine, 'topic without <query> or <title>');
    }
    id = id.replace(/^number\s*:\s*/i, '').trim();
    if (/^\d+$/.test(id)) id = String(Number.parseInt(id, 10));
    const query = title.replace(/^topic\s*:\s*/i, '').replace(/\s+/g, ' ').trim();
    out.add(id, query, blockLine);
  }
  const rest = text.slice(lastEnd);
  if (/<top>|<topic\b|<num>|<title>/i.test(rest)) throw malformedLine(file, lineAt(lastEnd), 'unterminated topic block');
  if (out.queries.length === 0 && lastEnd === 0 && text.trim() !== '') throw malformedLine(file, 1, 'no topics found');
  return out.queries;
}

/** Text after `<tag>` up to the next tag, or null when the tag is absent. */
function tagText(block: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>([^<]*)`, 'i').exec(block);
  return m === null ? null : m[1]!.trim();
}

function lineStartOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line number of an offset given the sorted line start offsets. */
function upperBound(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
