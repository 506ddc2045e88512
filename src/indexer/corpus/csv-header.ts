/**
 * A CSV corpus's header row → what each column is: the id (`_id`, else `id`, `docid`, `doc_id`,
 * `docId`: generic JSONL's id fields, in that order, `--id-field` naming another), the title
 * (`title`), the text (`text`), and every other column a metadata key. Names are trimmed, and a role's
 * name matches in any case (`ID`, ` Title`, `Text `) when no column has it as written and one column
 * alone has it so; metadata keys are kept as written.
 *
 * CSV holds only strings, so a metadata column is stored as text unless its header gives it a type,
 * as Meilisearch reads CSV (`year:number`, `draft:boolean`, `name:string`): `1962` under `year:number`
 * is the number 1962, so `{"year": 1962}` and `{"year": {"$gte": 1960}}` match it, where under a
 * plain `year` header it is the string "1962", matched only by `{"year": "1962"}`. Inference from the
 * values (Typesense, pandas) was not taken: a column of zip codes or ids that look like numbers would
 * lose its leading zeros, and one row's "n/a" would change a whole column's type. The reader warns
 * instead (csv-parser.ts) when an untyped column's first value looks like a number or a boolean.
 *
 * A list (`tags:string[]`) is stored as a JSON array of strings, so that the metadata filter's
 * `$in`, `$all` and `$size` take it as a list (metadata-filter.ts), as they take a JSONL corpus's
 * `"tags": ["a", "b"]`. Neither engine plait follows reads lists from CSV: Meilisearch's CSV types
 * are string, number and boolean (a cell is one value), Typesense imports no CSV at all (it asks for
 * JSONL; `string[]` is its schema's name for the type, taken here). A cell is read in one of the two
 * ways spreadsheets and exports write lists: a JSON array of strings when it starts with `[`
 * (`["a","b"]`, `[]`), else items separated by `|` (`a|b|c`), each trimmed. An empty cell is no
 * value, as for every type; an empty item (`a||b`), a malformed JSON array or one holding anything
 * but strings is MALFORMED_CSV naming the file, line and column.
 */

import { PlaitError } from '../../errors/index.js';

/** The value types a CSV header may give a metadata column (`name:type`). */
export const CSV_COLUMN_TYPES = ['string', 'number', 'boolean', 'string[]'] as const;
export type CsvColumnType = (typeof CSV_COLUMN_TYPES)[number];

/**
 * Type names other engines and schemas use, refused with the three plait reads named: `year:int`
 * must not become a text column named "year:int" without a word. Other suffixes (`dc:title`) are
 * part of the column's name.
 */
const NEAR_TYPES: ReadonlySet<string> = new Set([
  'int', 'integer', 'float', 'double', 'long', 'decimal', 'num', 'numeric', 'bool', 'str', 'text', 'date', 'datetime', 'json', 'array',
  'list', 'str[]', 'text[]', 'number[]', 'int[]', 'integer[]', 'float[]', 'boolean[]', 'bool[]', 'int32[]', 'int64[]', 'string*',
]);

/** One metadata column: its index in the row, its metadata key and its declared type (`string` when none). */
export interface CsvMetadataColumn {
  index: number;
  key: string;
  type: CsvColumnType;
  /** Whether the header gave the type (`year:string`): an untyped column's numeric look is warned about. */
  typed: boolean;
}

/** The header row read: where the id, title and text are, and the metadata columns. */
export interface CsvColumns {
  /** Cells in the header; every data row must have as many. */
  width: number;
  id: number;
  /** -1 when there is no title column (every title is empty). */
  title: number;
  text: number;
  metadata: CsvMetadataColumn[];
  /** The header's names, as written (types included), for messages. */
  names: string[];
}

/** The column names the reader looks for (from the JSONL reader's fields and the options). */
export interface CsvFieldNames {
  idFields: readonly string[];
  textField: string;
  titleField: string;
}

/** A header fault: no row of the file can be read without its header, so no skipping steps over it (`skippable: false`). */
function malformedHeader(file: string, line: number, message: string): PlaitError {
  return new PlaitError('MALFORMED_CSV', { message, file, line, skippable: false });
}

/** Splits `year:number` into its name and type; a name without a known type suffix is kept whole. */
function splitType(cell: string, file: string, line: number): { name: string; type: CsvColumnType | null } {
  const colon = cell.lastIndexOf(':');
  if (colon <= 0) return { name: cell, type: null };
  const suffix = cell.slice(colon + 1).trim().toLowerCase();
  const name = cell.slice(0, colon).trim();
  if ((CSV_COLUMN_TYPES as readonly string[]).includes(suffix)) return { name, type: suffix as CsvColumnType };
  if (NEAR_TYPES.has(suffix)) {
    throw malformedHeader(file, line, `the column ${JSON.stringify(cell)} declares the type "${suffix}", which plait does not read: a CSV column's type is one of ${CSV_COLUMN_TYPES.map((t) => `:${t}`).join(', ')} (e.g. ${JSON.stringify(`${name}:number`)})`);
  }
  return { name: cell, type: null };
}

/**
 * Reads the header row.
 * @param cells the first record of the file
 * @param line its line number (1 unless blank lines precede it)
 * @throws PlaitError MALFORMED_CSV (file, line 1): a column without a name, a name twice, an unknown
 *   type (`:int`), a type on the id, title or text column, no id column (a file without a header row
 *   reads its first row as one and names no id column), no text column.
 */
