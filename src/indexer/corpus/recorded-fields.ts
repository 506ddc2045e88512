/**
 * The JSONL field names an index was built with, kept in its manifest (`settings.corpusFields`) so
 * that its updates read the same shape: an index built with `--id-field doc_id --text-field body
 * --title-field heading` had to be given the three flags again on every `plait add` — without
 * them each document was EMPTY_TEXT, and with `--text-field` alone every title was dropped (a
 * warning among the progress lines, the documents stored without their titles).
 */
import type { CorpusFieldNames } from '../../format/manifest.js';
import { resolveCorpusInput } from './resolve-input.js';
import type { CorpusInput, CorpusReaderOptions } from './types.js';

const FIELD_NAMES = ['idField', 'textField', 'titleField', 'metadataField'] as const;

/** The field options a build was given, to record; undefined when none was. */
export function fieldsToRecord(options: CorpusReaderOptions): CorpusFieldNames | undefined {
  const out: CorpusFieldNames = {};
  for (const name of FIELD_NAMES) if (options[name] !== undefined) out[name] = options[name];
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * `options` with each field the caller left out taken from `recorded`, when the input is read as
 * JSONL or CSV (a TSV or a folder of text files has no fields; CSV takes the id, title and text columns' names). `applied` lists those taken.
 * @throws the input resolution's errors (FILE_NOT_FOUND, INVALID_ARGUMENT for an unknown format)
 */
export async function withRecordedFields<O extends CorpusReaderOptions>(
  input: CorpusInput,
  options: O,
  recorded: CorpusFieldNames | undefined,
): Promise<{ options: O; applied: CorpusFieldNames | undefined }> {
  if (recorded === undefined) return { options, applied: undefined };
  const missing = FIELD_NAMES.filter((n) => options[n] === undefined && recorded[n] !== undefined);
  if (missing.length === 0) return { options, applied: undefined };
  const { format } = await resolveCorpusInput(input, options.format);
  if (format !== 'jsonl' && format !== 'beir' && format !== 'csv') return { options, applied: undefined };
  // A CSV header names the id, title and text columns as a JSONL line names fields; its metadata is every other column.
  const taken = format === 'csv' ? missing.filter((n) => n !== 'metadataField') : missing;
  if (taken.length === 0) return { options, applied: undefined };
  const applied: CorpusFieldNames = {};
  for (const n of taken) applied[n] = recorded[n];
  return { options: { ...options, ...applied }, applied };
}
