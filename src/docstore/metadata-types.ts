/**
 * The metadata type counts: for each metadata field path (dotted, as filters name it) and each JSON
 * type stored there, how many live documents hold a value of that type (an array field's elements
 * count too, since a filter matches elements: `tags: ["a", 1]` counts the document once under
 * `tags`/array, once under string and once under number). Kept in the store's table
 * `metadata_types` (field, type, docs), written inside the same SQLite transaction as each write
 * (a delete subtracts its document's types), so that knowing a field's types costs a read of a few
 * rows instead of json_tree over every document.
 *
 * Why: JSON types compare as JSON types (metadata-filter.ts, as in MongoDB), so a field holding the
 * strings "1962" of an untyped CSV column and the numbers of a typed one answers
 * `{"year": {"$gte": 1960}}` with the numbers alone. A write that brings a field a JSON type it did
 * not hold (a build whose corpus mixes them) says so (METADATA_TYPE_MIXED), and a filter comparing
 * such a field says so (FILTER_TYPE_MIXED, metadata-catalogue.ts); neither refuses anything.
 *
 * Cost (bench/RESULTS.md, "Metadata type counts"): json_tree over 117,791 documents' metadata took
 * 426 ms, once per generation at a filtered search; the table is read in well under a millisecond.
 * Keeping it costs each write a JSON.parse of each added or deleted document's metadata.
 *
 * Format: the table is new in plait's schema-4 stores and optional. A store without it (built
 * before it), or whose table an older plait's write left stale (`meta.metadata_types_state` is the
 * `documents:rowid_span` the table was last counted at; any write changes one of the two), is read
 * as before, by json_tree once per generation (cached by the reader), and gets the table, counted
 * once, at its next write (docstore-updater.ts). Nothing else about the store changes.
 */
import type Database from 'better-sqlite3';
import type { JsonType } from './metadata-catalogue.js';

/** Each field path → each JSON type stored there → live documents holding it. */
export type FieldTypeCounts = ReadonlyMap<string, ReadonlyMap<JsonType, number>>;

/** The types whose values a comparison can mix up: a field holding two of these is "mixed". */
export const SCALAR_TYPES: readonly JsonType[] = ['string', 'number', 'boolean'];

export const CREATE_METADATA_TYPES = `
CREATE TABLE IF NOT EXISTS metadata_types (field TEXT NOT NULL, type TEXT NOT NULL, docs INTEGER NOT NULL, PRIMARY KEY (field, type)) WITHOUT ROWID;
`;

/** `meta` key holding the `documents:rowid_span` the table was counted at. */
export const METADATA_TYPES_STATE_KEY = 'metadata_types_state';

function jsonTypeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' ? 'string' : t === 'number' ? 'number' : t === 'boolean' ? 'boolean' : 'object';
}

/**
 * The (field, type) pairs one document's stored metadata (its JSON text, or null) holds, as
 * `field\u0000type` keys: each key path of nested objects, arrays' element types under the array's
 * path (elements are not descended into), and no path through a key holding "." (a filter cannot
 * name it) — readFieldCatalogue's json_tree reading, in JavaScript. A text that is not a JSON
 * object holds none.
 */
export function documentFieldTypes(metadata: string | null): Set<string> {
  const out = new Set<string>();
  if (metadata === null) return out;
  let v: unknown;
  try {
    v = JSON.parse(metadata);
  } catch {
    return out;
  }
  const walk = (o: Record<string, unknown>, prefix: string): void => {
    for (const [k, x] of Object.entries(o)) {
      if (k.includes('.')) continue;
      const path = prefix === '' ? k : `${prefix}.${k}`;
      const t = jsonTypeOf(x);
      out.add(`${path}\u0000${t}`);
      if (t === 'array') for (const e of x as unknown[]) out.add(`${path}\u0000${jsonTypeOf(e)}`);
      else if (t === 'object') walk(x as Record<string, unknown>, path);
    }
  };
  if (jsonTypeOf(v) === 'object') walk(v as Record<string, unknown>, '');
  return out;
}

/** `field\u0000type` → its parts. */
export function splitKey(key: string): { field: string; type: JsonType } {
  const i = key.lastIndexOf('\u0000');
  return { field: key.slice(0, i), type: key.slice(i + 1) as JsonType };
}

