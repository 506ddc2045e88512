/**
 * Runs (ranked results per query) and the TREC run format `qid Q0 docid rank score tag`: reading,
 * formatting, writing, and trec_eval's ordering of hits.
 */

import { readTextFile } from './read-text-file.js';
import { PlaitError, checkOptions, checkString, checkMap, checkNonEmptyString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { INLINE_SOURCE, malformedLine, otherSeparatorHint, splitLines, whitespaceFields } from './input-error.js';

export interface RunHit {
  docId: string;
  score: number;
  /**
   * The hit's 1-based rank in the whole ranking, when it is not its place in the list: a page
   * (`plait search --queries … --offset 20` writes ranks 21…, as a single search prints them; the run
   * had been numbered 1… again, trial 12). Absent: the place in the list.
   */
  rank?: number;
}

/** query id → hits, best first. */
export type Run = Map<string, RunHit[]>;

export interface ReadRunOptions {
  /** File name used in error messages (parse functions only; readers use the path). */
  file?: string;
}

/** The run readers' and writers' keys (util/option-keys.ts): `writeRun(p, run, { Tag: 'x' })` had written the default tag. */
const READ_RUN_OPTION_KEYS = { file: true } as const satisfies OptionKeys<ReadRunOptions>;

export interface WriteRunOptions {
  /** Run tag, the sixth column (default "plait"); no whitespace. */
  tag?: string;
}
const WRITE_RUN_OPTION_KEYS = { tag: true } as const satisfies OptionKeys<WriteRunOptions>;

/**
 * trec_eval's order of a query's hits (`comp_sim_docno` in trec_eval's form_res_rels.c): score
 * descending, then doc id descending by `strcmp` (byte order of the UTF-8 ids). The rank column of
 * a run file plays no part. Ties between equal scores therefore go to the larger doc id.
 */
export function compareTrecEval(a: RunHit, b: RunHit): number {
  if (a.score > b.score) return -1;
  if (a.score < b.score) return 1;
  return compareBytes(b.docId, a.docId);
}

/** `strcmp` on the UTF-8 encodings (UTF-16 order differs from it only above the BMP). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  if (isAscii(a) && isAscii(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Sorts every query's hits into trec_eval order, in place, and returns the run. */
export function sortRunTrecEval(run: Run): Run {
  for (const hits of run.values()) hits.sort(compareTrecEval);
  return run;
}

/**
 * Parses a TREC run. Each line has six whitespace-separated fields; the iteration (Q0) and tag are
 * ignored, the rank must be an integer, the score a finite number. A doc id twice for one query is
 * refused (trec_eval refuses it too). Each query's hits come back in trec_eval order (see
 * `compareTrecEval`), whatever the order and rank column of the file.
 */
export function parseRun(text: string, options: ReadRunOptions = {}): Run {
  checkOptionKeys(options, READ_RUN_OPTION_KEYS, 'run reader option');
  checkString('text', text, 'the text of a TREC run file (a string)');
  const file = options.file ?? INLINE_SOURCE;
  const run: Run = new Map();
  const seen = new Map<string, Set<string>>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const fields = whitespaceFields(lines[i]!);
    if (fields.length === 0) continue;
    if (fields.length !== 6) {
      throw malformedLine(file, i + 1, `expected 6 fields (qid Q0 docid rank score tag) but found ${fields.length}${otherSeparatorHint(file, lines[i]!, 6, 'tabs and spaces', "tr '{sep}' ' ' < {file} > {file}.trec")}`);
    }
    const [qid, , docId, rankText, scoreText] = fields as [string, string, string, string, string, string];
    if (!/^[+-]?\d+$/.test(rankText)) throw malformedLine(file, i + 1, `rank ${JSON.stringify(rankText)} is not an integer`);
    const score = Number(scoreText);
    if (!Number.isFinite(score)) throw malformedLine(file, i + 1, `score ${JSON.stringify(scoreText)} is not a finite number`);
    let docs = seen.get(qid);
    let hits = run.get(qid);
    if (docs === undefined || hits === undefined) {
      docs = new Set();
      hits = [];
      seen.set(qid, docs);
      run.set(qid, hits);
    }
    if (docs.has(docId)) throw malformedLine(file, i + 1, `doc "${docId}" appears twice for query "${qid}"`);
    docs.add(docId);
    hits.push({ docId, score });
  }
  return sortRunTrecEval(run);
}

