/**
 * What a document id may be: one rule for every door that writes one (the corpus reader for
 * `plait index`/`add`/`eval` and `buildIndex`, `PlaitIndex.add` and `addCorpus`, HTTP writes, a
 * cluster's write log), so that whatever one door takes, every other door can find, search,
 * explain and delete again.
 *
 * An id is an opaque, non-empty string, as in Elasticsearch, Vespa, Cohere or a file path: spaces
 * inside it are fine ("Meeting notes 2026-03", "Project X/Ideas", a note's file name). Two things
 * are refused, with INVALID_ID (`details.reason`), because the line-based files that name ids
 * could never name such an id again:
 *  - a control character (U+0000–U+001F, U+007F–U+009F: tab, line feed, carriage return, NUL, …)
 *    or a line or paragraph separator (U+2028, U+2029): a tab splits a TSV corpus line or a BEIR
 *    qrels line, a line break splits every one-id-a-line file (`plait delete --ids`), and a JSONL
 *    id exported to TSV would come back as two cells (`controlCharacter`);
 *  - white space at either end (`" notes"`, `"notes "`): the id lists of `plait delete --ids`, TSV
 *    corpora and qrels trim their fields, so the id could be indexed and then never deleted or
 *    judged by its name (`edgeWhitespace`).
 * Before this rule ids with any white space were refused at every door (ID_WHITESPACE) for the
 * sake of TREC run files, which split lines on white space: that refusal now lives at that
 * format's own door (eval/run.ts `formatRun`), the one output that cannot carry such an id.
 *
 * An id written as a JSON number (BEIR corpora have `"_id": 5`; HTTP `"doc_id": 123`) is the
 * integer's decimal text (util/json-number-text.ts `idText`): the same at every door.
 */

import { PlaitError, invalidArgument } from '../../errors/index.js';
import { idText, numberIdRefusal } from '../../util/json-number-text.js';

/** Why an id is refused: a control character or line separator in it, or white space at an end. */
export type DocIdFault = 'controlCharacter' | 'edgeWhitespace';

/** C0 and C1 controls (\p{Cc}: tab, line feed, CR, NUL, DEL, NEL, …) and U+2028/U+2029. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const EDGE_WHITESPACE = /^\s|\s$/u;

/** The fault of a non-empty id, or null when it may be a document id. */
export function docIdFault(id: string): DocIdFault | null {
  if (CONTROL.test(id)) return 'controlCharacter';
  if (EDGE_WHITESPACE.test(id)) return 'edgeWhitespace';
  return null;
}

/** The character that makes an id a `controlCharacter` fault, as U+XXXX (with its name when common). */
function controlName(id: string): string {
  const ch = CONTROL.exec(id)?.[0] ?? '';
  const code = `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  const names: Record<string, string> = { '\t': 'a tab', '\n': 'a line feed', '\r': 'a carriage return', '\u0000': 'NUL' };
  return names[ch] === undefined ? code : `${names[ch]} (${code})`;
}

/**
 * The INVALID_ID error for an id with a fault, worded by the fault.
 * @param where where the id came from, e.g. `in notes.jsonl at line 3` or `documents[2]`
 * @param details more details (file and line, index)
 */
export function invalidDocId(id: string, fault: DocIdFault, where: string, details: Record<string, unknown> = {}): PlaitError {
  const why =
    fault === 'controlCharacter'
      ? `holds ${controlName(id)}: a control character or line break splits the one-id-a-line and tab-separated files that name ids (plait delete --ids, TSV corpora, qrels)`
      : 'begins or ends with white space, which the one-id-a-line and tab-separated files that name ids (plait delete --ids, TSV corpora, qrels) trim away';
  return new PlaitError('INVALID_ID', {
    message: `document id ${JSON.stringify(id)} ${where} ${why}; spaces inside an id are fine`,
    id,
    reason: fault,
    ...details,
  });
}

/**
 * An id given to find or delete documents (`PlaitIndex.delete`, HTTP `doc_ids`, explain's
 * `doc_id`), read by the write doors' rule: a string as given (one that breaks the rule names no
 * document and is simply not found), an integer as its decimal text, so that the document written
 * as `{"doc_id": 123}` is deleted and explained as 123 too.
 * @param name the field, for the error (`doc_ids[2]`, `docIds[0]`)
 * @throws PlaitError INVALID_ARGUMENT for a fraction, an integer past 2^53, or neither a string nor a number
 */
export function lookupDocId(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'number') throw invalidArgument(name, 'a string or an integer', value);
  const text = idText(value, undefined, name);
  if (typeof text !== 'string') throw new PlaitError('INVALID_ARGUMENT', { message: `${name} ${numberIdRefusal(value)}`, name, received: value });
  return text;
}