export function readCsvHeader(cells: readonly string[], fields: CsvFieldNames, file: string, line: number): CsvColumns {
  const names = cells.map((c) => c.trim());
  const parsed = names.map((cell, i) => {
    if (cell === '') {
      throw malformedHeader(file, line, `column ${i + 1} of the header row has no name (every column of a CSV corpus is named: the id, "title", "text", and metadata keys; pandas writes an unnamed index column unless given index=False)`);
    }
    return splitType(cell, file, line);
  });
  const seen = new Map<string, number>();
  parsed.forEach((p, i) => {
    const before = seen.get(p.name);
    if (before !== undefined) throw malformedHeader(file, line, `the header row names ${JSON.stringify(p.name)} twice (columns ${before + 1} and ${i + 1})`);
    seen.set(p.name, i);
  });
  // A column is found by its name as written, else by that name in another case when one column
  // alone has it (`ID`, `Title`, `Text`: Excel, SQL exports and hand-typed headers capitalise; they
  // had been "no id column", and --id-field ID --text-field Text had left `Title` a metadata column).
  const byCase = new Map<string, number[]>();
  parsed.forEach((p, i) => byCase.set(p.name.toLowerCase(), [...(byCase.get(p.name.toLowerCase()) ?? []), i]));
  const column = (name: string): number | undefined => {
    const exact = seen.get(name);
    if (exact !== undefined) return exact;
    const folded = byCase.get(name.toLowerCase());
    return folded?.length === 1 ? folded[0] : undefined;
  };
  const id = fields.idFields.map((f) => seen.get(f)).find((i) => i !== undefined) ?? fields.idFields.map(column).find((i) => i !== undefined) ?? -1;
  const text = column(fields.textField) ?? -1;
  const title = column(fields.titleField) ?? -1;
  const found = names.slice(0, 8).map((n) => JSON.stringify(n)).join(', ') + (names.length > 8 ? ', …' : '');
  if (id < 0) {
    throw malformedHeader(
      file,
      line,
      `the header row names no id column (${fields.idFields.map((f) => JSON.stringify(f)).join(' or ')}); it reads ${found}. A CSV corpus's first row names its columns, e.g. "id,title,text,year:number"; --id-field <column> reads another column as the id`,
    );
  }
  if (text < 0) {
    throw malformedHeader(file, line, `the header row names no text column (${JSON.stringify(fields.textField)}); it reads ${found}; --text-field <column> reads another column as the text`);
  }
  for (const [role, at] of [['id', id], ['title', title], ['text', text]] as const) {
    const typed = at >= 0 ? parsed[at]?.type : null;
    if (typed !== null && typed !== undefined && typed !== 'string') {
      throw malformedHeader(file, line, `the ${role} column ${JSON.stringify(names[at])} is text; only metadata columns take a type`);
    }
  }
  const metadata: CsvMetadataColumn[] = [];
  parsed.forEach((p, index) => {
    if (index === id || index === title || index === text) return;
    metadata.push({ index, key: p.name, type: p.type ?? 'string', typed: p.type !== null });
  });
  return { width: cells.length, id, title, text, metadata, names };
}

/** A JSON number as written: what `:number` reads (no hex, no thousands separators, no `NaN`). */
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BOOLEAN = /^(?:true|false)$/i;

/** Whether an untyped value would read as a number or a boolean under a typed header (the warning's test). */
export function looksTyped(value: string): 'number' | 'boolean' | null {
  const v = value.trim();
  if (NUMBER.test(v)) return 'number';
  if (BOOLEAN.test(v)) return 'boolean';
  return null;
}

/**
 * A cell of a typed column as its value, or an error message when it is not one.
 * An empty cell is no value (the key is left out of the document's metadata), whatever the type.
 */
export function typedValue(raw: string, type: CsvColumnType): { value: string | number | boolean | string[] | undefined } | { error: string } {
  if (raw.trim() === '') return { value: undefined };
  if (type === 'string') return { value: raw };
  const v = raw.trim();
  if (type === 'string[]') return listValue(v, raw);
  if (type === 'number') {
    const n = Number(v);
    if (!NUMBER.test(v) || !Number.isFinite(n)) return { error: `expected a number (as JSON writes one: 1962, -0.5, 1e3) but found ${JSON.stringify(raw)}` };
    return { value: n };
  }
  if (!BOOLEAN.test(v)) return { error: `expected true or false but found ${JSON.stringify(raw)}` };
  return { value: v.toLowerCase() === 'true' };
}

/** A `string[]` cell (trimmed, not empty): a JSON array of strings, or items separated by `|`. */
function listValue(v: string, raw: string): { value: string[] } | { error: string } {
  const how = 'a list is a JSON array of strings (["a","b"]) or items separated by | (a|b)';
  if (v.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      return { error: `${JSON.stringify(raw)} starts with [ but is not a JSON array (${(e as Error).message}); ${how}` };
    }
    if (!Array.isArray(parsed)) return { error: `${JSON.stringify(raw)} is not a JSON array; ${how}` };
    const other = parsed.findIndex((x) => typeof x !== 'string');
    if (other >= 0) return { error: `item ${other + 1} of ${JSON.stringify(raw)} is ${JSON.stringify(parsed[other])}, not a string; ${how}` };
    return { value: parsed as string[] };
  }
  const items = v.split('|').map((x) => x.trim());
  const empty = items.indexOf('');
  if (empty >= 0) return { error: `item ${empty + 1} of ${JSON.stringify(raw)} is empty (two | in a row, or one at an end); ${how}` };
  return { value: items };
}