/** Adds a `field\u0000type` → count map into counts (entries at 0 or below dropped). */
export function applyCounts(into: Map<string, Map<JsonType, number>>, delta: ReadonlyMap<string, number>): void {
  for (const [key, d] of delta) {
    const { field, type } = splitKey(key);
    let m = into.get(field);
    if (m === undefined) into.set(field, (m = new Map()));
    const n = (m.get(type) ?? 0) + d;
    if (n > 0) m.set(type, n);
    else m.delete(type);
    if (m.size === 0) into.delete(field);
  }
}

/** A copy of counts that applyCounts may change. */
export function copyCounts(c: FieldTypeCounts): Map<string, Map<JsonType, number>> {
  return new Map([...c].map(([f, m]) => [f, new Map(m)]));
}

/** The `documents:rowid_span` state of the store now (what the table must have been counted at to be current). */
function storeState(db: Database.Database): string {
  const get = (key: string): string => String((db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as unknown) ?? '');
  return `${get('documents')}:${get('rowid_span')}`;
}

function hasTable(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metadata_types'").pluck().get() !== undefined;
}

/**
 * The counts from the store's table, or null when it has none or an older plait's write left it
 * stale (the caller counts by scanMetadataTypes then).
 * @throws whatever better-sqlite3 throws (the caller wraps it as DOCSTORE_FAILED).
 */
export function readMetadataTypes(db: Database.Database): FieldTypeCounts | null {
  if (!hasTable(db)) return null;
  const state = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(METADATA_TYPES_STATE_KEY) as unknown;
  if (state === undefined || String(state) !== storeState(db)) return null;
  const out = new Map<string, Map<JsonType, number>>();
  for (const r of db.prepare('SELECT field, type, docs FROM metadata_types WHERE docs > 0').all() as { field: string; type: JsonType; docs: number }[]) {
    let m = out.get(r.field);
    if (m === undefined) out.set(r.field, (m = new Map()));
    m.set(r.type, Number(r.docs));
  }
  return out;
}

/**
 * Counts every live document's metadata types (one pass over `documents`): for a store without a
 * current table. 1 JSON.parse a document with metadata.
 */
export function scanMetadataTypes(db: Database.Database): FieldTypeCounts {
  const delta = new Map<string, number>();
  for (const m of db.prepare('SELECT metadata FROM documents WHERE metadata IS NOT NULL').pluck().iterate() as IterableIterator<string>) {
    for (const k of documentFieldTypes(m)) delta.set(k, (delta.get(k) ?? 0) + 1);
  }
  const out = new Map<string, Map<JsonType, number>>();
  applyCounts(out, delta);
  return out;
}

/**
 * Writes `counts` as the whole table, stamped current for `state` (`documents:rowid_span`, as
 * the caller leaves the `meta` rows), inside the caller's transaction.
 */
export function writeMetadataTypes(db: Database.Database, counts: FieldTypeCounts, state: string): void {
  db.exec(CREATE_METADATA_TYPES);
  db.exec('DELETE FROM metadata_types');
  const ins = db.prepare('INSERT INTO metadata_types (field, type, docs) VALUES (?, ?, ?)');
  for (const [field, m] of counts) for (const [type, n] of m) if (n > 0) ins.run(field, type, n);
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(METADATA_TYPES_STATE_KEY, state);
}

/** Adds a write's changes (`field\u0000type` → +adds − deletes) to the current table, stamped for `state`, inside the caller's transaction. */
export function updateMetadataTypes(db: Database.Database, delta: ReadonlyMap<string, number>, state: string): void {
  const up = db.prepare('INSERT INTO metadata_types (field, type, docs) VALUES (?, ?, ?) ON CONFLICT(field, type) DO UPDATE SET docs = docs + excluded.docs');
  for (const [key, d] of delta) {
    if (d === 0) continue;
    const { field, type } = splitKey(key);
    up.run(field, type, d);
  }
  db.exec('DELETE FROM metadata_types WHERE docs <= 0');
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(METADATA_TYPES_STATE_KEY, state);
}

/** The scalar types (string, number, boolean) a field holds, in that order. */
export function scalarTypes(m: ReadonlyMap<JsonType, number> | undefined): JsonType[] {
  return m === undefined ? [] : SCALAR_TYPES.filter((t) => (m.get(t) ?? 0) > 0);
}

/** One type of a mixed field: how many live documents hold it, and one of them. */
export interface MixedTypeCount {
  type: JsonType;
  documents: number;
  /** A live document holding a value of this type (none when not found, e.g. only in a deleted one). */
  exampleId?: string;
}