/** Reads a TREC run file (UTF-8, or gzip'd UTF-8; eval/read-text-file.ts names the errors). */
export async function readRun(path: string, options: ReadRunOptions = {}): Promise<Run> {
  checkOptionKeys(options, READ_RUN_OPTION_KEYS, 'run reader option');
  const text = await readTextFile(path, 'run');
  return parseRun(text, { file: options.file ?? path });
}

/**
 * Formats a run as TREC run text, hits in the order given, ranks from 1; scores are written in full
 * precision. This is the one door of the TREC run format (`plait search --queries` to stdout or
 * `--run`, pipelines' `--run`, `plait eval --run-dir`, the library's `writeRun`): a line is split on
 * white space, so an id holding any could not be read back (by trec_eval or `parseRun`), and is
 * refused here — plait's document and query ids may hold spaces everywhere else.
 * @throws PlaitError ID_WHITESPACE (a query or document id holding white space, or an empty one:
 *   `details.id`, `details.field` 'queryId' | 'docId', `details.queryId`), INVALID_ARGUMENT (a tag
 *   with white space, a score that is not finite).
 */
export function formatRun(run: Run, options: WriteRunOptions = {}): string {
  checkOptionKeys(options, WRITE_RUN_OPTION_KEYS, 'run writer option');
  checkMap('run', run, 'a run (a Map of query id to hits)');
  const tag = options.tag ?? 'plait';
  checkToken(tag, 'run tag');
  const parts: string[] = [];
  for (const [qid, hits] of run) {
    checkRunId(qid, 'queryId', qid);
    for (let r = 0; r < hits.length; r++) {
      const hit = hits[r]!;
      checkRunId(hit.docId, 'docId', qid);
      if (!Number.isFinite(hit.score)) {
        throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a finite score for doc "${hit.docId}" of query "${qid}" but received ${hit.score}` });
      }
      parts.push(`${qid} Q0 ${hit.docId} ${hit.rank ?? r + 1} ${hit.score} ${tag}\n`);
    }
  }
  return parts.join('');
}

/** Writes a TREC run file atomically (temporary file, then rename). */
export async function writeRun(path: string, run: Run, options: WriteRunOptions = {}): Promise<void> {
  checkNonEmptyString('path', path, 'a file path');
  checkMap('run', run, 'a run (a Map of query id to hits)');
  checkOptions('options', options);
  await writeFileAtomic(path, formatRun(run, options));
}

/**
 * Refuses an id a TREC run line cannot carry (white space splits the line's fields; an empty id
 * leaves a field out), in words that say what to write instead.
 * @param field which column the id fills
 * @param queryId the query the line belongs to (for a document id's message)
 * @throws PlaitError ID_WHITESPACE
 */
export function checkRunId(id: string, field: 'queryId' | 'docId', queryId: string): void {
  if (id !== '' && !/\s/u.test(id)) return;
  const what = field === 'queryId' ? `query id ${JSON.stringify(id)}` : `document id ${JSON.stringify(id)} (a hit of query ${JSON.stringify(queryId)})`;
  throw new PlaitError('ID_WHITESPACE', {
    message:
      `${what} ${id === '' ? 'is empty' : 'holds white space'}, which a TREC run line (qid Q0 docid rank score tag, split on white space) cannot carry: ` +
      'write the results as JSON instead (plait search --json), or give the ' + (field === 'queryId' ? 'queries' : 'documents') + ' ids without white space for trec_eval',
    id,
    field,
    queryId,
  });
}

function checkToken(value: string, name: string): void {
  if (value === '' || /\s/.test(value)) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `Expected a non-empty ${name} without whitespace but received ${JSON.stringify(value)}`,
      name,
    });
  }
}