/**
 * METADATA_TYPE_MIXED: a write (or a build) left a field holding values of several JSON types
 * (string, number, boolean), one of them new to it. Not an error: mixed fields are legal JSON; a
 * comparison filter matches the values of its own type only.
 */
export interface MetadataTypeWarning {
  code: 'METADATA_TYPE_MIXED';
  field: string;
  /** Each scalar type the field holds now, with its live document count and an example docId. */
  types: MixedTypeCount[];
  /** The types this write brought to the field. */
  newTypes: JsonType[];
  message: string;
}

const plural: Readonly<Record<string, string>> = { string: 'strings', number: 'numbers', boolean: 'booleans' };

/** The advice for a field mixing these types: which CSV header type, or to convert. */
function advice(field: string, types: readonly JsonType[]): string {
  const typed = types.includes('number') ? 'number' : types.includes('boolean') ? 'boolean' : null;
  const csv = typed === null ? '' : `name the CSV column "${field}:${typed}" in the header row (a plain "${field}" column stores text) or write ${plural[typed]} in JSON, `;
  return `${csv}or convert the values to one type and add the documents again`;
}

/**
 * The warnings for the fields of `after` that hold two or more scalar types, one of them absent
 * from `before` (null: the whole of `after` is new, as in a build). `example(field, type)` names a
 * live document holding the type (the write's own, else one found in the store). `planned`: a
 * write not made (a dry run), said as what it would leave.
 */
export function mixedTypeWarnings(before: FieldTypeCounts | null, after: FieldTypeCounts, example: (field: string, type: JsonType) => string | undefined, planned = false): MetadataTypeWarning[] {
  const out: MetadataTypeWarning[] = [];
  for (const [field, m] of after) {
    const types = scalarTypes(m);
    if (types.length < 2) continue;
    const held = new Set(scalarTypes(before?.get(field)));
    const newTypes = before === null ? types : types.filter((t) => !held.has(t));
    if (newTypes.length === 0) continue;
    const counts: MixedTypeCount[] = types.map((type) => {
      const id = example(field, type);
      return { type, documents: m.get(type)!, ...(id === undefined ? {} : { exampleId: id }) };
    });
    const listed = counts.map((c) => `${plural[c.type]} in ${c.documents} document${c.documents === 1 ? '' : 's'}${c.exampleId === undefined ? '' : ` (e.g. ${JSON.stringify(c.exampleId)})`}`).join(' and ');
    out.push({
      code: 'METADATA_TYPE_MIXED',
      field,
      types: counts,
      newTypes,
      message:
        `metadata field "${field}" ${planned ? 'would hold' : 'now holds'} ${listed}: types compare as JSON types, so a filter on it matches the values of its own type only ` +
        `(${types.includes('number') ? `{"${field}": {"$gte": …}} with a number skips the strings` : 'a string value skips the others'}); ${advice(field, types)}`,
    });
  }
  return out;
}

/**
 * The METADATA_TYPE_MIXED warnings a write would give, without writing it (`plait add --dry-run`):
 * `before` the store's counts, `removed` the stored metadata (JSON text) of the documents it would
 * replace or delete, `added` its documents' ids and metadata. Examples are the write's own
 * documents, else `storeExample`'s. The same counting as the write's transaction
 * (docstore-updater.ts), so a dry run warns exactly where the add would.
 */
export function plannedTypeWarnings(
  before: FieldTypeCounts,
  removed: Iterable<string | null>,
  added: Iterable<{ docId: string; metadata: string | null }>,
  storeExample: (field: string, type: JsonType) => string | undefined,
): MetadataTypeWarning[] {
  const delta = new Map<string, number>();
  const examples = new Map<string, string>();
  for (const m of removed) for (const k of documentFieldTypes(m)) delta.set(k, (delta.get(k) ?? 0) - 1);
  for (const d of added) {
    for (const k of documentFieldTypes(d.metadata)) {
      delta.set(k, (delta.get(k) ?? 0) + 1);
      if (!examples.has(k)) examples.set(k, d.docId);
    }
  }
  const after = copyCounts(before);
  applyCounts(after, delta);
  return mixedTypeWarnings(before, after, (field, type) => examples.get(`${field}\u0000${type}`) ?? storeExample(field, type), true);
}

/**
 * A live document of the store whose metadata holds `type` at `field` (the first found), for a
 * warning's example; undefined when none. Reads documents until one fits: only a warning asks.
 */
export function findExample(db: Database.Database, field: string, type: JsonType): string | undefined {
  const last = field.slice(field.lastIndexOf('.') + 1);
  const key = `${field}\u0000${type}`;
  const rows = db.prepare('SELECT doc_id, metadata FROM documents WHERE metadata IS NOT NULL AND instr(metadata, ?) > 0').raw().iterate(JSON.stringify(last)) as IterableIterator<[string, string]>;
  for (const [id, metadata] of rows) {
    if (documentFieldTypes(metadata).has(key)) {
      rows.return?.();
      return id;
    }
  }
  return undefined;
}

/**
 * One shard's counts of a metadata field a cluster add touched (its documents hold it): per scalar
 * type, the shard's live documents holding it before and after the write, and one of them (the
 * write's own document, else one found in the store). A shard the add did not touch answers its
 * counts now (`before` = `after`). The writer sums them over the shards (clusterTypeWarnings): a
 * field of numbers on one shard and strings on another is mixed, though neither shard says so.
 */
export interface FieldTypeChange {
  field: string;
  /** `added`: the example is one of this write's own documents (the writer prefers those, as a single index does). */
  types: { type: JsonType; before: number; after: number; exampleId?: string; added?: true }[];
}

/**
 * The scalar types of `fields` in `before` and `after`, with an example for each type held after
 * (`example(field, type)`; `added: true` when it is the write's own), for the wire (FieldTypeChange).
 * Fields held by neither are left out.
 */
export function fieldTypeChanges(fields: Iterable<string>, before: FieldTypeCounts, after: FieldTypeCounts, example: (field: string, type: JsonType) => { id: string; added: boolean } | undefined): FieldTypeChange[] {
  const out: FieldTypeChange[] = [];
  for (const field of new Set(fields)) {
    const b = before.get(field);
    const a = after.get(field);
    const types = SCALAR_TYPES.filter((t) => (b?.get(t) ?? 0) > 0 || (a?.get(t) ?? 0) > 0).map((type) => {
      const n = a?.get(type) ?? 0;
      const e = n > 0 ? example(field, type) : undefined;
      return { type, before: b?.get(type) ?? 0, after: n, ...(e === undefined ? {} : { exampleId: e.id, ...(e.added ? { added: true as const } : {}) }) };
    });
    if (types.length > 0) out.push({ field, types });
  }
  return out;
}

/**
 * A cluster add's METADATA_TYPE_MIXED over the corpus: the shards' FieldTypeChange counts summed
 * (every shard's, the ones the add did not touch included), then mixedTypeWarnings as a single
 * index warns — the same fields, wording and example ids (each type's: one of the write's own
 * documents where a shard names one, as a single index prefers them, else one found in a store,
 * from `perShard` or `stored` (examples only: their counts are not summed); the first in the order given).
 */
export function clusterTypeWarnings(perShard: readonly (readonly FieldTypeChange[])[], stored: readonly (readonly FieldTypeChange[])[] = []): MetadataTypeWarning[] {
  const before = new Map<string, Map<JsonType, number>>();
  const after = new Map<string, Map<JsonType, number>>();
  const examples = new Map<string, string>();
  const ownExamples = new Map<string, string>();
  const add = (into: Map<string, Map<JsonType, number>>, field: string, type: JsonType, n: number): void => {
    if (n <= 0) return;
    let m = into.get(field);
    if (m === undefined) into.set(field, (m = new Map()));
    m.set(type, (m.get(type) ?? 0) + n);
  };
  for (const changes of perShard) {
    for (const c of changes) {
      for (const t of c.types) {
        add(before, c.field, t.type, t.before);
        add(after, c.field, t.type, t.after);
        const key = `${c.field}\u0000${t.type}`;
        if (t.exampleId === undefined) continue;
        if (t.added === true && !ownExamples.has(key)) ownExamples.set(key, t.exampleId);
        if (!examples.has(key)) examples.set(key, t.exampleId);
      }
    }
  }
  for (const changes of stored) {
    for (const c of changes) {
      for (const t of c.types) {
        const key = `${c.field}\u0000${t.type}`;
        if (t.exampleId !== undefined && !examples.has(key)) examples.set(key, t.exampleId);
      }
    }
  }
  return mixedTypeWarnings(before, after, (field, type) => ownExamples.get(`${field}\u0000${type}`) ?? examples.get(`${field}\u0000${type}`));
}
